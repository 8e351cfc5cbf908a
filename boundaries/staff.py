"""Who works for which side: staff profiles of accounts (full name, organisation, side).

Every line has two owners (the adjacent governments), and what one side does must not be
done for it by the other: a round's team for a side is made of that side's accounts,
relocation and retirement are approved by an officer of each side, and a repair is closed
with the adjacent side's witness, who is an account of that side or a recorded external
person (name, organisation, role). A profile ties an account to the division it works
for; pages show the person's name and organisation instead of the username.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from boundaries.tables import staff_profiles
from gazetteer.core.account_tables import users
from gazetteer.core.actors import require_role
from gazetteer.core.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from gazetteer.core.store import Store
from gazetteer.core.text import form_text
from gazetteer.divisions import division_exists
from gazetteer.tables import divisions

MANAGING_ROLES = {"officer", "admin"}


def set_profile(store: Store, username: str, data: dict, actor) -> dict:
    """Create or replace ``username``'s profile: full_name, organisation, job_title, side_code
    (a division code). An admin manages every profile. An officer manages only the
    profiles of their own side (accounts without a profile, or already of that side) and
    only within it: no officer moves anyone, themselves included, to another side, since
    the side decides who may approve for it (docs/security.md)."""
    require_role(actor, MANAGING_ROLES, "登记联检人员")
    values = {
        "full_name": form_text(
            data.get("full_name"), "姓名", 100, field="full_name", single_line=True
        ),
        "organisation": form_text(
            data.get("organisation"), "单位", 200, field="organisation", single_line=True
        ),
        "job_title": form_text(
            data.get("job_title"), "职务", 100, field="job_title", required=False, single_line=True
        ),
        "side_code": form_text(
            data.get("side_code"), "所属一方（区划代码）", 12, field="side_code", single_line=True
        ),
    }
    with store.write(actor=actor) as conn:
        if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is None:
            raise NotFound(f"用户不存在：{username}", details={"field": "username"})
        if not division_exists(conn, values["side_code"]):
            raise InvalidInput(
                f"区划代码不存在：{values['side_code']}", details={"field": "side_code"}
            )
        if "admin" not in actor.roles:
            _officer_may_set(conn, actor, username, values["side_code"])
        exists = conn.execute(
            sa.select(staff_profiles.c.username).where(staff_profiles.c.username == username)
        ).first()
        if exists:
            conn.execute(
                staff_profiles.update()
                .where(staff_profiles.c.username == username)
                .values(**values)
            )
        else:
            conn.execute(staff_profiles.insert().values(username=username, **values))
    return profiles(store, [username])[username]


def _officer_may_set(conn, actor, username: str, side_code: str) -> None:
    """Forbidden unless an officer keeps ``username`` on the officer's own side."""
    own = side_of(conn, actor.username)
    if own is None:
        raise Forbidden("未登记所属一方的科员不能登记联检人员（请管理员登记）")
    current = side_of(conn, username)
    if current not in (None, own) or side_code != own:
        raise Forbidden(
            f"科员只能登记本方（{side_name(conn, own)}）人员，不能把人员改到另一方；"
            "跨方调整请管理员办理",
            details={"actor_side": own, "side_code": side_code, "current_side": current},
        )


def profiles(store: Store, usernames) -> dict[str, dict]:
    """Profiles by username (with the side's division name and the account's roles);
    accounts without a profile are left out."""
    names = sorted({u for u in usernames if u})
    if not names:
        return {}
    with store.read() as conn:
        rows = conn.execute(
            sa.select(staff_profiles, divisions.c.name.label("side_name"), users.c.roles)
            .join(divisions, divisions.c.code == staff_profiles.c.side_code)
            .join(users, users.c.username == staff_profiles.c.username)
            .where(staff_profiles.c.username.in_(names))
        )
        return {r.username: _row(r) for r in rows}


def list_staff(store: Store, side_codes=None, role: str | None = None) -> list[dict]:
    """Active accounts with a profile, optionally of some sides and holding ``role``,
    ordered by side and name."""
    query = (
        sa.select(staff_profiles, divisions.c.name.label("side_name"), users.c.roles)
        .join(divisions, divisions.c.code == staff_profiles.c.side_code)
        .join(users, users.c.username == staff_profiles.c.username)
        .where(users.c.active.is_(True))
        .order_by(staff_profiles.c.side_code, staff_profiles.c.full_name)
    )
    if side_codes:
        query = query.where(staff_profiles.c.side_code.in_(list(side_codes)))
    with store.read() as conn:
        rows = [_row(r) for r in conn.execute(query)]
    return [r for r in rows if role is None or role in r["roles"]]


def _row(r) -> dict:
    row = r._asdict()
    row["roles"] = [x for x in (row["roles"] or "").split(",") if x]
    row["label"] = person_label(row)
    return row


def person_label(profile: dict | None, username: str | None = None) -> str:
    """How a person is named on pages and reports: 张伟（韶关市民政局）; the username only
    when the account has no profile."""
    if not profile:
        return username or "—"
    return f"{profile['full_name']}（{profile['organisation']}）"


def labels(store: Store, usernames) -> dict[str, str]:
    """``person_label`` of each of ``usernames`` (their profiles read at once), by
    username; an account without a profile is named by its username."""
    people = profiles(store, usernames)
    return {u: person_label(people.get(u), u) for u in usernames if u}


def label_of(store: Store, username: str) -> str:
    """``person_label`` of one account, its profile read from ``store``."""
    return labels(store, [username])[username]


def signer_label(conn, username: str) -> str:
    """``username`` as a signed record keeps them (``person_label`` of their profile now):
    stored with the signature, so that a later change of the profile leaves it as signed."""
    row = conn.execute(
        sa.select(staff_profiles.c.full_name, staff_profiles.c.organisation).where(
            staff_profiles.c.username == username
        )
    ).first()
    return person_label(row._asdict() if row else None, username)


def side_of(conn, username: str) -> str | None:
    """The side (division code) the account works for, or None without a profile."""
    return conn.execute(
        sa.select(staff_profiles.c.side_code).where(staff_profiles.c.username == username)
    ).scalar()


def side_name(conn, code: str | None) -> str:
    """A side as refusals name it: 韶关市, not 440200 (the code when it is not a division)."""
    if not code:
        return "—"
    name = conn.execute(sa.select(divisions.c.name).where(divisions.c.code == code)).scalar()
    return name or code


def display_name(conn, username: str) -> str:
    """A person as refusals name them: the full name from their profile, else the username."""
    name = conn.execute(
        sa.select(staff_profiles.c.full_name).where(staff_profiles.c.username == username)
    ).scalar()
    return name or username


def require_side(conn, actor, side_code: str | tuple[str, ...], action_zh: str) -> None:
    """Forbidden unless ``actor`` works for ``side_code`` (their profile says so); given
    several codes (a line's two sides), for one of them."""
    wanted = (side_code,) if isinstance(side_code, str) else tuple(side_code)
    side = side_of(conn, actor.username)
    who = display_name(conn, actor.username)
    if side is None:
        raise Forbidden(f"{who} 未登记所属一方，不能{action_zh}（请管理员登记联检人员）")
    if side not in wanted:
        sides = "或".join(side_name(conn, c) for c in wanted)
        raise Forbidden(
            f"只有{sides}一方的人员可以{action_zh}（{who} 属于{side_name(conn, side)}一方）",
            details={
                "side_code": wanted[0] if len(wanted) == 1 else list(wanted),
                "actor_side": side,
            },
        )


def sign_off_side(
    conn,
    row,
    side_code: str,
    actor,
    *,
    columns: str,
    action_zh: str,
    authorise: Callable[[], None],
    once: bool,
) -> str:
    """Which side, 'a' or 'b', ``actor`` signs off for on ``row`` (a record of a line with
    ``side_a_code``, ``side_b_code`` and the sign-off columns ``{columns}_a_by`` and
    ``{columns}_b_by``): the inspection records both teams sign and the relocations both
    sides' officers approve. Checked in this order, nothing written:

    * ``side_code`` is one of the line's two sides (InvalidInput);
    * ``authorise()`` lets the actor act for that side (it raises Forbidden);
    * with ``once``, that side has not signed off yet (IllegalTransition);
    * the actor has not signed off for the other side (IllegalTransition): one person never
      speaks for both governments."""
    if side_code not in (row.side_a_code, row.side_b_code):
        raise InvalidInput(
            f"{action_zh}方应为界线两侧之一：{row.side_a_code} 或 {row.side_b_code}",
            details={"field": "side_code"},
        )
    authorise()
    side, other = ("a", "b") if side_code == row.side_a_code else ("b", "a")
    if once and getattr(row, f"{columns}_{side}_by"):
        raise IllegalTransition(f"{side_name(conn, side_code)}一方已{action_zh}此记录")
    if getattr(row, f"{columns}_{other}_by") == actor.username:
        raise IllegalTransition(f"同一人不能代表双方{action_zh}")
    return side
