"""Officer pages (Chinese UI) for the place-name registry: proposals and their workflow,
records with their history, annual statistics.

Thin like the API: every page calls the same domain functions with the current actor.
Forms post with a CSRF token (``webmap.security``); sign-in is at /auth/login.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from shapely.geometry import Point

from boundaries import division_changes as division_change_service
from gazetteer import division_changes, divisions, registry, statistics, workflow
from gazetteer.compliance import SEVERITY_ZH
from gazetteer.core.actors import ROLE_NAMES_ZH, require_role
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import Conflict, DomainError, Forbidden, InvalidInput
from gazetteer.core.paging import Page
from gazetteer.tables import FEATURE_CLASSES
from webmap.context import clock, current_actor, lookup, store
from webmap.errors import page_message, sign_in_and_back
from webmap.workflow_steps import draft_proposal, take_step

bp = Blueprint("officer", __name__, url_prefix="/officer")

# Form fields each action shows (name, label, input type); version/csrf are added by the
# template. Which of them reach the workflow is decided by workflow.STEP_PARAMS alone.
ACTION_FIELDS = {
    "return": [("reason", "退回理由", "textarea")],
    "override": [("reason", "豁免理由", "textarea")],
    "add_opinion": [
        ("kind", "意见类型", "opinion_kind"),
        ("author", "提出人/单位", "text"),
        ("body", "意见内容", "textarea"),
    ],
    "confirm_romanization": [
        ("romanized", "更正后的拼写（不带声调，如 Changyue Lu；不改则留空）", "text"),
        ("romanized_toned", "更正后的带调拼写（如 Chángyuè Lù；两种拼写须一并更正）", "text"),
    ],
    "publish_notice": [
        ("notice_start", "公示开始日期", "date"),
        ("notice_end", "公示结束日期", "date"),
    ],
    "approve": [
        ("approving_body", "批准机关", "authority"),
        ("authority_override_reason", "如由表外机关批准，说明理由（第十二条）", "textarea"),
        ("decision_ref", "批准文号", "text"),
        ("reason", "批准意见", "textarea"),
    ],
    "file": [
        ("filed_with", "备案机关（上一级地名行政主管部门）", "text"),
        ("filing_ref", "备案文号", "text"),
        ("filed_on", "备案日期（留空为今天）", "date"),
    ],
    "reject": [("reason", "不予批准的理由", "textarea")],
    "bring_into_force": [("effective_date", "生效日期（留空为今天）", "date")],
    "withdraw": [("reason", "撤回理由", "textarea")],
    "lapse": [("reason", "终止理由（记录如何变更）", "textarea")],
}
OPINION_KINDS_ZH = {
    "expert": "专家论证",
    "consultation": "征求意见",
    "assessment": "综合评估",
    "public": "公众意见",
}


@bp.before_request
def _staff_only():
    actor = current_actor()
    if actor.is_public and request.method == "GET":  # offer sign-in, then come back here
        return sign_in_and_back()
    if not actor.is_staff:
        raise Forbidden("此页面仅供地名工作人员使用")
    return None


@bp.context_processor
def _globals():
    return {
        "actor": current_actor(),
        "state_names": workflow.STATE_NAMES_ZH,
        "kind_names": workflow.KIND_NAMES_ZH,
        "steps": workflow.STEPS_BY_ACTION,
        "role_names": ROLE_NAMES_ZH,
    }


@bp.get("/")
def index():
    """The dashboard: what is due (notices ending, decisions, filings, announcements), then
    the proposals."""
    state = request.args.get("state") or None
    filters = workflow.ProposalFilter(state=state)
    result = workflow.list_proposals(store(), current_actor(), filters, Page(200))
    today = registry.civil_date(clock())
    due = workflow.due_items(store(), current_actor(), today)
    return render_template(
        "officer/index.html", proposals=result, state=state, due=due, today=today.isoformat()
    )


# The proposed record values the drafting form has (the rest of EDITABLE_FIELDS are
# kept as they are when a draft is edited).
FORM_PROPOSED = ("name", "feature_class", "feature_type", "meaning", "history", "source")


def _form_point(form) -> Point | None:
    """The point of the form's 经度/纬度 boxes, None when both are blank. Raises
    ``InvalidInput`` naming the box when only one is filled in or one is not a number (the
    workflow checks the range)."""
    lon, lat = (str(form.get(k) or "").strip() for k in ("lon", "lat"))
    if not lon and not lat:
        return None
    for key, label, value in (("lon", "经度", lon), ("lat", "纬度", lat)):
        if not value:
            raise InvalidInput("请同时填写经度和纬度（只填了一项），未保存", details={"field": key})
        try:
            float(value)
        except ValueError:
            raise InvalidInput(f"{label}应为数字，如 113.36", details={"field": key}) from None
    return Point(float(lon), float(lat))


def _draft_from_form(form) -> dict:
    """The drafting form's fields as the workflow takes them: {applicant, reasons, proposed,
    location}. Raises ``InvalidInput`` for a half-filled or non-numeric position."""
    location = _form_point(form)
    proposed = {k: form.get(k, "").strip() for k in FORM_PROPOSED}
    proposed["aliases"] = [
        a.strip() for a in form.get("aliases", "").replace("，", ",").split(",") if a.strip()
    ]
    proposed["division_code"] = divisions.division_code_from_text(store(), form.get("division"))
    return {
        "applicant": form.get("applicant"),
        "reasons": form.get("reasons"),
        "proposed": proposed,
        "location": location,
    }


def _draft_form(form, *, refused: DomainError | None = None, saved=None, **context) -> str:
    """The drafting form with ``form``'s values; the field ``refused`` names is outlined;
    ``saved`` ({box: value}) shows, after a conflict, the saved values that differ from
    what was typed."""
    field = str((refused.details.get("field") if refused else None) or "")
    box = field.removeprefix("proposed.")
    return render_template(
        "officer/proposal_new.html",
        form=form,
        feature_classes=FEATURE_CLASSES,
        division_choices=divisions.division_choices(store()),
        refused_field=_BOX_OF_KEY.get(box, box) or None,
        saved=saved or {},
        **context,
    )


# The workflow's keys that the drafting form asks for in another box.
_BOX_OF_KEY = {"division_code": "division", "location": "lon"}


@bp.route("/proposals/new", methods=["GET", "POST"])
def proposal_new():
    # Said before the form is filled in, not after (only clerks draft).
    require_role(current_actor(), workflow.DRAFTING_ROLES, "起草申请")
    form, refused = request.form, None
    if request.method == "POST":
        try:
            fields = _draft_from_form(form)
            place_id = int(form["place_id"]) if form.get("place_id") else None
            p = draft_proposal(fields | {"kind": form.get("kind"), "place_id": place_id})
            flash(f"已起草申请 {p['id']}")
            return redirect(url_for("officer.proposal", proposal_id=p["id"]))
        except ValueError:
            flash("地名记录编号应为数字", "error")
            refused = InvalidInput("地名记录编号应为数字", details={"field": "place_id"})
        except DomainError as exc:
            flash(page_message(exc), "error")
            refused = exc
    return _draft_form(
        form,
        refused=refused,
        kind=request.args.get("kind", form.get("kind", "naming")),
        place_id=request.args.get("place_id", form.get("place_id", "")),
        editing=None,
    )


@bp.route("/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
def proposal_edit(proposal_id: int):
    """The drafting form again, filled in, for a draft (a new one, or one returned for
    changes): saved through the workflow's ``edit`` step, so its owners only."""
    actor = current_actor()
    p = workflow.get_proposal(store(), proposal_id, actor, clock=clock)
    # An owner's save is the workflow's to refuse: a form left open while the draft was
    # submitted elsewhere gets its conflict (who did what), with the text kept, not a 403.
    owner = workflow.is_owner(actor, p.get("created_by"), p.get("office"))
    if "edit" not in p["allowed_actions"] and (request.method == "GET" or not owner):
        raise Forbidden("只有草稿可以修改，且只有申请起草人或其所在单位的经办人可以修改")
    form, seen = request.form, _seen_of(request.form)
    status, refused, saved = 200, None, None
    if request.method == "POST":
        try:
            # boxes the page has (a renaming has no division box), as this user changed them;
            # a form without the seen values (an older page) changes every box it has
            changed = {
                k for k in FORM_BOXES if k in form and (k not in seen or _box(form, k) != seen[k])
            }
            if not changed:
                flash("没有修改，草稿未变")
                return redirect(url_for("officer.proposal", proposal_id=proposal_id))
            take_step(
                proposal_id,
                "edit",
                version=int(form.get("version", "")),
                reason=None,
                params=_edit_params(p["kind"], _draft_from_form(form), changed),
            )
            flash("已修改草稿")
            return redirect(url_for("officer.proposal", proposal_id=proposal_id))
        except ValueError:
            flash("表单缺少版本号，请刷新页面", "error")
            status = 400
        except DomainError as exc:
            flash(page_message(exc), "error")
            status, refused = exc.http_status, exc
            if isinstance(exc, Conflict):  # changed meanwhile: merge with what was saved
                p = workflow.get_proposal(store(), proposal_id, actor, clock=clock)
                form, saved, seen = _merged(form, seen, _form_of(p))
    else:
        form = seen = _form_of(p)
    return _draft_form(
        form,
        refused=refused,
        saved=saved,
        seen=seen,
        kind=p["kind"],
        place_id=p["place_id"] or "",
        editing=p,
    ), status


# The edit form's boxes. Each is sent again as ``seen_<box>``, the value it had when the
# form was drawn, so that a save changes only the boxes this user changed: another tab's
# edit of other boxes survives it (a user test: a second tab's save undid the first's).
FORM_BOXES = ("applicant", "reasons", *FORM_PROPOSED, "aliases", "division", "lon", "lat")


def _box(form, key: str) -> str:
    """A box's value as compared: a browser sends a textarea's line breaks as CRLF."""
    return str(form.get(key) or "").replace("\r\n", "\n").strip()


def _seen_of(form) -> dict:
    return {k: _box(form, f"seen_{k}") for k in FORM_BOXES if f"seen_{k}" in form}


def _edit_params(kind: str, fields: dict, changed: set[str]) -> dict:
    """The edit step's parameters for the ``changed`` boxes of a drafting form (``fields``,
    as ``_draft_from_form`` reads it)."""
    params = {k: fields[k] for k in ("applicant", "reasons") if k in changed}
    if kind == "retirement":
        return params
    proposed = fields["proposed"]
    params |= {k: proposed[k] for k in (*FORM_PROPOSED, "aliases") if k in changed}
    if kind == "naming" and "division" in changed:
        params["division_code"] = proposed["division_code"]
    if changed & {"lon", "lat"} and fields["location"] is not None:  # blank: kept as it is
        params["location"] = fields["location"]
    return params


def _merged(typed, seen: dict, now: dict) -> tuple[dict, dict, dict]:
    """After a conflict: (the form to show, {box: saved value} where both sides changed it,
    the new ``seen``). A box only the other side changed takes its saved value; one only
    this user changed keeps what they typed; one both changed keeps what they typed, with
    the saved value shown beside it."""
    form, saved = {}, {}
    for key in FORM_BOXES:
        theirs = _box(now, key)
        if key not in typed:  # not a box of this page
            form[key] = theirs
            continue
        mine, before = _box(typed, key), seen.get(key)
        form[key] = theirs if mine == before else mine
        if mine != before and theirs != before and mine != theirs:
            saved[key] = theirs
    return form, saved, now


def _form_of(p: dict) -> dict:
    """The drafting form's values for the proposal ``p`` (to edit it)."""
    proposed = p.get("proposed") or {}
    form = {k: proposed.get(k) or "" for k in FORM_PROPOSED}
    form |= {
        "applicant": p["applicant"],
        "reasons": p["reasons"],
        "aliases": "，".join(proposed.get("aliases") or []),
        "division": f"{p['division_name']}（{p['division_code']}）" if p["division_code"] else "",
    }
    form["lon"] = form["lat"] = ""  # a line or an area is kept unless a point is typed
    location = p.get("location") or {}
    if location.get("type") == "Point":
        form["lon"], form["lat"] = (str(v) for v in location["coordinates"])
    return form


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    return _proposal_page(proposal_id)


# What an edit changed, as the event log names it (the edit step's keys).
EDIT_LABELS = {
    "applicant": "申请人",
    "reasons": "申请理由",
    "name": "标准名称",
    "feature_class": "地名类别",
    "feature_type": "具体类型",
    "division_code": "所在行政区划",
    "aliases": "别名",
    "meaning": "含义",
    "history": "来历",
    "source": "资料来源",
    "location": "位置",
}


def _proposal_page(proposal_id: int, kept: dict | None = None) -> str:
    """The proposal page; ``kept`` ({action, values, field, message}) refills the form of
    a refused step with what was typed, says why beside it and marks the refused field."""
    p = workflow.get_proposal(store(), proposal_id, current_actor(), clock=clock)
    return render_template(
        "officer/proposal.html",
        p=p,
        action_fields=ACTION_FIELDS,
        opinion_kinds=OPINION_KINDS_ZH,
        edit_labels=EDIT_LABELS,
        kept=kept or {"action": None, "values": {}, "field": None, "message": None},
    )


@bp.post("/proposals/<int:proposal_id>/action")
def proposal_action(proposal_id: int):
    form = request.form
    action = form.get("action", "")
    try:
        version = int(form.get("version", ""))
        # The form's filled-in fields that the step takes (workflow.STEP_PARAMS).
        params = {
            k: form[k] for k in workflow.STEP_PARAMS.get(action, ()) if form.get(k, "").strip()
        }
        take_step(proposal_id, action, version=version, reason=form.get("reason"), params=params)
        flash(f"已{workflow.STEPS_BY_ACTION[action].label_zh}")
    except ValueError:
        flash("表单缺少版本号，请刷新页面", "error")
    except DomainError as exc:  # show the refusal on the page, keeping what was typed
        # Said once: beside the step's form, or at the top if the form is no longer there.
        # A conflict shows the proposal as it now stands, with the new version: the typed
        # text stays on the step's form (if still offered) for the officer to look over.
        kept = {
            "action": action,
            "values": form,
            "field": None if isinstance(exc, Conflict) else exc.details.get("field"),
            "message": page_message(exc),
        }
        return _proposal_page(proposal_id, kept), exc.http_status
    return redirect(url_for("officer.proposal", proposal_id=proposal_id))


@bp.get("/places")
def places():
    as_of = parse_date(request.args.get("as_of"), "查询日期")
    q = request.args.get("q", "").strip()
    result = registry.find_places(store(), q=q, as_of=as_of, limit=100) if q else None
    return render_template(
        "officer/places.html", result=result, q=q, as_of=request.args.get("as_of", "")
    )


@bp.get("/places/<int:place_id>")
def place(place_id: int):
    as_of = parse_date(request.args.get("as_of"), "查询日期")
    record = registry.get_place(store(), place_id, as_of=as_of, with_geometry=False)
    history = registry.place_history(store(), place_id)
    related = workflow.list_proposals(
        store(), current_actor(), workflow.ProposalFilter(place_id=place_id)
    )
    return render_template(
        "officer/place.html",
        r=record,
        history=history,
        related=related,
        as_of=request.args.get("as_of", ""),
    )


@bp.get("/statistics")
def statistics_page():
    try:
        year = int(request.args.get("year") or registry.civil_date(clock()).year)
    except ValueError:
        raise InvalidInput("年份应为整数") from None
    division = divisions.division_code_from_text(store(), request.args.get("division"))
    stats = statistics.annual_statistics(store(), year, division)
    return render_template(
        "officer/statistics.html",
        stats=stats,
        year=year,
        division=request.args.get("division") or "",
        division_choices=divisions.division_choices(store(), ("city", "county")),
        filing_labels=statistics.FILING_LABELS_ZH,
    )


DIVISION_CHANGE_FORM = (
    "new_name",
    "approving_body",
    "document_number",
    "approval_date",
    "effective_date",
    "reason",
    "rules_override_reason",
)


@bp.route("/divisions/changes", methods=["GET", "POST"])
def division_change_page():
    """区划变更: rename a division under its approval (《行政区划管理条例》), which renames its
    registry record and the boundary line names together; and the changes recorded."""
    form = request.form
    findings = []
    if request.method == "POST":
        try:
            code = divisions.division_code_from_text(store(), form.get("division"))
            change = division_change_service.rename_division(
                store(),
                current_actor(),
                clock=clock,
                corpus=lookup().name_corpus(),
                code=code,
                **{k: form.get(k, "").strip() for k in DIVISION_CHANGE_FORM},
            )
            renamed = "、".join(f"{r['old']}→{r['new']}" for r in change["lines_renamed"] or [])
            flash(
                f"已登记：{change['old_name']} 更名为 {change['new_name']}"
                + (f"；界线名称随之更新：{renamed}" if renamed else "")
            )
            for f in change["findings"] or []:
                flash(f"命名规则审查（{SEVERITY_ZH[f['severity']]}）：{f['message']}")
            return redirect(url_for("officer.division_change_page"))
        except DomainError as exc:
            flash(page_message(exc), "error")
            findings = (exc.details or {}).get("findings") or []
    with store().read() as conn:
        changes = division_changes.list_changes(conn)
    return render_template(
        "officer/division_changes.html",
        form=form,
        findings=findings,
        changes=changes,
        division_choices=divisions.division_choices(store(), ("city", "county", "township")),
    )
