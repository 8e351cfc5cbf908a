"""Public lookup: historical division changes (data/division_changes.csv) and, on public
opinions left on a notice (公示), a keyed digest of the sender's address for the
per-address limits.

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "division_changes",
        sa.Column("change_id", sa.String(20)),
        sa.Column("date", sa.String(10), nullable=False),
        sa.Column("date_precision", sa.String(5), nullable=False),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column("change_type", sa.String(20), nullable=False),
        sa.Column("old_code", sa.String(12)),
        sa.Column("old_name", sa.String(100)),
        sa.Column("new_code", sa.String(12)),
        sa.Column("new_name", sa.String(100)),
        sa.Column("parent_code", sa.String(12)),
        sa.Column("document", sa.String(200)),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("verified", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("change_id", name="pk_division_changes"),
        sa.CheckConstraint(
            "date_precision IN ('day', 'month', 'year')", name="ck_division_changes_precision"
        ),
    )
    op.create_index("ix_division_changes_old_code", "division_changes", ["old_code"])
    op.create_index("ix_division_changes_new_code", "division_changes", ["new_code"])
    op.create_index("ix_division_changes_effective_date", "division_changes", ["effective_date"])
    op.add_column("proposal_opinions", sa.Column("source_digest", sa.String(64)))
    op.create_index("ix_proposal_opinions_source_digest", "proposal_opinions", ["source_digest"])
    support.install_audit_triggers(
        op.get_bind(), {"division_changes": ("change_id",), "proposal_opinions": ("id",)}
    )


def downgrade():
    support.drop_audit_triggers(op.get_bind(), ["division_changes"])
    op.drop_index("ix_proposal_opinions_source_digest", "proposal_opinions")
    with op.batch_alter_table("proposal_opinions") as batch:
        batch.drop_column("source_digest")
    support.install_audit_triggers(op.get_bind(), {"proposal_opinions": ("id",)})
    op.drop_table("division_changes")
