"""Signers as they were when they signed: each side's label (name and organisation) is kept
on a signed inspection record and a signed round conclusion, so that a later change of the
staff profile does not rewrite a signed record. Records signed before this revision get
the label their signer's profile gives now (the best that is known).

Revision ID: b0003 (branch "boundaries")
Revises: b0002
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "b0003"
down_revision = "b0002"
branch_labels = None
depends_on = None

# Frozen at this revision: the signed tables, their sign-off columns and primary keys.
SIGNED = {"inspections": "signed", "inspection_rounds": "concluded"}
ALTERED_TABLES = {"inspections": ("id",), "inspection_rounds": ("id",)}


def upgrade():
    for table, act in SIGNED.items():
        for side in ("a", "b"):
            op.add_column(table, sa.Column(f"{act}_{side}_label", sa.String(400)))
            by = f"{act}_{side}_by"
            # 张伟（韶关市民政局）, as boundaries.staff.person_label writes it; the username
            # for an account without a profile.
            op.execute(
                f"UPDATE {table} SET {act}_{side}_label = COALESCE("
                "(SELECT p.full_name || '（' || p.organisation || '）' FROM staff_profiles p"
                f" WHERE p.username = {table}.{by}), {by}) WHERE {by} IS NOT NULL"
            )


def downgrade():
    for table, act in SIGNED.items():
        with op.batch_alter_table(table) as batch:
            for side in ("b", "a"):
                batch.drop_column(f"{act}_{side}_label")
    support.install_audit_triggers(op.get_bind(), ALTERED_TABLES)
