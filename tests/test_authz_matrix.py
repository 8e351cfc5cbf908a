"""Every write route against every role: the server refuses what a role may not do.

The routes come from ``app.url_map`` (POST/PUT/PATCH/DELETE); ``EXPECTED`` (the table
tests/data/authz_endpoint_roles.csv) says which roles may pass authorisation on each, and
``REQUESTS`` (tests/data/authz_requests.csv) the request each is tried with. A
route missing from the table fails the test, so a new write endpoint cannot ship without a
decision on who may use it. A refused
request must answer 401 with a ``WWW-Authenticate: Bearer`` challenge when nobody has
signed in, 403 when a signed-in account lacks the role (forms: the refusal message), and
must write nothing — the audit log does not grow.
"""

from __future__ import annotations

import io
import json

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
# The request each write endpoint is tried with (tests/data/authz_requests.csv): plausible
# bodies, so that authorisation, not input checking, decides; ids of records, import runs
# and previews that do not exist, since authorisation is decided before the lookup (and
# after the form of the body, so the bodies are well formed).
REQUESTS: dict[str, dict[str, str]] = {
    row["endpoint"]: row for row in case_rows("authz_requests.csv")
}
# The workflow's steps, decided here independently of gazetteer.workflow.STEPS.
ACTION_ROLES: dict[str, frozenset[str]] = {
    row["action"]: _roles(row["roles"]) for row in case_rows("authz_workflow_action_roles.csv")
}
FORM_ENDPOINTS = {
    "officer.proposal_new",
    "officer.proposal_edit",
    "officer.proposal_action",
    "officer.division_change_page",
    "campaigns.cleanup_build_form",
    "campaigns.cleanup_decide_form",
    "campaigns.placement_batch_page",
}
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
TIANHE = "440106"


# Tried once per workflow action (ACTION_ROLES), not from the table of requests; and the
# draft's edit form, on the matrix's proposal.
PER_ACTION = {"registry_api.proposal_action", "officer.proposal_action", "officer.proposal_edit"}


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
    if endpoint == "officer.proposal_edit":
        form = {"version": str(stale), "applicant": "天河区住建局", "reasons": "新建道路"}
        return [(f"/officer/proposals/{pid}/edit", {"data": form}, EXPECTED[endpoint])]
    row = REQUESTS[endpoint]
    return [(row["url"], _post_kwargs(row["send"], row["body"]), EXPECTED[endpoint])]


def _post_kwargs(send: str, body: str) -> dict:
    """``client.post`` keyword arguments for a row of authz_requests.csv: ``body`` sent as
    ``json`` (JSON text), ``form`` (a JSON object of form fields), ``csv`` (an upload: the
    file's header line), ``photo`` (a small PNG as multipart ``photo``), or nothing."""
    if send == "json":
        return {"json": json.loads(body)}
    if send == "form":
        return {"data": json.loads(body)}
    if send == "csv":
        return {"data": (body + "\n").encode()}
    if send == "photo":
        return {
            "data": {"photo": (io.BytesIO(PNG), "p.png")},
            "content_type": "multipart/form-data",
        }
    return {}


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
    untried = write_endpoints(app) - set(REQUESTS) - PER_ACTION
    assert not untried, f"write routes without a request in authz_requests.csv: {sorted(untried)}"
    assert set(ACTION_ROLES) == set(workflow.STEPS_BY_ACTION), (
        "a workflow action without an expected role"
    )


@pytest.mark.parametrize("who", [ANONYMOUS, *ROLES])
def test_every_role_against_every_write_route(app, store, who):
    draft = workflow.ProposalDraft(
        kind="naming",
        applicant="天河区住建局",
        reasons="新建道路",
        proposed={"name": "长乐路", "feature_class": "交通运输设施", "division_code": TIANHE},
    )
    proposal = workflow.create_proposal(store, Actor("drafter", frozenset({"clerk"})), draft)
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
