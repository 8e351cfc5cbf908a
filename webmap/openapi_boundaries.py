"""OpenAPI paths of the boundaries API (/api/boundaries/...)."""

from boundaries.vocabulary import (
    FOUND_STATES,
    LINE_KINDS,
    MEASUREMENT_METHODS,
)


def _error(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(description: str, ref: str | None = None) -> dict:
    schema = {"$ref": f"#/components/schemas/{ref}"} if ref else {"type": "object"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _file_body() -> dict:
    return {
        "required": True,
        "content": {
            m: {"schema": {"type": "string", "format": "binary"}}
            for m in ("application/geo+json", "text/csv", "application/geopackage+sqlite3")
        },
    }


def _int(name: str, where: str = "query", required: bool = False) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": {"type": "integer"},
    }


_FORMAT = {
    "name": "format",
    "in": "query",
    "schema": {"type": "string", "enum": ["geojson", "csv", "gpkg"]},
}
_FILE = {
    "description": "The export file (EPSG:4490; CSV UTF-8 with BOM)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
_WRITE_ERRORS = {
    "400": _error("Invalid input (Chinese message; nothing written)"),
    "401": _error("Not signed in"),
    "403": _error("Role not allowed"),
    "404": _error("Not found"),
    "409": _error("Conflict or illegal transition"),
}

PATHS = {
    "/api/boundaries/vocabulary": {
        "get": {
            "summary": "Coded values with Chinese labels (states with map colours) and the marker fields",
            "responses": {"200": _json("Vocabularies: lists of {code, zh[, colour]}")},
        }
    },
    "/api/boundaries/lines": {
        "get": {
            "summary": "Boundary lines with computed (geodesic, generalised) and official lengths in km",
            "parameters": [
                {
                    "name": "kind",
                    "in": "query",
                    "schema": {"type": "string", "enum": list(LINE_KINDS)},
                }
            ],
            "responses": {"200": _json("Lines and the length note"), "400": _error("Bad kind")},
        }
    },
    "/api/boundaries/lines/{line_id}": {
        "get": {
            "summary": "One line; ?geometry=1 adds the MultiLineString (CGCS2000 lon/lat)",
            "parameters": [_int("line_id", "path")],
            "responses": {"200": _json("Line"), "404": _error("Unknown line")},
        }
    },
    "/api/boundaries/tri-junctions": {
        "get": {
            "summary": "Tri-junction points (三交点)",
            "responses": {"200": _json("Tri-junctions")},
        }
    },
    "/api/boundaries/markers": {
        "get": {
            "summary": "Markers as GeoJSON (demonstration rows labelled 演示数据)",
            "parameters": [
                _int("line_id"),
                {"name": "state", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": {
                    "description": "FeatureCollection",
                    "content": {"application/geo+json": {"schema": {"type": "object"}}},
                }
            },
        }
    },
    "/api/boundaries/markers/{key}": {
        "get": {
            "summary": "One marker by id or number, with inspection, task and photo history",
            "parameters": [
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": _json("Feature with history"), "404": _error("Unknown marker")},
        }
    },
    "/api/boundaries/markers/{marker_id}/photos": {
        "post": {
            "summary": "Upload a photo (JPEG/PNG/WebP by magic bytes; stored by SHA-256)",
            "parameters": [_int("marker_id", "path")],
            "requestBody": {
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "photo": {"type": "string", "format": "binary"},
                                "inspection_id": {"type": "string"},
                                "caption": {"type": "string"},
                            },
                        }
                    }
                },
            },
            "responses": {
                "201": _json("Stored photo"),
                "413": _error("Too large"),
                **_WRITE_ERRORS,
            },
        }
    },
    "/api/boundaries/photos/{sha256}": {
        "get": {
            "summary": "A stored photo",
            "parameters": [
                {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "Image"}, "404": _error("Unknown photo")},
        }
    },
    "/api/boundaries/markers/export": {
        "get": {
            "summary": "Export markers",
            "parameters": [_FORMAT, _int("line_id")],
            "responses": {"200": _FILE, "400": _error("Bad format")},
        }
    },
    "/api/boundaries/markers/import": {
        "post": {
            "summary": "Import markers (officer; all or nothing)",
            "parameters": [_FORMAT],
            "requestBody": _file_body(),
            "responses": {"200": _json("Counts"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/rounds": {
        "get": {
            "summary": "Joint inspection rounds",
            "parameters": [_int("line_id")],
            "responses": {"200": _json("Rounds")},
        },
        "post": {
            "summary": "Plan a round (officer)",
            "responses": {"201": _json("Round"), **_WRITE_ERRORS},
        },
    },
    "/api/boundaries/rounds/{round_id}": {
        "get": {
            "summary": "One round with teams",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _json("Round"), "404": _error("Unknown round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/start": {
        "post": {
            "summary": "Start a planned round (officer)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _json("Round"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/rounds/{round_id}/complete": {
        "post": {
            "summary": "Complete a round (all markers inspected, all records signed by both sides)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _json("Round"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/rounds/{round_id}/report": {
        "get": {
            "summary": "Round report totals per line",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _json("Report"), "404": _error("Unknown round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/export.gpkg": {
        "get": {
            "summary": "The round as GeoPackage (line, markers, inspections)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _FILE, "404": _error("Unknown round")},
        }
    },
    "/api/boundaries/inspections": {
        "get": {
            "summary": "Inspection records",
            "parameters": [_int("round_id"), _int("marker_id")],
            "responses": {"200": _json("Records")},
        },
        "post": {
            "summary": "Record an inspection (inspector); idempotent by client id",
            "responses": {
                "201": _json("Stored now", "Inspection"),
                "200": _json("Already stored", "Inspection"),
                **_WRITE_ERRORS,
            },
        },
    },
    "/api/boundaries/inspections/{inspection_id}/sign": {
        "post": {
            "summary": "One side's sign-off (a team member of that side)",
            "parameters": [
                {
                    "name": "inspection_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "format": "uuid"},
                }
            ],
            "responses": {"200": _json("Record", "Inspection"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/inspections/export": {
        "get": {
            "summary": "Export inspection records",
            "parameters": [_FORMAT, _int("round_id")],
            "responses": {"200": _FILE, "400": _error("Bad format")},
        }
    },
    "/api/boundaries/inspections/import": {
        "post": {
            "summary": "Offline sync: import records (exactly-once by id)",
            "parameters": [_FORMAT],
            "requestBody": _file_body(),
            "responses": {"200": _json("Counts"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/tasks": {
        "get": {
            "summary": "Maintenance tasks",
            "parameters": [
                {"name": "status", "in": "query", "schema": {"type": "string"}},
                _int("round_id"),
                _int("line_id"),
            ],
            "responses": {"200": _json("Tasks")},
        },
        "post": {
            "summary": "Open a task by hand (officer)",
            "responses": {"201": _json("Task"), **_WRITE_ERRORS},
        },
    },
    "/api/boundaries/tasks/{task_id}": {
        "post": {
            "summary": "Move a task on (done needs result and witness)",
            "parameters": [_int("task_id", "path")],
            "responses": {"200": _json("Task"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/tasks/{task_id}/approve": {
        "post": {
            "summary": "One side approves a relocation/retirement",
            "parameters": [_int("task_id", "path")],
            "responses": {"200": _json("Task"), **_WRITE_ERRORS},
        }
    },
    "/api/boundaries/disputes": {
        "get": {
            "summary": "Dispute-risk records (争议隐患)",
            "parameters": [_int("line_id")],
            "responses": {"200": _json("Disputes")},
        },
        "post": {
            "summary": "Record a dispute risk",
            "responses": {"201": _json("Dispute"), **_WRITE_ERRORS},
        },
    },
    "/api/boundaries/disputes/{dispute_id}": {
        "post": {
            "summary": "Change a dispute risk's status",
            "parameters": [_int("dispute_id", "path")],
            "responses": {"200": _json("Dispute"), **_WRITE_ERRORS},
        }
    },
}

SCHEMAS = {
    "Inspection": {
        "type": "object",
        "required": ["id", "round_id", "found_state"],
        "properties": {
            "id": {
                "type": "string",
                "format": "uuid",
                "description": "client-made; resending is a no-op",
            },
            "round_id": {"type": "integer"},
            "marker": {"type": "string", "example": "粤桂001C"},
            "marker_id": {"type": "integer"},
            "found_state": {
                "type": "string",
                "enum": list(FOUND_STATES),
            },
            "measured_lon": {"type": "number", "description": "CGCS2000 degrees"},
            "measured_lat": {"type": "number", "description": "CGCS2000 degrees"},
            "measurement_method": {
                "type": "string",
                "enum": list(MEASUREMENT_METHODS),
            },
            "measurement_accuracy_m": {"type": "number"},
            "notes": {"type": "string"},
            "photos": {"type": "array", "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"}},
            "inspected_at": {"type": "string", "format": "date-time"},
            "displacement_m": {"type": "number", "readOnly": True},
            "flagged_moved": {"type": "boolean", "readOnly": True},
            "assessed_state": {"type": "string", "readOnly": True},
        },
    },
}
