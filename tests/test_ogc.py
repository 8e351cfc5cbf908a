"""OGC API - Features: core conformance over the test client, and a real GDAL client."""

import json
import os
import subprocess
import sys
import threading

import pytest
from werkzeug.serving import make_server


def test_landing_conformance_and_collections(client):
    landing = client.get("/ogc?f=json").get_json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= rels
    conf = client.get("/ogc/conformance").get_json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conf
    cols = client.get("/ogc/collections?f=json").get_json()["collections"]
    ids = {c["id"] for c in cols}
    assert {"places", "divisions"} <= ids
    places = next(c for c in cols if c["id"] == "places")
    minx, miny, maxx, maxy = places["extent"]["spatial"]["bbox"][0]
    assert (
        104 < minx < maxx < 122 and 3 < miny < maxy < 31
    )  # with Hainan down to the Nansha islands


def test_items_paging_links_and_counts(client):
    first = client.get("/ogc/collections/divisions/items?limit=5&level=county")
    assert first.status_code == 200 and first.content_type.startswith("application/geo+json")
    body = first.get_json()
    assert body["numberMatched"] == 122 and body["numberReturned"] == 5
    nxt = next(link for link in body["links"] if link["rel"] == "next")
    second = client.get(nxt["href"].replace("http://localhost", "")).get_json()
    assert {f["id"] for f in second["features"]}.isdisjoint({f["id"] for f in body["features"]})
    last = client.get("/ogc/collections/divisions/items?limit=5&offset=120&level=county").get_json()
    assert last["numberReturned"] == 2 and not [
        link for link in last["links"] if link["rel"] == "next"
    ]


def test_bbox_filter_is_exact(client, store):
    # a box around 广州塔 (113.3245, 23.1064): the county polygons touching it
    body = client.get(
        "/ogc/collections/divisions/items?bbox=113.32,23.10,113.33,23.11&level=county"
    ).get_json()
    names = {f["properties"]["name"] for f in body["features"]}
    assert "海珠区" in names and "番禺区" not in names
    import sqlalchemy as sa
    from shapely.geometry import box

    from gazetteer.tables import places as places_table

    with store.read() as conn:
        points = [
            r.geom
            for r in conn.execute(
                sa.select(places_table.c.geom).where(places_table.c.geom.is_not(None))
            )
        ]
    window = box(113.0, 22.0, 114.5, 23.5)
    expected = sum(1 for p in points if p.intersects(window))
    body = client.get("/ogc/collections/places/items?bbox=113.0,22.0,114.5,23.5&limit=1").get_json()
    assert 0 < expected < len(points) and body["numberMatched"] == expected


def test_item_and_errors(client):
    item = client.get("/ogc/collections/divisions/items/440113").get_json()
    assert item["properties"]["name"] == "番禺区" and item["geometry"]["type"] == "MultiPolygon"
    assert client.get("/ogc/collections/nope/items").status_code == 404
    assert client.get("/ogc/collections/divisions/items/000000").status_code == 404
    for bad in (
        "bbox=1,2,3",
        "bbox=a,b,c,d",
        "bbox=10,10,0,0",
        "bbox=0,0,200,10",
        "limit=0",
        "limit=x",
        "offset=-1",
        "datetime=2020-13-45",
    ):
        r = client.get(f"/ogc/collections/places/items?{bad}")
        assert r.status_code == 400, bad
        assert r.get_json()["error"]["code"] == "invalid_input"


def test_datetime_filters_places(client, store):
    import datetime as dt

    from gazetteer.tables import places

    with store.write() as conn:
        conn.execute(
            places.update()
            .where(places.c.name == "番禺区")
            .values(named_date=dt.date(1992, 1, 1), retired_date=dt.date(2000, 1, 1))
        )
    # (other divisions have dates of their own since the 1979-2023 changes were shipped:
    # ask for this one by name)
    before, during, after = (
        client.get(
            f"/ogc/collections/places/items?datetime={when}&name=番禺区&feature_class=行政区域"
        ).get_json()
        for when in ("1990-01-01", "1995-01-01", "2001-01-01")
    )
    assert (before["numberMatched"], during["numberMatched"], after["numberMatched"]) == (0, 1, 0)


def test_html_pages(client):
    for url in (
        "/ogc?f=html",
        "/ogc/collections?f=html",
        "/ogc/collections/divisions/items?f=html&limit=3",
        "/ogc/collections/divisions/items/440113?f=html",
    ):
        r = client.get(url)
        assert r.status_code == 200 and r.content_type.startswith("text/html"), url
        assert '<html lang="zh-CN">' in r.get_data(as_text=True)


def test_openapi_document_lists_ogc_paths(client):
    doc = client.get("/ogc/api").get_json()
    assert doc["openapi"].startswith("3.0")
    assert "/collections/places/items" in doc["paths"]
    assert doc["servers"][0]["url"].endswith("/ogc")


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def test_gdal_oapif_driver_reads_the_layers(live_server):
    """GDAL's OAPIF driver (the one QGIS uses) lists and reads the collections. It runs in
    a child process: pyogrio holds the GIL while GDAL fetches, which would starve the
    server thread of this process."""
    pyogrio = pytest.importorskip("pyogrio")
    if "OAPIF" not in pyogrio.list_drivers():
        pytest.skip("this GDAL build has no OAPIF driver")
    script = (
        "import json, sys, pyogrio\n"
        "url = 'OAPIF:' + sys.argv[1] + '/ogc'\n"
        "layers = [str(n) for n, _ in pyogrio.list_layers(url)]\n"
        "frame = pyogrio.read_dataframe(url, layer='divisions', where=\"level = 'city'\")\n"
        "print(json.dumps({'layers': layers, 'gd_cities': int(frame['code'].str.startswith('44').sum())}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, live_server],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "GDAL_HTTP_TIMEOUT": "20"},
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert {"places", "divisions", "boundary_lines", "boundary_markers"} <= set(result["layers"])
    assert result["gd_cities"] == 21
