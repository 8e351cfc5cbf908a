"""SQLite only: an index on places (id), so that a deep page of the OGC API (offset 28,000)
skips rows over a narrow index instead of walking the wide places rows (18 ms -> 0.2 ms).

The id is SQLite's rowid, whose only B-tree is the table itself; PostgreSQL's primary-key
index is already this index, so nothing is made there (tests/test_schema_drift.py lists it
as SQLite-only).

Revision ID: 0018b
Revises: 0018
"""

from alembic import op

revision = "0018b"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.create_index("ix_places_id", "places", ["id"])


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index("ix_places_id", table_name="places")
