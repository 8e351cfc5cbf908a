"""OpenAPI paths of the OGC API - Features, generated from the layer registry: one items path
per collection with every parameter it accepts (its queryables included), and the shared
parameters under ``components/parameters`` — GDAL (>= 3.8) reads ``limit``'s default and
maximum there, through a ``$ref``, to choose its page size.

``PATHS``/``PARAMETERS`` (prefixed ``/ogc``) go into the app's /api/openapi.json;
``ogc_openapi_document`` is the OGC API's own /ogc/api with the server at /ogc, which is where
GDAL looks the items paths up.
"""

from __future__ import annotations

from gazetteer.tiles import MAX_ZOOM, MVT_MEDIA_TYPE
from webmap.layers import LAYERS
from webmap.ogcapi import ItemsQuery, item_params
from webmap.responses import Error, error, json_content, path_param, query_parameters
from webmap.schemas import openapi30_components


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/parameters/{name}"}


_COMMA_SEPARATED = {"style": "form", "explode": False}


def _parameters() -> dict:
    """The shared OGC parameters, generated from the query models that check them
    (``webmap.ogcapi.ItemsQuery``); a list (``bbox``) is comma-separated."""
    params = {p["name"]: p for p in query_parameters(ItemsQuery)}
    params["bbox"].update(_COMMA_SEPARATED)
    params["limit"].update(_COMMA_SEPARATED)
    return {
        **params,
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": [layer.id for layer in LAYERS]},
        },
        "featureId": path_param("featureId"),
    }


PARAMETERS = _parameters()


def _ok(media: str, description: str) -> dict:
    """An answer in ``media``, or an HTML page when ``f=html`` asks for one."""
    return json_content(description, media=(media, "text/html"))


def _properties(layer) -> dict:
    """``properties`` of ``layer``: a comma-separated list of its own property names (the
    server refuses any other name)."""
    names = [field.name for field in layer.fields]
    return {
        **PARAMETERS["properties"],
        "schema": {"type": "array", "items": {"type": "string", "enum": names}},
        **_COMMA_SEPARATED,
    }


def ogc_paths(prefix: str) -> dict:
    """The OGC API paths under ``prefix`` ('' for /ogc/api, '/ogc' for the app document)."""
    f = [_ref("f")]
    paths = {
        f"{prefix}/": {
            "get": {
                "summary": "Landing page",
                "parameters": f,
                "responses": {"200": _ok("application/json", "Landing page")},
            }
        },
        f"{prefix}/conformance": {
            "get": {
                "summary": "Conformance classes",
                "parameters": f,
                "responses": {"200": _ok("application/json", "Conformance")},
            }
        },
        f"{prefix}/api": {
            "get": {
                "summary": "This OpenAPI document",
                "responses": {
                    "200": json_content(
                        "OpenAPI 3.0", media="application/vnd.oai.openapi+json;version=3.0"
                    )
                },
            }
        },
        f"{prefix}/collections": {
            "get": {
                "summary": "Feature collections",
                "parameters": f,
                "responses": {"200": _ok("application/json", "Collections")},
            }
        },
    }
    for layer in LAYERS:
        base = f"{prefix}/collections/{layer.id}"
        queryables = [
            {
                "name": name,
                "in": "query",
                "description": f"{field.title}（等于）" if field.title else "equals",
                "schema": field.schema(),
            }
            for name, field in layer.queryable_fields().items()
        ]
        paths[base] = {
            "get": {
                "summary": f"Collection {layer.id}: {layer.display_title}",
                "parameters": f,
                "responses": {
                    "200": _ok("application/json", "Collection"),
                    "404": error("Unknown"),
                },
            }
        }
        paths[f"{base}/queryables"] = {
            "get": {
                "summary": f"Queryables of {layer.id}",
                "parameters": f,
                "responses": {"200": _ok("application/schema+json", "JSON Schema")},
            }
        }
        paths[f"{base}/schema"] = {
            "get": {
                "summary": f"JSON Schema of the features of {layer.id} (every property typed)",
                "parameters": f,
                "responses": {"200": _ok("application/schema+json", "JSON Schema")},
            }
        }
        paths[f"{base}/items"] = {
            "get": {
                "summary": f"Features of {layer.id} (GeoJSON)",
                "parameters": [
                    _properties(layer) if p == "properties" else _ref(p)
                    for p in item_params(layer)
                    if p in PARAMETERS
                ]
                + queryables,
                "responses": {
                    "200": _ok("application/geo+json", "FeatureCollection"),
                    "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                    "400": error("Bad or unknown parameter"),
                },
            }
        }
        paths[f"{base}/items/{{featureId}}"] = {
            "get": {
                "summary": f"One feature of {layer.id}",
                "parameters": [
                    _ref("featureId"),
                    _ref("f"),
                    _ref("crs"),
                    _properties(layer),
                    _ref("skipGeometry"),
                ],
                "responses": {
                    "200": _ok("application/geo+json", "Feature"),
                    "404": error("Unknown feature"),
                },
            }
        }
        if layer.tile_properties:
            paths.update(_tile_paths(base, layer.id, f, queryables))
        paths[f"{base}/download.gpkg"] = {
            "get": {
                "summary": f"The whole {layer.id} layer as a GeoPackage (EPSG:4490)",
                "responses": {
                    "200": {
                        "description": "GeoPackage",
                        "content": {
                            "application/geopackage+sqlite3": {
                                "schema": {"type": "string", "format": "binary"}
                            }
                        },
                    }
                },
            }
        }
    return paths


def _tile_paths(base: str, layer_id: str, f: list, queryables: list) -> dict:
    """The tileset metadata and the tiles (WebMercatorQuad, zoom 0..MAX_ZOOM) of a layer."""

    def index(name: str, description: str, maximum: int) -> dict:
        return {
            "name": name,
            "in": "path",
            "required": True,
            "description": description,
            "schema": {"type": "integer", "minimum": 0, "maximum": maximum},
        }

    return {
        f"{base}/tiles": {
            "get": {
                "summary": f"Vector tilesets of {layer_id}",
                "parameters": f,
                "responses": {"200": _ok("application/json", "Tilesets"), "404": error("Unknown")},
            }
        },
        f"{base}/tiles/WebMercatorQuad/{{tileMatrix}}/{{tileRow}}/{{tileCol}}": {
            "get": {
                "summary": f"One Mapbox Vector Tile of {layer_id}",
                "parameters": [
                    index("tileMatrix", "zoom level", MAX_ZOOM),
                    index("tileRow", "row, 0 at the north, below 2^tileMatrix", 2**MAX_ZOOM - 1),
                    index("tileCol", "column, 0 at 180°W, below 2^tileMatrix", 2**MAX_ZOOM - 1),
                ]
                + queryables,
                "responses": {
                    "200": {
                        "description": "Mapbox Vector Tile",
                        "content": {
                            MVT_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}
                        },
                    },
                    "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"},
                    "400": error("Zoom, row or column out of range, or a bad parameter"),
                    "404": error("Unknown"),
                },
            }
        },
    }


PATHS = ogc_paths("/ogc")


def ogc_openapi_document(server_url: str, layers=LAYERS) -> dict:
    """/ogc/api: the OGC API alone, with its server at ``server_url``/ogc."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "广东省地名与行政区域界线 OGC API - Features",
            "version": "0.2.0",
            "description": "OGC API - Features Parts 1, 2 and 3 over the layers of "
            + ", ".join(layer.id for layer in layers)
            + ". Geometries are stored in CGCS2000 (EPSG:4490) and served in CRS84 by default.",
        },
        "servers": [{"url": f"{server_url}/ogc"}],
        "paths": ogc_paths(""),
        "components": {
            "schemas": openapi30_components((Error,), mode="serialization"),
            "parameters": PARAMETERS,
        },
    }
