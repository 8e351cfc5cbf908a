"""Create and upgrade the schema with Alembic, programmatically.

Each domain keeps its own migration scripts in its own folder (``gazetteer/migrations``,
``boundaries/migrations``) and says so in its ``schema`` module as a :class:`Schema`;
Alembic reads all of those folders as one revision graph (its ``version_locations``).
This module knows no domain: callers hand in the schema they want, usually the whole
app's (``boundaries.schema.SCHEMA``).
"""

from __future__ import annotations

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


def upgrade(store: Store, schema: Schema, revision: str = "heads") -> None:
    """Bring the store's schema up to ``revision`` (all heads by default). Idempotent."""
    config = schema.config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revisions(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_up_to_date(store: Store, schema: Schema) -> bool:
    return current_revisions(store) == schema.head_revisions()
