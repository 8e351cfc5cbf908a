"""Read-replica routing against a real streaming replica (``pg_basebackup`` from the
throwaway primary: ``scripts/ci_postgres.sh replica``): with the replica's replay paused,
public reads show the replica's older state (so they are served there) while a signed-in
user reads their own write back at once from the primary, in later requests too; a change
reaches the search through the replica's replay; and the app keeps answering when the
replica stops — and uses it again once it is back.

Run with ``GDGIS_TEST_DATABASE_URL`` and ``GDGIS_TEST_REPLICA_URL`` set; skipped otherwise.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import login
from proposal_helpers import place_id_of
from registry_helpers import LUHU, name_place

from gazetteer.core import store as store_module
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from webmap import read_your_writes

REPLICA_URL = os.environ.get("GDGIS_TEST_REPLICA_URL") or None
ROOT = Path(__file__).resolve().parents[1]
OFFICER = Actor("officer1", frozenset({"officer", "approver"}))

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(REPLICA_URL is None, reason="needs GDGIS_TEST_REPLICA_URL (a replica)"),
]


def in_thread(fn):
    """Run ``fn`` in a fresh thread (one that has not written: its reads may go to the
    replica) and return its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


def on_replica(store: Store) -> bool:
    with store.read() as conn:
        return conn.execute(sa.text("SELECT pg_is_in_recovery()")).scalar()


def wait_for(condition, what: str, timeout_s: float = 30.0):
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def replica_script(command: str) -> None:
    """Stop or start the replica of the test cluster with the CI script."""
    primary = sa.engine.make_url(os.environ["GDGIS_TEST_DATABASE_URL"])
    env = {
        **os.environ,
        "GDGIS_PG_DIR": primary.query["host"],
        "GDGIS_PG_PORT": primary.query["port"],
        "GDGIS_PG_REPLICA_PORT": sa.engine.make_url(REPLICA_URL).query["port"],
    }
    subprocess.run(
        ["bash", str(ROOT / "scripts" / "ci_postgres.sh"), command],
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def routed(store, store_templates):
    """The test's store with the replica for reads (the same database on the replica)."""
    if store_templates.dialect != "postgresql":
        pytest.skip("needs GDGIS_TEST_DATABASE_URL")
    database = sa.engine.make_url(store.url).database
    replica = sa.engine.make_url(REPLICA_URL).set(database=database)
    routed = Store(store.url, read_url=replica.render_as_string(hide_password=False))

    def replica_has_database():
        try:
            return in_thread(lambda: on_replica(routed))
        except sa.exc.OperationalError:
            return False

    wait_for(replica_has_database, "the test database to reach the replica")
    yield routed
    routed.dispose()


@contextlib.contextmanager
def replay_paused(routed: Store):
    """Hold the replica's replay (``pg_wal_replay_pause()``): the replica lags the primary
    by every write made meanwhile, however long that takes. Resumes on the way out."""
    engine = sa.create_engine(routed.read_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT pg_wal_replay_pause()")
            wait_for(
                lambda: (
                    conn.exec_driver_sql("SELECT pg_get_wal_replay_pause_state()").scalar()
                    == "paused"
                ),
                "the replica's replay to pause",
            )
            try:
                yield
            finally:
                conn.exec_driver_sql("SELECT pg_wal_replay_resume()")
    finally:
        engine.dispose()


def wait_until_replayed(routed: Store) -> None:
    """Wait until the replica has replayed everything committed on the primary so far."""
    with routed.engine.connect() as conn:
        lsn = conn.exec_driver_sql("SELECT pg_current_wal_insert_lsn()::text").scalar()
    with routed.read_engine.connect() as conn:
        replayed = sa.text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)")
        wait_for(lambda: conn.execute(replayed, {"lsn": lsn}).scalar(), "the replica to replay")


REASON = "测试用：历史地名"


def test_public_reads_come_from_the_replica_and_a_user_reads_back_their_writes(routed, tmp_path):
    from webmap import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=routed)
    officer, colleague, public = app.test_client(), app.test_client(), app.test_client()
    login(officer, "wang", "officer")
    login(colleague, "zhao", "officer")
    pid = place_id_of(routed, "440113")  # 番禺区
    url = f"/api/places/{pid}/protection"

    def reason(client):  # the listing's reason, None when not listed
        return client.get(url).get_json().get("reason")

    wait_until_replayed(routed)  # the accounts, too
    assert public.get(url).get_json() == {"listed": False}

    with replay_paused(routed):
        listed = officer.post(url, json={"reason": REASON, "source": "测试名录"})
        assert listed.status_code == 201, listed.get_json()
        # The officer reads the listing back at once, in the next request and from another
        # thread (another worker thread of the server): the session carries the floor.
        assert reason(officer) == REASON
        assert in_thread(lambda: reason(officer)) == REASON
        # Everyone else reads from the replica, which has not replayed it: the proof that
        # their reads are served there.
        assert public.get(url).get_json() == {"listed": False}
        assert in_thread(lambda: colleague.get(url).get_json()) == {"listed": False}
        assert app.test_client().get(url).get_json() == {"listed": False}
        # A lag longer than any fixed read-after-write window changes nothing for the writer.
        time.sleep(1.5)
        assert reason(officer) == REASON
        assert public.get(url).get_json() == {"listed": False}
        with officer.session_transaction() as session:
            assert read_your_writes.SESSION_KEY in session

    wait_for(lambda: reason(public) == REASON, "the replica to replay")
    # Once the replica holds the write, the officer's session forgets the floor: their reads
    # go back to the replica.
    assert reason(officer) == REASON
    with officer.session_transaction() as session:
        assert read_your_writes.SESSION_KEY not in session
    # The public answers never touched the session: no cookie for an anonymous reader.
    assert public.get(url).headers.get("Set-Cookie") is None


def test_a_change_reaches_search_through_the_replica(routed, store, tmp_path):
    from webmap import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=routed)

    def search(q):
        client = app.test_client()
        return client.get("/api/search", query_string={"q": q}).get_json()["results"]

    assert in_thread(lambda: search("番禺区"))[0]["name"] == "番禺区"
    now = dt.datetime.now(dt.UTC)
    named = name_place(store, LUHU, OFFICER, now)  # another process's write, on the primary
    wait_for(
        lambda: named in [h["id"] for h in in_thread(lambda: search("鹭湖新村"))],
        "the new name to be searchable through the replica",
        timeout_s=10,
    )


def test_the_app_keeps_answering_when_the_replica_stops_and_uses_it_again(
    routed, tmp_path, monkeypatch
):
    from webmap import create_app

    monkeypatch.setattr(store_module, "REPLICA_RETRY_S", 0.5)
    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=routed)

    def get(path):
        return app.test_client().get(path)

    officer = app.test_client()
    login(officer, "wang", "officer")
    url = f"/api/places/{place_id_of(routed, '440113')}/protection"
    wait_until_replayed(routed)
    assert in_thread(lambda: get("/api/search?q=番禺区")).status_code == 200
    replica_script("replica-stop")
    try:
        for path in ("/api/search?q=番禺区", "/api/divisions/440113", "/api/places?q=番禺", url):
            response = in_thread(lambda p=path: get(p))
            assert response.status_code == 200, (path, response.get_json())
        assert in_thread(lambda: on_replica(routed)) is False  # read from the primary
        # Writing goes on, and the writer reads the write back.
        listed = officer.post(url, json={"reason": REASON, "source": "测试名录"})
        assert listed.status_code == 201, listed.get_json()
        assert officer.get(url).get_json()["reason"] == REASON
    finally:
        replica_script("replica")
    time.sleep(0.6)
    wait_for(lambda: in_thread(lambda: on_replica(routed)), "reads to return to the replica")
    # The replica catches up on what was written while it was down (its replication slot
    # kept the WAL): the public, now served by it again, sees the listing.
    wait_for(lambda: in_thread(lambda: get(url).get_json().get("reason")) == REASON, "catch-up")
    assert in_thread(lambda: get("/api/divisions/440113")).status_code == 200
