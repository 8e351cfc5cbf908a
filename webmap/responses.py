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

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from gazetteer.registry_tables import PROPOSAL_KINDS, PROPOSAL_STATES
from gazetteer.tables import FEATURE_CLASSES, PLACE_STATUSES
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
    name: Text = None
    version: int
    place_id: int | None = None
    result_place_id: int | None = None
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


class Proposal(ProposalSummary):
    created_by: Text = Field(None, description="the drafter (staff only)")
    office: Text = Field(None, description="the office it was drafted in; its clerks own it")
    applicant: Text = None
    reasons: Text = None
    proposed: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    allowed_actions: list[str] = Field([], description="what the asking user may do now")
    heteronyms_confirmed: bool | None = None
    findings: list[Any] | None = None
    override_reasons: Text = None
    decision: Text = None
    decision_date: Date = None
    approving_body: Text = None
    effective_date: Date = None
    announcement_text: Text = None
    opinions: list[Any] = []
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
    found_state: str
    measured_lon: float | None = Field(None, description="CGCS2000 degrees")
    measured_lat: float | None = Field(None, description="CGCS2000 degrees")
    measurement_method: Text = None
    measurement_accuracy_m: float | None = None
    notes: Text = None
    photos: list[str] | None = None
    inspected_at: Instant = None
    displacement_m: float | None = None
    flagged_moved: bool | None = None
    assessed_state: Text = None


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


def query_param(name: str, schema: dict, description: str | None = None, **extra) -> dict:
    """A query-string parameter ``name`` of ``schema``; ``extra`` adds members such as
    ``style``, ``explode`` or ``example``."""
    param = {"name": name, "in": "query"}
    if description:
        param["description"] = description
    return {**param, "schema": schema, **extra}


def error(description: str) -> dict:
    return json_content(description, Error)


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
_RETRY_AFTER = {
    "description": "seconds until a request will be let through again",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}


def add_standard_errors(paths: dict) -> None:
    """Every operation may answer the errors of the app's request checks, in the one error
    shape: bad input, not signed in or an invalid token, a role that may not, an unknown
    id, the rate limit; a write also a conflict or a body too large."""
    for operations in paths.values():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            for status, text in _STANDARD_ERRORS.items():
                if status in _WRITE_ONLY and method == "get":
                    continue
                responses.setdefault(status, error(text))
            responses["429"].setdefault("headers", {"Retry-After": _RETRY_AFTER})
