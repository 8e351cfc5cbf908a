"""The OpenAPI 3.0 document of the whole HTTP API, assembled from each area's part.

Each area keeps its paths next to its routes (``webmap.openapi_*`` modules with ``PATHS``
and ``PARAMETERS``); this module merges them. Every schema is generated: a JSON request
body from the pydantic model that checks it (``webmap.schemas``), an answer from its
response model (``webmap.responses``); every operation lists the error answers the app's
request checks can give it.
"""

from __future__ import annotations

import copy
import functools
import importlib

from flask import Flask, request

from webmap.responses import (
    add_path_parameters,
    add_standard_errors,
    query_parameters,
    response_schemas,
)
from webmap.schemas import (
    QUERY_MODELS,
    REQUEST_BODIES,
    NoQuery,
    add_request_bodies,
    operation_key,
    query_args,
    request_schemas,
)

PART_MODULES = (
    "webmap.openapi_core",
    "webmap.openapi_public",
    "webmap.openapi_registry",
    "webmap.openapi_campaigns",
    "webmap.openapi_boundaries",
    "webmap.openapi_auth",
    "webmap.openapi_imports",
    "webmap.openapi_ogc",
)


OGC_PREFIX = "/ogc"  # the OGC API checks its parameters by its own rules (webmap.ogcapi)


@functools.cache
def checked_operations() -> frozenset[tuple[str, str]]:
    """Every (path, method) of the document outside the OGC API: each reads its query
    string through its model in ``webmap.schemas.QUERY_MODELS`` (or takes none)."""
    operations = set(REQUEST_BODIES)
    for name in PART_MODULES:
        for path, methods in importlib.import_module(name).PATHS.items():
            operations.update((path, method) for method in methods)
    return frozenset(op for op in operations if not op[0].startswith(OGC_PREFIX))


def add_query_parameters(paths: dict) -> None:
    """Give every checked operation of ``paths`` the parameters of its query model."""
    for path, method in checked_operations():
        model = QUERY_MODELS.get((path, method), NoQuery)
        operation = paths[path][method]
        operation["parameters"] = [*operation.get("parameters", []), *query_parameters(model)]


def check_query_string() -> None:
    """Before any route runs: the query string of a documented operation is checked against
    its model, so an unknown, empty, repeated or ill-typed parameter is a 400 naming it even
    where the route reads none."""
    if request.url_rule is not None and operation_key() in checked_operations():
        query_args()


def init_app(app: Flask) -> None:
    app.before_request(check_query_string)


def openapi_document(server_url: str) -> dict:
    paths: dict = {}
    parameters: dict = {}
    for name in PART_MODULES:
        module = importlib.import_module(name)
        paths.update(copy.deepcopy(module.PATHS))  # request bodies are added below
        parameters.update(getattr(module, "PARAMETERS", {}))
    schemas = {**response_schemas(), **request_schemas()}
    add_request_bodies(paths)
    add_query_parameters(paths)
    add_path_parameters(paths)
    add_standard_errors(paths)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "广东省地名与行政区域界线 API",
            "version": "0.1.0",
            "description": "Standard place names and administrative boundaries of Guangdong. "
            "Coordinates are CGCS2000 longitude/latitude (EPSG:4490). "
            "Every error answers with the Error schema.",
        },
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": schemas, "parameters": parameters},
    }
