"""Field and desk modes of the web map: the tablet inspection page (offline-capable, with
its service worker at /sw.js), the naming-compliance page, and the small JSON endpoints
they need (rules check, 上图); the map's layers come as vector tiles from the OGC API.

Thin like the other blueprints: each route parses HTTP and calls one domain function.
"""

from __future__ import annotations

from pathlib import Path

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    render_template,
)

from boundaries import staff
from boundaries.inspections import MAX_PLAUSIBLE_DISPLACEMENT_M
from boundaries.markers import DEMO_LABEL, DEMO_NOTICE
from boundaries.vocabulary import (
    FIELD_STATES,
    METHOD_NAMES,
    NOTES_MAX_CHARS,
    REASON_MAX_CHARS,
    STATE_NAMES,
)
from gazetteer import compliance, placement
from gazetteer.core.errors import Forbidden
from gazetteer.core.text import TEXT_PATTERN
from gazetteer.tables import FEATURE_CLASSES
from webmap.context import clock, current_actor, lookup, store
from webmap.errors import sign_in_and_back
from webmap.schemas import PlaceGeometry, RulesCheck, validated_body

bp = Blueprint("fieldwork", __name__)


# ---- pages ---------------------------------------------------------------------------------


@bp.get("/sw.js")
def service_worker():
    """The service worker, served from the root so its scope covers every page."""
    path = Path(current_app.static_folder) / "sw.js"
    response = Response(path.read_bytes(), mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = "/"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/inspect")
def inspect_page():
    """Inspection mode for tablets. Rendered for everyone so the service worker can keep the
    shell; the script asks inspectors to sign in before anything is recorded."""
    actor = current_actor()
    return render_template(
        "inspect/index.html",
        actor=actor,
        is_inspector=actor.has_any({"inspector"}),
        user_label=staff.label_of(store(), actor.username),
        found_states=[(s, STATE_NAMES[s]) for s in FIELD_STATES],
        methods=METHOD_NAMES,
        guards=current_app.config["MARKER_DISTANCE_GUARD_M"],
        # beyond it the server refuses any position: said at the form, not offered to confirm
        farthest_m=MAX_PLAUSIBLE_DISPLACEMENT_M,
        notes_limit=NOTES_MAX_CHARS,
        reason_limit=REASON_MAX_CHARS,
        text_pattern=TEXT_PATTERN,  # what the server refuses in notes, said at the form
        demo_label=DEMO_LABEL,
        demo_notice=DEMO_NOTICE,
    )


@bp.get("/compliance")
def compliance_page():
    actor = current_actor()
    if actor.is_public:  # offer sign-in, then come back here
        return sign_in_and_back()
    if not actor.is_staff:
        raise Forbidden("命名合规审查仅供地名工作人员使用")
    return render_template(
        "compliance/index.html",
        feature_classes=FEATURE_CLASSES,
        divisions=compliance.division_choices(store()),
        can_place=actor.has_any(placement.PLACING_ROLES),
    )


# ---- compliance API -------------------------------------------------------------------------


@bp.post("/api/rules/check")
def rules_check():
    """Body {name, feature_class, division_code | lon+lat}: the findings of the naming
    rules, each conflict located for the map, and names nearby sharing the specific term."""
    body = validated_body(RulesCheck)  # its fields are check_proposed_name's keywords
    return jsonify(compliance.check_proposed_name(store(), lookup().name_corpus(), **body))


@bp.post("/api/places/<int:place_id>/geometry")
def place_geometry(place_id: int):
    """上图: body {lon, lat (CGCS2000 degrees), version, reason?}; officers only."""
    body = validated_body(PlaceGeometry)
    version = body["version"]
    record = placement.place_on_map(
        store(),
        place_id,
        body.get("lon"),
        body.get("lat"),
        actor=current_actor(),
        version=version,
        reason=body.get("reason"),
        clock=clock,
    )
    return jsonify(record)
