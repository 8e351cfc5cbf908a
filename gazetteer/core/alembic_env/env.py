"""Alembic environment: runs on the connection handed over by ``gazetteer.core.migrate``.

``target_metadata`` is the shared metadata; only the tables of the schema modules that
the caller imported are on it (``gazetteer.schema``, ``boundaries.schema``)."""

from alembic import context

from gazetteer.core.store import metadata

config = context.config
connection = config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
