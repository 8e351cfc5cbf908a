"""Request schemas: every JSON body, query string and form the API accepts, declared once
with pydantic.

``validated_body(Model)`` checks the request body before any domain function sees it
(``query_args`` the query string of an operation, ``validated_form`` a form's text fields): a wrong
type, an unknown field or a missing one is a 400 in the one error shape, naming the field
(``details.field``, and every problem in ``details.errors``). The OpenAPI document takes
its request-body and parameter schemas from these models (``request_schemas``,
``query_parameters``), so the document and the check cannot drift apart.

Values keep the shapes the domain functions take (dates as ``YYYY-MM-DD`` text, geometries
as GeoJSON objects): the domain still checks meaning (is the state known, does the line
exist, is the polygon valid); these models check form. Types are strict: ``"5"`` is not an
integer and ``1`` is not text. Coordinates are CGCS2000 longitude/latitude in degrees.
"""

from __future__ import annotations

import dataclasses
import functools
import re
import types
from typing import Annotated, Any, Literal, TypeVar, Union, get_args, get_origin

from flask import g, request
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from boundaries.inspections import MAX_SECTION_SEQ
from boundaries.io import FORMATS
from boundaries.tasks import CLOSING_STATUSES
from boundaries.vocabulary import (
    AMENDMENT_KIND_TERMS,
    CONCLUSION_MAX_CHARS,
    DISPUTE_CATEGORY_TERMS,
    DISPUTE_RISK_TERMS,
    DISPUTE_STATUS_TERMS,
    FIELD_STATE_TERMS,
    LINE_KIND_TERMS,
    MARKER_STATE_TERMS,
    NOTES_MAX_CHARS,
    TASK_KIND_TERMS,
    TASK_STATUS_TERMS,
    Term,
)
from gazetteer.cleanup import KINDS as CLEANUP_KINDS
from gazetteer.cleanup import STATUSES as CLEANUP_STATUSES
from gazetteer.core.actors import ROLES
from gazetteer.core.crs import CRS_TAG_HELP, CRS_TAG_SPELLINGS
from gazetteer.core.errors import InvalidInput
from gazetteer.core.text import (
    FILLED_LINE_PATTERN,
    FILLED_TEXT_PATTERN,
    LINE_PATTERN,
    RECORD_ID_MAX,
    TEXT_PATTERN,
    forbidden_character,
)
from gazetteer.division_history import FIRST_YEAR as HISTORY_FIRST_YEAR
from gazetteer.registry import MAX_PAGE
from gazetteer.search import MAX_QUERY_CHARS
from gazetteer.statistics import FIRST_YEAR, LAST_YEAR
from gazetteer.tables import FEATURE_CLASSES, PLACE_STATUSES
from gazetteer.vocabulary import PROPOSAL_KIND_TERMS, PROPOSAL_STATE_TERMS
from gazetteer.workflow import STEP_PARAMS
from webmap.field_titles import FIELD_TITLES_ZH
from webmap.params import json_body

Text = Annotated[str, Field(max_length=20_000, pattern=TEXT_PATTERN)]
ShortText = Annotated[str, Field(max_length=2_000, pattern=TEXT_PATTERN)]
# Single-line text: a name, a title, an office. No line break or tab, so no value can
# forge a row in a list or a table; multi-line notes and reasons are ``Text``.
Line = Annotated[str, Field(max_length=2_000, pattern=LINE_PATTERN)]
ISO_DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
IsoDate = Annotated[str, Field(pattern=ISO_DATE_PATTERN, json_schema_extra={"format": "date"})]


def _degrees(axis: str, limit: int) -> Any:
    """A finite CGCS2000 ``axis`` in degrees. The range (the globe, China) is the domain's
    check, which can say when lat and lon look swapped ("疑似颠倒",
    gazetteer.core.geojson_input.check_lon_lat): a range checked here would answer a swapped
    pair with a bare "lat 应不大于 90". The document still declares the globe's range (the
    domain refuses beyond it), so a client made from it does not send a longitude of 4e16."""
    return Annotated[
        float,
        Field(
            allow_inf_nan=False,
            description=f"CGCS2000 {axis}, degrees",
            json_schema_extra={"minimum": -limit, "maximum": limit},
        ),
    ]


Lon = _degrees("longitude", 180)
Lat = _degrees("latitude", 90)
# Text a field must hold (not empty, not only spaces): the document says so as the check does.
Filled = Annotated[str, Field(min_length=1, max_length=2_000, pattern=FILLED_TEXT_PATTERN)]
FilledText = Annotated[str, Field(min_length=1, max_length=20_000, pattern=FILLED_TEXT_PATTERN)]
FilledLine = Annotated[str, Field(min_length=1, max_length=2_000, pattern=FILLED_LINE_PATTERN)]
Id = Annotated[int, Field(ge=0, le=RECORD_ID_MAX)]
PHOTO_DIGEST = "^[0-9a-f]{64}$"  # a stored photo is named by the SHA-256 of its bytes
# A coordinate system tag, checked by gazetteer.core.crs.normalise_tag as everywhere a CRS
# is taken. The document lists the spellings it knows; the check also takes them in any case
# (bd09, Gcj-02) and any EPSG:NNNN, which an enum cannot say (the description does).
CrsTag = Annotated[
    str,
    Field(
        max_length=40,
        pattern=LINE_PATTERN,
        description=CRS_TAG_HELP,
        json_schema_extra={"enum": list(CRS_TAG_SPELLINGS)},
    ),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


# An integer in a query string or a form, written the one way: pydantic's lax mode also
# reads "+5", " 5", "5_0", "5.0" and "007" as numbers.
_QUERY_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")


def _value_types(annotation) -> set:
    """The types a field's annotation admits (``Annotated`` and unions unwrapped)."""
    if get_origin(annotation) is Annotated:
        return _value_types(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return set().union(*(_value_types(a) for a in get_args(annotation)))
    return {annotation}


# The query parameters each operation takes: (path as in the OpenAPI document, method) ->
# model, filled from each model's ``operations``. Every other operation of the document
# (outside /ogc, which follows the OGC rules in ``webmap.ogcapi``) takes none:
# ``webmap.openapi.check_query_string`` refuses any.
QUERY_MODELS: dict[tuple[str, str], type[QueryModel]] = {}


class QueryModel(BaseModel):
    """A query string or a form's text fields: text that converts ("5" is 5, in ASCII
    digits: not "٥", "５", "+5" or "05"); an unknown name is refused like an unknown JSON
    field, a name given twice where one value belongs as repeated.

    A subclass names the operations whose query string it reads in its class line,
    ``class SearchQuery(QueryModel, operations=("GET /api/search",))`` (method and path as
    in the OpenAPI document, or a page's: ``SearchPageQuery`` reads ``GET /search``); a
    subclass reads only those it names, not its bases'."""

    model_config = ConfigDict(extra="forbid")

    def __init_subclass__(cls, operations: tuple[str, ...] = (), **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for operation in operations:
            method, path = operation.split(" ", 1)
            key = (path, method.lower())
            if key in QUERY_MODELS:
                raise ValueError(f"{operation} already reads {QUERY_MODELS[key].__name__}")
            QUERY_MODELS[key] = cls

    @field_validator("*", mode="before")
    @classmethod
    def _one_value_in_ascii_digits(cls, value, info):
        kinds = _value_types(cls.model_fields[info.field_name].annotation)
        if isinstance(value, list) and not any(get_origin(k) is list for k in kinds):
            # Query and form values are text: a list where one value belongs was given twice.
            raise PydanticCustomError("repeated", "given {count} times", {"count": len(value)})
        if isinstance(value, str) and int in kinds and float not in kinds:
            if not _QUERY_INTEGER.fullmatch(value):
                raise PydanticCustomError("int_parsing", "应为整数（ASCII 数字，不带前导零）")
        return value


class FormModel(QueryModel):
    """A form posted with the session cookie carries its CSRF token (``webmap.security``)."""

    csrf_token: ShortText | None = None


def literal(values) -> Any:
    """The type of one of ``values`` (a vocabulary kept as a tuple in the domain)."""
    return Literal[tuple(values)]


def coded(terms: tuple[Term, ...]) -> Any:
    """The type of one of ``terms``' codes (a labelled vocabulary of the domain): the
    document declares the codes as an enum, and a wrong value is refused naming each
    choice by its Chinese label and code, as the domain's own check does."""
    allowed = tuple(t.code for t in terms)
    expected = "、".join(f"{t.zh}（{t.code}）" for t in terms)

    def check(value: Any) -> Any:
        # Before the type check: a number sent for a code is told the choices too.
        if not isinstance(value, str) or value not in allowed:
            raise PydanticCustomError("literal_error", "one of {expected}", {"expected": expected})
        return value

    return Annotated[str, BeforeValidator(check), Field(json_schema_extra={"enum": list(allowed)})]


# ---- registry ----------------------------------------------------------------------------


class ProposedRecord(RequestModel):
    """The record values a proposal asks for."""

    name: Line | None = None
    feature_class: Line | None = None
    feature_type: Line | None = None
    division_code: Line | None = None
    aliases: list[Line] | None = None
    short_name: Line | None = None
    map_name: Line | None = None
    minority_name: Line | None = None
    minority_language: Line | None = None
    meaning: Text | None = None
    history: Text | None = None
    description: Text | None = None
    source: Text | None = None


class ProposalNew(RequestModel):
    """Draft a naming, renaming or retirement proposal (clerk)."""

    kind: coded(PROPOSAL_KIND_TERMS)
    applicant: FilledLine
    reasons: FilledText
    proposed: ProposedRecord | None = None
    place_id: Id | None = None
    location: dict[str, Any] | None = Field(None, description="GeoJSON geometry, CGCS2000 lon/lat")


# Parameter types of the workflow steps; a parameter not named here is text. The names
# themselves come from the workflow's one whitelist, ``gazetteer.workflow.STEP_PARAMS``.
_STEP_PARAM_TYPES: dict[str, Any] = {
    # an edit's record values are declared once, as a new proposal's (one line for names)
    **{name: field.annotation for name, field in ProposedRecord.model_fields.items()},
    "applicant": Line | None,
    # bodies and document numbers: one line each (the announcement prints them)
    **{
        name: Line | None for name in ("approving_body", "decision_ref", "filed_with", "filing_ref")
    },
    "romanized": Line | None,
    "romanized_toned": Line | None,
    "location": dict[str, Any] | None,
    "reasons": Text | None,
    "body": Text | None,
    "authority_override_reason": Text | None,
    "protection_measures": Text | None,
    **{
        name: IsoDate | None
        for name in ("notice_start", "notice_end", "effective_date", "filed_on")
    },
}
ProposalAction = create_model(
    "ProposalAction",
    __base__=RequestModel,
    __doc__="One workflow step: the version you saw, a reason, and the step's own parameters "
    "(``GET /api/proposals/workflow`` lists which step takes which).",
    # Versions start at 1: 0 or less is a wrong value (400), not a stale one (409).
    version=(Annotated[int, Field(ge=1, le=2**31 - 1)], ...),
    reason=(Text | None, None),
    **{
        name: (_STEP_PARAM_TYPES.get(name, ShortText | None), None)
        for name in dict.fromkeys(p for params in STEP_PARAMS.values() for p in params)
    },
)


class DivisionChangeNew(RequestModel):
    """Rename a division under its approval (officer; 《行政区划管理条例》)."""

    code: FilledLine
    new_name: FilledLine
    approving_body: FilledLine
    document_number: FilledLine
    approval_date: IsoDate
    effective_date: IsoDate | None = None
    reason: FilledText
    rules_override_reason: Text | None = None


class ProtectionNew(RequestModel):
    """Put a place name on the protection list (officer; Art. 25)."""

    reason: FilledText
    source: Filled


class MaybeAtAPoint(RequestModel):
    """A request that may name a point (CGCS2000 lon/lat, degrees)."""

    lon: Lon | None = None
    lat: Lat | None = None


class RulesCheck(MaybeAtAPoint):
    """Check a name against the naming rules before drafting it (the check says which of
    name, class and division is missing, in the page's words)."""

    name: ShortText | None = None
    feature_class: ShortText | None = None
    division_code: ShortText | None = None


class PlaceGeometry(RequestModel):
    """Put a place on the map (officer): a point, the record version you saw, a reason."""

    lon: Lon
    lat: Lat
    version: int
    reason: Text | None = None


class CleanupBuild(RequestModel):
    """Check the names in force of a division (440000: the whole province) for the 大洋怪重
    clean-up (officer)."""

    division: Filled


class CleanupDecision(RequestModel):
    """An officer's decision on a clean-up item: keep the name (with the reason) or reopen."""

    decision: Literal["kept", "to_review"]
    reason: ShortText | None = Field(None, description="保留（kept）时必填：保留的理由")
    version: int


class ReverseBatch(RequestModel):
    """Reverse lookup of many points: [[lon, lat], ...] in ``crs`` (at most 10,000)."""

    # Checked by gazetteer.core.crs.normalise_tag, as everywhere a CRS tag is taken: any
    # case (bd09, Gcj-02), aliases and EPSG:NNNN.
    crs: CrsTag = "CGCS2000"
    points: list[Annotated[list[float], Field(min_length=2, max_length=2)]] = Field(
        description="[lon, lat] pairs (the globe's range: lon -180..180, lat -90..90)",
        max_length=10_000,
    )


# ---- boundaries --------------------------------------------------------------------------


class Team(RequestModel):
    side_code: Line
    organisation: Line | None = None
    leader: Line | None = None
    members: list[Line]


class OnALine(RequestModel):
    """A request about one boundary line: by name (``line``) or by id (``line_id``)."""

    line: ShortText | None = None
    line_id: Id | None = None


class RoundPlan(OnALine):
    """Plan an inspection round (officer): one team per side of the line."""

    round_no: Annotated[int, Field(ge=1, le=2**31 - 1)]
    title: Annotated[Line, Field(max_length=200)] | None = None
    plan: FilledText = Field(title="检查方案", description="检查范围与方法")
    planned_start: IsoDate = Field(title="计划开始日期")
    planned_end: IsoDate = Field(title="计划结束日期", description="不早于 planned_start")
    teams: list[Team] = Field(min_length=2, max_length=2)
    is_demonstration: bool = False
    # a section of the line: its first and last marker's sequence number
    section_from_seq: Annotated[int, Field(ge=1, le=MAX_SECTION_SEQ)] | None = None
    section_to_seq: Annotated[int, Field(ge=1, le=MAX_SECTION_SEQ)] | None = None


class InspectionNew(RequestModel):
    """One inspection record; ``id`` is made by the client (UUID), so resending is safe."""

    id: Annotated[str, Field(max_length=64, json_schema_extra={"format": "uuid"})]
    round_id: Id
    marker: ShortText | None = None
    marker_id: Id | None = None
    found_state: coded(FIELD_STATE_TERMS)
    measured_lon: Lon | None = None
    measured_lat: Lat | None = None
    measurement_method: ShortText | None = None
    measurement_accuracy_m: float | None = None
    notes: Annotated[Text, Field(max_length=NOTES_MAX_CHARS)] | None = None
    photos: list[Annotated[str, Field(pattern=PHOTO_DIGEST)]] | None = None
    inspected_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = None
    moved_confirmed: bool | None = None  # the inspector's "the marker has moved" (distance guard)


class InspectionAmendment(InspectionNew):
    """A second visit (reinspection) or a correction (amendment) of a record: a finding as
    for a record, ``id`` the amendment's own client UUID (sent twice, stored once); both
    sides sign the amended record again."""

    round_id: Id | None = None
    kind: coded(AMENDMENT_KIND_TERMS) = "amendment"
    reason: Text | None = None
    # the record's inspected_at as the device knew it: refused (409) if it changed since
    amends_inspected_at: Annotated[str, Field(json_schema_extra={"format": "date-time"})] | None = (
        None
    )


class ConclusionSignOff(RequestModel):
    """One side's officer signs the round's joint conclusion; changing the text withdraws
    the other side's signature (both sign the same words)."""

    side_code: ShortText | Id  # a division code; sent as a JSON number it is the same code
    conclusion: Annotated[FilledText, Field(max_length=CONCLUSION_MAX_CHARS)]


class StaffProfile(RequestModel):
    """Who an account is and which side (division code) it works for (officer of that
    side, or admin)."""

    full_name: Annotated[FilledLine, Field(max_length=100)] = Field(title="姓名")
    organisation: Annotated[FilledLine, Field(max_length=200)] = Field(title="单位")
    job_title: Annotated[Line, Field(max_length=100)] | None = Field(None, title="职务")
    side_code: Annotated[FilledLine, Field(max_length=12)] = Field(title="所属一方（区划代码）")


class SideSignOff(RequestModel):
    """One side's sign-off on an inspection record or a task."""

    side_code: ShortText


class TaskNew(RequestModel):
    marker_id: Id
    kind: coded(TASK_KIND_TERMS)
    note: Text | None = None


class ExternalWitness(RequestModel):
    """A witness of the adjacent side who has no account: recorded with organisation and role."""

    name: Line
    organisation: Line
    role: Line


class TaskUpdate(RequestModel):
    # Closing needs a result (or the reason for cancelling); OpenAPI 3.0 has no if/then, so
    # the rule is "status is not a closing one, or result is filled". (pydantic merges this
    # with RequestModel's config: extra fields forbidden, strict types.)
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"status": {"not": {"enum": list(CLOSING_STATUSES)}}}},
                {
                    "required": ["result"],
                    "properties": {"result": {"type": "string", "pattern": FILLED_TEXT_PATTERN}},
                },
            ]
        },
    )

    status: coded(TASK_STATUS_TERMS)
    result: Text | None = None
    witness_other_side: ShortText | None = None  # an account of the adjacent side
    witness: ExternalWitness | None = None
    new_lon: Lon | None = None
    new_lat: Lat | None = None


class DisputeNew(OnALine, MaybeAtAPoint):
    """A dispute risk (争议隐患) on a line, optionally at a point."""

    title: Annotated[FilledLine, Field(max_length=200)]
    category: coded(DISPUTE_CATEGORY_TERMS) | None = None
    risk: coded(DISPUTE_RISK_TERMS) | None = None
    description: Text | None = None


class DisputeUpdate(RequestModel):
    status: coded(DISPUTE_STATUS_TERMS)
    resolution: Text | None = None


# ---- office place-name imports -----------------------------------------------------------

ColumnMapping = Annotated[
    dict[ShortText, ShortText | None],
    Field(description="登记字段 -> 文件中的列名（null 或空：不导入该字段）"),
]


class ImportCrsGuess(RequestModel):
    """Guess a layer's coordinate system from its coordinates (officer)."""

    layer: ShortText | None = None
    mapping: ColumnMapping


class ImportConfigure(RequestModel):
    """Set the layer, the column mapping and the coordinate system of an import (officer)."""

    layer: ShortText | None = None
    mapping: ColumnMapping
    crs: ShortText | None = None


class ImportWrite(RequestModel):
    """Write a previewed import; rows with errors only when skipped with a reason (officer)."""

    skip_errors: bool = False
    skip_reason: Text | None = None


# ---- query strings and forms ---------------------------------------------------------------


# A date in a query string: ``YYYY-MM-DD`` (the domain checks that the day exists).
QueryDate = IsoDate
Offset = Annotated[int, Field(ge=0, le=2**63 - 1, description="跳过条数")]


class PlacesQuery(QueryModel, operations=("GET /api/places",)):
    """Records by name as they stand now or on a past day."""

    name: ShortText | None = Field(None, description="完整名称")
    q: ShortText | None = Field(None, description="名称包含的文字")
    as_of: QueryDate | None = Field(None, description="按该日（YYYY-MM-DD）时的状态读取")
    status: literal(PLACE_STATUSES) | None = Field(None, description="状态")
    division: ShortText | None = Field(None, description="所在行政区划代码（含下级）")
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description="条数上限")
    offset: Offset = 0


class PlaceQuery(QueryModel, operations=("GET /api/places/{place_id}",)):
    as_of: QueryDate | None = Field(None, description="按该日（YYYY-MM-DD）时的状态读取")
    geometry: Literal["0", "1"] = Field("1", description="0 = 不含几何")


class StatisticsQuery(
    QueryModel, operations=("GET /api/places/statistics", "GET /api/places/statistics.png")
):
    year: Annotated[int, Field(ge=FIRST_YEAR, le=LAST_YEAR)] = Field(
        description="统计年份（按生效日期）"
    )
    division: ShortText | None = Field(
        None, description="行政区划代码（统计用区划代码），缺省为广东省 440000"
    )


class ProposalsQuery(QueryModel, operations=("GET /api/proposals",)):
    state: coded(PROPOSAL_STATE_TERMS) | None = Field(None, description="状态")
    kind: coded(PROPOSAL_KIND_TERMS) | None = Field(None, description="类型")
    place_id: Id | None = Field(None, description="涉及的地名记录")
    limit: Annotated[int, Field(ge=1, le=MAX_PAGE)] = Field(50, description="条数上限")
    offset: Offset = 0


class DueQuery(QueryModel, operations=("GET /api/proposals/due",)):
    all: Literal["0", "1"] = Field("0", description="1：也列出未到期的事项")


class GeometryOptIn(
    QueryModel, operations=("GET /api/divisions/{code}", "GET /api/boundaries/lines/{line_id}")
):
    geometry: Literal["0", "1"] = Field("0", description="1 = 含几何（边界多边形或界线）")


class LinesQuery(
    QueryModel, operations=("GET /api/boundaries/lines", "GET /api/boundaries/tri-junctions")
):
    kind: coded(LINE_KIND_TERMS) | None = Field(None, description="界线级别")


class StaffQuery(QueryModel, operations=("GET /api/boundaries/staff",)):
    side: list[ShortText] = Field([], description="只列这些一方（区划代码，可重复）")
    role: literal(ROLES) | None = Field(None, description="只列有该角色的账号")


class DivisionChangesQuery(QueryModel, operations=("GET /api/boundaries/division-changes",)):
    code: ShortText | None = Field(None, description="只列该区划的变更")


class ImportLayerQuery(QueryModel, operations=("GET /api/imports/{run_id}/layer",)):
    name: ShortText | None = Field(None, description="图层名（缺省：所选或第一个图层）")


class ImportSampleQuery(QueryModel, operations=("GET /api/imports/{run_id}/sample",)):
    crs: CrsTag


class NoQuery(QueryModel):
    """An operation that takes no query parameters: any one is refused, naming it."""


Page = Annotated[int, Field(ge=1, le=1000)]
LookupText = Annotated[str, Field(min_length=1, max_length=MAX_QUERY_CHARS, pattern=TEXT_PATTERN)]


class SearchQuery(QueryModel, operations=("GET /api/search",)):
    q: LookupText = Field(description="名称、拼音、首字母或自上而下的名称链（广州天河）")
    division: ShortText | None = Field(None, description="所在行政区划代码（含下级）")
    feature_class: literal(FEATURE_CLASSES) | None = Field(None, description="地名类别")
    status: literal(PLACE_STATUSES) | None = Field(None, description="状态")
    bbox: ShortText | None = Field(
        None, description="minlon,minlat,maxlon,maxlat（CGCS2000 经纬度，度）"
    )
    limit: Annotated[int, Field(ge=1, le=100)] = Field(10, description="条数上限")
    offset: Annotated[int, Field(ge=0, le=10_000)] = Field(0, description="跳过条数")


class SearchPageQuery(SearchQuery, operations=("GET /search",)):
    """The search page (/search) reads the API's parameters, checked the same way; only an
    empty ``q``, which the empty form sends, shows the empty page instead of a refusal."""

    q: Annotated[str, Field(max_length=MAX_QUERY_CHARS, pattern=TEXT_PATTERN)] = ""


class SuggestQuery(QueryModel, operations=("GET /api/suggest",)):
    q: LookupText = Field(description="已输入的文字")
    limit: Annotated[int, Field(ge=1, le=20)] = Field(8, description="条数上限")


class ReverseQuery(QueryModel, operations=("GET /api/reverse",)):
    lon: Lon
    lat: Lat
    crs: CrsTag = "CGCS2000"
    nearest: Annotated[int, Field(ge=0, le=50)] = Field(5, description="最近地名的条数")


class DivisionsGeoJsonQuery(QueryModel, operations=("GET /api/divisions.geojson",)):
    level: Literal["province", "city", "county"] = Field("city", description="区划级别")
    tolerance_deg: Annotated[float, Field(ge=0, le=0.1, allow_inf_nan=False)] = Field(
        0.005, description="简化容差（度）"
    )


def _years_from(year: int) -> str:
    """A regex alternation of the 4-digit years ``year``..9999 (a JSON Schema pattern)."""
    digits = str(year)
    options = [digits]
    for i, d in enumerate(digits):
        if d != "9":
            rest = 3 - i
            options.append(digits[:i] + f"[{int(d) + 1}-9]" + ("[0-9]" * rest))
    return "|".join(options)


class DivisionsAsOfQuery(QueryModel, operations=("GET /api/divisions/as-of",)):
    date: Annotated[
        str,
        Field(
            pattern=f"^({_years_from(HISTORY_FIRST_YEAR)})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$",
            json_schema_extra={"format": "date"},
        ),
    ] = Field(description=f"哪一天（YYYY-MM-DD，{HISTORY_FIRST_YEAR} 年起）")


# 29 February is let through in every year (a pattern cannot know leap years): the check
# behind it (parse_since) refuses 2023-02-29 by name. Left out, 2024-02-29 was refused too.
_MONTH_DAY = "((0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-9])|(0[13-9]|1[0-2])-30|(0[13578]|1[02])-31)"
_HOUR_MINUTE = "([01][0-9]|2[0-3]):[0-5][0-9]"
# What gazetteer.notices.parse_since reads: a sequence number (no leading zero), or an instant with its zone.
SINCE_PATTERN = (
    f"^(0|[1-9][0-9]{{0,17}}|[1-9][0-9]{{3}}-{_MONTH_DAY}T{_HOUR_MINUTE}(:[0-5][0-9](\\.[0-9]{{1,6}})?)?"
    f"(Z|[+-]{_HOUR_MINUTE}))$"
)


class ChangesQuery(QueryModel, operations=("GET /api/changes",)):
    since: Annotated[str, Field(pattern=SINCE_PATTERN)] | None = Field(
        None, description="序号，或带时区的 ISO 8601 时刻：只列其后的变更"
    )
    limit: Page = Field(100, description="条数上限")


class CleanupFilters(QueryModel, operations=("GET /api/cleanup.csv",)):
    city: ShortText | None = Field(None, description="地级市代码")
    county: ShortText | None = Field(None, description="县级区划代码")
    status: literal((*CLEANUP_STATUSES, "")) | None = Field(
        None, title="状态", description="处理状态（空：全部，页面的筛选表单这样发送）"
    )
    kind: literal((*CLEANUP_KINDS, "")) | None = Field(
        None, title="类型", description="类型（空：全部）"
    )
    q: ShortText | None = Field(None, description="名称包含的文字")


class CleanupQuery(CleanupFilters, operations=("GET /api/cleanup", "GET /officer/cleanup")):
    # The worklist page (/officer/cleanup) reads the same filters as the API.
    offset: Offset = 0
    limit: Page = Field(100, description="条数上限")


class PlacementProgressQuery(QueryModel, operations=("GET /api/placements/progress",)):
    city: ShortText | None = Field(None, description="只列该地级市的县")


class UnplacedQuery(QueryModel, operations=("GET /api/placements/unplaced",)):
    county: Filled = Field(description="县级区划代码")
    after: Id | None = Field(None, description="上一条（刚放置或跳过的）地名记录 id")
    limit: Page = Field(50, description="条数上限")


class OnALineQuery(QueryModel, operations=("GET /api/boundaries/rounds",)):
    line_id: Id | None = Field(None, description="界线 id")


class MarkersQuery(OnALineQuery, operations=("GET /api/boundaries/markers",)):
    state: coded(MARKER_STATE_TERMS) | None = Field(None, description="界桩状态")


FileFormat = literal(FORMATS)


class FileFormatQuery(
    QueryModel,
    operations=("POST /api/boundaries/markers/import", "POST /api/boundaries/inspections/import"),
):
    format: FileFormat | None = Field(
        None, description="文件格式（缺省：按请求的 Content-Type，或 geojson）"
    )


class MarkersExportQuery(
    FileFormatQuery, OnALineQuery, operations=("GET /api/boundaries/markers/export",)
):
    pass


class InRoundQuery(QueryModel):
    round_id: Id | None = Field(None, description="联检轮次 id")


class InspectionsQuery(InRoundQuery, operations=("GET /api/boundaries/inspections",)):
    marker_id: Id | None = Field(None, description="界桩 id")


class InspectionsExportQuery(
    FileFormatQuery, InRoundQuery, operations=("GET /api/boundaries/inspections/export",)
):
    pass


class TasksQuery(InRoundQuery, OnALineQuery, operations=("GET /api/boundaries/tasks",)):
    status: coded(TASK_STATUS_TERMS) | None = Field(None, description="任务状态")


class DisputesQuery(OnALineQuery, operations=("GET /api/boundaries/disputes",)):
    status: coded(DISPUTE_STATUS_TERMS) | None = Field(None, description="处理状态")


class LoginQuery(QueryModel, operations=("GET /auth/login", "POST /auth/login")):
    next: ShortText | None = Field(None, description="登录后回到的本站路径")


class LoginForm(FormModel):
    username: Annotated[str, Field(max_length=64)]
    password: Annotated[str, Field(max_length=512)]
    next: ShortText | None = None


class LogoutForm(FormModel):
    pass


class PhotoUpload(FormModel):
    """A marker photo (multipart ``photo``: JPEG, PNG or WebP), optionally of a record."""

    # Absent when the photo belongs to no record; given, a record's UUID (empty is refused).
    inspection_id: (
        Annotated[str, Field(min_length=1, max_length=64, json_schema_extra={"format": "uuid"})]
        | None
    ) = None
    caption: ShortText | None = None


class ImportUpload(FormModel):
    """An office's place-name file (multipart ``file``: Shapefile zip, GeoPackage, File
    Geodatabase zip, GeoJSON, CSV or Excel .xlsx) with where it comes from."""

    source_name: Annotated[str, Field(max_length=200, description="数据来源名称")]
    office: Annotated[str, Field(max_length=200, description="登记单位")]


REQUEST_MODELS: tuple[type[RequestModel], ...] = (
    ProposalNew,
    ProposalAction,
    RulesCheck,
    DivisionChangeNew,
    ProtectionNew,
    PlaceGeometry,
    CleanupBuild,
    CleanupDecision,
    ReverseBatch,
    RoundPlan,
    InspectionNew,
    SideSignOff,
    TaskNew,
    TaskUpdate,
    DisputeNew,
    DisputeUpdate,
    ImportCrsGuess,
    ImportConfigure,
    ImportWrite,
    InspectionAmendment,
    ConclusionSignOff,
    StaffProfile,
)


def _field_path(location: tuple) -> str:
    path = ""
    for part in location:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path or "请求体"


def _models_in(annotation) -> list[type[BaseModel]]:
    """The request models an annotation holds (``list[Team]``, ``Team | None``, ...)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def _field_title(location: tuple, model: type[BaseModel]) -> tuple[str | None, Any]:
    """(the Chinese words for ``location`` in ``model``, the top-level field), where
    every named step has a title (the field's own, else ``FIELD_TITLES_ZH``). Where a step
    has none (a union's member), the words are the top-level field's own title, or None."""
    declared = model.model_fields.get(str(location[0])) if location else None
    words: list[str] = []
    current: type[BaseModel] | None = model
    for part in location:
        if isinstance(part, int):
            if not words:
                return None, declared  # (a list body: "请求体[3]" says it)
            words[-1] += f"第 {part + 1} 项"
            continue
        field = current.model_fields.get(part) if current is not None else None
        title = (field.title if field is not None else None) or FIELD_TITLES_ZH.get(part)
        if field is None or not title:  # (a union's member, a dict's key): the field's own
            return (declared.title if declared is not None else None), declared
        words.append(title)
        inner = _models_in(field.annotation)
        current = inner[0] if inner else None
    return (" · ".join(words) or None), declared


def _message(error: dict, model: type[BaseModel], unknown: list[str]) -> str:
    """The first problem in Chinese; a query string's names are 参数, a body's 字段. An
    unknown name is named with every other unknown one (``unknown``)."""
    noun = "参数" if issubclass(model, QueryModel) and not issubclass(model, FormModel) else "字段"
    field = _field_path(error["loc"])
    # A field's zh-CN title goes first: "拟用名称（name）", and a part of one is said by the
    # way to it: "联检队伍第 1 项 · 成员账号第 1 项（teams[0].members[0]）".
    title, declared = _field_title(error["loc"], model)
    if title:
        field = f"{title}（{field}）"
    kind = error["type"]
    if kind == "missing":
        return f"缺少{noun} {field}"
    if kind == "extra_forbidden":
        return f"不认识的{noun}：{'、'.join(unknown)}"
    problem = _problem_zh(error)
    if problem == _PROBLEMS_ZH["string_pattern_mismatch"]:
        # "格式不对" alone does not say what is wanted: the pattern's words do, else the
        # field's own description (user tests: a date before 1979 and 29 February were
        # refused without a word why; 2026-1-5 read only 格式不对).
        wanted = _PATTERNS_ZH.get((error.get("ctx") or {}).get("pattern"))
        if wanted is None and declared is not None and declared.description:
            wanted = declared.description
        if wanted:
            problem = f"{problem}（应为{wanted}）"
    return f"{noun} {field} 有误：{problem}"


# What a pattern asks for, in words, where the field's description does not say it.
_PATTERNS_ZH = {
    ISO_DATE_PATTERN: "日期，写作 YYYY-MM-DD，如 2026-03-01",
    PHOTO_DIGEST: "照片编号（64 位十六进制的 SHA-256）",
}

# pydantic's error types in Chinese; ``{name}`` is filled from the error's context (limits).
# A type not named here is said as ``UNLISTED_PROBLEM_ZH``: a user never reads pydantic's
# English (its ``type`` stays in ``details.errors``).
_PROBLEMS_ZH = {
    "missing": "缺少，必须给出",
    "extra_forbidden": "不认识的名称，不接受",
    "repeated": "只能给一次（给了 {count} 次）",
    "string_type": "应为文字",
    "string_too_long": "最多 {max_length} 个字符",
    "string_too_short": "至少 {min_length} 个字符",
    "string_pattern_mismatch": "格式不对",
    "single_line": "应为单行文字，不能含换行或制表符",
    "blank": "不能为空（至少填一个非空白字符）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "list_type": "应为列表（JSON 数组）",
    "dict_type": "应为对象（JSON 对象）",
    "model_type": "应为对象（JSON 对象）",
    "model_attributes_type": "应为对象（JSON 对象）",
    "too_long": "最多 {max_length} 项",
    "too_short": "至少 {min_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "literal_error": "应为以下之一：{expected}",
    "enum": "应为以下之一：{expected}",
    "none_required": "应为空（null）",
    "string_unicode": "应为有效的 Unicode 文字",
}


UNLISTED_PROBLEM_ZH = "不符合要求"


def _problem_zh(error: dict) -> str:
    kind = error["type"]
    if kind == "string_type" and error.get("input") is None:
        kind = "blank"  # a form's empty box sent as null: to be filled, not "not text"
    pattern = (error.get("ctx") or {}).get("pattern")
    if kind == "string_pattern_mismatch" and pattern in (LINE_PATTERN, FILLED_LINE_PATTERN):
        # Single-line text: say which rule it broke, a line break or nothing filled in.
        text = error.get("input")
        broken = isinstance(text, str) and forbidden_character(text, single_line=True)
        kind = "single_line" if broken or pattern == LINE_PATTERN else "blank"
    template = _PROBLEMS_ZH.get(kind, UNLISTED_PROBLEM_ZH)
    ctx = dict(error.get("ctx") or {})
    if kind in ("literal_error", "enum") and isinstance(ctx.get("expected"), str):
        # pydantic lists the choices in English ("'a', 'b' or 'c'"): listed the Chinese way.
        ctx["expected"] = re.sub(r"(?<=')(?:, | or )(?=')", "、", ctx["expected"])
    try:
        return template.format(**ctx)
    except (KeyError, IndexError):
        return UNLISTED_PROBLEM_ZH


def validated_body(model: type[RequestModel]) -> dict:
    """The JSON body checked against ``model``: a dict of the fields the client sent
    (NFC text, see ``webmap.params.json_body``). Raises ``InvalidInput`` naming the first
    bad field; ``details.errors`` lists them all."""
    return _validated(model, json_body())


def _is_list(field) -> bool:
    return get_origin(field.annotation) is list


def _fields_of(model: type[QueryModel], values) -> dict:
    """``values`` (a werkzeug MultiDict) as ``model`` reads it: a list field takes every
    value of its name, any other field its one value (given twice, the list of values is
    refused as repeated, naming it)."""
    return {
        name: values.getlist(name)
        if len(values.getlist(name)) > 1
        or (name in model.model_fields and _is_list(model.model_fields[name]))
        else values.get(name)
        for name in values
    }


@functools.cache  # one per route: asked on every request (operation_key)
def openapi_path(rule: str) -> str:
    """A Flask rule as the OpenAPI document writes it: ``/x/<int:id>`` -> ``/x/{id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


def operation_key() -> tuple[str, str]:
    """This request's operation as the OpenAPI document names it: (``/api/places/{place_id}``,
    ``get``); a HEAD is its GET."""
    method = request.method.lower()
    return openapi_path(request.url_rule.rule), "get" if method == "head" else method


def query_args() -> dict:
    """This request's query string checked against its operation's model (``QUERY_MODELS``;
    an operation not named there takes no parameters), defaults filled in. Raises
    ``InvalidInput`` naming the first bad or unknown parameter. Checked once a request."""
    if "query_args" not in g:
        model = QUERY_MODELS.get(operation_key(), NoQuery)
        g.query_args = _validated(model, _fields_of(model, request.args), exclude_unset=False)
    return g.query_args


T = TypeVar("T")


def query_as(kind: type[T]) -> T:
    """This request's checked query string (``query_args``) as a typed value of the domain
    (a dataclass such as a list's filters or ``gazetteer.core.paging.Page``), made of the
    parameters its fields name."""
    args = query_args()
    return kind(**{f.name: args[f.name] for f in dataclasses.fields(kind)})


def validated_form(model: type[FormModel]) -> dict:
    """A form's text fields checked against ``model`` (uploaded files are not among them)."""
    return _validated(model, _fields_of(model, request.form), exclude_unset=False)


def uploaded_file(name: str):
    """The form's upload ``name`` (a werkzeug ``FileStorage``), or None when it has none.
    Sent twice it is refused as a repeated text field is, naming it: keeping one part and
    dropping the other would store what the sender may not have meant, and say nothing."""
    files = request.files.getlist(name)
    if len(files) > 1:
        raise _refusal(
            FormModel, [{"loc": (name,), "type": "repeated", "ctx": {"count": len(files)}}]
        )
    return files[0] if files else None


def _validated(model: type[BaseModel], data, exclude_unset: bool = True) -> dict:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        # the input: which rule a text broke
        raise _refusal(model, exc.errors(include_url=False)) from None
    return parsed.model_dump(exclude_unset=exclude_unset)


def _refusal(model: type[BaseModel], errors: list[dict]) -> InvalidInput:
    """The 400 for ``errors`` (pydantic's error dicts) in what ``model`` reads, naming the
    first one's field."""
    unknown = [_field_path(e["loc"]) for e in errors if e["type"] == "extra_forbidden"]
    return InvalidInput(
        _message(errors[0], model, unknown),
        details={
            "field": _field_path(errors[0]["loc"]),
            "errors": [
                {"field": _field_path(e["loc"]), "type": e["type"], "message": _problem_zh(e)}
                for e in errors
            ],
            **({"unknown": unknown} if unknown else {}),
        },
    )


# The body each write operation takes: (path as in the OpenAPI document, method) -> model.
REQUEST_BODIES: dict[tuple[str, str], type[RequestModel]] = {
    ("/api/proposals", "post"): ProposalNew,
    ("/api/proposals/{proposal_id}/actions/{action}", "post"): ProposalAction,
    ("/api/rules/check", "post"): RulesCheck,
    ("/api/places/{place_id}/geometry", "post"): PlaceGeometry,
    ("/api/reverse/batch", "post"): ReverseBatch,
    ("/api/boundaries/rounds", "post"): RoundPlan,
    ("/api/boundaries/inspections", "post"): InspectionNew,
    ("/api/boundaries/inspections/{inspection_id}/sign", "post"): SideSignOff,
    ("/api/boundaries/tasks", "post"): TaskNew,
    ("/api/boundaries/tasks/{task_id}", "post"): TaskUpdate,
    ("/api/boundaries/tasks/{task_id}/approve", "post"): SideSignOff,
    ("/api/boundaries/disputes", "post"): DisputeNew,
    ("/api/boundaries/disputes/{dispute_id}", "post"): DisputeUpdate,
    ("/api/boundaries/division-changes", "post"): DivisionChangeNew,
    ("/api/places/{place_id}/protection", "post"): ProtectionNew,
    ("/api/imports/{run_id}/crs-guess", "post"): ImportCrsGuess,
    ("/api/imports/{run_id}/configure", "post"): ImportConfigure,
    ("/api/imports/{run_id}/write", "post"): ImportWrite,
    ("/api/cleanup/build", "post"): CleanupBuild,
    ("/api/cleanup/{item_id}/decision", "post"): CleanupDecision,
    ("/api/boundaries/inspections/{inspection_id}/amendments", "post"): InspectionAmendment,
    ("/api/boundaries/rounds/{round_id}/conclusion", "post"): ConclusionSignOff,
    ("/api/boundaries/staff/{username}", "post"): StaffProfile,
}


# Creates that take an ``Idempotency-Key`` header (``gazetteer.core.idempotency``).
IDEMPOTENT_CREATES = frozenset(
    {
        ("/api/proposals", "post"),
        ("/api/boundaries/disputes", "post"),
        ("/api/boundaries/rounds", "post"),
        ("/api/boundaries/tasks", "post"),
    }
)
REPLAY_ANSWER = "重发（Idempotency-Key 相同、内容相同）：首次创建的记录"
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Resending the request with the same key returns the record made the "
    "first time; other content under the same key is a 409 carrying it.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[!-~]+$"},
}


def _openapi30(schema):
    """pydantic writes JSON Schema 2020-12; OpenAPI 3.0 says ``nullable`` instead of a
    ``null`` branch (and a nullable enum lists null) and has no ``const``."""
    if isinstance(schema, list):
        return [_openapi30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _openapi30(v) for k, v in schema.items()}
    branches = out.get("anyOf")
    if isinstance(branches, list) and {"type": "null"} in branches:
        rest = [b for b in branches if b != {"type": "null"}]
        out.pop("anyOf")
        if len(rest) == 1 and "$ref" in rest[0]:
            out["allOf"] = rest  # a $ref cannot carry siblings in 3.0
        elif len(rest) == 1:
            out.update(rest[0])
        else:
            out["anyOf"] = rest
        out["nullable"] = True
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    return out


def openapi30_components(models, mode: str) -> dict[str, dict]:
    """OpenAPI 3.0 component schemas of ``models`` and the models they use, as pydantic
    declares them for ``mode`` ("validation": what a request may send; "serialization":
    what an answer holds)."""
    from pydantic.json_schema import models_json_schema

    _, top = models_json_schema(
        [(m, mode) for m in models], ref_template="#/components/schemas/{model}"
    )
    return {name: _openapi30(schema) for name, schema in top.get("$defs", {}).items()}


def request_schemas() -> dict[str, dict]:
    """OpenAPI 3.0 component schemas of every request model (and the models they use)."""
    return openapi30_components(REQUEST_MODELS, mode="validation")


def add_request_bodies(paths: dict) -> None:
    """Give every write operation of ``paths`` its generated request body (adding the
    operation where the document lacks it; ``webmap.openapi`` adds the path parameters and
    the error answers)."""
    for (path, method), model in REQUEST_BODIES.items():
        operation = paths.setdefault(path, {}).setdefault(
            method,
            {
                "summary": (model.__doc__ or model.__name__).strip().splitlines()[0],
                "responses": {
                    "200": {
                        "description": "Result",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            },
        )
        if (path, method) in IDEMPOTENT_CREATES:
            operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
            answers = operation.setdefault("responses", {})
            if "201" in answers:  # a retry is answered 200 (webmap.params.created_status)
                answers.setdefault("200", {**answers["201"], "description": REPLAY_ANSWER})
        operation["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}}
            },
        }
