"""kill -9 in the middle of a bulk import or a run of workflow transitions leaves the store
consistent (integrity check, all-or-nothing counts, audit log matching the rows), and
running the job again finishes it."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import sqlalchemy as sa
from proposal_helpers import draft_road

from boundaries.schema import SCHEMA
from gazetteer.core import audit, migrate
from gazetteer.core.store import Store
from gazetteer.registry_tables import proposal_events, proposals
from gazetteer.tables import divisions, places

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 40  # submit/return cycles per proposal the job performs

# The job: bring every proposal to 1 + 2 * ROUNDS events by alternating submit and return.
# It decides what is left from what is stored, so running it again finishes the work.
WORKFLOW_JOB = """
import sys
from gazetteer import workflow
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
store = Store(sys.argv[1])
clerk, officer = Actor("clerk_li", frozenset({"clerk"})), Actor("officer_wang", frozenset({"officer"}))
ids, target = [int(i) for i in sys.argv[2].split(",")], 1 + 2 * int(sys.argv[3])
done = False
while not done:
    done = True
    for pid in ids:
        p = workflow.get_proposal(store, pid, officer)
        if len(p["events"]) >= target:
            continue
        done = False
        if p["state"] == "draft":
            workflow.perform(store, pid, "submit", clerk, version=p["version"])
        else:
            workflow.perform(store, pid, "return", officer, version=p["version"], reason="补充材料")
        print("step", pid, flush=True)
print("finished", flush=True)
"""


def integrity(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


def counts(store: Store) -> tuple[int, int]:
    with store.read() as conn:
        return (
            conn.execute(sa.select(sa.func.count()).select_from(divisions)).scalar(),
            conn.execute(sa.select(sa.func.count()).select_from(places)).scalar(),
        )


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


def test_kill_during_bulk_import_then_rerun(tmp_path, seeded_template, store_templates):
    if store_templates.dialect != "sqlite":
        import pytest

        pytest.skip("file-level crash test: SQLite")
    path = tmp_path / "gdgis.sqlite"
    store = Store(f"sqlite:///{path}")
    migrate.upgrade(store, SCHEMA)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    wal = Path(str(path) + "-wal")
    command = [sys.executable, "-m", "webmap.cli", "--data-dir", str(tmp_path), "import-data"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    # The import writes everything in one transaction: once its pages spill into the WAL
    # it is under way and not yet committed.
    while time.monotonic() < deadline and process.poll() is None:
        if wal.exists() and wal.stat().st_size > 2 * 1024 * 1024:
            break
        time.sleep(0.01)
    assert process.poll() is None, "the import finished before it could be killed"
    kill(process)

    assert integrity(path) == "ok"
    store = Store(f"sqlite:///{path}")
    assert counts(store) == (0, 0)  # all before: nothing of the killed transaction survives
    assert audit.verify(store).ok
    store.dispose()

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    store = Store(f"sqlite:///{path}")
    expected = Store(f"sqlite:///{seeded_template}")
    try:
        assert counts(store) == counts(expected)  # all after
        assert audit.verify(store).ok
    finally:
        expected.dispose()
        store.dispose()
    assert integrity(path) == "ok"


def test_kill_during_workflow_transitions_then_rerun(store, tmp_path):
    if store.dialect != "sqlite":
        import pytest

        pytest.skip("file-level crash test: SQLite")
    ids = [draft_road(store, name)["id"] for name in ("长乐路", "云溪路", "兴华路")]
    store.dispose()
    job = tmp_path / "job.py"
    job.write_text(WORKFLOW_JOB, encoding="utf-8")
    command = [sys.executable, str(job), store.url, ",".join(map(str, ids)), str(ROUNDS)]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    for _ in range(25):  # let it take some steps, then kill it at an arbitrary moment
        assert process.stdout.readline().startswith("step")
    kill(process)
    process.stdout.close()

    path = Path(sa.engine.make_url(store.url).database)
    assert integrity(path) == "ok"
    assert_consistent(store, ids)
    with store.read() as conn:
        taken = conn.execute(sa.select(sa.func.count()).select_from(proposal_events)).scalar()
    assert 3 + 25 <= taken < 3 * (1 + 2 * ROUNDS)  # killed part-way

    rerun = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0 and rerun.stdout.strip().endswith("finished"), rerun.stderr[-2000:]
    assert_consistent(store, ids)
    with store.read() as conn:
        per_proposal = dict(
            conn.execute(
                sa.select(proposal_events.c.proposal_id, sa.func.count()).group_by(
                    proposal_events.c.proposal_id
                )
            ).all()
        )
    assert per_proposal == {pid: 1 + 2 * ROUNDS for pid in ids}  # no step lost, none doubled


def assert_consistent(store: Store, ids: list[int]) -> None:
    """Each proposal's state and version agree with its event history; the audit log
    accounts for every row."""
    with store.read() as conn:
        for pid in ids:
            row = conn.execute(
                sa.select(proposals.c.state, proposals.c.version).where(proposals.c.id == pid)
            ).one()
            events = (
                conn.execute(
                    sa.select(proposal_events.c.to_state)
                    .where(proposal_events.c.proposal_id == pid)
                    .order_by(proposal_events.c.id)
                )
                .scalars()
                .all()
            )
            assert events[-1] == row.state and len(events) == row.version, (pid, row, len(events))
    report = audit.verify(store)
    assert report.ok, report.problems
