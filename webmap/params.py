"""The raw request pieces a route reads besides its query string (which every operation
reads through its model, ``webmap.schemas.query_args``): the JSON body as a document and
the ``Idempotency-Key`` header."""

from __future__ import annotations

from flask import request

from gazetteer.core.errors import InvalidInput
from gazetteer.core.idempotency import Replayed
from gazetteer.core.text import check_document_text, normalise_document_text


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header of a create (checked by ``gazetteer.core.idempotency``)."""
    return request.headers.get("Idempotency-Key")


def created_status(record: dict) -> int:
    """The status of a create's answer: 201 for a record made now, 200 for a retry answered
    with the record made the first time (``gazetteer.core.idempotency.Replayed``) — the one
    rule for every create, inspections and photos included (docs/security.md)."""
    return 200 if isinstance(record, Replayed) else 201


def object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object whose keys are all different: ``{"name": "a", "name": "b"}`` is
    refused naming the key, since a parser would silently keep one of the two values
    (RFC 8259 leaves it open which) and store what the sender may not have meant."""
    obj: dict = {}
    for key, value in pairs:
        if key in obj:
            raise InvalidInput(
                f"JSON 对象中字段 {key} 出现了不止一次：每个字段只能给一个值，未保存任何内容",
                details={"field": key, "reason": "duplicate_key"},
            )
        obj[key] = value
    return obj


def json_body() -> dict:
    """The request body as a JSON object, every string NFC-normalised; anything else
    (or text with a lone surrogate) is a 400 with one message."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（Content-Type: application/json）")
    check_document_text(body)
    return normalise_document_text(body)
