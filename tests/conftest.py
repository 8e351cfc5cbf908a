"""Fixtures: every test gets a fresh app on its own temporary store.

The shipped Guangdong data is imported once per test session into a template SQLite
file; each test copies that file (milliseconds) instead of importing again. Tests run
on real SQLite files, never mocks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from gazetteer import migrate
from gazetteer.store import Store

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> Path:
    """A migrated SQLite store with the shipped data imported (do not write to it)."""
    from gazetteer import importer

    path = tmp_path_factory.mktemp("template") / "seeded.sqlite"
    store = Store(f"sqlite:///{path}")
    migrate.upgrade(store)
    importer.import_shipped_data(store)
    with store.write() as conn:
        conn.exec_driver_sql("SELECT 1")
    with store.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    store.dispose()
    return path


@pytest.fixture
def store(seeded_template, tmp_path) -> Store:
    """A fresh store with the shipped Guangdong data, private to this test."""
    path = tmp_path / "gdgis.sqlite"
    shutil.copyfile(seeded_template, path)
    s = Store(f"sqlite:///{path}")
    yield s
    s.dispose()


@pytest.fixture
def empty_store(tmp_path) -> Store:
    """A migrated store with no data."""
    s = Store(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    migrate.upgrade(s)
    yield s
    s.dispose()


@pytest.fixture
def app(store, tmp_path):
    from webmap import create_app
    return create_app({"DATA_DIR": str(tmp_path), "SECRET_KEY": "test-secret-key"}, store=store)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
