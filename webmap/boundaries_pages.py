"""Pages of the boundaries domain under /boundaries (Chinese): lines with the length
comparison, the marker inventory (labelled 演示数据), rounds and the printable round report."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from boundaries import inspections as inspection_service
from boundaries import lines as line_service
from boundaries import markers as marker_service
from boundaries.naming import LENGTH_REASON
from boundaries.report import round_map, round_report
from boundaries.tasks import STATUS_NAMES as TASK_STATUS_NAMES
from boundaries.tasks import TASK_NAMES, list_tasks
from boundaries.vocabulary import LINE_KIND_TERMS, STATE_NAMES, TYPE_NAMES, labels
from gazetteer.core.errors import InvalidInput
from webmap.context import store

bp = Blueprint("boundaries_pages", __name__, url_prefix="/boundaries")

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
    return render_template("boundaries/rounds.html", rounds=inspection_service.list_rounds(store()))


@bp.get("/rounds/<int:round_id>/report")
def report(round_id: int):
    result = round_report(store(), round_id)
    fmap = round_map(
        store(), round_id, leaflet_prefix=url_for("static", filename="vendor/leaflet").rstrip("/")
    )
    return render_template(
        "boundaries/report.html",
        report=result,
        map=fmap,
        tasks=list_tasks(store(), round_id=round_id),
        task_names=TASK_NAMES,
        task_status_names=TASK_STATUS_NAMES,
        demo_label=marker_service.DEMO_LABEL,
    )
