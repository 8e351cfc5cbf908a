"""Administrative divisions: the code tree, their polygons, and map-ready simplified forms.

Codes are the statistical division codes (6 digits down to county, 9 township, 12
village). Polygons are CGCS2000 lon/lat (EPSG:4490); ``area_km2`` is geodesic.
"""

from __future__ import annotations

import re
from functools import lru_cache

import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from gazetteer.core.account_tables import audit_log
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store, first_or_not_found
from gazetteer.tables import DIVISION_LEVELS, divisions, places

LEVELS = DIVISION_LEVELS
LEVEL_NAMES_ZH = {
    "province": "省级",
    "city": "地级",
    "county": "县级",
    "township": "乡级",
    "village": "村级",
}


def parse_code(code: str) -> str:
    """Validate a division code (digits, 6/9/12 long)."""
    if not (isinstance(code, str) and code.isdigit() and len(code) in (6, 9, 12)):
        raise InvalidInput(f"区划代码格式不正确：{code!r}（应为 6、9 或 12 位数字）")
    return code


def division_exists(conn, code) -> bool:
    """Whether ``code`` is a division on record (any level), on ``conn``."""
    found = conn.execute(sa.select(divisions.c.code).where(divisions.c.code == code)).first()
    return found is not None


def division_chain(conn, path: str) -> list[dict]:
    """[{code, name, level}] from the province down to the division whose path is given."""
    codes = path.split("/")
    rows = {
        r.code: r
        for r in conn.execute(
            sa.select(divisions.c.code, divisions.c.name, divisions.c.level).where(
                divisions.c.code.in_(codes)
            )
        )
    }
    return [{"code": c, "name": rows[c].name, "level": rows[c].level} for c in codes if c in rows]


def get_division(store: Store, code: str, *, with_geometry: bool = False) -> dict:
    """One division with its parent chain, children and place-name record id.

    Raises ``NotFound`` for an unknown code and ``InvalidInput`` for a malformed one."""
    code = parse_code(code)
    with store.read() as conn:
        row = first_or_not_found(
            conn,
            sa.select(divisions).where(divisions.c.code == code),
            f"没有代码为 {code} 的行政区划",
        )
        children = [
            r._asdict()
            for r in conn.execute(
                sa.select(divisions.c.code, divisions.c.name, divisions.c.level)
                .where(divisions.c.parent_code == code)
                .order_by(divisions.c.code)
            )
        ]
        place_id = conn.execute(
            sa.select(places.c.id).where(places.c.own_division_code == code)
        ).scalar()
        chain = division_chain(conn, row.path)
    result = {
        "code": row.code,
        "name": row.name,
        "level": row.level,
        "level_zh": LEVEL_NAMES_ZH[row.level],
        "parent_code": row.parent_code,
        "chain": chain,
        "in_guangdong": row.in_guangdong,
        "area_km2": row.area_km2,
        "has_geometry": row.geom is not None,
        "bbox": [row.minx, row.miny, row.maxx, row.maxy] if row.geom is not None else None,
        "geometry_source": row.geometry_source,
        "name_source": row.name_source,
        "place_id": place_id,
        "children": children,
    }
    if with_geometry and row.geom is not None:
        result["geometry"] = mapping(row.geom)
    return result


def simplified_division_features(store: Store, level: str, tolerance_deg: float) -> list[dict]:
    """GeoJSON features of every division of ``level`` that has a polygon, simplified as a
    coverage so that edges shared by neighbours stay shared (no slivers or gaps appear).

    ``tolerance_deg`` is the simplification tolerance in degrees (0 = full detail)."""
    if level not in ("province", "city", "county"):
        raise InvalidInput(f"只有省、市、县级区划有面数据：{level!r}")
    if not (0 <= tolerance_deg <= 0.1):
        raise InvalidInput("简化容差应在 0 到 0.1 度之间")
    # Cached per version: a renamed division is served with its new name.
    return _simplified(store, level, round(tolerance_deg, 5), divisions_version(store))


def divisions_version(store: Store) -> int | None:
    """The sequence number of the newest logged write to ``divisions`` (None before the
    first): it changes whenever a division's name or polygon may have (an index seek on
    ``ix_audit_log_table_name_id``)."""
    with store.read() as conn:
        return conn.execute(
            sa.select(sa.func.max(audit_log.c.id)).where(audit_log.c.table_name == "divisions")
        ).scalar()


@lru_cache(maxsize=32)
def _simplified(store: Store, level: str, tolerance_deg: float, version: int | None) -> list[dict]:
    query = (
        sa.select(
            divisions.c.code,
            divisions.c.name,
            divisions.c.level,
            divisions.c.parent_code,
            divisions.c.in_guangdong,
            divisions.c.area_km2,
            divisions.c.geom,
        )
        .where(divisions.c.geom.is_not(None))
        .order_by(divisions.c.code)
    )
    if level == "province":
        query = query.where(divisions.c.level == "province")
    else:
        query = query.where(divisions.c.level == level)
    with store.read() as conn:
        rows = list(conn.execute(query))
    geoms = [r.geom for r in rows]
    if tolerance_deg > 0 and geoms:
        geoms = list(shapely.coverage_simplify(geoms, tolerance_deg, simplify_boundary=True))
    geoms = [shapely.set_precision(g, 1e-5) for g in geoms]
    return [
        {
            "type": "Feature",
            "id": r.code,
            "properties": {
                "code": r.code,
                "name": r.name,
                "level": r.level,
                "parent_code": r.parent_code,
                "in_guangdong": r.in_guangdong,
                "area_km2": r.area_km2,
            },
            "geometry": mapping(g),
        }
        for r, g in zip(rows, geoms)
    ]


def division_choices(store: Store, levels=("city", "county", "township")) -> list[dict]:
    """Guangdong divisions for a picker: [{code, label}] where ``label`` is the full name
    from the city down (广州市天河区石牌街道), in code order."""
    with store.read() as conn:
        rows = conn.execute(
            sa.select(divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.path)
            .where(divisions.c.in_guangdong, divisions.c.level.in_(("city", "county", "township")))
            .order_by(divisions.c.code)
        ).all()
    names = {r.code: r.name for r in rows}
    return [
        {
            "code": r.code,
            "label": "".join(names.get(c, "") for c in r.path.split("/")[1:]) or r.name,
            "level": r.level,
        }
        for r in rows
        if r.level in levels
    ]


_PICKED = re.compile(r"[（(]\s*(\d{6}|\d{9}|\d{12})\s*[)）]\s*$")


def division_code_from_text(store: Store, text: str | None) -> str | None:
    """The division code a picker's text names: a bare code, "label（code）" as the picker
    writes it, or a name or full name that only one division has. None for empty text;
    ``InvalidInput`` listing candidates when the text is ambiguous or unknown."""
    text = (text or "").strip()
    if not text:
        return None
    if text.isdigit():
        return parse_code(text)
    picked = _PICKED.search(text)
    if picked:
        return picked.group(1)
    exact = [c for c in division_choices(store) if c["label"] == text or c["label"].endswith(text)]
    if len(exact) == 1:
        return exact[0]["code"]
    if not exact:
        raise InvalidInput(f"没有名为“{text}”的行政区划，请从列表中选择")
    listed = "、".join(f"{c['label']}（{c['code']}）" for c in exact[:8])
    raise InvalidInput(f"“{text}”有多个同名区划：{listed}，请从列表中选择")
