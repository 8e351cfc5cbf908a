"""CHECK constraints get the names the table modules declare.

The migrations passed full names (``name="ck_markers_state"``) and the metadata's naming
convention (``ck_%(table_name)s_%(constraint_name)s``) prefixed them again, so the stores
held ``ck_markers_ck_markers_state``; the table module passes the short name and gets
``ck_markers_state``. This renames the stored constraints to match (gazetteer migration
0035 does the same for the gazetteer's tables). Rows, indexes and triggers are untouched.

Revision ID: b0005 (branch "boundaries")
Revises: b0004
"""

from alembic import op

from gazetteer.core import migration_support as support

revision = "b0005"
down_revision = "b0004"
branch_labels = None
depends_on = None

SHORT_NAMES = {
    "boundary_lines": ("kind", "side_order"),
    "disputes": ("category", "risk", "status"),
    "inspection_amendments": ("kind",),
    "inspection_rounds": ("status",),
    "inspections": ("found_state", "method"),
    "maintenance_tasks": ("kind", "status"),
    "markers": ("state", "type"),
}


def upgrade():
    support.undouble_check_names(op.get_bind(), SHORT_NAMES)


def downgrade():
    support.undouble_check_names(op.get_bind(), SHORT_NAMES, undo=True)
