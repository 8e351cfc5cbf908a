"""Coded values (a stored code and the Chinese label pages show), read from CSV tables.

Every domain declares its coded values in a table of its own (``gazetteer/data/``,
``boundaries/data/``: one row a code, ``vocabulary,code,zh``, ``#`` lines are comments) and
reads it with this module, so a code list, its labels, the check constraint of the column
that stores it and the enum in the OpenAPI document come from one place.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from gazetteer.core.errors import InvalidInput


@dataclass(frozen=True)
class Term:
    """One coded value: ``code`` as stored, ``zh`` as shown; ``colour`` (#rrggbb) where
    the value is drawn on a map."""

    code: str
    zh: str
    colour: str | None = None


def read_rows(text: str) -> list[dict[str, str]]:
    """The rows of a CSV text with a header line (``#`` lines are comments)."""
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    return list(csv.DictReader(io.StringIO(body)))


def read_table(path: Path) -> list[dict[str, str]]:
    """The rows of the UTF-8 CSV file at ``path`` (see ``read_rows``)."""
    return read_rows(path.read_text("utf-8"))


def read_terms(rows: list[dict[str, str]]) -> dict[str, tuple[Term, ...]]:
    """Rows of ``vocabulary,code,zh`` as {vocabulary: its terms in the rows' order}."""
    vocabularies: dict[str, list[Term]] = {}
    for row in rows:
        vocabularies.setdefault(row["vocabulary"], []).append(Term(row["code"], row["zh"]))
    return {name: tuple(terms) for name, terms in vocabularies.items()}


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
