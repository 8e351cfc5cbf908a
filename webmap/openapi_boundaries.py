"""OpenAPI paths of the boundaries API (/api/boundaries/...)."""

from boundaries.vocabulary import LINE_KINDS
from webmap import responses as r
from webmap import schemas as s
from webmap.responses import (
    Inspection,
    error,
    file_content,
    json_content,
    operation,
    path_param,
    query_param,
)

_FILE_TYPES = ("application/geo+json", "text/csv", "application/geopackage+sqlite3")


def _file_body() -> dict:
    return {"required": True, **file_content("The file, as ``format`` says", *_FILE_TYPES)}


def _int(name: str, where: str = "query", required: bool = False) -> dict:
    return {
        "name": name,
        "in": where,
        "required": required or where == "path",
        "schema": {"type": "integer"},
    }


_UUID = path_param("inspection_id", {"type": "string", "format": "uuid"})
_FORMAT = query_param("format", {"type": "string", "enum": ["geojson", "csv", "gpkg"]})
_FILE = file_content(
    "The export file, as ``format`` asks (EPSG:4490; CSV UTF-8 with BOM)", *_FILE_TYPES
)
PATHS = {
    "/api/boundaries/vocabulary": {
        "get": {
            "summary": "Coded values with Chinese labels (states with map colours) and the marker fields",
            "responses": {"200": json_content("Vocabularies: lists of {code, zh[, colour]}")},
        }
    },
    "/api/boundaries/lines": {
        "get": {
            "summary": "Boundary lines with computed (geodesic, generalised) and official lengths in km",
            "parameters": [query_param("kind", {"type": "string", "enum": list(LINE_KINDS)})],
            "responses": {
                "200": json_content("Lines and the length note"),
                "400": error("Bad kind"),
            },
        }
    },
    "/api/boundaries/lines/{line_id}": {
        "get": {
            "summary": "One line; ?geometry=1 adds the MultiLineString (CGCS2000 lon/lat)",
            "parameters": [_int("line_id", "path")],
            "responses": {"200": json_content("Line"), "404": error("Unknown line")},
        }
    },
    "/api/boundaries/tri-junctions": {
        "get": {
            "summary": "Tri-junction points (三交点)",
            "responses": {"200": json_content("Tri-junctions")},
        }
    },
    "/api/boundaries/markers": {
        "get": {
            "summary": "Markers as GeoJSON (demonstration rows labelled 演示数据)",
            "parameters": [
                _int("line_id"),
                query_param("state", {"type": "string"}),
            ],
            "responses": {
                "200": {
                    "description": "FeatureCollection",
                    "content": {"application/json": {"schema": {"type": "object"}}},
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
            "responses": {
                "200": json_content("Feature with history"),
                "404": error("Unknown marker"),
            },
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
                "200": json_content(
                    "The same picture was already stored for this marker: the existing photo,"
                    " its caption replaced by a new non-empty one"
                ),
                "201": json_content("Stored photo"),
                "413": error("Too large"),
            },
        }
    },
    "/api/boundaries/photos/{sha256}": {
        "get": {
            "summary": "A stored photo",
            "parameters": [
                {"name": "sha256", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "Image"}, "404": error("Unknown photo")},
        }
    },
    "/api/boundaries/markers/export": {
        "get": {
            "summary": "Export markers",
            "parameters": [_FORMAT, _int("line_id")],
            "responses": {"200": _FILE, "400": error("Bad format")},
        }
    },
    "/api/boundaries/markers/import": {
        "post": {
            "summary": "Import markers (officer; all or nothing)",
            "parameters": [_FORMAT],
            "requestBody": _file_body(),
            "responses": {"200": json_content("Counts")},
        }
    },
    "/api/boundaries/rounds": {
        "get": {
            "summary": "Joint inspection rounds",
            "parameters": [_int("line_id")],
            "responses": {"200": json_content("Rounds")},
        },
        "post": {
            "summary": "Plan a round (officer)",
            "responses": {"201": json_content("Round")},
        },
    },
    "/api/boundaries/rounds/{round_id}": {
        "get": {
            "summary": "One round with teams",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": json_content("Round"), "404": error("Unknown round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/start": {
        "post": {
            "summary": "Start a planned round (officer)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": json_content("Round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/complete": {
        "post": {
            "summary": "Complete a round (all markers inspected, all records signed by both sides)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": json_content("Round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/report": {
        "get": {
            "summary": "Round report totals per line",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": json_content("Report"), "404": error("Unknown round")},
        }
    },
    "/api/boundaries/rounds/{round_id}/export.gpkg": {
        "get": {
            "summary": "The round as GeoPackage (line, markers, inspections)",
            "parameters": [_int("round_id", "path")],
            "responses": {"200": _FILE, "404": error("Unknown round")},
        }
    },
    "/api/boundaries/inspections": {
        "get": {
            "summary": "Inspection records",
            "parameters": [_int("round_id"), _int("marker_id")],
            "responses": {"200": json_content("Records")},
        },
        "post": {
            "summary": "Record an inspection (inspector); idempotent by client id",
            "responses": {
                "201": json_content("Stored now", Inspection),
                "200": json_content("Already stored", Inspection),
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
            "responses": {"200": json_content("Record", Inspection)},
        }
    },
    "/api/boundaries/inspections/export": {
        "get": {
            "summary": "Export inspection records",
            "parameters": [_FORMAT, _int("round_id")],
            "responses": {"200": _FILE, "400": error("Bad format")},
        }
    },
    "/api/boundaries/inspections/import": {
        "post": {
            "summary": "Offline sync: import records (exactly-once by id)",
            "parameters": [_FORMAT],
            "requestBody": _file_body(),
            "responses": {"200": json_content("Counts")},
        }
    },
    "/api/boundaries/tasks": {
        "get": {
            "summary": "Maintenance tasks",
            "parameters": [
                query_param("status", {"type": "string"}),
                _int("round_id"),
                _int("line_id"),
            ],
            "responses": {"200": json_content("Tasks")},
        },
        "post": {
            "summary": "Open a task by hand (officer)",
            "responses": {"201": json_content("Task")},
        },
    },
    "/api/boundaries/tasks/{task_id}": {
        "post": {
            "summary": "Move a task on (done needs result and witness)",
            "parameters": [_int("task_id", "path")],
            "responses": {"200": json_content("Task")},
        }
    },
    "/api/boundaries/tasks/{task_id}/approve": {
        "post": {
            "summary": "One side approves a relocation/retirement",
            "parameters": [_int("task_id", "path")],
            "responses": {"200": json_content("Task")},
        }
    },
    "/api/boundaries/disputes": {
        "get": {
            "summary": "Dispute-risk records (争议隐患)",
            "parameters": [_int("line_id")],
            "responses": {"200": json_content("Disputes")},
        },
        "post": {
            "summary": "Record a dispute risk",
            "responses": {"201": json_content("Dispute")},
        },
    },
    "/api/boundaries/disputes/{dispute_id}": {
        "post": {
            "summary": "Change a dispute risk's status",
            "parameters": [_int("dispute_id", "path")],
            "responses": {"200": json_content("Dispute")},
        }
    },
    "/api/boundaries/rounds/{round_id}/markers": {
        "get": operation("The round's markers with this round's record of each", r.RoundMarkers)
    },
    "/api/boundaries/rounds/{round_id}/conclusion": {
        "post": operation("One side's officer signs the joint conclusion", r.Round)
    },
    "/api/boundaries/due": {
        "get": operation("Lines with their last joint inspection and next due date", r.LinesDue)
    },
    "/api/boundaries/staff": {
        "get": operation(
            "Staff profiles (name, organisation, side)", r.StaffList, query=s.StaffQuery
        )
    },
    "/api/boundaries/staff/{username}": {
        "post": operation(
            "Create or replace a staff profile (officer of that side, or admin)", r.StaffMember
        )
    },
    "/api/boundaries/inspections/{inspection_id}/amendments": {
        "get": operation("The amendments of a record, oldest first", r.Amendments, params=[_UUID]),
        "post": operation(
            "Amend or re-inspect a record; idempotent by the amendment's id",
            Inspection,
            status="201",
            params=[_UUID],
            responses={"200": json_content("Already stored", Inspection)},
        ),
    },
    "/api/boundaries/division-changes": {
        "get": operation(
            "Recorded division renames, newest first",
            r.DivisionChanges,
            query=s.DivisionChangesQuery,
        ),
        "post": operation("Rename a division under its approval (officer)", status="201"),
    },
}
