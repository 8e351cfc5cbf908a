"""Civil dates from user input: the one parser every domain uses."""

from __future__ import annotations

import datetime as dt

from gazetteer.core.errors import InvalidInput


def parse_date(value, label: str, key: str | None = None) -> dt.date | None:
    """A date from a ``date``/``datetime`` or ISO ``YYYY-MM-DD`` text; None or '' gives None.

    Raises ``InvalidInput`` saying ``label`` (Chinese) for anything else, with ``key``
    (the request's own name for the value) as ``details.field``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value)
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        # Written right but no such day (2027-02-30): say that, not "the wrong format".
        shaped = len(text) == 10 and text[4] == text[7] == "-" and text.replace("-", "").isdigit()
        problem = "不是存在的日期" if shaped else "应为 YYYY-MM-DD 格式的日期"
        raise InvalidInput(
            f"{label}{problem}：“{text[:40]}”", details={"field": key} if key else None
        ) from None


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
        return aware_utc(value).astimezone(LOCAL_TZ).date()
    return value


def format_local_date(value) -> str:
    """YYYY-MM-DD in Asia/Shanghai, or "—" for no date: how pages and reports show dates."""
    day = local_date(value)
    return day.isoformat() if day else "—"


def format_local_time(value) -> str:
    """``YYYY-MM-DD HH:MM`` in Asia/Shanghai of an instant (a datetime, naive = UTC as
    stored, or ISO text with or without an offset), or "—" for none: how pages show when
    something happened (Beijing time, the time the offices keep)."""
    if value in (None, ""):
        return "—"
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return aware_utc(value).astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")


def date_as_known(value) -> str | None:
    """A date shown only as precisely as its source knows it: ``"1992"`` → ``1992年``,
    ``"1992-06"`` → ``1992年6月``, a full date (text or ``date``) as ``YYYY-MM-DD``;
    None for no date. A year-only source never becomes 1 January on a page."""
    if value in (None, ""):
        return None
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    if len(text) == 4 and text.isdigit():
        return f"{text}年"
    if len(text) == 7 and text[:4].isdigit() and text[5:].isdigit():
        return f"{text[:4]}年{int(text[5:])}月"
    return text


def aware_utc(value: dt.datetime) -> dt.datetime:
    """A stored instant with its time zone: stores without time zones (SQLite) give back
    naive datetimes that are UTC (every write is in UTC)."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def utc_iso(value) -> str | None:
    """A stored instant as ISO 8601 text with its offset. Stores without time zones
    (SQLite) give back naive datetimes that are UTC (every write is in UTC); None stays
    None. The JSON answers (``webmap.output.iso_value``) and the exports use this."""
    return None if value is None else aware_utc(value).isoformat()
