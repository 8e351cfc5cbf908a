"""Field and desk modes of the web map: the tablet inspection page (offline-capable, with
its service worker at /sw.js), the naming-compliance page, and the small JSON endpoints
they need (rules check, 上图, light map layers). Also gzips text responses app-wide so
the first map view stays small on a weak signal.

Thin like the other blueprints: each route parses HTTP and calls one domain function.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, render_template, request

from boundaries import lines as line_service
from boundaries.markers import DEMO_LABEL, DEMO_NOTICE
from boundaries.vocabulary import FOUND_STATES, METHOD_NAMES, STATE_NAMES
from gazetteer import placement, registry, reservations
from gazetteer.core.errors import Forbidden, InvalidInput
from gazetteer.cql import parse_filter
from gazetteer.romanize import split_name
from gazetteer.rules.checker import check_name
from gazetteer.rules.corpus import NameCorpus
from gazetteer.tables import FEATURE_CLASSES, divisions, places
from webmap.auth import current_actor
from webmap.context import store
from webmap.layers import layer
from webmap.params import json_body
from webmap.registry_api import clock
from webmap.search_api import lookup

bp = Blueprint("fieldwork", __name__)

COMPRESSIBLE = (
    "application/json",
    "application/geo+json",
    "text/javascript",
    "application/javascript",
    "text/css",
    "text/html",
    "image/svg+xml",
)
MIN_GZIP_BYTES = 1024
MAX_NEARBY = 20
SEVERITY_ZH = {"blocking": "阻断", "warning": "警告", "note": "提示"}

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
        found_states=[(s, STATE_NAMES[s]) for s in FOUND_STATES],
        methods=METHOD_NAMES,
        guards=current_app.config["MARKER_DISTANCE_GUARD_M"],
        demo_label=DEMO_LABEL,
        demo_notice=DEMO_NOTICE,
    )


@bp.get("/compliance")
def compliance_page():
    actor = current_actor()
    if not actor.is_staff:
        raise Forbidden("命名合规审查仅供地名工作人员使用，请先登录")
    with store().read() as conn:
        options = conn.execute(
            sa.select(
                divisions.c.code, divisions.c.name, divisions.c.level, divisions.c.parent_code
            )
            .where(divisions.c.level.in_(("city", "county")), divisions.c.code.startswith("44"))
            .order_by(divisions.c.code)
        ).all()
    names = {r.code: r.name for r in options}
    choices = [
        (r.code, r.name if r.level == "city" else f"{names.get(r.parent_code, '')}{r.name}")
        for r in options
    ]
    return render_template(
        "compliance/index.html",
        feature_classes=FEATURE_CLASSES,
        divisions=choices,
        can_place=actor.has_any(placement.PLACING_ROLES),
    )


# ---- compliance API -------------------------------------------------------------------------


def corpus() -> NameCorpus:
    """The names the rules compare with, kept current by the lookup service."""
    return lookup().name_corpus()


def _division_path(conn, code: str | None) -> list[str]:
    if not code:
        return []
    path = conn.execute(sa.select(divisions.c.path).where(divisions.c.code == code)).scalar()
    if path is None:
        raise InvalidInput(f"没有代码为 {code} 的行政区划")
    return path.split("/")


def _county_point(conn, path: list[str]) -> tuple[float, float] | None:
    """A point inside the lowest division of ``path`` that has a polygon (county at best)."""
    for code in reversed(path):
        geom = conn.execute(sa.select(divisions.c.geom).where(divisions.c.code == code)).scalar()
        if geom is not None:
            p = geom.representative_point()
            return p.x, p.y
    return None


def _locate(conn, place_ids: list[int]) -> dict[int, dict]:
    """Where to draw each record: its own geometry, else a point in its county (flagged)."""
    out = {}
    if not place_ids:
        return out
    rows = conn.execute(
        sa.select(
            places.c.id,
            places.c.name,
            places.c.status,
            places.c.feature_class,
            places.c.division_code,
            places.c.geom,
            places.c.version,
        ).where(places.c.id.in_(place_ids))
    )
    for r in rows:
        path = _division_path(conn, r.division_code) if r.division_code else []
        if r.geom is not None:
            p, source = r.geom.representative_point(), "place"
            point = (p.x, p.y)
        else:
            point, source = _county_point(conn, path), "division"
        chain = registry.division_info(conn, r.division_code)
        out[r.id] = {
            "id": r.id,
            "name": r.name,
            "status": r.status,
            "status_zh": registry.STATUS_NAMES_ZH[r.status],
            "feature_class": r.feature_class,
            "division": chain["full_name"] if chain else None,
            "has_geometry": r.geom is not None,
            "version": r.version,
            "point": list(point) if point else None,
            "point_source": source,
        }
    return out


@bp.post("/api/rules/check")
def rules_check():
    """Body {name, feature_class, division_code | lon+lat}: the findings of the naming
    rules, each conflict located for the map, and names nearby sharing the specific term."""
    body = json_body()
    name = (body.get("name") or "").strip()
    if not name:
        raise InvalidInput("请输入拟用名称")
    feature_class = body.get("feature_class")
    if feature_class not in FEATURE_CLASSES:
        raise InvalidInput(f"请选择地名类别（{'、'.join(FEATURE_CLASSES)}）")
    location = None
    with store().read() as conn:
        code = body.get("division_code") or None
        if body.get("lon") not in (None, "") and body.get("lat") not in (None, ""):
            point = placement.validate_point(body["lon"], body["lat"])
            location = (point.x, point.y)
            if not code:
                county = placement.county_at(conn, point)
                code = county["code"] if county else None
        if not code:
            raise InvalidInput("请选择所在行政区划，或在地图上点选位置")
        path = _division_path(conn, code)
    findings = [
        f.to_dict() for f in check_name(name, feature_class, path, corpus(), location=location)
    ]
    with store().read() as conn:  # names held by proposals under way (name reservation)
        findings += reservations.reservation_findings(
            conn, name=name, feature_class=feature_class, division_code=code
        )
    conflict_ids = sorted(
        {c["id"] for f in findings for c in f["conflicts"] if isinstance(c.get("id"), int)}
    )
    specific = split_name(name)[0] or name
    county_code = next(
        (c for c in reversed(path) if len(c) == 6 and not c.endswith("00")),
        path[-1] if path else None,
    )
    nearby = registry.find_places(
        store(), q=specific, division_code=county_code, limit=MAX_NEARBY, status="in_force"
    )
    with store().read() as conn:
        located = _locate(conn, conflict_ids + [i["id"] for i in nearby["items"]])
        division = registry.division_info(conn, code)
    for f in findings:
        f["severity_zh"] = SEVERITY_ZH.get(f["severity"], f["severity"])
        f["conflicts"] = [located.get(c.get("id"), c) for c in f["conflicts"]]
    return jsonify(
        {
            "name": name,
            "feature_class": feature_class,
            "division": division,
            "location": location,
            "findings": findings,
            "blocking": sum(f["severity"] == "blocking" for f in findings),
            "nearby": [
                located[i["id"]]
                for i in nearby["items"]
                if i["id"] in located and i["id"] not in conflict_ids
            ],
            "nearby_rule": f"同一县级区划内名称含“{specific}”的现行地名",
        }
    )


@bp.post("/api/places/<int:place_id>/geometry")
def place_geometry(place_id: int):
    """上图: body {lon, lat (CGCS2000 degrees), version, reason?}; officers only."""
    body = json_body()
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidInput("请提供您看到的记录版本号 version（整数）")
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


# ---- light map layers ----------------------------------------------------------------------


@bp.get("/api/map/lines.geojson")
def map_lines():
    """Boundary lines for the map, simplified: ?tolerance_deg= (0.0005–0.05)."""
    try:
        tolerance = round(float(request.args.get("tolerance_deg", 0.005)), 5)
    except ValueError:
        raise InvalidInput("tolerance_deg 应为数字") from None
    if not 0.0005 <= tolerance <= 0.05:
        raise InvalidInput("简化容差应在 0.0005 到 0.05 度之间")
    response = jsonify(
        {
            "type": "FeatureCollection",
            "features": line_service.simplified_line_features(store(), tolerance),
        }
    )
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


IN_FORCE_PLACED = parse_filter("status = 'in_force' AND has_geometry = TRUE")


@bp.get("/api/map/places.geojson")
def map_places():
    """Every in-force place name that has geometry (points, for a clustered layer), read
    through the places layer's provider like the OGC API and the exports."""
    page = layer("places").query(
        store(),
        filters=IN_FORCE_PLACED,
        properties=("id", "name", "feature_class"),
        limit=None,
    )
    return jsonify({"type": "FeatureCollection", "features": page.features})


# ---- gzip ----------------------------------------------------------------------------------

_GZ_CACHE: OrderedDict = OrderedDict()  # (path, etag) -> gzipped bytes of static files
_GZ_CACHE_SIZE = 64
_GZ_LOCK = threading.Lock()


@bp.after_app_request
def gzip_response(response):
    """Gzip text responses when the client accepts it (static files are compressed once
    per ETag and kept). Skips small, partial, already encoded and streamed responses."""
    if (
        response.status_code != 200
        or "gzip" not in request.headers.get("Accept-Encoding", "")
        or response.headers.get("Content-Encoding")
        or response.mimetype not in COMPRESSIBLE
        or response.is_streamed
        and not response.direct_passthrough
    ):
        return response
    etag = response.headers.get("ETag")
    key = (request.path, etag) if etag and response.direct_passthrough else None
    response.direct_passthrough = False
    original = response.response
    data = response.get_data()
    if hasattr(original, "close"):  # a static file: read whole, so let its handle go now
        original.close()
    if len(data) < MIN_GZIP_BYTES:
        return response
    with _GZ_LOCK:
        body = _GZ_CACHE.get(key) if key else None
    if body is None:
        body = gzip.compress(data, compresslevel=6)
        if key:
            with _GZ_LOCK:
                _GZ_CACHE[key] = body
                while len(_GZ_CACHE) > _GZ_CACHE_SIZE:
                    _GZ_CACHE.popitem(last=False)
    response.set_data(body)
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Content-Length"] = str(len(body))
    response.vary.add("Accept-Encoding")
    if etag:  # a different body needs a different validator
        response.headers["ETag"] = etag[:-1] + '-gz"' if etag.endswith('"') else etag + "-gz"
    return response
