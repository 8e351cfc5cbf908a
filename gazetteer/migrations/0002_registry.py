"""Place-name registry: record versions, rename links, proposals, opinions and events.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core.migration_support import MigrationGeometry as Geometry

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

KINDS = "kind IN ('naming', 'renaming', 'retirement')"
STATES = (
    "state IN ('draft', 'submitted', 'checked', 'in_review', 'on_notice', 'approved', 'rejected', "
    "'announced', 'in_force', 'withdrawn')"
)
OPINION_KINDS = "kind IN ('expert', 'consultation', 'assessment', 'public')"
CHANGES = "change IN ('baseline', 'named', 'renamed', 'superseded', 'retired', 'corrected')"


def upgrade():
    op.create_table(
        "proposals",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column(
            "place_id", sa.Integer, sa.ForeignKey("places.id", name="fk_proposals_place_id_places")
        ),
        sa.Column(
            "result_place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_proposals_result_place_id_places"),
        ),
        sa.Column(
            "division_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_proposals_division_code_divisions"),
        ),
        sa.Column("applicant", sa.String(200), nullable=False),
        sa.Column("reasons", sa.Text, nullable=False),
        sa.Column("proposed", sa.JSON, nullable=False),
        sa.Column("heteronyms_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("location", Geometry),
        sa.Column("findings", sa.JSON),
        sa.Column("checked_at", sa.DateTime(timezone=True)),
        sa.Column("override_reasons", sa.Text),
        sa.Column("override_by", sa.String(100)),
        sa.Column("notice_start", sa.Date),
        sa.Column("notice_end", sa.Date),
        sa.Column("decision", sa.String(10)),
        sa.Column("decision_reasons", sa.Text),
        sa.Column("decided_by", sa.String(100)),
        sa.Column("decision_date", sa.Date),
        sa.Column("approving_body", sa.String(200)),
        sa.Column("decision_ref", sa.String(100)),
        sa.Column("announcement_text", sa.Text),
        sa.Column("announced_on", sa.Date),
        sa.Column("effective_date", sa.Date),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.PrimaryKeyConstraint("id", name="pk_proposals"),
        sa.CheckConstraint(KINDS, name="ck_proposals_kind"),
        sa.CheckConstraint(STATES, name="ck_proposals_state"),
        sa.CheckConstraint(
            "decision IS NULL OR decision IN ('approved', 'rejected')", name="ck_proposals_decision"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proposals_kind", "proposals", ["kind"])
    op.create_index("ix_proposals_state", "proposals", ["state"])
    op.create_index("ix_proposals_place_id", "proposals", ["place_id"])
    op.create_index("ix_proposals_division_code", "proposals", ["division_code"])

    op.create_table(
        "place_versions",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_place_versions_place_id_places"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("valid_from", sa.Date),
        sa.Column("valid_to", sa.Date),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("change", sa.String(12), nullable=False),
        sa.Column("change_reason", sa.Text),
        sa.Column(
            "proposal_id",
            sa.Integer,
            sa.ForeignKey("proposals.id", name="fk_place_versions_proposal_id_proposals"),
        ),
        sa.Column("record", sa.JSON, nullable=False),
        sa.Column("geom", Geometry),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_place_versions"),
        sa.UniqueConstraint("place_id", "version", name="uq_place_versions_place_id_version"),
        sa.CheckConstraint(CHANGES, name="ck_place_versions_change"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_place_versions_place_id", "place_versions", ["place_id"])
    op.create_index("ix_place_versions_name", "place_versions", ["name"])

    op.create_table(
        "place_links",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "old_place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_place_links_old_place_id_places"),
            nullable=False,
        ),
        sa.Column(
            "new_place_id",
            sa.Integer,
            sa.ForeignKey("places.id", name="fk_place_links_new_place_id_places"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(12), nullable=False, server_default="renamed"),
        sa.Column("effective_date", sa.Date, nullable=False),
        sa.Column(
            "proposal_id",
            sa.Integer,
            sa.ForeignKey("proposals.id", name="fk_place_links_proposal_id_proposals"),
        ),
        sa.PrimaryKeyConstraint("id", name="pk_place_links"),
        sa.UniqueConstraint(
            "old_place_id", "new_place_id", name="uq_place_links_old_place_id_new_place_id"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_place_links_old_place_id", "place_links", ["old_place_id"])
    op.create_index("ix_place_links_new_place_id", "place_links", ["new_place_id"])

    op.create_table(
        "proposal_opinions",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "proposal_id",
            sa.Integer,
            sa.ForeignKey("proposals.id", name="fk_proposal_opinions_proposal_id_proposals"),
            nullable=False,
        ),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_proposal_opinions"),
        sa.CheckConstraint(OPINION_KINDS, name="ck_proposal_opinions_kind"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proposal_opinions_proposal_id", "proposal_opinions", ["proposal_id"])

    op.create_table(
        "proposal_events",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "proposal_id",
            sa.Integer,
            sa.ForeignKey("proposals.id", name="fk_proposal_events_proposal_id_proposals"),
            nullable=False,
        ),
        sa.Column("action", sa.String(24), nullable=False),
        sa.Column("from_state", sa.String(12)),
        sa.Column("to_state", sa.String(12), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("actor_roles", sa.String(100), nullable=False, server_default=""),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("data", sa.JSON),
        sa.PrimaryKeyConstraint("id", name="pk_proposal_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_proposal_events_proposal_id", "proposal_events", ["proposal_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_proposals_location ON proposals USING GIST (location)")


def downgrade():
    op.drop_table("proposal_events")
    op.drop_table("proposal_opinions")
    op.drop_table("place_links")
    op.drop_table("place_versions")
    op.drop_table("proposals")
