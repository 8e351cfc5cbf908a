"""The boundary-marker (界桩) inventory, following the registration table (界桩登记表).

A marker has a number (粤桂001Q: line prefix, three-digit sequence from 001 along the
line west->east or north->south, type letter Q single / A,B paired / C,D,E triple), a
type, material, registered position (CGCS2000 lon/lat degrees) and elevation (m),
location on each side, reference objects (方位物: name, bearing_deg clockwise from north,
distance_m), installed date, responsible side and state.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from shapely.geometry import Point

from boundaries import staff
from boundaries.naming import marker_prefix
from boundaries.tables import (
    boundary_lines,
    inspections,
    maintenance_tasks,
    marker_photos,
    markers,
)
from boundaries.vocabulary import (
    MARKER_FIELD_NAMES,
    MARKER_STATES,
    MARKER_TYPES,
    STATE_NAMES,
    TYPE_LETTERS,
    TYPE_NAMES,
)
from gazetteer.core.actors import require_role
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import Conflict, InvalidInput
from gazetteer.core.store import Store, first_or_not_found, read_all
from gazetteer.core.text import optional_choice
from gazetteer.tables import divisions

DEMO_LABEL = "演示数据"
DEMO_NOTICE = "演示数据：界桩真实位置不公开，本清单为在真实界线上按固定随机种子生成的示意数据，不可作为界线依据。"
_NUMBER = re.compile(r"^(?P<prefix>\D+?)(?P<seq>\d{3})(?P<letter>[QABCDE])$")

# What a marker read returns: its id, the declared record fields and the row version.
MARKER_COLUMNS = [
    markers.c[n] for n in ("id", "line_id", "seq", "letter", *MARKER_FIELD_NAMES, "version")
]


def parse_number(number: str) -> tuple[str, int, str]:
    """(prefix, seq, letter) of a marker number; InvalidInput if malformed."""
    match = _NUMBER.match(number or "")
    if not match:
        raise InvalidInput(f"界桩编号格式应为“界线简称+三位序号+类型字母”，如 粤桂001Q：{number!r}")
    return match["prefix"], int(match["seq"]), match["letter"]


def validate_marker(data: dict, line: dict) -> dict:
    """Check one marker record against its line and return the ``markers`` column values.

    ``data`` keys: number, type, material, lon, lat (CGCS2000 degrees), elevation_m,
    location_desc_a/b, reference_objects, installed_date (ISO), responsible_side, state,
    is_demonstration. Raises InvalidInput with a Chinese message naming the field.
    """
    number = str(data.get("number") or "").strip()
    prefix, seq, letter = parse_number(number)
    if prefix != marker_prefix(line["name"]):
        raise InvalidInput(
            f"界桩 {number} 的编号前缀与界线 {line['name']} 不符（应为 {marker_prefix(line['name'])}）"
        )
    kind = data.get("type") or next((k for k, v in TYPE_LETTERS.items() if letter in v), None)
    if kind not in MARKER_TYPES:
        raise InvalidInput(f"界桩 {number} 的类型应为 {'、'.join(MARKER_TYPES)}")
    if letter not in TYPE_LETTERS[kind]:
        raise InvalidInput(f"界桩 {number} 的类型字母 {letter} 与类型 {TYPE_NAMES[kind]} 不符")
    lon, lat = (
        _coordinate(data.get("lon"), "经度", number, 73.0, 136.0),
        _coordinate(data.get("lat"), "纬度", number, 3.0, 54.0),
    )
    state = data.get("state") or "intact"
    if state not in MARKER_STATES:
        raise InvalidInput(f"界桩 {number} 的状态不可识别：{state!r}")
    side = data.get("responsible_side") or None
    if side and side not in (line["side_a_code"], line["side_b_code"]):
        raise InvalidInput(
            f"界桩 {number} 的管护方应为界线两侧之一：{line['side_a_code']} 或 {line['side_b_code']}"
        )
    return {
        "number": number,
        "line_id": line["id"],
        "seq": seq,
        "type": kind,
        "letter": letter,
        "material": _text(data.get("material"), 40),
        "lon": lon,
        "lat": lat,
        "geom": Point(lon, lat),
        "elevation_m": _optional_float(data.get("elevation_m"), "高程", number, -200.0, 9000.0),
        "location_desc_a": _text(data.get("location_desc_a"), 500),
        "location_desc_b": _text(data.get("location_desc_b"), 500),
        "reference_objects": validate_reference_objects(data.get("reference_objects"), number),
        "installed_date": parse_date(
            str(data["installed_date"])[:10] if data.get("installed_date") else None,
            f"界桩 {number} 的埋设日期",
        ),
        "responsible_side": side,
        "state": state,
        "is_demonstration": _bool(data.get("is_demonstration", False)),
    }


def validate_reference_objects(value, number: str = "") -> list[dict]:
    """方位物 list: [{name, bearing_deg 0..360, distance_m > 0}]."""
    if value in (None, ""):
        return []
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value)
        except ValueError:
            raise InvalidInput(f"界桩 {number} 的方位物应为 JSON 列表") from None
    if not isinstance(value, list):
        raise InvalidInput(f"界桩 {number} 的方位物应为列表")
    result = []
    for item in value:
        if not isinstance(item, dict) or not str(item.get("name") or "").strip():
            raise InvalidInput(f"界桩 {number} 的方位物须有名称、方位角和距离")
        bearing = _optional_float(item.get("bearing_deg"), "方位物方位角", number, 0.0, 360.0)
        distance = _optional_float(item.get("distance_m"), "方位物距离", number, 0.0, 100_000.0)
        if bearing is None or distance is None:
            raise InvalidInput(f"界桩 {number} 的方位物须有方位角（度）和距离（米）")
        result.append(
            {
                "name": str(item["name"]).strip()[:100],
                "bearing_deg": bearing,
                "distance_m": distance,
            }
        )
    return result


def _coordinate(value, label: str, number: str, low: float, high: float) -> float:
    result = _optional_float(value, label, number, low, high)
    if result is None:
        raise InvalidInput(f"界桩 {number} 缺少{label}（CGCS2000，十进制度）")
    return result


def _optional_float(value, label: str, number: str, low: float, high: float) -> float | None:
    if value in (None, ""):
        return None
    try:
        result = float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"界桩 {number} 的{label}应为数字：{value!r}") from None
    if not low <= result <= high or result != result:
        raise InvalidInput(f"界桩 {number} 的{label}超出范围 {low}–{high}：{result}")
    return result


def _text(value, limit: int) -> str | None:
    return None if value in (None, "") else str(value).strip()[:limit]


def _bool(value) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "是"}


def register_markers(store: Store, records: list[dict], actor, *, conn=None) -> dict[str, int]:
    """Insert new markers or update existing ones (matched by number), all or nothing.

    Each record names its line by ``line`` (name) or ``line_id``. Returns counts.
    """
    require_role(actor, {"officer"}, "登记界桩")
    if conn is None:
        with store.write(actor=actor) as conn:
            return register_markers(store, records, actor, conn=conn)
    lines = {
        r.id: r._asdict()
        for r in conn.execute(
            sa.select(
                boundary_lines.c.id,
                boundary_lines.c.name,
                boundary_lines.c.side_a_code,
                boundary_lines.c.side_b_code,
            )
        )
    }
    by_name = {line["name"]: line for line in lines.values()}
    counts = {"inserted": 0, "updated": 0}
    seen = set()
    for index, record in enumerate(records, start=1):
        line = by_name.get(record.get("line")) or lines.get(_int_or_none(record.get("line_id")))
        if line is None:
            raise InvalidInput(
                f"第 {index} 条记录的界线不存在：{record.get('line') or record.get('line_id')!r}"
            )
        values = validate_marker(record, line)
        if values["number"] in seen:
            raise InvalidInput(f"界桩编号重复：{values['number']}")
        seen.add(values["number"])
        old = conn.execute(
            sa.select(markers.c.id, markers.c.version).where(markers.c.number == values["number"])
        ).first()
        if old is None:
            conn.execute(markers.insert().values(**values))
            counts["inserted"] += 1
        else:
            conn.execute(
                markers.update()
                .where(markers.c.id == old.id)
                .values(**values, version=old.version + 1, updated_at=sa.func.current_timestamp())
            )
            counts["updated"] += 1
    return counts


def _int_or_none(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def list_markers(
    store: Store, *, line_id: int | None = None, state: str | None = None
) -> list[dict]:
    """Markers with their line name, ordered by line and number; ``state`` narrows to one
    state (``InvalidInput`` when it is none)."""
    query = sa.select(*MARKER_COLUMNS, boundary_lines.c.name.label("line_name")).join(
        boundary_lines, boundary_lines.c.id == markers.c.line_id
    )
    return read_all(
        store,
        query,
        boundary_lines.c.name,
        markers.c.seq,
        markers.c.letter,
        where={
            markers.c.line_id: line_id,
            markers.c.state: optional_choice(state, MARKER_STATES, "界桩状态"),
        },
    )


def get_marker(store: Store, key: int | str, *, with_history: bool = True) -> dict:
    """One marker by id or number; with its inspections, tasks and photos (newest first)."""
    # ASCII digits only: "¹".isdigit() is true but int("¹") raises.
    if isinstance(key, str) and key.isascii() and key.isdigit():
        key = int(key)
    cond = markers.c.id == key if isinstance(key, int) else markers.c.number == key
    with store.read() as conn:
        row = first_or_not_found(
            conn,
            sa.select(*MARKER_COLUMNS, boundary_lines.c.name.label("line_name"))
            .join(boundary_lines, boundary_lines.c.id == markers.c.line_id)
            .where(cond),
            f"没有编号或 ID 为 {str(key)[:80]!r} 的界桩",
            field="key",  # the path parameter of /api/boundaries/markers/{key}
        )
        marker = row._asdict()
        marker["responsible_side_name"] = (
            conn.execute(
                sa.select(divisions.c.name).where(divisions.c.code == marker["responsible_side"])
            ).scalar()
            if marker["responsible_side"]
            else None
        )
        if with_history:
            # (key, table, newest first by): the marker's history, one list per table
            for key, table, newest in (
                ("inspections", inspections, inspections.c.inspected_at),
                ("tasks", maintenance_tasks, maintenance_tasks.c.id),
                ("photos", marker_photos, marker_photos.c.id),
            ):
                query = sa.select(table).where(table.c.marker_id == marker["id"])
                marker[key] = [r._asdict() for r in conn.execute(query.order_by(newest.desc()))]
    if with_history:
        people = staff.labels(store, [i["inspected_by"] for i in marker["inspections"]])
        for record in marker["inspections"]:
            record["inspected_by_label"] = people.get(record["inspected_by"], "—")
    return marker


def marker_feature(marker: dict) -> dict:
    """A GeoJSON Feature (CGCS2000 lon/lat) of a marker row; demonstration rows say so."""
    props = {
        k: _jsonable(v)
        for k, v in marker.items()
        if k not in ("lon", "lat", "geom", "inspections", "tasks", "photos")
    }
    props["state_name"] = STATE_NAMES.get(marker["state"], marker["state"])
    props["type_name"] = TYPE_NAMES.get(marker["type"], marker["type"])
    if marker.get("is_demonstration"):
        props["label"] = DEMO_LABEL
    return {
        "type": "Feature",
        "id": marker["id"],
        "geometry": {"type": "Point", "coordinates": [marker["lon"], marker["lat"]]},
        "properties": props,
    }


def markers_feature_collection(rows: list[dict]) -> dict:
    collection = {"type": "FeatureCollection", "features": [marker_feature(r) for r in rows]}
    if any(r.get("is_demonstration") for r in rows):
        collection["notice"] = DEMO_NOTICE
        collection["label"] = DEMO_LABEL
    return collection


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def set_marker_state(conn, marker_id: int, state: str, expected_version: int | None = None) -> None:
    """Change a marker's state inside the caller's transaction (optimistic version check)."""
    query = markers.update().where(markers.c.id == marker_id)
    if expected_version is not None:
        query = query.where(markers.c.version == expected_version)
    done = conn.execute(
        query.values(
            state=state, version=markers.c.version + 1, updated_at=sa.func.current_timestamp()
        )
    )
    if done.rowcount == 0:
        raise Conflict("界桩记录已被他人修改，请刷新后重试")
