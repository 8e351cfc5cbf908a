"""Public lookup: search, suggestions, reverse lookup (JSON) and the lookup pages."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request

from gazetteer import registry
from gazetteer.core.errors import InvalidInput
from gazetteer.core.spatial import parse_bbox
from gazetteer.lookup import LookupService
from webmap.context import store
from webmap.params import float_arg, int_arg

bp = Blueprint("lookup", __name__)


def lookup() -> LookupService:
    service = current_app.extensions.get("gdgis.lookup")
    if service is None:
        service = current_app.extensions["gdgis.lookup"] = LookupService(store())
    return service


@bp.after_app_request
def _invalidate_after_writes(response):
    # A write in this process may have named, renamed or retired a place: search sees it next time.
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code < 400:
        service = current_app.extensions.get("gdgis.lookup")
        if service is not None:
            service.invalidate()
    return response


def search_args() -> dict:
    q = request.args.get("q", "")
    filters = {"limit": int_arg("limit", 10, 1, 100), "offset": int_arg("offset", 0, 0, 10_000)}
    for key in ("division", "feature_class", "status"):
        if request.args.get(key):
            filters[key] = request.args[key]
    if request.args.get("bbox"):
        filters["bbox"] = parse_bbox(request.args["bbox"])
    return {"q": q, **filters}


@bp.get("/api/search")
def search():
    """?q=番禺|廣州|panyu|pan yu|gz|… &division=&feature_class=&status=&bbox=&limit=&offset="""
    args = search_args()
    q = args.pop("q")
    return jsonify({"query": q, **lookup().find(q, **args)})


@bp.get("/api/suggest")
def suggest():
    return jsonify(
        {
            "query": request.args.get("q", ""),
            "results": lookup().suggest(request.args.get("q", ""), int_arg("limit", 8, 1, 20)),
        }
    )


@bp.get("/api/reverse")
def reverse():
    """?lon=&lat=&crs=CGCS2000|WGS84|GCJ02|BD09&nearest=5"""
    if "lon" not in request.args or "lat" not in request.args:
        raise InvalidInput("需要参数 lon（经度）和 lat（纬度）")
    return jsonify(
        lookup().reverse(
            float_arg("lon", 0.0),
            float_arg("lat", 0.0),
            request.args.get("crs", "CGCS2000"),
            nearest=int_arg("nearest", 5, 0, 50),
        )
    )


@bp.post("/api/reverse/batch")
def reverse_batch():
    """JSON body {"crs": "WGS84", "points": [[lon, lat], ...]} (at most 10,000 points)."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("points"), list):
        raise InvalidInput('请求体应为 JSON：{"crs": "WGS84", "points": [[经度, 纬度], ...]}')
    points = body["points"]
    if not all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p)
        for p in points
    ):
        raise InvalidInput("points 中每一项应为 [经度, 纬度] 两个数字")
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return jsonify(
        {"results": lookup().reverse_batch(lons, lats, str(body.get("crs", "CGCS2000")))}
    )


@bp.get("/search")
def search_page():
    q = request.args.get("q", "").strip()
    results, chain, error = [], None, None
    if q:
        try:
            args = search_args()
            args.pop("q")
            found = lookup().find(q, **args)
            results, chain = found["results"], found["chain"]
        except InvalidInput as exc:
            error = exc.message
    return render_template("public/search.html", q=q, results=results, chain=chain, error=error)


@bp.get("/place/<int:place_id>")
def place_page(place_id: int):
    place = registry.get_place(store(), place_id, with_geometry=True)
    history = registry.place_history(store(), place_id)
    former = [c for c in history["name_chain"] if c["id"] != place_id and c["status"] != "in_force"]
    return render_template("public/place.html", place=place, history=history, former=former)
