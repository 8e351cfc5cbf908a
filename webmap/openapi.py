"""The OpenAPI 3.0 document of the whole HTTP API, assembled from each area's part.

Each area keeps its paths next to its routes (``webmap.openapi_*`` modules with ``PATHS``
and ``SCHEMAS``); this module merges them and adds the shared error schema. Every JSON
request body is generated from the pydantic model that checks it (``webmap.schemas``).
"""

from __future__ import annotations

import copy
import importlib

from webmap.schemas import add_request_bodies, request_schemas

PART_MODULES = (
    "webmap.openapi_core",
    "webmap.openapi_public",
    "webmap.openapi_registry",
    "webmap.openapi_campaigns",
    "webmap.openapi_boundaries",
    "webmap.openapi_ogc",
)

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "details": {"type": "object"},
            },
        }
    },
}


def openapi_document(server_url: str) -> dict:
    paths: dict = {}
    schemas: dict = {"Error": ERROR_SCHEMA}
    parameters: dict = {}
    for name in PART_MODULES:
        module = importlib.import_module(name)
        paths.update(copy.deepcopy(module.PATHS))  # request bodies are added below
        schemas.update(getattr(module, "SCHEMAS", {}))
        parameters.update(getattr(module, "PARAMETERS", {}))
    # Request bodies are generated from the models that check them (webmap.schemas).
    schemas.update(request_schemas())
    add_request_bodies(paths)
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
