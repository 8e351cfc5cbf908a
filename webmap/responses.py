"""Response schemas and the pieces of the OpenAPI document every area shares.

The answers the API gives are declared once here with pydantic (``RESPONSE_MODELS``); the
OpenAPI document's response schemas are generated from them (``response_schemas``), the
same way the request bodies come from ``webmap.schemas``. What is nullable is said once in
the type (``Date`` is ``YYYY-MM-DD`` or null), so the document and the answers cannot
drift: the schemathesis conformance run in ``tests/test_fuzz.py`` checks every answer
against the generated document.

The helpers (``ref``, ``json_content``, ``error``) are the only way the ``openapi_*``
parts write a response, and ``query_param`` a query parameter; ``standard_errors`` adds to
every operation the error answers the app's request checks can give it (bad input, sign-in,
role, unknown id, rate limit).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from boundaries.vocabulary import FOUND_STATES
from gazetteer.core.text import TEXT_PATTERN
from gazetteer.registry_tables import PROPOSAL_KINDS, PROPOSAL_STATES
from gazetteer.tables import FEATURE_CLASSES, PLACE_STATUSES
from webmap.errors import API_PREFIXES, JSON_PATHS
from webmap.schemas import literal, openapi30_components

Date = Annotated[str | None, Field(json_schema_extra={"format": "date"})]
Instant = Annotated[str | None, Field(json_schema_extra={"format": "date-time"})]
Text = str | None
Ids = list[int]


class ResponseModel(BaseModel):
    """An answer's declared fields; an answer may carry more (additional properties)."""

    model_config = ConfigDict(extra="allow")


class ErrorDetail(ResponseModel):
    code: str
    message: str
    details: dict[str, Any] = {}


class Error(ResponseModel):
    """The one error shape (``webmap.errors``)."""

    error: ErrorDetail


# ---- registry ----------------------------------------------------------------------------


class PlaceSummary(ResponseModel):
    id: int
    name: str
    romanized: Text = None
    feature_class: literal(FEATURE_CLASSES) | None = None
    feature_type: Text = None
    division_code: Text = None
    status: literal(PLACE_STATUSES)
    status_zh: str | None = None
    named_date: Date = None
    retired_date: Date = None
    supersedes: Ids = []
    superseded_by: Ids = []
    current_name: Text = Field(None, description="as_of 查询时记录的现名")


class PlaceList(ResponseModel):
    total: int
    as_of: Date = None
    items: list[PlaceSummary]


class Place(ResponseModel):
    """第二次全国地名普查登记表的字段；几何为 CGCS2000 经纬度（EPSG:4490）"""

    id: int
    name: str
    specific_term: Text = None
    generic_term: Text = None
    romanized: Text = None
    romanized_toned: Text = None
    heteronyms: list[Any] | None = None
    heteronyms_confirmed: bool | None = None
    feature_class: str
    feature_type: Text = None
    division: dict[str, Any] | None = None
    divisions_crossed: list[Any] = []
    status: literal(PLACE_STATUSES)
    aliases: list[Any] | None = None
    short_name: Text = None
    meaning: Text = None
    history: Text = None
    named_date: Date = None
    retired_date: Date = None
    source: Text = None
    registered_by: Text = None
    registered_at: Instant = None
    geometry: dict[str, Any] | None = Field(None, description="GeoJSON, CGCS2000 lon/lat")
    supersedes: Ids = []
    superseded_by: Ids = []
    as_of: Date = None
    version_valid: dict[str, Any] | None = None


class PlaceVersion(ResponseModel):
    version: int
    name: str
    status: str
    change: str
    change_reason: Text = None
    valid_from: Date = None
    valid_to: Date = None
    proposal_id: int | None = None
    recorded_by: Text = None


class PlaceHistory(ResponseModel):
    place_id: int
    name: str
    status: str
    versions: list[PlaceVersion]
    name_chain: list[PlaceSummary]


class StatisticsRow(ResponseModel):
    code: str
    name: str
    approved: int
    renamed: int
    retired: int


class AnnualStatistics(ResponseModel):
    year: int
    division: dict[str, Any]
    rows: list[StatisticsRow]
    totals: dict[str, Any]


class WorkflowStep(ResponseModel):
    action: str
    label_zh: str
    from_: list[literal(PROPOSAL_STATES)] = Field(alias="from")
    to: str | None = None
    roles: list[str]
    reason_required: bool


class Workflow(ResponseModel):
    states: dict[str, str]
    steps: list[WorkflowStep]


class ProposalSummary(ResponseModel):
    id: int
    kind: literal(PROPOSAL_KINDS)
    state: literal(PROPOSAL_STATES)
    returned: bool = Field(False, description="a draft an officer sent back for changes")
    name: Text = None
    version: int
    place_id: int | None = None
    result_place_id: int | None = None
    division_code: Text = None
    division_name: Text = Field(None, description="the division's name, e.g. 天河区")
    notice_start: Date = None
    notice_end: Date = None


class ProposalList(ResponseModel):
    total: int
    items: list[ProposalSummary]


class ProposalEvent(ResponseModel):
    action: str
    from_state: Text = None
    to_state: str
    actor: str
    at: Instant = None
    reason: Text = None


class HeldAction(ResponseModel):
    action: str
    label_zh: str
    reason: str = Field(description="why it would be refused now (Chinese)")


class Proposal(ProposalSummary):
    created_by: Text = Field(None, description="the drafter (staff only)")
    place_name: Text = Field(None, description="the name of the record renamed or retired")
    place_location: dict[str, Any] | None = Field(
        None, description="that record's geometry (GeoJSON, CGCS2000 lon/lat)"
    )
    office: Text = Field(None, description="the office it was drafted in; its clerks own it")
    applicant: Text = None
    reasons: Text = None
    proposed: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    allowed_actions: list[str] = Field([], description="what the asking user may do now")
    held_actions: list[HeldAction] = Field(
        [],
        description="steps the asking user could take in this state but not yet or not"
        " again (the notice still running, already filed ...), each with why",
    )
    heteronyms_confirmed: bool | None = None
    decision: Text = None
    decision_date: Date = None
    approving_body: Text = None
    effective_date: Date = None
    announcement_text: Text = None
    findings: list[Any] | None = None
    opinions: list[Any] = []
    override_reasons: Text = None
    events: list[ProposalEvent] = []


class DueItems(ResponseModel):
    today: Date
    items: list[dict[str, Any]]


class Announcement(ResponseModel):
    proposal_id: int
    announced_on: Date = None
    text: str


# ---- boundaries --------------------------------------------------------------------------


class Inspection(ResponseModel):
    """An inspection record as stored (``id`` made by the client; resending is a no-op)."""

    id: str = Field(json_schema_extra={"format": "uuid"})
    round_id: int
    marker: Text = None
    marker_id: int | None = None
    found_state: literal(FOUND_STATES)
    measured_lon: float | None = Field(None, description="CGCS2000 degrees")
    measured_lat: float | None = Field(None, description="CGCS2000 degrees")
    measurement_method: Text = None
    measurement_accuracy_m: float | None = None
    notes: Text = None
    photos: list[str] | None = None
    inspected_at: Instant = None
    displacement_m: float | None = None
    flagged_moved: bool | None = None
    assessed_state: literal(FOUND_STATES) | None = Field(
        None, description="found_state, or moved when the measured displacement says so"
    )


class Round(ResponseModel):
    """A joint inspection round with its two teams and the conclusion's signatures."""

    id: int
    line_id: int
    teams: list[dict[str, Any]]
    line_name: str
    title: Text = None
    round_no: int = Field(description="第几次联检")
    status: str = Field(description="planned, in_progress or completed")
    conclusion: Text = None
    concluded_a_by: Text = None
    concluded_a_label: Text = Field(None, description="签署人（单位、一方），签署时记下")
    concluded_a_at: Instant = None
    concluded_b_by: Text = None
    concluded_b_label: Text = None
    concluded_b_at: Instant = None


class RoundMarker(ResponseModel):
    marker_id: int
    number: str
    state: str
    inspection: dict[str, Any] | None = Field(None, description="本轮的检查记录（尚无：null）")


class RoundMarkers(ResponseModel):
    """A round's markers with this round's record of each, for devices to cache offline."""

    markers: list[RoundMarker]


class LineDue(ResponseModel):
    line_id: int
    line_name: str
    kind: str
    last_round_id: int | None = None
    last_inspected_on: Date = None
    next_due_on: Date
    overdue: bool
    days_left: int
    active_round_id: int | None = None


class LinesDue(ResponseModel):
    """Every line with its last joint inspection and the next due date (five-year rule)."""

    lines: list[LineDue]


class StaffMember(ResponseModel):
    username: str
    full_name: str
    organisation: str
    job_title: Text = None
    side_code: str
    side_name: str
    roles: list[str]
    label: str = Field(description="页面上的称呼：姓名（单位）")


class StaffList(ResponseModel):
    staff: list[StaffMember]


class Amendment(ResponseModel):
    id: str
    inspection_id: str
    kind: str
    reason: Text = None
    previous: dict[str, Any] = Field(description="更正前的检查结果")
    amended_by: str
    amended_at: Instant


class Amendments(ResponseModel):
    amendments: list[Amendment]


class DivisionChanges(ResponseModel):
    """Recorded division changes, newest first."""

    items: list[dict[str, Any]]


class Me(ResponseModel):
    """Who the request is made as (null username: nobody has signed in)."""

    username: str | None
    label: str | None = None  # how pages name them: 王强（韶关市民政局）, else the username
    roles: list[str]
    role_names: list[str]


class CsrfToken(ResponseModel):
    csrf_token: str


class ImportRun(ResponseModel):
    """An office place-name import run (``job``: the running or last job of this process)."""

    id: int
    job: dict[str, Any] | None = None
    state: str
    file_name: Text = None
    source_name: Text = None
    office: Text = None


class ImportRuns(ResponseModel):
    runs: list[ImportRun]


class ImportLayer(ResponseModel):
    """A layer's columns, the file's layers, the saved mapping and the registry's fields."""

    layers: list[Any]
    saved: dict[str, Any] | None = None
    fields: list[dict[str, Any]]


class ImportSample(ResponseModel):
    """Sample points in CGCS2000 lon/lat as a FeatureCollection, for the map."""

    type: str
    crs_tag: str
    features: list[dict[str, Any]]
    sampled: int


class ImportJob(ResponseModel):
    """A preview or write started in the background: poll the run for its progress."""

    id: int
    job: dict[str, Any]


RESPONSE_MODELS: tuple[type[ResponseModel], ...] = (
    Error,
    PlaceList,
    Place,
    PlaceHistory,
    AnnualStatistics,
    Workflow,
    ProposalList,
    Proposal,
    DueItems,
    Announcement,
    Inspection,
    Round,
    RoundMarkers,
    LinesDue,
    StaffList,
    StaffMember,
    Amendments,
    DivisionChanges,
    Me,
    CsrfToken,
    ImportRun,
    ImportRuns,
    ImportLayer,
    ImportSample,
    ImportJob,
)


def response_schemas() -> dict[str, dict]:
    """OpenAPI 3.0 component schemas of every response model (and the models they use)."""
    return openapi30_components(RESPONSE_MODELS, mode="serialization")


# ---- the shared pieces of every operation -------------------------------------------------


def ref(name: str | type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{getattr(name, '__name__', name)}"}


def json_content(
    description: str,
    schema: dict | type[BaseModel] | None = None,
    media: str | tuple[str, ...] = "application/json",
) -> dict:
    """A response of ``media`` (one or several types) whose body is ``schema`` (a model,
    a schema, or any JSON object)."""
    if isinstance(schema, type):
        schema = ref(schema)
    medias = (media,) if isinstance(media, str) else media
    return {
        "description": description,
        "content": {m: {"schema": schema or {"type": "object"}} for m in medias},
    }


def file_content(description: str, *media: str) -> dict:
    """A file in one of ``media``: a JSON document (GeoJSON) is an object, others bytes."""
    binary = {"type": "string", "format": "binary"}
    return {
        "description": description,
        "content": {
            m: {"schema": {"type": "object"} if m.endswith("json") else binary} for m in media
        },
    }


def html_page(description: str) -> dict:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


def redirect(description: str) -> dict:
    """A 302 to ``Location`` (a path on this site)."""
    return {
        "description": description,
        "headers": {"Location": {"required": True, "schema": {"type": "string"}}},
    }


def query_param(name: str, schema: dict, description: str | None = None, **extra) -> dict:
    """A query-string parameter ``name`` of ``schema``; ``extra`` adds members such as
    ``style``, ``explode`` or ``example``."""
    param = {"name": name, "in": "query"}
    if description:
        param["description"] = description
    return {**param, "schema": schema, **extra}


def path_param(name: str, schema: dict | None = None, description: str | None = None) -> dict:
    """A path parameter; without ``schema`` an ``…_id`` is an integer, anything else text
    free of control characters (``add_path_parameters`` fills in every one an operation does not declare)."""
    text = {"type": "string", "pattern": TEXT_PATTERN}  # the control-character rule of all text
    schema = schema or ({"type": "integer"} if name.endswith("_id") else text)
    param = {"name": name, "in": "path", "required": True, "schema": schema}
    return {**param, "description": description} if description else param


def query_parameters(model: type[BaseModel]) -> list[dict]:
    """The query parameters of a ``webmap.schemas.QueryModel``: one per field, with the
    schema the check uses (a list field repeats its name: ``?side=a&side=b``)."""
    schema = openapi30_components([model], mode="validation")[model.__name__]
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        # A query parameter is text or absent, never null.
        prop = {k: v for k, v in prop.items() if k not in ("title", "nullable")}
        if "enum" in prop:
            prop["enum"] = [v for v in prop["enum"] if v is not None]
        if prop.get("default", "") is None:
            del prop["default"]
        description = prop.pop("description", None)
        params.append(query_param(name, prop, description, required=name in required))
    return params


def form_body(model: type[BaseModel], *files: str, required: bool = True) -> dict:
    """A form body: the text fields of ``model`` (a ``webmap.schemas.FormModel``) and, when
    ``files`` are named, those uploads (multipart/form-data). ``required=False``: the
    request may come without a body (a form with nothing to say but its CSRF token, which
    a bearer-token client does not send)."""
    schema = {
        k: v for k, v in openapi30_components([model], mode="validation")[model.__name__].items()
    }
    if files:
        schema["properties"] = {
            **schema["properties"],
            **{f: {"type": "string", "format": "binary"} for f in files},
        }
        schema["required"] = [*schema.get("required", []), *files]
    media = "multipart/form-data" if files else "application/x-www-form-urlencoded"
    return {"required": required, "content": {media: {"schema": schema}}}


def operation(
    summary: str,
    answer: str | dict | type[BaseModel] | None = None,
    *,
    status: str = "200",
    params: tuple | list = (),
    body: dict | None = None,
    responses: dict | None = None,
    **extra,
) -> dict:
    """One operation of the document, the only way the ``openapi_*`` parts write one.

    ``answer`` is the success response, with ``status``: a response model, a response made
    by ``json_content``/``file_content``/``html_page``/``redirect``, or the description of
    any JSON object (None: "成功"). ``params`` are path or header parameters (the query
    parameters come from the operation's model in ``webmap.schemas.QUERY_MODELS``);
    ``body`` a request body (``form_body``; a JSON body comes from its model in
    ``webmap.schemas.REQUEST_BODIES``); ``responses`` further answers; ``extra`` such as
    ``tags`` or ``description``. Path parameters not in ``params`` are filled in by
    ``add_path_parameters``; the error answers every operation can give by
    ``add_standard_errors``."""
    if answer is None or isinstance(answer, str):
        answer = json_content(answer or "成功")
    elif isinstance(answer, type):
        answer = json_content("成功", answer)
    op = {"summary": summary, **extra, "responses": {status: answer, **(responses or {})}}
    if params:
        op["parameters"] = list(params)
    if body is not None:
        op["requestBody"] = body
    return op


def add_path_parameters(paths: dict) -> None:
    """Declare every ``{name}`` of each path on each of its operations that does not."""
    for path, operations in paths.items():
        for operation_ in operations.values():
            declared = {p.get("name") for p in operation_.get("parameters", [])}
            for name in re.findall(r"{(\w+)}", path):
                if name not in declared:
                    operation_.setdefault("parameters", []).append(path_param(name))


def error(description: str, media: str | tuple[str, ...] = "application/json") -> dict:
    """An error answer: the one error shape in JSON, or an error page (``text/html``)."""
    medias = (media,) if isinstance(media, str) else media
    return {
        "description": description,
        "content": {
            m: {"schema": ref(Error) if "json" in m else {"type": "string"}} for m in medias
        },
    }


_STANDARD_ERRORS = {
    "400": "输入有误（说明哪个字段；未写入任何内容）",
    "401": "需要登录，或令牌无效",
    "403": "无权操作或查看",
    "404": "未找到",
    "409": "状态冲突或他人已先处理",
    "413": "请求内容过大",
    "429": "请求过于频繁（Retry-After）",
}
_WRITE_ONLY = ("409", "413")
_PAGE_ERROR_MEDIA = ("application/json", "text/html")  # pages: HTML unless JSON is asked for
_CHALLENGE = {
    "description": 'Bearer realm="gdgis" (error="invalid_token" when a bad token was sent)',
    "required": True,
    "schema": {"type": "string", "pattern": "^Bearer "},
}
_RETRY_AFTER = {
    "description": "seconds until a request will be let through again",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def add_standard_errors(paths: dict) -> None:
    """Every operation may answer the errors of the app's request checks, in the one error
    shape: bad input, not signed in or an invalid token (401, with its ``WWW-Authenticate``
    challenge), a role that may not (403), an unknown id, the rate limit; a write also a
    conflict or a body too large. Outside the API (the sign-in pages) an error is an HTML
    page unless JSON is asked for."""
    for path, operations in paths.items():
        api = path.startswith(API_PREFIXES) or path in JSON_PATHS
        media = "application/json" if api else _PAGE_ERROR_MEDIA
        for method, operation_ in operations.items():
            responses = operation_.setdefault("responses", {})
            if api and "401" not in responses:
                responses["401"] = {
                    **error(_STANDARD_ERRORS["401"]),
                    "headers": {"WWW-Authenticate": _CHALLENGE},
                }
            for status, text in _STANDARD_ERRORS.items():
                if status in _WRITE_ONLY and method == "get":
                    continue
                responses.setdefault(status, error(text, media))
            responses["429"].setdefault("headers", {"Retry-After": _RETRY_AFTER})
