"""Coordinate systems: the one place where input coordinates become CGCS2000.

Every coordinate the system stores or compares is CGCS2000 longitude/latitude in degrees
(EPSG:4490, x = lon, y = lat). Input must carry an explicit tag saying what it is:

* ``'CGCS2000'`` (EPSG:4490) — taken as is.
* ``'WGS84'`` (EPSG:4326) — treated as equal to CGCS2000. The two datums differ by a few
  centimetres here, far below the accuracy of anything shown on a map, and PROJ itself only
  has a ballpark (null) transformation between them, so no numeric shift is applied.
* ``'GCJ02'`` — the obfuscated "Mars" system used by Amap (高德) and Tencent maps: WGS84 plus a
  closed-form offset of a few hundred metres inside China. The inverse has no closed form and is
  solved iteratively to better than 1e-7 degrees. Outside China's bounding box no offset is
  applied (the usual ``out_of_china`` test), exactly as the map providers do.
* ``'BD09'`` — Baidu's system, a further closed-form transform on top of GCJ-02.
* ``'EPSG:NNNN'`` — any other EPSG code, transformed with pyproj (``always_xy=True``, so axis
  order is always x/easting/longitude first even for latitude-first geographic CRSs).

Gauss–Krüger 3° zones (CGCS2000, central meridians 75°E..135°E; Guangdong uses 111°, 114°,
117°) are handled by :func:`from_gauss_kruger` for survey input.

All functions raise :class:`gazetteer.core.errors.InvalidInput` (message in Chinese) on unknown
tags, out-of-range coordinates and likely swapped axes.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import shapely
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError

from gazetteer.core.errors import InvalidInput

CGCS2000_EPSG = 4490
CRS_TAGS = ("CGCS2000", "WGS84", "GCJ02", "BD09")
CRS_TAG_HELP = (
    "Coordinate system of the input: CGCS2000 (EPSG:4490), WGS84 (EPSG:4326), GCJ02 "
    "(GCJ-02), BD09 (BD-09, BD09LL) or EPSG:NNNN; case-insensitive (bd09 = BD09)"
)
_TAG_ALIASES = {
    "CGCS2000": "CGCS2000",
    "EPSG:4490": "CGCS2000",
    "4490": "CGCS2000",
    "WGS84": "WGS84",
    "WGS-84": "WGS84",
    "EPSG:4326": "WGS84",
    "4326": "WGS84",
    "GCJ02": "GCJ02",
    "GCJ-02": "GCJ02",
    "BD09": "BD09",
    "BD-09": "BD09",
    "BD09LL": "BD09",
}
# Every spelling the check knows by name (the OpenAPI document lists them as an enum).
CRS_TAG_SPELLINGS = tuple(_TAG_ALIASES)

# Krasovsky 1940 ellipsoid, as used by the published GCJ-02 algorithm.
_GCJ_A_M = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = np.pi * 3000.0 / 180.0
# The box outside which GCJ-02 applies no offset (lon_min, lat_min, lon_max, lat_max), degrees.
CHINA_BOX_DEG = (72.004, 0.8293, 137.8347, 55.8271)
# Likely swapped axes: a "longitude" that looks like a Chinese latitude and a "latitude" that
# looks like a Chinese longitude.
_SWAPPED_LON_RANGE_DEG = (17.0, 55.0)
_SWAPPED_LAT_RANGE_DEG = (73.0, 136.0)

INVERSE_TOLERANCE_DEG = 1e-9  # iteration stops well below the 1e-7 degree promise
_INVERSE_MAX_ITERATIONS = 30

# CGCS2000 3-degree Gauss-Kruger: EPSG:4534 is CM 75E, then one code per 3 degrees to CM 135E.
_GK_CM_FIRST_EPSG, _GK_CM_FIRST_DEG, _GK_CM_LAST_DEG = 4534, 75, 135
_GK_FALSE_EASTING_M = 500_000.0


# --------------------------------------------------------------------------- validation


def normalise_tag(crs_tag: str) -> str:
    """Canonical tag ('CGCS2000', 'WGS84', 'GCJ02', 'BD09' or 'EPSG:NNNN').

    Raises InvalidInput for anything else (an unknown EPSG code included)."""
    if not isinstance(crs_tag, str) or not crs_tag.strip():
        raise InvalidInput(
            "缺少坐标系标识，请注明 CGCS2000、WGS84、GCJ02 或 BD09",
            details={"field": "crs", "crs": crs_tag, "allowed": list(CRS_TAGS)},
        )
    key = crs_tag.strip().upper().replace("_", "")
    if key in _TAG_ALIASES:
        return _TAG_ALIASES[key]
    if key.startswith("EPSG:") and key[5:].isdigit():
        try:
            CRS.from_epsg(int(key[5:]))
        except CRSError:
            raise InvalidInput(
                f"未知的坐标系代码：{crs_tag}", details={"field": "crs", "crs": crs_tag}
            ) from None
        return key
    raise InvalidInput(
        f"不支持的坐标系：{crs_tag}，请使用 CGCS2000、WGS84、GCJ02、BD09 或 EPSG:代码",
        details={"field": "crs", "crs": crs_tag, "allowed": list(CRS_TAGS)},
    )


def _as_arrays(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    try:
        x = np.asarray(lons, dtype=float)
        y = np.asarray(lats, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInput("坐标必须是数字") from None
    if x.shape != y.shape:
        raise InvalidInput("经度与纬度的个数不一致", details={"lons": x.shape, "lats": y.shape})
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise InvalidInput("坐标含有非数值（NaN 或无穷大）")
    return x, y


def validate_lon_lat(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """Check longitude/latitude degrees and return them as float arrays.

    Raises InvalidInput when a longitude is outside [-180, 180] or a latitude outside
    [-90, 90], and says so when the axes look swapped (latitude given first)."""
    x, y = _as_arrays(lons, lats)
    swapped = (
        (x >= _SWAPPED_LON_RANGE_DEG[0])
        & (x <= _SWAPPED_LON_RANGE_DEG[1])
        & (y >= _SWAPPED_LAT_RANGE_DEG[0])
        & (y <= _SWAPPED_LAT_RANGE_DEG[1])
    )
    if swapped.any():
        i = int(np.flatnonzero(swapped)[0])
        raise InvalidInput(
            f"经纬度疑似颠倒：经度 {x.flat[i]}、纬度 {y.flat[i]}。请按（经度, 纬度）顺序输入",
            details={
                "field": "lon",
                "index": i,
                "lon": float(x.flat[i]),
                "lat": float(y.flat[i]),
                "reason": "axes_swapped",
            },
        )
    for axis, axis_zh, values, limit_deg in (("lon", "经度", x, 180.0), ("lat", "纬度", y, 90.0)):
        outside = (values < -limit_deg) | (values > limit_deg)
        if outside.any():
            i = int(np.flatnonzero(outside)[0])
            raise InvalidInput(
                f"{axis_zh}超出范围 [-{limit_deg:g}, {limit_deg:g}]：{values.flat[i]}",
                details={
                    "field": axis,
                    "index": i,
                    axis: float(values.flat[i]),
                    "reason": f"{axis}_out_of_range",
                },
            )
    return x, y


def out_of_china(lons, lats) -> np.ndarray:
    """True where (lon, lat) degrees lie outside the box in which GCJ-02 applies an offset."""
    x, y = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
    lon0, lat0, lon1, lat1 = CHINA_BOX_DEG
    return (x < lon0) | (x > lon1) | (y < lat0) | (y > lat1)


# --------------------------------------------------------------------------- GCJ-02 and BD-09


def _gcj_delta_deg(lons: np.ndarray, lats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat); zero outside China's box."""
    x = lons - 105.0
    y = lats - 35.0
    sqrt_abs_x = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sqrt_abs_x + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sqrt_abs_x + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lats / 180.0 * np.pi
    magic = 1.0 - _GCJ_EE * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A_M * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_GCJ_A_M / sqrt_magic * np.cos(rad_lat) * np.pi)
    outside = out_of_china(lons, lats)
    return np.where(outside, 0.0, dlon), np.where(outside, 0.0, dlat)


def wgs84_to_gcj02(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat degrees -> GCJ-02 lon/lat degrees (closed form). Arrays or scalars."""
    x, y = _as_arrays(lons, lats)
    dlon, dlat = _gcj_delta_deg(x, y)
    return x + dlon, y + dlat


def _invert(
    forward, xs: np.ndarray, ys: np.ndarray, start: tuple[np.ndarray, np.ndarray] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Solve forward(p) = (xs, ys) by fixed-point iteration from ``start`` (default: p = (xs, ys)).

    Converges because both offsets change slowly with position (their Jacobian is close to
    the identity): each step gains several digits."""
    px, py = (xs.copy(), ys.copy()) if start is None else start
    for _ in range(_INVERSE_MAX_ITERATIONS):
        fx, fy = forward(px, py)
        ex, ey = fx - xs, fy - ys
        px -= ex
        py -= ey
        if (
            max(float(np.max(np.abs(ex), initial=0.0)), float(np.max(np.abs(ey), initial=0.0)))
            < INVERSE_TOLERANCE_DEG
        ):
            break
    return px, py


def gcj02_to_wgs84(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat degrees -> WGS84 lon/lat degrees, solved iteratively (< 1e-7 degrees).
    No offset outside China's box."""
    x, y = _as_arrays(lons, lats)
    return _invert(lambda a, b: wgs84_to_gcj02(a, b), x, y)


def gcj02_to_bd09(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """GCJ-02 lon/lat degrees -> BD-09 lon/lat degrees (Baidu's closed form)."""
    x, y = _as_arrays(lons, lats)
    z = np.hypot(x, y) + 0.00002 * np.sin(y * _BD_X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _BD_X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 lon/lat degrees -> GCJ-02 lon/lat degrees.

    The commonly published reverse formula is only approximate (errors around 1e-6
    degrees); it is used as the starting point and refined iteratively."""
    x, y = _as_arrays(lons, lats)
    ax, ay = x - 0.0065, y - 0.006
    z = np.hypot(ax, ay) - 0.00002 * np.sin(ay * _BD_X_PI)
    theta = np.arctan2(ay, ax) - 0.000003 * np.cos(ax * _BD_X_PI)
    # Refine with the forward transform from the approximate start.
    return _invert(gcj02_to_bd09, x, y, start=(z * np.cos(theta), z * np.sin(theta)))


def wgs84_to_bd09(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat degrees -> BD-09 lon/lat degrees."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lons, lats))


def bd09_to_wgs84(lons, lats) -> tuple[np.ndarray, np.ndarray]:
    """BD-09 lon/lat degrees -> WGS84 lon/lat degrees (iterative, < 1e-7 degrees)."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lons, lats))


# --------------------------------------------------------------------------- public API


@lru_cache(maxsize=32)
def _transformer(source: str, target: str) -> Transformer:
    return Transformer.from_crs(source, target, always_xy=True)


def to_cgcs2000(lons, lats, crs_tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates tagged ``crs_tag`` to CGCS2000 lon/lat degrees (EPSG:4490, x=lon).

    ``lons``/``lats`` are scalars or same-shaped arrays in the input system's x/y order
    (always longitude first for geographic tags). Returns two float arrays of the input's
    shape. Raises InvalidInput for an unknown tag, out-of-range or swapped coordinates.
    WGS84 is treated as equal to CGCS2000 (centimetre-level difference)."""
    tag = normalise_tag(crs_tag)
    if tag.startswith("EPSG:"):
        x, y = _as_arrays(lons, lats)
        source = CRS.from_user_input(tag)
        if source.is_geographic:
            x, y = validate_lon_lat(x, y)
        ox, oy = _transformer(tag, f"EPSG:{CGCS2000_EPSG}").transform(x, y)
        ox, oy = np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)
        if not (np.isfinite(ox).all() and np.isfinite(oy).all()):
            raise InvalidInput(f"坐标无法从 {tag} 转换到 CGCS2000，请检查数值与坐标系")
        return validate_lon_lat(ox, oy)
    x, y = validate_lon_lat(lons, lats)
    if tag in ("CGCS2000", "WGS84"):
        return x.copy(), y.copy()
    if tag == "GCJ02":
        return gcj02_to_wgs84(x, y)
    return bd09_to_wgs84(x, y)  # BD09


def from_cgcs2000(lons, lats, crs_tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Convert CGCS2000 lon/lat degrees to ``crs_tag`` (for overlaying on Amap/Baidu tiles).

    Same conventions and errors as :func:`to_cgcs2000`."""
    tag = normalise_tag(crs_tag)
    x, y = validate_lon_lat(lons, lats)
    if tag in ("CGCS2000", "WGS84"):
        return x.copy(), y.copy()
    if tag == "GCJ02":
        return wgs84_to_gcj02(x, y)
    if tag == "BD09":
        return wgs84_to_bd09(x, y)
    ox, oy = _transformer(f"EPSG:{CGCS2000_EPSG}", tag).transform(x, y)
    return np.asarray(ox, dtype=float), np.asarray(oy, dtype=float)


def point_to_cgcs2000(lon: float, lat: float, crs_tag: str) -> tuple[float, float]:
    """Scalar form of :func:`to_cgcs2000`: one point -> (lon_deg, lat_deg) CGCS2000."""
    x, y = to_cgcs2000(lon, lat, crs_tag)
    return float(x), float(y)


def point_from_cgcs2000(lon: float, lat: float, crs_tag: str) -> tuple[float, float]:
    """Scalar form of :func:`from_cgcs2000`."""
    x, y = from_cgcs2000(lon, lat, crs_tag)
    return float(x), float(y)


# --------------------------------------------------------------------------- Gauss-Kruger


def gauss_kruger_epsg(central_meridian_deg: float) -> int:
    """EPSG code of 'CGCS2000 / 3-degree Gauss-Kruger CM {cm}E' (no zone prefix in easting).

    111 -> 4546, 114 -> 4547, 117 -> 4548. Raises InvalidInput for a meridian that is not a
    3-degree zone centre between 75E and 135E."""
    cm = float(central_meridian_deg)
    if not cm.is_integer() or int(cm) % 3 != 0 or not _GK_CM_FIRST_DEG <= cm <= _GK_CM_LAST_DEG:
        raise InvalidInput(
            f"中央子午线应为 75°～135° 之间 3 的倍数（3° 带），收到 {central_meridian_deg}",
            details={"central_meridian_deg": central_meridian_deg},
        )
    return _GK_CM_FIRST_EPSG + (int(cm) - _GK_CM_FIRST_DEG) // 3


def from_gauss_kruger(x_m, y_m, central_meridian_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """CGCS2000 3° Gauss–Krüger plane coordinates -> CGCS2000 lon/lat degrees.

    Chinese survey convention: ``x_m`` is the northing (X, 北) and ``y_m`` the easting (Y, 东)
    in metres, with the 500 000 m false easting. A zone-number prefix on the easting
    (e.g. 38 500 000.0 for zone 38 = CM 114E) is accepted when it matches the meridian.
    Scalars or arrays; returns two float arrays (lon, lat).

    Raises InvalidInput for a bad meridian, a mismatched zone prefix, or values that look
    like easting and northing given the other way round."""
    epsg = gauss_kruger_epsg(central_meridian_deg)
    north, east = _as_arrays(x_m, y_m)
    east = east.copy()
    prefixed = east >= 1_000_000.0 * 10  # a zone number (25..45) written before the easting
    if prefixed.any():
        zones = np.floor(east[prefixed] / 1_000_000.0)
        expected = int(central_meridian_deg) // 3
        if (zones != expected).any():
            raise InvalidInput(
                f"Y 坐标的带号与中央子午线 {central_meridian_deg}° 不符（应为 {expected} 带）",
                details={"zones": sorted({int(z) for z in zones})},
            )
        east[prefixed] -= zones * 1_000_000.0
    looks_swapped = (north > 100_000.0) & (north < 900_000.0) & (east > 1_000_000.0)
    if looks_swapped.any():
        raise InvalidInput(
            "高斯-克吕格坐标疑似 X/Y 颠倒：X 为北坐标（约 2 000 000～2 800 000 m），"
            "Y 为东坐标（约 500 000 m 左右）",
            details={"reason": "axes_swapped"},
        )
    if ((east < 0) | (east > 1_000_000.0) | (north < 0) | (north > 10_000_000.0)).any():
        raise InvalidInput("高斯-克吕格坐标超出 3° 带的合理范围", details={"epsg": epsg})
    lon, lat = _transformer(f"EPSG:{epsg}", f"EPSG:{CGCS2000_EPSG}").transform(east, north)
    return validate_lon_lat(lon, lat)


def to_gauss_kruger(lons, lats, central_meridian_deg: float) -> tuple[np.ndarray, np.ndarray]:
    """CGCS2000 lon/lat degrees -> 3° Gauss–Krüger (x_m northing, y_m easting), no zone prefix."""
    epsg = gauss_kruger_epsg(central_meridian_deg)
    x, y = validate_lon_lat(lons, lats)
    east, north = _transformer(f"EPSG:{CGCS2000_EPSG}", f"EPSG:{epsg}").transform(x, y)
    return np.asarray(north, dtype=float), np.asarray(east, dtype=float)


# --------------------------------------------------------------------------- OGC API CRS URIs

CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
CGCS2000_URI = EPSG_URI.format(CGCS2000_EPSG)
# What the OGC API offers for output and bbox-crs, and why each:
#   CRS84 (lon/lat; the GeoJSON default), EPSG:4490 (CGCS2000, China's legal system and the
#   storage CRS; lat/lon axis order by EPSG), EPSG:4326 (WGS 84, what most clients ask for;
#   equal to CGCS2000 to centimetres here), EPSG:3857 (web map tiles), EPSG:4547 (CGCS2000
#   3-degree Gauss-Kruger, central meridian 114°E: the survey grid of central Guangdong).
OGC_CRS_URIS = (
    CRS84_URI,
    CGCS2000_URI,
    EPSG_URI.format(4326),
    EPSG_URI.format(3857),
    EPSG_URI.format(4547),
)


@lru_cache(maxsize=16)
def _ogc_crs(uri: str) -> tuple[CRS, bool]:
    """(pyproj CRS, whether its first axis is north/south, i.e. latitude or northing first)."""
    crs = CRS.from_user_input(
        "OGC:CRS84"
        if uri == CRS84_URI
        else uri.replace("http://www.opengis.net/def/crs/EPSG/0/", "EPSG:")
    )
    return crs, crs.axis_info[0].direction in ("north", "south")


def check_ogc_crs(uri: str) -> str:
    """``uri`` if it is one of :data:`OGC_CRS_URIS`; raises InvalidInput otherwise."""
    if uri not in OGC_CRS_URIS:
        raise InvalidInput(
            f"不支持的坐标参考系：{uri}",
            details={"crs": uri, "supported": list(OGC_CRS_URIS)},
        )
    return uri


def _cgcs2000_equivalent(crs: CRS) -> bool:
    # CRS84, CGCS2000 and WGS 84 geographic: the same numbers (see the module docstring).
    return crs.is_geographic and crs.to_epsg() in (None, 4326, CGCS2000_EPSG)


def geometries_to_ogc_crs(geoms, uri: str):
    """Shapely geometries in CGCS2000 lon/lat -> the same in ``uri``, in that CRS's own axis
    order (EPSG:4490 and EPSG:4326 are latitude first, CRS84 longitude first; EPSG:4547 is
    northing first). Vectorised over an array of geometries."""
    crs, swap = _ogc_crs(check_ogc_crs(uri))
    if uri == CRS84_URI:
        return geoms
    if _cgcs2000_equivalent(crs):
        return shapely.transform(geoms, lambda xy: xy[:, ::-1]) if swap else geoms
    transformer = _transformer(f"EPSG:{CGCS2000_EPSG}", crs.to_string())

    def forward(xy):
        x, y = transformer.transform(xy[:, 0], xy[:, 1])
        out = np.column_stack([y, x] if swap else [x, y])
        return out

    return shapely.transform(geoms, forward)


def geometry_from_ogc_crs(geom, uri: str):
    """A shapely geometry given in ``uri`` (its own axis order) -> CGCS2000 lon/lat."""
    crs, swap = _ogc_crs(check_ogc_crs(uri))
    if uri == CRS84_URI:
        return geom
    xy_first = shapely.transform(geom, lambda xy: xy[:, ::-1]) if swap else geom
    if _cgcs2000_equivalent(crs):
        return xy_first
    transformer = _transformer(crs.to_string(), f"EPSG:{CGCS2000_EPSG}")
    return shapely.transform(
        xy_first, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1]))
    )
