"""Parameter types shared by the ``gdgis`` commands.

``RECORD_ID`` is the one type of every argument that names a stored record by its number
(a token, a round): ids are positive and fit a 64-bit integer column, so 0, a negative
number or ``99999999999999999999`` is a usage error (exit 2) before any store is opened,
never an ``OverflowError`` from the database driver. ``PORT`` and ``count`` bound the other
numbers. All of them take ASCII digits only: Python's ``int()`` also reads full-width
``９``, Arabic-Indic ``١٢`` and surrounding spaces, and an operator who typed those did not
mean record 9 or 12.
"""

from __future__ import annotations

import re

import click

STORE_ID_MAX = 2**63 - 1  # the largest value a BIGINT / SQLite INTEGER column holds
_ASCII_DIGITS = re.compile(r"[0-9]+")


class WholeNumber(click.ParamType):
    """A whole number from ``low`` to ``high`` written in ASCII digits, nothing else."""

    def __init__(self, low: int, high: int, *, name: str, noun: str):
        self.low, self.high, self.name, self.noun = low, high, name, noun

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and _ASCII_DIGITS.fullmatch(value):
            number = int(value, 10)
        else:
            self.fail(f"{value!r} 不是{self.noun}（应为 ASCII 数字 0-9 写的整数）", param, ctx)
        if not self.low <= number <= self.high:
            self.fail(
                f"{value} 不是有效的{self.noun}（应在 {self.low} 到 {self.high} 之间）", param, ctx
            )
        return number

    def __repr__(self) -> str:
        return f"WholeNumber({self.low}, {self.high})"


def count(low: int, high: int) -> WholeNumber:
    """A bounded count option (--threads, --workers, --seed)."""
    return WholeNumber(low, high, name="integer", noun="数目")


RECORD_ID = WholeNumber(1, STORE_ID_MAX, name="id", noun="编号")
PORT = WholeNumber(1, 65535, name="port", noun="端口号")
