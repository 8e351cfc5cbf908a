"""Boundaries: lines, tri-junctions, markers (界桩), joint inspections, tasks, disputes.

Revision ID: b0001 (branch "boundaries")
Revises: 0004 (needs the divisions of 0001 and the audit log of 0004)
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support
from gazetteer.core.migration_support import MigrationGeometry as Geometry

revision = "b0001"
down_revision = "0004"
branch_labels = ("boundaries",)
depends_on = None

# Frozen at this revision: the tables made here, with their primary keys, for the audit log.
AUDITED_TABLES = {
    "boundary_lines": ("id",),
    "tri_junctions": ("id",),
    "markers": ("id",),
    "inspection_rounds": ("id",),
    "round_teams": ("round_id", "side_code"),
    "inspections": ("id",),
    "maintenance_tasks": ("id",),
    "marker_photos": ("id",),
    "disputes": ("id",),
}


def upgrade():
    op.create_table(
        "boundary_lines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("name_source", sa.String(20), nullable=False, server_default="rule"),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column(
            "side_a_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_boundary_lines_side_a_code_divisions"),
            nullable=False,
        ),
        sa.Column(
            "side_b_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_boundary_lines_side_b_code_divisions"),
            nullable=False,
        ),
        sa.Column("geom", Geometry),
        sa.Column("minx", sa.Float),
        sa.Column("miny", sa.Float),
        sa.Column("maxx", sa.Float),
        sa.Column("maxy", sa.Float),
        sa.Column("length_km", sa.Float),
        sa.Column("official_length_km", sa.Float),
        sa.Column("length_note", sa.Text),
        sa.Column("pieces", sa.Integer, nullable=False),
        sa.Column("geometry_source", sa.String(100)),
        sa.CheckConstraint("side_a_code < side_b_code", name="ck_boundary_lines_side_order"),
        sa.CheckConstraint("kind IN ('provincial','city','county')", name="ck_boundary_lines_kind"),
        sa.PrimaryKeyConstraint("id", name="pk_boundary_lines"),
        sa.UniqueConstraint(
            "side_a_code", "side_b_code", name="uq_boundary_lines_side_a_code_side_b_code"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_boundary_lines_bbox", "boundary_lines", ["minx", "maxx", "miny", "maxy"])

    op.create_table(
        "tri_junctions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("codes", sa.JSON, nullable=False),
        sa.Column("key", sa.String(60), nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("geom", Geometry),
        sa.PrimaryKeyConstraint("id", name="pk_tri_junctions"),
        sa.UniqueConstraint("key", name="uq_tri_junctions_key"),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "markers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column(
            "line_id",
            sa.Integer,
            sa.ForeignKey("boundary_lines.id", name="fk_markers_line_id_boundary_lines"),
            nullable=False,
        ),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("type", sa.String(8), nullable=False),
        sa.Column("letter", sa.String(1), nullable=False),
        sa.Column("material", sa.String(40)),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("geom", Geometry),
        sa.Column("elevation_m", sa.Float),
        sa.Column("location_desc_a", sa.Text),
        sa.Column("location_desc_b", sa.Text),
        sa.Column("reference_objects", sa.JSON, nullable=False),
        sa.Column("installed_date", sa.Date),
        sa.Column(
            "responsible_side",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_markers_responsible_side_divisions"),
        ),
        sa.Column("state", sa.String(12), nullable=False, server_default="intact"),
        sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
        ),
        sa.CheckConstraint(
            "state IN ('intact','faded','tilted','buried','damaged','moved','lost','retired')",
            name="ck_markers_state",
        ),
        sa.CheckConstraint("type IN ('single','paired','triple')", name="ck_markers_type"),
        sa.PrimaryKeyConstraint("id", name="pk_markers"),
        sa.UniqueConstraint("number", name="uq_markers_number"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_markers_line_id", "markers", ["line_id"])

    op.create_table(
        "inspection_rounds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "line_id",
            sa.Integer,
            sa.ForeignKey("boundary_lines.id", name="fk_inspection_rounds_line_id_boundary_lines"),
            nullable=False,
        ),
        sa.Column("round_no", sa.Integer, nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("plan", sa.Text),
        sa.Column("planned_start", sa.Date),
        sa.Column("planned_end", sa.Date),
        sa.Column("status", sa.String(12), nullable=False, server_default="planned"),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("completed_at", sa.DateTime(timezone=True)),
        sa.Column("created_by", sa.String(100)),
        sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "status IN ('planned','in_progress','completed')", name="ck_inspection_rounds_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inspection_rounds"),
        sa.UniqueConstraint("line_id", "round_no", name="uq_inspection_rounds_line_id_round_no"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_inspection_rounds_line_id", "inspection_rounds", ["line_id"])

    op.create_table(
        "round_teams",
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey("inspection_rounds.id", name="fk_round_teams_round_id_inspection_rounds"),
            primary_key=True,
        ),
        sa.Column(
            "side_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_round_teams_side_code_divisions"),
            primary_key=True,
        ),
        sa.Column("organisation", sa.String(200)),
        sa.Column("leader", sa.String(100)),
        sa.Column("members", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("round_id", "side_code", name="pk_round_teams"),
    )

    op.create_table(
        "inspections",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey("inspection_rounds.id", name="fk_inspections_round_id_inspection_rounds"),
            nullable=False,
        ),
        sa.Column(
            "marker_id",
            sa.Integer,
            sa.ForeignKey("markers.id", name="fk_inspections_marker_id_markers"),
            nullable=False,
        ),
        sa.Column("found_state", sa.String(12), nullable=False),
        sa.Column("measured_lon", sa.Float),
        sa.Column("measured_lat", sa.Float),
        sa.Column("measurement_method", sa.String(16), nullable=False, server_default="none"),
        sa.Column("measurement_accuracy_m", sa.Float),
        sa.Column("displacement_m", sa.Float),
        sa.Column("displacement_bearing_deg", sa.Float),
        sa.Column("tolerance_m", sa.Float),
        sa.Column("flagged_moved", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("assessed_state", sa.String(12), nullable=False),
        sa.Column("notes", sa.Text),
        sa.Column("photos", sa.JSON, nullable=False),
        sa.Column("inspected_by", sa.String(100), nullable=False),
        sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "recorded_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
        ),
        sa.Column("signed_a_by", sa.String(100)),
        sa.Column("signed_a_at", sa.DateTime(timezone=True)),
        sa.Column("signed_b_by", sa.String(100)),
        sa.Column("signed_b_at", sa.DateTime(timezone=True)),
        sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "measurement_method IN ('rtk','total_station','gnss_handheld','none')",
            name="ck_inspections_method",
        ),
        sa.CheckConstraint(
            "found_state IN ('intact','faded','tilted','buried','damaged','moved','lost')",
            name="ck_inspections_found_state",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_inspections"),
        sa.UniqueConstraint("round_id", "marker_id", name="uq_inspections_round_id_marker_id"),
    )
    op.create_index("ix_inspections_marker_id", "inspections", ["marker_id"])
    op.create_index("ix_inspections_round_id", "inspections", ["round_id"])

    op.create_table(
        "marker_photos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "marker_id",
            sa.Integer,
            sa.ForeignKey("markers.id", name="fk_marker_photos_marker_id_markers"),
            nullable=False,
        ),
        sa.Column(
            "inspection_id",
            sa.String(36),
            sa.ForeignKey("inspections.id", name="fk_marker_photos_inspection_id_inspections"),
        ),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("file_name", sa.String(80), nullable=False),
        sa.Column("content_type", sa.String(20), nullable=False),
        sa.Column("size_bytes", sa.Integer, nullable=False),
        sa.Column("caption", sa.String(200)),
        sa.Column("uploaded_by", sa.String(100)),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
        ),
        sa.PrimaryKeyConstraint("id", name="pk_marker_photos"),
        sa.UniqueConstraint("marker_id", "sha256", name="uq_marker_photos_marker_id_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_marker_photos_inspection_id", "marker_photos", ["inspection_id"])
    op.create_index("ix_marker_photos_marker_id", "marker_photos", ["marker_id"])

    op.create_table(
        "maintenance_tasks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "marker_id",
            sa.Integer,
            sa.ForeignKey("markers.id", name="fk_maintenance_tasks_marker_id_markers"),
            nullable=False,
        ),
        sa.Column(
            "inspection_id",
            sa.String(36),
            sa.ForeignKey("inspections.id", name="fk_maintenance_tasks_inspection_id_inspections"),
        ),
        sa.Column(
            "round_id",
            sa.Integer,
            sa.ForeignKey(
                "inspection_rounds.id", name="fk_maintenance_tasks_round_id_inspection_rounds"
            ),
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column(
            "responsible_side",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_maintenance_tasks_responsible_side_divisions"),
        ),
        sa.Column("report_due_at", sa.DateTime(timezone=True)),
        sa.Column("approved_a_by", sa.String(100)),
        sa.Column("approved_b_by", sa.String(100)),
        sa.Column("witness_other_side", sa.String(100)),
        sa.Column("result", sa.Text),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("closed_by", sa.String(100)),
        sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "kind IN ('clear_vegetation','repaint','reset','repair','rebuild','replace','restore','relocate','retire')",
            name="ck_maintenance_tasks_kind",
        ),
        sa.CheckConstraint(
            "status IN ('open','in_progress','done','cancelled')",
            name="ck_maintenance_tasks_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_maintenance_tasks"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_maintenance_tasks_inspection_id", "maintenance_tasks", ["inspection_id"])
    op.create_index("ix_maintenance_tasks_marker_id", "maintenance_tasks", ["marker_id"])
    op.create_index("ix_maintenance_tasks_round_id", "maintenance_tasks", ["round_id"])

    op.create_table(
        "disputes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "line_id",
            sa.Integer,
            sa.ForeignKey("boundary_lines.id", name="fk_disputes_line_id_boundary_lines"),
            nullable=False,
        ),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("category", sa.String(12), nullable=False),
        sa.Column("risk", sa.String(8), nullable=False, server_default="medium"),
        sa.Column("status", sa.String(12), nullable=False, server_default="open"),
        sa.Column("lon", sa.Float),
        sa.Column("lat", sa.Float),
        sa.Column("description", sa.Text),
        sa.Column("resolution", sa.Text),
        sa.Column("reported_by", sa.String(100)),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True)),
        sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.CheckConstraint("status IN ('open','monitoring','resolved')", name="ck_disputes_status"),
        sa.CheckConstraint(
            "category IN ('land','minerals','forest','water','tidal_flat','other')",
            name="ck_disputes_category",
        ),
        sa.CheckConstraint("risk IN ('low','medium','high')", name="ck_disputes_risk"),
        sa.PrimaryKeyConstraint("id", name="pk_disputes"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_disputes_line_id", "disputes", ["line_id"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_boundary_lines_geom ON boundary_lines USING GIST (geom)")
        op.execute("CREATE INDEX ix_markers_geom ON markers USING GIST (geom)")
    conn = op.get_bind()
    support.record_baseline(conn, AUDITED_TABLES, "system:migration-b0001")
    support.install_audit_triggers(conn, AUDITED_TABLES)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), AUDITED_TABLES)
    op.drop_table("disputes")
    op.drop_table("maintenance_tasks")
    op.drop_table("marker_photos")
    op.drop_table("inspections")
    op.drop_table("round_teams")
    op.drop_table("inspection_rounds")
    op.drop_table("markers")
    op.drop_table("tri_junctions")
    op.drop_table("boundary_lines")
