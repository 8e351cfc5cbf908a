"""JSON API: divisions (more domains register their own blueprints)."""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from gazetteer import division_history
from gazetteer import divisions as division_service
from gazetteer.core.dates import parse_date
from gazetteer.core.errors import naming_field
from webmap.context import store
from webmap.schemas import query_args

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/health")
def health():
    return jsonify({"status": "ok", "store": store().dialect})


@bp.get("/divisions/as-of")
def divisions_as_of():
    """?date=YYYY-MM-DD: Guangdong's city- and county-level divisions on that date (from
    the historical division changes since 1979)."""
    with naming_field("date"):
        day = parse_date(query_args()["date"], "date")
    return jsonify(
        {"date": day.isoformat(), "divisions": division_history.divisions_as_of(store(), day)}
    )


@bp.get("/divisions/<code>")
def division(code: str):
    """One division by statistical code, with chain and children; ?geometry=1 adds the polygon."""
    return jsonify(
        division_service.get_division(store(), code, with_geometry=query_args()["geometry"] == "1")
    )


@bp.get("/divisions.geojson")
def divisions_geojson():
    """Divisions of one level as GeoJSON, coverage-simplified (shared edges stay shared).
    ?level=province|city|county&tolerance_deg=0.005"""
    level, tolerance = query_args()["level"], query_args()["tolerance_deg"]
    # Read first: a change between the two reads leaves a body newer than its validator,
    # which the next request replaces, never the other way round.
    version = division_service.divisions_version(store())
    features = division_service.simplified_division_features(store(), level, tolerance)
    response = jsonify({"type": "FeatureCollection", "features": features})
    # Revalidated on every use (a 304 when no division changed): a renamed division must
    # not keep its old name in browsers for an hour.
    response.set_etag(f"divisions-{level}-{tolerance:g}-{version}")
    response.headers["Cache-Control"] = "public, no-cache"
    return response.make_conditional(request)


@bp.get("/openapi.json")
def openapi():
    from webmap.openapi import openapi_document

    return jsonify(openapi_document(request.url_root.rstrip("/")))
