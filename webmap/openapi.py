"""The OpenAPI 3.0 document of the whole HTTP API, assembled from each area's part.

Each area keeps its paths next to its routes (``webmap.openapi_*`` modules with ``PATHS``
and ``PARAMETERS``); this module merges them. Every schema is generated: a JSON request
body from the pydantic model that checks it (``webmap.schemas``), an answer from its
response model (``webmap.responses``); every operation lists the error answers the app's
request checks can give it.
"""

from __future__ import annotations

import copy
import importlib

from webmap.responses import add_path_parameters, add_standard_errors, response_schemas
from webmap.schemas import add_request_bodies, request_schemas

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


def openapi_document(server_url: str) -> dict:
    paths: dict = {}
    parameters: dict = {}
    for name in PART_MODULES:
        module = importlib.import_module(name)
        paths.update(copy.deepcopy(module.PATHS))  # request bodies are added below
        parameters.update(getattr(module, "PARAMETERS", {}))
    schemas = {**response_schemas(), **request_schemas()}
    add_request_bodies(paths)
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
