"""Map layers of the gazetteer, and writing any layer out as GeoJSON, GeoPackage or CSV.

A ``Layer`` knows how to read itself from the store into a GeoDataFrame (CGCS2000,
EPSG:4490, lon/lat). The boundaries package defines its own layers the same way; the
web app and the CLI put both lists together.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import sqlalchemy as sa

from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.tables import divisions, places

CRS = "EPSG:4490"
EXPORT_FORMATS = ("geojson", "gpkg", "csv")


@dataclass(frozen=True)
class Layer:
    name: str
    title: str  # shown to people, Chinese
    geometry_type: str
    read: Callable[[Store], gpd.GeoDataFrame]
    demonstration: bool = False  # True: not real data, labelled wherever it shows


def frame_from_rows(rows: list[dict], geometry_column: str = "geom") -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4490 from row dicts holding shapely geometries (or None)."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    geometry = gpd.GeoSeries(frame.pop(geometry_column), crs=CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


def read_divisions(store: Store) -> gpd.GeoDataFrame:
    cols = [
        divisions.c.code,
        divisions.c.name,
        divisions.c.level,
        divisions.c.parent_code,
        divisions.c.in_guangdong,
        divisions.c.area_km2,
        divisions.c.geometry_source,
        divisions.c.geom,
    ]
    with store.read() as conn:
        rows = [
            r._asdict()
            for r in conn.execute(
                sa.select(*cols).where(divisions.c.geom.is_not(None)).order_by(divisions.c.code)
            )
        ]
    return frame_from_rows(rows)


def read_places(store: Store) -> gpd.GeoDataFrame:
    cols = [
        places.c.id,
        places.c.name,
        places.c.romanized,
        places.c.feature_class,
        places.c.feature_type,
        places.c.division_code,
        places.c.status,
        places.c.source,
        places.c.geom,
    ]
    with store.read() as conn:
        rows = [r._asdict() for r in conn.execute(sa.select(*cols).order_by(places.c.id))]
    for row in rows:
        row["has_geometry"] = row["geom"] is not None
    return frame_from_rows(rows)


GAZETTEER_LAYERS = (
    Layer("divisions", "行政区划", "MultiPolygon", read_divisions),
    Layer("places", "地名", "Point", read_places),
)

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value):
    """Make a text cell safe for spreadsheets: a leading = + - @ (formula injection, CWE-1236)
    gets a leading apostrophe so Excel/WPS shows it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def write_layer(frame: gpd.GeoDataFrame, fmt: str, path: Path, layer_name: str) -> Path:
    """Write ``frame`` to ``path`` as geojson, gpkg or csv (UTF-8 with BOM so Excel and WPS
    read Chinese; points as lon/lat columns, other geometries as their representative
    point, because spreadsheet cells cannot hold real polygons)."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"不支持的导出格式：{fmt}（可选 {', '.join(EXPORT_FORMATS)}）")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    elif fmt == "gpkg":
        frame.to_file(path, driver="GPKG", layer=layer_name, engine="pyogrio")
    else:
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        points = frame.geometry.representative_point()
        table["lon_deg"] = [None if p is None or p.is_empty else round(p.x, 7) for p in points]
        table["lat_deg"] = [None if p is None or p.is_empty else round(p.y, 7) for p in points]
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(table.columns)
            for row in table.itertuples(index=False):
                writer.writerow([neutralise_csv_cell(v) if not pd.isna(v) else "" for v in row])
    return path
