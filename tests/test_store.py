"""The store: migrations, WAL, transactions that never half-apply, ids never reused."""

import pytest
import sqlalchemy as sa
from shapely.geometry import Point

from boundaries.schema import SCHEMA
from gazetteer.core import migrate
from gazetteer.core.settings import SettingsError, load_settings
from gazetteer.core.store import Store
from gazetteer.tables import divisions, meta, places


def test_migrations_create_schema_and_are_idempotent(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'a.sqlite'}")
    assert migrate.current_revisions(store) == set()
    migrate.upgrade(store, SCHEMA)
    migrate.upgrade(store, SCHEMA)
    assert migrate.is_up_to_date(store, SCHEMA)
    names = set(sa.inspect(store.engine).get_table_names())
    assert {"divisions", "places", "meta", "alembic_version"} <= names


def test_sqlite_runs_in_wal_mode_with_foreign_keys(empty_store):
    if empty_store.dialect != "sqlite":
        pytest.skip(
            "SQLite pragmas; PostgreSQL always enforces foreign keys (tests/test_postgres.py)"
        )
    with empty_store.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_data_dir_setting_moves_the_store(tmp_path, monkeypatch):
    monkeypatch.setenv("GDGIS_DATA_DIR", str(tmp_path / "elsewhere"))
    settings = load_settings()
    assert settings["DATABASE_URL"] == f"sqlite:///{tmp_path / 'elsewhere' / 'gdgis.sqlite'}"


def test_bad_setting_is_refused_at_start():
    with pytest.raises(SettingsError, match="MAX_UPLOAD_MB"):
        load_settings({"MAX_UPLOAD_MB": "-3"})
    with pytest.raises(SettingsError, match="unknown"):
        load_settings({"NO_SUCH_SETTING": 1})


def test_failed_write_leaves_nothing_behind(empty_store):
    # (A migrated store may hold meta rows of its own, e.g. PostgreSQL's search-key marker.)
    with empty_store.read() as conn:
        before = conn.execute(sa.select(meta.c.key, meta.c.value)).all()
    with pytest.raises(RuntimeError):
        with empty_store.write() as conn:
            conn.execute(meta.insert().values(key="a", value="1"))
            raise RuntimeError("crash in the middle")
    with empty_store.read() as conn:
        assert conn.execute(sa.select(meta.c.key, meta.c.value)).all() == before


def test_geometry_round_trips_and_ids_are_never_reused(empty_store):
    with empty_store.write() as conn:
        conn.execute(
            divisions.insert().values(
                code="440000", name="广东省", level="province", path="440000", in_guangdong=True
            )
        )
        first = conn.execute(
            places.insert().values(name="甲", feature_class="居民点", geom=Point(113.3245, 23.1064))
        ).inserted_primary_key[0]
    with empty_store.read() as conn:
        geom = conn.execute(sa.select(places.c.geom).where(places.c.id == first)).scalar()
    assert geom.equals(Point(113.3245, 23.1064))
    with empty_store.write() as conn:
        conn.execute(places.delete().where(places.c.id == first))
        second = conn.execute(
            places.insert().values(name="乙", feature_class="居民点")
        ).inserted_primary_key[0]
    assert second > first


def test_geometry_column_rejects_non_geometries(empty_store):
    with pytest.raises(sa.exc.StatementError):
        with empty_store.write() as conn:
            conn.execute(
                places.insert().values(name="丙", feature_class="居民点", geom="POINT(1 2)")
            )


def test_sqlite_commits_are_synced_to_disk(tmp_path):
    """Issue 13: acknowledged writes survive a power loss (synchronous=FULL, not NORMAL)."""
    from gazetteer.core.store import Store

    store = Store(f"sqlite:///{tmp_path / 's.sqlite'}")
    try:
        with store.read() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
    finally:
        store.dispose()
