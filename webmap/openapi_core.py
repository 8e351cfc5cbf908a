"""OpenAPI paths of the core API: health, divisions and lookup (the OGC API - Features paths
are generated from the layer registry in ``webmap.openapi_ogc``)."""

from gazetteer.core.crs import CRS_TAG_HELP
from gazetteer.tables import PLACE_STATUSES
from webmap.responses import error, json_content, query_param, query_parameters
from webmap.schemas import DivisionQuery

_CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^[0-9]{6}([0-9]{3}){0,2}$"},
}

PATHS = {
    "/api/health": {"get": {"summary": "Service health", "responses": {"200": json_content("OK")}}},
    "/api/divisions/{code}": {
        "get": {
            "summary": "A division by statistical code, with its chain and children",
            "parameters": [
                _CODE,
                *query_parameters(DivisionQuery),
            ],
            "responses": {
                "200": json_content("The division"),
                "400": error("Malformed code"),
                "404": error("Unknown code"),
            },
        }
    },
    "/api/divisions.geojson": {
        "get": {
            "summary": "Divisions of one level, coverage-simplified GeoJSON",
            "parameters": [
                query_param("level", {"type": "string", "enum": ["province", "city", "county"]}),
                query_param("tolerance_deg", {"type": "number", "minimum": 0, "maximum": 0.1}),
            ],
            "responses": {"200": json_content("FeatureCollection"), "400": error("Bad parameter")},
        }
    },
    "/api/search": {
        "get": {
            "summary": "Search standard names: characters (simplified/traditional), pinyin, "
            "initials, prefix, one typo, former names, or a chain of names top down "
            "(广州天河, gz th); `chain` says how a chain was read and whether it nests",
            "parameters": [
                query_param(
                    "q", {"type": "string", "minLength": 1, "maxLength": 100}, required=True
                ),
                query_param("division", {"type": "string"}),
                query_param("feature_class", {"type": "string"}),
                query_param("status", {"type": "string", "enum": list(PLACE_STATUSES)}),
                query_param("bbox", {"type": "string"}),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 100}),
                query_param("offset", {"type": "integer", "minimum": 0, "maximum": 10000}),
            ],
            "responses": {
                "200": json_content(
                    "{query, results: ranked hits with division chains, chain: null or "
                    "{levels, tail, nested, message}}"
                ),
                "400": error("Bad query"),
            },
        }
    },
    "/api/suggest": {
        "get": {
            "summary": "Completions as the user types (no typos)",
            "parameters": [
                query_param(
                    "q", {"type": "string", "minLength": 1, "maxLength": 100}, required=True
                ),
                query_param("limit", {"type": "integer", "minimum": 1, "maximum": 20}),
            ],
            "responses": {"200": json_content("Hits"), "400": error("Bad query")},
        }
    },
    "/api/reverse": {
        "get": {
            "summary": "Divisions containing a point and the nearest named places",
            "parameters": [
                query_param("lon", {"type": "number"}, required=True),
                query_param("lat", {"type": "number"}, required=True),
                query_param(
                    "crs", {"type": "string", "minLength": 1, "default": "CGCS2000"}, CRS_TAG_HELP
                ),
                query_param("nearest", {"type": "integer", "minimum": 0, "maximum": 50}),
            ],
            "responses": {
                "200": json_content("Division chain and nearest places"),
                "400": error("Bad coordinates"),
            },
        }
    },
    "/api/reverse/batch": {
        "post": {
            "summary": "Reverse lookup for up to 10,000 points",
            "responses": {
                "200": json_content("Per point division chain"),
                "400": error("Bad input"),
            },
        }
    },
    "/api/openapi.json": {
        "get": {
            "summary": "This OpenAPI document",
            "responses": {"200": json_content("OpenAPI 3.0")},
        }
    },
}
