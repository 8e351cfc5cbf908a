"""Flask adapter for the framework-free OGC API in ``webmap.ogcapi``.

Every collection is public: GET answers carry ``Access-Control-Allow-Origin: *`` so web
clients on other origins (OpenLayers, Leaflet, QGIS web) can read them.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from flask import Blueprint, Response, json, render_template, request

from gazetteer.core.errors import InvalidInput
from gazetteer.layers import write_layer
from webmap.context import store
from webmap.layers import LAYERS, layer
from webmap.ogcapi import (
    GEOPACKAGE,
    ApiRequest,
    ApiResponse,
    OgcApi,
    check_format,
    check_params,
)
from webmap.output import json_bytes

bp = Blueprint("ogc", __name__, url_prefix="/ogc")

CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    # Retry-After: a web client told 429 can wait as long as it says.
    "Access-Control-Expose-Headers": "Content-Crs, ETag, Last-Modified, Retry-After",
    # For a browser's preflight: a web map's conditional GETs send these headers.
    "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
    "Access-Control-Allow-Headers": "Accept, If-None-Match, If-Modified-Since",
    "Access-Control-Max-Age": "86400",
}


def _format() -> str:
    f = request.args.get("f")
    check_format(f)
    if f in ("json", "html"):
        return f
    best = request.accept_mimetypes.best_match(
        ["application/json", "application/geo+json", "text/html"]
    )
    return "html" if best == "text/html" and f is None else "json"


def single_values(args) -> dict[str, str]:
    """The query string as one value per name: every OGC parameter is one value (a list is
    comma-separated), so a repeated name is a 400 naming it rather than a silent choice."""
    for name in args:
        if len(args.getlist(name)) > 1:
            raise InvalidInput(f"参数 {name} 只能给一次", details={"field": name})
    return args.to_dict()


def execute(handler: str, **parts) -> Response:
    """The one place that turns an ApiRequest/ApiResponse round trip into HTTP."""
    api = OgcApi(store(), LAYERS, "广东省地名与行政区域界线 OGC API")
    fmt = _format()
    # A page holds the visitor's own parts (who is signed in, their CSRF token), which the
    # data's validators do not cover: a 304 would keep another visitor's (or the signed-out)
    # copy in the browser. So a page is always made, and carries no ETag.
    page = fmt == "html"
    req = ApiRequest(
        base_url=request.url_root.rstrip("/") + bp.url_prefix,
        args=single_values(request.args),
        format=fmt,
        if_none_match=None if page else request.headers.get("If-None-Match"),
        if_modified_since=None if page else request.headers.get("If-Modified-Since"),
        path=request.path,
    )
    result: ApiResponse = getattr(api, handler)(req, **parts)
    if result.status == 304:
        response = Response(status=304)
    elif isinstance(result.body, bytes):
        response = Response(result.body, result.status, content_type=result.media_type)
    elif page and result.template:
        response = Response(
            render_template(result.template, body=result.body),
            result.status,
            content_type="text/html; charset=utf-8",
        )
        result.headers.pop("ETag", None)
        result.headers.pop("Last-Modified", None)
    else:
        response = Response(
            json_bytes(result.body),
            result.status,
            content_type=f"{result.media_type}; charset=utf-8",
        )
    response.headers.update(result.headers)
    response.vary.add("Accept")
    return response


@bp.after_request
def _cors(response: Response) -> Response:
    response.headers.update(CORS_HEADERS)
    return response


# The GET paths of the OGC API, each answered by the OgcApi method named as its endpoint;
# the path's parts go to it by name, named as the OGC document names them (a refusal of
# ``/tiles/WebMercatorQuad/-1/0/0`` names ``tileMatrix``, as a client reads it there).
ROUTES = (
    ("", "landing"),
    ("/", "landing"),
    ("/conformance", "conformance"),
    ("/collections", "collections_list"),
    ("/collections/<collection_id>", "collection"),
    ("/collections/<collection_id>/queryables", "queryables"),
    ("/collections/<collection_id>/schema", "schema"),
    ("/collections/<collection_id>/items", "items"),
    ("/collections/<collection_id>/items/<feature_id>", "item"),
    ("/collections/<collection_id>/tiles", "tilesets"),
    (
        "/collections/<collection_id>/tiles/<matrix_set>/<int:tileMatrix>/<int:tileRow>"
        "/<int:tileCol>",
        "tile",
    ),
)
_VIEWS = {handler: functools.partial(execute, handler) for _, handler in ROUTES}
for _path, _handler in ROUTES:
    bp.add_url_rule(_path, _handler, _VIEWS[_handler], methods=["GET"])


@bp.get("/collections/<collection_id>/download.gpkg")
def download(collection_id):
    """The whole layer as one GeoPackage (EPSG:4490), for bulk copies in one request."""
    check_params(request.args, ())
    provider = layer(collection_id)
    with tempfile.TemporaryDirectory() as folder:
        path = write_layer(
            provider.frame(store()), "gpkg", Path(folder) / f"{provider.id}.gpkg", provider.id
        )
        data = path.read_bytes()
    response = Response(data, content_type=GEOPACKAGE)
    response.headers["Content-Disposition"] = f'attachment; filename="{provider.id}.gpkg"'
    return response


@bp.get("/api")
def openapi():
    from webmap.openapi_ogc import ogc_openapi_document

    check_params(request.args, ("f",))
    if request.args.get("f") not in (None, "json"):
        raise InvalidInput(
            f"不支持的输出格式 f={request.args['f']!r}：OpenAPI 文档只有 JSON（f=json）",
            details={"f": request.args["f"]},
        )
    return Response(
        json.dumps(ogc_openapi_document(request.url_root.rstrip("/"), LAYERS), ensure_ascii=False),
        content_type="application/vnd.oai.openapi+json;version=3.0; charset=utf-8",
    )
