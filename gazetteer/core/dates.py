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


# Asia/Shanghai: UTC+8 with no daylight saving since 1991, so a fixed offset is exact for
# every date the system records (and needs no tz database on the server).
LOCAL_TZ = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")


def local_today() -> dt.date:
    """Today's date in Asia/Shanghai."""
    return dt.datetime.now(LOCAL_TZ).date()


def local_date(value) -> dt.date | None:
    """The Asia/Shanghai calendar date of a datetime (naive = UTC, as stored), a date, or
    ISO text; None for empty."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            return dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(LOCAL_TZ).date()
    return value


def format_local_date(value) -> str:
    """YYYY-MM-DD in Asia/Shanghai, or "—" for no date: how pages and reports show dates."""
    day = local_date(value)
    return day.isoformat() if day else "—"
