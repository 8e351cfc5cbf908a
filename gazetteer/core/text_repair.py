"""Find and repair rows stored with invalid text (``gdgis admin repair-text``).

Before text was checked at the door (``gazetteer.core.text``), a JSON ``\\ud800`` escape could
reach a JSON column (``proposals.proposed``) and make every list that included the row
fail, and control characters (``\\x1b[31m``, a bidi override) were stored as typed.
This scans every text and JSON column of the tables declared on ``metadata`` (the caller
imports its whole schema first) and, when asked, rewrites the bad values: lone surrogates
and control characters become U+FFFD, text is NFC-normalised. Numbers that are NaN or
infinite (JSON cannot carry them; a dispute position stored before positions were checked) become
unknown (null), both halves of a lon/lat pair. The repair is one ordinary audited write
by the operator; the audit log itself (history) is never rewritten.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import sqlalchemy as sa

from gazetteer.core.store import Store, metadata
from gazetteer.core.text import displayable, repair_text, text_problem

NEVER_REWRITTEN = frozenset({"audit_log", "alembic_version"})


@dataclass(frozen=True)
class BadText:
    table: str
    key: tuple
    column: str
    problem: str  # "surrogate", "control", "not_nfc" or "not_finite"

    def line(self) -> str:
        key = displayable(",".join(str(k) for k in self.key))  # a text key may be bad too
        return f"{self.table}[{key}].{self.column}: {self.problem}"


def _text_columns(table: sa.Table) -> list[sa.Column]:
    return [c for c in table.columns if isinstance(c.type, sa.String | sa.JSON | sa.Float)]


def _problem(value) -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else "not_finite"
    return text_problem(value)


def _partner(column: str) -> str | None:
    """The other half of a position column pair: ``lon`` <-> ``lat``, ``measured_lon`` <->
    ``measured_lat`` (a position is both or neither)."""
    for a, b in (("lon", "lat"), ("lat", "lon")):
        if column.endswith(a):
            return column[: -len(a)] + b
    return None


def _repaired(bad: BadText, value, table: sa.Table) -> dict:
    """The new values of a bad stored value: text repaired; a non-finite number unknown
    (null), with its position partner."""
    if bad.problem != "not_finite":
        return {bad.column: repair_text(value)}
    partner = _partner(bad.column)
    if partner in table.c and table.c[partner].nullable and table.c[bad.column].nullable:
        return {bad.column: None, partner: None}
    return {bad.column: None}


def _scan(conn, meta: sa.MetaData) -> list[tuple[BadText, object]]:
    found = []
    for table in meta.sorted_tables:
        keys = list(table.primary_key.columns)
        columns = _text_columns(table)
        if table.name in NEVER_REWRITTEN or not keys or not columns:
            continue
        for row in conn.execute(sa.select(*keys, *columns)):
            key = tuple(row[: len(keys)])
            for column, value in zip(columns, row[len(keys) :], strict=True):
                problem = _problem(value)
                if problem:
                    found.append((BadText(table.name, key, column.name, problem), value))
    return found


def find_invalid_text(store: Store, meta: sa.MetaData = metadata) -> list[BadText]:
    """Every stored value holding a lone surrogate, a control character or text not in NFC,
    and every number
    that is NaN or infinite (coordinates stored before they were checked)."""
    with store.read(primary=True) as conn:
        return [bad for bad, _value in _scan(conn, meta)]


def repair_stored_text(
    store: Store, *, actor: str = "system:cli", meta: sa.MetaData = metadata
) -> list[BadText]:
    """Repair every bad value found by ``find_invalid_text`` in one transaction (all or
    nothing); returns what was repaired."""
    with store.write(actor=actor) as conn:
        found = _scan(conn, meta)
        for bad, value in found:
            table = meta.tables[bad.table]
            keys = list(table.primary_key.columns)
            conn.execute(
                table.update()
                .where(*(k == v for k, v in zip(keys, bad.key, strict=True)))
                .values(_repaired(bad, value, table))
            )
    return [bad for bad, _value in found]
