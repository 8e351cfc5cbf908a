"""Parameter types shared by the ``gdgis`` commands.

``RECORD_ID`` is the one type of every argument that names a stored record by its number
(a token, a round): ids are positive and fit a 64-bit integer column, so 0, a negative
number or ``99999999999999999999`` is a usage error (exit 2) before any store is opened,
never an ``OverflowError`` from the database driver.
"""

from __future__ import annotations

import click

STORE_ID_MAX = 2**63 - 1  # the largest value a BIGINT / SQLite INTEGER column holds


class RecordId(click.ParamType):
    name = "id"

    def convert(self, value, param, ctx) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        else:
            try:
                number = int(str(value).strip(), 10)
            except ValueError:
                self.fail(f"{value!r} 不是编号（应为正整数）", param, ctx)
        if not 1 <= number <= STORE_ID_MAX:
            self.fail(f"{value} 不是有效的编号（应在 1 到 {STORE_ID_MAX} 之间）", param, ctx)
        return number


RECORD_ID = RecordId()
