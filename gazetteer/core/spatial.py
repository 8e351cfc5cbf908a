"""Spatial filters that run inside the store where it can, in shapely where it cannot.

On PostgreSQL the bounding-box test is pushed down to PostGIS (``&&`` with a GiST index);
on SQLite it uses the ``minx/miny/maxx/maxy`` columns (a B-tree index) as a prefilter and
callers refine exactly with shapely. Boxes are (minx, miny, maxx, maxy) in CGCS2000
lon/lat degrees.
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import SRID

BBox = tuple[float, float, float, float]


def parse_bbox(text: str) -> BBox:
    """'minlon,minlat,maxlon,maxlat' in degrees -> tuple; raises InvalidInput."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput("bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(f"bbox 含有非数字：{text!r}") from None
    return check_bbox((minx, miny, maxx, maxy))


def check_bbox(bbox: BBox) -> BBox:
    minx, miny, maxx, maxy = bbox
    if not (
        -180 <= minx <= 180 and -180 <= maxx <= 180 and -90 <= miny <= 90 and -90 <= maxy <= 90
    ):
        raise InvalidInput("bbox 超出经纬度范围（经度 -180..180，纬度 -90..90）")
    if minx > maxx or miny > maxy:
        raise InvalidInput(
            "bbox 的最小值大于最大值（顺序应为 最小经度,最小纬度,最大经度,最大纬度）"
        )
    return bbox


def bbox_clause(table: sa.Table, bbox: BBox, dialect: str):
    """A WHERE clause selecting rows whose geometry may intersect ``bbox`` (a superset on
    SQLite; exact for the envelope test on PostGIS)."""
    minx, miny, maxx, maxy = bbox
    if dialect == "postgresql":
        envelope = sa.func.ST_MakeEnvelope(minx, miny, maxx, maxy, SRID)
        return table.c.geom.op("&&")(envelope)
    return sa.and_(
        table.c.minx <= maxx, table.c.maxx >= minx, table.c.miny <= maxy, table.c.maxy >= miny
    )
