"""Field inspection as a team: staff profiles (each account's side), round sections,
the joint conclusion signed by both sides, inspection amendments, the moved confirmation
and recorded witnesses.

Revision ID: b0002 (branch "boundaries")
Revises: b0001
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "b0002"
down_revision = "b0001"
branch_labels = None
depends_on = None

# Frozen at this revision: the tables made here, with their primary keys, for the audit log.
AUDITED_TABLES = {
    "inspection_amendments": ("id",),
    "staff_profiles": ("username",),
}


# Tables altered here: the downgrade's SQLite batch operations rebuild them, which drops
# their triggers, so it installs their audit triggers again (idempotent).
ALTERED_TABLES = {
    "inspection_rounds": ("id",),
    "inspections": ("id",),
    "maintenance_tasks": ("id",),
}


def upgrade():
    # Plain ADD COLUMN (no table rebuild on SQLite): the rows and their triggers stay.
    for name, type_ in (
        ("section_from_seq", sa.Integer),
        ("section_to_seq", sa.Integer),
        ("conclusion", sa.Text),
        ("concluded_a_by", sa.String(100)),
        ("concluded_a_at", sa.DateTime(timezone=True)),
        ("concluded_b_by", sa.String(100)),
        ("concluded_b_at", sa.DateTime(timezone=True)),
    ):
        op.add_column("inspection_rounds", sa.Column(name, type_))
    op.add_column(
        "inspections",
        sa.Column("moved_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    for name, type_ in (
        ("witness_name", sa.String(100)),
        ("witness_organisation", sa.String(200)),
        ("witness_role", sa.String(100)),
    ):
        op.add_column("maintenance_tasks", sa.Column(name, type_))
    op.create_table(
        "inspection_amendments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column(
            "inspection_id",
            sa.String(36),
            sa.ForeignKey(
                "inspections.id", name="fk_inspection_amendments_inspection_id_inspections"
            ),
            nullable=False,
        ),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("previous", sa.JSON, nullable=False),
        sa.Column("amended_by", sa.String(100), nullable=False),
        sa.Column("amended_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('amendment','reinspection')", name="ck_inspection_amendments_kind"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_amendments"),
    )
    op.create_index(
        "ix_inspection_amendments_inspection_id", "inspection_amendments", ["inspection_id"]
    )
    op.create_table(
        "staff_profiles",
        sa.Column(
            "username",
            sa.String(64),
            sa.ForeignKey("users.username", name="fk_staff_profiles_username_users"),
            nullable=False,
        ),
        sa.Column("full_name", sa.String(100), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False),
        sa.Column("job_title", sa.String(100)),
        sa.Column(
            "side_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_staff_profiles_side_code_divisions"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("username", name="pk_staff_profiles"),
    )
    op.create_index("ix_staff_profiles_side_code", "staff_profiles", ["side_code"])
    support.install_audit_triggers(op.get_bind(), AUDITED_TABLES)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), AUDITED_TABLES)
    op.drop_table("staff_profiles")
    op.drop_table("inspection_amendments")
    with op.batch_alter_table("maintenance_tasks") as batch:
        for name in ("witness_role", "witness_organisation", "witness_name"):
            batch.drop_column(name)
    with op.batch_alter_table("inspections") as batch:
        batch.drop_column("moved_confirmed")
    with op.batch_alter_table("inspection_rounds") as batch:
        for name in (
            "concluded_b_at",
            "concluded_b_by",
            "concluded_a_at",
            "concluded_a_by",
            "conclusion",
            "section_to_seq",
            "section_from_seq",
        ):
            batch.drop_column(name)
    support.install_audit_triggers(op.get_bind(), ALTERED_TABLES)
