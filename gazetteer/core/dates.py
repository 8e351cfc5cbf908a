"""Civil dates from user input: the one parser every domain uses."""

from __future__ import annotations

import datetime as dt

from gazetteer.core.errors import InvalidInput


def parse_date(value, field: str) -> dt.date | None:
    """A date from a ``date``/``datetime`` or ISO ``YYYY-MM-DD`` text; None or '' gives None.

    Raises ``InvalidInput`` naming ``field`` (Chinese) for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(f"{field} 应为 YYYY-MM-DD 格式的日期：{value!r}") from None
