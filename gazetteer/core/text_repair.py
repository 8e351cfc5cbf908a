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

On SQLite a text column can also hold bytes that are not UTF-8 (SQLite does not check
TEXT: ``CAST(x'e8bf' AS TEXT)`` from an old import or a manual ``sqlite3`` edit) or a BLOB;
reads show such a value with U+FFFD (``gazetteer.core.text.stored_bytes_as_text``), and
this scan reads every text column's stored bytes and storage class to find them
(``not_utf8``, ``binary``): the repair stores the text as it reads, each undecodable byte
U+FFFD. PostgreSQL refuses invalid UTF-8 itself (a UTF8 database never holds it), so there
this part of the scan has nothing to find.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import sqlalchemy as sa

from gazetteer.core.store import Store, metadata
from gazetteer.core.text import displayable, repair_text, stored_bytes_as_text, text_problem

NEVER_REWRITTEN = frozenset({"audit_log", "alembic_version"})
# Found but left as stored: no repair can guess what a JSON document that does not parse held.
NOT_REPAIRED = frozenset({"not_json"})


@dataclass(frozen=True)
class BadText:
    table: str
    key: tuple
    column: str
    # "surrogate", "control", "not_nfc", "not_finite"; on SQLite also "not_utf8" and
    # "binary" (a BLOB in a text column), and "not_json" (a JSON column whose stored text
    # does not parse: listed, never rewritten, a person must decide)
    problem: str

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


def _stored_bytes_problems(conn, table: sa.Table, keys, columns) -> dict[tuple, str]:
    """SQLite: ``{(key, column name): "not_utf8" | "binary"}`` for the text and JSON values
    of ``table`` whose stored bytes are not UTF-8 text (read as bytes: the normal read
    replaces what does not decode)."""
    texts = [c for c in columns if isinstance(c.type, sa.String | sa.JSON)]
    if conn.dialect.name != "sqlite" or not texts:
        return {}
    query = sa.select(
        *keys,
        *(sa.func.typeof(c) for c in texts),
        *(sa.cast(c, sa.LargeBinary) for c in texts),
    )
    found = {}
    for row in conn.execute(query):
        key = tuple(row[: len(keys)])
        kinds = row[len(keys) : len(keys) + len(texts)]
        raws = row[len(keys) + len(texts) :]
        for column, kind, raw in zip(texts, kinds, raws, strict=True):
            if kind == "blob":
                found[key, column.name] = "binary"
            elif kind == "text":
                try:
                    bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    found[key, column.name] = "not_utf8"
    return found


def _as_read(column: sa.Column):
    """The column as the scan selects it: a JSON column as its stored text on SQLite (parsed
    by ``_parsed``, so that a value that does not parse is listed, not a failed scan)."""
    return sa.type_coerce(column, sa.Text) if isinstance(column.type, sa.JSON) else column


def _parsed(column: sa.Column, value):
    """A stored value as the app reads it; raises ValueError for JSON text that does not
    parse. A BLOB read from a text column becomes text (U+FFFD for undecodable bytes)."""
    if isinstance(value, bytes | memoryview):
        value = stored_bytes_as_text(bytes(value))
    if isinstance(column.type, sa.JSON) and isinstance(value, str):
        return json.loads(value)
    return value


def _scan(conn, meta: sa.MetaData) -> list[tuple[BadText, object]]:
    found = []
    for table in meta.sorted_tables:
        keys = list(table.primary_key.columns)
        columns = _text_columns(table)
        if table.name in NEVER_REWRITTEN or not keys or not columns:
            continue
        undecodable = _stored_bytes_problems(conn, table, keys, columns)
        for row in conn.execute(sa.select(*keys, *(_as_read(c) for c in columns))):
            key = tuple(row[: len(keys)])
            for column, stored in zip(columns, row[len(keys) :], strict=True):
                try:
                    value = _parsed(column, stored)
                except ValueError:
                    found.append((BadText(table.name, key, column.name, "not_json"), stored))
                    continue
                problem = undecodable.get((key, column.name)) or _problem(value)
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
    nothing), except those in ``NOT_REPAIRED``; returns what was repaired."""
    with store.write(actor=actor) as conn:
        found = _scan(conn, meta)
        found = [(bad, value) for bad, value in found if bad.problem not in NOT_REPAIRED]
        for bad, value in found:
            table = meta.tables[bad.table]
            keys = list(table.primary_key.columns)
            conn.execute(
                table.update()
                .where(*(k == v for k, v in zip(keys, bad.key, strict=True)))
                .values(_repaired(bad, value, table))
            )
    return [bad for bad, _value in found]
