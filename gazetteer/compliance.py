"""The naming-compliance desk check: is a proposed name acceptable here, and where on the
map are the names it conflicts with?

``check_proposed_name`` runs the naming rules (``gazetteer.rules``) for a name, a feature
class and a place (a division code, or a point whose county is found), and locates every
conflicting record and the in-force names nearby sharing its specific term, ready to be
drawn: a record's own geometry, else a point inside the lowest division of its path that
has a polygon (flagged ``point_source = "division"``). Coordinates are CGCS2000 lon/lat
degrees. The records are located with a fixed number of queries however many there are.
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer import placement, registry, reservations
from gazetteer.core.errors import InvalidInput
from gazetteer.core.store import Store
from gazetteer.romanize import split_name
from gazetteer.rules.checker import check_name
from gazetteer.tables import FEATURE_CLASSES, divisions, places

MAX_NEARBY = 20
SEVERITY_ZH = {"blocking": "阻断", "warning": "警告", "note": "提示"}


def division_choices(store: Store, province_code: str = "440000") -> list[tuple[str, str]]:
    """[(code, label)] of the cities and counties of Guangdong, in code order; a county's
    label carries its city's name (广州市番禺区). From ``gazetteer.divisions.division_choices``,
    the one list every division picker uses."""
    from gazetteer.divisions import division_choices as choices

    return [
        (c["code"], c["label"])
        for c in choices(store, ("city", "county"))
        if c["code"].startswith(province_code[:2])
    ]


def division_path(conn, code: str | None) -> list[str]:
    """Division codes from the province down to ``code``; [] for none. Raises
    ``InvalidInput`` for an unknown code."""
    if not code:
        return []
    path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
    if path is None:
        raise InvalidInput(f"没有代码为 {code} 的行政区划", details={"field": "division_code"})
    return path.split("/")


def locate_places(conn, place_ids: list[int]) -> dict[int, dict]:
    """{id: where to draw the record}: id, name, status (and its Chinese name), class,
    division full name, version, ``point`` [lon, lat] and ``point_source`` ("place" for its
    own geometry, "division" for a point in its lowest division with a polygon)."""
    if not place_ids:
        return {}
    rows = conn.execute(
        sa.select(
            places.c.id,
            places.c.name,
            places.c.status,
            places.c.feature_class,
            places.c.division_code,
            places.c.geom,
            places.c.version,
        ).where(places.c.id.in_(place_ids))
    ).all()
    codes = {r.division_code for r in rows if r.division_code}
    paths = {
        code: path.split("/")
        for code, path in conn.execute(
            sa.select(divisions.c.code, divisions.c.path).where(divisions.c.code.in_(codes))
        )
    }
    on_paths = {c for path in paths.values() for c in path}
    division_rows = {
        r.code: r
        for r in conn.execute(
            sa.select(divisions.c.code, divisions.c.name, divisions.c.geom).where(
                divisions.c.code.in_(on_paths)
            )
        )
    }
    out = {}
    for r in rows:
        path = paths.get(r.division_code, [])
        point, source = None, "division"
        if r.geom is not None:
            p = r.geom.representative_point()
            point, source = (p.x, p.y), "place"
        else:
            for code in reversed(path):  # the lowest division with a polygon (county at best)
                geom = division_rows[code].geom if code in division_rows else None
                if geom is not None:
                    p = geom.representative_point()
                    point = (p.x, p.y)
                    break
        chain = [division_rows[c].name for c in path if c in division_rows]
        out[r.id] = {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "status_zh": registry.STATUS_NAMES_ZH[r.status],
            "feature_class": r.feature_class,
            "division": "".join(chain) if chain else None,
            "has_geometry": r.geom is not None,
            "version": r.version,
            "point": list(point) if point else None,
            "point_source": source,
        }
    return out


def check_proposed_name(
    store: Store,
    corpus,
    *,
    name=None,
    feature_class=None,
    division_code=None,
    lon=None,
    lat=None,
) -> dict:
    """The findings of the naming rules for ``name`` (a ``feature_class``) in
    ``division_code`` or at (``lon``, ``lat``) CGCS2000 degrees (its county is found when no
    code is given) — with the names reserved by proposals under way
    (``gazetteer.reservations``) — each conflict located for the map, and the in-force names of the same
    county sharing its specific term. ``corpus``: the ``NameCorpus`` to compare with.
    Raises ``InvalidInput`` for an empty or missing name, an unknown or missing class or
    division, a bad point or neither a division nor a point."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name:
        raise InvalidInput("请输入拟用名称", details={"field": "name"})
    if feature_class not in FEATURE_CLASSES:
        raise InvalidInput(
            f"请选择地名类别（{'、'.join(FEATURE_CLASSES)}）", details={"field": "feature_class"}
        )
    location = None
    code = division_code or None
    with store.read() as conn:
        if lon not in (None, "") and lat not in (None, ""):
            point = placement.validate_point(lon, lat)
            location = (point.x, point.y)
            if not code:
                county = placement.county_at(conn, point)
                code = county["code"] if county else None
        if not code:
            raise InvalidInput(
                "请选择所在行政区划，或在地图上点选位置", details={"field": "division_code"}
            )
        if not isinstance(code, str):
            raise InvalidInput(
                "division_code 应为区划代码字符串", details={"field": "division_code"}
            )
        path = division_path(conn, code)
    findings = [
        f.to_dict() for f in check_name(name, feature_class, path, corpus, location=location)
    ]
    with store.read() as conn:  # names held by proposals under way (name reservation)
        findings += reservations.reservation_findings(
            conn, name=name, feature_class=feature_class, division_code=code
        )
    conflict_ids = sorted(
        {c["id"] for f in findings for c in f["conflicts"] if isinstance(c.get("id"), int)}
    )
    specific = split_name(name)[0] or name
    county_code = next(
        (c for c in reversed(path) if len(c) == 6 and not c.endswith("00")),
        path[-1] if path else None,
    )
    nearby = registry.find_places(
        store, q=specific, division_code=county_code, limit=MAX_NEARBY, status="in_force"
    )
    with store.read() as conn:
        located = locate_places(conn, conflict_ids + [i["id"] for i in nearby["items"]])
        division = registry.division_info(conn, code)
    for f in findings:
        f["severity_zh"] = SEVERITY_ZH.get(f["severity"], f["severity"])
        f["conflicts"] = [located.get(c.get("id"), c) for c in f["conflicts"]]
    return {
        "name": name,
        "feature_class": feature_class,
        "division": division,
        "location": location,
        "findings": findings,
        "blocking": sum(f["severity"] == "blocking" for f in findings),
        "nearby": [
            located[i["id"]]
            for i in nearby["items"]
            if i["id"] in located and i["id"] not in conflict_ids
        ],
        "nearby_rule": f"同一县级区划内名称含“{specific}”的现行地名",
    }
