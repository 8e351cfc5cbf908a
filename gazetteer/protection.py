"""The protection list (《地名管理条例》 Art. 25; Art. 10: names of important historical and
cultural value are generally not renamed).

Officers list a record with the value it has and the list or document that names it
(``protect_name``). A renaming or retirement of a listed name gets a ``protected.name``
warning at the compliance check, and its approval must record the protection measures
(``protection_measures``: signs, derived names, the old name kept in use …, as Art. 25 and
民政部令第71号 describe), which the workflow writes into the approval's event.
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer.core.actors import Actor, require_role
from gazetteer.core.errors import Conflict, InvalidInput, NotFound
from gazetteer.law_tables import protected_names
from gazetteer.registry import Clock, as_utc, jsonable, utcnow
from gazetteer.tables import places

SOURCE = "《地名管理条例》第十条、第二十五条（地名保护名录）"


def protect_name(store, actor: Actor, place_id: int, *, reason, source, clock: Clock = utcnow):
    """Put record ``place_id`` on the protection list (officers). Raises ``NotFound``,
    ``InvalidInput`` (reason and source required; already listed)."""
    require_role(actor, {"officer"}, "列入地名保护名录")
    reason = str(reason or "").strip() if isinstance(reason, str) else ""
    source = str(source or "").strip() if isinstance(source, str) else ""
    if not reason or not source:
        raise InvalidInput("请填写保护理由（历史文化价值）和依据（名录或文件）")
    if len(source) > 300 or len(reason) > 5000:
        raise InvalidInput("保护理由或依据过长")
    with store.write(actor=actor) as conn:
        if conn.execute(sa.select(places.c.id).where(places.c.id == place_id)).first() is None:
            raise NotFound(f"没有编号为 {place_id} 的地名记录")
        if protection_of(conn, place_id) is not None:
            raise Conflict("该地名已列入保护名录", details={"place_id": place_id})
        conn.execute(
            protected_names.insert().values(
                place_id=place_id,
                reason=reason,
                source=source,
                listed_by=actor.username,
                listed_at=clock(),
            )
        )
        return protection_of(conn, place_id)


def protection_of(conn, place_id: int | None) -> dict | None:
    """The listing of a record, or None."""
    if place_id is None:
        return None
    row = conn.execute(
        sa.select(protected_names).where(protected_names.c.place_id == place_id)
    ).first()
    if row is None:
        return None
    return {
        "place_id": row.place_id,
        "reason": row.reason,
        "source": row.source,
        "listed_by": row.listed_by,
        "listed_at": jsonable(as_utc(row.listed_at)),
    }


def protection_finding(conn, place_id: int | None, name: str) -> list[dict]:
    """The checker-shaped warning for renaming or retiring a listed name."""
    listed = protection_of(conn, place_id)
    if listed is None:
        return []
    return [
        {
            "rule_id": "protected.name",
            "severity": "warning",
            "message": (
                f"“{name}”已列入地名保护名录（{listed['source']}：{listed['reason']}），"
                "一般不得更名；确需更名或销名的，批准时须记录保护措施"
            ),
            "source": SOURCE,
            "conflicts": [],
        }
    ]
