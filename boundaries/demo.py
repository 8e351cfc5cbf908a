"""Demonstration marker inventory on the real derived lines.

Real marker positions are not public, so the inventory is generated: 33 markers on
粤桂线 and 153 over 8 Guangdong city lines (the 2020 figures of the provincial report).
Generation is deterministic (``random.Random(seed)``) and every row carries
``is_demonstration = true``; pages, exports and the API label such rows 演示数据.

Placement: numbers run from 001 along the line, west->east when the line is wider than
tall, otherwise north->south. Single markers (Q) sit on the line; paired markers (A/B)
stand 10-25 m either side of it (as on two river banks), A on side A; a line end at a
tri-junction gets a triple marker (C). Odd numbers are kept by side A, even by side B
(a common split of upkeep). Elevations are invented (no DEM is shipped).
"""

from __future__ import annotations

import datetime as dt
import random

import numpy as np
import shapely
import sqlalchemy as sa
from shapely.geometry import LineString, Point

from boundaries import lines as line_service
from boundaries.markers import validate_marker
from boundaries.naming import marker_prefix
from boundaries.tables import boundary_lines, markers, tri_junctions
from gazetteer.core.geodesy import bearing_distance, destination
from gazetteer.core.store import Store
from gazetteer.tables import divisions

PROVINCIAL_PLAN = (("粤桂线", 33),)
# Eight real inter-city lines around the 韶惠线 named in the plans; all share an edge in
# the shipped data (verified by tests/test_lines.py).
CITY_LINES = ("韶惠线", "广韶线", "韶河线", "惠河线", "深惠线", "广惠线", "汕潮线", "潮揭线")
CITY_MARKERS_TOTAL = 153
PAIRED_SHARE = 0.1
MATERIALS = ("花岗岩", "花岗岩", "钢筋混凝土")
REFERENCE_NAMES = (
    "独立树",
    "电杆",
    "水泥路交叉口",
    "小桥",
    "民房墙角",
    "山顶三角点",
    "水渠闸口",
    "坟地界石",
)


def split_by_length(total: int, lengths_km: list[float], minimum: int = 4) -> list[int]:
    """Distribute ``total`` markers over lines in proportion to their lengths (largest
    remainder), each line getting at least ``minimum``."""
    base = [minimum] * len(lengths_km)
    rest = total - sum(base)
    shares = [rest * length / sum(lengths_km) for length in lengths_km]
    counts = [b + int(s) for b, s in zip(base, shares)]
    order = sorted(range(len(shares)), key=lambda i: shares[i] - int(shares[i]), reverse=True)
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def _oriented(geom) -> LineString:
    """The line's pieces joined in numbering order (west->east or north->south)."""
    minx, miny, maxx, maxy = geom.bounds
    west_east = (maxx - minx) >= (maxy - miny)
    pieces = []
    for piece in shapely.get_parts(geom):
        coords = shapely.get_coordinates(piece)
        if (west_east and coords[0, 0] > coords[-1, 0]) or (
            not west_east and coords[0, 1] < coords[-1, 1]
        ):
            coords = coords[::-1]
        pieces.append(coords)
    pieces.sort(key=lambda c: c[0, 0] if west_east else -c[0, 1])
    return LineString(np.vstack(pieces))


def _point_at(line: LineString, fraction: float) -> tuple[float, float, float]:
    """(lon, lat, local azimuth_deg of the line) at a fraction of the line's length."""
    fraction = min(max(fraction, 0.0), 1.0)
    p = line.interpolate(fraction, normalized=True)
    a = line.interpolate(max(fraction - 0.002, 0.0), normalized=True)
    b = line.interpolate(min(fraction + 0.002, 1.0), normalized=True)
    azimuth, _ = bearing_distance(a.x, a.y, b.x, b.y)
    return p.x, p.y, azimuth


def _marker_records(
    line: dict,
    geom,
    count: int,
    rng: random.Random,
    junctions: list[tuple[float, float]],
    side_a_geom,
    names: dict[str, str],
) -> list[dict]:
    path = _oriented(geom)
    ends = [tuple(path.coords[0]), tuple(path.coords[-1])]
    at_junction = [
        any(abs(e[0] - j[0]) < 1e-6 and abs(e[1] - j[1]) < 1e-6 for j in junctions) for e in ends
    ]
    paired = max(1, round(count * PAIRED_SHARE))
    numbers = count - paired  # a paired number is two physical markers
    paired_seqs = set(rng.sample(range(2, numbers), paired))
    prefix = marker_prefix(line["name"])
    records = []
    for seq in range(1, numbers + 1):
        if seq == 1 and at_junction[0]:
            fraction, kind = 0.0, "triple"
        elif seq == numbers and at_junction[1]:
            fraction, kind = 1.0, "triple"
        else:
            fraction = (seq - 0.5 + rng.uniform(-0.3, 0.3)) / numbers
            kind = "paired" if seq in paired_seqs else "single"
        lon, lat, azimuth = _point_at(path, fraction)
        base = _base_record(line, seq, rng, names)
        if kind == "paired":
            offset = rng.uniform(10.0, 25.0)
            left = destination(lon, lat, azimuth - 90.0, offset)
            right = destination(lon, lat, azimuth + 90.0, offset)
            a_pos, b_pos = (left, right) if side_a_geom.contains(Point(left)) else (right, left)
            for letter, (plon, plat) in (("A", a_pos), ("B", b_pos)):
                records.append(
                    {
                        **base,
                        "number": f"{prefix}{seq:03d}{letter}",
                        "type": kind,
                        "lon": round(plon, 7),
                        "lat": round(plat, 7),
                        "reference_objects": _references(rng),
                    }
                )
        else:
            letter = "C" if kind == "triple" else "Q"
            records.append(
                {
                    **base,
                    "number": f"{prefix}{seq:03d}{letter}",
                    "type": kind,
                    "lon": round(lon, 7),
                    "lat": round(lat, 7),
                    "reference_objects": _references(rng),
                }
            )
    return records


def _base_record(line: dict, seq: int, rng: random.Random, names: dict[str, str]) -> dict:
    first_year = 2001 if line["kind"] == "provincial" else 2006
    installed = dt.date(first_year, 1, 1) + dt.timedelta(days=rng.randrange(0, 3 * 365))
    side = line["side_a_code"] if seq % 2 else line["side_b_code"]
    return {
        "material": rng.choice(MATERIALS),
        "elevation_m": round(rng.uniform(30.0, 900.0), 1),
        "location_desc_a": f"{names[line['side_a_code']]}一侧（演示数据，位置为生成的示意位置）",
        "location_desc_b": f"{names[line['side_b_code']]}一侧（演示数据，位置为生成的示意位置）",
        "installed_date": installed.isoformat(),
        "responsible_side": side,
        "state": "intact",
        "is_demonstration": True,
    }


def _references(rng: random.Random) -> list[dict]:
    chosen = rng.sample(REFERENCE_NAMES, 3)
    return [
        {
            "name": name,
            "bearing_deg": round(rng.uniform(0.0, 360.0), 1),
            "distance_m": round(rng.uniform(15.0, 300.0), 1),
        }
        for name in chosen
    ]


def demo_plan(store: Store) -> list[tuple[str, int]]:
    """(line name, marker count) pairs: 33 on 粤桂线, 153 split over the 8 city lines by length."""
    with store.read() as conn:
        lengths = dict(
            conn.execute(
                sa.select(boundary_lines.c.name, boundary_lines.c.length_km).where(
                    boundary_lines.c.name.in_(CITY_LINES)
                )
            ).all()
        )
    missing = [n for n in CITY_LINES if n not in lengths]
    if missing:
        raise LookupError(f"lines missing from the store: {missing}")
    counts = split_by_length(CITY_MARKERS_TOTAL, [lengths[n] for n in CITY_LINES])
    return [*PROVINCIAL_PLAN, *zip(CITY_LINES, counts)]


def generate_demo_markers(store: Store, seed: int = 2020) -> dict[str, int]:
    """Create the demonstration inventory (derives the lines first if there are none).

    Idempotent: a line that already has markers is left alone. Returns markers created per line.
    """
    with store.read() as conn:
        has_lines = conn.execute(sa.select(sa.func.count()).select_from(boundary_lines)).scalar()
    if not has_lines:
        line_service.rebuild_lines(store)
    created: dict[str, int] = {}
    with store.write(actor="system:demo-markers") as conn:
        names = dict(conn.execute(sa.select(divisions.c.code, divisions.c.name)).all())
        junctions = [
            (r.lon, r.lat)
            for r in conn.execute(sa.select(tri_junctions.c.lon, tri_junctions.c.lat))
        ]
        for name, count in demo_plan(store):
            line = (
                conn.execute(sa.select(boundary_lines).where(boundary_lines.c.name == name))
                .first()
                ._asdict()
            )
            if conn.execute(
                sa.select(sa.func.count())
                .select_from(markers)
                .where(markers.c.line_id == line["id"])
            ).scalar():
                created[name] = 0
                continue
            side_a_geom = conn.execute(
                sa.select(divisions.c.geom).where(divisions.c.code == line["side_a_code"])
            ).scalar()
            # One generator per line, seeded from (seed, line): a line's markers do not
            # change when another line is added to the plan.
            rng = random.Random(f"{seed}:{name}")
            records = _marker_records(line, line["geom"], count, rng, junctions, side_a_geom, names)
            conn.execute(markers.insert(), [validate_marker(r, line) for r in records])
            created[name] = len(records)
    return created
