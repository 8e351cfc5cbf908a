"""Maintenance tasks: the note written when a task is opened gets its own column.

Until now a hand-opened task kept its note in ``result``, so the note came back as the
task's result and the round report's 结果 column showed it. A task still open has no
result yet (a result is written only when the task moves on), so its ``result`` is its note
and moves to ``note``; other tasks keep their result (the audit log holds earlier values).

Revision ID: b0003n (branch "boundaries")
Revises: b0002
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "b0003n"
down_revision = "b0002"
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite): the rows and their triggers stay.
    op.add_column("maintenance_tasks", sa.Column("note", sa.Text))
    op.execute(
        "UPDATE maintenance_tasks SET note = result, result = NULL "
        "WHERE status = 'open' AND inspection_id IS NULL AND result IS NOT NULL"
    )


def downgrade():
    op.execute(
        "UPDATE maintenance_tasks SET result = note "
        "WHERE status = 'open' AND result IS NULL AND note IS NOT NULL"
    )
    with op.batch_alter_table("maintenance_tasks") as batch:
        batch.drop_column("note")
    # The batch rebuild drops the table's triggers: install them again.
    support.install_audit_triggers(op.get_bind(), {"maintenance_tasks": ("id",)})
