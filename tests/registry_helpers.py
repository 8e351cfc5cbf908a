"""Writing place records straight into the registry from tests, as another process (an
operator's command, a second worker) would: no workflow, no web request. Each change
takes effect on the civil date of ``now`` (a UTC instant)."""

from __future__ import annotations

import datetime as dt

from gazetteer import registry
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store

# A village in 番禺区 the shipped data does not hold: a name that is new wherever it appears.
LUHU = {"name": "鹭湖新村", "feature_class": "居民点", "division_code": "440113"}


def name_place(store: Store, fields: dict, actor: Actor, now: dt.datetime) -> int:
    """Register a new place with ``fields``; returns its id."""
    with store.write(actor=actor) as conn:
        return registry.create_place(conn, fields, effective_date=now.date(), actor=actor, now=now)


def rename_place(
    store: Store, place_id: int, new_name: str, actor: Actor, now: dt.datetime, reason="测试更名"
) -> int:
    """Rename ``place_id`` to ``new_name``; returns the successor record's id."""
    with store.write(actor=actor) as conn:
        return registry.rename_place(
            conn,
            place_id,
            {"name": new_name},
            effective_date=now.date(),
            reason=reason,
            actor=actor,
            now=now,
        )


def retire_place(store: Store, place_id: int, actor: Actor, now: dt.datetime, reason="测试销名"):
    with store.write(actor=actor) as conn:
        registry.retire_place(
            conn, place_id, effective_date=now.date(), reason=reason, actor=actor, now=now
        )
