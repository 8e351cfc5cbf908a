"""Public lookup: search, suggestions, reverse lookup (JSON) and the lookup pages."""

from __future__ import annotations

import unicodedata

from flask import Blueprint, jsonify, render_template, request

from gazetteer.core.errors import InvalidInput, naming_field
from gazetteer.core.spatial import parse_bbox
from gazetteer.divisions import division_exists
from gazetteer.place_view import place_view
from webmap.context import lookup, store
from webmap.errors import error_response, page_message, wants_json
from webmap.schemas import ReverseBatch, query_args, validated_body
from webmap.server_timing import timed

bp = Blueprint("lookup", __name__)


def search_args() -> dict:
    """The search parameters (``SearchQuery``) as ``lookup().find`` takes them. A division
    that is not on record is refused (an empty list would read as "nothing there")."""
    args = {k: v for k, v in query_args().items() if v not in (None, "")}
    if "bbox" in args:
        with naming_field("bbox"):
            args["bbox"] = parse_bbox(args["bbox"])
    if "division" in args:
        with store().read() as conn:
            if not division_exists(conn, args["division"]):
                raise InvalidInput(
                    f"参数 division 有误：没有代码为 {args['division']} 的行政区划",
                    details={"field": "division"},
                )
    return args


@bp.get("/api/search")
def search():
    """?q=番禺|廣州|panyu|pan yu|gz|… &division=&feature_class=&status=&bbox=&limit=&offset="""
    args = search_args()
    q = args.pop("q")
    with timed("search"):
        found = lookup().find(q, **args)
    return jsonify({"query": q, **found})


@bp.get("/api/suggest")
def suggest():
    args = query_args()
    with timed("suggest"):
        results = lookup().suggest(args["q"], args["limit"])
    return jsonify({"query": args["q"], "results": results})


@bp.get("/api/reverse")
def reverse():
    """?lon=&lat=&crs=CGCS2000|WGS84|GCJ02|BD09&nearest=5"""
    args = query_args()
    with timed("reverse"):
        found = lookup().reverse(args["lon"], args["lat"], args["crs"], nearest=args["nearest"])
    return jsonify(found)


@bp.post("/api/reverse/batch")
def reverse_batch():
    """JSON body {"crs": "WGS84", "points": [[lon, lat], ...]} (at most 10,000 points)."""
    body = validated_body(ReverseBatch)
    points = body["points"]
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    return jsonify(
        {"results": lookup().reverse_batch(lons, lats, str(body.get("crs", "CGCS2000")))}
    )


@bp.get("/search")
def search_page():
    """The search page: its parameters are the API's (``SearchPageQuery``), always checked,
    a refusal shown on the page in Chinese with a 400; an empty ``q`` (the empty form) shows
    the empty page."""
    q = request.args.get("q", "").strip()
    results, chain, error, args = [], None, None, {"limit": 10, "offset": 0}
    more = False
    try:
        args = search_args()
        if args.pop("q", "").strip():
            # One past the page: whether there is a next page to offer (an exactly full
            # last page offered 更多 onto an empty one).
            limit = args["limit"]
            found = lookup().find(q, **{**args, "limit": limit + 1})
            results, chain = found["results"][:limit], found["chain"]
            more = len(found["results"]) > limit
    except InvalidInput as exc:
        error = page_message(exc)
    return _search_page(q, results, chain, error, args["offset"], args["limit"], more)


def _search_page(q, results, chain, error, offset, limit, more):
    page = render_template(
        "public/search.html",
        q=q,
        results=results,
        chain=chain,
        error=error,
        offset=offset,
        limit=limit,
        more=more,
    )
    return page, 400 if error else 200


def _typed_query() -> str:
    """What was typed in the search box, without the characters it was refused for (a
    control character, half a character pair), so that the box keeps the user's typing;
    "" when the query string itself is not text."""
    try:
        typed = request.args.get("q", "")
    except ValueError:  # undecodable bytes: nothing to give back
        return ""
    return "".join(ch for ch in typed if ch.isprintable() or unicodedata.category(ch) == "Zs")


@bp.errorhandler(InvalidInput)
def _refused(exc: InvalidInput):
    """A query refused before the view runs (undecodable bytes: ``/search?q=%FF``): the
    search page says why above the search box, as for any other refusal, with what was typed
    less the refused characters, so that the user can search again; the JSON endpoints
    answer as everywhere."""
    if request.endpoint == "lookup.search_page" and not wants_json():
        return _search_page(_typed_query(), [], None, page_message(exc), 0, 10, False)
    return error_response(exc.http_status, exc.code, exc.message, exc.details)


@bp.get("/place/<int:place_id>")
def place_page(place_id: int):
    return render_template("public/place.html", **place_view(store(), place_id))


@bp.get("/api/places/<int:place_id>/public")
def place_public(place_id: int):
    """What the public place page shows, as JSON (no staff account names)."""
    return jsonify(place_view(store(), place_id))
