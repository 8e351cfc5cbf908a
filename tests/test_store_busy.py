"""A write that waits too long for another writer's lock: a clear 503 with Retry-After,
nothing written, and the same request succeeds when tried again."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from helpers import naming_json, token_headers

from gazetteer.core import store as store_module
from gazetteer.core.store import is_store_busy
from gazetteer.registry_tables import proposals


def _proposal_count(store) -> int:
    with store.read(primary=True) as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(proposals)).scalar()


def test_a_write_kept_waiting_is_refused_clearly_and_retried(store, client, monkeypatch):
    if store.dialect != "sqlite":
        pytest.skip("SQLite's one write lock; PostgreSQL locks rows")
    clerk = token_headers(store, "li", "clerk")
    monkeypatch.setattr(store_module, "SQLITE_BUSY_TIMEOUT_MS", 200)
    store.engine.dispose()  # new connections take the shorter wait
    before = _proposal_count(store)
    # Another writer (an import, a long check) holds the lock for longer than the wait.
    holder = sqlite3.connect(sa.engine.make_url(store.url).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        refused = client.post("/api/proposals", json=naming_json("长乐路"), headers=clerk)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.status_code == 503, refused.get_json()
    assert refused.headers["Retry-After"] == "2"
    error = refused.get_json()["error"]
    assert (
        error["code"] == "store_busy"
        and "未保存" in error["message"]
        and "重试" in error["message"]
    )
    assert _proposal_count(store) == before
    # The second action: the clerk tries again once the other writer is done.
    retried = client.post("/api/proposals", json=naming_json("长乐路"), headers=clerk)
    assert retried.status_code == 201, retried.get_json()
    assert _proposal_count(store) == before + 1


def _sqlite_error(sql: str, path) -> sa.exc.OperationalError:
    first = sqlite3.connect(path, isolation_level=None, timeout=0)
    second = sqlite3.connect(path, isolation_level=None, timeout=0)
    first.execute("BEGIN IMMEDIATE")
    try:
        second.execute(sql)
    except sqlite3.OperationalError as exc:
        return sa.exc.OperationalError(sql, (), exc)
    finally:
        first.execute("ROLLBACK")
        first.close()
        second.close()
    raise AssertionError(f"{sql} did not fail")


def test_only_a_busy_store_counts_as_busy(tmp_path):
    path = tmp_path / "busy.sqlite"
    sqlite3.connect(path).close()
    assert is_store_busy(_sqlite_error("BEGIN IMMEDIATE", path))  # database is locked
    assert not is_store_busy(_sqlite_error("SELECT * FROM missing", path))  # a bug: a 500
    for sqlstate, busy in (("55P03", True), ("40P01", True), ("42P01", False)):
        error = sa.exc.OperationalError("", (), SimpleNamespace(sqlstate=sqlstate))
        assert is_store_busy(error) is busy
