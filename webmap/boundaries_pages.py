"""Pages of the boundaries domain under /boundaries (Chinese): lines with the length
comparison, the marker inventory (labelled 演示数据), rounds and the printable round report."""

from __future__ import annotations

import re

from flask import Blueprint, render_template, request, url_for

from boundaries import inspections as inspection_service
from boundaries import lines as line_service
from boundaries import markers as marker_service
from boundaries import staff
from boundaries.access import require_field_data_reader
from boundaries.naming import LENGTH_REASON
from boundaries.report import round_map, round_report
from boundaries.tasks import STATUS_NAMES as TASK_STATUS_NAMES
from boundaries.tasks import TASK_NAMES, list_tasks
from boundaries.vocabulary import (
    AMENDMENT_KIND_NAMES,
    LINE_KIND_TERMS,
    STATE_NAMES,
    TYPE_NAMES,
    labels,
)
from gazetteer.core.dates import local_today
from gazetteer.core.errors import InvalidInput
from webmap.context import current_actor, store
from webmap.security import with_nonce

bp = Blueprint("boundaries_pages", __name__, url_prefix="/boundaries")


# Rounds, their planning and their reports are field data (``boundaries.access``).
FIELD_DATA_PAGES = frozenset(
    f"boundaries_pages.{name}"
    for name in ("rounds", "report", "round_detail", "plan_round", "lines_due")
)


@bp.before_request
def _field_data_is_for_staff():
    if request.endpoint in FIELD_DATA_PAGES:
        require_field_data_reader(current_actor())


KIND_NAMES = labels(LINE_KIND_TERMS)


@bp.get("/")
def lines():
    kind = request.args.get("kind")
    rows = line_service.list_lines(store(), kind)
    if not kind:
        rows = [r for r in rows if r["kind"] != "county"]  # 177 county lines: shown on request
    return render_template(
        "boundaries/lines.html",
        lines=rows,
        kind=kind,
        kind_names=KIND_NAMES,
        length_reason=LENGTH_REASON,
        tri_junctions=line_service.list_tri_junctions(store(), "provincial"),
    )


@bp.get("/markers")
def markers():
    raw = request.args.get("line_id")
    if raw and not raw.isdigit():
        raise InvalidInput("参数 line_id 应为整数")
    rows = marker_service.list_markers(store(), line_id=int(raw) if raw else None)
    return render_template(
        "boundaries/markers.html",
        markers=rows,
        notice=marker_service.DEMO_NOTICE,
        demo_label=marker_service.DEMO_LABEL,
        state_names=STATE_NAMES,
        type_names=TYPE_NAMES,
        any_demo=any(r["is_demonstration"] for r in rows),
    )


@bp.get("/rounds")
def rounds():
    return render_template(
        "boundaries/rounds.html",
        rounds=inspection_service.list_rounds(store()),
        can_plan=current_actor().has_any({"officer"}),
    )


@bp.get("/due")
def lines_due():
    """Lines due for joint inspection under the five-year rule, overdue first."""
    kind = request.args.get("kind")
    rows = inspection_service.lines_due(store(), local_today())
    if kind:
        rows = [r for r in rows if r["kind"] == kind]
    elif not request.args.get("all"):
        rows = [r for r in rows if r["kind"] != "county"]
    names = _division_names([c for r in rows for c in (r["side_a_code"], r["side_b_code"])])
    return render_template(
        "boundaries/due.html",
        lines=rows,
        kind=kind,
        division_names=names,
        today=local_today(),
        can_plan=current_actor().has_any({"officer"}),
    )


@bp.get("/rounds/new")
def plan_round():
    """The planning form: a line (or a section of it), dates, and a team per side made of
    that side's registered accounts. Saved through POST /api/boundaries/rounds."""
    raw = request.args.get("line_id", "")
    if raw and not raw.isdigit():
        raise InvalidInput("参数 line_id 应为整数")
    line = line_service.get_line(store(), int(raw)) if raw else None
    due = {r["line_id"]: r for r in inspection_service.lines_due(store(), local_today())}
    sides = [line["side_a_code"], line["side_b_code"]] if line else []
    names = _division_names(sides)
    people = staff.list_staff(store(), sides) if line else []
    teams = [
        {
            "side_code": code,
            "side_name": names.get(code, code),
            "people": [p for p in people if p["side_code"] == code],
        }
        for code in sides
    ]
    return render_template(
        "boundaries/plan.html",
        line=line,
        teams=teams,
        next_round_no=due[line["id"]]["next_round_no"] if line else 1,
        lines=[r for r in due.values() if r["kind"] != "county"] if not line else [],
        markers=marker_service.list_markers(store(), line_id=line["id"]) if line else [],
        can_plan=current_actor().has_any({"officer"}),
    )


@bp.get("/rounds/<int:round_id>")
def round_detail(round_id: int):
    """One round: teams by name, progress, start, the joint conclusion and both sign-offs."""
    rnd = inspection_service.get_round(store(), round_id)
    progress = inspection_service.round_markers(store(), round_id)
    records = [m for m in progress if m["inspection"]]
    amendments = inspection_service.round_amendments(store(), round_id)
    usernames = [u for t in rnd["teams"] for u in (t["leader"], *t["members"])]
    for made in amendments.values():
        usernames += [u for a in made for u in (a["amended_by"], a["previous"].get("inspected_by"))]
    usernames += [rnd["concluded_a_by"], rnd["concluded_b_by"]]
    usernames += [
        r["inspection"][k] for r in records for k in ("inspected_by", "signed_a_by", "signed_b_by")
    ]
    actor = current_actor()
    with store().read() as conn:
        my_side = staff.side_of(conn, actor.username) if actor.is_staff else None
    # Records are signed by an inspector on the team of their side (the domain checks it
    # again); the page offers the button only to them.
    team_side = next((t["side_code"] for t in rnd["teams"] if actor.username in t["members"]), None)
    return render_template(
        "boundaries/round.html",
        rnd=rnd,
        progress=progress,
        records=records,
        amendments=amendments,
        amendment_kinds=AMENDMENT_KIND_NAMES,
        inspected=len(records),
        signed=sum(1 for m in records if m["inspection"]["signed_by_both"]),
        state_names=STATE_NAMES,
        sign_side=team_side if actor.has_any({"inspector"}) else None,
        people=staff.labels(store(), usernames),
        side_names=_division_names([rnd["side_a_code"], rnd["side_b_code"]]),
        is_officer=actor.has_any({"officer"}),
        my_side=my_side,
    )


def _division_names(codes) -> dict[str, str]:
    return line_service.division_names(store(), codes)


# folium writes a full-page map document: its html/body and #map rules and its viewport
# (no zooming) are for that, not for a report page that embeds the map.
_FULL_PAGE_PARTS = re.compile(
    r"<style>\s*(?:html,\s*body|#map)\s*\{[^}]*\}\s*</style>|<meta name=\"viewport\"[^>]*>"
)


def _page_safe(header: str) -> str:
    return _FULL_PAGE_PARTS.sub("", header)


@bp.get("/rounds/<int:round_id>/report")
def report(round_id: int):
    result = round_report(store(), round_id)
    fmap = round_map(
        store(), round_id, leaflet_prefix=url_for("static", filename="vendor/leaflet").rstrip("/")
    )
    return render_template(
        "boundaries/report.html",
        report=result,
        # folium's inline script and style run under this response's CSP nonce.
        map_header=with_nonce(_page_safe(fmap["header"])),
        map_html=fmap["html"],
        map_script=with_nonce(f"<script>{fmap['script']}</script>"),
        tasks=list_tasks(store(), round_id=round_id),
        task_names=TASK_NAMES,
        task_status_names=TASK_STATUS_NAMES,
        demo_label=marker_service.DEMO_LABEL,
    )
