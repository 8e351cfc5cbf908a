"""Query-string parameters: the one place that turns request text into numbers.

Each raises ``InvalidInput`` with a Chinese message naming the parameter, so every
endpoint answers a bad parameter with the same 400 error shape.
"""

from __future__ import annotations

from flask import request

from gazetteer.core.errors import InvalidInput
from gazetteer.core.idempotency import Replayed
from gazetteer.core.text import check_document_text, normalise_document_text


def _number(name: str, default, convert, kind_zh: str, low=None, high=None, required=False):
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        if required:  # an empty value is missing, never 0
            raise InvalidInput(f"缺少参数 {name}", details={"field": name})
        return default
    try:
        value = convert(raw)
    except ValueError:
        raise InvalidInput(f"参数 {name} 应为{kind_zh}：{raw!r}", details={"field": name}) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidInput(
            f"参数 {name} 应为有限的{kind_zh}（不接受 NaN 或无穷大）：{raw!r}",
            details={"field": name},
        )
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = {(True, True): f"应在 {low} 到 {high} 之间", (True, False): f"应不小于 {low}"}
        raise InvalidInput(
            f"参数 {name} " + bounds.get((low is not None, high is not None), f"应不大于 {high}"),
            details={"field": name},
        )
    return value


def int_arg(
    name: str, default: int | None = None, low: int | None = None, high: int | None = None
) -> int | None:
    return _number(name, default, int, "整数", low, high)


def float_arg(
    name: str,
    default: float | None = None,
    low: float | None = None,
    high: float | None = None,
    *,
    required: bool = False,
) -> float | None:
    """The parameter as a float; ``required``: absent or empty is a 400 naming it."""
    return _number(name, default, float, "数字", low, high, required)


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
