"""Actors and a round plan for the boundaries tests.

The store with lines derived and the demonstration inventory is the ``bstore`` fixture
of ``tests/conftest.py`` (one template per session, copied for each test).
"""

from __future__ import annotations

from gazetteer.core.actors import Actor

OFFICER = Actor("officer1", frozenset({"officer"}))
INSPECTOR_A = Actor("inspector_a", frozenset({"inspector"}))
INSPECTOR_B = Actor("inspector_b", frozenset({"inspector"}))


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
