"""The protection list of place names of historical and cultural value (《地名管理条例》
Art. 25).

Revision ID: 0031
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0031"
down_revision = "0008"
branch_labels = None
depends_on = None

NEW_TABLES = {"protected_names": ("id",)}


def upgrade():
    op.create_table(
        "protected_names",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_protected_names_place_id_places"),
            nullable=False,
        ),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("listed_by", sa.String(100), nullable=False),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_protected_names"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_protected_names_place_id", "protected_names", ["place_id"])
    support.install_audit_triggers(op.get_bind(), NEW_TABLES)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), list(NEW_TABLES))
    op.drop_index("ix_protected_names_place_id", "protected_names")
    op.drop_table("protected_names")
