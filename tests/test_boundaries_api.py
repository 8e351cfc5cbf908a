"""The boundaries JSON API and pages through the Flask test client."""

from __future__ import annotations

import json
import uuid

from boundary_helpers import INSPECTOR_A, INSPECTOR_B, OFFICER, register_staff, round_plan
from helpers import login

from boundaries.vocabulary import FOUND_STATES


def sign_in(client, actor):
    login(client, actor.username, *sorted(actor.roles))


def test_lines_report_computed_and_official_lengths(bclient):
    body = bclient.get("/api/boundaries/lines?kind=provincial").get_json()
    yue_gui = next(line for line in body["lines"] if line["name"] == "粤桂线")
    assert yue_gui["official_length_km"] == 1075.0 and 825 < yue_gui["length_km"] < 840
    assert "概化" in body["length_note"]
    error = bclient.get("/api/boundaries/lines?kind=township")
    assert error.status_code == 400 and error.get_json()["error"]["code"] == "invalid_input"


def test_markers_geojson_is_labelled_demonstration(bclient):
    body = bclient.get("/api/boundaries/markers").get_json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 186
    assert body["label"] == "演示数据"
    detail = bclient.get("/api/boundaries/markers/粤桂001C").get_json()
    assert detail["properties"]["label"] == "演示数据" and "history" not in detail  # field data
    sign_in(bclient, INSPECTOR_A)
    detail = bclient.get("/api/boundaries/markers/粤桂001C").get_json()
    assert detail["history"]["inspections"] == []
    assert bclient.get("/api/boundaries/markers/粤桂999Q").status_code == 404


def test_writes_need_the_right_role(bclient):
    assert bclient.post("/api/boundaries/rounds", json={}).status_code == 401
    sign_in(bclient, INSPECTOR_A)
    line = {"name": "韶惠线", "side_a_code": "440200", "side_b_code": "441300"}
    response = bclient.post("/api/boundaries/rounds", json=round_plan(line))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "forbidden"


def test_round_from_plan_to_report(bclient):
    lines = bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
    line = next(item for item in lines if item["name"] == "韶惠线")
    register_staff(bclient.application.extensions["gdgis.store"], line)
    sign_in(bclient, OFFICER)
    response = bclient.post("/api/boundaries/rounds", json=round_plan(line))
    assert response.status_code == 201
    round_id = response.get_json()["id"]
    assert (
        bclient.post(f"/api/boundaries/rounds/{round_id}/start").get_json()["status"]
        == "in_progress"
    )

    markers = bclient.get(f"/api/boundaries/markers?line_id={line['id']}").get_json()["features"]
    sign_in(bclient, INSPECTOR_A)
    record = {
        "id": str(uuid.uuid4()),
        "round_id": round_id,
        "marker": markers[0]["properties"]["number"],
        "found_state": "faded",
        "notes": "注记模糊",
    }
    first = bclient.post("/api/boundaries/inspections", json=record)
    again = bclient.post("/api/boundaries/inspections", json=record)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json() == first.get_json()
    bad = bclient.post("/api/boundaries/inspections", json={**record, "id": "not-a-uuid"})
    assert bad.status_code == 400 and "UUID" in bad.get_json()["error"]["message"]

    signed = bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": line["side_a_code"]}
    )
    assert signed.status_code == 200
    sign_in(bclient, INSPECTOR_B)
    bclient.post(
        f"/api/boundaries/inspections/{record['id']}/sign", json={"side_code": line["side_b_code"]}
    )

    report = bclient.get(f"/api/boundaries/rounds/{round_id}/report").get_json()
    assert report["lines"][0]["markers_inspected"] == 1 and report["lines"][0]["tasks_opened"] == 1
    assert report["lines"][0]["signed_by_both"] == 1 and report["demonstration"] is False
    assert report["demonstration_markers"] is True

    page = bclient.get(f"/boundaries/rounds/{round_id}/report")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "演示数据" in html and "@media print" not in html
    assert (
        "boundaries.css" in html
        and "/static/vendor/leaflet/leaflet.js" in html
        and "cdn." not in html
    )
    gpkg = bclient.get(f"/api/boundaries/rounds/{round_id}/export.gpkg")
    assert gpkg.status_code == 200 and gpkg.data.startswith(b"SQLite format 3")


def test_inspection_import_is_exactly_once_and_all_or_nothing(bclient):
    lines = bclient.get("/api/boundaries/lines?kind=city").get_json()["lines"]
    line = next(item for item in lines if item["name"] == "深惠线")
    register_staff(bclient.application.extensions["gdgis.store"], line)
    sign_in(bclient, OFFICER)
    round_id = bclient.post("/api/boundaries/rounds", json=round_plan(line)).get_json()["id"]
    bclient.post(f"/api/boundaries/rounds/{round_id}/start")
    numbers = [
        f["properties"]["number"]
        for f in bclient.get(f"/api/boundaries/markers?line_id={line['id']}").get_json()["features"]
    ]
    rows = [
        {"id": str(uuid.uuid4()), "round_id": round_id, "marker": n, "found_state": "intact"}
        for n in numbers[:3]
    ]
    header = "id,round_id,marker,found_state\n"
    csv_good = header + "".join(
        f"{r['id']},{r['round_id']},{r['marker']},{r['found_state']}\n" for r in rows
    )
    csv_bad = csv_good + f"{uuid.uuid4()},{round_id},{numbers[3]},exploded\n"
    broken = (csv_good + f"{uuid.uuid4()},{round_id}.5x,{numbers[3]},intact\n").encode()
    refused = bclient.post("/api/boundaries/inspections/import?format=csv", data=broken)
    assert refused.status_code == 403  # the officer is no inspector: refused before reading
    sign_in(bclient, INSPECTOR_A)
    unreadable = bclient.post("/api/boundaries/inspections/import?format=csv", data=broken)
    assert unreadable.status_code == 400
    assert "第 4 条记录的 round_id 应为整数" in unreadable.get_json()["error"]["message"]
    bad = bclient.post(
        "/api/boundaries/inspections/import?format=csv", data=csv_bad.encode("utf-8-sig")
    )
    assert bad.status_code == 400 and "第 4 条记录" in bad.get_json()["error"]["message"]
    assert (
        bclient.get(f"/api/boundaries/inspections?round_id={round_id}").get_json()["inspections"]
        == []
    )
    ok = bclient.post(
        "/api/boundaries/inspections/import?format=csv", data=csv_good.encode("utf-8-sig")
    )
    assert ok.get_json() == {"created": 3, "existing": 0}
    again = bclient.post(
        "/api/boundaries/inspections/import?format=csv", data=csv_good.encode("utf-8-sig")
    )
    assert again.get_json() == {"created": 0, "existing": 3}


def test_exports_and_pages(bclient):
    for fmt, start in (("geojson", b"{"), ("csv", b"\xef\xbb\xbf"), ("gpkg", b"SQLite format 3")):
        response = bclient.get(f"/api/boundaries/markers/export?format={fmt}")
        assert response.status_code == 200 and response.data.startswith(start)
    assert json.loads(bclient.get("/api/boundaries/markers/export?format=geojson").data)["features"]
    assert bclient.get("/api/boundaries/markers/export?format=shp").status_code == 400
    lines_page = bclient.get("/boundaries/").get_data(as_text=True)
    assert (
        "粤桂线" in lines_page
        and "1,075" in lines_page
        and "概化" in lines_page
        and "湘粤桂三交点" in lines_page
    )
    markers_page = bclient.get("/boundaries/markers").get_data(as_text=True)
    assert "演示数据" in markers_page and "粤桂001C" in markers_page


def test_photo_upload_rejects_non_images(bclient):
    from io import BytesIO

    sign_in(bclient, INSPECTOR_A)
    marker_id = bclient.get("/api/boundaries/markers/粤桂002Q").get_json()["id"]
    bad = bclient.post(
        f"/api/boundaries/markers/{marker_id}/photos",
        data={"photo": (BytesIO(b"#!/bin/sh\n"), "../../evil.jpg")},
    )
    assert bad.status_code == 400
    png = b"\x89PNG\r\n\x1a\n" + b"\x01" * 32
    good = bclient.post(
        f"/api/boundaries/markers/{marker_id}/photos", data={"photo": (BytesIO(png), "../x.png")}
    )
    assert good.status_code == 201 and ".." not in good.get_json()["file_name"]
    # The same picture again: with the same (no) caption a retry, the same photo (200),
    # never a second record; with a caption a different request, refused (409) with the
    # stored photo and nothing changed, as a resent inspection record with other content is.
    url = f"/api/boundaries/markers/{marker_id}/photos"
    for caption in ("", "  "):
        again = bclient.post(url, data={"photo": (BytesIO(png), "same.png"), "caption": caption})
        assert again.status_code == 200, again.get_json()
        assert again.get_json() == good.get_json()
    clash = bclient.post(url, data={"photo": (BytesIO(png), "same.png"), "caption": "东侧近景"})
    assert clash.status_code == 409, clash.get_json()
    details = clash.get_json()["error"]["details"]
    assert details["fields"] == ["caption"] and details["stored"]["caption"] is None
    assert details["stored"]["id"] == good.get_json()["id"]
    photos = bclient.get(f"/api/boundaries/markers/{marker_id}").get_json()["history"]["photos"]
    assert [p["caption"] for p in photos if p["sha256"] == good.get_json()["sha256"]] == [None]
    # A picture stored with a caption: resent with it, a retry; without it, a clash.
    captioned = b"\x89PNG\r\n\x1a\n" + b"\x02" * 32
    first = bclient.post(url, data={"photo": (BytesIO(captioned), "c.png"), "caption": "东侧近景"})
    retry = bclient.post(url, data={"photo": (BytesIO(captioned), "c.png"), "caption": "东侧近景"})
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.get_json() == first.get_json()
    bare = bclient.post(url, data={"photo": (BytesIO(captioned), "c.png")})
    assert bare.status_code == 409
    assert bare.get_json()["error"]["details"]["stored"]["caption"] == "东侧近景"
    fetched = bclient.get(f"/api/boundaries/photos/{good.get_json()['sha256']}")
    try:
        assert (
            fetched.status_code == 200 and fetched.data == png and fetched.mimetype == "image/png"
        )
    finally:
        fetched.close()  # send_file streams from the file: close it (Werkzeug test-client contract)


def test_found_states_at_the_door_and_in_the_document_come_from_the_vocabulary(bclient):
    schemas = bclient.get("/api/openapi.json").get_json()["components"]["schemas"]
    for name in ("InspectionNew", "InspectionAmendment", "Inspection"):
        assert schemas[name]["properties"]["found_state"]["enum"] == list(FOUND_STATES), name
    assessed = schemas["Inspection"]["properties"]["assessed_state"]
    assert [s for s in assessed["enum"] if s] == list(FOUND_STATES) and assessed["nullable"]
    sign_in(bclient, INSPECTOR_A)
    record = {"id": str(uuid.uuid4()), "round_id": 1, "marker": "粤桂001C"}
    for state in ("retired", "vanished", "", 3):  # set only by a retirement; unknown; odd
        refused = bclient.post("/api/boundaries/inspections", json={**record, "found_state": state})
        error = refused.get_json()["error"]
        assert refused.status_code == 400 and error["details"]["field"] == "found_state", state
    assert bclient.get("/api/boundaries/inspections").get_json()["inspections"] == []
