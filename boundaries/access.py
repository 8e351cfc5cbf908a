"""Who may read field data: inspection rounds, inspections, maintenance tasks, disputes,
marker photos and the reports and exports made of them.

Field records name the people who inspected and signed, carry their notes, and describe
disputed stretches of a boundary (争议隐患): staff roles only. The public reads published
lines, tri-junctions and markers (demonstration markers labelled as such) without their
inspection, task and photo history. The web layer applies this rule to every route that
serves field data (``webmap.boundaries_api``, ``webmap.boundaries_pages``).
"""

from __future__ import annotations

from gazetteer.core.actors import STAFF_ROLES, Actor, require_role

FIELD_DATA_READERS = STAFF_ROLES


def may_read_field_data(actor: Actor) -> bool:
    return actor.has_any(FIELD_DATA_READERS)


def require_field_data_reader(actor: Actor) -> None:
    """Raise ``Forbidden`` unless the actor holds a staff role."""
    require_role(actor, FIELD_DATA_READERS, "查看巡检、维护任务、争议和照片资料")
