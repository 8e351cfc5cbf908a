"""Actors and a round plan for the boundaries tests.

The store with lines derived and the demonstration inventory is the ``bstore`` fixture
of ``tests/conftest.py`` (one template per session, copied for each test).
"""

from __future__ import annotations

from gazetteer.core.actors import Actor

OFFICER = Actor("officer1", frozenset({"officer"}))
INSPECTOR_A = Actor("inspector_a", frozenset({"inspector"}))
INSPECTOR_B = Actor("inspector_b", frozenset({"inspector"}))
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64  # enough of a PNG for the photo checks


def round_plan(line: dict, round_no: int = 4) -> dict:
    """A plan for ``line`` (a row with name and side codes): INSPECTOR_A signs for side A,
    INSPECTOR_B for side B."""
    return {
        "line": line["name"],
        "round_no": round_no,
        "plan": "全线实地察看；逐桩检查并以 RTK 复测坐标。",
        "planned_start": "2024-03-01",
        "planned_end": "2024-06-30",
        "teams": [
            {
                "side_code": line["side_a_code"],
                "organisation": "甲方联检组",
                "leader": "张工",
                "members": [INSPECTOR_A.username],
            },
            {
                "side_code": line["side_b_code"],
                "organisation": "乙方联检组",
                "leader": "李工",
                "members": [INSPECTOR_B.username],
            },
        ],
    }


OFFICER_B = Actor("officer_b", frozenset({"officer"}))


def register_staff(store, line: dict) -> None:
    """Accounts and staff profiles for a line: OFFICER and INSPECTOR_A work for side A,
    OFFICER_B and INSPECTOR_B for side B (created once; later calls change nothing)."""
    import sqlalchemy as sa

    from boundaries.staff import set_profile
    from gazetteer.core import accounts
    from gazetteer.core.account_tables import users

    people = (
        (OFFICER, line["side_a_code"], "张伟", "甲方民政局"),
        (INSPECTOR_A, line["side_a_code"], "王强", "甲方民政局"),
        (OFFICER_B, line["side_b_code"], "李娜", "乙方民政局"),
        (INSPECTOR_B, line["side_b_code"], "陈静", "乙方民政局"),
    )
    admin = Actor("system-test", frozenset({"admin"}))
    for actor, side, name, organisation in people:
        with store.read() as conn:
            exists = conn.execute(
                sa.select(users.c.id).where(users.c.username == actor.username)
            ).first()
        if exists is None:
            accounts.create_user(
                store,
                actor.username,
                "correct horse battery staple",
                sorted(actor.roles),
                hash_method="pbkdf2:sha256:1000",
            )
        set_profile(
            store,
            actor.username,
            {"full_name": name, "organisation": organisation, "side_code": side},
            admin,
        )


def inspection_record(
    round_id: int, found_state="intact", *, at=None, method=None, **fields
) -> dict:
    """An inspection in round ``round_id`` as a device sends it, under a new client-made id
    (a UUID). ``fields`` name the marker (``marker_id``, or ``marker``: its number) and add
    the rest (measurement_accuracy_m in metres, notes ...); ``at``: the measured position
    (lon, lat) in degrees, taken by ``method``."""
    import uuid

    record = {"id": str(uuid.uuid4()), "round_id": round_id, "found_state": found_state}
    if at is not None:
        record["measured_lon"], record["measured_lat"] = at
    if method is not None:
        record["measurement_method"] = method
    return {**record, **fields}


def start_round(store, line_name: str = "韶惠线") -> dict:
    """A round on ``line_name`` planned by OFFICER (``round_plan``) and started, with the
    line's staff registered; returns the round."""
    from boundaries import inspections
    from boundaries.lines import find_line

    line = find_line(store, line_name)
    register_staff(store, line)
    rnd = inspections.create_round(store, round_plan(line), OFFICER)
    inspections.start_round(store, rnd["id"], OFFICER)
    return rnd
