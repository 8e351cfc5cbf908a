"""Division changes recorded by their own path (《地名管理条例》 Art. 12: divisions are named
and renamed under the division regulations), and filing (备案, Art. 13) and the approving
authority (Art. 12) on proposals.

Revision ID: 0008
Revises: 0007 (the public division history table; the two are linked by change_id)
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NEW_TABLES = {"division_change_records": ("id",)}
PROPOSAL_COLUMNS = (
    ("approval_authority", sa.String(40)),
    ("authority_override_reason", sa.Text),
    ("filed_on", sa.Date),
    ("filed_with", sa.String(200)),
    ("filing_ref", sa.String(100)),
)


def upgrade():
    op.create_table(
        "division_change_records",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "division_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_division_changes_division_code_divisions"),
            nullable=False,
        ),
        sa.Column("change_type", sa.String(12), nullable=False),
        sa.Column("old_name", sa.String(100), nullable=False),
        sa.Column("new_name", sa.String(100), nullable=False),
        sa.Column("approving_body", sa.String(200), nullable=False),
        sa.Column("document_number", sa.String(100), nullable=False),
        sa.Column("approval_date", sa.Date, nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column(
            "old_place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_division_changes_old_place_id_places"),
        ),
        sa.Column(
            "new_place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_division_changes_new_place_id_places"),
        ),
        sa.Column("lines_renamed", sa.JSON),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("change_type IN ('rename')", name="ck_division_changes_change_type"),
        sa.PrimaryKeyConstraint("id", name="pk_division_changes"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_division_change_records_division_code", "division_change_records", ["division_code"]
    )
    for name, type_ in PROPOSAL_COLUMNS:
        op.add_column("proposals", sa.Column(name, type_))
    support.install_audit_triggers(op.get_bind(), NEW_TABLES)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), list(NEW_TABLES))
    op.drop_index("ix_division_change_records_division_code", "division_change_records")
    op.drop_table("division_change_records")
    with op.batch_alter_table("proposals") as batch:
        for name, _type in PROPOSAL_COLUMNS:
            batch.drop_column(name)
