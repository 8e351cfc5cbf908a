"""Map and export layers of the boundaries domain (see ``gazetteer.layers.Layer``)."""

from __future__ import annotations

import geopandas as gpd
import sqlalchemy as sa
from shapely.geometry import Point

from boundaries.io import marker_rows
from boundaries.naming import LENGTH_REASON
from boundaries.tables import boundary_lines, tri_junctions
from gazetteer.core.store import Store
from gazetteer.layers import Layer, frame_from_rows


def read_lines(store: Store) -> gpd.GeoDataFrame:
    cols = [
        boundary_lines.c[n]
        for n in (
            "id",
            "name",
            "kind",
            "side_a_code",
            "side_b_code",
            "length_km",
            "official_length_km",
            "pieces",
            "geom",
        )
    ]
    with store.read() as conn:
        rows = [r._asdict() for r in conn.execute(sa.select(*cols).order_by(boundary_lines.c.id))]
    for row in rows:
        row["length_note"] = LENGTH_REASON
    return frame_from_rows(rows)


def read_tri_junctions(store: Store) -> gpd.GeoDataFrame:
    with store.read() as conn:
        rows = [
            {
                "id": r.id,
                "name": r.name,
                "kind": r.kind,
                "codes": "/".join(r.codes),
                "geom": Point(r.lon, r.lat),
            }
            for r in conn.execute(sa.select(tri_junctions).order_by(tri_junctions.c.id))
        ]
    return frame_from_rows(rows)


def read_markers(store: Store) -> gpd.GeoDataFrame:
    return frame_from_rows(marker_rows(store))


BOUNDARY_LAYERS = (
    Layer("boundary_lines", "行政区域界线", "MultiLineString", read_lines),
    Layer("tri_junctions", "界线三交点", "Point", read_tri_junctions),
    Layer("boundary_markers", "界桩（演示数据）", "Point", read_markers, demonstration=True),
)
