"""CHECK constraints get the names the table modules declare.

The migrations passed full names (``name="ck_places_status"``) and the metadata's naming
convention (``ck_%(table_name)s_%(constraint_name)s``) prefixed them again, so the stores
held ``ck_places_ck_places_status`` (and, on PostgreSQL, a truncated name where that
passed 63 characters). The table modules pass the short name and get ``ck_places_status``;
this renames the stored constraints to match. Rows, indexes and triggers are untouched.

Revision ID: 0035
Revises: 0034
"""

from alembic import op

from gazetteer.core import migration_support as support

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None

SHORT_NAMES = {
    "audit_log": ("op",),
    "cleanup_items": ("decision",),
    "division_change_records": ("change_type",),
    "division_changes": ("precision",),
    "divisions": ("level",),
    "import_runs": ("state",),
    "place_versions": ("change",),
    "places": ("status",),
    "proposal_opinions": ("kind",),
    "proposals": ("decision", "kind", "state"),
}


def upgrade():
    support.undouble_check_names(op.get_bind(), SHORT_NAMES)


def downgrade():
    support.undouble_check_names(op.get_bind(), SHORT_NAMES, undo=True)
