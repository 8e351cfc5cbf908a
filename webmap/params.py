"""The raw request pieces a route reads besides its query string (which every operation
reads through its model, ``webmap.schemas.query_args``): the JSON body as a document and
the ``Idempotency-Key`` header."""

from __future__ import annotations

from flask import request

from gazetteer.core.errors import InvalidInput
from gazetteer.core.text import check_document_text, normalise_document_text


def idempotency_key() -> str | None:
    """The ``Idempotency-Key`` header of a create (checked by ``gazetteer.core.idempotency``)."""
    return request.headers.get("Idempotency-Key")


def json_body() -> dict:
    """The request body as a JSON object, every string NFC-normalised; anything else
    (or text with a lone surrogate) is a 400 with one message."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise InvalidInput("请求体应为 JSON 对象（Content-Type: application/json）")
    check_document_text(body)
    return normalise_document_text(body)
