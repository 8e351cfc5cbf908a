"""Reverse lookup on the shipped division polygons (data/divisions.geojson)."""

from pathlib import Path

import numpy as np
import pytest
import shapely

from gazetteer.core import crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.geodesy import distance_m
from gazetteer.reverse import DivisionLocator, NearestPlaces, brute_force_lowest, nearest_places

DIVISIONS = Path(__file__).resolve().parent.parent / "data" / "divisions.geojson"
GD_BBOX = (109.654936, 20.211718, 117.318621, 25.516771)


@pytest.fixture(scope="module")
def locator() -> DivisionLocator:
    return DivisionLocator.from_geojson(DIVISIONS)


def test_canton_tower_is_in_haizhu(locator):
    assert locator.locate(113.3245, 23.1064) == [
        {"code": "440000", "name": "广东省", "level": "province"},
        {"code": "440100", "name": "广州市", "level": "city"},
        {"code": "440105", "name": "海珠区", "level": "county"},
    ]


def test_city_without_counties_stops_at_city(locator):
    # 东莞市 has no county level: the chain ends at the city, and so does locate_many.
    chain = locator.locate(113.7518, 23.0207)
    assert [d["code"] for d in chain] == ["440000", "441900"]
    assert locator.locate_many([113.7518], [23.0207]).tolist() == ["441900"]


def test_neighbour_province(locator):
    nanning = (108.3665, 22.8170)
    assert locator.locate(*nanning) == [
        {"code": "450000", "name": "广西壮族自治区", "level": "province"}
    ]
    assert locator.locate_many(*nanning).item() == "450000"


def test_point_at_sea_is_in_nothing(locator):
    assert locator.locate(115.0, 21.0) == []
    assert locator.locate_many([115.0], [21.0]).tolist() == [""]


def test_gcj02_input_is_converted_first(locator):
    # The tower as Amap would give it: several hundred metres east of the true position.
    gx, gy = crs.point_from_cgcs2000(113.3245, 23.1064, "GCJ02")
    assert distance_m(113.3245, 23.1064, gx, gy) > 300
    lon, lat = crs.point_to_cgcs2000(gx, gy, "GCJ02")
    assert locator.locate(lon, lat)[-1]["code"] == "440105"
    assert locator.locate(gx, gy, crs_tag="GCJ02")[-1]["code"] == "440105"
    assert locator.locate_many([gx], [gy], crs_tag="GCJ02").tolist() == ["440105"]


def test_batch_agrees_with_brute_force(locator):
    rng = np.random.default_rng(5)
    lons = rng.uniform(GD_BBOX[0], GD_BBOX[2], 2000)
    lats = rng.uniform(GD_BBOX[1], GD_BBOX[3], 2000)
    features = list(locator.by_code.values())
    expected = brute_force_lowest(features, lons, lats)
    assert (locator.locate_many(lons, lats) == expected).all()
    # The sample covers every kind of answer: county, county-less city, neighbour, sea.
    found = set(expected.tolist())
    assert {"", "450000", "441900"} <= found
    assert len([c for c in found if c.startswith("44") and c not in ("441900", "442000")]) > 50
    # Single-point lookups say the same, level by level.
    by_level = locator.locate_levels(lons, lats)
    for i in range(0, 2000, 97):
        chain = {d["level"]: d["code"] for d in locator.locate(lons[i], lats[i])}
        for level, codes in by_level.items():
            assert chain.get(level, "") == codes[i]
        exact = [f.code for f in features if f.geometry.contains(shapely.Point(lons[i], lats[i]))]
        assert sorted(chain.values()) == sorted(exact)


def test_points_near_boundaries_agree(locator):
    # Points scattered within ~100 m of the 海珠/越秀 and Guangdong/Guangxi lines: all go
    # through the exact path and must still match brute force.
    features = list(locator.by_code.values())
    rng = np.random.default_rng(11)
    ring = shapely.get_coordinates(shapely.boundary(locator.by_code["440105"].geometry))
    pick = ring[rng.integers(0, len(ring), 500)] + rng.normal(0, 0.001, (500, 2))
    codes = locator.locate_many(pick[:, 0], pick[:, 1])
    assert (codes == brute_force_lowest(features, pick[:, 0], pick[:, 1])).all()
    assert "440105" in set(codes.tolist()) and len(set(codes.tolist())) > 1


def test_outside_grid_points_use_exact_path(locator):
    fuzhou, changsha = (119.2965, 26.0745), (112.9388, 28.2282)
    assert locator.locate_many([fuzhou[0], changsha[0]], [fuzhou[1], changsha[1]]).tolist() == [
        "350000",
        "430000",
    ]


def test_invalid_coordinates(locator):
    with pytest.raises(InvalidInput, match="颠倒"):
        locator.locate(23.1064, 113.3245)
    with pytest.raises(InvalidInput, match="纬度超出范围"):
        locator.locate_many([113.3], [95.0])
    with pytest.raises(InvalidInput):
        locator.locate(113.3, 23.1, crs_tag="MARS")


def _county_places(locator):
    return [
        {"id": i, "name": f.name, "geometry": f.geometry}
        for i, f in enumerate(sorted(locator.by_code.values(), key=lambda f: f.code))
        if f.level == "county"
    ]


def test_nearest_places_match_brute_force_geodesic(locator):
    places = _county_places(locator)
    index = NearestPlaces(places)
    points = [shapely.point_on_surface(p["geometry"]) for p in places]
    for lon, lat in [(113.3245, 23.1064), (116.68, 23.35), (110.36, 21.27), (112.0, 18.0)]:
        got = index.nearest(lon, lat, 5)
        dists = sorted((distance_m(lon, lat, pt.x, pt.y), p["id"]) for p, pt in zip(places, points))
        assert [g["id"] for g in got] == [pid for _, pid in dists[:5]]
        assert all(abs(g["distance_m"] - d) < 1e-6 for g, (d, _) in zip(got, dists[:5]))
        assert [g["distance_m"] for g in got] == sorted(g["distance_m"] for g in got)


def test_nearest_places_function_and_edge_cases(locator):
    places = _county_places(locator)
    near = nearest_places(113.3245, 23.1064, 1, places)
    assert near[0]["name"] == "海珠区" and "geometry" not in near[0]
    assert nearest_places(113.3245, 23.1064, 0, places) == []
    assert len(nearest_places(113.3245, 23.1064, 500, places)) == len(places)


def test_from_store_matches_geojson(store, locator):
    from_store = DivisionLocator.from_store(store)
    assert set(from_store.by_code) == set(locator.by_code)
    rng = np.random.default_rng(3)
    lons, lats = rng.uniform(GD_BBOX[0], GD_BBOX[2], 500), rng.uniform(GD_BBOX[1], GD_BBOX[3], 500)
    assert (from_store.locate_many(lons, lats) == locator.locate_many(lons, lats)).all()
