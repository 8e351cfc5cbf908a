"""Create and upgrade the schema with Alembic, programmatically.

Each domain keeps its own migration scripts in its own folder (``gazetteer/migrations``,
``boundaries/migrations``) and says so in its ``schema`` module as a :class:`Schema`;
Alembic reads all of those folders as one revision graph (its ``version_locations``).
This module knows no domain: callers hand in the schema they want, usually the whole
app's (``boundaries.schema.SCHEMA``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gazetteer.core.store import Store

ENV_DIR = Path(__file__).parent / "alembic_env"


@dataclass(frozen=True)
class Schema:
    """The migration folders of one or more domains, bottom domain first."""

    version_dirs: tuple[Path, ...]

    def __add__(self, other: Schema) -> Schema:
        return Schema(
            self.version_dirs + tuple(d for d in other.version_dirs if d not in self.version_dirs)
        )

    def config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(ENV_DIR))
        # Alembic splits version_locations on this separator; paths never contain it.
        config.set_main_option("path_separator", ";")
        config.set_main_option("version_locations", ";".join(str(d) for d in self.version_dirs))
        return config

    def head_revisions(self) -> set[str]:
        return set(ScriptDirectory.from_config(self.config()).get_heads())

    def known_revisions(self) -> set[str]:
        """Every revision a migration file of these folders declares."""
        return {s.revision for s in ScriptDirectory.from_config(self.config()).walk_revisions()}


class SchemaMismatch(RuntimeError):
    """The store and the migration files disagree in a way an upgrade cannot settle: the
    store is at a revision no file here declares (a migration removed, a branch switched),
    or a migration left rows whose foreign keys point nowhere. The message is one line
    for an operator."""


def upgrade(store: Store, schema: Schema, revision: str = "heads") -> None:
    """Bring the store's schema up to ``revision`` (all heads by default). Idempotent.
    ``SchemaMismatch`` when the store is at a revision unknown here."""
    _run(store, schema, lambda config: command.upgrade(config, revision))


def downgrade(store: Store, schema: Schema, revision: str) -> None:
    """Take the store's schema back to ``revision`` (what a migration's downgrade does)."""
    _run(store, schema, lambda config: command.downgrade(config, revision))


def _run(store: Store, schema: Schema, step: Callable[[Config], None]) -> None:
    """Run ``step`` (an Alembic command) in one transaction on one connection.

    On SQLite a batch migration rebuilds a table (create a copy, copy the rows, DROP the
    old one, rename): with foreign keys enforced, the DROP fails as soon as a row of
    another table refers to the rebuilt one. SQLite's documented procedure for such
    changes (lang_altertable.html, "Making Other Kinds Of Table Schema Changes") is
    followed here for every migration: ``foreign_keys=OFF`` outside the transaction (the
    pragma does nothing inside one), the migrations, ``PRAGMA foreign_key_check`` before
    the commit when a migration ran (any row it reports: ``SchemaMismatch``, and it all rolls
    back), then ``foreign_keys=ON`` again on that connection before it returns to the pool.
    PostgreSQL alters tables in place and checks foreign keys itself.
    """
    unknown = unknown_revisions(store, schema)
    if unknown:
        raise SchemaMismatch(unknown_revisions_message(unknown))
    config = schema.config()
    sqlite = store.dialect == "sqlite"
    with store.engine.connect() as conn:
        if sqlite:  # on the driver's connection: no BEGIN is emitted for it
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        try:
            with conn.begin():
                config.attributes["connection"] = conn
                before = _revisions(conn)
                step(config)
                # Checked only when a migration ran: the check reads every referring row.
                if sqlite and _revisions(conn) != before:
                    dangling = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        table, rowid, parent, _ = dangling[0]
                        raise SchemaMismatch(
                            f"迁移后 {len(dangling)} 行的外键指向不存在的记录"
                            f"（如 {table} rowid {rowid} → {parent}）：已回滚，存储未改变"
                        )
        finally:
            if sqlite:
                conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


def current_revisions(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return _revisions(conn)


def _revisions(conn) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def unknown_revisions(store: Store, schema: Schema) -> set[str]:
    """The store's revisions that no migration file of ``schema`` declares."""
    return current_revisions(store) - schema.known_revisions()


def unknown_revisions_message(unknown: set[str]) -> str:
    return (
        f"存储处于修订 {', '.join(sorted(unknown))}，本代码中没有该迁移文件"
        "（迁移文件被删除，或切换到了较旧的分支）：请恢复该文件或使用含它的代码，不要升级"
    )


def is_up_to_date(store: Store, schema: Schema) -> bool:
    return current_revisions(store) == schema.head_revisions()
