"""Helpers for tests: a seeded store copy with lines derived and the demo inventory.

Deriving lines takes a few seconds, so a test module builds one template per module
(``store_templates.template(name, build_boundaries, base=seeded_template)``) and copies
it for each test (the same pattern as ``tests/conftest.py``, on SQLite or PostgreSQL).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from gazetteer.core.actors import Actor
from gazetteer.core.store import Store

OFFICER = Actor("officer1", frozenset({"officer"}))
INSPECTOR_A = Actor("inspector_a", frozenset({"inspector"}))
INSPECTOR_B = Actor("inspector_b", frozenset({"inspector"}))


def build_boundaries(store: Store) -> None:
    """Derive the boundary lines and generate the demo markers in a seeded ``store``."""
    from boundaries.demo import generate_demo_markers
    from boundaries.lines import rebuild_lines

    rebuild_lines(store)
    generate_demo_markers(store)


def build_boundaries_template(seeded: Path, target: Path) -> Path:
    """Copy the seeded SQLite store to ``target`` and ``build_boundaries`` in it."""
    shutil.copyfile(seeded, target)
    store = Store(f"sqlite:///{target}")
    build_boundaries(store)
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return target


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
