"""How the app writes responses: dates in ISO 8601 and text that always encodes.

- Dates: a ``date`` is written ``YYYY-MM-DD`` and a ``datetime`` as an ISO 8601 instant with
  its offset (naive values are UTC: SQLite hands UTC instants back without a zone). Flask's
  default would write HTTP dates (``Wed, 30 Jun 2027 00:00:00 GMT``), unlike the rest of the API.
- Numbers: NaN and Infinity are not JSON; a row stored with one (before coordinates were
  checked) is written as null, never as a bare ``Infinity`` that breaks the client's parser
  (orjson does the same in ``json_bytes``).
- Reading: a request body whose object repeats a key is refused (400 naming the key),
  since which of the two values a parser keeps is left open (RFC 8259).
- Text: a row stored before text was checked at the door may hold a lone surrogate, which
  UTF-8 cannot encode; one such row must not turn a whole list into a 500. The response
  carries U+FFFD in its place and the log says so (``gdgis admin repair-text`` fixes the
  stored rows). The same holds for pages (``GazetteerResponse``). Bytes that are not UTF-8
  are read with U+FFFD by the store itself (SQLite TEXT is not checked), and a BLOB stored in
  a text column (a manual ``sqlite3`` edit) is written as its text, likewise
  (``stored_bytes_as_text``).
- Control characters (``gazetteer.core.text.forbidden_character``: ESC, BEL, NUL, DEL, C1,
  bidi controls) stored before the check are written as U+FFFD too, in JSON answers and in
  pages: a client printing a name to a terminal must not receive an escape sequence.
  Tab and line breaks stay (multi-line text may hold them).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import logging
import math
import re

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

from gazetteer.core.dates import utc_iso
from gazetteer.core.geojson_output import GeometryJSON
from gazetteer.core.text import (
    REPLACEMENT_CHARACTER,
    control_characters,
    has_lone_surrogate,
    replace_surrogates,
    stored_bytes_as_text,
)
from webmap.params import object_without_duplicate_keys, refuse_repeated_key

log = logging.getLogger(__name__)


def iso_value(value):
    """``value`` as ISO 8601 text when it is a date or datetime, else unchanged."""
    if isinstance(value, dt.datetime):
        return utc_iso(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# A control character as a JSON writer leaves it: raw (DEL, C1, the bidi controls are not
# escaped) or as an escape (``\u001b``, ``\b``, ``\f``; with ASCII output any of them). An
# escape counts only after an even run of backslashes: ``\\u001b`` is an escaped backslash
# followed by the text "u001b" (as in the OpenAPI document's text patterns).
_CONTROLS = control_characters()
_RAW_CONTROL = re.compile(f"[{re.escape(_CONTROLS)}]")
_ESCAPED_CONTROL = (
    r"(?<!\\)((?:\\\\)*)(?:\\[bf]|"
    + "|".join(re.escape(json.dumps(c)[1:-1]) for c in _CONTROLS if json.dumps(c)[1] == "\\")
    + ")"
)
_ESCAPED_CONTROL_IN_JSON = re.compile(_ESCAPED_CONTROL, re.IGNORECASE)
_WARN_CONTROL = "response held a control character (written as U+FFFD); run gdgis admin repair-text"


def _holds_control(text: str) -> bool:
    """Whether JSON ``text`` holds a control character, raw or escaped. Two searches, not
    one pattern with both: the raw ones are one character class, and an escape needs a
    backslash, which most answers do not hold. (One alternation, tried at every position,
    took 100 µs for a 2.5 KB search answer, and 330 µs on its UTF-8 bytes: more than
    writing the JSON.)"""
    return bool(_RAW_CONTROL.search(text)) or (
        "\\" in text and bool(_ESCAPED_CONTROL_IN_JSON.search(text))
    )


def _json_without_controls(text: str) -> str:
    """JSON ``text`` with each control character in its strings written as U+FFFD."""
    if not _holds_control(text):
        return text
    log.warning(_WARN_CONTROL)
    text = _RAW_CONTROL.sub(REPLACEMENT_CHARACTER, text)
    return _ESCAPED_CONTROL_IN_JSON.sub(r"\1" + REPLACEMENT_CHARACTER, text)


def _json_bytes_without_controls(data: bytes) -> bytes:
    """``_json_without_controls`` for UTF-8 JSON (encoded again only when it held one)."""
    text = data.decode("utf-8")
    return data if not _holds_control(text) else _json_without_controls(text).encode("utf-8")


class GazetteerJSONProvider(DefaultJSONProvider):
    """The app's JSON: how answers are written (above) and how request bodies are read
    (``loads``: Flask parses every ``request.get_json()`` with it)."""

    ensure_ascii = False

    def loads(self, s, **kwargs):
        """A request body; an object with a repeated key is refused naming it
        (``webmap.params.object_without_duplicate_keys``)."""
        kwargs.setdefault("object_pairs_hook", object_without_duplicate_keys)
        return refuse_repeated_key(super().loads(s, **kwargs))

    @staticmethod
    def default(o):
        if isinstance(o, dt.date):
            return iso_value(o)
        if isinstance(o, bytes):  # a BLOB stored in a text column (module docstring)
            return stored_bytes_as_text(o, binary=True)
        return DefaultJSONProvider.default(o)

    def response(self, *args, **kwargs) -> Response:
        """``jsonify``'s answer, written by :func:`json_bytes` (orjson: a search answer's
        JSON took a fifth of the request's time with the standard library's writer). In
        debug mode, and for what orjson cannot write (an integer beyond 64 bits), the
        standard writer below, as Flask would."""
        if self._app.debug:
            return super().response(*args, **kwargs)  # indented, for people reading it
        try:
            data = json_bytes(self._prepare_response_obj(args, kwargs), sort_keys=self.sort_keys)
        except (orjson.JSONEncodeError, TypeError):
            return super().response(*args, **kwargs)
        return self._app.response_class(data + b"\n", mimetype=self.mimetype)

    def dumps(self, obj, **kwargs) -> str:
        try:
            text = super().dumps(obj, allow_nan=False, **kwargs)
        except ValueError:  # NaN or Infinity: not JSON (RFC 8259); no client could read it
            log.warning(
                "response held a non-finite number, written as null; run gdgis admin repair-text"
            )
            text = super().dumps(_finite(obj), allow_nan=False, **kwargs)
        if has_lone_surrogate(text):
            log.warning("response held invalid text (lone surrogate); run gdgis admin repair-text")
            text = replace_surrogates(text)
        return text


def _finite(value):
    """``value`` with NaN and ±Infinity replaced by None (JSON null), as orjson writes them
    in ``json_bytes``."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


class GazetteerResponse(Response):
    """Every response: in pages and other text a lone surrogate becomes U+FFFD instead of
    a UnicodeEncodeError (a 500 for the whole page); in any text or JSON a stored control
    character becomes U+FFFD (module docstring)."""

    def set_data(self, value) -> None:
        if isinstance(value, str) and has_lone_surrogate(value):
            log.warning("page held invalid text (lone surrogate); run gdgis admin repair-text")
            value = replace_surrogates(value)
        # Control characters: here, not in ``GazetteerJSONProvider.dumps``, which also
        # writes request bodies (Flask's test client), so that a client may still send one
        # and be refused (400) by name.
        if isinstance(value, str) and self.mimetype and self.mimetype.endswith("json"):
            value = _json_without_controls(value)
        elif isinstance(value, str) and _RAW_CONTROL.search(value):
            log.warning(_WARN_CONTROL)
            value = _RAW_CONTROL.sub(REPLACEMENT_CHARACTER, value)
        super().set_data(value)


_ORJSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


def _orjson_default(value):
    if isinstance(value, GeometryJSON):
        return orjson.Fragment(value.text)  # RFC 7946 text made once (geojson_output)
    if isinstance(value, decimal.Decimal):
        return str(value)  # as Flask's provider writes it
    if isinstance(value, bytes):  # a BLOB stored in a text column (module docstring)
        return stored_bytes_as_text(value, binary=True)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _repair_text(value):
    if isinstance(value, str):
        return replace_surrogates(value)
    if isinstance(value, dict):
        return {_repair_text(k): _repair_text(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_repair_text(v) for v in value]
    return value


def json_bytes(document, *, sort_keys: bool = False) -> bytes:
    """``document`` as UTF-8 JSON, fast (orjson): every JSON answer (the OGC API's feature
    pages, and ``jsonify``'s through ``GazetteerJSONProvider.response``, ``sort_keys`` as
    Flask sorts them). Dates as ISO 8601 (naive datetimes are UTC), ``GeometryJSON`` copied
    in verbatim, and — as everywhere else — a lone surrogate written as U+FFFD, not a 500."""
    option = _ORJSON_OPTIONS | (orjson.OPT_SORT_KEYS if sort_keys else 0)
    try:
        data = orjson.dumps(document, default=_orjson_default, option=option)
    except orjson.JSONEncodeError as exc:
        if "surrogates" not in str(exc):
            raise
        log.warning("response held invalid text (lone surrogate); run gdgis admin repair-text")
        data = orjson.dumps(_repair_text(document), default=_orjson_default, option=option)
    return _json_bytes_without_controls(data)
