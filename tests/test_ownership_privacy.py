"""Who may act on a proposal and who may read field data (issue 13, findings 4 and 5).

A clerk submits, edits and withdraws only the proposals they drafted (officers withdraw
any); field data (rounds, inspections, tasks, disputes, photos, their reports and exports)
is for staff roles only; the public reads lines and markers without their history.
"""

from __future__ import annotations

from io import BytesIO

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, OFFICER, inspection_record, register_staff, round_plan
from helpers import ensure_user, login, logout, token_headers

from gazetteer.core.account_tables import audit_log

TIANHE = "440106"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 32


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


def draft(client, name="云溪路") -> dict:
    r = client.post(
        "/api/proposals",
        json={
            "kind": "naming",
            "applicant": "天河区住房和城乡建设局",
            "reasons": "新建道路",
            "proposed": {"name": name, "feature_class": "交通运输设施", "division_code": TIANHE},
        },
    )
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def act(client, proposal: dict, action: str, **body):
    return client.post(
        f"/api/proposals/{proposal['id']}/actions/{action}",
        json={"version": proposal["version"], "reason": "理由", **body},
    )


@pytest.mark.parametrize("action", ["submit", "withdraw", "edit"])
def test_a_clerk_cannot_act_on_another_clerks_proposal(client, store, action):
    login(client, "li", "clerk")
    mine = draft(client)
    login(client, "zhao", "clerk")
    before = audit_size(store)
    r = act(client, mine, action)
    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert audit_size(store) == before
    # The drafter can, with the same version: nothing changed.
    login(client, "li", "clerk")
    assert act(client, mine, action).status_code == 200


def test_a_proposal_on_notice_cannot_be_withdrawn_by_another_clerk(client, store):
    login(client, "li", "clerk")
    p = draft(client)
    p = act(client, p, "submit").get_json()
    with store.write(actor="system:test") as conn:  # jump ahead: the path is tested elsewhere
        conn.execute(sa.text("UPDATE proposals SET state = 'on_notice' WHERE id = :id"), p)
    login(client, "zhao", "clerk")
    assert act(client, p, "withdraw").status_code == 403
    listed = client.get(f"/api/proposals/{p['id']}").get_json()
    assert listed["state"] == "on_notice" and "withdraw" not in listed["allowed_actions"]
    login(client, "wang", "officer")  # an officer may withdraw any proposal
    assert act(client, p, "withdraw").status_code == 200


def test_field_data_is_for_staff_only(bclient):
    store = bclient.application.extensions["gdgis.store"]
    line = next(
        x
        for x in bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
        if x["name"] == "韶惠线"
    )
    register_staff(store, line)
    login(bclient, OFFICER.username, *OFFICER.roles)
    round_id = bclient.post("/api/boundaries/rounds", json=round_plan(line)).get_json()["id"]
    bclient.post(f"/api/boundaries/rounds/{round_id}/start")
    marker = bclient.get(f"/api/boundaries/markers?line_id={line['id']}").get_json()["features"][0]
    number = marker["properties"]["number"]
    login(bclient, INSPECTOR_A.username, *INSPECTOR_A.roles)
    record = inspection_record(
        round_id, "faded", marker=number, notes="注记模糊，巡检人手机 13800000000"
    )
    assert bclient.post("/api/boundaries/inspections", json=record).status_code == 201
    photo = bclient.post(
        f"/api/boundaries/markers/{marker['id']}/photos",
        data={"photo": (BytesIO(PNG), "a.png")},
    )
    assert photo.status_code == 201, photo.get_json()
    sha = photo.get_json()["sha256"]

    field_urls = [
        "/api/boundaries/inspections",
        f"/api/boundaries/inspections?round_id={round_id}",
        "/api/boundaries/inspections/export?format=csv",
        "/api/boundaries/rounds",
        f"/api/boundaries/rounds/{round_id}",
        f"/api/boundaries/rounds/{round_id}/report",
        f"/api/boundaries/rounds/{round_id}/export.gpkg",
        "/api/boundaries/tasks",
        "/api/boundaries/disputes",
        f"/api/boundaries/photos/{sha}",
        "/boundaries/rounds",
        f"/boundaries/rounds/{round_id}/report",
    ]
    for url in field_urls:  # staff read it
        r = bclient.get(url)
        assert r.status_code == 200, url
        if "format=csv" in url:  # one charset parameter, not two
            assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
        r.close()
    logout(bclient)
    for url in field_urls:  # the public does not
        r = bclient.get(url)
        # Not signed in: 401 with the one error shape (403 is for a signed-in account
        # without the role); pages send the visitor to the login form.
        if url.startswith("/api/"):
            assert r.status_code == 401, (url, r.status_code)
            assert r.get_json()["error"]["code"] == "unauthenticated", url
        else:
            assert r.status_code in (302, 401), (url, r.status_code)
        assert "13800000000" not in r.get_data(as_text=True)
    detail = bclient.get(f"/api/boundaries/markers/{number}").get_json()
    assert "history" not in detail and sha not in str(detail)
    # What the public does read: lines, markers (labelled demonstration), tri-junctions.
    assert bclient.get("/api/boundaries/markers").get_json()["label"] == "演示数据"
    assert bclient.get("/api/boundaries/lines").status_code == 200
    assert bclient.get("/api/boundaries/tri-junctions").status_code == 200
    # Another client: a script with a staff token reads field data too.
    headers = token_headers(store, "li", "clerk")
    assert bclient.get("/api/boundaries/tasks", headers=headers).status_code == 200


TIANHE_OFFICE = "天河区民政局区划地名科"


@pytest.mark.parametrize("action", ["edit", "submit", "withdraw"])
def test_a_clerk_of_the_same_office_carries_on_a_proposal(client, store, action):
    """Offices own proposals: a clerk of the drafter's office may edit, submit and withdraw
    it; a clerk of another office, or of none, is refused and writes nothing."""
    from gazetteer.core import accounts

    for name, office in (("li", TIANHE_OFFICE), ("chen", TIANHE_OFFICE), ("he", "越秀区民政局")):
        ensure_user(store, name, "clerk")
        accounts.set_office(store, name, office, by="system:test")
    ensure_user(store, "zhao", "clerk")  # no office: acts alone
    login(client, "li", "clerk")
    mine = draft(client)
    assert mine["office"] == TIANHE_OFFICE
    for outsider in ("he", "zhao"):
        login(client, outsider, "clerk")
        shown = client.get(f"/api/proposals/{mine['id']}").get_json()
        assert action not in shown["allowed_actions"]
        before = audit_size(store)
        r = act(client, mine, action)
        assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
        assert audit_size(store) == before
    login(client, "chen", "clerk")
    assert action in client.get(f"/api/proposals/{mine['id']}").get_json()["allowed_actions"]
    r = act(client, mine, action, **({"reasons": "道路延伸"} if action == "edit" else {}))
    assert r.status_code == 200, r.get_json()
    # The proposal stays with the office it was drafted in when the drafter moves on.
    accounts.set_office(store, "li", "越秀区民政局", by="system:test")
    login(client, "chen", "clerk")
    assert client.get(f"/api/proposals/{mine['id']}").get_json()["office"] == TIANHE_OFFICE


def test_an_office_is_checked_text(store):
    from gazetteer.core import accounts
    from gazetteer.core.errors import InvalidInput

    ensure_user(store, "li", "clerk")
    for bad in ("\ud800科", "科" * 101):
        with pytest.raises(InvalidInput):
            accounts.set_office(store, "li", bad, by="system:test")
    accounts.set_office(store, "li", "  ", by="system:test")  # empty: no office
    assert [u["office"] for u in accounts.list_users(store) if u["username"] == "li"] == [None]
