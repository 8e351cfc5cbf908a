"""Spatial filters that run inside the store where it can, in shapely where it cannot.

On PostgreSQL the bounding-box test is pushed down to PostGIS (``&&`` with a GiST index);
on SQLite it uses the ``minx/miny/maxx/maxy`` columns (a B-tree index) as a prefilter and
callers refine exactly with shapely. Boxes are (minx, miny, maxx, maxy) in CGCS2000
lon/lat degrees.
"""

from __future__ import annotations

from functools import lru_cache

import shapely
import sqlalchemy as sa
from shapely.geometry.base import BaseGeometry

from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import SRID

BBox = tuple[float, float, float, float]


def bbox_numbers(text: str) -> BBox:
    """The four comma-separated numbers of a ``bbox`` parameter, unchecked (their CRS and
    axis order are the caller's); raises InvalidInput when they are not four numbers."""
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInput("bbox 应为 4 个数：最小经度,最小纬度,最大经度,最大纬度")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except ValueError:
        raise InvalidInput(f"bbox 含有非数字：{text!r}") from None
    return minx, miny, maxx, maxy


def parse_bbox(text: str) -> BBox:
    """'minlon,minlat,maxlon,maxlat' in degrees -> tuple; raises InvalidInput."""
    return check_bbox(bbox_numbers(text))


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
    return bounds_overlap((table.c.minx, table.c.miny, table.c.maxx, table.c.maxy), bbox)


def bounds_overlap(bounds, bbox: BBox):
    """Rows whose bounding columns ``(minx, miny, maxx, maxy)`` (degrees; for points the
    lon/lat columns twice) overlap ``bbox``: an index-friendly prefilter on any store."""
    minx, miny, maxx, maxy = bbox
    bminx, bminy, bmaxx, bmaxy = bounds
    return sa.and_(bminx <= maxx, bmaxx >= minx, bminy <= maxy, bmaxy >= miny)


def box_intersects_clause(column, bounds, bbox: BBox, dialect: str):
    """Rows whose geometry ``column`` intersects ``bbox`` exactly (degrees, CGCS2000
    lon/lat). ``bounds`` are the row's bounding columns (minx, miny, maxx, maxy; for points
    the lon/lat columns twice), which hold the geometry.

    PostGIS: ``ST_Intersects`` on the geometry, which uses its GiST index (``&&``).
    SQLite: the bounding columns (B-tree) select candidates; a row whose bounds lie inside
    the box intersects it without decoding its geometry; only rows on the box's edge are
    tested with the shapely-backed ``ST_Intersects``."""
    if dialect == "postgresql":
        envelope = sa.func.ST_MakeEnvelope(*bbox, SRID)
        return sa.func.ST_Intersects(column, envelope)
    minx, miny, maxx, maxy = bbox
    bminx, bminy, bmaxx, bmaxy = bounds
    inside = sa.and_(bminx >= minx, bmaxx <= maxx, bminy >= miny, bmaxy <= maxy)
    return sa.and_(
        bounds_overlap(bounds, bbox),
        sa.or_(inside, intersects_clause(column, shapely.box(*bbox), dialect) == 1),
    )


def geometry_literal(geom: BaseGeometry, dialect: str):
    """A bound SQL value for a shapely geometry (CGCS2000 lon/lat) that the spatial
    functions of both stores accept: a PostGIS geometry with SRID 4490, or WKB on SQLite."""
    wkb = shapely.to_wkb(geom)
    if dialect == "postgresql":
        return sa.func.ST_GeomFromWKB(sa.literal(wkb, sa.LargeBinary), SRID)
    return sa.literal(wkb, sa.LargeBinary)


def intersects_clause(column, geom: BaseGeometry, dialect: str):
    """``ST_Intersects(column, geom)``: PostGIS's function on PostgreSQL, the shapely-backed
    function of the same name registered on every SQLite connection (see
    :func:`register_sqlite_functions`) on SQLite. Exact, and usable inside OR/NOT."""
    return sa.func.ST_Intersects(column, geometry_literal(geom, dialect))


@lru_cache(maxsize=64)
def _prepared(wkb: bytes) -> BaseGeometry:
    geom = shapely.from_wkb(wkb)
    shapely.prepare(geom)
    return geom


def _sqlite_st_intersects(a: bytes | None, b: bytes | None) -> int | None:
    if a is None or b is None:
        return None
    # the second argument is the query's literal (the same bytes row after row): parse once
    return int(_prepared(b).intersects(shapely.from_wkb(a)))


def register_sqlite_functions(dbapi_connection) -> None:
    """Give a SQLite connection the spatial SQL functions the providers use (shapely does
    the geometry; arguments are WKB). PostGIS has them natively."""
    dbapi_connection.create_function("ST_Intersects", 2, _sqlite_st_intersects, deterministic=True)


def stored_wkb(column, dialect: str):
    """The stored geometry of ``column`` as plain WKB bytes, without turning it into shapely
    (for writers that cache by the stored bytes): PostGIS's ``ST_AsBinary``, the column
    itself on SQLite (where geometries are stored as WKB)."""
    if dialect == "postgresql":
        return sa.func.ST_AsBinary(column, type_=sa.LargeBinary)
    return sa.type_coerce(column, sa.LargeBinary)
