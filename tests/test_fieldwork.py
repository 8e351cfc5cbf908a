"""Inspection and compliance modes through the Flask test client: the service worker route,
gzip, the light map layers, the rules check and putting a name on the map (上图)."""

from __future__ import annotations

import gzip
import json

import pytest
import sqlalchemy as sa
from helpers import login

from gazetteer import placement
from gazetteer.core.actors import Actor
from gazetteer.core.errors import Conflict, Forbidden, InvalidInput
from gazetteer.core.store import read_all
from gazetteer.registry_tables import place_versions
from gazetteer.tables import places


def unplaced_village(store, division_prefix="440106"):
    with store.read() as conn:
        return conn.execute(
            sa.select(places.c.id, places.c.name, places.c.version, places.c.division_code)
            .where(
                places.c.geom.is_(None),
                places.c.feature_class == "群众自治组织",
                places.c.division_code.startswith(division_prefix),
            )
            .order_by(places.c.id)
        ).first()


def test_service_worker_is_served_from_the_root_with_root_scope(bclient):
    response = bclient.get("/sw.js")
    assert response.status_code == 200 and response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response.headers["Cache-Control"]
    assert b"/inspect" in response.data and b'request.method !== "GET"' in response.data


def test_text_responses_are_gzipped_when_accepted(bclient):
    with bclient.get("/static/vendor/leaflet/leaflet.js") as plain:
        plain.get_data()  # an unread static response keeps its file open until closed
    packed = bclient.get(
        "/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip, br"}
    )
    assert "Content-Encoding" not in plain.headers
    assert (
        packed.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in packed.headers["Vary"]
    )
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 3
    assert packed.headers["ETag"] != plain.headers["ETag"]
    geo = bclient.get(
        "/api/divisions.geojson?level=city&tolerance_deg=0.01", headers={"Accept-Encoding": "gzip"}
    )
    assert json.loads(gzip.decompress(geo.data))["type"] == "FeatureCollection"
    with bclient.get(
        "/static/vendor/leaflet/images/layers.png", headers={"Accept-Encoding": "gzip"}
    ) as png:
        assert "Content-Encoding" not in png.headers


def test_pages_render_in_chinese_and_link_the_modes(bclient):
    index = bclient.get("/").get_data(as_text=True)
    # The public menu offers no staff modes; a signed-in officer's does.
    assert 'lang="zh-CN"' in index and "/inspect" not in index and "mapcommon.js" in index
    assert 'lang="en"' in bclient.get("/?lang=en").get_data(as_text=True)
    page = bclient.get("/inspect").get_data(as_text=True)
    assert "录入检查记录需以" in page and "offline-queue.js" in page and "演示数据" in page
    # Signed out: offered the sign-in page, which comes back here.
    offered = bclient.get("/compliance")
    assert (
        offered.status_code == 302 and "/auth/login?next=/compliance" in offered.headers["Location"]
    )
    login(bclient, "wang", "officer")
    assert "/inspect" in bclient.get("/").get_data(as_text=True)
    page = bclient.get("/compliance").get_data(as_text=True)
    assert "命名合规审查" in page and 'data-can-place="1"' in page and "天河区（440106）" in page


def tile_names(client, collection: str, z: int, x: int, y: int) -> set[str]:
    import mapbox_vector_tile

    data = client.get(f"/ogc/collections/{collection}/tiles/WebMercatorQuad/{z}/{y}/{x}").data
    tile = mapbox_vector_tile.decode(data) if data else {}
    return {f["properties"]["name"] for f in tile.get(collection, {}).get("features", [])}


def test_map_layers_come_as_vector_tiles(bclient):
    assert {"粤桂线", "韶惠线"} <= tile_names(bclient, "boundary_lines", 3, 6, 3)
    assert "天河区" in tile_names(bclient, "places", 7, 104, 55)


def test_rules_check_locates_conflicts_and_finds_the_county_from_a_point(bclient):
    login(bclient, "wang", "officer")
    query = {"name": "茶山社区居委会", "feature_class": "群众自治组织", "lon": 113.33, "lat": 23.14}
    response = bclient.post("/api/rules/check", json=query)
    body = response.get_json()
    assert response.status_code == 200 and body["division"]["name"] == "天河区"
    duplicate = next(f for f in body["findings"] if f["rule_id"] == "duplicate")
    assert duplicate["severity_zh"] == "阻断" and body["blocking"] >= 1
    conflict = duplicate["conflicts"][0]
    assert conflict["name"] == "茶山社区居委会" and conflict["point_source"] == "division"
    lon, lat = conflict["point"]
    assert 113.2 < lon < 113.5 and 23.0 < lat < 23.4  # a point inside 天河区
    clean = bclient.post(
        "/api/rules/check",
        json={"name": "维也纳花园", "feature_class": "居民点", "division_code": "440106"},
    ).get_json()
    assert [f["rule_id"] for f in clean["findings"]][0] == "foreign.name"


@pytest.mark.parametrize(
    "body, message",
    [
        ({"feature_class": "居民点", "division_code": "440106"}, "拟用名称"),
        ({"name": "茶山", "feature_class": "城堡", "division_code": "440106"}, "地名类别"),
        ({"name": "茶山", "feature_class": "居民点"}, "行政区划"),
        (
            {"name": "茶山", "feature_class": "居民点", "lon": 23.1, "lat": 113.3},
            "不在广东省范围内",
        ),
    ],
)
def test_rules_check_rejects_incomplete_requests(bclient, body, message):
    login(bclient, "wang", "officer")
    response = bclient.post("/api/rules/check", json=body)
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]


def test_placing_a_name_needs_the_officer_role_and_the_current_version(bclient, bstore):
    row = unplaced_village(bstore)
    url = f"/api/places/{row.id}/geometry"
    login(bclient, "li", "clerk")
    assert (
        bclient.post(url, json={"lon": 113.33, "lat": 23.14, "version": row.version}).status_code
        == 403
    )
    login(bclient, "wang", "officer")
    stale = bclient.post(url, json={"lon": 113.33, "lat": 23.14, "version": row.version + 5})
    assert stale.status_code == 409
    elsewhere = bclient.post(
        url, json={"lon": 116.68, "lat": 23.35, "version": row.version}
    )  # 汕头
    assert (
        elsewhere.status_code == 400
        and "不在该地名登记的行政区划内" in elsewhere.get_json()["error"]["message"]
    )
    placed = bclient.post(url, json={"lon": 113.33, "lat": 23.14, "version": row.version})
    record = placed.get_json()
    assert (
        placed.status_code == 200
        and record["has_geometry"]
        and record["version"] == row.version + 1
    )
    assert record["geometry"] == {"type": "Point", "coordinates": [113.33, 23.14]}
    again = bclient.post(url, json={"lon": 113.34, "lat": 23.14, "version": record["version"]})
    assert again.status_code == 400 and "已有图形" in again.get_json()["error"]["message"]
    history = bclient.get(f"/api/places/{row.id}/history").get_json()
    assert [v["change"] for v in history["versions"]] == ["baseline", "corrected"]
    assert history["versions"][-1]["recorded_by"] == "wang"
    assert row.name in tile_names(bclient, "places", 12, 3337, 1777)  # 113.33, 23.14


def test_place_on_map_domain_rules(bstore):
    row = unplaced_village(bstore)
    officer = Actor("wang", frozenset({"officer"}))
    with pytest.raises(Forbidden):
        placement.place_on_map(
            bstore,
            row.id,
            113.33,
            23.14,
            actor=Actor("x", frozenset({"inspector"})),
            version=row.version,
        )
    with pytest.raises(InvalidInput):
        placement.place_on_map(bstore, row.id, "东经", 23.14, actor=officer, version=row.version)
    with pytest.raises(Conflict):
        placement.place_on_map(
            bstore, row.id, 113.33, 23.14, actor=officer, version=row.version - 1
        )
    record = placement.place_on_map(
        bstore, row.id, 113.33, 23.14, actor=officer, version=row.version, reason="实地核实"
    )
    assert (
        record["geometry_source"] == placement.GEOMETRY_SOURCE
        and "无图形地名上图" in record["history"]
    )
    versions = read_all(
        bstore,
        sa.select(place_versions).where(place_versions.c.place_id == row.id),
        place_versions.c.version,
    )
    assert [v["change"] for v in versions] == ["baseline", "corrected"]
    assert versions[0]["geom"] is None and versions[0]["valid_to"] is not None
    assert versions[1]["geom"].x == 113.33 and versions[1]["change_reason"] == "实地核实"
