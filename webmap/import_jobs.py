"""Long import steps (preview, write) run in a background thread of this process, so that
the page can show their progress: one job per import run at a time.

The domain functions do the work; this only runs them, remembers their progress and
outcome (an error keeps the API's error shape: code, message, details). The lookup
indexes follow a write through the domain's change log (``gazetteer.changes``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from gazetteer.core.errors import Conflict, DomainError


class ImportJobs:
    def __init__(self):
        self._lock = threading.Lock()
        self._jobs: dict[int, dict] = {}

    def start(self, run_id: int, phase: str, work: Callable, after: Callable | None = None) -> dict:
        """Run ``work(progress)`` in a thread; ``after()`` runs when it succeeded. Raises
        ``Conflict`` when a job for the run is still running."""
        with self._lock:
            job = self._jobs.get(run_id)
            if job is not None and job["state"] == "running":
                raise Conflict("此次导入正在处理中，请等待完成", details={"job": dict(job)})
            job = self._jobs[run_id] = {
                "phase": phase,
                "state": "running",
                "done": 0,
                "total": None,
                "started": time.time(),
                "error": None,
            }

        def progress(_phase: str, done: int, total: int | None) -> None:
            job.update(done=done, total=total)

        def target() -> None:
            try:
                work(progress)
                if after is not None:
                    after()
                job["state"] = "done"
            except DomainError as exc:
                job.update(
                    state="failed",
                    error={"code": exc.code, "message": exc.message, "details": exc.details},
                )
            except Exception as exc:  # reported to the officer; the transaction rolled back
                job.update(
                    state="failed",
                    error={"code": "internal_error", "message": f"处理失败：{exc}", "details": {}},
                )

        threading.Thread(target=target, name=f"import-{run_id}-{phase}", daemon=True).start()
        return dict(job)

    def status(self, run_id: int) -> dict | None:
        job = self._jobs.get(run_id)
        return dict(job) if job is not None else None
