"""The boundaries domain's coded values and marker fields, declared once.

Every code (marker state, marker type, survey method, task kind …) is declared here with
its Chinese label and, for marker states, its map colour. The table module takes its check
constraints from here, the domain modules their labels, the report its colours, and the
pages get the same table as JSON (``vocabulary_document``; ``/api/boundaries/vocabulary``
and a JSON data block in each map page, read by ``webmap/static/mapcommon.js``). The
migrations keep their own frozen copy of the codes, as migrations must.
"""

from __future__ import annotations

from dataclasses import dataclass

from gazetteer.core.errors import InvalidInput


@dataclass(frozen=True)
class Term:
    """One coded value: ``code`` as stored, ``zh`` as shown; ``colour`` (#rrggbb) where
    the value is drawn on a map."""

    code: str
    zh: str
    colour: str | None = None


@dataclass(frozen=True)
class Field:
    """One field of a marker record (界桩登记表) as imported, exported and shown."""

    name: str
    zh: str
    unit: str | None = None


def codes(terms: tuple[Term, ...]) -> tuple[str, ...]:
    return tuple(t.code for t in terms)


def labels(terms: tuple[Term, ...]) -> dict[str, str]:
    return {t.code: t.zh for t in terms}


def require_code(value, terms: tuple[Term, ...], *, field: str, what_zh: str) -> str:
    """``value`` when it is one of ``terms``' codes, else ``InvalidInput`` naming ``field``
    and the choices: a value that is no code at all is bad input (400), not a move the
    record's state forbids (409)."""
    if value not in codes(terms):
        choices = "、".join(f"{t.zh}（{t.code}）" for t in terms)
        raise InvalidInput(
            f"{what_zh}不可识别：{value!r}（可选 {choices}）", details={"field": field}
        )
    return value


# Marker states seen in inspection reports (see shared/DOMAIN.md); ``retired`` is set only
# by a retirement both sides approved, never found in the field.
MARKER_STATE_TERMS = (
    Term("intact", "完好", "#2e7d32"),
    Term("faded", "字迹模糊", "#f9a825"),
    Term("tilted", "倾斜", "#ef6c00"),
    Term("buried", "掩埋", "#8d6e63"),
    Term("damaged", "损坏", "#c62828"),
    Term("moved", "移位", "#6a1b9a"),
    Term("lost", "丢失", "#212121"),
    Term("retired", "已撤销", "#9e9e9e"),
)
UNINSPECTED = Term("unknown", "未检查", "#607d8b")
MARKER_STATES = codes(MARKER_STATE_TERMS)
FOUND_STATE_TERMS = tuple(t for t in MARKER_STATE_TERMS if t.code != "retired")
FOUND_STATES = codes(FOUND_STATE_TERMS)
STATE_NAMES = labels(MARKER_STATE_TERMS)
STATE_COLOURS = {t.code: t.colour for t in MARKER_STATE_TERMS}

# Longest texts a record takes, in characters: an inspection's notes (and an amendment's)
# and a round's joint conclusion. The API's request schemas and the inspection page's
# text boxes take these numbers from here.
NOTES_MAX_CHARS = 20_000
CONCLUSION_MAX_CHARS = 20_000

MARKER_TYPE_TERMS = (
    Term("single", "单立"),  # letter Q
    Term("paired", "同号双立"),  # A/B
    Term("triple", "同号三立/三面型"),  # C/D/E
)
MARKER_TYPES = codes(MARKER_TYPE_TERMS)
TYPE_NAMES = labels(MARKER_TYPE_TERMS)
TYPE_LETTERS = {"single": "Q", "paired": "AB", "triple": "CDE"}

MEASUREMENT_METHOD_TERMS = (
    Term("rtk", "RTK 测量"),
    Term("total_station", "全站仪测量"),
    Term("gnss_handheld", "手持 GNSS 定位"),
    Term("none", "未测量"),
)
MEASUREMENT_METHODS = codes(MEASUREMENT_METHOD_TERMS)
METHOD_NAMES = labels(MEASUREMENT_METHOD_TERMS)

LINE_KIND_TERMS = (
    Term("provincial", "省级界线"),
    Term("city", "市级界线"),
    Term("county", "县级界线"),
)
LINE_KINDS = codes(LINE_KIND_TERMS)

ROUND_STATUS_TERMS = (
    Term("planned", "计划中"),
    Term("in_progress", "进行中"),
    Term("completed", "已完成"),
)
ROUND_STATUSES = codes(ROUND_STATUS_TERMS)

TASK_KIND_TERMS = (
    Term("clear_vegetation", "清理遮挡"),
    Term("repaint", "描红注记"),
    Term("reset", "扶正"),
    Term("repair", "修复"),
    Term("rebuild", "原位重建"),
    Term("replace", "更换"),
    Term("restore", "恢复原位"),
    Term("relocate", "迁移"),
    Term("retire", "撤销"),
)
TASK_KINDS = codes(TASK_KIND_TERMS)

TASK_STATUS_TERMS = (
    Term("open", "待处理"),
    Term("in_progress", "处理中"),
    Term("done", "已完成"),
    Term("cancelled", "已取消"),
)
TASK_STATUSES = codes(TASK_STATUS_TERMS)

DISPUTE_CATEGORY_TERMS = (
    Term("land", "土地"),
    Term("minerals", "矿产"),
    Term("forest", "林地"),
    Term("water", "水域"),
    Term("tidal_flat", "滩涂"),
    Term("other", "其他"),
)
DISPUTE_CATEGORIES = codes(DISPUTE_CATEGORY_TERMS)
DISPUTE_STATUS_TERMS = (
    Term("open", "待处置"),
    Term("monitoring", "跟踪监测"),
    Term("resolved", "已化解"),
)
DISPUTE_STATUSES = codes(DISPUTE_STATUS_TERMS)
DISPUTE_RISK_TERMS = (Term("low", "低"), Term("medium", "中"), Term("high", "高"))
DISPUTE_RISKS = codes(DISPUTE_RISK_TERMS)

# The fields of a marker record (界桩登记表), in the order of the form and the export.
# Positions are CGCS2000 (EPSG:4490) degrees, lon first.
MARKER_FIELDS = (
    Field("number", "界桩编号"),
    Field("type", "类型"),
    Field("material", "材质"),
    Field("lon", "经度", "度"),
    Field("lat", "纬度", "度"),
    Field("elevation_m", "高程", "米"),
    Field("location_desc_a", "甲方一侧位置"),
    Field("location_desc_b", "乙方一侧位置"),
    Field("reference_objects", "方位物"),
    Field("installed_date", "埋设日期"),
    Field("responsible_side", "维护方"),
    Field("state", "当前状态"),
    Field("is_demonstration", "演示数据"),
)
MARKER_FIELD_NAMES = tuple(f.name for f in MARKER_FIELDS)

_VOCABULARIES = {
    "marker_states": MARKER_STATE_TERMS,
    "marker_types": MARKER_TYPE_TERMS,
    "measurement_methods": MEASUREMENT_METHOD_TERMS,
    "line_kinds": LINE_KIND_TERMS,
    "round_statuses": ROUND_STATUS_TERMS,
    "task_kinds": TASK_KIND_TERMS,
    "task_statuses": TASK_STATUS_TERMS,
    "dispute_categories": DISPUTE_CATEGORY_TERMS,
    "dispute_statuses": DISPUTE_STATUS_TERMS,
    "dispute_risks": DISPUTE_RISK_TERMS,
}


def label(vocabulary: str, code: str | None) -> str:
    """The Chinese label of ``code`` in ``vocabulary`` (a key of the document); the code
    itself when unknown, "—" when empty."""
    if code in (None, ""):
        return "—"
    return next((t.zh for t in _VOCABULARIES[vocabulary] if t.code == code), str(code))


def vocabulary_document() -> dict:
    """Every vocabulary as JSON-ready lists of {code, zh[, colour]}, plus the marker fields
    and the colour of a marker not yet inspected: what the pages' scripts read."""
    document: dict = {
        name: [
            {"code": t.code, "zh": t.zh, **({"colour": t.colour} if t.colour else {})}
            for t in terms
        ]
        for name, terms in _VOCABULARIES.items()
    }
    document["uninspected"] = {
        "code": UNINSPECTED.code,
        "zh": UNINSPECTED.zh,
        "colour": UNINSPECTED.colour,
    }
    document["marker_fields"] = [
        {"name": f.name, "zh": f.zh, **({"unit": f.unit} if f.unit else {})} for f in MARKER_FIELDS
    ]
    return document
