"""An index on audit_log (table_name, id): the newest entry of a layer's tables, which the
OGC API's ETag/Last-Modified validators read on every request, is then one index seek
instead of a scan of every entry of the table (about 50 ms for the places).

Revision ID: 0018
Revises: 0004
"""

from alembic import op

revision = "0018"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_audit_log_table_name_id", "audit_log", ["table_name", "id"])


def downgrade():
    op.drop_index("ix_audit_log_table_name_id", table_name="audit_log")
