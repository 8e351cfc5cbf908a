"""Bad input gets a clear 4xx and changes nothing: GeoJSON, bodies, text, names, uploads."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from helpers import login
from shapely.geometry import Point

from gazetteer.core.account_tables import audit_log
from gazetteer.core.errors import InvalidInput, PayloadTooLarge
from gazetteer.core.geojson_input import parse_geometry
from gazetteer.tables import places

TIANHE = "440106"
SQUARE = [[113.30, 23.10], [113.31, 23.10], [113.31, 23.11], [113.30, 23.11], [113.30, 23.10]]
BOWTIE = [[113.30, 23.10], [113.31, 23.11], [113.31, 23.10], [113.30, 23.11], [113.30, 23.10]]


def audit_size(store) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(audit_log)).scalar()


def proposal_body(name="云溪路", location=None) -> dict:
    body = {
        "kind": "naming",
        "applicant": "天河区住房和城乡建设局",
        "reasons": "新建道路",
        "proposed": {"name": name, "feature_class": "交通运输设施", "division_code": TIANHE},
    }
    if location is not None:
        body["location"] = location
    return body


# ---- the shared GeoJSON check ------------------------------------------------------------


@pytest.mark.parametrize(
    "value, message",
    [
        ({"type": "Polygon", "coordinates": [BOWTIE]}, "Self-intersection"),
        ({"type": "Point", "coordinates": [23.13, 113.26]}, "颠倒"),
        ({"type": "Point", "coordinates": [213.26, 23.13]}, "超出经纬度范围"),
        ({"type": "Point", "coordinates": [-3.7, 40.4]}, "不在中国范围内"),
        ({"type": "Point", "coordinates": [113.26]}, "[经度, 纬度]"),
        ({"type": "Point", "coordinates": ["113.26", "23.13"]}, "[经度, 纬度]"),
        ({"type": "Point", "coordinates": [True, 23.13]}, "[经度, 纬度]"),
        ({"type": "Point", "coordinates": [float("nan"), 23.13]}, "NaN"),
        ({"type": "Polygon", "coordinates": [SQUARE[:-1]]}, "未闭合"),
        ({"type": "Polygon", "coordinates": [SQUARE[:3]]}, "至少需要 4 个"),
        ({"type": "LineString", "coordinates": [[113.3, 23.1]]}, "至少需要 2 个"),
        ({"type": "Circle", "coordinates": [113.3, 23.1], "radius": 5}, "类型应为"),
        ({"type": "GeometryCollection", "geometries": []}, "类型应为"),
        (
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [113.3, 23.1]}},
            "Feature",
        ),
        ({"type": "Point"}, "缺少坐标"),
        ({"type": "MultiPolygon", "coordinates": [[[[113.3, 23.1]]]]}, "至少需要 4 个"),
        ("{not json", "JSON 无法解析"),
        (b"\xff\xfe\x00", "UTF-8"),
        ([1, 2], "GeoJSON 几何对象"),
        (Point(23.13, 113.26), "颠倒"),
    ],
)
def test_bad_geometries_are_refused_with_the_reason(value, message):
    with pytest.raises(InvalidInput) as info:
        parse_geometry(value)
    assert message in info.value.message


def test_good_geometries_pass_and_the_vertex_cap_holds():
    assert parse_geometry({"type": "Polygon", "coordinates": [SQUARE]}).area > 0
    assert parse_geometry(json.dumps({"type": "Point", "coordinates": [113.26, 23.13, 12.5]})).has_z
    assert parse_geometry(Point(113.26, 23.13)).x == 113.26
    line = {"type": "LineString", "coordinates": [[113.0 + i * 1e-4, 23.0] for i in range(1001)]}
    with pytest.raises(PayloadTooLarge):
        parse_geometry(line, max_vertices=1000)
    assert len(parse_geometry(line, max_vertices=1001).coords) == 1001


@pytest.mark.parametrize(
    "location",
    [
        {"type": "Polygon", "coordinates": [BOWTIE]},
        {"type": "Point", "coordinates": [23.13, 113.26]},
        {"type": "Point", "coordinates": [113.26, 95.0]},
        "POINT (113.26 23.13)",
        {"type": "Point", "coordinates": [[[[[[113.26]]]]]]},
    ],
)
def test_a_proposal_with_a_bad_location_is_400_and_writes_nothing(client, store, location):
    login(client, "li", "clerk")
    before = audit_size(store)
    r = client.post("/api/proposals", json=proposal_body(location=location))
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "invalid_input"
    assert r.get_json()["error"]["message"]
    assert audit_size(store) == before


# ---- bodies ---------------------------------------------------------------------------------


def test_malformed_non_utf8_deep_and_huge_bodies(store, tmp_path):
    from webmap import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "MAX_UPLOAD_MB": 1}, store=store
    )
    client = app.test_client()
    login(client, "li", "clerk")
    before = audit_size(store)
    cases = [
        (b'{"kind": "naming", ', "application/json", 400),
        (json.dumps(proposal_body(), ensure_ascii=False).encode("gbk"), "application/json", 400),
        ("云溪路".encode("gb18030"), "application/x-www-form-urlencoded", 400),
        (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
        (b'{"a": "' + b"x" * (1024 * 1024 + 10) + b'"}', "application/json", 413),
        (b"NaN", "application/json", 400),
    ]
    for data, content_type, status in cases:
        r = client.post("/api/proposals", data=data, content_type=content_type)
        assert r.status_code == status, (data[:40], r.get_json())
        assert r.get_json()["error"]["message"]
    assert (
        client.post("/api/proposals", data=b"\xff\xfe", content_type="text/plain").status_code
        == 400
    )
    assert audit_size(store) == before


def test_strange_query_strings_never_fail(client):
    for query in (
        "q=%FF%FE",
        "q=%00",
        "q=' OR 1=1 --",
        "q=" + "长" * 5000,
        "as_of=9999-99-99",
        "limit=-1",
        "limit=99999999999999999999",
        "q=%E9%95%BF%E4%B9%90a%D0%A1",
    ):
        r = client.get(f"/api/places?{query}")
        assert r.status_code < 500, query
    assert client.get("/api/divisions/%27%3B%20DROP%20TABLE%20divisions%3B--").status_code in (
        400,
        404,
    )
    assert client.get("/api/divisions/440000").status_code == 200


# ---- names: injection, markup, mixed scripts --------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "长乐路'); DROP TABLE places; --",
        "<script>alert(1)</script>路",
        '"><img src=x onerror=alert(1)>路',
        '=HYPERLINK("http://evil")路',
        "长乐Road",
        "Сhangle路",  # Cyrillic С
        "长乐路\u202e",  # right-to-left override
        "长" * 500,
    ],
)
def test_hostile_names_are_kept_as_text_or_refused(client, store, name):
    login(client, "li", "clerk")
    with store.read() as conn:
        place_count = conn.execute(sa.select(sa.func.count()).select_from(places)).scalar()
    r = client.post("/api/proposals", json=proposal_body(name=name))
    assert r.status_code in (201, 400, 422), r.get_json()
    if r.status_code == 201:
        pid = r.get_json()["id"]
        assert r.get_json()["proposed"]["name"] == name.strip()  # stored literally, never executed
        page = client.get(f"/officer/proposals/{pid}").get_data(as_text=True)
        assert "<script>alert" not in page and "<img src=x" not in page
    with store.read() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(places)).scalar() == place_count


def test_markup_in_a_place_name_is_escaped_in_pages_and_neutralised_in_csv(client, store, tmp_path):
    evil = "<img src=x onerror=alert(1)>=1+1"
    with store.write(
        actor="test:setup"
    ) as conn:  # a hostile name that got in through an old import
        pid = conn.execute(
            sa.select(places.c.id).where(places.c.source_key == f"nbs:{TIANHE}")
        ).scalar_one()
        conn.execute(places.update().where(places.c.id == pid).values(name=evil))
    login(client, "wang", "officer")
    for url in (f"/officer/places/{pid}", f"/ogc/collections/places/items/{pid}?f=html"):
        page = client.get(url)
        assert page.status_code == 200, url
        text = page.get_data(as_text=True)
        assert "<img src=x" not in text and "&lt;img src=x onerror=alert(1)&gt;" in text, url
    item = client.get(f"/ogc/collections/places/items/{pid}?f=json").get_json()
    assert item["properties"]["name"] == evil  # JSON carries the text as it is
    from click.testing import CliRunner

    from webmap.cli import main

    out = tmp_path / "places.csv"
    r = CliRunner().invoke(
        main, ["--database-url", store.url, "export", "places", "-f", "csv", "-o", str(out)]
    )
    assert r.exit_code == 0, r.output
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    cells = [c for row in rows for c in row if "onerror" in c]
    assert cells and all(not c.startswith(("=", "+", "-", "@")) for c in cells)


def test_formula_cells_are_neutralised_in_marker_csv_exports(bclient):
    """A valid marker record (on 粤桂线, with its line's prefix) whose text is a spreadsheet
    formula: the import accepts it as text, the CSV export neutralises it with a leading
    apostrophe, and importing that export gives the original text back."""
    login(bclient, "wang", "officer")
    formula = "=cmd|' /C calc'!A0"
    data = (
        "number,line,type,lon,lat,location_desc_a\n"
        f'粤桂900Q,粤桂线,single,110.0,21.5,"{formula.replace(chr(34), chr(34) * 2)}"\n'
    )
    r = bclient.post("/api/boundaries/markers/import?format=csv", data=data.encode("utf-8"))
    assert r.status_code == 200 and r.get_json()["inserted"] == 1, r.get_json()
    assert (
        bclient.get("/api/boundaries/markers/粤桂900Q").get_json()["properties"]["location_desc_a"]
        == formula
    )
    response = bclient.get("/api/boundaries/markers/export?format=csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # not twice
    exported = response.get_data()
    rows = list(csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))))
    row = next(r for r in rows if r["number"] == "粤桂900Q")
    assert row["location_desc_a"] == "'" + formula
    cells = [c for r in rows for c in r.values() if c]
    assert not any(c.startswith(("=", "+", "@")) for c in cells)
    again = bclient.post("/api/boundaries/markers/import?format=csv", data=exported)
    assert again.status_code == 200 and again.get_json()["inserted"] == 0, again.get_json()
    assert (
        bclient.get("/api/boundaries/markers/粤桂900Q").get_json()["properties"]["location_desc_a"]
        == formula
    )


# ---- photo uploads ----------------------------------------------------------------------------


def test_photo_uploads_are_checked_by_content_and_size_and_named_by_hash(bstore, tmp_path):
    from webmap import create_app

    app = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k", "MAX_UPLOAD_MB": 12}, store=bstore
    )
    client = app.test_client()
    login(client, "zhao", "inspector")
    marker_id = client.get("/api/boundaries/markers").get_json()["features"][0]["properties"]["id"]
    url = f"/api/boundaries/markers/{marker_id}/photos"
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200

    def upload(data: bytes, filename: str):
        # The body is built here: the test client would spool a large one to an unclosed temp file.
        body = (
            b'--b0undary\r\nContent-Disposition: form-data; name="photo"; filename="'
            + filename.encode()
            + b'"\r\nContent-Type: application/octet-stream\r\n\r\n'
            + data
            + b"\r\n--b0undary--\r\n"
        )
        return client.post(url, data=body, content_type="multipart/form-data; boundary=b0undary")

    before = audit_size(bstore)
    wrong_type = upload(b"<?php system($_GET['c']); ?>", "photo.jpg")
    assert wrong_type.status_code == 400 and "JPEG" in wrong_type.get_json()["error"]["message"]
    assert upload(b"\xff\xd8\xff" + b"\x00" * (11 * 1024 * 1024), "big.jpg").status_code == 413
    huge = client.post(
        url, data=b"\x00" * (13 * 1024 * 1024), content_type="multipart/form-data; boundary=x"
    )
    assert huge.status_code == 413  # past MAX_CONTENT_LENGTH, refused before parsing
    assert audit_size(bstore) == before
    stored = upload(png, "../../../../etc/passwd.png")
    assert stored.status_code == 201, stored.get_json()
    row = stored.get_json()
    assert row["file_name"] == f"{row['sha256']}.png" and "/" not in row["file_name"]
    assert [p.name for p in (tmp_path / "photos").iterdir()] == [row["file_name"]]
    assert not (tmp_path.parent / "etc").exists()
    with client.get(f"/api/boundaries/photos/{row['sha256']}") as served:
        assert served.data == png and served.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/api/boundaries/photos/..%2F..%2Fgdgis.sqlite").status_code == 404


def test_unknown_features_of_empty_layers_are_404(empty_store, tmp_path):
    # Found by the schemathesis run: an item lookup on a layer with no rows must be 404, not 500.
    from webmap import create_app

    client = create_app(
        {"DATA_DIR": str(tmp_path), "SECRET_KEY": "k"}, store=empty_store
    ).test_client()
    for collection in (
        "places",
        "boundary_lines",
        "boundary_markers",
        "tri_junctions",
        "divisions",
    ):
        r = client.get(f"/ogc/collections/{collection}/items/no-such-feature")
        assert r.status_code == 404, (collection, r.status_code)


def test_out_of_range_integers_are_400_not_500(client, store):
    login(client, "zhao", "inspector")
    big = 10**30
    assert client.get(f"/api/boundaries/disputes?line_id={big}").status_code == 400
    assert client.get(f"/api/places/{big}/history").status_code == 404
    r = client.post(
        "/api/boundaries/inspections",
        json={
            "id": "ee13413c-87fa-4972-bf29-9ad000000000",
            "round_id": big,
            "marker_id": 1,
            "found_state": "intact",
        },
    )
    assert r.status_code == 400 and "超出" in r.get_json()["error"]["message"]
    assert client.get("/api/places?q=%00").status_code == 400


def test_integers_of_thousands_of_digits_are_400_not_500(client):
    """Python refuses to convert more than 4,300 digits to an int: a parameter that long
    was a 500 on every route, before any parameter check (a user test). In a URL it is a
    400 naming the parameter; in a JSON body a 400 too."""
    huge = "4" * 4301
    for url in (
        f"/api/search?q=x&division={huge}",
        f"/api/suggest?q=x&limit={huge}",
        f"/search?q=x&offset={huge}",
        f"/place/1?x={huge}",
        f"/place/{huge}",
        f"/api/places/{huge}/history",
        f"/api/search?q=x&division=-{'0' * 5000}1",  # zeros first: still a 64-bit value
    ):
        r = client.get(url)
        assert r.status_code in (400, 404), (url[:40], r.status_code)
    r = client.get(f"/api/search?q=x&division={huge}")
    assert r.get_json()["error"]["details"]["field"] == "division"
    r = client.post(
        "/api/reverse/batch",
        data='{"points": [[' + huge + ", 23]]}",
        content_type="application/json",
    )
    assert r.status_code == 400


def test_a_marker_key_of_non_ascii_digits_is_a_404(bclient):
    """ "¹".isdigit() is true but int("¹") raises: such a key is a marker number, not found."""
    for key in ("¹", "٣", "１２"):
        r = bclient.get(f"/api/boundaries/markers/{key}")
        assert r.status_code == 404, (key, r.status_code)
        assert r.get_json()["error"]["code"] == "not_found"
    first = bclient.get("/api/boundaries/markers").get_json()["features"][0]
    assert bclient.get(f"/api/boundaries/markers/{first['id']}").status_code == 200


def test_an_id_beyond_64_bits_is_an_unknown_record_on_every_method_of_the_path(client):
    """A 23-digit id matched no GET route but the POST route of the same path, so werkzeug
    answered 405; it is an unknown record whatever the method."""
    huge = "9" * 23
    r = client.get(f"/api/places/{huge}")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"
    # Not a 405 on a path whose other method matched: no record can have that id (issue 13).
    r = client.get(f"/api/places/{huge}/protection")
    assert r.status_code == 404 and r.get_json()["error"]["details"]["field"] == "place_id"
