"""Dispute-risk records (争议隐患) along a line: 平安边界 screening of land, minerals,
forest, water and tidal-flat risks. open -> monitoring -> resolved (or open -> resolved);
resolving needs the resolution. Positions are CGCS2000 lon/lat degrees."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from boundaries.lines import line_named_in
from boundaries.tables import (
    DISPUTE_CATEGORIES,
    DISPUTE_RISKS,
    boundary_lines,
    disputes,
)
from boundaries.vocabulary import (
    DISPUTE_CATEGORY_TERMS,
    DISPUTE_STATUS_TERMS,
    labels,
    require_code,
)
from gazetteer.core import idempotency
from gazetteer.core.actors import require_role
from gazetteer.core.errors import IllegalTransition, InvalidInput
from gazetteer.core.geojson_input import optional_point
from gazetteer.core.store import Store, read_all, read_by_id
from gazetteer.core.text import form_text

CATEGORY_NAMES = labels(DISPUTE_CATEGORY_TERMS)
STATUS_NAMES = labels(DISPUTE_STATUS_TERMS)
_NEXT = {"open": {"monitoring", "resolved"}, "monitoring": {"resolved"}}
_ROLES = {"officer", "inspector"}


def create_dispute(store: Store, data: dict, actor, *, idempotency_key: str | None = None) -> dict:
    """Record a dispute risk (争议隐患). ``idempotency_key``: a retry of the same request
    returns the record made the first time; the same key with different content raises
    ``Conflict`` carrying it (``gazetteer.core.idempotency``)."""
    require_role(actor, _ROLES, "登记争议隐患")
    title = form_text(data.get("title"), "争议隐患标题", 200, field="title", single_line=True)
    category, risk = data.get("category") or "other", data.get("risk") or "medium"
    if category not in DISPUTE_CATEGORIES:
        choices = "、".join(f"{CATEGORY_NAMES[c]}（{c}）" for c in DISPUTE_CATEGORIES)
        raise InvalidInput(
            f"隐患类别不可识别：{category!r}（可选 {choices}）", details={"field": "category"}
        )
    if risk not in DISPUTE_RISKS:
        raise InvalidInput(f"风险等级应为 {'、'.join(DISPUTE_RISKS)}", details={"field": "risk"})
    lon, lat = optional_point(data, "争议隐患位置")

    def insert(conn) -> int:
        line = line_named_in(conn, data)
        return conn.execute(
            disputes.insert().values(
                line_id=line.id,
                title=title,
                category=category,
                risk=risk,
                status="open",
                lon=lon,
                lat=lat,
                description=data.get("description"),
                reported_by=actor.username,
                reported_at=dt.datetime.now(dt.UTC),
                is_demonstration=bool(data.get("is_demonstration", False)),
            )
        ).inserted_primary_key[0]

    return idempotency.create_once(
        store, actor, "dispute", idempotency_key, data, insert, lambda i: get_dispute(store, i)
    )


def _with_line_name():
    return sa.select(disputes, boundary_lines.c.name.label("line_name")).join(
        boundary_lines, boundary_lines.c.id == disputes.c.line_id
    )


def get_dispute(store: Store, dispute_id: int) -> dict:
    missing = f"争议隐患不存在：{dispute_id}"
    return read_by_id(
        store, disputes, dispute_id, missing, field="dispute_id", query=_with_line_name()
    )


def list_disputes(
    store: Store, *, line_id: int | None = None, status: str | None = None
) -> list[dict]:
    return read_all(
        store,
        _with_line_name(),
        disputes.c.id,
        where={disputes.c.line_id: line_id, disputes.c.status: status},
    )


def update_dispute(
    store: Store, dispute_id: int, status: str, actor, *, resolution: str | None = None
) -> dict:
    require_role(actor, _ROLES, "更新争议隐患")
    require_code(status, DISPUTE_STATUS_TERMS, field="status", what_zh="隐患状态")
    current = get_dispute(store, dispute_id)
    if status not in _NEXT.get(current["status"], set()):
        raise IllegalTransition(
            f"隐患状态为{STATUS_NAMES[current['status']]}，不能改为{STATUS_NAMES.get(status, status)}"
        )
    if status == "resolved" and not (resolution or "").strip():
        raise InvalidInput(
            "化解争议隐患须写明处置结果（resolution）", details={"field": "resolution"}
        )
    with store.write(actor=actor) as conn:
        done = conn.execute(
            disputes.update()
            .where(disputes.c.id == dispute_id, disputes.c.status == current["status"])
            .values(
                status=status,
                resolution=resolution or current["resolution"],
                updated_at=dt.datetime.now(dt.UTC),
            )
        )
        if done.rowcount == 0:
            raise IllegalTransition("隐患状态已被他人修改，请刷新后重试")
    return get_dispute(store, dispute_id)
