"""The boundaries domain's coded values and marker fields, declared once.

The codes live in three tables under ``boundaries/data/`` (each says its columns in its
header): ``marker_states.csv`` — every marker state with its Chinese label, its map colour
and how a finding in that state behaves (whether an inspector may record it, whether a
flagged displacement makes it "moved", the maintenance task it opens, whether it must be
reported at once); ``vocabularies.csv`` — the other coded values (marker type, survey
method, task kind …) with their labels; ``marker_fields.csv`` — the fields of a marker
record. This module reads them once; the table module takes its check constraints from
here, the domain modules their labels and rules, the report its colours, the OpenAPI
document its enums, and the pages get the same tables as JSON (``vocabulary_document``;
``/api/boundaries/vocabulary`` and a JSON data block in each map page, read by
``webmap/static/mapcommon.js``). The migrations keep their own frozen copy of the codes,
as migrations must.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from gazetteer.core.vocabulary import Term, codes, labels, read_table, read_terms, require_code

DATA = Path(__file__).resolve().parent / "data"
_COLOUR = re.compile(r"#[0-9a-f]{6}")
# Longest marker-state code, in characters: the width of the stored state columns
# (markers.state, inspections.found_state/assessed_state: boundaries/tables.py). A wider
# column is a migration that alters those three columns.
STATE_CODE_MAX_CHARS = 12


@dataclass(frozen=True)
class MarkerState(Term):
    """A marker state and how an inspection finding in it behaves (``marker_states.csv``):
    ``found_in_field`` — an inspector may record it; ``withdrawn`` — inspectors recorded it
    once and may no longer (records that hold it keep it, and the store still allows it:
    a state is never taken out of a store with records); ``displaced_becomes_moved`` — with a
    displacement beyond the tolerance the finding is assessed as moved; ``task_kind`` — the
    maintenance task it opens (None: none); ``urgent`` — to be reported within the upkeep
    contract's hours."""

    found_in_field: bool = True
    withdrawn: bool = False
    displaced_becomes_moved: bool = False
    task_kind: str | None = None
    urgent: bool = False


@dataclass(frozen=True)
class Field:
    """One field of a marker record (界桩登记表) as imported, exported and shown."""

    name: str
    zh: str
    unit: str | None = None


# The values of marker_states.csv's found_in_field column: recorded in the field now,
# withdrawn from field use (records keep it), never (set only otherwise, as retired is).
FIELD_USE = {
    "yes": {"found_in_field": True, "withdrawn": False},
    "withdrawn": {"found_in_field": False, "withdrawn": True},
    "": {"found_in_field": False, "withdrawn": False},
}


def read_marker_states(rows: list[dict[str, str]], task_kinds) -> tuple[MarkerState, ...]:
    """The rows of ``marker_states.csv`` (a flag is "yes" or empty) as states, in order;
    ValueError naming the state when its code is longer than the stored column
    (``STATE_CODE_MAX_CHARS``) or its colour or task kind is not one declared."""
    states = []
    for row in rows:
        code, task_kind = row["code"], row["task_kind"] or None
        if len(code) > STATE_CODE_MAX_CHARS:
            raise ValueError(
                f"marker_states.csv: {code}: code is {len(code)} characters, "
                f"the stored column takes at most {STATE_CODE_MAX_CHARS}"
            )
        if not _COLOUR.fullmatch(row["colour"]):
            raise ValueError(f"marker_states.csv: {code}: colour {row['colour']!r} is no #rrggbb")
        if task_kind is not None and task_kind not in task_kinds:
            raise ValueError(f"marker_states.csv: {code}: task_kind {task_kind!r} is undeclared")
        if row["found_in_field"] not in FIELD_USE:
            raise ValueError(
                f"marker_states.csv: {code}: found_in_field {row['found_in_field']!r} is none "
                f"of {', '.join(repr(v) for v in FIELD_USE)}"
            )
        flags = {name: row[name] == "yes" for name in ("displaced_becomes_moved", "urgent")}
        flags.update(FIELD_USE[row["found_in_field"]])
        states.append(MarkerState(code, row["zh"], row["colour"], task_kind=task_kind, **flags))
    return tuple(states)


def _rows(name: str) -> list[dict[str, str]]:
    return read_table(DATA / name)


_VOCABULARIES = read_terms(_rows("vocabularies.csv"))
MARKER_TYPE_TERMS = _VOCABULARIES["marker_types"]
MEASUREMENT_METHOD_TERMS = _VOCABULARIES["measurement_methods"]
LINE_KIND_TERMS = _VOCABULARIES["line_kinds"]
ROUND_STATUS_TERMS = _VOCABULARIES["round_statuses"]
TASK_KIND_TERMS = _VOCABULARIES["task_kinds"]
TASK_STATUS_TERMS = _VOCABULARIES["task_statuses"]
AMENDMENT_KIND_TERMS = _VOCABULARIES["amendment_kinds"]  # a correction, or a second visit
DISPUTE_CATEGORY_TERMS = _VOCABULARIES["dispute_categories"]
DISPUTE_STATUS_TERMS = _VOCABULARIES["dispute_statuses"]
DISPUTE_RISK_TERMS = _VOCABULARIES["dispute_risks"]
MARKER_TYPES = codes(MARKER_TYPE_TERMS)
MEASUREMENT_METHODS = codes(MEASUREMENT_METHOD_TERMS)
LINE_KINDS = codes(LINE_KIND_TERMS)
ROUND_STATUSES = codes(ROUND_STATUS_TERMS)
TASK_KINDS = codes(TASK_KIND_TERMS)
TASK_STATUSES = codes(TASK_STATUS_TERMS)
AMENDMENT_KINDS = codes(AMENDMENT_KIND_TERMS)
AMENDMENT_KIND_NAMES = labels(AMENDMENT_KIND_TERMS)
DISPUTE_CATEGORIES = codes(DISPUTE_CATEGORY_TERMS)
DISPUTE_STATUSES = codes(DISPUTE_STATUS_TERMS)
DISPUTE_RISKS = codes(DISPUTE_RISK_TERMS)
TYPE_NAMES = labels(MARKER_TYPE_TERMS)
METHOD_NAMES = labels(MEASUREMENT_METHOD_TERMS)
TYPE_LETTERS = {"single": "Q", "paired": "AB", "triple": "CDE"}  # the number's type letter

# Marker states seen in inspection reports (see shared/DOMAIN.md); ``retired`` is set only
# by a retirement both sides approved, never found in the field.
MARKER_STATE_TERMS = read_marker_states(_rows("marker_states.csv"), TASK_KINDS)
UNINSPECTED = Term("unknown", "未检查", "#607d8b")
MARKER_STATES = codes(MARKER_STATE_TERMS)
# The states an inspection record may hold (the stored check, the report's tally, the
# records' enums): those inspectors record now and those withdrawn from field use.
FOUND_STATE_TERMS = tuple(s for s in MARKER_STATE_TERMS if s.found_in_field or s.withdrawn)
FOUND_STATES = codes(FOUND_STATE_TERMS)
# The states an inspector may record now (the form, the request schema; ``marker_state``).
FIELD_STATE_TERMS = tuple(s for s in MARKER_STATE_TERMS if s.found_in_field)
FIELD_STATES = codes(FIELD_STATE_TERMS)
STATE_NAMES = labels(MARKER_STATE_TERMS)
STATE_COLOURS = {t.code: t.colour for t in MARKER_STATE_TERMS}


def marker_state(code: str) -> MarkerState:
    """The declared state ``code`` as an inspector may record it, read at call time (a state
    added to ``MARKER_STATE_TERMS`` behaves as its row says); ``InvalidInput`` naming
    ``found_state`` and the choices when it is no such state."""
    found = tuple(s for s in MARKER_STATE_TERMS if s.found_in_field)
    require_code(code, found, field="found_state", what_zh="检查状态")
    return next(s for s in found if s.code == code)


# The fields of a marker record (界桩登记表), in the order of the form and the export.
MARKER_FIELDS = tuple(
    Field(r["name"], r["zh"], r["unit"] or None) for r in _rows("marker_fields.csv")
)
MARKER_FIELD_NAMES = tuple(f.name for f in MARKER_FIELDS)

# Longest texts a record takes, in characters: an inspection's notes (and an amendment's)
# and a round's joint conclusion. The API's request schemas and the inspection page's
# text boxes take these numbers from here.
NOTES_MAX_CHARS = 20_000
CONCLUSION_MAX_CHARS = 20_000
REASON_MAX_CHARS = 2_000  # why a record was amended


def _vocabularies() -> dict[str, tuple[Term, ...]]:
    return {"marker_states": MARKER_STATE_TERMS, **_VOCABULARIES}


def label(vocabulary: str, code: str | None) -> str:
    """The Chinese label of ``code`` in ``vocabulary`` (a key of the document); the code
    itself when unknown, "—" when empty."""
    if code in (None, ""):
        return "—"
    return next((t.zh for t in _vocabularies()[vocabulary] if t.code == code), str(code))


def _term_json(term: Term) -> dict:
    """A term as JSON: {code, zh} and whatever else its row declares (colour, behaviour)."""
    return {k: v for k, v in vars(term).items() if v is not None}


def vocabulary_document() -> dict:
    """Every vocabulary as JSON-ready lists of {code, zh[, colour]} (marker states also
    with their behaviour columns), plus the marker fields and the colour of a marker not
    yet inspected: what the pages' scripts read."""
    document: dict = {
        name: [_term_json(t) for t in terms] for name, terms in _vocabularies().items()
    }
    document["uninspected"] = _term_json(UNINSPECTED)
    document["marker_fields"] = [
        {"name": f.name, "zh": f.zh, **({"unit": f.unit} if f.unit else {})} for f in MARKER_FIELDS
    ]
    return document
