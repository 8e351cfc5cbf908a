"""Flask adapter for the framework-free OGC API in ``webmap.ogcapi``."""

from __future__ import annotations

from flask import Blueprint, Response, json, render_template, request

from webmap.context import store
from webmap.layers import LAYERS
from webmap.ogcapi import ApiRequest, ApiResponse, OgcApi

bp = Blueprint("ogc", __name__, url_prefix="/ogc")


def _format() -> str:
    f = request.args.get("f")
    if f in ("json", "html"):
        return f
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/geo+json", "text/html"]
    )
    return "html" if best == "text/html" and f is None else "json"


def execute(handler, *args) -> Response:
    """The one place that turns an ApiRequest/ApiResponse round trip into HTTP."""
    api = OgcApi(store(), LAYERS, "广东省地名与行政区域界线 OGC API")
    fmt = _format()
    args_dict = {k: v for k, v in request.args.items()}
    req = ApiRequest(
        base_url=request.url_root.rstrip("/") + bp.url_prefix, args=args_dict, format=fmt
    )
    result: ApiResponse = getattr(api, handler)(req, *args)
    if fmt == "html" and result.template:
        return Response(
            render_template(result.template, body=result.body),
            result.status,
            content_type="text/html; charset=utf-8",
        )
    return Response(
        json.dumps(result.body, ensure_ascii=False),
        result.status,
        content_type=f"{result.media_type}; charset=utf-8",
    )


@bp.get("")
@bp.get("/")
def landing():
    return execute("landing")


@bp.get("/conformance")
def conformance():
    return execute("conformance")


@bp.get("/collections")
def collections():
    return execute("collections_list")


@bp.get("/collections/<collection_id>")
def collection(collection_id):
    return execute("collection", collection_id)


@bp.get("/collections/<collection_id>/items")
def items(collection_id):
    return execute("items", collection_id)


@bp.get("/collections/<collection_id>/items/<feature_id>")
def item(collection_id, feature_id):
    return execute("item", collection_id, feature_id)


@bp.get("/api")
def openapi():
    from webmap.openapi import openapi_document

    return Response(
        json.dumps(openapi_document(request.url_root.rstrip("/")), ensure_ascii=False),
        content_type="application/vnd.oai.openapi+json;version=3.0; charset=utf-8",
    )
