"""上图 at the scale of the seeds: the names in force that have no geometry, per county, with
the campaign's progress, the next name to place, and placement of many names at once from a
table of surveyed coordinates.

Guangzhou checked and put 1,172 geometry-less names on the map in 2019 (18,400 in all); the
shipped registry has about 28,600 such names. Progress of a county is placed / (placed +
still without geometry), where "placed" counts the records an officer put on the map
(``geometry_source = officer_placed``, one at a time or from a file).

The file is read by the office-import readers (``gazetteer.office_import.readers``: CSV,
Excel .xlsx, GeoPackage …) and its coordinates converted to CGCS2000 by the same code as an
office import (``gazetteer.office_import.coords`` over ``gazetteer.core.crs``: CGCS2000 /
WGS84 degrees, GCJ-02, BD-09, CGCS2000 3° Gauss–Krüger by EPSG code, easting/northing in
either column). :func:`batch_preview` says what each row would do; :func:`batch_apply`
places every good row in one write transaction, each placement a recorded change exactly as
a single placement is (``gazetteer.placement``); rows with an error are reported and left.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from shapely.geometry import Point

from gazetteer.core.actors import Actor, require_role
from gazetteer.core.errors import Conflict, InvalidInput
from gazetteer.core.store import Store
from gazetteer.office_import import coords
from gazetteer.office_import.readers import SourceFile
from gazetteer.placement import (
    GEOMETRY_SOURCE,
    PLACING_ROLES,
    _place,
    check_county,
    validate_point,
)
from gazetteer.registry import Clock, _row, utcnow
from gazetteer.tables import divisions, places

STAFF_ROLES = frozenset({"clerk", "officer", "approver"})
MAX_BATCH_ROWS = 20_000
# Column names a surveyed table uses for the record id and the two coordinates (first match).
ID_COLUMNS = ("place_id", "id", "地名编号", "记录编号", "编号")
X_COLUMNS = ("lon", "longitude", "x", "经度", "东坐标", "横坐标", "easting")
Y_COLUMNS = ("lat", "latitude", "y", "纬度", "北坐标", "纵坐标", "northing")
BATCH_REASON = "无图形地名上图（批量导入实测坐标）"


def _county_paths(conn) -> dict[str, dict]:
    return {
        r.code: {"code": r.code, "name": r.name, "path": r.path, "parent": r.parent_code}
        for r in conn.execute(
            sa.select(
                divisions.c.code, divisions.c.name, divisions.c.path, divisions.c.parent_code
            ).where(divisions.c.level == "county")
        )
    }


def _county_of(division_path: str | None, counties: dict[str, dict]) -> str | None:
    """The county code on a division path (codes joined by '/'), if any."""
    for code in (division_path or "").split("/"):
        if code in counties:
            return code
    return None


def progress(store: Store, actor: Actor, *, city: str | None = None) -> dict:
    """Per county (of ``city`` when given): names in force without geometry, names placed
    by officers, and the percentage placed. Staff only. ``{"counties": [{code, name, city,
    remaining, placed, total, percent}], "totals": {...}}``, counties with work first."""
    require_role(actor, STAFF_ROLES, "查看上图工作清单")
    with store.read() as conn:
        counties = _county_paths(conn)
        names = dict(conn.execute(sa.select(divisions.c.code, divisions.c.name)).all())
        paths = dict(conn.execute(sa.select(divisions.c.code, divisions.c.path)).all())
        rows = conn.execute(
            sa.select(
                places.c.division_code,
                (places.c.geom.is_(None)).label("missing"),
                sa.func.count().label("n"),
            )
            .where(
                places.c.status == "in_force",
                sa.or_(places.c.geom.is_(None), places.c.geometry_source == GEOMETRY_SOURCE),
            )
            .group_by(places.c.division_code, places.c.geom.is_(None))
        ).all()
    by_county: dict[str, dict] = {}
    for r in rows:
        county = _county_of(paths.get(r.division_code), counties)
        if county is None:
            continue
        entry = by_county.setdefault(
            county,
            {
                "code": county,
                "name": counties[county]["name"],
                "city_code": counties[county]["parent"],
                "city": names.get(counties[county]["parent"]),
                "remaining": 0,
                "placed": 0,
            },
        )
        entry["remaining" if r.missing else "placed"] += r.n
    items = [
        e
        for e in by_county.values()
        if not city or e["city_code"] == city or e["code"].startswith(city.rstrip("0"))
    ]
    for e in items:
        e["total"] = e["remaining"] + e["placed"]
        e["percent"] = round(100.0 * e["placed"] / e["total"], 1) if e["total"] else 100.0
    items.sort(key=lambda e: (e["remaining"] == 0, e["code"]))
    remaining = sum(e["remaining"] for e in items)
    placed = sum(e["placed"] for e in items)
    return {
        "counties": items,
        "totals": {
            "remaining": remaining,
            "placed": placed,
            "total": remaining + placed,
            "percent": round(100.0 * placed / (remaining + placed), 1)
            if remaining + placed
            else 100.0,
        },
    }


def unplaced(
    store: Store,
    actor: Actor,
    county: str,
    *,
    after_id: int | None = None,
    limit: int = 50,
) -> dict:
    """The names in force in ``county`` (a county code) that have no geometry, in record-id
    order after ``after_id`` (the name just placed or skipped), at most ``limit``. The first
    item is "the next name" of the fast placement page. Each item: id, name, feature class
    and type, division, version (to send back when placing), and the point of its lowest
    division with a polygon as a hint where to look (CGCS2000 lon, lat). Staff only."""
    require_role(actor, STAFF_ROLES, "查看上图工作清单")
    if not isinstance(limit, int) or not 1 <= limit <= 1000:
        raise InvalidInput("limit 应为 1～1000 的整数")
    with store.read() as conn:
        row = conn.execute(
            sa.select(divisions.c.path, divisions.c.name).where(
                divisions.c.code == county, divisions.c.level == "county"
            )
        ).first()
        if row is None:
            raise InvalidInput(f"没有代码为 {county} 的县级行政区划", details={"field": "county"})
        inside = sa.select(divisions.c.code).where(
            sa.or_(divisions.c.code == county, divisions.c.path.startswith(row.path + "/"))
        )
        query = sa.select(
            places.c.id,
            places.c.name,
            places.c.feature_class,
            places.c.feature_type,
            places.c.division_code,
            places.c.version,
        ).where(
            places.c.status == "in_force",
            places.c.geom.is_(None),
            places.c.division_code.in_(inside),
        )
        remaining = conn.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar()
        if after_id is not None:
            query = query.where(places.c.id > after_id)
        items = [r._asdict() for r in conn.execute(query.order_by(places.c.id).limit(limit))]
        hints = _division_hints(conn, {i["division_code"] for i in items})
    for i in items:
        i.update(hints.get(i["division_code"], {"division": None, "hint": None}))
    return {"county": {"code": county, "name": row.name}, "remaining": remaining, "items": items}


def _division_hints(conn, codes: set[str]) -> dict[str, dict]:
    """{code: {division (full name), hint [lon, lat] inside the lowest division with a
    polygon}} for drawing where to look."""
    out = {}
    for code in codes:
        path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
        chain = (path or code).split("/")
        rows = {
            r.code: r
            for r in conn.execute(
                sa.select(divisions.c.code, divisions.c.name, divisions.c.geom).where(
                    divisions.c.code.in_(chain)
                )
            )
        }
        hint = None
        for c in reversed(chain):
            r = rows.get(c)
            if r is not None and r.geom is not None:
                p = r.geom.representative_point()
                hint = [round(p.x, 6), round(p.y, 6)]
                break
        out[code] = {
            "division": "".join(rows[c].name for c in chain if c in rows),
            "hint": hint,
        }
    return out


# ---- placement from a table of surveyed coordinates ------------------------------------------


def _pick(columns: list[str], wanted: tuple[str, ...], given: str | None, label: str) -> str:
    if given:
        if given not in columns:
            raise InvalidInput(f"文件中没有列“{given}”", details={"columns": columns})
        return given
    lowered = {c.strip().lower(): c for c in columns}
    for name in wanted:
        if name in lowered:
            return lowered[name]
    raise InvalidInput(
        f"找不到{label}列：请命名为 {'、'.join(wanted[:4])} 之一，或在上传时指定",
        details={"columns": columns},
    )


def file_digest(path: Path) -> str:
    """SHA-256 of the file: the apply step must see the file the officer previewed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_rows(path: Path, crs_tag: str, columns: dict) -> list[dict]:
    """Rows of the file as ``{row, place_id, lon, lat, error}`` in CGCS2000 degrees."""
    source = SourceFile(path)
    info = source.info()
    id_col = _pick(info.columns, ID_COLUMNS, columns.get("id"), "地名记录编号")
    x_col = y_col = None
    out: list[dict] = []
    for chunk in source.chunks(chunk_size=5000):
        xs, ys, errors = [], [], []
        for values, geom in zip(chunk.values, chunk.geoms or [None] * len(chunk.rows), strict=True):
            error = None
            x = y = np.nan
            try:
                if geom is not None and not geom.is_empty:
                    p = geom.representative_point()
                    x, y = p.x, p.y
                else:
                    if x_col is None:
                        x_col = _pick(info.columns, X_COLUMNS, columns.get("x"), "经度（X）")
                        y_col = _pick(info.columns, Y_COLUMNS, columns.get("y"), "纬度（Y）")
                    x, y = (
                        coords.parse_number(values.get(x_col)),
                        coords.parse_number(values.get(y_col)),
                    )
                    if x is None or y is None:
                        error, x, y = "缺少坐标", np.nan, np.nan
                    elif not (np.isfinite(x) and np.isfinite(y)):
                        error, x, y = "坐标不能是 NaN 或无穷大", np.nan, np.nan
            except ValueError as exc:
                error, x, y = f"坐标无法识别：{exc}", np.nan, np.nan
            xs.append(x)
            ys.append(y)
            errors.append(error)
        lon, lat = coords.to_cgcs2000_xy(xs, ys, crs_tag)
        for i, row_number in enumerate(chunk.rows):
            raw_id = chunk.values[i].get(id_col)
            out.append(
                {
                    "row": row_number,
                    "raw_id": raw_id,
                    "lon": float(lon[i]),
                    "lat": float(lat[i]),
                    "error": errors[i]
                    or (None if np.isfinite(lon[i]) and np.isfinite(lat[i]) else "坐标无法换算"),
                }
            )
        if len(out) > MAX_BATCH_ROWS:
            raise InvalidInput(f"一次最多导入 {MAX_BATCH_ROWS} 行，请分批上传")
    return out


def _as_id(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _plan(conn, rows: list[dict]) -> list[dict]:
    """Each row's outcome: ``ok`` with the record (name, version, county) or ``error``."""
    counties = _county_paths(conn)
    seen: set[int] = set()
    plans = []
    for r in rows:
        plan = {"row": r["row"], "place_id": None, "name": None, "lon": None, "lat": None}
        place_id = _as_id(r["raw_id"])
        try:
            if place_id is None:
                raise InvalidInput(f"地名记录编号应为整数，收到“{r['raw_id'] or ''}”")
            plan["place_id"] = place_id
            if r["error"]:
                raise InvalidInput(r["error"])
            point = validate_point(r["lon"], r["lat"])
            plan["lon"], plan["lat"] = round(point.x, 7), round(point.y, 7)
            row = conn.execute(sa.select(places).where(places.c.id == place_id)).first()
            if row is None:
                raise InvalidInput(f"没有编号为 {place_id} 的地名记录")
            plan["name"] = row.name
            if place_id in seen:
                raise InvalidInput("同一地名记录在文件中出现多次")
            seen.add(place_id)
            if row.status != "in_force":
                raise InvalidInput("不是现行地名")
            if row.geom is not None:
                raise InvalidInput("已有图形，修改位置请走更正流程")
            county, path = check_county(conn, row, point)
            plan.update(
                status="ok",
                version=row.version,
                county=county["name"] if county else None,
                county_code=_county_of(path, counties),
            )
        except InvalidInput as exc:
            plan.update(status="error", error=exc.message)
        plans.append(plan)
    return plans


def batch_preview(
    store: Store, actor: Actor, path: Path, *, crs_tag, columns: dict | None = None
) -> dict:
    """What placing the file at ``path`` would do, row by row, without changing anything.
    ``crs_tag``: the coordinate system of the file's numbers (CGCS2000, WGS84, GCJ02, BD09
    or EPSG:code such as EPSG:4547 for CGCS2000 3° Gauss–Krüger CM 114°E); ``columns``:
    optional ``{id, x, y}`` column names. ``{"digest", "crs", "rows": [...], "ok", "errors"}``.
    Officers only; ``InvalidInput`` for an unreadable file or an unknown CRS."""
    require_role(actor, PLACING_ROLES, "批量上图")
    from gazetteer.core import crs

    tag = crs.normalise_tag(crs_tag)
    rows = _read_rows(Path(path), tag, columns or {})
    if not rows:
        raise InvalidInput("文件中没有数据行")
    with store.read() as conn:
        plans = _plan(conn, rows)
    ok = sum(p["status"] == "ok" for p in plans)
    digest = file_digest(Path(path))
    # The write uses exactly these settings: kept beside the file, keyed by its digest.
    _settings_path(Path(path), digest).write_text(
        json.dumps({"crs": tag, "columns": _named_columns(columns)}), encoding="utf-8"
    )
    return {
        "digest": digest,
        "crs": tag,
        "crs_label": coords.crs_label(tag),
        "rows": plans,
        "ok": ok,
        "errors": len(plans) - ok,
    }


def _settings_path(path: Path, digest: str) -> Path:
    """Where the preview of the file at ``path`` keeps its CRS and columns (not matched by
    the ``<digest>.*`` glob that finds the file)."""
    return path.parent / f"{digest}-settings.json"


def _named_columns(columns: dict | None) -> dict:
    return {k: v for k, v in (columns or {}).items() if v}


def _previewed_settings(path: Path, digest: str, crs_tag, columns: dict | None):
    """The CRS tag and columns the preview of ``digest`` used. A write naming other ones is
    refused (``Conflict``): the officer saw the positions of the previewed settings."""
    from gazetteer.core import crs

    try:
        saved = json.loads(_settings_path(path, digest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise Conflict("找不到这份文件的预览设置，请重新预览后再导入") from None
    differs = {}
    if crs_tag not in (None, "") and crs.normalise_tag(crs_tag) != saved["crs"]:
        differs["crs"] = {"previewed": saved["crs"], "requested": crs.normalise_tag(crs_tag)}
    asked = _named_columns(columns)
    if asked and asked != saved["columns"]:
        differs["columns"] = {"previewed": saved["columns"], "requested": asked}
    if differs:
        raise Conflict(
            "坐标系或列与预览时不同（预览按 "
            f"{coords.crs_label(saved['crs'])}）：请按新的设置重新预览后再导入",
            details=differs,
        )
    return saved["crs"], saved["columns"]


def batch_apply(
    store: Store,
    actor: Actor,
    path: Path,
    *,
    crs_tag,
    digest,
    columns: dict | None = None,
    clock: Clock = utcnow,
) -> dict:
    """Place every good row of the previewed file in one write transaction (all or none of
    them: a conflict on one undoes the others). ``digest`` is the preview's: a different
    file is refused (``Conflict``). The rows are read with the CRS and columns of the
    preview; ``crs_tag`` and ``columns`` may be left out, and naming others is refused
    (``Conflict``). Each placement is recorded as a single one is
    (``place_versions`` change ``corrected``, the history line, the audit log). Returns the
    plan with ``placed`` = the number placed."""
    require_role(actor, PLACING_ROLES, "批量上图")
    if not isinstance(digest, str) or digest != file_digest(Path(path)):
        raise Conflict("文件与预览时不同，请重新预览后再导入")
    tag, columns = _previewed_settings(Path(path), digest, crs_tag, columns)
    rows = _read_rows(Path(path), tag, columns)
    now = clock()
    with store.write(actor=actor) as conn:
        plans = _plan(conn, rows)  # again, under the write lock: the registry may have moved
        placed = 0
        for p in plans:
            if p["status"] != "ok":
                continue
            _place(
                conn,
                _row(conn, p["place_id"]),
                Point(p["lon"], p["lat"]),
                version=p["version"],
                reason=BATCH_REASON,
                actor=actor,
                now=now,
            )
            placed += 1
    return {
        "digest": digest,
        "crs": tag,
        "crs_label": coords.crs_label(tag),
        "rows": plans,
        "placed": placed,
        "errors": len(plans) - placed,
    }
