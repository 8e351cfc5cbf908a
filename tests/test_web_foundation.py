"""The first page, its locally served assets, and the division JSON endpoint."""

import re

from webmap.layers import LAYERS


def test_index_page_serves_every_asset_locally(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="zh-CN">' in html
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and not [u for u in urls if u.startswith(("http:", "https:", "//"))]
    for url in urls:
        if url.startswith("/static/"):
            response = client.get(url)
            assert response.status_code == 200, url
            response.close()
    assert "/static/vendor/leaflet/leaflet.js" in urls


def test_division_json_by_code(client):
    data = client.get("/api/divisions/440113").get_json()
    assert data["name"] == "番禺区"
    assert [c["name"] for c in data["chain"]] == ["广东省", "广州市", "番禺区"]
    assert data["level"] == "county" and data["area_km2"] > 400
    assert len(data["children"]) >= 10  # its townships and streets
    assert "geometry" not in data
    assert (
        client.get("/api/divisions/440113?geometry=1").get_json()["geometry"]["type"]
        == "MultiPolygon"
    )


def test_division_errors_share_one_shape(client):
    missing = client.get("/api/divisions/449999")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    bad = client.get("/api/divisions/44x")
    assert bad.status_code == 400 and bad.get_json()["error"]["code"] == "invalid_input"


def test_simplified_divisions_keep_shared_edges(client):
    fc = client.get("/api/divisions.geojson?level=city&tolerance_deg=0.01").get_json()
    assert len([f for f in fc["features"] if f["properties"]["in_guangdong"]]) == 21
    import shapely
    from shapely.geometry import shape

    geoms = [shape(f["geometry"]) for f in fc["features"]]
    # a coverage stays a coverage: no two simplified cities overlap
    tree = shapely.STRtree(geoms)
    for i, g in enumerate(geoms):
        for j in tree.query(g, predicate="intersects"):
            if j > i:
                assert g.intersection(geoms[j]).area < 1e-9
    assert client.get("/api/divisions.geojson?level=village").status_code == 400


def test_export_every_layer_in_every_format(store, tmp_path):
    from gazetteer.layers import write_layer

    divisions = next(layer for layer in LAYERS if layer.id == "divisions").frame(store)
    assert len(divisions) == 1 + 21 + 122 + 7
    for fmt in ("geojson", "gpkg", "csv"):
        path = write_layer(divisions, fmt, tmp_path / f"d.{fmt}", "divisions")
        assert path.stat().st_size > 0
    raw = (tmp_path / "d.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM so Excel/WPS read Chinese
    assert "广东省".encode() in raw
    import geopandas as gpd

    back = gpd.read_file(tmp_path / "d.gpkg")
    assert back.crs.to_epsg() == 4490 and len(back) == len(divisions)


def test_csv_export_neutralises_formulas(tmp_path):
    from shapely.geometry import Point

    from gazetteer.layers import frame_from_rows, write_layer

    frame = frame_from_rows([{"name": '=HYPERLINK("http://x")', "geom": Point(113, 23)}])
    write_layer(frame, "csv", tmp_path / "x.csv", "x")
    text = (tmp_path / "x.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text
