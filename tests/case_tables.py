"""Case tables kept as data: ``tests/data/*.csv``, one case a row under a header row.

The naming-rule cases, the romanization cases and the role matrix are domain knowledge
an officer can read and extend in a spreadsheet without touching the test code; the
tests load them here and parametrize over the rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

CASE_DIR = Path(__file__).resolve().parent / "data"


def case_rows(filename: str) -> list[dict[str, str]]:
    """The rows of ``tests/data/<filename>`` as dicts keyed by its header (cells stripped)."""
    with (CASE_DIR / filename).open(encoding="utf-8", newline="") as fh:
        return [{k: v.strip() for k, v in row.items()} for row in csv.DictReader(fh)]


def cases(filename: str, *columns: str) -> list[tuple[str, ...]]:
    """The ``columns`` of every row of ``tests/data/<filename>``, in file order, as tuples for
    ``pytest.mark.parametrize`` (pytest's ids are built from the values, as for inline tuples)."""
    return [tuple(row[c] for c in columns) for row in case_rows(filename)]
