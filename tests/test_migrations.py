"""Migrations on a store that holds data: the CHECK-constraint renames (gazetteer 0035,
boundaries b0005) keep every row, index and trigger, and the renamed checks still refuse
a bad value. Runs on SQLite and on PostgreSQL + PostGIS."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from boundaries.schema import SCHEMA
from gazetteer.core import migrate


def _snapshot(store) -> dict:
    """Per table: row count, index names, trigger names and CHECK-constraint names."""
    with store.engine.connect() as conn:
        inspector = sa.inspect(conn)
        if conn.dialect.name == "postgresql":
            trigger_rows = conn.execute(
                sa.text(
                    "SELECT c.relname, t.tgname FROM pg_trigger t "
                    "JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal"
                )
            )
        else:
            trigger_rows = conn.execute(
                sa.text("SELECT tbl_name, name FROM sqlite_master WHERE type = 'trigger'")
            )
        triggers: dict[str, set] = {}
        for table, name in trigger_rows:
            triggers.setdefault(table, set()).add(name)
        snapshot = {}
        for table in inspector.get_table_names():
            if table == "spatial_ref_sys":
                continue
            snapshot[table] = {
                "rows": conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one(),
                "indexes": {i["name"] for i in inspector.get_indexes(table)},
                "triggers": triggers.get(table, set()),
                "checks": {c["name"] for c in inspector.get_check_constraints(table)},
            }
        return snapshot


def _downgrade(store, revision: str) -> None:
    config = SCHEMA.config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_renaming_the_check_constraints_keeps_the_data(bstore):
    before = _snapshot(bstore)
    assert before["markers"]["rows"] > 0 and before["places"]["rows"] > 0
    assert before["audit_log"]["rows"] > 0
    _downgrade(bstore, "b0004")
    _downgrade(bstore, "0034")
    doubled = _snapshot(bstore)
    assert "ck_markers_ck_markers_state" in doubled["markers"]["checks"]
    assert "ck_places_ck_places_status" in doubled["places"]["checks"]

    migrate.upgrade(bstore, SCHEMA)
    after = _snapshot(bstore)
    assert after == before
    assert after["markers"]["checks"] == {"ck_markers_state", "ck_markers_type"}
    assert after["division_change_records"]["checks"] == {"ck_division_change_records_change_type"}
    with pytest.raises(sa.exc.IntegrityError, match="ck_markers_state"):
        with bstore.engine.begin() as conn:
            conn.execute(sa.text("UPDATE markers SET state = 'obscured'"))
