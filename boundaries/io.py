"""Import and export of markers and inspection records: GeoJSON, GeoPackage, CSV.

Exports are EPSG:4490 (CGCS2000 lon/lat); CSV is UTF-8 with BOM and lon_deg/lat_deg
columns (``gazetteer.layers.write_layer``). Demonstration rows carry
``is_demonstration`` and a ``label`` column reading 演示数据.

Imports validate every record before anything is written and write all of them in one
transaction: malformed input raises InvalidInput with a Chinese message naming the
record, and the store is unchanged. Inspection imports are exactly-once by record id
(this module reads the upload, ``boundaries.inspections.record_inspections`` records it).
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa
from shapely.geometry import Point

from boundaries.inspections import list_inspections
from boundaries.markers import DEMO_LABEL, register_markers
from boundaries.vocabulary import MARKER_FIELD_NAMES
from gazetteer.core.actors import require_role
from gazetteer.core.dates import utc_iso
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.cql import equals_all
from gazetteer.layers import frame_from_rows, write_layer

FORMATS = ("geojson", "csv", "gpkg")
MAX_IMPORT_RECORDS = 10_000


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def inspection_rows(store: Store, *, round_id: int | None = None) -> list[dict]:
    """Export rows of inspection records, located at the measured position where there is
    one, else at the registered position (``position`` says which)."""
    rows = []
    for r in list_inspections(store, round_id=round_id):
        measured = r["measured_lon"] is not None
        row = {k: v for k, v in r.items() if k not in ("lon", "lat")}
        row["marker"] = row.pop("marker_number")
        row["photos"] = _json_text(r["photos"])
        for key in ("inspected_at", "recorded_at", "signed_a_at", "signed_b_at"):
            row[key] = utc_iso(row[key])
        row["position"] = "measured" if measured else "registered"
        row["label"] = DEMO_LABEL if r["is_demonstration"] else ""
        row["geom"] = (
            Point(r["measured_lon"], r["measured_lat"]) if measured else Point(r["lon"], r["lat"])
        )
        rows.append(row)
    return rows


def export_markers(store: Store, fmt: str, path: Path, *, line_id: int | None = None) -> Path:
    """The markers layer (``boundaries.layers.BOUNDARY_MARKERS``), or one line's markers."""
    from boundaries.layers import BOUNDARY_MARKERS

    only_line = equals_all({"line_id": line_id}) if line_id is not None else None
    return write_layer(BOUNDARY_MARKERS.frame(store, filters=only_line), fmt, path, "markers")


def export_inspections(store: Store, fmt: str, path: Path, *, round_id: int | None = None) -> Path:
    return write_layer(
        frame_from_rows(inspection_rows(store, round_id=round_id)), fmt, path, "inspections"
    )


# ---- parsing uploads ---------------------------------------------------------------------


def parse_records(data: bytes, fmt: str) -> list[dict]:
    """Records (property dicts with ``lon``/``lat`` from the geometry where there is one)
    from GeoJSON, CSV (UTF-8, BOM optional, lon_deg/lat_deg or lon/lat columns) or GPKG bytes."""
    if fmt not in FORMATS:
        raise InvalidInput(f"不支持的导入格式：{fmt}（可选 {', '.join(FORMATS)}）")
    records = {"geojson": _parse_geojson, "csv": _parse_csv, "gpkg": _parse_gpkg}[fmt](data)
    if not records:
        raise InvalidInput("导入文件中没有记录")
    if len(records) > MAX_IMPORT_RECORDS:
        raise InvalidInput(f"一次最多导入 {MAX_IMPORT_RECORDS} 条记录")
    return records


def _parse_geojson(data: bytes) -> list[dict]:
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("GeoJSON 无法解析：请检查是否为 UTF-8 编码的合法 JSON") from None
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidInput("GeoJSON 应为 FeatureCollection", details={"field": "type"})
    if not isinstance(doc.get("features"), list):
        raise InvalidInput("GeoJSON 应为 FeatureCollection", details={"field": "features"})
    records = []
    for index, feature in enumerate(doc["features"], start=1):
        if not isinstance(feature, dict) or not isinstance(feature.get("properties"), dict):
            raise InvalidInput(f"第 {index} 个要素缺少 properties")
        record = dict(feature["properties"])
        geometry = feature.get("geometry")
        if geometry is not None:
            if not isinstance(geometry, dict) or geometry.get("type") != "Point":
                raise InvalidInput(f"第 {index} 个要素的几何应为点（Point，CGCS2000 经纬度）")
            coords = geometry.get("coordinates")
            if not isinstance(coords, list) or len(coords) < 2:
                raise InvalidInput(f"第 {index} 个要素的坐标应为 [经度, 纬度]")
            _set_position(record, coords[0], coords[1])
        records.append(record)
    return records


def _set_position(record: dict, lon, lat) -> None:
    """The geometry is the marker's registered position, or an inspection's measured one;
    an inspection exported at its registered position (position=registered) has none."""
    if "found_state" in record:
        if record.get("position") != "registered":
            record.setdefault("measured_lon", lon)
            record.setdefault("measured_lat", lat)
    else:
        record["lon"], record["lat"] = lon, lat


def _parse_csv(data: bytes) -> list[dict]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("CSV 应为 UTF-8 编码（可带 BOM）") from None
    rows = list(csv.DictReader(io.StringIO(text)))
    records = []
    for row in rows:
        record = {
            k: (v[1:] if isinstance(v, str) and v.startswith("'") and v[1:2] in "=+-@" else v)
            for k, v in row.items()
            if k
        }
        lon, lat = record.pop("lon_deg", None), record.pop("lat_deg", None)
        if lon not in (None, "") and "lon" not in record:
            _set_position(record, lon, lat)
        records.append({k: (None if v == "" else v) for k, v in record.items()})
    return records


def _parse_gpkg(data: bytes) -> list[dict]:
    import pyogrio

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.gpkg"  # our own name: the client's file name is never used
        path.write_bytes(data)
        try:
            frame = pyogrio.read_dataframe(path)
        except Exception:
            raise InvalidInput("GeoPackage 无法读取：请确认文件完整且为 GPKG 格式") from None
    if frame.crs is not None and frame.crs.to_epsg() not in (4490, 4326):
        raise InvalidInput(
            f"GeoPackage 坐标系应为 CGCS2000（EPSG:4490），实际为 {frame.crs.to_string()}"
        )
    records = []
    for index, row in enumerate(frame.to_dict("records"), start=1):
        geometry = row.pop("geometry", None)
        record = {k: (None if v != v else v) for k, v in row.items()}  # NaN -> None
        if geometry is not None:
            if geometry.geom_type != "Point":
                raise InvalidInput(f"第 {index} 条记录的几何应为点")
            _set_position(record, geometry.x, geometry.y)
        records.append(record)
    return records


# ---- imports -----------------------------------------------------------------------------

# A marker record names its line by name (``line``, as exported) or by ``line_id``.
_MARKER_FIELDS = ("line", "line_id", *MARKER_FIELD_NAMES)


def import_markers(store: Store, data: bytes, fmt: str, actor) -> dict[str, int]:
    """Register or update markers from an upload; all or nothing."""
    require_role(actor, {"officer"}, "导入界桩")
    records = [{k: r.get(k) for k in _MARKER_FIELDS if k in r} for r in parse_records(data, fmt)]
    return register_markers(store, records, actor)


_INSPECTION_FIELDS = (
    "id",
    "round_id",
    "marker",
    "marker_id",
    "found_state",
    "measured_lon",
    "measured_lat",
    "measurement_method",
    "measurement_accuracy_m",
    "notes",
    "photos",
    "inspected_at",
    "moved_confirmed",
)


def inspection_records(data: bytes, fmt: str) -> Iterator[dict]:
    """The inspection records of an upload (offline sync) as ``record_inspections`` takes
    them: text cells made the types a record has (the photo list from JSON, the moved
    confirmation from 1/true/yes/是, ids as integers). Lazy, so that the upload is read
    only once the caller's role is checked; InvalidInput names the record (第 N 条记录)."""
    for index, raw in enumerate(parse_records(data, fmt), start=1):
        record = {k: raw.get(k) for k in _INSPECTION_FIELDS if k in raw}
        if isinstance(record.get("photos"), str):
            try:
                record["photos"] = json.loads(record["photos"])
            except ValueError:
                raise InvalidInput(f"第 {index} 条记录的照片列表不是 JSON") from None
        if "moved_confirmed" in record and not isinstance(record["moved_confirmed"], bool):
            flag = str(record["moved_confirmed"]).strip().lower()
            record["moved_confirmed"] = flag in {"1", "true", "yes", "是"}
        for key in ("round_id", "marker_id"):
            if record.get(key) not in (None, ""):
                try:
                    record[key] = int(float(record[key]))
                except (TypeError, ValueError):
                    raise InvalidInput(f"第 {index} 条记录的 {key} 应为整数") from None
        yield record


def count_rows(store: Store, table) -> int:
    with store.read() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
