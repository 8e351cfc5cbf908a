"""Every refusal names its field (issue 13, "wrong type, unknown or missing field → 400
naming the field"): the cases a fresh tester found answered without ``details.field``, or
naming the wrong one, are kept as a table (``tests/data/refusals_naming_the_field.csv``).

For each row: the refused request answers its status with ``details.field`` the request's
own key (a JSON field, a path or query parameter; never a Chinese label) and a message in
Chinese; nothing of it was stored (the audit log, which every write reaches, is unchanged);
then the corrected retry succeeds."""

from __future__ import annotations

import io
import re
import uuid
from string import Template
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, OFFICER, inspection_record, register_staff, round_plan
from case_tables import cases
from helpers import TEST_PASSWORD, ensure_user, naming_json, token_headers
from proposal_helpers import YUEZHOU, place_id_of

from gazetteer.core.account_tables import audit_log
from gazetteer.search import MAX_QUERY_CHARS

LINE = "韶惠线"
CHINESE = re.compile(r"[\u4e00-\u9fff]")
COLUMNS = ("what", "who", "method", "path", "body", "status", "field")
FIXED = ("fixed_path", "fixed_body", "fixed_status")


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


@pytest.fixture
def scene(bclient, bstore):
    """A started round on 韶惠线 with one record in it, a dispute, a clerk's draft, and the
    values the table's ``$names`` stand for."""
    line = next(
        x
        for x in bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
        if x["name"] == LINE
    )
    register_staff(bstore, line)
    senders = {
        "anonymous": {},
        "officer": token_headers(bstore, OFFICER.username, *OFFICER.roles),
        "inspector": token_headers(bstore, INSPECTOR_A.username, *INSPECTOR_A.roles),
        "clerk": token_headers(bstore, "field_clerk", "clerk"),
    }
    officer = senders["officer"]
    round_id = bclient.post("/api/boundaries/rounds", json=round_plan(line), headers=officer)
    round_id = round_id.get_json()["id"]
    assert bclient.post(f"/api/boundaries/rounds/{round_id}/start", headers=officer).status_code
    in_round = bclient.get(f"/api/boundaries/rounds/{round_id}/markers", headers=officer)
    first, second = in_round.get_json()["markers"][:2]
    marker = bclient.get(f"/api/boundaries/markers/{first['marker_id']}").get_json()
    recorded = bclient.post(
        "/api/boundaries/inspections",
        json=inspection_record(round_id, "intact", marker_id=second["marker_id"]),
        headers=senders["inspector"],
    )
    assert recorded.status_code == 201, recorded.get_json()
    dispute = bclient.post(
        "/api/boundaries/disputes", json={"title": "林地权属", "line": LINE}, headers=officer
    ).get_json()
    draft = bclient.post("/api/proposals", json=naming_json("云溪路"), headers=senders["clerk"])
    relocation = bclient.post(
        "/api/boundaries/tasks",
        json={"marker_id": first["marker_id"], "kind": "relocate"},
        headers=officer,
    )
    feature = bclient.get("/ogc/collections/places/items?limit=1").get_json()["features"][0]
    lon, lat = marker["geometry"]["coordinates"]
    values = {
        "uuid": str(uuid.uuid4()),
        "round_id": round_id,
        "marker_id": first["marker_id"],
        "marker_number": quote(first["number"]),
        "marker_lon": lon,
        "marker_lat": lat,
        "inspection_id": recorded.get_json()["id"],
        "dispute_id": dispute["id"],
        "proposal_id": draft.get_json()["id"],
        "proposal_version": draft.get_json()["version"],
        "line": LINE,
        "line_id": line["id"],
        "task_id": relocation.get_json()["id"],
        "feature_id": feature["id"],
        "place_id": place_id_of(bstore, YUEZHOU),  # a record a renaming may name
        "side_a": line["side_a_code"],
        "side_b": line["side_b_code"],
        "long_q": quote("天" * (MAX_QUERY_CHARS + 1)),
    }
    return senders, values


def send(client, method: str, path: str, body: str, headers: dict):
    """``body`` as typed (a JSON document, or empty for none)."""
    if body:
        headers = {**headers, "Content-Type": "application/json"}
    return client.open(path, method=method, data=body.encode() if body else None, headers=headers)


@pytest.mark.parametrize(
    COLUMNS + FIXED,
    cases("refusals_naming_the_field.csv", *COLUMNS, *FIXED),
    ids=[row[0] for row in cases("refusals_naming_the_field.csv", "what")],
)
def test_a_refusal_names_the_field_stores_nothing_and_the_fixed_retry_succeeds(
    bclient,
    bstore,
    scene,
    what,
    who,
    method,
    path,
    body,
    status,
    field,
    fixed_path,
    fixed_body,
    fixed_status,
):
    senders, values = scene
    fill = lambda text: Template(text).substitute(values)  # noqa: E731
    before = audit_size(bstore)
    refused = send(bclient, method, fill(path), fill(body), senders[who])
    error = (refused.get_json() or {}).get("error", {})
    assert refused.status_code == int(status), (what, refused.status_code, error)
    assert error["details"].get("field") == field, (what, error)
    assert CHINESE.search(error["message"]), error["message"]
    assert audit_size(bstore) == before, f"{what}: the refused request wrote something"
    again = send(bclient, method, fill(fixed_path or path), fill(fixed_body), senders[who])
    assert again.status_code == int(fixed_status), (what, again.get_json())


def test_a_staff_error_names_the_json_field_and_says_the_label(bclient, scene):
    senders, values = scene
    body = {"full_name": "", "organisation": "甲方民政局", "side_code": values["side_a"]}
    r = bclient.post(
        f"/api/boundaries/staff/{OFFICER.username}", json=body, headers=senders["officer"]
    )
    error = r.get_json()["error"]
    assert (r.status_code, error["details"]["field"]) == (400, "full_name")
    assert "姓名" in error["message"]


PNG = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32


def test_a_photo_upload_without_the_photo_or_of_another_type_names_photo(bclient, bstore, scene):
    senders, values = scene
    path = f"/api/boundaries/markers/{values['marker_id']}/photos"
    before = audit_size(bstore)
    for data in (
        {"caption": "界桩东面"},  # no photo part
        {"photo": (io.BytesIO(b"GIF89a not accepted"), "p.png"), "caption": "界桩东面"},
        {"file": (io.BytesIO(PNG), "p.png")},  # the picture under another name
    ):
        r = bclient.post(path, data=data, headers=senders["inspector"])
        error = r.get_json()["error"]
        assert r.status_code == 400 and error["details"]["field"] in ("photo", "file"), error
        assert CHINESE.search(error["message"])
    assert audit_size(bstore) == before
    # the second action: the picture as the photo part is stored
    r = bclient.post(path, data={"photo": (io.BytesIO(PNG), "p.png")}, headers=senders["inspector"])
    assert r.status_code == 201, r.get_json()


def test_a_photo_upload_with_a_part_twice_or_an_empty_record_id_names_it(bclient, bstore, scene):
    """Two ``photo`` parts are refused as two ``caption`` parts are (neither is stored,
    rather than the first kept and the second dropped without a word); an empty
    ``inspection_id`` is no UUID (the document says uuid), not "no record"."""
    senders, values = scene
    path = f"/api/boundaries/markers/{values['marker_id']}/photos"
    other_png = PNG + b"\x02"
    before = audit_size(bstore)
    for data, field in (
        ({"photo": [(io.BytesIO(PNG), "p2.png"), (io.BytesIO(b"host\n"), "hostname")]}, "photo"),
        ({"photo": [(io.BytesIO(PNG), "a.png"), (io.BytesIO(other_png), "b.png")]}, "photo"),
        ({"photo": (io.BytesIO(PNG), "p.png"), "caption": ["东面", "西面"]}, "caption"),
        ({"photo": (io.BytesIO(PNG), "p.png"), "inspection_id": ""}, "inspection_id"),
        ({"photo": (io.BytesIO(PNG), "p.png"), "inspection_id": "not-a-uuid"}, "inspection_id"),
    ):
        r = bclient.post(path, data=data, headers=senders["inspector"])
        error = r.get_json()["error"]
        assert r.status_code == 400 and error["details"]["field"] == field, error
        assert field in error["message"] and CHINESE.search(error["message"])
    assert audit_size(bstore) == before
    marker = bclient.get(
        f"/api/boundaries/markers/{values['marker_id']}", headers=senders["officer"]
    ).get_json()
    assert marker["history"]["photos"] == []
    # the second action: one photo part, no inspection_id, is stored
    r = bclient.post(path, data={"photo": (io.BytesIO(PNG), "p.png")}, headers=senders["inspector"])
    assert r.status_code == 201 and r.get_json()["inspection_id"] is None, r.get_json()


def test_the_login_form_refused_for_its_csrf_token_shows_why_and_lets_you_retry(client, store):
    """A browser posting the sign-in form without a valid token gets the form again with
    the reason in Chinese (not a bare 400), holding a fresh token with which signing in
    works; a program gets the JSON error naming ``csrf_token``."""
    ensure_user(store, "csrf_wang", "officer")
    form = {"username": "csrf_wang", "password": TEST_PASSWORD, "next": "/officer/"}
    page = client.post("/auth/login", data=form, headers={"Accept": "text/html"})
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and page.mimetype == "text/html"
    assert "安全令牌" in text and 'name="username"' in text and 'value="/officer/"' in text
    assert client.get("/auth/me").get_json()["username"] is None  # not signed in
    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
    signed_in = client.post("/auth/login", data={**form, "csrf_token": token})
    assert signed_in.status_code == 302 and signed_in.headers["Location"].endswith("/officer/")
    assert client.get("/auth/me").get_json()["username"] == "csrf_wang"
    as_json = client.post("/auth/logout", headers={"Accept": "application/json"})
    error = as_json.get_json()["error"]
    assert as_json.status_code == 400 and error["code"] == "csrf_failed"
    assert error["details"]["field"] == "csrf_token" and CHINESE.search(error["message"])


def test_a_create_answers_201_and_its_replay_200_everywhere(bclient, bstore, scene):
    """One rule for every create (docs/security.md): 201 for the record made now, 200 for
    a retry answered with the record made the first time — proposals, disputes, rounds and
    tasks under an Idempotency-Key as inspection records under their client id; the
    document says so."""
    senders, values = scene
    key = {"Idempotency-Key": str(uuid.uuid4())}
    creates = [
        ("/api/proposals", naming_json("云溪二路"), "clerk"),
        ("/api/boundaries/disputes", {"title": "水域界线", "line": LINE}, "officer"),
        ("/api/boundaries/tasks", {"marker_id": values["marker_id"], "kind": "repaint"}, "officer"),
        (
            "/api/boundaries/inspections",
            inspection_record(values["round_id"], "faded", marker_id=values["marker_id"]),
            "inspector",
        ),
    ]
    for path, body, who in creates:
        headers = {**senders[who], **key}
        first = bclient.post(path, json=body, headers=headers)
        again = bclient.post(path, json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 200), (path, again.get_json())
        assert again.get_json()["id"] == first.get_json()["id"]
    document = bclient.get("/api/openapi.json").get_json()
    for path in ("/api/proposals", "/api/boundaries/disputes", "/api/boundaries/tasks"):
        assert {"200", "201"} <= set(document["paths"][path]["post"]["responses"]), path


def test_a_relocation_to_a_swapped_or_missing_position_names_it_and_moves_nothing(bstore, scene):
    """The new position of a relocated marker passes the same check as every position: a
    swapped pair names ``new_lon``, a missing latitude ``new_lat``; the marker stays where
    it was and the task open, and the corrected position is taken."""
    from boundary_helpers import INSPECTOR_B, OFFICER_B

    from boundaries import markers as marker_service
    from boundaries import tasks as task_service
    from gazetteer.core.errors import InvalidInput

    _, values = scene
    task = task_service.create_task(
        bstore, {"marker_id": values["marker_id"], "kind": "relocate", "note": "改线"}, OFFICER
    )
    for officer, side in ((OFFICER, "side_a"), (OFFICER_B, "side_b")):
        task_service.approve_task(bstore, task["id"], values[side], officer)
    lon, lat = values["marker_lon"], values["marker_lat"]
    done = {"result": "已迁移", "witness_other_side": INSPECTOR_B.username}
    for position, field in (((lat, lon + 0.001), "new_lon"), ((lon + 0.001, None), "new_lat")):
        with pytest.raises(InvalidInput) as refused:
            task_service.update_task(
                bstore,
                task["id"],
                "done",
                OFFICER,
                **done,
                new_lon=position[0],
                new_lat=position[1],
            )
        assert refused.value.details["field"] == field
    assert task_service.get_task(bstore, task["id"])["status"] == "open"
    marker = marker_service.get_marker(bstore, values["marker_id"], with_history=False)
    assert (marker["lon"], marker["lat"]) == (lon, lat)
    moved = task_service.update_task(
        bstore, task["id"], "done", OFFICER, **done, new_lon=lon + 0.001, new_lat=lat
    )
    assert moved["status"] == "done"
    marker = marker_service.get_marker(bstore, values["marker_id"], with_history=False)
    assert marker["lon"] == pytest.approx(lon + 0.001)


def test_a_round_title_is_one_line_of_at_most_200_characters(bclient, bstore):
    line = next(
        x
        for x in bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
        if x["name"] == LINE
    )
    register_staff(bstore, line)
    senders = {"officer": token_headers(bstore, OFFICER.username, *OFFICER.roles)}
    plan = round_plan(line, round_no=5)
    before = audit_size(bstore)
    for title in ("第五轮\n联合检查", "长" * 201):
        r = bclient.post(
            "/api/boundaries/rounds", json={**plan, "title": title}, headers=senders["officer"]
        )
        assert (r.status_code, r.get_json()["error"]["details"]["field"]) == (400, "title")
    assert audit_size(bstore) == before
    r = bclient.post(
        "/api/boundaries/rounds",
        json={**plan, "title": "第五轮联合检查"},
        headers=senders["officer"],
    )
    assert r.status_code == 201 and r.get_json()["title"] == "第五轮联合检查"


def test_placing_a_record_names_the_coordinate_then_the_record(bclient, bstore, scene):
    """``POST /api/places/{place_id}/geometry``: a point outside Guangdong names ``lon``
    (or ``lat``), and with the point right an unknown record names ``place_id``."""
    senders, values = scene
    before = audit_size(bstore)
    for body, status, field in (
        ({"lon": 0, "lat": 0, "version": 1}, 400, "lon"),
        ({"lon": 113.3, "lat": 0, "version": 1}, 400, "lat"),
        ({"lon": 113.3, "lat": 23.1, "version": 1}, 404, "place_id"),
    ):
        r = bclient.post("/api/places/0/geometry", json=body, headers=senders["officer"])
        error = r.get_json()["error"]
        assert (r.status_code, error["details"].get("field")) == (status, field), error
        assert CHINESE.search(error["message"])
    assert audit_size(bstore) == before


def test_every_400_of_a_generic_walk_names_a_field(bclient, bstore, scene):
    """Every operation of the two API documents (/api/openapi.json and the OGC API's
    /ogc/api), asked as an officer with an unknown query parameter (GET) or an unknown
    body key (POST), path parameters filled with 1: whatever it answers, a 400 names
    ``details.field``."""
    senders, _ = scene
    unnamed, refused = [], {}
    for url, prefix in (("/api/openapi.json", ""), ("/ogc/api", "/ogc")):
        document = bclient.get(url).get_json(force=True)
        for template, operations in document["paths"].items():
            path = re.sub(r"\{[^}]+\}", "1", template)
            path = path if path.startswith(prefix) else prefix + path
            for method in ("get", "post"):
                if method not in operations:
                    continue
                if method == "get":
                    r = bclient.get(f"{path}?zz_unknown=1", headers=senders["officer"])
                else:
                    r = bclient.post(path, json={"zz_unknown": 1}, headers=senders["officer"])
                error = (r.get_json(silent=True) or {}).get("error") or {}
                refused[url] = refused.get(url, 0) + (r.status_code == 400)
                if r.status_code == 400 and not error.get("details", {}).get("field"):
                    unnamed.append((method, template, error))
    assert not unnamed, unnamed
    assert all(refused.values()) and len(refused) == 2, refused  # the walk reached both


def test_an_ogc_queryable_of_the_wrong_kind_says_what_it_should_be(client):
    """``named_date=2025-13-45`` is not a date (not "not a string"); ``id=01`` is not an
    id as docs/security.md writes them; neither names a record by another spelling."""
    items = "/ogc/collections/places/items"
    for query, field, said in (
        ("named_date=2025-13-45", "named_date", "日期"),
        ("id=01", "id", "不带前导零"),
        ("id=%EF%BC%91", "id", "ASCII"),
    ):
        r = client.get(f"{items}?{query}")
        error = r.get_json()["error"]
        assert (r.status_code, error["details"]["field"]) == (400, field), error
        assert said in error["message"] and "string" not in error["message"], error
    assert client.get(f"{items}?named_date=2020-05-01").status_code == 200
