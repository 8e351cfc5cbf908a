"""Text from users: the one check every text input passes before it is stored.

Stored text must be valid Unicode scalar values (no lone surrogates such as ``"\\ud800"``,
which JSON's ``\\u`` escapes can carry but UTF-8 cannot encode, so a row holding one breaks
every response that includes it) and in Normalisation Form C, so that the same name typed
on two keyboards compares equal. Whether full-width forms are allowed in a name is for the
naming rules (``gazetteer.rules``) to decide, not for this module: NFC leaves them alone.

``find_invalid_text`` and ``repair_text`` serve the operator command that finds and repairs
rows stored before this check existed (``gdgis admin repair-text``).
"""

from __future__ import annotations

import re
import unicodedata

from gazetteer.core.errors import InvalidInput

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT_CHARACTER = "\ufffd"


def has_lone_surrogate(text: str) -> bool:
    """True when ``text`` holds a UTF-16 surrogate code point (never a valid character)."""
    return _SURROGATE.search(text) is not None


def replace_surrogates(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD."""
    return _SURROGATE.sub(REPLACEMENT_CHARACTER, text)


def clean_text(value: str, field: str) -> str:
    """``value`` NFC-normalised. Raises ``InvalidInput`` naming ``field`` when it holds a
    lone surrogate or a NUL (neither is ever part of a name or a note)."""
    if has_lone_surrogate(value):
        raise InvalidInput(
            f"{field} 含有无效的 Unicode 字符（孤立代理项）", details={"field": field}
        )
    if "\x00" in value:
        raise InvalidInput(f"{field} 含有空字符（NUL）", details={"field": field})
    return unicodedata.normalize("NFC", value)


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


def check_document_text(document, where: str = "请求体") -> None:
    """Raise ``InvalidInput`` naming the path of the first string (key or value) in a JSON
    document that holds a lone surrogate. Iterative: depth is bounded by the JSON parser."""
    stack = [(document, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if has_lone_surrogate(item):
                raise InvalidInput(
                    f"{path} 含有无效的 Unicode 字符（孤立代理项）", details={"field": path}
                )
        elif isinstance(item, dict):
            for key, value in item.items():
                child = f"{path}.{key}" if path != where else str(key)
                stack.append((key, child))
                stack.append((value, child))
        elif isinstance(item, list):
            stack.extend((value, f"{path}[{i}]") for i, value in enumerate(item))


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
    """What is wrong with a stored value ('surrogate', 'not_nfc') or None; JSON values
    (dicts, lists) are searched through."""
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
    if any(not unicodedata.is_normalized("NFC", s) for s in strings):
        return "not_nfc"
    return None


def repair_text(value):
    """A stored value made valid: lone surrogates become U+FFFD (the replacement
    character, so a reader sees that something was lost), then NFC. JSON values are
    repaired throughout."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", _SURROGATE.sub(REPLACEMENT_CHARACTER, value))
    if isinstance(value, dict):
        return {repair_text(k): repair_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repair_text(v) for v in value]
    return value
