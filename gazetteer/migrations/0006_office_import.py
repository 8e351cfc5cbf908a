"""Office import: import runs, saved column mappings, and 'imported' as a kind of record
version (a record brought in from an office's own database is not an approval).

Revision ID: 0006
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0006"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_CHANGES = "change IN ('baseline', 'named', 'renamed', 'superseded', 'retired', 'corrected')"
NEW_CHANGES = (
    "change IN ('baseline', 'named', 'renamed', 'superseded', 'retired', 'corrected', 'imported')"
)
NEW_TABLES = {"import_runs": ("id",), "import_mappings": ("source_name", "layer")}


def _set_changes(check: str) -> None:
    # SQLite cannot alter a CHECK constraint: batch mode rebuilds the table, which drops its
    # triggers, so the audit triggers of place_versions are installed again afterwards.
    with op.batch_alter_table("place_versions", recreate="always") as batch:
        batch.drop_constraint("ck_place_versions_change", type_="check")
        batch.create_check_constraint("ck_place_versions_change", sa.text(check))
    support.install_audit_triggers(op.get_bind(), {"place_versions": ("id",)})


def upgrade():
    op.create_table(
        "import_runs",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("office", sa.String(200), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_path", sa.Text, nullable=False),
        sa.Column("file_sha256", sa.String(64), nullable=False),
        sa.Column("file_format", sa.String(16), nullable=False),
        sa.Column("layer", sa.String(200)),
        sa.Column("mapping", sa.JSON),
        sa.Column("crs", sa.String(20)),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("counts", sa.JSON),
        sa.Column("preview", sa.JSON),
        sa.Column("skip_errors", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("skip_reason", sa.Text),
        sa.Column("skipped_rows", sa.JSON),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("previewed_at", sa.DateTime(timezone=True)),
        sa.Column("written_by", sa.String(100)),
        sa.Column("written_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_import_runs"),
        sa.CheckConstraint(
            "state IN ('uploaded', 'previewed', 'written')", name="ck_import_runs_state"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_import_runs_source_name", "import_runs", ["source_name"])
    op.create_table(
        "import_mappings",
        sa.Column("source_name", sa.String(200), nullable=False),
        sa.Column("layer", sa.String(200), nullable=False),
        sa.Column("mapping", sa.JSON, nullable=False),
        sa.Column("crs", sa.String(20)),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source_name", "layer", name="pk_import_mappings"),
    )
    support.install_audit_triggers(op.get_bind(), NEW_TABLES)
    _set_changes(NEW_CHANGES)


def downgrade():
    _set_changes(OLD_CHANGES)
    support.drop_audit_triggers(op.get_bind(), list(NEW_TABLES))
    op.drop_table("import_mappings")
    op.drop_index("ix_import_runs_source_name", table_name="import_runs")
    op.drop_table("import_runs")
