"""Every write route against every role: the server refuses what a role may not do.

The routes come from ``app.url_map`` (POST/PUT/PATCH/DELETE); ``EXPECTED`` (the table
tests/data/authz_endpoint_roles.csv) says which roles may pass authorisation on each. A
route missing from the table fails the test, so a new write endpoint cannot ship without a
decision on who may use it. A refused
request must answer 401 with a ``WWW-Authenticate: Bearer`` challenge when nobody has
signed in, 403 when a signed-in account lacks the role (forms: the refusal message), and
must write nothing — the audit log does not grow.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from case_tables import case_rows
from helpers import login, logout

from gazetteer import workflow
from gazetteer.core.account_tables import audit_log
from gazetteer.core.actors import ROLES, Actor

ANONYMOUS = "anonymous"
EVERY_ROLE = frozenset(ROLES)
PUBLIC = frozenset({ANONYMOUS, *ROLES})  # open to everyone (changes nothing, or is sign-in itself)


def _roles(cell: str) -> frozenset[str]:
    """A roles cell of the tables: ``anyone`` (signed in or not), ``any role`` (signed in),
    or the role names separated by spaces; empty for nobody."""
    return {"anyone": PUBLIC, "any role": EVERY_ROLE}.get(cell, frozenset(cell.split()))


# Who may pass authorisation on each write endpoint (tests/data/authz_endpoint_roles.csv).
EXPECTED: dict[str, frozenset[str]] = {
    row["endpoint"]: _roles(row["roles"]) for row in case_rows("authz_endpoint_roles.csv")
}
# The workflow's steps, decided here independently of gazetteer.workflow.STEPS.
ACTION_ROLES: dict[str, frozenset[str]] = {
    row["action"]: _roles(row["roles"]) for row in case_rows("authz_workflow_action_roles.csv")
}
FORM_ENDPOINTS = {
    "officer.proposal_new",
    "officer.proposal_action",
    "officer.division_change_page",
    "campaigns.cleanup_build_form",
    "campaigns.cleanup_decide_form",
    "campaigns.placement_batch_page",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
TIANHE = "440106"


def requests_for(endpoint: str, proposal: dict) -> list[tuple[str, dict, frozenset[str]]]:
    """(url, client.post kwargs, allowed roles) for one endpoint; plausible bodies so that
    authorisation, not input checking, decides."""
    pid, stale = (
        proposal["id"],
        proposal["version"] + 100,
    )  # a stale version: allowed roles get 409, no write
    if endpoint == "registry_api.proposal_action":
        return [
            (
                f"/api/proposals/{pid}/actions/{a}",
                {"json": {"version": stale, "reason": "理由"}},
                r,
            )
            for a, r in ACTION_ROLES.items()
        ]
    if endpoint == "officer.proposal_action":
        return [
            (
                f"/officer/proposals/{pid}/action",
                {"data": {"action": a, "version": str(stale), "reason": "理由"}},
                r,
            )
            for a, r in ACTION_ROLES.items()
        ]
    body = {
        "auth.login": (
            "/auth/login",
            {"data": {"username": "nobody", "password": "not the password"}},
        ),
        "auth.logout": ("/auth/logout", {}),
        "notices.add_opinion": (
            "/notices/999999/opinions",
            {"data": {"body": "赞成这个名称。"}},
        ),
        "notices.add_opinion_json": (
            "/api/notices/999999/opinions",
            {"json": {"body": "赞成这个名称。"}},
        ),
        "lookup.reverse_batch": (
            "/api/reverse/batch",
            {"json": {"crs": "CGCS2000", "points": [[113.3, 23.1]]}},
        ),
        "fieldwork.rules_check": (
            "/api/rules/check",
            {"json": {"name": "长乐路", "feature_class": "交通运输设施", "division_code": TIANHE}},
        ),
        "fieldwork.place_geometry": (
            "/api/places/999999999/geometry",
            {"json": {"lon": 113.3, "lat": 23.1, "version": 1}},
        ),
        "registry_api.proposal_create": (
            "/api/proposals",
            {
                "json": {
                    "kind": "naming",
                    "applicant": "天河区住建局",
                    "reasons": "新建道路",
                    "proposed": {
                        "name": "云溪路",
                        "feature_class": "交通运输设施",
                        "division_code": TIANHE,
                    },
                }
            },
        ),
        "officer.proposal_new": (
            "/officer/proposals/new",
            {
                "data": {
                    "kind": "naming",
                    "applicant": "天河区住建局",
                    "reasons": "新建道路",
                    "name": "云溪路",
                    "feature_class": "交通运输设施",
                    "division": TIANHE,
                }
            },
        ),
        "registry_api.protect_place": (
            "/api/places/999999999/protection",
            {"json": {"reason": "历史地名", "source": "测试"}},
        ),
        "registry_api.apply_reading_corrections": ("/api/places/reading-corrections", {"json": {}}),
        "officer.division_change_page": (
            "/officer/divisions/changes",
            {"data": {"division": "999999", "new_name": "某区"}},
        ),
        "boundaries_api.create_dispute": (
            "/api/boundaries/disputes",
            {"json": {"line": "粤桂线", "title": "滩涂"}},
        ),
        "boundaries_api.update_dispute": (
            "/api/boundaries/disputes/999999",
            {"json": {"status": "resolved"}},
        ),
        "boundaries_api.record_inspection": (
            "/api/boundaries/inspections",
            {
                "json": {
                    "id": "00000000-0000-4000-8000-000000000000",
                    "round_id": 999999,
                    "marker_id": 999999,
                    "found_state": "intact",
                }
            },
        ),
        "boundaries_api.sign_inspection": (
            "/api/boundaries/inspections/no-such-id/sign",
            {"json": {"side_code": "440000"}},
        ),
        "boundaries_api.import_inspections": (
            "/api/boundaries/inspections/import?format=csv",
            {"data": b"id,round_id,marker,found_state\n"},
        ),
        "boundaries_api.upload_photo": (
            "/api/boundaries/markers/999999/photos",
            {
                "data": {"photo": (__import__("io").BytesIO(PNG), "p.png")},
                "content_type": "multipart/form-data",
            },
        ),
        "boundaries_api.import_markers": (
            "/api/boundaries/markers/import?format=csv",
            {"data": b"number,line,lon,lat\n"},
        ),
        "boundaries_api.create_round": (
            "/api/boundaries/rounds",
            {
                "json": {
                    "line": "粤桂线",
                    "round_no": 4,
                    "teams": [
                        {"side_code": "440000", "members": ["a"]},
                        {"side_code": "450000", "members": ["b"]},
                    ],
                }
            },
        ),
        "boundaries_api.start_round": ("/api/boundaries/rounds/999999/start", {"json": {}}),
        "boundaries_api.complete_round": ("/api/boundaries/rounds/999999/complete", {"json": {}}),
        "boundaries_api.create_task": (
            "/api/boundaries/tasks",
            {"json": {"marker_id": 999999, "kind": "repaint"}},
        ),
        "boundaries_api.update_task": (
            "/api/boundaries/tasks/999999",
            {"json": {"status": "done"}},
        ),
        "boundaries_api.approve_task": (
            "/api/boundaries/tasks/999999/approve",
            {"json": {"side_code": "440000"}},
        ),
        "boundaries_api.amend_inspection": (
            "/api/boundaries/inspections/00000000-0000-4000-8000-000000000000/amendments",
            {"json": {"id": "00000000-0000-4000-8000-000000000001", "found_state": "intact"}},
        ),
        "boundaries_api.sign_conclusion": (
            "/api/boundaries/rounds/999999/conclusion",
            {"json": {"side_code": "440000", "conclusion": "界线清晰"}},
        ),
        "boundaries_api.set_staff": (
            "/api/boundaries/staff/nobody-here",
            {"json": {"full_name": "张伟", "organisation": "广东省民政厅", "side_code": "440000"}},
        ),
        "boundaries_api.record_division_change": (
            "/api/boundaries/division-changes",
            {
                "json": {
                    "code": "999999",
                    "new_name": "某区",
                    "approving_body": "国务院",
                    "document_number": "国函〔2027〕1号",
                    "approval_date": "2027-01-01",
                    "reason": "测试",
                }
            },
        ),
        # Items and previews that do not exist: authorisation is decided before the lookup.
        "campaigns.cleanup_build": ("/api/cleanup/build", {"json": {"division": "999999"}}),
        "campaigns.cleanup_decide": (
            "/api/cleanup/999999/decision",
            {"json": {"decision": "kept", "reason": "理由", "version": 1}},
        ),
        "campaigns.cleanup_build_form": (
            "/officer/cleanup/build",
            {"data": {"division": "999999"}},
        ),
        "campaigns.cleanup_decide_form": (
            "/officer/cleanup/999999/decision",
            {"data": {"decision": "kept", "reason": "理由", "version": "1"}},
        ),
        "campaigns.placement_batch_preview": (
            "/api/placements/batch/preview",
            {"data": {"crs": "CGCS2000"}},
        ),
        "campaigns.placement_batch_apply": (
            "/api/placements/batch",
            {"json": {"digest": "0" * 64, "crs": "CGCS2000"}},
        ),
        "campaigns.placement_batch_page": (
            "/officer/placement/batch",
            {"data": {"crs": "CGCS2000"}},
        ),
        # An import run that does not exist: authorisation is decided before the lookup
        # (and after the form of the body, so the bodies are well formed).
        "imports.upload": ("/api/imports", {"data": {}}),
        "imports.crs_guess": (
            "/api/imports/999999/crs-guess",
            {"json": {"mapping": {"name": "标准名称"}}},
        ),
        "imports.configure": (
            "/api/imports/999999/configure",
            {"json": {"mapping": {"name": "标准名称"}, "crs": "CGCS2000"}},
        ),
        "imports.preview": ("/api/imports/999999/preview", {"json": {}}),
        "imports.write": ("/api/imports/999999/write", {"json": {}}),
    }[endpoint]
    return [(*body, EXPECTED[endpoint])]


def write_endpoints(app) -> set[str]:
    return {
        r.endpoint
        for r in app.url_map.iter_rules()
        if r.methods & {"POST", "PUT", "PATCH", "DELETE"}
    }


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


def test_every_write_route_has_an_expected_permission(app):
    unknown = write_endpoints(app) - set(EXPECTED)
    assert not unknown, f"write routes without an entry in EXPECTED: {sorted(unknown)}"
    assert set(ACTION_ROLES) == set(workflow.STEPS_BY_ACTION), (
        "a workflow action without an expected role"
    )


@pytest.mark.parametrize("who", [ANONYMOUS, *ROLES])
def test_every_role_against_every_write_route(app, store, who):
    proposal = workflow.create_proposal(
        store,
        Actor("drafter", frozenset({"clerk"})),
        kind="naming",
        applicant="天河区住建局",
        reasons="新建道路",
        proposed={"name": "长乐路", "feature_class": "交通运输设施", "division_code": TIANHE},
    )
    failures = []
    for endpoint in sorted(write_endpoints(app)):
        for url, kwargs, allowed in requests_for(endpoint, proposal):
            client = app.test_client()
            if who == ANONYMOUS:
                logout(client)
            else:
                login(client, f"matrix_{who}", who)
            before = audit_size(store)
            response = client.post(url, **kwargs)
            status, text = response.status_code, response.get_data(as_text=True)
            if status >= 500:
                failures.append(f"{who} {url}: {status}")
            elif who in allowed:
                if status in (401, 403) and endpoint != "auth.login":
                    failures.append(f"{who} {url}: refused ({status}) but should be allowed")
            else:
                if endpoint in FORM_ENDPOINTS:
                    refused = status in (401, 403) or "无权" in (
                        text
                        if status == 200
                        else client.get(response.headers.get("Location", "/")).get_data(
                            as_text=True
                        )
                    )
                else:  # not signed in: 401 with its challenge; signed in without the role: 403
                    challenge = response.headers.get("WWW-Authenticate", "")
                    refused = (status, challenge.startswith("Bearer")) == (
                        (401, True) if who == ANONYMOUS else (403, False)
                    )
                if not refused:
                    failures.append(f"{who} {url}: {status}, expected a refusal (401/403 rule)")
                if audit_size(store) != before:
                    failures.append(f"{who} {url}: refused but something was written")
    assert not failures, "\n".join(failures)


# ---- the role table in docs/security.md says what the code allows (issue 13, finding 11) ----

# A phrase of the role table and the endpoint it stands for.
DOC_PHRASES = {
    "record and sign inspections": "boundaries_api.record_inspection",
    "upload photos": "boundaries_api.upload_photo",
    "open and approve tasks": "boundaries_api.create_task",
    "carry out tasks": "boundaries_api.update_task",
    "disputes": "boundaries_api.create_dispute",
    "plan and run inspection rounds": "boundaries_api.create_round",
    "place names on the map": "fieldwork.place_geometry",
    "import office place-name data": "imports.upload",
}


def test_the_documented_role_table_matches_the_code():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "docs" / "security.md").read_text(encoding="utf-8")
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0] in ROLES:
            rows[cells[0]] = cells[2]
    assert set(rows) == set(ROLES)
    for phrase, endpoint in DOC_PHRASES.items():
        documented = {role for role, may in rows.items() if phrase in may}
        assert documented == set(EXPECTED[endpoint]), (phrase, documented)
