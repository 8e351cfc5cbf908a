"""OpenAPI paths of the boundaries API (/api/boundaries/...), one ``operation`` each (path
parameters named ``…_id`` are integers unless declared; ``webmap.responses``)."""

from gazetteer.core.text import TEXT_PATTERN
from webmap import responses as r
from webmap import schemas as s
from webmap.responses import error, file_content, form_body, json_content, operation, path_param

_FILE_TYPES = ("application/geo+json", "text/csv", "application/geopackage+sqlite3")
_UPLOAD = {"required": True, **file_content("The file, as ``format`` says", *_FILE_TYPES)}
_FILE = file_content(
    "The export file, as ``format`` asks (EPSG:4490; CSV UTF-8 with BOM)", *_FILE_TYPES
)
_UUID = path_param("inspection_id", {"type": "string", "format": "uuid", "pattern": TEXT_PATTERN})
_STORED = {"200": json_content("Already stored", r.Inspection)}  # resent: the record as stored


def _collection(record: str, listed: str, created: str) -> dict:
    """The operations of a collection of ``record``s: GET lists them (``listed``), POST
    creates one (``created``) and answers it with 201."""
    return {
        "get": operation(listed, f"{record}s"),
        "post": operation(created, record, status="201"),
    }


PATHS = {
    "/api/boundaries/vocabulary": {
        "get": operation(
            "Coded values with Chinese labels (states with map colours) and the marker fields",
            "Vocabularies: lists of {code, zh[, colour]}",
        )
    },
    "/api/boundaries/lines": {
        "get": operation(
            "Boundary lines with computed (geodesic, generalised) and official lengths in km",
            "Lines and the length note",
        )
    },
    "/api/boundaries/lines/{line_id}": {
        "get": operation(
            "One line; ?geometry=1 adds the MultiLineString (CGCS2000 lon/lat)", "Line"
        )
    },
    "/api/boundaries/tri-junctions": {
        "get": operation("Tri-junction points (三交点)", "Tri-junctions")
    },
    "/api/boundaries/markers": {
        "get": operation(
            "Markers as GeoJSON (demonstration rows labelled 演示数据)",
            "FeatureCollection",
        )
    },
    "/api/boundaries/markers/{key}": {
        "get": operation(
            "One marker by id or number, with inspection, task and photo history",
            "Feature with history",
        )
    },
    "/api/boundaries/markers/{marker_id}/photos": {
        "post": operation(
            "Upload a photo (JPEG/PNG/WebP by magic bytes; stored by SHA-256)",
            "Stored photo",
            status="201",
            body=form_body(s.PhotoUpload, "photo"),
            responses={
                "200": json_content(
                    "The same picture with the same caption and inspection was already stored"
                    " for this marker (a retry): the stored photo"
                ),
                "409": error(
                    "The same picture is stored for this marker with another caption or"
                    " inspection: nothing changed; details.stored is the stored photo"
                ),
            },
        )
    },
    "/api/boundaries/photos/{sha256}": {
        "get": operation(
            "A stored photo (staff)",
            {"description": "Image"},
            params=[path_param("sha256", {"type": "string", "pattern": s.PHOTO_DIGEST})],
        )
    },
    "/api/boundaries/markers/export": {"get": operation("Export markers", _FILE)},
    "/api/boundaries/markers/import": {
        "post": operation("Import markers (officer; all or nothing)", "Counts", body=_UPLOAD)
    },
    "/api/boundaries/rounds": {
        "get": operation("Joint inspection rounds", "Rounds"),
        "post": operation("Plan a round (officer)", r.Round, status="201"),
    },
    "/api/boundaries/rounds/{round_id}": {"get": operation("One round with teams", r.Round)},
    "/api/boundaries/rounds/{round_id}/start": {
        "post": operation("Start a planned round (officer)", r.Round)
    },
    "/api/boundaries/rounds/{round_id}/complete": {
        "post": operation(
            "Complete a round (all markers inspected, all records signed by both sides)", r.Round
        )
    },
    "/api/boundaries/rounds/{round_id}/report": {
        "get": operation("Round report totals per line", "Report")
    },
    "/api/boundaries/rounds/{round_id}/export.gpkg": {
        "get": operation("The round as GeoPackage (line, markers, inspections)", _FILE)
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
        "get": operation("Staff profiles (name, organisation, side)", r.StaffList)
    },
    "/api/boundaries/staff/{username}": {
        "post": operation(
            "Create or replace a staff profile (officer of that side, or admin)", r.StaffMember
        )
    },
    "/api/boundaries/inspections": {
        "get": operation("Inspection records", "Records"),
        "post": operation(
            "Record an inspection (inspector); idempotent by client id",
            r.Inspection,
            status="201",
            responses=_STORED,
        ),
    },
    "/api/boundaries/inspections/{inspection_id}/sign": {
        "post": operation(
            "One side's sign-off (a team member of that side)", r.Inspection, params=[_UUID]
        )
    },
    "/api/boundaries/inspections/{inspection_id}/amendments": {
        "get": operation("The amendments of a record, oldest first", r.Amendments, params=[_UUID]),
        "post": operation(
            "Amend or re-inspect a record; idempotent by the amendment's id",
            r.Inspection,
            status="201",
            params=[_UUID],
            responses=_STORED,
        ),
    },
    "/api/boundaries/inspections/export": {"get": operation("Export inspection records", _FILE)},
    "/api/boundaries/inspections/import": {
        "post": operation(
            "Offline sync: import records (exactly-once by id)",
            "Counts",
            body=_UPLOAD,
        )
    },
    "/api/boundaries/tasks": _collection(
        "Task", "Maintenance tasks", "Open a task by hand (officer)"
    ),
    "/api/boundaries/tasks/{task_id}": {
        "post": operation("Move a task on (done needs result and witness)", "Task")
    },
    "/api/boundaries/tasks/{task_id}/approve": {
        "post": operation("One side approves a relocation/retirement", "Task")
    },
    "/api/boundaries/disputes": _collection(
        "Dispute", "Dispute-risk records (争议隐患)", "Record a dispute risk"
    ),
    "/api/boundaries/disputes/{dispute_id}": {
        "post": operation("Change a dispute risk's status", "Dispute")
    },
    "/api/boundaries/division-changes": {
        "get": operation(
            "Recorded division renames, newest first",
            r.DivisionChanges,
        ),
        "post": operation(
            "Rename a division under its approval (officer)",
            status="201",
            responses={
                "422": r.error(
                    "The new name breaks a naming rule and no override reason was given "
                    "(rule_violation)"
                )
            },
        ),
    },
}
