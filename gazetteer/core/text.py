"""Text from users: the one check every text input passes before it is stored.

Stored text must be free of control characters (C0 controls other than tab, line feed and
carriage return, DEL, the C1 controls, and the bidirectional embedding, override and isolate
controls, which make text display in another order than it is stored), single-line fields
(names, offices, titles) also of tab and line breaks, so that no value can forge a row in a
list or a table; it must be valid Unicode scalar values (no lone surrogates such as ``"\\ud800"``,
which JSON's ``\\u`` escapes can carry but UTF-8 cannot encode, so a row holding one breaks
every response that includes it) and in Normalisation Form C, so that the same name typed
on two keyboards compares equal. Whether full-width forms are allowed in a name is for the
naming rules (``gazetteer.rules``) to decide, not for this module: NFC leaves them alone.

``find_invalid_text`` and ``repair_text`` serve the operator command that finds and repairs
rows stored before this check existed (``gdgis admin repair-text``).
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Mapping

from gazetteer.core.errors import InvalidInput

log = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"
# The one rule for characters text may not hold (see the module docstring). Multi-line text
# (notes, reasons, opinions) may hold tab, LF and CR; single-line text may not, nor the
# Unicode line and paragraph separators.
_CONTROL_RANGES = (
    (0x00, 0x08),  # C0 below tab
    (0x0B, 0x0C),  # vertical tab, form feed
    (0x0E, 0x1F),  # the rest of C0 (ESC starts terminal escape sequences)
    (0x7F, 0x9F),  # DEL and C1
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2066, 0x2069),  # bidi isolates
)
_CONTROLS = "".join(f"\\u{low:04x}-\\u{high:04x}" for low, high in _CONTROL_RANGES)
_FORBIDDEN = re.compile(f"[{_CONTROLS}]")
# The same rule as a JSON Schema pattern, for the request schemas and the OpenAPI document
# (``webmap.schemas``): a client learns from the document which text is refused.
TEXT_PATTERN = f"^[^{_CONTROLS}]*$"
_LINE_BREAKS = "\\t\\n\\r\\u2028\\u2029"  # and tab: a cell of a row in a list or table
_FORBIDDEN_IN_ONE_LINE = re.compile(f"[{_CONTROLS}{_LINE_BREAKS}]")
# Single-line text (names, titles, offices) as JSON Schema patterns: any, and filled in
# (holding at least one character that is not a space).
LINE_PATTERN = f"^[^{_CONTROLS}{_LINE_BREAKS}]*$"
# Text that must hold something: at least one character that is not a space.
FILLED_TEXT_PATTERN = f"^[^{_CONTROLS}]*[^{_CONTROLS}\\s][^{_CONTROLS}]*$"
FILLED_LINE_PATTERN = (
    f"^[^{_CONTROLS}{_LINE_BREAKS}]*[^{_CONTROLS}{_LINE_BREAKS}\\s][^{_CONTROLS}{_LINE_BREAKS}]*$"
)


_CANONICAL_NUMBER = re.compile(r"0|[1-9][0-9]*")
STORE_INT_MAX = 2**63 - 1  # the largest integer a record id can be (signed 64-bit)
# The largest record id on both stores: ids are PostgreSQL ``integer`` columns (SQLite's
# never come near). A larger id names no record; sent to PostgreSQL it would fail the query.
RECORD_ID_MAX = 2**31 - 1


def canonical_number(text: str) -> int | None:
    """``text`` as a whole number from 0 to ``STORE_INT_MAX`` when it is written the one way
    an id or a sequence number is: ASCII digits without leading zeros. None otherwise:
    Python's ``int()`` also reads ``٣`` (Arabic-Indic), ``３`` (full-width), ``003`` and
    ``+3``, so one record would answer to many addresses."""
    # More digits than the largest id has is beyond it (and int() refuses 4,301 or more).
    if not _CANONICAL_NUMBER.fullmatch(text) or len(text) > len(str(STORE_INT_MAX)):
        return None
    number = int(text)
    return number if number <= STORE_INT_MAX else None


def control_characters() -> str:
    """Every character text may not hold (``forbidden_character`` in multi-line text), in
    code point order: for writers that must find them in their own output
    (``webmap.output``)."""
    return "".join(chr(c) for low, high in _CONTROL_RANGES for c in range(low, high + 1))


def forbidden_character(text: str, *, single_line: bool = False) -> str | None:
    """The first character ``text`` may not hold, as ``U+001B``; None when it is clean.
    Lone surrogates are reported by ``has_lone_surrogate``."""
    found = (_FORBIDDEN_IN_ONE_LINE if single_line else _FORBIDDEN).search(text)
    return f"U+{ord(found.group()):04X}" if found else None


def _shown(label: str | None, field: str) -> str:
    """An input as a message names it: its Chinese label with its key, 姓名（full_name)."""
    return f"{label}（{field}）" if label and label != field else field


def _refuse_forbidden(
    text: str,
    field: str,
    *,
    label: str | None = None,
    single_line: bool = False,
    outcome: str = "，未保存",
) -> None:
    shown = _shown(label, field)
    if has_lone_surrogate(text):
        raise InvalidInput(
            f"{shown} 含有无效的 Unicode 字符（孤立代理项）", details={"field": field}
        )
    bad = forbidden_character(text, single_line=single_line)
    if bad == "U+0000":
        raise InvalidInput(f"{shown} 含有空字符（NUL）", details={"field": field})
    if bad in ("U+000A", "U+000D", "U+2028", "U+2029"):
        raise InvalidInput(
            f"{shown} 应为单行文字，不能含换行（{bad}）{outcome}", details={"field": field}
        )
    if bad:
        kind = "制表符" if bad == "U+0009" else "控制字符"
        raise InvalidInput(
            f"{shown} 含有不允许的{kind}（{bad}）{outcome}", details={"field": field}
        )


def displayable(text) -> str:
    """``text`` for one cell of a terminal table: every character that ``forbidden_character``
    refuses in single-line text is shown as an escape (``\\n``, ``\\x1b``), so a value
    stored before the check cannot forge a row or recolour the terminal."""
    return _FORBIDDEN_IN_ONE_LINE.sub(
        lambda m: m.group().encode("unicode_escape").decode("ascii"), str(text)
    )


def stored_bytes_as_text(raw: bytes, *, binary: bool = False) -> str:
    """Bytes read from a text column as text, for reading only. SQLite does not check that
    TEXT is UTF-8, and a column may even hold a BLOB: an old import or a manual ``sqlite3``
    edit (``CAST(x'e8bf' AS TEXT)``, ``x'e4ba91'``) can store either, and one such row made
    every list including it answer 500. Each undecodable byte becomes U+FFFD, so the row
    stays in its list visibly damaged instead of vanishing from a register (or failing it);
    the log says so, and ``gdgis admin repair-text`` rewrites the stored value. ``binary``:
    the value was a BLOB (always logged, even when its bytes decode)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        log.warning(
            "stored text is not valid UTF-8 (read with U+FFFD); run gdgis admin repair-text"
        )
        return raw.decode("utf-8", errors="replace")
    if binary:
        log.warning("a text field held binary data (read as text); run gdgis admin repair-text")
    return text


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a UTF-16 surrogate code point (never a valid character)."""
    return _SURROGATE.search(text) is not None


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def clean_text(
    value: str, field: str, *, label: str | None = None, single_line: bool = False
) -> str:
    """``value`` NFC-normalised. Raises ``InvalidInput`` naming ``field`` (the input's key,
    ``details.field``; ``label``, its Chinese name, goes in the message) when it holds a
    lone surrogate or a control character (``forbidden_character``); ``single_line`` (names,
    offices, titles): also a tab or a line break."""
    _refuse_forbidden(value, field, label=label, single_line=single_line)
    return unicodedata.normalize("NFC", value)


def form_text(
    value,
    label: str,
    max_chars: int,
    *,
    field: str,
    required: bool = True,
    single_line: bool = False,
) -> str | None:
    """A text field as a person filled it in: ``value`` (a string; a number is taken as its
    digits) passed through ``clean_text`` and stripped, at most ``max_chars`` characters;
    None when empty and not ``required``. Raises ``InvalidInput`` when it is missing, too
    long, not text, or holds a lone surrogate or a control character; ``single_line`` (a
    name, an organisation, a title): also a tab or a line break. The error names ``field``
    (the request's key, ``details.field``); ``label`` is its Chinese name in the message."""
    where, shown = {"field": field}, _shown(label, field)
    if value is None:
        text = ""
    elif isinstance(value, str):
        text = clean_text(value, field, label=label, single_line=single_line).strip()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        text = str(value)
    else:
        raise InvalidInput(f"{shown}应为文字", details=where)
    if required and not text:
        raise InvalidInput(f"请填写{shown}", details=where)
    if len(text) > max_chars:
        raise InvalidInput(
            f"{shown}过长（最多 {max_chars} 字）",
            details={**where, "max_chars": max_chars},
        )
    return text or None


def optional_choice(value, allowed, label: str) -> str | None:
    """``value`` when it is one of ``allowed`` (coded values, e.g. a list filter's); None
    when no value is given (None or ""). Raises ``InvalidInput`` naming ``label`` and the
    choices otherwise."""
    if value in (None, ""):
        return None
    choices = tuple(allowed)
    if value not in choices:
        raise InvalidInput(f"{label}应为 {'、'.join(choices)} 之一，收到“{value}”")
    return value


def json_leaves(document, where: str = "请求体"):
    """Every key and scalar value of a JSON document with its path (``proposed.name``,
    ``teams[0].members[1]``; ``where`` for the document itself), depth first in document
    order. Iterative: depth is bounded by the JSON parser."""
    stack = [(document, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, dict):
            for key, value in reversed(item.items()):
                child = f"{path}.{key}" if path != where else str(key)
                stack.append((value, child))
                stack.append((key, child))
        elif isinstance(item, list):
            stack.extend((value, f"{path}[{i}]") for i, value in reversed(list(enumerate(item))))
        else:
            yield path, item


def check_parameter_text(name: str, value: str, *, writes: bool, label: str | None = None) -> None:
    """A URL's path part or query parameter ``name`` (its own name, ``key``, ``source``)
    with ``value``: refused like stored text (a lone surrogate or a control character,
    ``forbidden_character``), naming ``name`` (after its Chinese ``label``: 查询词（q）);
    the name itself is checked too. ``writes``: the request would change something (its
    refusal says nothing was saved)."""
    outcome = "，未保存" if writes else ""
    _refuse_forbidden(name, name, outcome=outcome)
    _refuse_forbidden(value, name, label=label, outcome=outcome)


def check_document_text(
    document, where: str = "请求体", labels: Mapping[str, str] | None = None
) -> None:
    """Raise ``InvalidInput`` naming the path of the first string (key or value) in a JSON
    document that holds a lone surrogate or a control character (multi-line text is allowed
    here; the domain asks single-line fields for one line). ``labels``: Chinese labels of
    fields by their names, said before the path (检查方案（plan）; a nested field by its own
    name's label: 名称（proposed.name）)."""
    for path, item in json_leaves(document, where):
        if isinstance(item, str):
            _refuse_forbidden(item, path, label=_path_label(path, labels or {}))


def _path_label(path: str, labels: Mapping[str, str]) -> str | None:
    """The label of ``path``'s last named step (``proposed.name`` → ``labels["name"]``)."""
    steps = [step for step in re.split(r"[.\[\]]+", path) if step and not step.isdigit()]
    return labels.get(path) or (labels.get(steps[-1]) if steps else None)


def normalise_document_text(document):
    """A JSON document with every string NFC-normalised (keys included)."""
    if isinstance(document, str):
        return unicodedata.normalize("NFC", document)
    if isinstance(document, dict):
        return {normalise_document_text(k): normalise_document_text(v) for k, v in document.items()}
    if isinstance(document, list):
        return [normalise_document_text(v) for v in document]
    return document


def text_problem(value) -> str | None:
    """What is wrong with a stored value ('surrogate', 'control', 'not_nfc') or None; JSON
    values (dicts, lists) are searched through."""
    strings = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            strings.append(item)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    if any(has_lone_surrogate(s) for s in strings):
        return "surrogate"
    if any(forbidden_character(s) for s in strings):
        return "control"
    if any(not unicodedata.is_normalized("NFC", s) for s in strings):
        return "not_nfc"
    return None


def repair_text(value):
    """A stored value made valid: lone surrogates and control characters become U+FFFD
    (the replacement character, so a reader sees that something was lost), then NFC. JSON
    values are repaired throughout."""
    if isinstance(value, str):
        value = _FORBIDDEN.sub(REPLACEMENT_CHARACTER, value)
        return unicodedata.normalize("NFC", _SURROGATE.sub(REPLACEMENT_CHARACTER, value))
    if isinstance(value, dict):
        return {repair_text(k): repair_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repair_text(v) for v in value]
    return value
