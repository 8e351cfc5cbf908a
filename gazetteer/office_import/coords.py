"""Coordinates of an office's file: reading number cells, guessing the coordinate system,
and turning geometries into CGCS2000 lon/lat (EPSG:4490, x = lon) through
``gazetteer.core.crs``.

The coordinate system is taken from the file when it states one (a .prj, a GeoPackage's
srs); otherwise it is guessed from the numbers and must be confirmed by the officer:

* degrees (|x| <= 180, |y| <= 90): CGCS2000 lon/lat. GCJ-02 and BD-09 cannot be told from
  the numbers (their offsets are a few hundred metres), so the officer says so.
* metres with a zone number in front of the easting (e.g. 38 512 345.6): CGCS2000 3°
  Gauss–Krüger with zone prefix, EPSG:4513 (zone 25) … 4533 (zone 45); zone 37/38/39 are
  CM 111/114/117°E = EPSG:4525/4526/4527.
* metres without the prefix: CGCS2000 3° Gauss–Krüger CM 111/114/117°E (EPSG:4546/4547/4548),
  told apart by which puts the points inside Guangdong and, where the rows name their
  division, inside that division.
"""

from __future__ import annotations

import re

import numpy as np
import shapely

from gazetteer.core import crs
from gazetteer.core.errors import InvalidInput

GK_ZONE_FIRST, GK_ZONE_LAST, GK_ZONE_FIRST_EPSG = 25, 45, 4513
GK_CM_CANDIDATES_DEG = (111, 114, 117)  # Guangdong's three 3° zones
GUANGDONG_CODE = "440000"
CRS_LABELS_ZH = {
    "CGCS2000": "CGCS2000 经纬度（EPSG:4490）",
    "WGS84": "WGS84 经纬度（按 CGCS2000 处理）",
    "GCJ02": "GCJ-02（高德、腾讯地图坐标）",
    "BD09": "BD-09（百度地图坐标）",
}
_DMS = re.compile(
    r"^\s*([+-]?\d+(?:\.\d+)?)\s*[°度]\s*(?:(\d+(?:\.\d+)?)\s*['′’分]\s*)?"
    r"(?:(\d+(?:\.\d+)?)\s*(?:\"|″|”|''|′′|秒)\s*)?([NSEW东西南北])?\s*$",
    re.IGNORECASE,
)


def zone_prefixed_epsg(zone: int) -> int:
    """EPSG code of 'CGCS2000 / 3-degree Gauss-Kruger zone {zone}' (easting carries the zone)."""
    if not GK_ZONE_FIRST <= zone <= GK_ZONE_LAST:
        raise InvalidInput(f"3° 带号应在 {GK_ZONE_FIRST}～{GK_ZONE_LAST} 之间，收到 {zone}")
    return GK_ZONE_FIRST_EPSG + zone - GK_ZONE_FIRST


def crs_label(tag: str) -> str:
    if tag in CRS_LABELS_ZH:
        return CRS_LABELS_ZH[tag]
    from pyproj import CRS

    return f"{tag} {CRS.from_user_input(tag).name}"


def parse_number(value) -> float | None:
    """A coordinate cell as a float: numbers, decimal text, or degrees-minutes-seconds
    (113°15′30.5″, 113度15分30.5秒, with an optional E/N/东/北). None when empty.
    Raises ValueError for text that is none of these."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().replace("，", ".")
    try:
        return float(text)
    except ValueError:
        pass
    match = _DMS.match(text)
    if not match:
        raise ValueError(text)
    deg, minutes, seconds, hemi = match.groups()
    sign = -1.0 if deg.startswith("-") or (hemi or "").upper() in ("S", "W", "南", "西") else 1.0
    total = abs(float(deg)) + float(minutes or 0) / 60.0 + float(seconds or 0) / 3600.0
    return sign * total


def orient_projected(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(easting, northing) metres from two columns given either way round: in Guangdong a
    Gauss–Krüger northing is 2.2–2.8 million metres, an easting either about 0.5 million or,
    zone-prefixed, 25–45 million. Chinese survey tables call the northing X."""
    swap = (x > 1_500_000) & (x < 10_000_000) & ((y < 1_500_000) | (y > 10_000_000))
    return np.where(swap, y, x), np.where(swap, x, y)


def representative_xy(geoms) -> tuple[np.ndarray, np.ndarray]:
    """x, y of a point on each geometry (NaN for None or empty), in its own units."""
    arr = np.asarray(geoms, dtype=object)
    points = shapely.point_on_surface(arr)
    return shapely.get_x(points), shapely.get_y(points)


def guess_crs(xs, ys, *, locator=None, stated_divisions=None) -> dict:
    """Candidates for the coordinate system of sample coordinates (file units), best first.

    ``xs``/``ys``: numbers as they stand in the file (x first). ``locator`` (a
    ``DivisionLocator``) scores Gauss–Krüger meridians by the share of points inside
    Guangdong; ``stated_divisions`` (per point, a set of division codes or None) by the
    share inside the division the row names. Returns {"tag", "reason_zh", "candidates":
    [{"tag", "label", "inside_guangdong", "inside_stated_division"}]}."""
    x = np.asarray(xs, dtype=float)
    y = np.asarray(ys, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if stated_divisions is not None:
        stated_divisions = [d for d, keep in zip(stated_divisions, ok, strict=False) if keep]
    if len(x) == 0:
        return {"tag": None, "reason_zh": "样本中没有坐标", "candidates": []}
    if np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        tags = ["CGCS2000", "GCJ02", "BD09"]
        reason = "坐标为经纬度（度）。CGCS2000、GCJ-02、BD-09 无法从数值区分，请确认"
    else:
        east, _north = orient_projected(x, y)
        if np.median(east) >= 10_000_000:
            zone = int(np.median(np.floor(east / 1_000_000)))
            tags = [f"EPSG:{zone_prefixed_epsg(zone)}"]
            reason = (
                f"东坐标以带号 {zone} 开头：CGCS2000 3° 带第 {zone} 带（中央子午线 {zone * 3}°E）"
            )
        else:
            tags = [f"EPSG:{crs.gauss_kruger_epsg(cm)}" for cm in GK_CM_CANDIDATES_DEG]
            reason = "东坐标无带号：CGCS2000 3° 带，中央子午线按落入广东及所注行政区的比例判断"
    candidates = [_score(tag, x, y, locator, stated_divisions) for tag in tags]
    if len(candidates) > 1 and tags[0].startswith("EPSG"):
        candidates.sort(
            key=lambda c: (-(c["inside_stated_division"] or 0), -(c["inside_guangdong"] or 0))
        )
    return {"tag": candidates[0]["tag"], "reason_zh": reason, "candidates": candidates}


def _score(tag, x, y, locator, stated_divisions) -> dict:
    out = {
        "tag": tag,
        "label": crs_label(tag),
        "inside_guangdong": None,
        "inside_stated_division": None,
    }
    if locator is None:
        return out
    try:
        px, py = to_cgcs2000_xy(x, y, tag)
    except InvalidInput:
        out["inside_guangdong"] = 0.0
        return out
    good = np.isfinite(px)
    if not good.any():
        out["inside_guangdong"] = 0.0
        return out
    levels = locator.locate_levels(np.where(good, px, 0.0), np.where(good, py, 0.0))
    inside = (levels["province"] == GUANGDONG_CODE) & good
    out["inside_guangdong"] = round(float(inside.mean()), 3)
    if stated_divisions is not None:
        hits, counted = 0, 0
        for i, codes in enumerate(stated_divisions):
            if codes:
                counted += 1
                found = {levels[lvl][i] for lvl in levels}
                hits += bool(found & codes)
        if counted:
            out["inside_stated_division"] = round(hits / counted, 3)
    return out


def to_cgcs2000_xy(x, y, tag: str) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates in ``tag`` -> CGCS2000 lon/lat degrees, point by point where the batch
    fails: a coordinate that cannot be converted becomes NaN (its row gets an error)
    instead of failing the chunk. Projected input is oriented (easting first) first."""
    tag = crs.normalise_tag(tag)
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if tag.startswith("EPSG:"):
        from pyproj import CRS

        if not CRS.from_user_input(tag).is_geographic:
            x, y = orient_projected(x, y)
    try:
        return crs.to_cgcs2000(x, y, tag)
    except InvalidInput:
        ox, oy = np.full(x.shape, np.nan), np.full(y.shape, np.nan)
        for i in range(len(x)):
            try:
                a, b = crs.to_cgcs2000(x[i : i + 1], y[i : i + 1], tag)
                ox[i], oy[i] = a[0], b[0]
            except InvalidInput:
                pass
        return ox, oy


def geoms_to_cgcs2000(geoms, tag: str) -> list:
    """Shapely geometries in ``tag`` -> CGCS2000 lon/lat (None stays None; a geometry with
    a vertex that cannot be converted becomes None, for the caller to report)."""
    arr = np.asarray(geoms, dtype=object)
    present = np.array([g is not None and not g.is_empty for g in arr], dtype=bool)
    out = [None] * len(arr)
    if not present.any():
        return out
    subset = arr[present]
    counts = shapely.get_num_coordinates(subset)
    coords = shapely.get_coordinates(subset)
    lon, lat = to_cgcs2000_xy(coords[:, 0], coords[:, 1], tag)
    bad_vertex = ~np.isfinite(lon)
    transformed = shapely.set_coordinates(
        shapely.transform(subset, lambda c: c),
        np.column_stack([np.nan_to_num(lon), np.nan_to_num(lat)]),
    )
    owner = np.repeat(np.arange(len(subset)), counts)
    broken = np.zeros(len(subset), dtype=bool)
    broken[owner[bad_vertex]] = True
    for j, i in enumerate(np.flatnonzero(present)):
        out[i] = None if broken[j] else transformed[j]
    return out
