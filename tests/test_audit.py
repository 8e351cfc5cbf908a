"""The audit log: every row written appears exactly once, with who and in which
transaction; the log cannot be changed; ``audit.verify`` catches tampering."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa
from helpers import login, token_headers
from proposal_helpers import CLERK, TIANHE

from gazetteer import workflow
from gazetteer.core import audit
from gazetteer.core.account_tables import audit_log
from gazetteer.core.store import metadata
from gazetteer.registry_tables import proposal_events
from gazetteer.tables import meta


def new_proposal(store, actor=CLERK):
    draft = workflow.ProposalDraft(
        kind="naming",
        applicant="天河区住房和城乡建设局",
        reasons="新建道路需要命名",
        proposed={
            "name": "长乐路",
            "feature_class": "交通运输设施",
            "feature_type": "路",
            "division_code": TIANHE,
        },
    )
    return workflow.create_proposal(store, actor, draft)


def entries_after(store, last_id: int) -> list:
    with store.read() as conn:
        return conn.execute(
            sa.select(audit_log).where(audit_log.c.id > last_id).order_by(audit_log.c.id)
        ).all()


def last_id(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))).scalar()


def test_every_table_of_the_schema_is_audited(store):
    tables = audit.audited_tables()
    assert set(tables) == {t.name for t in metadata.sorted_tables} - audit.UNAUDITED_TABLES
    # The log, request bookkeeping, search keys, terms and grams derived from (audited) places, and the
    # store's id (written once by its migration).
    assert (
        sorted(audit.UNAUDITED_TABLES)
        == (
            "audit_log idempotency_keys place_search_grams place_search_keys place_search_terms "
            "rate_limit_buckets store_identity"
        ).split()
    )
    with store.read() as conn:
        missing = audit.expected_trigger_names(conn.dialect.name, tables) - audit.trigger_names(
            conn
        )
    assert not missing, (
        f"tables without audit triggers (add audit.install_triggers to their migration): {missing}"
    )
    report = audit.verify(store)
    assert report.ok, report.problems
    assert report.entries > 20_000  # the shipped import is in the log, row by row


def test_a_workflow_step_logs_each_row_it_writes_once_with_actor_and_transaction(store):
    p = new_proposal(store)
    start = last_id(store)
    workflow.perform(store, p["id"], "submit", CLERK, version=p["version"])
    rows = entries_after(store, start)
    with store.read() as conn:
        event_id = conn.execute(sa.select(sa.func.max(proposal_events.c.id))).scalar()
    assert sorted((r.table_name, r.op, r.row_key) for r in rows) == [
        ("proposal_events", "INSERT", str(event_id)),
        ("proposals", "UPDATE", str(p["id"])),
    ]
    assert {r.actor for r in rows} == {"clerk_li"} and len({r.tx for r in rows}) == 1


def test_a_rolled_back_write_leaves_no_entry(store):
    start = last_id(store)
    with pytest.raises(RuntimeError):
        with store.write(actor="tester") as conn:
            conn.execute(meta.insert().values(key="audit-test", value="1"))
            raise RuntimeError("fail after the insert")
    assert entries_after(store, start) == []
    with store.write(actor="tester") as conn:
        conn.execute(meta.insert().values(key="audit-test", value="1"))
        conn.execute(meta.update().where(meta.c.key == "audit-test").values(value="2"))
        conn.execute(meta.delete().where(meta.c.key == "audit-test"))
    assert [(r.op, r.row_key, r.actor) for r in entries_after(store, start)] == [
        ("INSERT", "audit-test", "tester"),
        ("UPDATE", "audit-test", "tester"),
        ("DELETE", "audit-test", "tester"),
    ]
    assert audit.verify(store).ok


def test_api_writes_are_attributed_to_the_session_user_and_the_token_user(client, store):
    login(client, "li", "clerk")
    body = {
        "kind": "naming",
        "applicant": "天河区住房和城乡建设局",
        "reasons": "新建道路",
        "proposed": {"name": "长乐路", "feature_class": "交通运输设施", "division_code": TIANHE},
    }
    start = last_id(store)
    assert client.post("/api/proposals", json=body).status_code == 201
    assert {r.actor for r in entries_after(store, start)} == {"li"}
    headers = token_headers(store, "nightly_script", "clerk")
    start = last_id(store)
    scripted = client.application.test_client()  # no session cookie: the token alone
    assert scripted.post("/api/proposals", json=body, headers=headers).status_code == 201
    assert {r.actor for r in entries_after(store, start) if r.table_name != "api_tokens"} == {
        "nightly_script"
    }


def test_the_log_refuses_update_and_delete(store):
    for statement in (audit_log.update().values(actor="someone else"), audit_log.delete()):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with store.write(actor="intruder") as conn:
                conn.execute(statement)
    assert audit.verify(store).ok


def test_writes_that_bypass_the_store_are_refused(store):
    if store.dialect != "sqlite":
        pytest.skip("SQLite file access; on PostgreSQL the app's role is what limits writers")
    # A raw connection has no gdgis_actor(): the triggers cannot fire, so the write fails.
    path = sa.engine.make_url(store.url).database
    raw = sqlite3.connect(path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="gdgis_actor"):
            raw.execute("UPDATE places SET name = 'x' WHERE id = (SELECT min(id) FROM places)")
    finally:
        raw.close()


def test_verify_finds_a_deleted_entry_and_an_unlogged_row(store):
    if store.dialect != "sqlite":
        pytest.skip("tampers with the SQLite file directly")
    store.dispose()
    raw = sqlite3.connect(sa.engine.make_url(store.url).database)
    try:  # what an intruder with file access could do: drop the guards, then edit
        raw.execute("DROP TRIGGER audit_log_no_delete")
        raw.execute("DROP TRIGGER audit_meta_insert")
        raw.execute("DELETE FROM audit_log WHERE id = (SELECT min(id) + 5 FROM audit_log)")
        raw.execute("INSERT INTO meta (key, value) VALUES ('smuggled', '1')")
        raw.commit()
    finally:
        raw.close()
    report = audit.verify(store)
    text = " ".join(report.problems)
    assert not report.ok
    assert "audit_log_no_delete" in text and "audit_meta_insert" in text
    assert "gap" in text and "meta: 1 row(s) without an audit entry" in text
