"""What an API client sees at the door (issue 13, fresh-clone report tdoor2): every 400
names the field, coordinates are checked the same way everywhere, no answer is invalid
JSON, a body too large is a 413 however it is sent, ids beyond 64 bits are not found,
and a non-browser client gets JSON errors."""

from __future__ import annotations

import io
import json
import math

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, OFFICER, register_staff, round_plan
from helpers import naming_json, token_headers

from boundaries.tables import disputes

LINE = "韶惠线"


@pytest.fixture
def officer(bstore, bclient):
    lines = bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
    line = next(x for x in lines if x["name"] == LINE)
    register_staff(bstore, line)
    headers = token_headers(bstore, OFFICER.username, *OFFICER.roles)
    return {"headers": headers, "line": line}


def strict_json(response):
    """The body parsed the way a browser or any RFC 8259 parser does: NaN and Infinity
    are not JSON."""

    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(response.get_data(as_text=True), parse_constant=refuse)


def raw_post(client, path, text: str, headers: dict):
    """POST ``text`` as JSON exactly as typed (``Infinity``, ``NaN``, huge integers)."""
    return client.post(path, data=text, headers={**headers, "Content-Type": "application/json"})


# ---- item 1: dispute positions ------------------------------------------------------------


@pytest.mark.parametrize(
    "position, field",
    [
        ('"lon": Infinity, "lat": 23.9', "lon"),
        ('"lon": NaN, "lat": 23.9', "lon"),
        ('"lon": 114.2, "lat": -Infinity', "lat"),
        ('"lat": 23.9', "lon"),  # one without the other
        ('"lon": 114.2', "lat"),
        ('"lon": -500, "lat": -100', "lon"),
        ('"lon": 0, "lat": 0', "lon"),  # not in China: a 0 for a missing value
        ('"lon": 1e308, "lat": 23.9', "lon"),
        ('"lon": 23.9, "lat": 114.2', "lon"),  # lat, lon order: said so
    ],
)
def test_a_dispute_position_is_checked_like_every_other(bclient, bstore, officer, position, field):
    before = bclient.get("/api/boundaries/disputes", headers=officer["headers"]).get_json()
    body = f'{{"title": "林地权属", "line": "{LINE}", {position}}}'
    r = raw_post(bclient, "/api/boundaries/disputes", body, officer["headers"])
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["details"]["field"] == field
    # nothing was written, and the list still reads as JSON
    after = bclient.get("/api/boundaries/disputes", headers=officer["headers"])
    assert strict_json(after) == before


def test_a_good_dispute_position_is_kept_and_none_is_fine(bclient, officer):
    r = raw_post(
        bclient,
        "/api/boundaries/disputes",
        f'{{"title": "林地权属", "line": "{LINE}", "lon": 114.25, "lat": 23.95}}',
        officer["headers"],
    )
    assert r.status_code == 201, r.get_json()
    assert (r.get_json()["lon"], r.get_json()["lat"]) == (114.25, 23.95)
    r = raw_post(
        bclient,
        "/api/boundaries/disputes",
        f'{{"title": "水域", "line": "{LINE}", "lon": null, "lat": null}}',
        officer["headers"],
    )
    assert r.status_code == 201 and r.get_json()["lon"] is None


def test_a_stored_non_finite_position_never_reaches_a_client_as_invalid_json(
    bclient, bstore, officer
):
    """A row written before the check (or by hand) with Infinity: the list still answers
    valid JSON (null), and ``gdgis admin repair-text`` finds it."""
    from gazetteer.core.text_repair import find_invalid_text, repair_stored_text

    created = bclient.post(
        "/api/boundaries/disputes",
        json={"title": "旧记录", "line": LINE},
        headers=officer["headers"],
    ).get_json()
    with bstore.write(actor="test") as conn:
        conn.execute(
            disputes.update().where(disputes.c.id == created["id"]).values(lon=math.inf, lat=23.9)
        )
    r = bclient.get("/api/boundaries/disputes", headers=officer["headers"])
    assert r.status_code == 200
    assert "Infinity" not in r.get_data(as_text=True)
    listed = {d["id"]: d for d in strict_json(r)["disputes"]}
    assert listed[created["id"]]["lon"] is None
    found = [bad.line() for bad in find_invalid_text(bstore)]
    assert f"disputes[{created['id']}].lon: not_finite" in found
    repair_stored_text(bstore, actor="system:test")
    with bstore.read() as conn:
        row = conn.execute(sa.select(disputes).where(disputes.c.id == created["id"])).one()
    assert (row.lon, row.lat) == (None, None)  # a position is both or neither
    assert find_invalid_text(bstore) == []


def test_a_non_finite_number_anywhere_in_a_body_is_refused_naming_it(client, store):
    headers = token_headers(store, "door_clerk", "clerk")
    body = json.dumps(naming_json("云溪路")).replace('"reasons": "r"', '"reasons": NaN')
    r = raw_post(client, "/api/proposals", body, headers)
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "reasons"


# ---- item 11: dispute status --------------------------------------------------------------


def test_an_unknown_dispute_status_is_bad_input_a_known_unreachable_one_a_conflict(
    bclient, officer
):
    created = bclient.post(
        "/api/boundaries/disputes", json={"title": "矿权", "line": LINE}, headers=officer["headers"]
    ).get_json()
    path = f"/api/boundaries/disputes/{created['id']}"
    r = bclient.post(path, json={"status": "bogus"}, headers=officer["headers"])
    assert r.status_code == 400
    assert r.get_json()["error"]["details"]["field"] == "status"
    r = bclient.post(path, json={"status": "open"}, headers=officer["headers"])  # already open
    assert r.status_code == 409
    r = bclient.post(path, json={"status": "monitoring"}, headers=officer["headers"])
    assert r.status_code == 200 and r.get_json()["status"] == "monitoring"


def test_an_unknown_task_status_is_bad_input_naming_status(bclient, officer):
    """As for disputes (a user test found 409 illegal_transition for "bogus")."""
    marker = bclient.get("/api/boundaries/markers").get_json()["features"][0]
    created = bclient.post(
        "/api/boundaries/tasks",
        json={"marker_id": marker["id"], "kind": "repaint", "note": "字迹模糊"},
        headers=officer["headers"],
    )
    assert created.status_code == 201, created.get_json()
    path = f"/api/boundaries/tasks/{created.get_json()['id']}"
    r = bclient.post(path, json={"status": "bogus"}, headers=officer["headers"])
    assert r.status_code == 400 and r.get_json()["error"]["details"]["field"] == "status"
    r = bclient.post(path, json={"status": "in_progress"}, headers=officer["headers"])
    assert r.status_code == 200 and r.get_json()["status"] == "in_progress"


def test_ids_in_paths_are_ascii_digits_only(bclient, officer):
    """١ (Arabic-Indic one) or ２ (full-width two) named record 1 or 2 through Python's
    Unicode digits; they name no record."""
    created = bclient.post(
        "/api/boundaries/disputes",
        json={"title": "界桩旁采砂", "line": LINE},
        headers=officer["headers"],
    ).get_json()
    for zero in ("\u0660", "\uff10", "\u0966"):  # Arabic-Indic, full-width, Devanagari 0
        odd = "".join(chr(ord(zero) + int(d)) for d in str(created["id"]))
        r = bclient.post(
            f"/api/boundaries/disputes/{odd}",
            json={"status": "monitoring"},
            headers=officer["headers"],
        )
        assert r.status_code == 404, (odd, r.status_code)
    listed = bclient.get("/api/boundaries/disputes", headers=officer["headers"]).get_json()
    stored = next(d for d in listed["disputes"] if d["id"] == created["id"])
    assert stored["status"] == "open"  # nothing changed through the odd digits
    assert bclient.get("/api/places/\uff12").status_code == 404


# ---- item 5: a body too large, however it is sent -------------------------------------------


def post_chunked(client, body: bytes, headers: dict):
    """POST ``body`` without Content-Length, as a server that de-chunks hands it over."""
    return client.post(
        "/api/proposals",
        input_stream=io.BytesIO(body),
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )


def test_an_oversize_chunked_body_is_413_like_one_with_a_length(app, store):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    client = app.test_client()
    headers = {**token_headers(store, "door_big", "clerk"), "Content-Type": "application/json"}
    body = json.dumps(naming_json("云溪路", reasons="长" * 100_000)).encode()
    with_length = client.post("/api/proposals", data=body, headers=headers)
    assert with_length.status_code == 413
    chunked = post_chunked(client, body, headers)
    assert chunked.status_code == 413, chunked.get_json()
    assert chunked.get_json()["error"]["code"] == with_length.get_json()["error"]["code"]
    # the second action: a small chunked body is read whole and accepted
    again = post_chunked(client, json.dumps(naming_json("云溪路")).encode(), headers)
    assert again.status_code == 201, again.get_json()


# ---- item 7: ids beyond 64 bits -----------------------------------------------------------


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/proposals/99999999999999999999999"),
        ("GET", "/api/places/99999999999999999999999"),
        ("POST", "/api/boundaries/markers/99999999999999999999999/photos"),
        ("POST", "/api/proposals/99999999999999999999999/actions/submit"),
        # beyond PostgreSQL's integer ids (2**31 - 1), within SQLite's: the query on
        # PostgreSQL would fail as out of range (found by the positive-acceptance fuzz)
        ("POST", "/api/places/6075455852/protection"),
        ("GET", "/api/places/2147483648"),
    ],
)
def test_an_id_beyond_64_bits_is_not_found_and_not_echoed_as_minus_one(
    bclient, officer, method, path
):
    r = bclient.open(path, method=method, headers=officer["headers"])
    assert r.status_code == 404
    error = r.get_json()["error"]
    assert "-1" not in error["message"] and "-1" not in json.dumps(error["details"])
    assert error["details"]["field"]


# ---- item 8: JSON errors for API clients --------------------------------------------------


def test_a_bearer_client_gets_json_errors_outside_the_api(client):
    r = client.get("/auth/me", headers={"Authorization": "Bearer bogus"})
    assert r.status_code == 401 and r.mimetype == "application/json"
    assert r.get_json()["error"]["code"]
    r = client.get("/no-such-page", headers={"Authorization": "Bearer bogus"})
    assert r.status_code == 404 and r.mimetype == "application/json"
    # a browser still gets the page
    r = client.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml,*/*"})
    assert r.status_code == 404 and r.mimetype == "text/html"


# ---- item 6: every 400 names the field ----------------------------------------------------


def _bad_inputs(line: dict) -> list[tuple[str, str, str, object, str, str]]:
    """(what, method, path, body, who sends it, the field the 400 must name) for each kind
    of bad input the report found. A body given as text is sent as typed."""
    plan = round_plan(line)
    swapped = {"type": "Point", "coordinates": [23.1, 113.3]}
    circle = {"type": "Circle", "coordinates": [113.3, 23.1]}
    uuid_less = {"id": "not-a-uuid", "round_id": 1, "marker": "X", "found_state": "intact"}
    return [
        (
            "NUL in a body",
            "POST",
            "/api/proposals",
            naming_json("云", applicant="a\0b"),
            "clerk",
            "applicant",
        ),
        (
            "integer beyond 64 bits",
            "POST",
            "/api/proposals",
            json.dumps({**naming_json("云"), "place_id": 2**64}),
            "clerk",
            "place_id",
        ),
        (
            "version beyond 64 bits",
            "POST",
            "/api/proposals/1/actions/submit",
            json.dumps({"version": 2**70}),
            "clerk",
            "version",
        ),
        (
            "location lat/lon swapped",
            "POST",
            "/api/proposals",
            naming_json("云", location=swapped),
            "clerk",
            "location",
        ),
        (
            "location not a geometry",
            "POST",
            "/api/proposals",
            naming_json("云", location=circle),
            "clerk",
            "location",
        ),
        (
            "planned_start not a date",
            "POST",
            "/api/boundaries/rounds",
            {**plan, "planned_start": "2024-13-01"},
            "officer",
            "planned_start",
        ),
        (
            "round ends before it starts",
            "POST",
            "/api/boundaries/rounds",
            {**plan, "planned_end": "2024-01-01"},
            "officer",
            "planned_end",
        ),
        (
            "round_no 0",
            "POST",
            "/api/boundaries/rounds",
            {**plan, "round_no": 0},
            "officer",
            "round_no",
        ),
        (
            "dispute category unknown",
            "POST",
            "/api/boundaries/disputes",
            {"title": "x", "line": LINE, "category": "bogus"},
            "officer",
            "category",
        ),
        (
            "dispute title empty",
            "POST",
            "/api/boundaries/disputes",
            {"title": "  ", "line": LINE},
            "officer",
            "title",
        ),
        (
            "search limit overflow",
            "GET",
            "/api/search?q=x&limit=99999999999999999999",
            None,
            "anonymous",
            "limit",
        ),
        (
            "search offset overflow",
            "GET",
            "/api/search?q=x&offset=99999999999999999999",
            None,
            "anonymous",
            "offset",
        ),
        (
            "search limit not a number",
            "GET",
            "/api/search?q=x&limit=ten",
            None,
            "anonymous",
            "limit",
        ),
        (
            "search bbox of 3 numbers",
            "GET",
            "/api/search?q=x&bbox=1,2,3",
            None,
            "anonymous",
            "bbox",
        ),
        (
            "search bbox out of range",
            "GET",
            "/api/search?q=x&bbox=200,2,300,4",
            None,
            "anonymous",
            "bbox",
        ),
        ("reverse lon=nan", "GET", "/api/reverse?lon=nan&lat=23.1", None, "anonymous", "lon"),
        ("reverse lat empty", "GET", "/api/reverse?lon=113.3&lat=", None, "anonymous", "lat"),
        (
            "inspection id not a UUID",
            "POST",
            "/api/boundaries/inspections",
            uuid_less,
            "inspector",
            "id",
        ),
    ]


def test_every_bad_input_answer_names_the_field(bclient, bstore, officer):
    senders = {
        "anonymous": {},
        "clerk": token_headers(bstore, "door_clerk", "clerk"),
        "officer": officer["headers"],
        "inspector": token_headers(bstore, INSPECTOR_A.username, *INSPECTOR_A.roles),
    }
    wrong = []
    for what, method, path, body, who, field in _bad_inputs(officer["line"]):
        if isinstance(body, str):
            response = raw_post(bclient, path, body, senders[who])
        else:
            response = bclient.open(path, method=method, json=body, headers=senders[who])
        answer = response.get_json() or {}
        got = answer.get("error", {}).get("details", {}).get("field")
        if response.status_code != 400 or got != field:
            wrong.append(f"{what}: {response.status_code} field={got!r} {answer}")
    assert not wrong, "\n".join(wrong)


# ---- item 4: the document declares what the app enforces -----------------------------------


def _param(document: dict, path: str, name: str, method: str = "get") -> dict:
    params = document["paths"][path][method].get("parameters", [])
    return next(p["schema"] for p in params if p["name"] == name)


@pytest.mark.parametrize(
    "query, field, path, declared",
    [
        ("/api/proposals?limit=-1", "limit", "/api/proposals", {"minimum": 1, "maximum": 500}),
        ("/api/places?limit=6773606", "limit", "/api/places", {"minimum": 1, "maximum": 500}),
        ("/api/places?offset=-3", "offset", "/api/places", {"minimum": 0}),
        ("/api/places/statistics?year=0", "year", "/api/places/statistics", {"minimum": 1949}),
        ("/api/boundaries/lines?kind=", "kind", "/api/boundaries/lines", {"enum": None}),
        ("/api/boundaries/tri-junctions?kind=x", "kind", "/api/boundaries/tri-junctions", {}),
        ("/api/places?as_of=", "as_of", "/api/places", {"format": "date"}),
        ("/api/places?as_of=2024-02-30", "as_of", "/api/places", {"format": "date"}),
        ("/api/places/1?geometry=bogus", "geometry", "/api/places/{place_id}", {"enum": None}),
        ("/api/proposals/due?all=null", "all", "/api/proposals/due", {"enum": None}),
        ("/api/proposals?kind=", "kind", "/api/proposals", {"enum": None}),
    ],
)
def test_what_a_query_may_hold_is_what_the_document_says(
    bclient, officer, query, field, path, declared
):
    document = bclient.get("/api/openapi.json").get_json()
    schema = _param(document, path, field)
    for key, value in declared.items():
        assert key in schema and (value is None or schema[key] == value), (field, schema)
    r = bclient.get(query, headers=officer["headers"])
    assert r.status_code == 400, (query, r.get_json())
    assert r.get_json()["error"]["details"]["field"] == field
    # the second action: the documented values are accepted
    good = {"limit": "20", "offset": "0", "year": "2020", "kind": None, "as_of": "2024-02-29"}
    good |= {"geometry": "0", "all": "1"}
    value = good[field] or schema["enum"][0]
    fixed = bclient.get(path.replace("{place_id}", "1"), query_string={field: value},
                        headers=officer["headers"])  # fmt: skip
    assert fixed.status_code in (200, 404), (path, field, value, fixed.get_json())


def test_options_lists_only_the_documented_methods(bclient):
    document = bclient.get("/api/openapi.json").get_json()
    for path in ("/api/boundaries/markers/import", "/api/boundaries/markers/export"):
        allowed = bclient.options(path).headers["Allow"]
        methods = {m.strip().lower() for m in allowed.split(",")} - {"options", "head"}
        assert methods == set(document["paths"][path]), (path, allowed)
    assert bclient.get("/api/boundaries/markers/import").status_code == 405


def test_a_marker_file_is_read_as_its_content_type_says(bclient, officer):
    exported = bclient.get("/api/boundaries/markers/export?format=csv", headers=officer["headers"])
    assert exported.status_code == 200
    r = bclient.post(
        "/api/boundaries/markers/import",
        data=exported.data,
        headers={**officer["headers"], "Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.get_json()
    # the second action: ?format= still wins over the Content-Type
    r = bclient.post(
        "/api/boundaries/markers/import?format=csv",
        data=exported.data,
        headers={**officer["headers"], "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 200, r.get_json()
    r = bclient.post(
        "/api/boundaries/markers/import",
        data=b"\x00\x01not a geopackage",
        headers={**officer["headers"], "Content-Type": "application/geopackage+sqlite3"},
    )
    assert r.status_code == 400 and "GeoJSON" not in r.get_json()["error"]["message"]


def test_a_path_no_route_has_is_said_with_the_path(client):
    """A word where an id goes (/api/places/abc) or a mistyped path: the 404 says which
    path the service does not have and what an id looks like, in the page too (a user test
    read a bare 未找到); then the right path answers."""
    r = client.get("/api/places/abc")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "http_404"
    assert r.get_json()["error"]["message"] == (
        "未找到：本服务没有地址 /api/places/abc（请核对网址；记录编号为数字）"
    )
    page = client.get("/plaec/1", headers={"Accept": "text/html"})
    assert page.status_code == 404 and "本服务没有地址 /plaec/1" in page.get_data(as_text=True)
    injected = client.get("/<script>x</script>", headers={"Accept": "text/html"})
    assert "<script>x" not in injected.get_data(as_text=True)  # escaped, as all output
    # a record that does not exist under a real path is the record's own 404
    r = client.get("/api/places/999999")
    assert r.get_json()["error"]["message"] == "没有编号为 999999 的地名记录"
    assert client.get("/api/places/1").status_code == 200
