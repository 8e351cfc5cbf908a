"""Read-replica routing against a real streaming replica (``pg_basebackup`` from the
throwaway primary: ``scripts/ci_postgres.sh replica``): reads go to the replica, a request's
own writes are read back from the primary, a change reaches the search through the
replica's replay, and the app keeps answering when the replica stops — and uses it again
once it is back.

Run with ``GDGIS_TEST_DATABASE_URL`` and ``GDGIS_TEST_REPLICA_URL`` set; skipped otherwise.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import login, naming_json
from registry_helpers import LUHU, name_place

from gazetteer.core import store as store_module
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store

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


def test_reads_go_to_the_replica_and_own_writes_are_read_from_the_primary(routed, tmp_path):
    from webmap import create_app

    app = create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=routed)
    client = app.test_client()
    assert in_thread(lambda: on_replica(routed)) is True
    assert on_replica(routed) is True  # this thread has not written yet either

    login(client, "li", "clerk")
    created = client.post(
        "/api/proposals",
        json=naming_json(
            "鹭湖新村", "440113", "居民点", applicant="番禺区民政局", reasons="新建居民点"
        ),
    )
    assert created.status_code == 201, created.get_json()
    proposal_id = created.get_json()["id"]
    # The same client (thread) reads its write at once: from the primary, whatever the lag.
    assert on_replica(routed) is False
    assert client.get(f"/api/proposals/{proposal_id}").status_code == 200
    # Another thread reads from the replica, which has it once replayed.
    wait_for(
        lambda: in_thread(lambda: _proposal_exists(routed, proposal_id) and on_replica(routed)),
        "the proposal to be replayed on the replica",
    )


def _proposal_exists(store: Store, proposal_id: int) -> bool:
    with store.read() as conn:
        return bool(
            conn.execute(
                sa.text("SELECT count(*) FROM proposals WHERE id = :id"), {"id": proposal_id}
            ).scalar()
        )


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

    assert in_thread(lambda: get("/api/search?q=番禺区")).status_code == 200
    replica_script("replica-stop")
    try:
        for path in ("/api/search?q=番禺区", "/api/divisions/440113", "/api/places?q=番禺"):
            response = in_thread(lambda p=path: get(p))
            assert response.status_code == 200, (path, response.get_json())
        assert in_thread(lambda: on_replica(routed)) is False  # read from the primary
    finally:
        replica_script("replica")
    time.sleep(0.6)
    wait_for(lambda: in_thread(lambda: on_replica(routed)), "reads to return to the replica")
    assert in_thread(lambda: get("/api/divisions/440113")).status_code == 200
