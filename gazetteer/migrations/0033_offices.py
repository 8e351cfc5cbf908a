"""Offices as the unit that owns a proposal: the office a user works in, and the office a
proposal was drafted in, so that clerks of one office carry on each other's proposals.

Revision ID: 0033
Revises: 0032
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

CHANGED_TABLES = {"users": ("id",), "proposals": ("id",)}


def upgrade():
    op.add_column("users", sa.Column("office", sa.String(100)))
    op.add_column("proposals", sa.Column("office", sa.String(100)))
    op.create_index("ix_proposals_office", "proposals", ["office"])


def downgrade():
    op.drop_index("ix_proposals_office", "proposals")
    for table in CHANGED_TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("office")
    # SQLite rebuilds a table to drop a column, and its triggers with it.
    support.install_audit_triggers(op.get_bind(), CHANGED_TABLES)
