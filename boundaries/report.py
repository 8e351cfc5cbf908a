"""The round report: per line, km inspected, markers inspected and by state, tasks opened
and closed, open dispute risks, a map; and its GeoPackage export.

km inspected is the geodesic length (CGCS2000) of the stretch of the line between the
first and last inspected markers (projected onto the line), of the generalised line
geometry, so it is shorter than the surveyed length just as the line itself is.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import shapely
import sqlalchemy as sa
from shapely.ops import substring

from boundaries import inspections as inspection_service
from boundaries import staff
from boundaries.demo import _oriented
from boundaries.markers import DEMO_NOTICE, list_markers
from boundaries.naming import LENGTH_REASON
from boundaries.tables import boundary_lines, disputes, maintenance_tasks
from boundaries.vocabulary import FOUND_STATES, STATE_COLOURS, STATE_NAMES, UNINSPECTED
from gazetteer.core.geodesy import length_m
from gazetteer.core.store import Store
from gazetteer.cql import equals_all
from gazetteer.layers import frame_from_rows, write_layer
from gazetteer.tables import divisions


def km_between_markers(line_geom, points: list[tuple[float, float]]) -> float:
    """Geodesic km of the line between the extreme projections of ``points`` (lon, lat)."""
    if len(points) < 2:
        return 0.0
    path = _oriented(line_geom)
    positions = shapely.line_locate_point(path, shapely.points(points))
    stretch = substring(path, float(positions.min()), float(positions.max()))
    return round(length_m(stretch) / 1000.0, 3) if stretch.length > 0 else 0.0


def round_report(store: Store, round_id: int) -> dict:
    """Totals of one round (dict; lengths in km). Raises NotFound for an unknown round."""
    rnd = inspection_service.get_round(store, round_id)
    records = inspection_service.list_inspections(store, round_id=round_id)
    markers = [m for m in list_markers(store, line_id=rnd["line_id"]) if m["state"] != "retired"]
    with store.read() as conn:
        line = (
            conn.execute(sa.select(boundary_lines).where(boundary_lines.c.id == rnd["line_id"]))
            .first()
            ._asdict()
        )
        tasks = conn.execute(
            sa.select(maintenance_tasks.c.status, sa.func.count())
            .where(maintenance_tasks.c.round_id == round_id)
            .group_by(maintenance_tasks.c.status)
        ).all()
        open_disputes = conn.execute(
            sa.select(sa.func.count())
            .select_from(disputes)
            .where(disputes.c.line_id == rnd["line_id"], disputes.c.status != "resolved")
        ).scalar()
    task_counts = dict(tasks)
    by_state = Counter(r["assessed_state"] for r in records)
    problems = [
        {
            "marker": r["marker_number"],
            "state": r["assessed_state"],
            "flagged_moved": r["flagged_moved"],
            "displacement_m": r["displacement_m"],
            "notes": r["notes"],
        }
        for r in records
        if r["assessed_state"] != "intact" or r["flagged_moved"]
    ]
    section = [m for m in markers if inspection_service.in_section(rnd, m["seq"])]
    entry = {
        "line_id": line["id"],
        "line_name": line["name"],
        "length_km": line["length_km"],
        "official_length_km": line["official_length_km"],
        "length_note": LENGTH_REASON,
        "km_inspected": km_between_markers(line["geom"], [(r["lon"], r["lat"]) for r in records]),
        "markers_total": len(section),
        "markers_inspected": len(records),
        "section_walked": (
            f"{records[0]['marker_number']} 至 {records[-1]['marker_number']}" if records else None
        ),
        "problems": problems,
        "markers_by_state": {s: by_state.get(s, 0) for s in FOUND_STATES},
        "flagged_moved": sum(1 for r in records if r["flagged_moved"]),
        "signed_by_both": sum(1 for r in records if inspection_service.is_signed_by_both(r)),
        "tasks_opened": sum(task_counts.values()),
        "tasks_closed": task_counts.get("done", 0) + task_counts.get("cancelled", 0),
        "tasks_open": task_counts.get("open", 0) + task_counts.get("in_progress", 0),
        "disputes_open": open_disputes,
    }
    # The round's own label follows the round; demonstration marker positions are said
    # separately (a real round may walk a line whose inventory is still the demonstration one).
    demonstration = bool(rnd["is_demonstration"])
    demo_markers = any(m["is_demonstration"] for m in section)
    people = staff.profiles(
        store,
        [
            *(u for t in rnd["teams"] for u in (t["leader"], *t["members"])),
            *(r["inspected_by"] for r in records),
            *(r["signed_a_by"] for r in records),
            *(r["signed_b_by"] for r in records),
            rnd["concluded_a_by"],
            rnd["concluded_b_by"],
            rnd["created_by"],
        ],
    )
    with store.read() as conn:
        side_names = dict(
            conn.execute(
                sa.select(divisions.c.code, divisions.c.name).where(
                    divisions.c.code.in_([rnd["side_a_code"], rnd["side_b_code"]])
                )
            ).all()
        )
    totals = {
        k: entry[k]
        for k in (
            "km_inspected",
            "markers_total",
            "markers_inspected",
            "flagged_moved",
            "signed_by_both",
            "tasks_opened",
            "tasks_closed",
            "tasks_open",
            "disputes_open",
        )
    }
    return {
        "round": rnd,
        "lines": [entry],
        "totals": totals,
        "inspections": records,
        "demonstration": demonstration,
        "notice": DEMO_NOTICE if demonstration else None,
        "demonstration_markers": demo_markers,
        "markers_notice": DEMO_NOTICE if demo_markers else None,
        "people": {u: staff.person_label(p) for u, p in people.items()},
        "side_names": side_names,
        "state_names": STATE_NAMES,
    }


def round_map(
    store: Store, round_id: int, *, leaflet_prefix: str = "/static/vendor/leaflet"
) -> dict[str, str]:
    """A folium map of the round's line and markers, as {header, html, script} fragments for
    embedding in a page. Leaflet comes from the app's own files, never a CDN."""
    import folium

    rnd = inspection_service.get_round(store, round_id)
    found = {
        r["marker_id"]: r for r in inspection_service.list_inspections(store, round_id=round_id)
    }
    with store.read() as conn:
        geom = conn.execute(
            sa.select(boundary_lines.c.geom).where(boundary_lines.c.id == rnd["line_id"])
        ).scalar()
    minx, miny, maxx, maxy = geom.bounds
    fmap = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2], tiles=None, control_scale=True
    )
    # Instance attributes shadow folium's CDN lists: only the local Leaflet is loaded.
    fmap.default_js = [("leaflet", f"{leaflet_prefix}/leaflet.js")]
    fmap.default_css = [("leaflet_css", f"{leaflet_prefix}/leaflet.css")]
    for piece in shapely.get_parts(geom):
        folium.PolyLine(
            [(y, x) for x, y in piece.coords], color="#b71c1c", weight=3, tooltip=rnd["line_name"]
        ).add_to(fmap)
    for marker in list_markers(store, line_id=rnd["line_id"]):
        record = found.get(marker["id"])
        state = record["assessed_state"] if record else None
        folium.CircleMarker(
            [marker["lat"], marker["lon"]],
            radius=5,
            weight=1,
            fill=True,
            fill_opacity=0.9,
            color="#333",
            fill_color=STATE_COLOURS.get(state, UNINSPECTED.colour),
            tooltip=f"{marker['number']} {STATE_NAMES.get(state, UNINSPECTED.zh)}",
        ).add_to(fmap)
    fmap.fit_bounds([[miny, minx], [maxy, maxx]])
    root = fmap.get_root()
    root.render()
    return {
        "header": root.header.render(),
        "html": root.html.render(),
        "script": root.script.render(),
    }


def export_round(store: Store, round_id: int, path: Path) -> Path:
    """The round as a GeoPackage (EPSG:4490): layers ``line``, ``markers``, ``inspections``
    (measured positions; registered position where none was measured)."""
    path = Path(path)
    report = round_report(store, round_id)  # an unknown round fails before any file is touched
    path.unlink(missing_ok=True)
    rnd = report["round"]
    with store.read() as conn:
        line = (
            conn.execute(
                sa.select(
                    boundary_lines.c.id,
                    boundary_lines.c.name,
                    boundary_lines.c.kind,
                    boundary_lines.c.length_km,
                    boundary_lines.c.geom,
                ).where(boundary_lines.c.id == rnd["line_id"])
            )
            .first()
            ._asdict()
        )
    line["length_note"] = LENGTH_REASON
    write_layer(frame_from_rows([line]), "gpkg", path, "line")
    from boundaries.io import inspection_rows
    from boundaries.layers import BOUNDARY_MARKERS

    only_line = equals_all({"line_id": rnd["line_id"]})
    write_layer(BOUNDARY_MARKERS.frame(store, filters=only_line), "gpkg", path, "markers")
    rows = inspection_rows(store, round_id=round_id)
    if rows:
        write_layer(frame_from_rows(rows), "gpkg", path, "inspections")
    return path
