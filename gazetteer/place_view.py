"""What the public place page shows of one record (``/place/<id>``), built from the
registry without Flask.

A member of the public sees: the name, its pinyin and the feature class in plain words;
the division chain, each level linked to its own record; meaning and origin where recorded;
former names with their dates (renames in the registry and the historical division names);
and each change with its date and approving body. Staff account names never appear: who
recorded a change is an internal fact (``place_versions.recorded_by``), and the audit log
keeps it for officers.

The map shows the record's own geometry or, for a name without one (无图形), the polygon of
the lowest division it lies in that has one (county, city or province), simplified for the
page; all CGCS2000 lon/lat.
"""

from __future__ import annotations

import re

import shapely
import sqlalchemy as sa
from shapely.geometry import mapping

from gazetteer.core.dates import date_as_known
from gazetteer.core.store import Store
from gazetteer.division_history import SOURCE_PREFIX, division_changes_of, record_periods
from gazetteer.registry import get_place, jsonable, place_history
from gazetteer.registry_tables import proposals
from gazetteer.tables import division_changes, divisions, places

# The census top classes (GB/T 18521) as a member of the public would say them.
FEATURE_CLASS_WORDS = {
    "海域": "海域（海湾、海峡等）",
    "陆地水系": "河流、湖泊等水系",
    "陆地地形": "山、岛、平原等地形",
    "行政区域": "行政区划（省、市、县、乡镇、街道）",
    "群众自治组织": "村民委员会或居民委员会（村、社区）",
    "非行政区域": "开发区、农场、林场等非行政区域",
    "居民点": "村庄、住宅区等居民点",
    "交通运输设施": "道路、桥梁、车站等交通设施",
    "水利电力通信设施": "水库、电站、通信设施等",
    "纪念地旅游景点": "纪念地、公园、旅游景点",
    "建筑物": "有地名意义的建筑物",
    "单位": "有地名意义的单位",
}
CHANGE_WORDS = {
    "baseline": "登记",
    "named": "命名",
    "renamed": "更名",
    "superseded": "被新名称取代",
    "retired": "销名",
    "corrected": "更正",
}
MAP_TOLERANCE_DEG = 0.002  # about 200 m: enough for a page map of a division
# Notes written into ``history`` by older versions named the staff account in brackets
# (2024-05-01 无图形地名上图（shenhe1）): never shown to the public.
_STAFF_NOTE = re.compile(r"(无图形地名上图)（[^）]*）")


# Keys of registry answers that name a staff account (who registered a record, who
# recorded a version). Only staff read them; ``for_reader`` drops them for everyone else.
STAFF_IDENTITY_KEYS = frozenset({"registered_by", "recorded_by"})


def without_staff_identities(data):
    """``data`` (JSON-like: dicts, lists, scalars) with every ``STAFF_IDENTITY_KEYS`` key
    removed at any depth, and staff notes in text freed of the account name."""
    if isinstance(data, dict):
        return {
            k: without_staff_identities(v) for k, v in data.items() if k not in STAFF_IDENTITY_KEYS
        }
    if isinstance(data, list):
        return [without_staff_identities(v) for v in data]
    if isinstance(data, str):
        return public_history_text(data)
    return data


def for_reader(data, actor):
    """A registry answer (record, history) as ``actor`` may read it: whole for staff,
    without staff account names for the public."""
    return data if actor.is_staff else without_staff_identities(data)


def public_history_text(text: str | None) -> str | None:
    """The record's history (来历、沿革) as the public may read it: staff notes without the
    account name."""
    if not text:
        return text
    return _STAFF_NOTE.sub(r"\1", text)


def public_source(conn, record: dict) -> str | None:
    """Where a record comes from, as a reader can look it up: for a historical division name
    the approving document and the publication the shipped table cites (not the table's
    file name and row id); otherwise the record's own ``source``."""
    key = record.get("source_key") or ""
    if not key.startswith(SOURCE_PREFIX):
        return record.get("source") or None
    row = conn.execute(
        sa.select(
            division_changes.c.document, division_changes.c.source, division_changes.c.verified
        ).where(division_changes.c.change_id == key[len(SOURCE_PREFIX) :])
    ).first()
    if row is None:
        return None
    parts = [p for p in (row.document, row.source) if p]
    return "；".join(parts) + ("" if row.verified else "（未经核实）")


def division_map(conn, code: str | None) -> dict | None:
    """{code, name, level, geometry} of the lowest division on the chain of ``code`` that
    has a polygon, simplified to ``MAP_TOLERANCE_DEG``; None when none has one."""
    if not code:
        return None
    path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
    if not path:
        return None
    rows = {
        r.code: r
        for r in conn.execute(
            sa.select(
                divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.geom
            ).where(divisions.c.code.in_(path.split("/")), divisions.c.geom.is_not(None))
        )
    }
    for c in reversed(path.split("/")):
        if c in rows:
            r = rows[c]
            geom = shapely.simplify(r.geom, MAP_TOLERANCE_DEG, preserve_topology=True)
            return {"code": r.code, "name": r.name, "level": r.level, "geometry": mapping(geom)}
    return None


def map_context(conn, code: str | None) -> dict | None:
    """What a page map draws around a place so that it is not a dot on an empty canvas: a
    GeoJSON FeatureCollection of the lowest division on the chain of ``code`` that has a
    polygon (``properties.role`` "division") and the other divisions of its level under the
    same parent (role "neighbour": its surroundings), each with ``name`` and ``code``,
    simplified to ``MAP_TOLERANCE_DEG``; CGCS2000 lon/lat. None when no division has a
    polygon."""
    home = division_map(conn, code)
    if home is None:
        return None
    parent = conn.execute(
        sa.select(divisions.c.parent_code).where(divisions.c.code == home["code"])
    ).scalar()
    rows = (
        conn.execute(
            sa.select(divisions.c.code, divisions.c.name, divisions.c.geom).where(
                divisions.c.parent_code == parent,
                divisions.c.level == home["level"],
                divisions.c.code != home["code"],
                divisions.c.geom.is_not(None),
            )
        ).all()
        if parent
        else []
    )

    def feature(code: str, name: str, geometry: dict, role: str) -> dict:
        return {
            "type": "Feature",
            "properties": {"code": code, "name": name, "role": role},
            "geometry": geometry,
        }

    return {
        "type": "FeatureCollection",
        "features": [
            feature(
                r.code,
                r.name,
                mapping(shapely.simplify(r.geom, MAP_TOLERANCE_DEG, preserve_topology=True)),
                "neighbour",
            )
            for r in rows
        ]
        + [feature(home["code"], home["name"], home["geometry"], "division")],
    }


def place_view(store: Store, place_id: int) -> dict:
    """Everything the public place page shows. Raises ``NotFound`` for an unknown id."""
    place = get_place(store, place_id, with_geometry=True)
    history = place_history(store, place_id)
    place["history"] = public_history_text(place.get("history"))
    with store.read() as conn:
        chain = (place.get("division") or {}).get("chain") or []
        codes = [d["code"] for d in chain]
        own = conn.execute(
            sa.select(places.c.own_division_code).where(places.c.id == place_id)
        ).scalar()
        if own and own not in codes:
            codes.append(own)
        ids = dict(
            conn.execute(
                sa.select(places.c.own_division_code, places.c.id).where(
                    places.c.own_division_code.in_(codes), places.c.status == "in_force"
                )
            ).all()
        )
        links = [
            {**d, "place_id": ids.get(d["code"])}
            for d in chain
            if d["code"] != own  # the place itself is the page, not a link
        ]
        proposal_ids = {v["proposal_id"] for v in history["versions"] if v["proposal_id"]}
        decided = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    proposals.c.id,
                    proposals.c.kind,
                    proposals.c.approving_body,
                    proposals.c.decision_ref,
                    proposals.c.decision_date,
                    proposals.c.announced_on,
                    proposals.c.effective_date,
                ).where(proposals.c.id.in_(proposal_ids))
            )
        }
        # A division is drawn as its polygon (its record's geometry is only a point on it);
        # a name without geometry is drawn as the division it lies in.
        map_geometry, map_of = place.get("geometry"), None
        own_map = division_map(conn, own) if own else None
        if own_map and own_map["code"] == own:
            map_geometry = own_map["geometry"]
        elif map_geometry is None:
            map_of = own_map or division_map(conn, place.get("division_code"))
            map_geometry = map_of["geometry"] if map_of else None
        # A point or a line alone says little: draw it among its division and neighbours.
        context = (
            map_context(conn, place.get("division_code"))
            if place.get("geometry") is not None and not (own_map and own_map["code"] == own)
            else None
        )
        division_changes = division_changes_of(conn, own)
        historical = {c["place_id"] for c in division_changes}
        # Historical division names know their dates only as precisely as the source
        # (often a year); their date columns hold the period's first day.
        chain_ids = {c["id"] for c in history["name_chain"]} | {place_id}
        periods = record_periods(conn, chain_ids)
        place["source"] = public_source(conn, place)

    def dates_as_known(record: dict) -> dict:
        period = periods.get(record["id"], {})
        return {
            "named_date_as_known": date_as_known(period.get("since") or record["named_date"]),
            "retired_date_as_known": date_as_known(period.get("until") or record["retired_date"]),
        }

    place.update(dates_as_known(place))
    changes = []
    for v in history["versions"]:
        p = decided.get(v["proposal_id"])
        starts_record = str(v["valid_from"]) == str(place["named_date"])
        changes.append(
            {
                "date_as_known": place["named_date_as_known"]
                if starts_record
                else date_as_known(v["valid_from"]),
                "change": v["change"],
                "change_zh": CHANGE_WORDS.get(v["change"], v["change"]),
                "name": v["name"],
                "valid_from": v["valid_from"],
                "valid_to": v["valid_to"],
                "reason": public_history_text(v["change_reason"]),
                "approving_body": p.approving_body if p else None,
                "decision_ref": p.decision_ref if p else None,
                "decision_date": jsonable(p.decision_date) if p else None,
                "announced_on": jsonable(p.announced_on) if p else None,
                "effective_date": jsonable(p.effective_date) if p else None,
            }
        )
    # Names reached through ``supersedes`` links are this record's former names; names
    # reached through ``superseded_by`` its successors (a historical name's later names).
    by_id = {c["id"]: c for c in history["name_chain"]}

    def reached(link: str) -> set[int]:
        seen, frontier = set(), [place_id]
        while frontier:
            for i in by_id.get(frontier.pop(), {}).get(link, []):
                if i not in seen and i in by_id:
                    seen.add(i)
                    frontier.append(i)
        return seen

    later = reached("superseded_by")

    def named(c: dict) -> dict:
        return {k: c[k] for k in ("id", "name", "status", "named_date", "retired_date")} | (
            dates_as_known(c)
        )

    others = [
        c
        for c in history["name_chain"]
        if c["id"] != place_id and c["name"] != place["name"] and c["id"] not in historical
    ]
    former = [named(c) for c in others if c["id"] not in later]
    successors = [named(c) for c in others if c["id"] in later]
    current = [
        c for c in history["name_chain"] if c["status"] == "in_force" and c["id"] != place_id
    ]
    return without_staff_identities(
        {
            "place": place,
            "feature_class_words": FEATURE_CLASS_WORDS.get(place["feature_class"]),
            "division_links": links,
            "map": {
                "geometry": map_geometry,
                "own_polygon": bool(own_map and own_map["code"] == own),
                "of_division": map_of and {k: map_of[k] for k in ("code", "name", "level")},
                "context": context,
            },
            "former_names": former,
            "successors": successors,
            "division_changes": division_changes,
            "current": current[0] if current and place["status"] != "in_force" else None,
            "changes": changes,
        }
    )
