"""Create and upgrade the schema with Alembic, programmatically.

Each domain adds its own migration files under ``gazetteer/migrations/versions``; they
branch from the foundation revision and are all applied (``heads``), so domains can add
tables independently.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from gazetteer.store import Store

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(store: Store, revision: str = "heads") -> None:
    """Bring the store's schema up to ``revision`` (all heads by default). Idempotent."""
    config = _config()
    with store.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def current_revisions(store: Store) -> set[str]:
    with store.engine.connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(_config()).get_heads())


def is_up_to_date(store: Store) -> bool:
    return current_revisions(store) == head_revisions()
