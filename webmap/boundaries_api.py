"""JSON API of the boundaries domain under /api/boundaries: lines, tri-junctions,
markers (GeoJSON), rounds, inspections (idempotent by client id), tasks, disputes,
photos, and import/export of markers and inspections (GeoJSON, CSV, GPKG).

Thin: each route parses HTTP, calls one ``boundaries`` function and serialises the
result; typed domain errors become the one JSON error shape in ``webmap.errors``.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, current_app, jsonify, request, send_file
from werkzeug.routing import BaseConverter

from boundaries import disputes as dispute_service
from boundaries import division_changes as division_change_service
from boundaries import inspections as inspection_service
from boundaries import io as boundary_io
from boundaries import lines as line_service
from boundaries import markers as marker_service
from boundaries import photos as photo_service
from boundaries import tasks as task_service
from boundaries.access import may_read_field_data, require_field_data_reader
from boundaries.naming import LENGTH_REASON
from boundaries.report import export_round, round_report
from gazetteer import division_changes
from gazetteer.core.errors import InvalidInput
from webmap.context import clock, current_actor, data_dir, lookup, store
from webmap.params import created_status, idempotency_key
from webmap.schemas import (
    ConclusionSignOff,
    DisputeNew,
    DisputeUpdate,
    DivisionChangeNew,
    InspectionAmendment,
    InspectionNew,
    PhotoUpload,
    RoundPlan,
    SideSignOff,
    StaffProfile,
    TaskNew,
    TaskUpdate,
    query_args,
    uploaded_file,
    validated_body,
    validated_form,
)

bp = Blueprint("boundaries_api", __name__, url_prefix="/api/boundaries")

# Routes that serve field data (``boundaries.access``): staff only, photos included.
FIELD_DATA_ENDPOINTS = frozenset(
    f"boundaries_api.{name}"
    for name in (
        "photo",
        "rounds",
        "round_",
        "report",
        "export_round_gpkg",
        "inspections",
        "export_inspections",
        "tasks",
        "disputes",
        "round_markers",
        "amendments",
        "lines_due",
        "staff_list",
    )
)


@bp.before_request
def _field_data_is_for_staff():
    if request.endpoint in FIELD_DATA_ENDPOINTS:
        require_field_data_reader(current_actor())


_MEDIA = {
    "geojson": "application/geo+json",
    "csv": "text/csv",  # Werkzeug adds "; charset=utf-8" to text/* types
    "gpkg": "application/geopackage+sqlite3",
}


# An uploaded file's media type (the OpenAPI document's request body) -> its format.
FORMAT_OF_MEDIA_TYPE = {
    "application/geo+json": "geojson",
    "application/json": "geojson",
    "text/csv": "csv",
    "application/geopackage+sqlite3": "gpkg",
}


def _fmt(default: str = "geojson") -> str:
    """The file format: ``?format=`` when given, else the body's Content-Type (an upload),
    else ``default``."""
    fmt = query_args().get("format") or FORMAT_OF_MEDIA_TYPE.get(request.mimetype, default)
    if fmt not in boundary_io.FORMATS:
        raise InvalidInput(
            f"不支持的格式：{fmt}（可选 {', '.join(boundary_io.FORMATS)}）",
            details={"field": "format"},
        )
    return fmt


def _limits() -> inspection_service.DistanceLimits:
    """The moved tolerance and the distance guards by survey method, from the settings."""
    return inspection_service.DistanceLimits(
        tolerance_m=float(current_app.config["MARKER_MOVED_TOLERANCE_M"]),
        guard_m=current_app.config["MARKER_DISTANCE_GUARD_M"],
    )


def _send_export(name: str, write, fmt: str | None = None):
    """Send the file ``write(fmt, path)`` writes as ``<name>.<fmt>`` (``fmt`` from ?format=
    unless given). It is written in a temporary directory and sent as bytes: exports are
    small, and reading them into memory lets the directory go at once, no open file left."""
    fmt = fmt or _fmt()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"export.{fmt}"
        write(fmt, path)
        data = io.BytesIO(path.read_bytes())
    return send_file(data, mimetype=_MEDIA[fmt], as_attachment=True, download_name=f"{name}.{fmt}")


def _create(create, model):
    """201 with what ``create(store, body, actor, idempotency_key=…)`` makes of the body
    checked against ``model``; a retry under the same Idempotency-Key gets the same one, 200."""
    made = create(
        store(), validated_body(model), current_actor(), idempotency_key=idempotency_key()
    )
    return jsonify(made), created_status(made)


def _record_action(rule: str, action, model) -> None:
    """Route POST ``rule`` (one variable: the record's id) to what ``action(store, record_id,
    actor=…, **body)`` answers, the body checked against ``model``: the model's fields are
    the action's keyword arguments. The endpoint is named after the action."""

    def view(**path):
        (record_id,) = path.values()
        return jsonify(action(store(), record_id, actor=current_actor(), **validated_body(model)))

    view.__doc__ = action.__doc__
    bp.add_url_rule(rule, action.__name__, view, methods=["POST"])


@bp.get("/vocabulary")
def vocabulary():
    """Every coded value with its Chinese label (and map colour for marker states), and
    the marker record's fields: the same table the pages' scripts read."""
    from boundaries.vocabulary import vocabulary_document

    return jsonify(vocabulary_document())


# ---- lines ---------------------------------------------------------------------------


@bp.get("/lines")
def lines():
    """Lines with computed and official lengths (km). ?kind=provincial|city|county"""
    rows = line_service.list_lines(store(), query_args()["kind"])
    return jsonify({"lines": rows, "length_note": LENGTH_REASON})


@bp.get("/lines/<int:line_id>")
def line(line_id: int):
    row = line_service.get_line(store(), line_id, with_geometry=query_args()["geometry"] == "1")
    if "geom" in row:
        row["geometry"] = row.pop("geom").__geo_interface__
    return jsonify(row)


@bp.get("/tri-junctions")
def tri_junctions():
    return jsonify(
        {"tri_junctions": line_service.list_tri_junctions(store(), query_args()["kind"])}
    )


# ---- markers -------------------------------------------------------------------------


@bp.get("/markers")
def markers():
    """Markers as a GeoJSON FeatureCollection (CGCS2000 lon/lat); ?line_id=&state="""
    rows = marker_service.list_markers(
        store(), line_id=query_args()["line_id"], state=query_args()["state"]
    )
    return jsonify(marker_service.markers_feature_collection(rows))


class MarkerKey(BaseConverter):
    """A marker's id or number, never the name of a sibling route (``markers/export``,
    ``markers/import``): otherwise ``OPTIONS /markers/import`` would advertise a GET that
    only looks for a marker numbered "import" (the Allow header lists what the document
    declares for the path)."""

    regex = r"(?!(?:export|import)$)[^/]+"


@bp.record_once
def _register_marker_key(state) -> None:
    state.app.url_map.converters["marker_key"] = MarkerKey


@bp.get("/markers/<marker_key:key>")
def marker(key: str):
    """One marker by id or number, with its inspection, task and photo history."""
    row = marker_service.get_marker(store(), key)
    feature = marker_service.marker_feature(row)
    if may_read_field_data(current_actor()):
        feature["history"] = {
            "inspections": row["inspections"],
            "tasks": row["tasks"],
            "photos": row["photos"],
        }
    return jsonify(feature)


@bp.post("/markers/<int:marker_id>/photos")
def upload_photo(marker_id: int):
    form = validated_form(PhotoUpload)
    upload = uploaded_file("photo")
    if upload is None:
        raise InvalidInput(
            "缺少照片：请以 multipart/form-data 的 photo 字段上传照片", details={"field": "photo"}
        )
    photo = photo_service.Photo(
        upload.read(), caption=form["caption"], inspection_id=form["inspection_id"]
    )
    row, created = photo_service.store_photo(store(), data_dir(), marker_id, photo, current_actor())
    # 200: the same picture with the same caption and record was already stored for this
    # marker (a retry); 201: a new photo. Other caption or record: 409 from the domain.
    return jsonify(row), 201 if created else 200


@bp.get("/photos/<sha256>")
def photo(sha256: str):
    path, content_type = photo_service.photo_path(store(), data_dir(), sha256)
    return send_file(path, mimetype=content_type)


@bp.get("/markers/export")
def export_markers():
    return _send_export(
        "markers",
        lambda fmt, p: boundary_io.export_markers(store(), fmt, p, line_id=query_args()["line_id"]),
    )


@bp.post("/markers/import")
def import_markers():
    """Body: the file (GeoJSON, CSV or GPKG bytes), ?format=. All or nothing."""
    counts = boundary_io.import_markers(store(), request.get_data(), _fmt(), current_actor())
    return jsonify(counts)


# ---- rounds and inspections ------------------------------------------------------------


@bp.get("/rounds")
def rounds():
    return jsonify({"rounds": inspection_service.list_rounds(store(), query_args()["line_id"])})


@bp.post("/rounds")
def create_round():
    return _create(inspection_service.create_round, RoundPlan)


@bp.get("/rounds/<int:round_id>")
def round_(round_id: int):
    return jsonify(inspection_service.get_round(store(), round_id))


@bp.post("/rounds/<int:round_id>/start")
def start_round(round_id: int):
    return jsonify(inspection_service.start_round(store(), round_id, current_actor()))


@bp.get("/rounds/<int:round_id>/markers")
def round_markers(round_id: int):
    """The round's markers with this round's record of each: cached by devices for offline use."""
    return jsonify({"markers": inspection_service.round_markers(store(), round_id)})


@bp.post("/rounds/<int:round_id>/conclusion")
def sign_conclusion(round_id: int):
    return jsonify(
        inspection_service.sign_conclusion(
            store(), round_id, validated_body(ConclusionSignOff), current_actor()
        )
    )


@bp.get("/due")
def lines_due():
    """Every line with its last joint inspection and the next due date (five-year rule)."""
    from gazetteer.core.dates import local_today

    return jsonify({"lines": inspection_service.lines_due(store(), local_today())})


@bp.get("/staff")
def staff_list():
    """Accounts with a staff profile (name, organisation, side); ?side=code&role=officer."""
    from boundaries import staff

    query = query_args()
    return jsonify({"staff": staff.list_staff(store(), query["side"] or None, query["role"])})


@bp.post("/staff/<username>")
def set_staff(username: str):
    from boundaries import staff

    return jsonify(
        staff.set_profile(store(), username, validated_body(StaffProfile), current_actor())
    )


@bp.post("/rounds/<int:round_id>/complete")
def complete_round(round_id: int):
    return jsonify(inspection_service.complete_round(store(), round_id, current_actor()))


@bp.get("/rounds/<int:round_id>/report")
def report(round_id: int):
    result = round_report(store(), round_id)
    return jsonify({k: v for k, v in result.items() if k != "state_names"})


@bp.get("/rounds/<int:round_id>/export.gpkg")
def export_round_gpkg(round_id: int):
    return _send_export(
        f"round-{round_id}", lambda _, p: export_round(store(), round_id, p), "gpkg"
    )


@bp.get("/inspections")
def inspections():
    return jsonify(
        {
            "inspections": inspection_service.list_inspections(
                store(), round_id=query_args()["round_id"], marker_id=query_args()["marker_id"]
            )
        }
    )


@bp.post("/inspections")
def record_inspection():
    """Idempotent by the client-made ``id``: 201 when stored now, 200 when it already was."""
    record, created = inspection_service.record_inspection(
        store(), validated_body(InspectionNew), current_actor(), limits=_limits()
    )
    return jsonify(record), 201 if created else 200


@bp.post("/inspections/<inspection_id>/amendments")
def amend_inspection(inspection_id: str):
    """A second visit or a correction of a record (idempotent by the amendment's ``id``)."""
    record, created = inspection_service.amend_inspection(
        store(),
        inspection_id,
        validated_body(InspectionAmendment),
        current_actor(),
        limits=_limits(),
    )
    return jsonify(record), 201 if created else 200


@bp.get("/inspections/<inspection_id>/amendments")
def amendments(inspection_id: str):
    return jsonify({"amendments": inspection_service.list_amendments(store(), inspection_id)})


@bp.get("/inspections/export")
def export_inspections():
    return _send_export(
        "inspections",
        lambda fmt, p: boundary_io.export_inspections(
            store(), fmt, p, round_id=query_args()["round_id"]
        ),
    )


@bp.post("/inspections/import")
def import_inspections():
    records = boundary_io.inspection_records(request.get_data(), _fmt())
    counts = inspection_service.record_inspections(
        store(), records, current_actor(), limits=_limits()
    )
    return jsonify(counts)


# ---- tasks and disputes ------------------------------------------------------------------


@bp.get("/tasks")
def tasks():
    return jsonify(
        {
            "tasks": task_service.list_tasks(
                store(),
                **query_args(),
            )
        }
    )


@bp.post("/tasks")
def create_task():
    return _create(task_service.create_task, TaskNew)


@bp.get("/disputes")
def disputes():
    return jsonify({"disputes": dispute_service.list_disputes(store(), **query_args())})


@bp.post("/disputes")
def create_dispute():
    return _create(dispute_service.create_dispute, DisputeNew)


# ---- actions on one record: a side's sign-off, a task moved on or approved, a dispute ----

_record_action("/inspections/<inspection_id>/sign", inspection_service.sign_inspection, SideSignOff)
_record_action("/tasks/<int:task_id>", task_service.update_task, TaskUpdate)
_record_action("/tasks/<int:task_id>/approve", task_service.approve_task, SideSignOff)
_record_action("/disputes/<int:dispute_id>", dispute_service.update_dispute, DisputeUpdate)


# ---- division changes (《行政区划管理条例》; 《地名管理条例》 Art. 12) ------------------------


@bp.get("/division-changes")
def list_division_changes():
    """Recorded division renames, newest first (?code= one division)."""
    with store().read() as conn:
        items = division_changes.list_changes(conn, code=query_args()["code"] or None)
    return jsonify({"items": items})


@bp.post("/division-changes")
def record_division_change():
    """Rename a division under its approval (officers). Body: code, new_name, approving_body,
    document_number, approval_date, effective_date?, reason."""
    body = validated_body(DivisionChangeNew)
    change = division_change_service.rename_division(
        store(), current_actor(), clock=clock, corpus=lookup().name_corpus(), **body
    )
    return jsonify(change), 201
