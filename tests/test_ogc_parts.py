"""OGC API - Features Parts 1-3 beyond the core: strict parameters, CRS (Part 2), queryables
and CQL2 filters (Part 3), sorting, property selection, HTTP caching, CORS, downloads and
RFC 7946 GeoJSON. Runs on SQLite, and on PostGIS when GDGIS_TEST_DATABASE_URL is set."""

import json

import pyogrio
import pytest
import shapely
import sqlalchemy as sa
from shapely.geometry import box, shape

from gazetteer.tables import divisions, places


@pytest.fixture
def store(store_templates, boundaries_template, tmp_path):
    """The shipped data with boundary lines, tri-junctions and demonstration markers."""
    with store_templates.copy(boundaries_template, tmp_path) as s:
        yield s


CGCS2000 = "http://www.opengis.net/def/crs/EPSG/0/4490"
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
WEB_MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True)[:300])
    return response.get_json()


def county_count(store, where=None) -> int:
    with store.read() as conn:
        query = (
            sa.select(sa.func.count())
            .select_from(divisions)
            .where(divisions.c.level == "county", divisions.c.geom.is_not(None))
        )
        return conn.execute(query.where(where) if where is not None else query).scalar_one()


# ---- Part 1 strictness ---------------------------------------------------------------------


def test_unknown_parameters_are_refused_and_documented_ones_work(client):
    # code is a queryable: it filters (it used to be dropped silently, giving all 151)
    assert get_json(client, "/ogc/collections/divisions/items?code=440100")["numberMatched"] == 1
    response = client.get("/ogc/collections/divisions/items?cod=440100")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["unknown"] == ["cod"]
    for url in ("/ogc/collections?foo=1", "/ogc/collections/places/items/1?limit=3"):
        assert client.get(url).status_code == 400, url
    # the same request with a documented queryable filter answers
    body = get_json(client, "/ogc/collections/divisions/items?parent_code=440100&limit=100")
    assert body["numberMatched"] == 11 and all(
        f["properties"]["parent_code"] == "440100" for f in body["features"]
    )
    doc = get_json(client, "/ogc/api")
    names = {
        p.get("name") or p["$ref"].rsplit("/", 1)[-1]
        for p in doc["paths"]["/collections/divisions/items"]["get"]["parameters"]
    }
    for expected in ("limit", "bbox", "bbox-crs", "crs", "filter", "filter-lang", "sortby"):
        assert expected in names
    assert {"level", "parent_code", "in_guangdong", "area_km2"} <= names
    limit = doc["components"]["parameters"]["limit"]["schema"]
    # Part 1 lets a server read a larger limit as its maximum: no maximum to test, the
    # clamp is said in the description.
    assert limit["default"] == 100 and "maximum" not in limit
    assert "10000" in doc["components"]["parameters"]["limit"]["description"]


def test_typed_filters_refuse_wrong_types(client):
    assert client.get("/ogc/collections/divisions/items?area_km2=big").status_code == 400
    assert client.get("/ogc/collections/divisions/items?in_guangdong=maybe").status_code == 400
    body = get_json(client, "/ogc/collections/divisions/items?in_guangdong=false&limit=1")
    assert body["numberMatched"] == 7  # the neighbouring provinces and SARs


# ---- Part 2 CRS ----------------------------------------------------------------------------


def test_collections_advertise_crs_and_content_crs_follows_the_request(client):
    col = get_json(client, "/ogc/collections/places")
    assert CRS84 in col["crs"] and CGCS2000 in col["crs"] and col["storageCrs"] == CGCS2000
    default = client.get("/ogc/collections/divisions/items/440113")
    assert default.headers["Content-Crs"] == f"<{CRS84}>"
    lon, lat = shape(default.get_json()["geometry"]).representative_point().coords[0]
    in_4490 = client.get(f"/ogc/collections/divisions/items/440113?crs={CGCS2000}")
    assert in_4490.headers["Content-Crs"] == f"<{CGCS2000}>"
    swapped = shape(in_4490.get_json()["geometry"])
    # EPSG:4490 is latitude first: the same polygon with its axes swapped
    assert swapped.contains(shapely.Point(lat, lon))
    mercator = shape(
        get_json(client, f"/ogc/collections/divisions/items/440113?crs={WEB_MERCATOR}")["geometry"]
    )
    assert 12_500_000 < mercator.centroid.x < 12_700_000
    assert client.get("/ogc/collections/places/items?crs=EPSG:9999").status_code == 400


def test_bbox_crs_gives_the_same_features_as_crs84(client):
    plain = get_json(client, "/ogc/collections/divisions/items?bbox=113.32,23.10,113.33,23.11")
    lat_first = get_json(
        client,
        f"/ogc/collections/divisions/items?bbox=23.10,113.32,23.11,113.33&bbox-crs={CGCS2000}",
    )
    ids = {f["id"] for f in plain["features"]}
    assert ids and ids == {f["id"] for f in lat_first["features"]}
    # a Web Mercator box around the same spot finds the same divisions (a superset: a box
    # in metres is a little larger than the degree box once projected back)
    merc = get_json(
        client,
        "/ogc/collections/divisions/items?bbox=12615000,2644700,12615500,2645200"
        f"&bbox-crs={WEB_MERCATOR}",
    )
    assert "440105" in {f["id"] for f in merc["features"]}  # 海珠区 holds 广州塔


# ---- Part 3 queryables, CQL2, sorting, properties -----------------------------------------


def test_queryables_list_the_filterable_properties(client):
    response = client.get("/ogc/collections/divisions/queryables")
    assert response.status_code == 200 and response.content_type.startswith(
        "application/schema+json"
    )
    props = response.get_json()["properties"]
    assert props["level"]["enum"] == ["province", "city", "county", "township", "village"]
    assert props["area_km2"]["type"] == "number" and "geometry" in props
    markers = get_json(client, "/ogc/collections/boundary_markers/queryables")
    assert "label" not in markers["properties"]  # computed, not filterable


@pytest.mark.parametrize("lang", ["cql2-text", "cql2-json"])
def test_cql2_filters_match_the_store(client, store, lang):
    cases = [
        (
            "level = 'county' AND area_km2 > 2000",
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "level"}, "county"]},
                    {"op": ">", "args": [{"property": "area_km2"}, 2000]},
                ],
            },
            sa.and_(divisions.c.area_km2 > 2000),
        ),
        (
            "level = 'county' AND name LIKE '%区'",
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "level"}, "county"]},
                    {"op": "like", "args": [{"property": "name"}, "%区"]},
                ],
            },
            divisions.c.name.like("%区"),
        ),
        (
            "level = 'county' AND parent_code IN ('440100', '440300')",
            {
                "op": "and",
                "args": [
                    {"op": "=", "args": [{"property": "level"}, "county"]},
                    {"op": "in", "args": [{"property": "parent_code"}, ["440100", "440300"]]},
                ],
            },
            divisions.c.parent_code.in_(["440100", "440300"]),
        ),
    ]
    for text, as_json, where in cases:
        value = text if lang == "cql2-text" else json.dumps(as_json)
        body = get_json(
            client,
            "/ogc/collections/divisions/items?limit=1&filter-lang="
            + lang
            + "&filter="
            + _quote(value),
        )
        assert body["numberMatched"] == county_count(store, where) > 0, text


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def test_cql2_spatial_filter_is_exact_on_both_stores(client, store):
    window = box(113.0, 22.0, 114.5, 23.5)
    with store.read() as conn:
        points = [
            r.geom for r in conn.execute(sa.select(places.c.geom).where(places.c.geom.is_not(None)))
        ]
    expected = sum(p.intersects(window) for p in points)
    for text in (
        "S_INTERSECTS(geometry, BBOX(113.0, 22.0, 114.5, 23.5))",
        "S_INTERSECTS(geometry, POLYGON((113 22, 114.5 22, 114.5 23.5, 113 23.5, 113 22)))",
    ):
        body = get_json(client, f"/ogc/collections/places/items?limit=1&filter={_quote(text)}")
        assert body["numberMatched"] == expected, text
    as_json = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"bbox": [113.0, 22.0, 114.5, 23.5]}],
    }
    body = get_json(
        client, f"/ogc/collections/places/items?limit=1&filter={_quote(json.dumps(as_json))}"
    )
    assert body["numberMatched"] == expected
    outside = get_json(
        client,
        "/ogc/collections/places/items?limit=1&filter="
        + _quote(
            "has_geometry = TRUE AND NOT S_INTERSECTS(geometry, BBOX(113.0, 22.0, 114.5, 23.5))"
        ),
    )
    assert outside["numberMatched"] == len(points) - expected


def test_bad_filters_are_clear_errors(client):
    for text in ("level = ", "nope = 1", "S_CROSSES(geometry, POINT(1 2))", "{not json"):
        response = client.get(f"/ogc/collections/divisions/items?filter={_quote(text)}")
        assert response.status_code == 400, text
        assert response.get_json()["error"]["code"] == "invalid_input"
    response = client.get("/ogc/collections/divisions/items?filter=level='x'&filter-lang=sql")
    assert response.status_code == 400


def test_ill_typed_odd_and_huge_filters_are_400_in_the_one_error_shape(client):
    """Filters that used to be 500s (a list as a value, a non-numeric coordinate, a ring of two
    positions, 320 ORs) or a silent empty 200 (IN over a string, NOT of a number, LIKE with a
    number, text against an integer) are refused at the door; well-typed ones still work."""
    point_a = {"type": "Point", "coordinates": ["a", 1]}
    ring2 = {"type": "Polygon", "coordinates": [[[113, 23], [114, 23]]]}
    refused = [
        {"op": "=", "args": [{"property": "id"}, [1, 2]]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, point_a]},
        {"op": "s_intersects", "args": [{"property": "geometry"}, ring2]},
        {"op": "in", "args": [{"property": "feature_class"}, "city"]},
        {"op": "not", "args": [5]},
        {"op": "like", "args": [{"property": "name"}, 5]},
        {"op": "=", "args": [{"property": "id"}, "abc"]},
        {"op": "=", "args": [{"property": "named_date"}, "not a date"]},
        {"op": "=", "args": [{"property": "name"}, True]},
        5,
    ]
    ors = " OR ".join(f"id = {i}" for i in range(320))
    for value in [json.dumps(f) for f in refused] + [ors, "casei(id) = 'x'"]:
        response = client.get(f"/ogc/collections/places/items?filter={_quote(value)}")
        assert response.status_code == 400, (value[:80], response.status_code)
        error = response.get_json()["error"]
        assert error["code"] == "invalid_input" and error["message"], value[:80]
    ok = [
        "id = 1 OR id = 2",
        "named_date > DATE('1990-01-01') AND name LIKE '%村'",
        "named_date > '1990-01-01'",
        "id IN (" + ",".join(str(i) for i in range(320)) + ")",
        json.dumps({"op": "in", "args": [{"property": "id"}, [1, 2]]}),
    ]
    for value in ok:
        response = client.get(f"/ogc/collections/places/items?limit=1&filter={_quote(value)}")
        assert response.status_code == 200, (value[:80], response.get_data(as_text=True)[:300])


def test_cql2_text_doubled_apostrophe_is_one_apostrophe(client, store):
    with store.read() as conn:
        name = conn.execute(
            sa.select(places.c.romanized).where(places.c.romanized.like("%'%")).limit(1)
        ).scalar_one()
    text = "romanized = '" + name.replace("'", "''") + "'"
    body = get_json(client, f"/ogc/collections/places/items?filter={_quote(text)}")
    assert body["numberReturned"] >= 1
    assert {f["properties"]["romanized"] for f in body["features"]} == {name}
    empty_text = _quote("romanized = ''")
    empty = get_json(client, f"/ogc/collections/places/items?filter={empty_text}")
    assert empty["numberReturned"] == 0


def test_sortby_properties_and_skip_geometry(client, store):
    body = get_json(
        client,
        "/ogc/collections/divisions/items?level=county&sortby=-area_km2&limit=3"
        "&properties=name,area_km2&skipGeometry=true",
    )
    areas = [f["properties"]["area_km2"] for f in body["features"]]
    with store.read() as conn:
        largest = (
            conn.execute(
                sa.select(divisions.c.area_km2)
                .where(divisions.c.level == "county")
                .order_by(divisions.c.area_km2.desc())
                .limit(3)
            )
            .scalars()
            .all()
        )
    assert areas == pytest.approx(largest)
    assert all(set(f["properties"]) == {"name", "area_km2"} for f in body["features"])
    assert all(f["geometry"] is None for f in body["features"])
    ascending = get_json(
        client, "/ogc/collections/divisions/items?level=county&sortby=name&limit=5"
    )
    names = [f["properties"]["name"] for f in ascending["features"]]
    assert names == sorted(names) or len(set(names)) < 5
    assert client.get("/ogc/collections/divisions/items?sortby=nope").status_code == 400
    assert client.get("/ogc/collections/divisions/items?properties=nope").status_code == 400
    assert client.get("/ogc/collections/divisions/items?skipGeometry=perhaps").status_code == 400


def test_paging_with_sortby_is_stable_and_complete(client, store):
    seen = []
    url = "/ogc/collections/divisions/items?level=county&sortby=parent_code&limit=50"
    while url:
        body = get_json(client, url.replace("http://localhost", ""))
        seen += [f["id"] for f in body["features"]]
        url = next((link["href"] for link in body["links"] if link["rel"] == "next"), None)
    assert len(seen) == len(set(seen)) == county_count(store)


# ---- HTTP caching and CORS -----------------------------------------------------------------


def test_etag_and_last_modified_give_304_until_the_layer_changes(client, store):
    url = "/ogc/collections/places/items?limit=5"
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert client.get(url + "&offset=5", headers={"If-None-Match": etag}).status_code == 200
    with store.write() as conn:
        conn.execute(places.update().where(places.c.id == 1).values(source="changed"))
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    # divisions are not touched by that write: their validator stays
    d_url = "/ogc/collections/divisions/items?limit=1"
    d_etag = client.get(d_url).headers["ETag"]
    assert client.get(d_url, headers={"If-None-Match": d_etag}).status_code == 304


def test_an_html_page_is_always_made_for_its_visitor_and_carries_no_validator(client, store):
    """A page of the OGC API holds the visitor's own parts (who is signed in, their CSRF
    token). The data's ETag would answer 304 to a copy made for someone else, or before
    signing in (user test, 2026-11-30: a signed-in officer got the anonymous page back,
    with its stale token). The JSON keeps its validators."""
    url = "/ogc/collections/places/items?limit=5"
    etag, modified = (client.get(url).headers[h] for h in ("ETag", "Last-Modified"))
    page = client.get(url + "&f=html")
    assert page.status_code == 200 and page.content_type.startswith("text/html")
    assert "ETag" not in page.headers and "Last-Modified" not in page.headers
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        again = client.get(url + "&f=html", headers=conditional)
        assert again.status_code == 200 and "<html" in again.get_data(as_text=True)
    by_accept = client.get(url, headers={"Accept": "text/html", "If-None-Match": etag})
    assert by_accept.status_code == 200 and by_accept.content_type.startswith("text/html")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304  # JSON


def test_gzip_and_weak_etags_come_back_as_304(client):
    """A client that accepts gzip gets ``"<hash>-gz"``; sending it back (alone or with
    If-Modified-Since, as browsers do) is a 304, and so is a weak ``W/"<hash>"`` (RFC 9110
    weak comparison; nginx weakens ETags when it compresses)."""
    gz = {"Accept-Encoding": "gzip"}
    for url in (
        "/ogc/collections/places/items?limit=1000",
        "/ogc/collections/divisions",
        "/ogc/collections/divisions/tiles/WebMercatorQuad/7/55/104",
    ):
        first = client.get(url, headers=gz)
        assert first.status_code == 200 and first.headers["Content-Encoding"] == "gzip", url
        etag = first.headers["ETag"]
        assert etag.endswith('-gz"'), url
        both = {**gz, "If-None-Match": etag, "If-Modified-Since": first.headers["Last-Modified"]}
        for headers in ({**gz, "If-None-Match": etag}, both):
            again = client.get(url, headers=headers)
            assert again.status_code == 304 and again.get_data() == b"", (url, headers)
        plain = client.get(url).headers["ETag"]
        for sent in ("W/" + plain, "W/" + etag, f'"other", {plain}'):
            assert client.get(url, headers={"If-None-Match": sent}).status_code == 304, sent
        assert client.get(url, headers={"If-None-Match": 'W/"other"'}).status_code == 200


# ---- downloads and GeoJSON validity -------------------------------------------------------


def test_every_collection_links_a_geopackage_with_every_feature(client, tmp_path):
    cols = get_json(client, "/ogc/collections")["collections"]
    for col in cols:
        link = next(link for link in col["links"] if link["rel"] == "enclosure")
        assert link["type"] == "application/geopackage+sqlite3"
        response = client.get(link["href"].replace("http://localhost", ""))
        assert response.status_code == 200, col["id"]
        matched = get_json(client, f"/ogc/collections/{col['id']}/items?limit=1")["numberMatched"]
        if matched:
            path = tmp_path / f"{col['id']}.gpkg"
            path.write_bytes(response.get_data())
            frame = pyogrio.read_dataframe(path)
            assert len(frame) == matched, col["id"]


def assert_rfc7946(feature_collection: dict, where: str) -> None:
    assert "crs" not in feature_collection, where
    for feature in feature_collection["features"]:
        geometry = feature["geometry"]
        if geometry is None:
            continue
        text = json.dumps(geometry["coordinates"])
        decimals = max(
            (
                len(n.split(".")[1])
                for n in text.replace("]", ",").replace("[", ",").split(",")
                if "." in n
            ),
            default=0,
        )
        assert decimals <= 7, where
        geom = shape(geometry)
        polygons = (
            list(geom.geoms)
            if geom.geom_type == "MultiPolygon"
            else [geom]
            if geom.geom_type == "Polygon"
            else []
        )
        for polygon in polygons:
            assert polygon.exterior.is_ccw, where  # right-hand rule: exterior counter-clockwise
            assert all(not ring.is_ccw for ring in polygon.interiors), where


def test_api_layers_are_rfc7946(client):
    for col in get_json(client, "/ogc/collections")["collections"]:
        body = get_json(client, f"/ogc/collections/{col['id']}/items?limit=200")
        assert_rfc7946(body, col["id"])


def test_exports_are_rfc7946_and_csv_has_wkt(store, tmp_path):
    import csv
    import sys

    from gazetteer.layers import write_layer
    from webmap.layers import LAYERS

    for layer in LAYERS:
        frame = layer.frame(store)
        if frame.empty:
            continue
        path = write_layer(frame, "geojson", tmp_path / f"{layer.id}.geojson", layer.id)
        assert_rfc7946(json.loads(path.read_text("utf-8")), layer.id)
        if layer.geometry_type != "Point":
            csv_path = write_layer(frame, "csv", tmp_path / f"{layer.id}.csv", layer.id)
            csv.field_size_limit(sys.maxsize)  # a county outline is a long WKT cell
            with csv_path.open(encoding="utf-8-sig") as f:
                row = next(csv.DictReader(f))
            assert shapely.from_wkt(row["wkt"]).geom_type == layer.geometry_type


def test_demonstration_label_appears_once(client):
    col = get_json(client, "/ogc/collections/boundary_markers")
    assert col["title"].count("演示数据") == 1 and col["demonstration"] is True


def test_each_collection_extent_is_the_box_of_its_own_geometries(client, store):
    from webmap.layers import LAYERS

    cols = {c["id"]: c for c in get_json(client, "/ogc/collections")["collections"]}
    for layer in LAYERS:
        geoms = layer.frame(store).geometry.dropna()
        if geoms.empty:
            assert "extent" not in cols[layer.id], layer.id
            continue
        got = cols[layer.id]["extent"]["spatial"]["bbox"][0]
        assert got == pytest.approx(list(shapely.total_bounds(geoms.values)), abs=2e-7), layer.id
        # rounded outward: the advertised box holds every geometry
        assert shapely.box(*got).covers(shapely.union_all(geoms.values).envelope), layer.id
    # a division's place is a point (its label) carrying the division's box as bounding
    # columns: the places' extent is still the points', not the divisions' box
    with store.read() as conn:
        minx, maxx = conn.execute(
            sa.select(sa.func.min(places.c.minx), sa.func.max(places.c.maxx))
        ).one()
    places_box = cols["places"]["extent"]["spatial"]["bbox"][0]
    assert places_box != cols["divisions"]["extent"]["spatial"]["bbox"][0]
    assert places_box[0] > minx and places_box[2] < maxx


def test_a_moved_place_is_served_at_its_new_position(client, store):
    with store.read() as conn:
        place_id = conn.execute(
            sa.select(places.c.id).where(places.c.geom.is_not(None)).order_by(places.c.id)
        ).scalar()
    one = f"/ogc/collections/places/items/{place_id}"
    page = "/ogc/collections/places/items?limit=1000&has_geometry=true"
    before = client.get(one)
    old = before.get_json()["geometry"]["coordinates"]
    assert client.get(page).status_code == 200  # the page's geometries are now cached
    moved = shapely.Point(113.2641, 23.1291)  # lon, lat
    with store.write() as conn:
        conn.execute(
            places.update()
            .where(places.c.id == place_id)
            .values(geom=moved, minx=moved.x, maxx=moved.x, miny=moved.y, maxy=moved.y)
        )
    after = client.get(one, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert after.get_json()["geometry"]["coordinates"] == [113.2641, 23.1291] != old
    feature = next(f for f in get_json(client, page)["features"] if f["id"] == place_id)
    assert feature["geometry"]["coordinates"] == [113.2641, 23.1291]
    # the other CRSs and the box search see the move too
    lat_lon = get_json(client, f"{one}?crs={CGCS2000}")["geometry"]["coordinates"]
    assert lat_lon == [23.1291, 113.2641]
    found = get_json(client, "/ogc/collections/places/items?bbox=113.26,23.12,113.27,23.13")
    assert place_id in [f["id"] for f in found["features"]]


def test_unsupported_output_format_is_a_400_and_json_still_works(client):
    for url in (
        "/ogc?f=xml",
        "/ogc/collections?f=xml",
        "/ogc/collections/divisions?f=xml",
        "/ogc/collections/divisions/items?f=xml",
        "/ogc/collections/divisions/items/440113?f=xml",
        "/ogc/collections/divisions/queryables?f=xml",
        "/ogc/api?f=xml",
    ):
        response = client.get(url)
        assert response.status_code == 400, url
        error = response.get_json()["error"]
        assert error["code"] == "invalid_input" and "xml" in error["message"], url
    assert get_json(client, "/ogc/collections/divisions/items?f=json&limit=1")["features"]
    assert client.get("/ogc/collections/divisions/items?f=html&limit=1").status_code == 200


def test_datetime_is_refused_where_a_layer_has_no_dates_and_documented_where_it_has(client):
    response = client.get("/ogc/collections/divisions/items?datetime=2020-01-01")
    assert response.status_code == 400
    assert "datetime" in response.get_json()["error"]["message"]
    # the same request without it answers; places have dates and take it
    assert get_json(client, "/ogc/collections/divisions/items?limit=1")["numberReturned"] == 1
    assert get_json(client, "/ogc/collections/places/items?datetime=2020-01-01&limit=1")
    doc = get_json(client, "/ogc/api")

    def parameters(collection):
        return {
            p.get("name") or p["$ref"].rsplit("/", 1)[1]
            for p in doc["paths"][f"/collections/{collection}/items"]["get"]["parameters"]
        }

    assert "datetime" in parameters("places")
    assert "datetime" not in parameters("divisions")
    assert {"filter", "sortby", "level"} <= parameters("divisions")


def test_paging_through_a_layer_with_small_pages_is_not_rate_limited(store, tmp_path):
    from webmap import create_app

    app = create_app(
        {
            "DATA_DIR": str(tmp_path),
            "SECRET_KEY": "k",
            "RATE_LIMIT_PER_MINUTE": 20,
            "PAGING_RATE_LIMIT_PER_MINUTE": 1000,
        },
        store=store,
    )
    client = app.test_client()
    url, pages = "/ogc/collections/divisions/items?limit=2", 0
    while url:
        response = client.get(url.replace("http://localhost", ""))
        assert response.status_code == 200, pages
        pages += 1
        url = next(
            (link["href"] for link in response.get_json()["links"] if link["rel"] == "next"), None
        )
    assert pages > 20  # more pages than the general budget allows
    statuses = [client.get("/ogc/collections").status_code for _ in range(25)]
    assert 429 in statuses  # the general budget still holds for everything else


def test_cors_preflight_allows_conditional_gets(client):
    response = client.options(
        "/ogc/collections/divisions/items",
        headers={
            "Origin": "http://example.test",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "If-None-Match",
        },
    )
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]
    assert "If-None-Match" in response.headers["Access-Control-Allow-Headers"]


def test_json_answers_copy_geometry_text_and_repair_a_lone_surrogate():
    """The OGC answers' writer (orjson): cached geometry text goes in verbatim, dates as ISO
    8601, and a lone surrogate (a row stored before text was checked) becomes U+FFFD instead
    of failing the whole page."""
    import datetime as dt

    from gazetteer.core.geojson_output import geometries_json
    from webmap.output import json_bytes

    point, polygon = geometries_json(
        [
            shapely.to_wkb(shapely.Point(113.12345678, 23.2)),
            shapely.to_wkb(box(113, 22, 114, 23, ccw=False)),
        ]
    )
    document = {"name": "\ud800路", "day": dt.date(2020, 1, 2), "geometries": [point, polygon]}
    out = json.loads(json_bytes(document))
    assert out["name"] == "\ufffd路" and out["day"] == "2020-01-02"
    assert out["geometries"][0] == {"type": "Point", "coordinates": [113.1234568, 23.2]}
    assert shapely.geometry.shape(out["geometries"][1]).exterior.is_ccw  # right-hand rule


def test_tiles_are_documented_limited_and_every_page_has_html(client):
    """The tile paths are in both OpenAPI documents; a tileset states its zoom limits; the
    JSON-only resources answer f=html with a page like the other /ogc paths; a 429's
    Retry-After is readable by a web client on another origin."""
    for doc, prefix in (("/ogc/api", ""), ("/api/openapi.json", "/ogc")):
        paths = get_json(client, doc)["paths"]
        tile = f"{prefix}/collections/divisions/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"
        assert f"{prefix}/collections/divisions/tiles" in paths and tile in paths, doc
        zoom = paths[tile]["get"]["parameters"][0]["schema"]
        assert (zoom["minimum"], zoom["maximum"]) == (0, 18)
    tileset = get_json(client, "/ogc/collections/divisions/tiles")["tilesets"][0]
    assert (tileset["minzoom"], tileset["maxzoom"]) == (0, 18)
    assert len(tileset["tileMatrixSetLimits"]) == 19
    assert client.get("/ogc/collections/divisions/tiles/WebMercatorQuad/19/0/0").status_code == 400
    for path in ("queryables", "schema", "tiles"):
        page = client.get(f"/ogc/collections/places/{path}?f=html")
        assert page.status_code == 200 and page.mimetype == "text/html", path
    assert "named_date" in client.get("/ogc/collections/places/schema?f=html").get_data(True)
    exposed = client.get("/ogc/collections").headers["Access-Control-Expose-Headers"]
    assert "Retry-After" in exposed.split(", ")
