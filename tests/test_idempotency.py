"""Idempotent creates and offline replays (issue 13, finding 8).

A create with an ``Idempotency-Key`` sent again returns the record made the first time
(no duplicate); the same key with other content is a 409 carrying the stored version; a
resent inspection record with the same id but other content is a 409 too, never a 200
that makes the client believe its new content was kept."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, OFFICER, inspection_record, register_staff, round_plan
from helpers import token_headers

from boundaries.tables import disputes, inspection_rounds, maintenance_tasks
from gazetteer.registry_tables import proposals

BODY = {
    "kind": "naming",
    "applicant": "天河区住建局",
    "reasons": "新建道路",
    "proposed": {"name": "云溪路", "feature_class": "交通运输设施", "division_code": "440106"},
}


def count(store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()


def test_a_retried_create_with_the_same_key_creates_once(client, store):
    headers = {**token_headers(store, "li", "clerk"), "Idempotency-Key": str(uuid.uuid4())}
    before = count(store, proposals)
    first = client.post("/api/proposals", json=BODY, headers=headers)
    again = client.post("/api/proposals", json=BODY, headers=headers)
    # 201 made now, 200 the record made the first time: as for inspections (docs/security.md)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert count(store, proposals) == before + 1
    # Other content under the same key: 409 with the stored version, nothing written.
    changed = {**BODY, "reasons": "道路改线"}
    clash = client.post("/api/proposals", json=changed, headers=headers)
    assert clash.status_code == 409
    stored = clash.get_json()["error"]["details"]["stored"]
    assert stored["id"] == first.get_json()["id"] and stored["reasons"] == "新建道路"
    assert count(store, proposals) == before + 1
    # A new key is a new proposal; the key belongs to the account, not to everyone.
    fresh = client.post(
        "/api/proposals", json=changed, headers={**headers, "Idempotency-Key": "another-key"}
    )
    assert fresh.status_code == 201 and fresh.get_json()["id"] != first.get_json()["id"]
    other = {**token_headers(store, "zhao", "clerk"), "Idempotency-Key": headers["Idempotency-Key"]}
    assert client.post("/api/proposals", json=BODY, headers=other).get_json()["id"] not in (
        first.get_json()["id"],
        fresh.get_json()["id"],
    )


def test_a_bad_key_is_400(client, store):
    headers = {**token_headers(store, "li", "clerk"), "Idempotency-Key": "has space"}
    r = client.post("/api/proposals", json=BODY, headers=headers)
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "Idempotency-Key"


def test_a_create_without_a_key_is_unchanged(client, store):
    headers = token_headers(store, "li", "clerk")
    before = count(store, proposals)
    assert client.post("/api/proposals", json=BODY, headers=headers).status_code == 201
    assert client.post("/api/proposals", json=BODY, headers=headers).status_code == 201
    assert count(store, proposals) == before + 2


@pytest.fixture
def bclient_and_store(bclient, bstore):
    """The shared boundaries store (lines and demonstration markers) and a client on it."""
    return bclient, bstore


def _shaohui(client) -> dict:
    return next(
        x
        for x in client.get("/api/boundaries/lines?kind=city").get_json()["lines"]
        if x["name"] == "韶惠线"
    )


def _dispute(client, headers):
    body = {"line": "韶惠线", "title": "林地权属不清", "risk": "high"}
    return "/api/boundaries/disputes", disputes, body, {**body, "risk": "low"}, "risk"


def _round(client, headers):
    line = _shaohui(client)
    register_staff(client.application.extensions["gdgis.store"], line)
    body = round_plan(line)
    return "/api/boundaries/rounds", inspection_rounds, body, {**body, "plan": "仅抽查"}, "plan"


def _task(client, headers):
    line = _shaohui(client)
    features = client.get(f"/api/boundaries/markers?line_id={line['id']}", headers=headers)
    body = {"marker_id": features.get_json()["features"][0]["id"], "kind": "repair", "note": "补漆"}
    return "/api/boundaries/tasks", maintenance_tasks, body, {**body, "kind": "replace"}, "kind"


@pytest.mark.parametrize("create", [_dispute, _round, _task], ids=["dispute", "round", "task"])
def test_boundary_creates_take_an_idempotency_key(bclient_and_store, create):
    """Disputes, inspection rounds and maintenance tasks: the same key and body answer the
    record made the first time; other content under the key is a 409 carrying it."""
    client, store = bclient_and_store
    headers = {**token_headers(store, OFFICER.username, "officer"), "Idempotency-Key": "create-1"}
    url, table, body, changed, field = create(client, headers)
    before = count(store, table)
    first = client.post(url, json=body, headers=headers)
    again = client.post(url, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200), first.get_json()
    assert again.get_json() == first.get_json()
    assert count(store, table) == before + 1
    clash = client.post(url, json=changed, headers=headers)
    assert clash.status_code == 409
    stored = clash.get_json()["error"]["details"]["stored"]
    assert stored["id"] == first.get_json()["id"] and stored[field] == first.get_json()[field]
    assert count(store, table) == before + 1


def test_one_key_on_two_create_endpoints_names_two_requests(bclient_and_store):
    """Keys are scoped by what they create: a key first used for a round, then for a
    dispute, creates the dispute (not a 409 carrying the round); each retry answers its own
    record."""
    client, store = bclient_and_store
    headers = {**token_headers(store, OFFICER.username, "officer"), "Idempotency-Key": "shared-1"}
    url_r, _, round_body, _, _ = _round(client, headers)
    url_d, _, dispute_body, _, _ = _dispute(client, headers)
    made_round = client.post(url_r, json=round_body, headers=headers)
    made_dispute = client.post(url_d, json=dispute_body, headers=headers)
    assert (made_round.status_code, made_dispute.status_code) == (201, 201), made_dispute.get_json()
    assert made_dispute.get_json()["title"] == "林地权属不清"
    again_r = client.post(url_r, json=round_body, headers=headers)
    again_d = client.post(url_d, json=dispute_body, headers=headers)
    assert (again_r.status_code, again_d.status_code) == (200, 200)
    assert again_r.get_json()["id"] == made_round.get_json()["id"]
    assert again_d.get_json()["id"] == made_dispute.get_json()["id"]
    assert count(store, disputes) == 1


def test_a_resent_inspection_with_other_content_is_409_with_the_stored_one(bclient_and_store):
    client, store = bclient_and_store
    officer = token_headers(store, OFFICER.username, *OFFICER.roles)
    line = next(
        x
        for x in client.get("/api/boundaries/lines?kind=city").get_json()["lines"]
        if x["name"] == "韶惠线"
    )
    register_staff(store, line)
    round_id = client.post(
        "/api/boundaries/rounds", json=round_plan(line), headers=officer
    ).get_json()["id"]
    client.post(f"/api/boundaries/rounds/{round_id}/start", headers=officer)
    number = client.get(f"/api/boundaries/markers?line_id={line['id']}").get_json()["features"][0][
        "properties"
    ]["number"]
    inspector = token_headers(store, INSPECTOR_A.username, *INSPECTOR_A.roles)
    record = inspection_record(round_id, "faded", marker=number, notes="注记模糊")
    first = client.post("/api/boundaries/inspections", json=record, headers=inspector)
    same = client.post("/api/boundaries/inspections", json=record, headers=inspector)
    assert (first.status_code, same.status_code) == (201, 200)
    edited = {**record, "found_state": "damaged", "notes": "桩体破损"}
    clash = client.post("/api/boundaries/inspections", json=edited, headers=inspector)
    assert clash.status_code == 409
    details = clash.get_json()["error"]["details"]
    assert set(details["fields"]) == {"found_state", "notes"}
    assert details["stored"]["found_state"] == "faded" and details["stored"]["notes"] == "注记模糊"
