"""The 大洋怪重 clean-up worklist (民发〔2018〕146号), and the naming-rules findings of a
division rename kept on its change record (《地名管理条例》 Art. 9).

Revision ID: 0032
Revises: 0031
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

NEW_TABLES = {"cleanup_items": ("id",)}
CHANGED_TABLES = {"division_change_records": ("id",)}


def upgrade():
    op.create_table(
        "cleanup_items",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_cleanup_items_place_id_places"),
            nullable=False,
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("city_code", sa.String(12)),
        sa.Column("county_code", sa.String(12)),
        sa.Column("kinds", sa.String(8), nullable=False),
        sa.Column("findings", sa.JSON, nullable=False),
        sa.Column("decision", sa.String(12), nullable=False),
        sa.Column("decision_reason", sa.Text),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("flagged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.CheckConstraint("decision IN ('to_review', 'kept')", name="ck_cleanup_items_decision"),
        sa.PrimaryKeyConstraint("id", name="pk_cleanup_items"),
        sa.UniqueConstraint("place_id", name="uq_cleanup_items_place_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_cleanup_items_city_code", "cleanup_items", ["city_code"])
    op.create_index("ix_cleanup_items_county_code", "cleanup_items", ["county_code"])
    op.add_column("division_change_records", sa.Column("findings", sa.JSON))
    op.add_column("division_change_records", sa.Column("rules_override_reason", sa.Text))
    # The audit triggers name the table's columns: re-create them so the new ones are kept.
    support.install_audit_triggers(op.get_bind(), {**NEW_TABLES, **CHANGED_TABLES})


def downgrade():
    support.drop_audit_triggers(op.get_bind(), list(NEW_TABLES))
    with op.batch_alter_table("division_change_records") as batch:
        batch.drop_column("rules_override_reason")
        batch.drop_column("findings")
    support.install_audit_triggers(op.get_bind(), CHANGED_TABLES)
    op.drop_index("ix_cleanup_items_county_code", "cleanup_items")
    op.drop_index("ix_cleanup_items_city_code", "cleanup_items")
    op.drop_table("cleanup_items")
