"""The import page and its JSON API (officers only): bring an office's own place-name file
in. Thin over ``gazetteer.office_import.runs``; preview and write run as background jobs
(``webmap.import_jobs``) whose progress the page polls.

    GET  /officer/imports                 list and upload form
    GET  /officer/imports/<id>            the steps of one run
    POST /api/imports                     upload (multipart: file, source_name, office)
    GET  /api/imports/<id>                the run, with the running job's progress
    GET  /api/imports/<id>/layer?name=    columns, guessed or saved mapping of a layer
    POST /api/imports/<id>/crs-guess      {layer, mapping} -> stated or guessed CRS
    POST /api/imports/<id>/configure      {layer, mapping, crs}
    GET  /api/imports/<id>/sample?crs=    a sample of points in CGCS2000 for the map
    POST /api/imports/<id>/preview        start the preview
    GET  /api/imports/<id>/report.csv     the per-row report of the preview
    POST /api/imports/<id>/write          {skip_errors, skip_reason} start the write
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

from flask import (
    Blueprint,
    current_app,
    jsonify,
    render_template,
    send_file,
)

from gazetteer.core.actors import ROLE_NAMES_ZH
from gazetteer.core.errors import Forbidden, InvalidInput, NotFound
from gazetteer.office_import import runs
from gazetteer.office_import.fields import FIELDS
from gazetteer.office_import.readers import FORMATS_ZH
from webmap.context import current_actor, data_dir, import_jobs, lookup, store
from webmap.errors import sign_in_and_back
from webmap.schemas import (
    ImportConfigure,
    ImportCrsGuess,
    ImportUpload,
    ImportWrite,
    query_args,
    uploaded_file,
    validated_body,
    validated_form,
)

bp = Blueprint("imports", __name__)
ALLOWED_SUFFIXES = (".zip", ".gpkg", ".geojson", ".json", ".csv", ".txt", ".xlsx")


def _officer():
    actor = current_actor()
    if "officer" not in actor.roles:
        raise Forbidden(
            "导入地名数据仅限审核人员（officer）", details={"required_roles": ["officer"]}
        )
    return actor


def _work_dir() -> Path:
    return data_dir() / "imports"


def _run_with_job(run_id: int) -> dict:
    run = runs.get_run(store(), run_id, _officer())
    run["job"] = import_jobs().status(run_id)
    return run


# ---------------------------------------------------------------- pages


@bp.get("/officer/imports")
def imports_page():
    if current_actor().is_public:  # like the other officer pages: sign in, then come back
        return sign_in_and_back()
    actor = _officer()
    return render_template(
        "officer/imports.html",
        actor=actor,
        role_names=ROLE_NAMES_ZH,
        runs=runs.list_runs(store(), actor),
        formats=FORMATS_ZH,
        max_mb=current_app.config["IMPORT_MAX_UPLOAD_MB"],
    )


@bp.get("/officer/imports/<int:run_id>")
def import_page(run_id: int):
    if current_actor().is_public:
        return sign_in_and_back()
    actor = _officer()
    run = runs.get_run(store(), run_id, actor)
    return render_template(
        "officer/import_run.html", actor=actor, role_names=ROLE_NAMES_ZH, run=run, fields=FIELDS
    )


# ---------------------------------------------------------------- API


@bp.post("/api/imports")
def upload():
    actor = _officer()
    form = validated_form(ImportUpload)
    upload = uploaded_file("file")
    if upload is None or not upload.filename:
        raise InvalidInput("请选择要上传的文件")
    name = Path(upload.filename).name
    suffix = "".join(Path(name).suffixes[-1:]).lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise InvalidInput(
            "不支持的文件类型：请上传 Shapefile（zip）、GeoPackage、File Geodatabase（zip）、"
            "GeoJSON、CSV 或 Excel .xlsx",
            details={"file": name},
        )
    folder = _work_dir() / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / f"upload{suffix}"  # the office's own name is kept in the run record
    upload.save(path)
    try:
        run = runs.create_run(
            store(),
            actor,
            path,
            source_name=form["source_name"],
            office=form["office"],
            file_name=name,
        )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)  # a refused file is not kept
        raise
    return jsonify(run), 201


@bp.get("/api/imports")
def list_imports():
    return jsonify({"runs": runs.list_runs(store(), _officer())})


@bp.get("/api/imports/<int:run_id>")
def get_import(run_id: int):
    return jsonify(_run_with_job(run_id))


@bp.get("/api/imports/<int:run_id>/layer")
def layer(run_id: int):
    return jsonify(runs.describe_layer(store(), run_id, _officer(), query_args()["name"]))


@bp.post("/api/imports/<int:run_id>/crs-guess")
def crs_guess(run_id: int):
    body = validated_body(ImportCrsGuess)  # its fields are coordinate_guess's keywords
    return jsonify(
        runs.coordinate_guess(store(), run_id, _officer(), locator=lookup().locator, **body)
    )


@bp.post("/api/imports/<int:run_id>/configure")
def configure(run_id: int):
    body = validated_body(ImportConfigure)
    return jsonify(
        runs.configure(
            store(),
            run_id,
            _officer(),
            layer=body.get("layer"),
            mapping=body.get("mapping"),
            crs_tag=body.get("crs"),
        )
    )


@bp.get("/api/imports/<int:run_id>/sample")
def sample(run_id: int):
    return jsonify(
        runs.sample_points(
            store(),
            run_id,
            _officer(),
            crs_tag=query_args()["crs"],
            locator=lookup().locator,
        )
    )


def _start_job(kind: str, step, the_store, run_id: int, actor, **options):
    """Run ``step`` (``runs.preview`` or ``runs.write``) on the run in the background as the
    job ``kind``, its progress reported to the job; answers 202 with the job."""

    def work(progress):
        step(the_store, run_id, actor, progress=progress, **options)

    job = import_jobs().start(run_id, kind, work)
    return jsonify({"id": run_id, "job": job}), 202


@bp.post("/api/imports/<int:run_id>/preview")
def preview(run_id: int):
    actor = _officer()
    the_store, service, work_dir = store(), lookup(), _work_dir()
    runs.require_owner(the_store, run_id, actor)  # 404 / 403 before a job starts
    return _start_job(
        "preview",
        runs.preview,
        the_store,
        run_id,
        actor,
        locator=service.locator,
        corpus=service.name_corpus(),
        work_dir=work_dir,
    )


@bp.post("/api/imports/<int:run_id>/write")
def write(run_id: int):
    body = validated_body(ImportWrite)
    actor = _officer()
    skip_errors, skip_reason = body.get("skip_errors", False), body.get("skip_reason")
    the_store, service = store(), lookup()
    # Refuse at once (400/409) what the write would refuse before touching anything.
    runs.writable(the_store, run_id, actor, skip_errors=skip_errors, skip_reason=skip_reason)
    # Search and nearest follow through the change log (gazetteer.changes): the write
    # announces itself when it commits, so this process sees the new names at once.
    return _start_job(
        "write",
        runs.write,
        the_store,
        run_id,
        actor,
        locator=service.locator,
        skip_errors=skip_errors,
        skip_reason=skip_reason,
    )


@bp.get("/api/imports/<int:run_id>/report.csv")
def report(run_id: int):
    run = runs.get_run(store(), run_id, _officer())
    path = runs.report_path(_work_dir(), run_id)
    if run["state"] == "uploaded" or not path.exists():
        raise NotFound("此次导入尚未预览，没有报告")
    return send_file(
        path,
        mimetype="text/csv",
        as_attachment=True,
        download_name=f"import-{run_id}-report.csv",
    )
