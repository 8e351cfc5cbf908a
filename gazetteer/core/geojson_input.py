"""The one check for geometries that arrive from outside (API bodies, forms, uploads).

``parse_geometry`` accepts a GeoJSON geometry (dict, JSON text or bytes) or a shapely
geometry and returns a shapely geometry in CGCS2000 longitude/latitude degrees
(EPSG:4490, x = lon, y = lat), or raises ``InvalidInput`` (400) with a Chinese message that
says what is wrong — malformed JSON, a type not allowed, a position that is not two or
three finite numbers, a longitude/latitude out of range (with a hint when the axes look
swapped), a point outside China's extent, an unclosed or too short ring, an invalid
geometry (shapely's ``is_valid_reason``, e.g. a self-intersection) — or
``PayloadTooLarge`` (413) past the vertex cap. The coordinates are walked before shapely
sees them, so a huge or deeply nested document is refused early.
"""

from __future__ import annotations

import json
import math

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from gazetteer.core.errors import InvalidInput, PayloadTooLarge

ALLOWED_TYPES = ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon")
# Nesting depth of "coordinates" per type: 1 = one position.
_DEPTH = {
    "Point": 1,
    "MultiPoint": 2,
    "LineString": 2,
    "MultiLineString": 3,
    "Polygon": 3,
    "MultiPolygon": 4,
}
DEFAULT_MAX_VERTICES = 200_000  # the MAX_GEOJSON_VERTICES setting's default
# China's extent with a margin (CGCS2000 degrees): anything outside is a mistake here.
CHINA_BOX_DEG = (73.0, 3.0, 136.0, 54.0)


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_lon_lat(
    lon: float,
    lat: float,
    label: str,
    details: dict | None = None,
    *,
    keys: tuple[str, str] | None = None,
) -> None:
    """Refuse a CGCS2000 (lon, lat) position in degrees that is not finite, is given in
    (lat, lon) order, is outside -180..180 / -90..90, or lies outside China. ``label``
    names the input in the message (Chinese); ``details`` is added to the error's details.
    ``keys`` (the input's longitude and latitude keys, e.g. ``("lon", "lat")``) sets
    ``details.field`` to the one at fault: the latitude key when only the latitude is
    wrong, the longitude key otherwise (a swapped pair is about both: its first key)."""
    extra = dict(details or {})

    def refuse(message: str, lon_wrong: bool, **more):
        if keys is not None:
            extra["field"] = keys[0] if lon_wrong else keys[1]
        raise InvalidInput(message, details={**more, **extra})

    if not (math.isfinite(lon) and math.isfinite(lat)):
        refuse(f"{label}的坐标不能是 NaN 或无穷大", not math.isfinite(lon))
    if 17.0 <= lon <= 55.0 and 73.0 <= lat <= 136.0:
        refuse(
            f"{label}的坐标疑似经纬度颠倒：({lon}, {lat})。请按（经度, 纬度）顺序输入",
            True,
            lon=lon,
            lat=lat,
            reason="axes_swapped",
        )
    if not (-180.0 <= lon <= 180.0 and -90.0 <= lat <= 90.0):
        refuse(
            f"{label}的坐标超出经纬度范围（经度 -180..180，纬度 -90..90）：({lon}, {lat})",
            not -180.0 <= lon <= 180.0,
            lon=lon,
            lat=lat,
            reason="out_of_range",
        )
    minx, miny, maxx, maxy = CHINA_BOX_DEG
    if not (minx <= lon <= maxx and miny <= lat <= maxy):
        refuse(
            f"{label}的坐标超出范围：({lon}, {lat}) 不在中国范围内，"
            "应为 CGCS2000 经纬度（经度在前）",
            not minx <= lon <= maxx,
            lon=lon,
            lat=lat,
            reason="outside_china",
        )


def optional_point(
    data: dict, label: str, lon_key: str = "lon", lat_key: str = "lat"
) -> tuple[float, float] | tuple[None, None]:
    """The position ``data[lon_key], data[lat_key]`` (CGCS2000 degrees, lon first), both
    or neither: (None, None) when neither is given. Raises ``InvalidInput`` naming the
    key at fault (``details.field``) otherwise — one missing, not numbers, or refused by
    ``check_lon_lat``."""
    lon, lat = data.get(lon_key), data.get(lat_key)
    if lon is None and lat is None:
        return None, None
    for key, value in ((lon_key, lon), (lat_key, lat)):
        if value is None:
            raise InvalidInput(f"{label}的经度、纬度须同时填写", details={"field": key})
        if not _is_number(value):
            raise InvalidInput(f"{label}应为 CGCS2000 经纬度数字", details={"field": key})
    check_lon_lat(float(lon), float(lat), label, keys=(lon_key, lat_key))
    return float(lon), float(lat)


class _Walker:
    def __init__(self, max_vertices: int, field: str):
        self.max_vertices, self.field = max_vertices, field
        self.count = 0

    def position(self, pos) -> None:
        if (
            not isinstance(pos, list)
            or len(pos) not in (2, 3)
            or not all(_is_number(v) for v in pos)
        ):
            raise InvalidInput(
                f"{self.field}的坐标应为 [经度, 纬度] 或 [经度, 纬度, 高程] 数字：{str(pos)[:60]}"
            )
        check_lon_lat(pos[0], pos[1], self.field)
        self.count += 1
        if self.count > self.max_vertices:
            raise PayloadTooLarge(
                f"{self.field}的顶点超过 {self.max_vertices} 个上限，请先概化",
                details={"max_vertices": self.max_vertices},
            )

    def walk(self, coords, depth: int, geom_type: str) -> None:
        if depth == 1:
            self.position(coords)
            return
        if not isinstance(coords, list):
            raise InvalidInput(f"{self.field}的坐标结构不符合 {geom_type} 的要求")
        if depth == 2 and geom_type in ("Polygon", "MultiPolygon"):  # a ring
            if len(coords) < 4:
                raise InvalidInput(f"{self.field}的面边界至少需要 4 个坐标（首尾相同）")
            for pos in coords:
                self.position(pos)
            if coords[0][:2] != coords[-1][:2]:
                raise InvalidInput(f"{self.field}的面边界未闭合：首尾坐标应相同")
            return
        if depth == 2 and geom_type == "LineString" and len(coords) < 2:
            raise InvalidInput(f"{self.field}的线至少需要 2 个坐标")
        for item in coords:
            self.walk(item, depth - 1, geom_type)


def _load(value, field: str) -> dict:
    if isinstance(value, (bytes, bytearray)):
        try:
            value = bytes(value).decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(f"{field}不是 UTF-8 编码的文本") from None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError):
            raise InvalidInput(f"{field}不是合法的 GeoJSON（JSON 无法解析）") from None
    if not isinstance(value, dict):
        raise InvalidInput(
            f'{field}应为 GeoJSON 几何对象，如 {{"type": "Point", "coordinates": [113.26, 23.13]}}'
        )
    return value


def parse_geometry(
    value,
    *,
    field: str = "几何",
    allowed_types=ALLOWED_TYPES,
    max_vertices: int = DEFAULT_MAX_VERTICES,
) -> BaseGeometry:
    """A valid, non-empty shapely geometry of an allowed type from GeoJSON or shapely input
    (CGCS2000 lon/lat degrees). Raises ``InvalidInput`` or ``PayloadTooLarge``."""
    if isinstance(value, BaseGeometry):
        doc = (
            shapely.geometry.mapping(value)
            if not value.is_empty
            else {"type": value.geom_type, "coordinates": []}
        )
        doc = json.loads(json.dumps(doc))  # tuples -> lists, as parsed JSON would be
    else:
        doc = _load(value, field)
    geom_type = doc.get("type")
    if geom_type == "Feature":
        raise InvalidInput(f"{field}应为几何对象（geometry），而不是 Feature")
    if geom_type not in allowed_types:
        raise InvalidInput(
            f"{field}的类型应为 {', '.join(allowed_types)} 之一，收到 {str(geom_type)[:40]!r}",
            details={"allowed_types": list(allowed_types)},
        )
    coords = doc.get("coordinates")
    if not isinstance(coords, list) or not coords:
        raise InvalidInput(f"{field}缺少坐标（coordinates），或为空几何")
    _Walker(max_vertices, field).walk(coords, _DEPTH[geom_type], geom_type)
    try:
        geom = shape({"type": geom_type, "coordinates": coords})
    except Exception:  # shapely raises several types for structurally bad input
        raise InvalidInput(f"{field}不是有效的 GeoJSON 几何") from None
    if geom.is_empty:
        raise InvalidInput(f"{field}为空几何")
    reason = shapely.is_valid_reason(geom)
    if reason != "Valid Geometry":
        raise InvalidInput(
            f"{field}无效：{reason}（例如边界自相交、环方向或重叠）", details={"reason": reason}
        )
    return geom
