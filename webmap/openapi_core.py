"""OpenAPI paths of the core API: health, divisions and lookup (the OGC API - Features paths
are generated from the layer registry in ``webmap.openapi_ogc``)."""

from webmap.responses import error, json_content

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
            "parameters": [_CODE],
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
            "responses": {"200": json_content("FeatureCollection"), "400": error("Bad parameter")},
        }
    },
    "/api/search": {
        "get": {
            "summary": "Search standard names: characters (simplified/traditional), pinyin, "
            "initials, prefix, one typo, former names, or a chain of names top down "
            "(广州天河, gz th); `chain` says how a chain was read and whether it nests",
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
            "responses": {"200": json_content("Hits"), "400": error("Bad query")},
        }
    },
    "/api/reverse": {
        "get": {
            "summary": "Divisions containing a point and the nearest named places",
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
