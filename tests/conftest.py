"""Fixtures: every test gets a fresh app on its own temporary store.

The shipped Guangdong data is imported once per test session into a template store;
each test gets a private copy of it instead of importing again. On SQLite (the default)
the template is a file and a copy is a file copy into ``tmp_path`` (milliseconds). When
``GDGIS_TEST_DATABASE_URL`` names a PostgreSQL + PostGIS server (see
``scripts/ci_postgres.sh``), templates are databases and each test gets
``CREATE DATABASE … TEMPLATE …``, dropped after the test. Tests run on real stores,
never mocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from helpers import make_app

from boundaries.schema import SCHEMA
from gazetteer.core import migrate
from gazetteer.core.ratelimit import stop_scheduled_syncs
from gazetteer.core.store import Store

ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("GDGIS_TEST_DATABASE_URL") or None

Build = Callable[[Store], None]


class SQLiteTemplates:
    """Templates are SQLite files under ``root``; copies are file copies."""

    dialect = "sqlite"

    def __init__(self, root: Path):
        self.root = root

    def template(self, name: str, build: Build | None = None, base: Path | None = None) -> Path:
        """A store file migrated (or copied from ``base``) and then changed by ``build``."""
        path = self.root / f"{name}.sqlite"
        if base is not None:
            shutil.copyfile(base, path)
        store = Store(f"sqlite:///{path}")
        if base is None:
            migrate.upgrade(store, SCHEMA)
        if build is not None:
            build(store)
        with store.engine.connect() as conn:
            # Fold the WAL into the main file so that copying the one file copies everything.
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        store.dispose()
        return path

    @contextlib.contextmanager
    def copy(self, template: Path, directory: Path) -> Iterator[Store]:
        path = directory / f"{template.stem}-copy.sqlite"
        n = 1
        while path.exists():
            n += 1
            path = directory / f"{template.stem}-copy{n}.sqlite"
        shutil.copyfile(template, path)
        store = Store(f"sqlite:///{path}")
        try:
            yield store
        finally:
            stop_scheduled_syncs()  # the test's apps' rate-limit syncs: their store goes
            store.dispose()

    def close(self) -> None:
        pass


class PostgresTemplates:
    """Templates are databases on the server of ``url``; copies are
    ``CREATE DATABASE copy TEMPLATE template`` (a file-level copy on the server), dropped
    after use. Every database this session makes carries the prefix ``gdgis_t<pid>_``."""

    dialect = "postgresql"

    def __init__(self, url: str):
        self.url = sa.engine.make_url(url)
        # AUTOCOMMIT: CREATE/DROP DATABASE cannot run inside a transaction block.
        self.admin = sa.create_engine(
            self.url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool
        )
        self.prefix = f"gdgis_t{os.getpid()}_"
        self.counter = itertools.count(1)
        self._drop_leftovers()

    def _url(self, database: str) -> str:
        return self.url.set(database=database).render_as_string(hide_password=False)

    def _execute(self, sql: str) -> None:
        with self.admin.connect() as conn:
            conn.exec_driver_sql(sql)

    def _databases(self, pattern: str) -> list[str]:
        with self.admin.connect() as conn:
            return list(
                conn.execute(
                    sa.text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": pattern}
                ).scalars()
            )

    def _drop_leftovers(self) -> None:
        """Drop databases left by earlier sessions that were killed (their pid is gone)."""
        for name in self._databases("gdgis\\_t%\\_%"):
            pid = name[len("gdgis_t") :].split("_", 1)[0]
            if pid.isdigit() and not _process_alive(int(pid)):
                self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def template(self, name: str, build: Build | None = None, base: str | None = None) -> str:
        database = f"{self.prefix}{name}"
        self._execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._execute(f'CREATE DATABASE "{database}"' + (f' TEMPLATE "{base}"' if base else ""))
        store = Store(self._url(database))
        if base is None:
            migrate.upgrade(store, SCHEMA)
        if build is not None:
            build(store)
        # A template must have no open connections while it is copied.
        store.dispose()
        return database

    @contextlib.contextmanager
    def copy(self, template: str, directory: Path) -> Iterator[Store]:
        database = f"{self.prefix}c{next(self.counter)}"
        self._execute(f'CREATE DATABASE "{database}" TEMPLATE "{template}"')
        store = Store(self._url(database))
        try:
            yield store
        finally:
            stop_scheduled_syncs()  # the test's apps' rate-limit syncs: their store goes
            store.dispose()
            # FORCE: a test that leaked a connection (a second Store on the same URL)
            # must not leave the database behind.
            self._execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def close(self) -> None:
        for name in self._databases(self.prefix.replace("_", "\\_") + "%"):
            self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.admin.dispose()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory):
    """Makes template stores and private copies of them, on SQLite or on PostgreSQL."""
    if TEST_DATABASE_URL:
        templates = PostgresTemplates(TEST_DATABASE_URL)
    else:
        templates = SQLiteTemplates(tmp_path_factory.mktemp("template"))
    yield templates
    templates.close()


@pytest.fixture(scope="session")
def seeded_template(store_templates):
    """A migrated template store with the shipped data imported (do not write to it)."""
    from gazetteer import importer

    return store_templates.template("seeded", importer.import_shipped_data)


@pytest.fixture(scope="session")
def empty_template(store_templates):
    """A migrated template store with no data."""
    return store_templates.template("empty")


@pytest.fixture
def store(store_templates, seeded_template, tmp_path) -> Store:
    """A fresh store with the shipped Guangdong data, private to this test."""
    with store_templates.copy(seeded_template, tmp_path) as s:
        yield s


@pytest.fixture
def empty_store(store_templates, empty_template, tmp_path) -> Store:
    """A migrated store with no data, private to this test."""
    with store_templates.copy(empty_template, tmp_path) as s:
        yield s


@pytest.fixture(scope="session")
def boundaries_template(store_templates, seeded_template):
    """The seeded template with the boundary lines derived and the demonstration marker
    inventory generated (a few seconds: built once per session; do not write to it)."""
    from boundaries.demo import generate_demo_markers

    return store_templates.template("boundaries", generate_demo_markers, base=seeded_template)


@pytest.fixture
def bstore(store_templates, boundaries_template, tmp_path) -> Store:
    """A fresh store with the shipped data, the lines and the demo markers, private to this test."""
    with store_templates.copy(boundaries_template, tmp_path) as s:
        yield s


@pytest.fixture
def bclient(bstore, tmp_path):
    """A client of the app on ``bstore`` (its app: ``bclient.application``)."""
    return make_app(bstore, tmp_path).test_client()


@pytest.fixture
def app(store, tmp_path):
    return make_app(store, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def clock():
    """A movable clock (``proposal_helpers.Clock``) at 2024-03-01 10:00 Beijing time."""
    from proposal_helpers import Clock

    return Clock(dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC))


@pytest.fixture(scope="module")
def corpus_cache():
    return {}


@pytest.fixture
def corpus(store, corpus_cache):
    """The rule checker's name corpus, built once per module (it reads ~28,700 names)."""
    from gazetteer import workflow

    if "corpus" not in corpus_cache:
        corpus_cache["corpus"] = workflow._rules()[0].from_store(store)
    return corpus_cache["corpus"]
