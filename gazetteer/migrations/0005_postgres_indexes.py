"""PostgreSQL search indexes: trigram indexes on names, pattern indexes on prefixes.

On SQLite this revision does nothing (its B-tree indexes from 0001/0002 are all it can use).
On PostgreSQL:

* a ``pg_trgm`` GIN index on ``places.name`` serves the registry's substring search
  (``LIKE '%q%'``), prefix search and similarity ranking;
* ``text_pattern_ops`` B-tree indexes serve ``LIKE 'prefix%'`` on ``places.name`` and on
  ``divisions.path`` ("this division and everything below") under any database locale
  (a plain B-tree serves ``LIKE`` only under the C collation).

Only tables of the foundation revision are indexed here, so this revision depends on
0001 alone (Alembic's ``depends_on`` across sibling branches breaks its head bookkeeping).

``pg_trgm`` is a trusted extension: the database owner may create it without superuser.

Revision ID: 0005
Revises: 0001
"""

from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_places_name_trgm", "places USING GIN (name gin_trgm_ops)"),
    ("ix_places_name_pattern", "places (name text_pattern_ops)"),
    ("ix_divisions_path_pattern", "divisions (path text_pattern_ops)"),
)


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, target in INDEXES:
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {target}")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, _target in reversed(INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")
