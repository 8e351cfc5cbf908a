"""The officers' two campaigns over the whole registry: the 大洋怪重 clean-up worklist
(民发〔2018〕146号, ``gazetteer.cleanup``) and 上图 of the names without geometry
(``gazetteer.placement_worklist``) — pages under /officer, JSON under /api.

Thin like the other blueprints: each route parses HTTP and calls one domain function.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import tempfile
from pathlib import Path

from flask import Blueprint, Response, flash, jsonify, redirect, render_template, request, url_for

from gazetteer import cleanup, placement_worklist
from gazetteer.core.actors import ROLE_NAMES_ZH, require_role
from gazetteer.core.errors import DomainError, Forbidden, InvalidInput, NotFound
from gazetteer.core.paging import Page
from gazetteer.office_import.coords import CRS_LABELS_ZH
from webmap.context import clock, current_actor, data_dir, lookup, store
from webmap.errors import page_message, sign_in_and_back
from webmap.schemas import (
    CleanupBuild,
    CleanupDecision,
    CleanupFilters,
    query_args,
    query_as,
    uploaded_file,
    validated_body,
)

bp = Blueprint("campaigns", __name__)

PROVINCE = "440000"  # the clean-up page's default: the whole province
BATCH_SUFFIXES = (".csv", ".txt", ".xlsx", ".gpkg", ".geojson", ".json")
# The coordinate systems offered for a surveyed table (any EPSG:code is accepted too).
BATCH_CRS_CHOICES = (
    ("CGCS2000", CRS_LABELS_ZH["CGCS2000"]),
    ("GCJ02", CRS_LABELS_ZH["GCJ02"]),
    ("BD09", CRS_LABELS_ZH["BD09"]),
    ("WGS84", CRS_LABELS_ZH["WGS84"]),
    ("EPSG:4546", "CGCS2000 3° 高斯-克吕格 中央子午线 111°E（EPSG:4546）"),
    ("EPSG:4547", "CGCS2000 3° 高斯-克吕格 中央子午线 114°E（EPSG:4547）"),
    ("EPSG:4548", "CGCS2000 3° 高斯-克吕格 中央子午线 117°E（EPSG:4548）"),
    ("EPSG:4526", "CGCS2000 3° 高斯-克吕格 38 带（带号在横坐标前，EPSG:4526）"),
)


def _staff_page():
    """Pages: a visitor is sent to sign in and comes back; a signed-in non-staff is refused."""
    actor = current_actor()
    if actor.is_public and request.method == "GET":
        return actor, sign_in_and_back()
    if not actor.is_staff:
        raise Forbidden("此页面仅供地名工作人员使用")
    return actor, None


def _filters() -> cleanup.WorklistFilter:
    """The worklist filters of the query string (``CleanupFilters``); empty means any."""
    args = query_args()
    fields = {k: (args[k] or "").strip() or None for k in CleanupFilters.model_fields}
    return cleanup.WorklistFilter(**fields)


def _page_globals(actor) -> dict:
    return {"actor": actor, "role_names": ROLE_NAMES_ZH}


# ---- 大洋怪重 clean-up -----------------------------------------------------------------------


@bp.get("/api/cleanup")
def cleanup_list():
    """The worklist (staff): ?city=&county=&status=&kind=&q=&offset=&limit= (≤1000), with
    progress per city."""
    return jsonify(cleanup.worklist(store(), current_actor(), _filters(), query_as(Page)))


@bp.get("/api/cleanup.csv")
def cleanup_csv():
    """The filtered worklist as CSV (UTF-8 with BOM) for the campaign's reports."""
    text = cleanup.worklist_csv(store(), current_actor(), _filters())
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=cleanup-worklist.csv"},
    )


@bp.post("/api/cleanup/build")
def cleanup_build():
    """Check the names in force of a division and list the flagged ones (officers); body
    {division} (440000 for the whole province)."""
    return jsonify(_build_worklist(validated_body(CleanupBuild)["division"]))


@bp.post("/api/cleanup/<int:item_id>/decision")
def cleanup_decide(item_id: int):
    """Keep a name (with a reason) or reopen it (officers); body {decision, reason?, version}."""
    return jsonify(_decide(item_id, validated_body(CleanupDecision)))


def _build_worklist(division: str) -> dict:
    """The one call path of the API and the page: check the names of ``division``."""
    return cleanup.build_worklist(
        store(), current_actor(), lookup().name_corpus, division=division, clock=clock
    )


def _decide(item_id: int, answer) -> dict:
    """The one call path of the API (a checked body) and the page (its form, where the
    version is text: ``InvalidInput`` when it is missing or not a number)."""
    try:
        version = int(answer.get("version", ""))
    except (TypeError, ValueError):
        raise InvalidInput("表单缺少版本号，请刷新页面", details={"field": "version"}) from None
    return cleanup.decide(
        store(),
        current_actor(),
        item_id,
        decision=answer.get("decision"),
        reason=answer.get("reason"),
        version=version,
        clock=clock,
    )


@bp.get("/officer/cleanup")
def cleanup_page():
    actor, redirect_ = _staff_page()
    if redirect_:
        return redirect_
    filters = _filters()
    offset = query_args()["offset"]
    result = cleanup.worklist(store(), actor, filters, Page(100, offset))
    return render_template(
        "officer/cleanup.html",
        **_page_globals(actor),
        result=result,
        filters=filters,
        offset=offset,
        statuses=cleanup.STATUS_NAMES_ZH,
        kinds=cleanup.KIND_NAMES_ZH,
        can_decide=actor.has_any(cleanup.CLEANUP_ROLES),
        query=request.query_string.decode(),
        next_url=url_for(
            "campaigns.cleanup_page",
            offset=offset + result["limit"],
            **{k: v for k, v in dataclasses.asdict(filters).items() if v},
        )
        if result["total"] > offset + result["limit"]
        else None,
    )


@bp.post("/officer/cleanup/<int:item_id>/decision")
def cleanup_decide_form(item_id: int):
    with _refusal_flashed():
        item = _decide(item_id, request.form)
        flash(f"“{item['name']}”：{item['status_zh']}")
    return _back_to_worklist()


@bp.post("/officer/cleanup/build")
def cleanup_build_form():
    with _refusal_flashed():
        result = _build_worklist(request.form.get("division") or PROVINCE)
        flash(
            f"已审查 {result['checked']} 个现行地名，{result['flagged']} 个不规范；"
            f"新列入 {result['added']} 个"
        )
    return _back_to_worklist()


@contextlib.contextmanager
def _refusal_flashed():
    """The campaign pages' forms: a refused action is a message on the page; a role that
    may not act still gets 403 (the JSON error shape), as on the API."""
    try:
        yield
    except DomainError as exc:
        if isinstance(exc, Forbidden):
            raise
        flash(page_message(exc), "error")


def _back_to_worklist():
    """Back to the worklist with the filters the form came from (its ``back`` field)."""
    query = request.form.get("back", "")
    safe = query and "\n" not in query and "//" not in query
    return redirect(url_for("campaigns.cleanup_page") + (f"?{query}" if safe else ""))


# ---- 上图 -------------------------------------------------------------------------------------


@bp.get("/api/placements/progress")
def placement_progress():
    """Names without geometry per county and the share placed (staff); ?city= one city."""
    return jsonify(placement_worklist.progress(store(), current_actor(), city=query_args()["city"]))


@bp.get("/api/placements/unplaced")
def placement_unplaced():
    """?county=&after=&limit=: the names of a county still without geometry, next first."""
    args = query_args()
    return jsonify(
        placement_worklist.unplaced(
            store(),
            current_actor(),
            args["county"],
            after_id=args["after"],
            limit=args["limit"],
        )
    )


def _batch_dir() -> Path:
    return data_dir() / "placement_uploads"


def _stored_upload() -> Path:
    """Save the uploaded file (multipart ``file``) under its digest, for the apply step."""
    upload = uploaded_file("file")
    if upload is None or not upload.filename:
        raise InvalidInput(
            "请选择要上传的坐标文件（CSV、Excel .xlsx 或 GeoPackage）", details={"field": "file"}
        )
    suffix = Path(upload.filename).suffix.lower()
    if suffix not in BATCH_SUFFIXES:
        raise InvalidInput(
            "不支持的文件类型：请上传 CSV、Excel .xlsx、GeoPackage 或 GeoJSON",
            details={"field": "file", "file": Path(upload.filename).name},
        )
    folder = _batch_dir()
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, suffix=suffix, delete=False) as tmp:
        upload.save(tmp)
    temp = Path(tmp.name)
    target = folder / f"{placement_worklist.file_digest(temp)}{suffix}"
    shutil.move(temp, target)
    return target


def _upload_of(digest) -> Path:
    if not isinstance(digest, str) or not digest.isalnum() or len(digest) != 64:
        raise InvalidInput("缺少或无效的预览编号 digest，请先预览", details={"field": "digest"})
    found = sorted(_batch_dir().glob(f"{digest}.*")) if _batch_dir().exists() else []
    if not found:
        raise NotFound("找不到预览过的文件，请重新上传预览")
    return found[0]


def _columns(source) -> dict:
    return {k: source.get(k) or None for k in ("id", "x", "y")}


def _preview_batch(actor, form) -> dict:
    """Store the uploaded file and say what each row would do: the API's and the page's path."""
    return placement_worklist.batch_preview(
        store(), actor, _stored_upload(), crs_tag=form.get("crs"), columns=_columns(form)
    )


def _apply_batch(actor, source) -> dict:
    """Place the good rows of the previewed file ``source["digest"]`` names (form or JSON)."""
    return placement_worklist.batch_apply(
        store(),
        actor,
        _upload_of(source.get("digest")),
        crs_tag=source.get("crs"),
        digest=source.get("digest"),
        columns=_columns(source),
        clock=clock,
    )


@bp.post("/api/placements/batch/preview")
def placement_batch_preview():
    """Multipart: file, crs, id?/x?/y? column names. What each row would do (officers)."""
    actor = current_actor()
    require_role(actor, placement_worklist.PLACING_ROLES, "批量上图")
    return jsonify(_preview_batch(actor, request.form))


@bp.post("/api/placements/batch")
def placement_batch_apply():
    """Form or JSON {digest, crs, id?, x?, y?}: place the previewed file's good rows in one
    transaction (officers)."""
    actor = current_actor()
    require_role(actor, placement_worklist.PLACING_ROLES, "批量上图")
    source = request.form if request.form else request.get_json(silent=True)
    if not hasattr(source, "get"):
        raise InvalidInput("请求体应为表单或 JSON 对象 {digest, crs}")
    return jsonify(_apply_batch(actor, source))


@bp.get("/officer/placement")
def placement_page():
    """Progress per county; with ?county= the fast placement map for that county."""
    actor, redirect_ = _staff_page()
    if redirect_:
        return redirect_
    county = request.args.get("county") or None
    city = request.args.get("city") or None
    return render_template(
        "officer/placement.html",
        **_page_globals(actor),
        progress=placement_worklist.progress(store(), actor, city=city),
        county=placement_worklist.unplaced(store(), actor, county, limit=1) if county else None,
        city=city,
        can_place=actor.has_any(placement_worklist.PLACING_ROLES),
    )


@bp.route("/officer/placement/batch", methods=["GET", "POST"])
def placement_batch_page():
    """Upload a table of surveyed coordinates, see the preview, then place in one go."""
    actor, redirect_ = _staff_page()
    if redirect_:
        return redirect_
    if not actor.has_any(placement_worklist.PLACING_ROLES):
        raise Forbidden("批量上图需要地名管理员角色")
    preview = result = None
    form = request.form
    if request.method == "POST":
        with _refusal_flashed():
            if form.get("digest"):
                result = _apply_batch(actor, form)
                flash(f"已上图 {result['placed']} 个地名；{result['errors']} 行有误未导入")
            else:
                preview = _preview_batch(actor, form)
    return render_template(
        "officer/placement_batch.html",
        **_page_globals(actor),
        form=form,
        preview=preview,
        result=result,
        crs_choices=BATCH_CRS_CHOICES,
    )
