"""Who is acting: the actor passed to every domain operation.

Authentication (issue 8) decides who the actor is; the domain only checks roles. An
actor with no roles is the public. Roles are explicit: ``admin`` manages accounts and does
not stand in for the workflow roles, so separation of duties cannot be bypassed by it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gazetteer.core.errors import Forbidden

ROLE_NAMES_ZH = {
    "clerk": "经办人",
    "officer": "审核人员",
    "approver": "审批人",
    "inspector": "检查人员",
    "admin": "管理员",
}
ROLES = tuple(ROLE_NAMES_ZH)
# Roles that may see the working side of the registry (drafts, proposals under review).
STAFF_ROLES = frozenset({"clerk", "officer", "approver", "inspector", "admin"})


@dataclass(frozen=True)
class Actor:
    """A user as the domain sees them: a name for the record, a set of roles and the
    office they work in (None: they act alone; clerks of one office share its proposals)."""

    username: str
    roles: frozenset[str] = field(default_factory=frozenset)
    office: str | None = None

    def __post_init__(self):
        unknown = set(self.roles) - set(ROLES)
        if unknown:
            raise ValueError(f"unknown role(s): {', '.join(sorted(unknown))}")
        object.__setattr__(self, "roles", frozenset(self.roles))

    @property
    def is_public(self) -> bool:
        return not self.roles

    @property
    def is_staff(self) -> bool:
        return bool(self.roles & STAFF_ROLES)

    def has_any(self, roles) -> bool:
        return bool(self.roles & frozenset(roles))


PUBLIC = Actor("anonymous")


def require_role(actor: Actor, roles, action_zh: str) -> None:
    """Raise ``Forbidden`` unless the actor holds one of ``roles``."""
    if not actor.has_any(roles):
        needed = "、".join(ROLE_NAMES_ZH[r] for r in sorted(roles))
        raise Forbidden(
            f"无权{action_zh}：需要{needed}角色", details={"required_roles": sorted(roles)}
        )
