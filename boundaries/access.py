"""Who may read field data: inspection rounds, inspections, maintenance tasks, disputes,
marker photos and the reports and exports made of them.

Field records name the people who inspected and signed, carry their notes, and describe
disputed stretches of a boundary (争议隐患): staff roles only. The public reads published
lines, tri-junctions and markers (demonstration markers labelled as such) without their
inspection, task and photo history. The web layer applies this rule to every route that
serves field data (``webmap.boundaries_api``, ``webmap.boundaries_pages``).
"""

from __future__ import annotations

from gazetteer.core.actors import PUBLIC, STAFF_ROLES, Actor, require_role
from gazetteer.core.errors import Unauthenticated

FIELD_DATA_READERS = STAFF_ROLES


def may_read_field_data(actor: Actor) -> bool:
    return actor.has_any(FIELD_DATA_READERS)


def require_field_data_reader(actor: Actor) -> None:
    """Raise ``Unauthenticated`` (401) for a visitor who has not signed in and
    ``Forbidden`` (403) for a signed-in account without a staff role."""
    if actor == PUBLIC:
        raise Unauthenticated(
            "查看巡检、维护任务、争议和照片资料需要登录（/auth/login）或 API 令牌"
        )
    require_role(actor, FIELD_DATA_READERS, "查看巡检、维护任务、争议和照片资料")
