"""The raw request pieces a route reads besides its query string (which every operation
reads through its model, ``webmap.schemas.query_args``): the JSON body as a document and
the ``Idempotency-Key`` header."""

from __future__ import annotations

from flask import request

from gazetteer.core.errors import InvalidInput
from gazetteer.core.idempotency import Replayed
from gazetteer.core.text import check_document_text, normalise_document_text
from webmap.field_titles import FIELD_TITLES_ZH


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header of a create (checked by ``gazetteer.core.idempotency``)."""
    return request.headers.get("Idempotency-Key")


def created_status(record: dict) -> int:
    """The status of a create's answer: 201 for a record made now, 200 for a retry answered
    with the record made the first time (``gazetteer.core.idempotency.Replayed``) — the one
    rule for every create, inspections and photos included (docs/security.md)."""
    return 200 if isinstance(record, Replayed) else 201


class RepeatedKey(dict):
    """What ``object_without_duplicate_keys`` makes of an object with a repeated key:
    ``path`` names it from the object down (``name``, then ``proposed.name`` once the
    enclosing object is read), since the parser reads inner objects first."""

    def __init__(self, path: str):
        super().__init__()
        self.path = path


def _repeated_in(value) -> str | None:
    """The path of a repeated key inside ``value`` (an object or an array), else None."""
    if isinstance(value, RepeatedKey):
        return value.path
    if isinstance(value, list):
        for index, item in enumerate(value):
            inner = _repeated_in(item)
            if inner is not None:
                return f"[{index}]" + ("" if inner.startswith("[") else ".") + inner
    return None


def object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are all different: ``{"name": "a", "name": "b"}`` is
    refused (``refuse_repeated_key`` on the whole document) naming the key by its path
    (``proposed.name``), since a parser would silently keep one of the two values
    (RFC 8259 leaves it open which) and store what the sender may not have meant."""
    obj: dict = {}
    for key, value in pairs:
        inner = _repeated_in(value)
        if inner is not None:
            return RepeatedKey(f"{key}{'' if inner.startswith('[') else '.'}{inner}")
        if key in obj:
            return RepeatedKey(key)
        obj[key] = value
    return obj


def refuse_repeated_key(document):
    """``document`` as parsed with ``object_without_duplicate_keys``; a 400 naming the
    repeated key's path if it holds one."""
    path = _repeated_in(document)
    if path is not None:
        raise InvalidInput(
            f"JSON 对象中字段 {path} 出现了不止一次：每个字段只能给一个值，未保存任何内容",
            details={"field": path, "reason": "duplicate_key"},
        )
    return document


def json_body() -> dict:
    """The request body as a JSON object, every string NFC-normalised; anything else
    (or text with a lone surrogate) is a 400 with one message."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（Content-Type: application/json）")
    check_document_text(body, labels=FIELD_TITLES_ZH)
    return normalise_document_text(body)
