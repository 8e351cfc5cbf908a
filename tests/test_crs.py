"""Coordinate-system conversion: GCJ-02, BD-09, EPSG codes, Gauss–Krüger, validation."""

import numpy as np
import pytest

from gazetteer.core import crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.geodesy import distance_m

CANTON_TOWER = (113.3245, 23.1064)  # 广州塔, lon/lat degrees


def test_gcj02_offset_in_guangzhou_is_hundreds_of_metres():
    gx, gy = crs.wgs84_to_gcj02(*CANTON_TOWER)
    offset_m = distance_m(*CANTON_TOWER, float(gx), float(gy))
    assert 300 < offset_m < 900
    # Amap shifts Guangzhou to the east and slightly south.
    assert gx > CANTON_TOWER[0]
    assert gy < CANTON_TOWER[1]


def test_gcj02_round_trip_below_1e6_degrees_across_china():
    rng = np.random.default_rng(20240501)
    lons = rng.uniform(73.0, 135.0, 5000)
    lats = rng.uniform(18.0, 53.0, 5000)
    back_lon, back_lat = crs.to_cgcs2000(*crs.wgs84_to_gcj02(lons, lats), "GCJ02")
    assert np.abs(back_lon - lons).max() < 1e-6
    assert np.abs(back_lat - lats).max() < 1e-6
    # And the offset really was applied (the round trip is not trivially the identity).
    gx, gy = crs.wgs84_to_gcj02(lons, lats)
    assert np.hypot(gx - lons, gy - lats).min() > 1e-4


def test_no_offset_outside_china():
    for lon, lat in [
        (2.3522, 48.8566),
        (-74.006, 40.7128),
        (139.6917, 35.6895),
    ]:  # Paris, NY, Tokyo
        assert crs.point_to_cgcs2000(lon, lat, "GCJ02") == (lon, lat)
        gx, gy = crs.wgs84_to_gcj02(lon, lat)
        assert (float(gx), float(gy)) == (lon, lat)


def test_bd09_round_trip_and_offset():
    bx, by = crs.wgs84_to_bd09(*CANTON_TOWER)
    assert distance_m(*CANTON_TOWER, float(bx), float(by)) > 500  # Baidu is further off than Amap
    lon, lat = crs.point_to_cgcs2000(float(bx), float(by), "BD09")
    assert abs(lon - CANTON_TOWER[0]) < 1e-6
    assert abs(lat - CANTON_TOWER[1]) < 1e-6
    rng = np.random.default_rng(7)
    lons, lats = rng.uniform(109.6, 117.4, 2000), rng.uniform(20.2, 25.6, 2000)
    gx, gy = crs.gcj02_to_bd09(lons, lats)
    back = crs.bd09_to_gcj02(gx, gy)
    assert np.abs(back[0] - lons).max() < 1e-7
    assert np.abs(back[1] - lats).max() < 1e-7


def test_from_cgcs2000_is_the_inverse_of_to_cgcs2000():
    for tag in ("GCJ02", "BD09", "WGS84", "CGCS2000"):
        x, y = crs.point_from_cgcs2000(*CANTON_TOWER, tag)
        lon, lat = crs.point_to_cgcs2000(x, y, tag)
        assert abs(lon - CANTON_TOWER[0]) < 1e-7 and abs(lat - CANTON_TOWER[1]) < 1e-7


def test_wgs84_and_epsg_tags_are_identity_on_cgcs2000():
    assert crs.point_to_cgcs2000(*CANTON_TOWER, "WGS84") == CANTON_TOWER
    lon, lat = crs.point_to_cgcs2000(*CANTON_TOWER, "EPSG:4326")
    assert abs(lon - CANTON_TOWER[0]) < 1e-9 and abs(lat - CANTON_TOWER[1]) < 1e-9
    # EPSG:4490 is latitude-first in its definition; input is still (lon, lat).
    lon, lat = crs.point_to_cgcs2000(*CANTON_TOWER, "epsg:4490")
    assert (lon, lat) == CANTON_TOWER


def test_vectorised_keeps_shape():
    lons = np.full((3, 4), CANTON_TOWER[0])
    lats = np.full((3, 4), CANTON_TOWER[1])
    x, y = crs.to_cgcs2000(lons, lats, "GCJ02")
    assert x.shape == (3, 4) and y.shape == (3, 4)


def test_gauss_kruger_codes_and_conversion():
    assert [crs.gauss_kruger_epsg(cm) for cm in (111, 114, 117)] == [4546, 4547, 4548]
    lon, lat = crs.from_gauss_kruger(2_555_000.0, 500_000.0, 114)
    assert abs(float(lon) - 114.0) < 1e-9  # on the central meridian
    assert 23.0 < float(lat) < 23.2
    # Zone-prefixed easting (zone 38 = CM 114E) gives the same point.
    lon2, lat2 = crs.from_gauss_kruger(2_555_000.0, 38_500_000.0, 114)
    assert (float(lon2), float(lat2)) == (float(lon), float(lat))
    # Round trip through the plane.
    north, east = crs.to_gauss_kruger(*CANTON_TOWER, 114)
    back = crs.from_gauss_kruger(north, east, 114)
    assert (
        abs(float(back[0]) - CANTON_TOWER[0]) < 1e-9
        and abs(float(back[1]) - CANTON_TOWER[1]) < 1e-9
    )
    # Same answer as the zone-prefixed EPSG code through pyproj.
    lon3, lat3 = crs.to_cgcs2000(38_500_000.0, 2_555_000.0, "EPSG:4526")
    assert abs(float(lon3) - float(lon)) < 1e-9 and abs(float(lat3) - float(lat)) < 1e-9


def test_gauss_kruger_errors():
    with pytest.raises(InvalidInput, match="中央子午线"):
        crs.from_gauss_kruger(2_555_000.0, 500_000.0, 113)
    with pytest.raises(InvalidInput, match="带号"):
        crs.from_gauss_kruger(2_555_000.0, 37_500_000.0, 114)
    with pytest.raises(InvalidInput, match="颠倒"):
        crs.from_gauss_kruger(500_000.0, 2_555_000.0, 114)


def test_unknown_tag_is_rejected():
    for tag in ("MARS", "", "EPSG:999999", None):
        with pytest.raises(InvalidInput):
            crs.to_cgcs2000(113.3, 23.1, tag)


def test_out_of_range_messages_are_chinese():
    with pytest.raises(InvalidInput, match="经度超出范围") as err:
        crs.to_cgcs2000(190.0, 23.1, "WGS84")
    assert err.value.details["reason"] == "lon_out_of_range"
    with pytest.raises(InvalidInput, match="纬度超出范围"):
        crs.to_cgcs2000(113.3, -95.0, "CGCS2000")
    with pytest.raises(InvalidInput, match="非数值"):
        crs.to_cgcs2000(float("nan"), 23.1, "CGCS2000")
    with pytest.raises(InvalidInput, match="个数不一致"):
        crs.to_cgcs2000([113.3, 113.4], [23.1], "CGCS2000")


def test_swapped_axes_are_detected():
    with pytest.raises(InvalidInput, match="颠倒") as err:
        crs.to_cgcs2000(23.1064, 113.3245, "GCJ02")
    assert err.value.details["reason"] == "axes_swapped"
    # The index of the first swapped point is reported for batches.
    with pytest.raises(InvalidInput) as err:
        crs.to_cgcs2000([113.3, 23.1], [23.1, 113.3], "WGS84")
    assert err.value.details["index"] == 1
