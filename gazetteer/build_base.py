"""Write one index base generation (``gazetteer.index_files``) of a SQLite store, in a
process of its own:

    python -m gazetteer.build_base STORE_URL DIRECTORY

``LookupService`` runs this as a short-lived child process when a base is needed, so that
what a build reads and allocates (a 1.6 GB peak at 665,273 names, which CPython does not hand
back to the system) belongs to the child and ends with it, never to a serving worker. A
plain subprocess rather than ``multiprocessing``: a spawned ``multiprocessing`` child
imports the parent's ``__main__`` again, and a main module that starts a lookup service
unguarded then waits for the build lock its own parent holds, for ever.

``DIRECTORY/built-by.json`` records who wrote the base: the child's pid, its parent's, the
seconds the build took and the child's peak RSS (MB).
"""

from __future__ import annotations

import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

# The file in a generation directory that names the process that wrote it.
BUILT_BY = "built-by.json"


def write_base(store_url: str, directory: str | Path) -> dict:
    """Write the search and nearest-place bases of the store at ``store_url`` into
    ``directory`` and :data:`BUILT_BY` beside them; returns what that file says."""
    from gazetteer.core.store import Store
    from gazetteer.lookup import former_names
    from gazetteer.reverse import NearestPlaces
    from gazetteer.search import SearchIndex

    started = time.monotonic()
    directory = Path(directory)
    store = Store(store_url)
    try:
        former = former_names(store)
        SearchIndex.from_store(store, former_names=former).save(directory / "search")
        NearestPlaces.from_store(store).save(directory / "nearest")
    finally:
        store.dispose()
    built_by = {
        "pid": os.getpid(),
        "parent_pid": os.getppid(),
        "seconds": round(time.monotonic() - started, 3),
        # ru_maxrss is in kB on Linux.
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    (directory / BUILT_BY).write_text(json.dumps(built_by), "utf-8")
    return built_by


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m gazetteer.build_base STORE_URL DIRECTORY", file=sys.stderr)
        return 2
    _end_with_parent()
    _use_every_core()
    write_base(argv[0], argv[1])
    return 0


def _use_every_core() -> None:
    """Run on any core the machine allows (a cgroup's cpuset still applies), not only on the
    one the worker that started this build keeps to (``webmap.gunicorn_conf`` pins each
    worker to a core): a minute of building would take that core from the worker's
    requests while another core may be idle."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


def _end_with_parent(interval_s: float = 1.0) -> None:
    """Exit when the worker that started this build goes away (a restart): nobody would
    rename the directory into place, and the build's memory is better freed at once. The
    next builder clears the directory left behind (``IndexFiles``)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(3)

    threading.Thread(target=watch, name="gdgis-build-parent-watch", daemon=True).start()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
