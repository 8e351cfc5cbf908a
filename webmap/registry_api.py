"""JSON API of the place-name registry: records (/api/places) and proposals (/api/proposals).

Thin: each route parses the request, calls one domain function with the current actor and
returns its result; typed domain errors become the one JSON error shape in ``webmap.errors``.
Documented in ``webmap.openapi_registry``.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from gazetteer import protection, readings, registry, statistics, workflow
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import Forbidden, InvalidInput, naming_field
from gazetteer.core.paging import Page
from gazetteer.place_view import for_reader
from webmap.context import clock, current_actor, store
from webmap.params import created_status, idempotency_key
from webmap.schemas import (
    ProposalAction,
    ProposalNew,
    ProtectionNew,
    query_args,
    query_as,
    validated_body,
)
from webmap.workflow_steps import draft_proposal, take_step

bp = Blueprint("registry_api", __name__, url_prefix="/api")


@bp.get("/places")
def places_search():
    """Records by name (?name= exact, ?q= substring) as they stand now or on ?as_of=YYYY-MM-DD."""
    args = query_args()
    with naming_field("as_of"):
        as_of = parse_date(args["as_of"], "as_of")
    found = registry.find_places(
        store(),
        name=args["name"] or None,
        q=args["q"] or None,
        as_of=as_of,
        status=args["status"],
        division_code=args["division"] or None,
        limit=args["limit"],
        offset=args["offset"],
    )
    return jsonify(for_reader(found, current_actor()))


@bp.get("/places/<int:place_id>")
def place(place_id: int):
    args = query_args()
    with naming_field("as_of"):
        as_of = parse_date(args["as_of"], "as_of")
    record = registry.get_place(
        store(), place_id, as_of=as_of, with_geometry=args["geometry"] != "0"
    )
    return jsonify(for_reader(record, current_actor()))


@bp.get("/places/<int:place_id>/history")
def place_history(place_id: int):
    return jsonify(for_reader(registry.place_history(store(), place_id), current_actor()))


def _statistics() -> dict:
    args = query_args()
    return statistics.annual_statistics(store(), args["year"], args["division"] or None)


@bp.get("/places/statistics")
def place_statistics():
    """Names approved, renamed and retired per division in ?year= under ?division= (default 广东省)."""
    return jsonify(_statistics())


@bp.get("/places/statistics.png")
def place_statistics_chart():
    return Response(statistics.statistics_chart_png(_statistics()), mimetype="image/png")


@bp.get("/proposals")
def proposals_list():
    filters, page = query_as(workflow.ProposalFilter), query_as(Page)
    return jsonify(workflow.list_proposals(store(), current_actor(), filters, page))


@bp.post("/proposals")
def proposal_create():
    result = draft_proposal(validated_body(ProposalNew), idempotency_key=idempotency_key())
    return jsonify(result), created_status(result)


@bp.post("/places/<int:place_id>/protection")
def protect_place(place_id: int):
    """Put a record on the protection list (Art. 25; officers). Body {reason, source}."""
    body = validated_body(ProtectionNew)  # its fields are protect_name's keywords
    listed = protection.protect_name(store(), current_actor(), place_id, clock=clock, **body)
    return jsonify(listed), 201


@bp.get("/places/<int:place_id>/protection")
def place_protection(place_id: int):
    """The record's listing on the protection list, or {"listed": false}."""
    with store().read() as conn:
        listed = protection.protection_of(conn, place_id)
    return jsonify(listed or {"listed": False})


@bp.get("/places/reading-corrections")
def reading_corrections():
    """Records whose stored romanization the reviewed place readings give differently
    (staff)."""
    if not current_actor().is_staff:
        raise Forbidden("仅供地名工作人员查看，请先登录")
    items = readings.reading_corrections(store())
    return jsonify({"total": len(items), "items": items})


@bp.post("/places/reading-corrections")
def apply_reading_corrections():
    """Rewrite them as recorded changes (officers)."""
    return jsonify(readings.apply_reading_corrections(store(), current_actor(), clock=clock))


@bp.get("/proposals/due")
def proposals_due():
    """What officers must do soon: notices ending, decisions waiting, filings (Art. 13) and
    announcements (Art. 14) due or overdue; ?all=1 adds those not yet due. Staff only."""
    actor = current_actor()
    if not actor.is_staff:
        raise Forbidden("待办事项仅供地名工作人员查看，请先登录")
    today = registry.civil_date(clock())
    include_open = query_args()["all"] == "1"
    items = workflow.due_items(store(), actor, today, include_open=include_open)
    return jsonify({"today": today.isoformat(), "items": items})


@bp.get("/proposals/workflow")
def workflow_table():
    """The state machine: every action, the states it starts from, where it leads, who may take it."""
    return jsonify({"states": workflow.STATE_NAMES_ZH, "steps": workflow.workflow_table()})


@bp.get("/proposals/<int:proposal_id>")
def proposal(proposal_id: int):
    return jsonify(workflow.get_proposal(store(), proposal_id, current_actor(), clock=clock))


@bp.get("/proposals/<int:proposal_id>/announcement")
def proposal_announcement(proposal_id: int):
    detail = workflow.get_proposal(store(), proposal_id, current_actor(), clock=clock)
    if not detail.get("announcement_text"):
        raise InvalidInput("该申请尚未公告")
    return jsonify(
        {
            "proposal_id": proposal_id,
            "announced_on": detail["announced_on"],
            "text": detail["announcement_text"],
        }
    )


@bp.post("/proposals/<int:proposal_id>/actions/<action>")
def proposal_action(proposal_id: int, action: str):
    """Take one workflow step. Body: {"version": <the version you saw>, "reason": ..., params}."""
    body = validated_body(ProposalAction)
    version = body.pop("version")
    reason = body.pop("reason", None)
    return jsonify(take_step(proposal_id, action, version=version, reason=reason, params=body))
