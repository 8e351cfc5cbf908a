"""Alembic environment: runs on the connection handed over by ``gazetteer.migrate``."""

from alembic import context

import gazetteer.schema  # noqa: F401  (registers every table on the metadata)
from gazetteer.store import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
