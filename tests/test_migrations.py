"""Migrations on a store that holds data: the CHECK-constraint renames (gazetteer 0035,
boundaries b0005) keep every row, index and trigger, and the renamed checks still refuse
a bad value. Runs on SQLite and on PostgreSQL + PostGIS."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from boundary_helpers import INSPECTOR_A, PNG, start_round
from click.testing import CliRunner
from helpers import make_app

from boundaries import inspections as inspection_service
from boundaries import tasks as task_service
from boundaries import vocabulary
from boundaries.markers import list_markers
from boundaries.photos import Photo, store_photo
from boundaries.schema import SCHEMA, marker_states_problem
from gazetteer.core import migrate
from webmap.cli import main


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


def test_renaming_the_check_constraints_keeps_the_data(bstore):
    before = _snapshot(bstore)
    assert before["markers"]["rows"] > 0 and before["places"]["rows"] > 0
    assert before["audit_log"]["rows"] > 0
    migrate.downgrade(bstore, SCHEMA, "b0004")
    migrate.downgrade(bstore, SCHEMA, "0034")
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


# ---- a table rebuild on a store whose other tables refer to the rebuilt one -------------

WIDEN_STATES = '''"""Test only: the marker state 'submerged' (widens the state checks)."""

from alembic import op

from gazetteer.core import migration_support as support

revision = "b9901"
down_revision = {head!r}
branch_labels = None
depends_on = None

STATES = {states!r}
FOUND_STATES = {found!r}


def _checks(states, found):
    support.replace_check_constraint(
        op, "markers", "state", support.allowed_values("state", states), ("id",)
    )
    support.replace_check_constraint(
        op, "inspections", "found_state", support.allowed_values("found_state", found), ("id",)
    )


def upgrade():
    _checks(STATES + ("submerged",), FOUND_STATES + ("submerged",))


def downgrade():
    _checks(STATES, FOUND_STATES)
'''

ORPHAN_MAKER = '''"""Test only: a migration that deletes a marker an inspection refers to."""

from alembic import op

revision = "b9902"
down_revision = {head!r}
branch_labels = None
depends_on = None


def upgrade():
    op.execute("DELETE FROM markers WHERE id = {marker_id}")


def downgrade():
    pass
'''


def _boundaries_head() -> str:
    return next(h for h in SCHEMA.head_revisions() if h.startswith("b"))


def _schema_with(tmp_path, name: str, text: str) -> migrate.Schema:
    """The app's schema plus one migration file (in a folder of its own)."""
    folder = tmp_path / "extra_migrations"
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.py").write_text(text, "utf-8")
    return SCHEMA + migrate.Schema((folder,))


def _referenced_marker(store, tmp_path) -> dict:
    """A marker that an inspection (found damaged: it opens a repair task) and a photo of
    that inspection refer to."""
    rnd = start_round(store)
    marker = list_markers(store, line_id=rnd["line_id"])[0]
    record, _ = inspection_service.record_inspection(
        store,
        {
            "id": str(uuid.uuid4()),
            "round_id": rnd["id"],
            "marker_id": marker["id"],
            "found_state": "damaged",
        },
        INSPECTOR_A,
    )
    store_photo(store, tmp_path, marker["id"], Photo(PNG, inspection_id=record["id"]), INSPECTOR_A)
    assert task_service.list_tasks(store, round_id=rnd["id"])
    return {"round": rnd, "marker": marker, "inspection": record}


def _foreign_keys_hold(store) -> None:
    """Foreign keys are enforced again on the pooled connections, and no row dangles."""
    with pytest.raises(sa.exc.IntegrityError):
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE marker_photos SET marker_id = 999999"))
    if store.dialect == "sqlite":
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []


def test_widening_the_state_check_keeps_rows_that_refer_to_markers(bstore, tmp_path, monkeypatch):
    referred = _referenced_marker(bstore, tmp_path)
    text = WIDEN_STATES.format(
        head=_boundaries_head(),
        states=tuple(vocabulary.MARKER_STATES),
        found=tuple(vocabulary.FOUND_STATES),
    )
    schema = _schema_with(tmp_path, "b9901_submerged", text)
    before = _snapshot(bstore)
    assert all(before[t]["rows"] for t in ("inspections", "maintenance_tasks", "marker_photos"))

    migrate.upgrade(bstore, schema)
    assert migrate.current_revisions(bstore) == SCHEMA.head_revisions() - {_boundaries_head()} | {
        "b9901"
    }
    after = _snapshot(bstore)
    assert after.pop("alembic_version") == before.pop("alembic_version")
    assert after == before  # rows, indexes, audit triggers and constraint names
    _foreign_keys_hold(bstore)

    # the new state is accepted, end to end, once the vocabulary has its row
    monkeypatch.setattr(
        vocabulary,
        "MARKER_STATE_TERMS",
        (*vocabulary.MARKER_STATE_TERMS, vocabulary.MarkerState("submerged", "淹没", "#0277bd")),
    )
    assert marker_states_problem(bstore) is None
    other = list_markers(bstore, line_id=referred["round"]["line_id"])[1]
    record, created = inspection_service.record_inspection(
        bstore,
        {
            "id": str(uuid.uuid4()),
            "round_id": referred["round"]["id"],
            "marker_id": other["id"],
            "found_state": "submerged",
        },
        INSPECTOR_A,
    )
    assert created and record["assessed_state"] == "submerged"
    with bstore.engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE markers SET state = 'submerged' WHERE id = :id"), {"id": other["id"]}
        )
    with pytest.raises(sa.exc.IntegrityError, match="ck_markers_state"):
        with bstore.engine.begin() as conn:
            conn.execute(sa.text("UPDATE markers SET state = 'drowned'"))

    # taking the state out again is refused while a record holds it, and changes nothing
    kept = _snapshot(bstore)
    with pytest.raises(sa.exc.IntegrityError):
        migrate.downgrade(bstore, schema, _boundaries_head())
    assert "b9901" in migrate.current_revisions(bstore)
    assert _snapshot(bstore) == kept
    _foreign_keys_hold(bstore)

    # the code without that migration file (a branch switched back): status says so, and
    # upgrade refuses in one line instead of failing inside Alembic
    url = ["--database-url", bstore.url]
    status = CliRunner().invoke(main, [*url, "db", "status"])
    assert status.exit_code == 0
    assert status.output.splitlines()[-1].startswith(
        "refused: 存储处于修订 b9901，本代码中没有该迁移文件"
    )
    upgrade = CliRunner().invoke(main, [*url, "db", "upgrade"])
    assert upgrade.exit_code == 2 and upgrade.output.count("\n") == 1
    assert "b9901" in upgrade.output and "Traceback" not in upgrade.output
    assert _snapshot(bstore) == kept


def test_a_migration_leaving_a_dangling_reference_is_rolled_back(bstore, tmp_path):
    referred = _referenced_marker(bstore, tmp_path)
    text = ORPHAN_MAKER.format(head=_boundaries_head(), marker_id=referred["marker"]["id"])
    schema = _schema_with(tmp_path, "b9902_orphans", text)
    before = _snapshot(bstore)
    # SQLite: the runner's foreign_key_check refuses; PostgreSQL: the foreign key itself
    refusal = migrate.SchemaMismatch if bstore.dialect == "sqlite" else sa.exc.IntegrityError
    with pytest.raises(refusal, match="markers"):
        migrate.upgrade(bstore, schema)
    assert _snapshot(bstore) == before
    assert migrate.current_revisions(bstore) == SCHEMA.head_revisions()
    _foreign_keys_hold(bstore)


def test_a_state_shipped_without_its_migration_is_named_at_startup(bstore, tmp_path, monkeypatch):
    monkeypatch.setattr(
        vocabulary,
        "MARKER_STATE_TERMS",
        (*vocabulary.MARKER_STATE_TERMS, vocabulary.MarkerState("submerged", "淹没", "#0277bd")),
    )
    line = marker_states_problem(bstore)
    assert line is not None and "\n" not in line
    assert "submerged" in line and "ck_markers_state, ck_inspections_found_state" in line
    assert f"添加修订 {_boundaries_head()} 的迁移" in line
    with pytest.raises(migrate.SchemaMismatch) as refused:
        make_app(bstore, tmp_path)
    assert str(refused.value) == line
    status = CliRunner().invoke(main, ["--database-url", bstore.url, "db", "status"])
    assert status.exit_code == 0 and f"refused: {line}" in status.output.splitlines()

    # an inspector recording it meanwhile is not told someone else entered the record
    rnd = start_round(bstore)
    marker = list_markers(bstore, line_id=rnd["line_id"])[0]
    with pytest.raises(sa.exc.IntegrityError, match="found_state"):
        inspection_service.record_inspection(
            bstore,
            {
                "id": str(uuid.uuid4()),
                "round_id": rnd["id"],
                "marker_id": marker["id"],
                "found_state": "submerged",
            },
            INSPECTOR_A,
        )
    with bstore.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM inspections")).scalar_one() == 0

    # with the migration in the code but not yet run, the advice is to upgrade; once run,
    # the app starts
    text = WIDEN_STATES.format(
        head=_boundaries_head(),
        states=tuple(vocabulary.MARKER_STATES),
        found=tuple(vocabulary.FOUND_STATES),
    )
    schema = _schema_with(tmp_path, "b9901_submerged", text)
    assert "gdgis db upgrade" in marker_states_problem(bstore, schema)
    migrate.upgrade(bstore, schema)
    assert marker_states_problem(bstore, schema) is None
    make_app(bstore, tmp_path)
