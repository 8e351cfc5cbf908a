"""Find and repair rows stored with invalid text (``gdgis admin repair-text``).

Before text was checked at the door (``gazetteer.core.text``), a JSON ``\\ud800`` escape could
reach a JSON column (``proposals.proposed``) and make every list that included the row
fail. This scans every text and JSON column of the tables declared on ``metadata`` (the
caller imports its whole schema first) and, when asked, rewrites the bad values: lone
surrogates become U+FFFD, text is NFC-normalised. The repair is one ordinary audited write
by the operator; the audit log itself (history) is never rewritten.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from gazetteer.core.store import Store, metadata
from gazetteer.core.text import repair_text, text_problem

NEVER_REWRITTEN = frozenset({"audit_log", "alembic_version"})


@dataclass(frozen=True)
class BadText:
    table: str
    key: tuple
    column: str
    problem: str  # "surrogate" or "not_nfc"

    def line(self) -> str:
        key = ",".join(str(k) for k in self.key)
        return f"{self.table}[{key}].{self.column}: {self.problem}"


def _text_columns(table: sa.Table) -> list[sa.Column]:
    return [c for c in table.columns if isinstance(c.type, sa.String | sa.JSON)]


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
                problem = text_problem(value)
                if problem:
                    found.append((BadText(table.name, key, column.name, problem), value))
    return found


def find_invalid_text(store: Store, meta: sa.MetaData = metadata) -> list[BadText]:
    """Every stored value holding a lone surrogate or text not in NFC."""
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
                .values({bad.column: repair_text(value)})
            )
    return [bad for bad, _value in found]
