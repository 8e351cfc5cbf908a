"""Foundation: divisions, place-name records, meta.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core.migration_support import MigrationGeometry as Geometry

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _bbox():
    return [sa.Column(n, sa.Float) for n in ("minx", "miny", "maxx", "maxy")]


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        # PostGIS is not a trusted extension: on a managed server a superuser creates it
        # first; IF NOT EXISTS then makes this a no-op for the (non-superuser) owner.
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "divisions",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column(
            "parent_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_divisions_parent_code_divisions"),
        ),
        sa.Column("path", sa.String(80), nullable=False),
        sa.Column("in_guangdong", sa.Boolean, nullable=False),
        sa.Column("geom", Geometry),
        *_bbox(),
        sa.Column("area_km2", sa.Float),
        sa.Column("geometry_source", sa.String(100)),
        sa.Column("name_source", sa.String(100)),
        sa.CheckConstraint(
            "level IN ('province','city','county','township','village')", name="ck_divisions_level"
        ),
        sa.PrimaryKeyConstraint("code", name="pk_divisions"),
    )
    op.create_index("ix_divisions_parent_code", "divisions", ["parent_code"])
    op.create_index("ix_divisions_path", "divisions", ["path"])
    op.create_index("ix_divisions_bbox", "divisions", ["minx", "maxx", "miny", "maxy"])

    op.create_table(
        "places",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_key", sa.String(64)),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("specific_term", sa.String(200)),
        sa.Column("generic_term", sa.String(50)),
        sa.Column("romanized", sa.String(400)),
        sa.Column("romanized_toned", sa.String(400)),
        sa.Column("pinyin_key", sa.String(400)),
        sa.Column("heteronyms", sa.JSON),
        sa.Column("heteronyms_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("feature_class", sa.String(20), nullable=False),
        sa.Column("feature_type", sa.String(40)),
        sa.Column(
            "division_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_places_division_code_divisions"),
        ),
        sa.Column(
            "own_division_code",
            sa.String(12),
            sa.ForeignKey("divisions.code", name="fk_places_own_division_code_divisions"),
        ),
        sa.Column("status", sa.String(12), nullable=False, server_default="in_force"),
        sa.Column("geom", Geometry),
        *_bbox(),
        sa.Column("geometry_source", sa.String(100)),
        sa.Column("aliases", sa.JSON),
        sa.Column("short_name", sa.String(100)),
        sa.Column("map_name", sa.String(200)),
        sa.Column("minority_name", sa.String(200)),
        sa.Column("minority_language", sa.String(40)),
        sa.Column("meaning", sa.Text),
        sa.Column("history", sa.Text),
        sa.Column("description", sa.Text),
        sa.Column("named_date", sa.Date),
        sa.Column("retired_date", sa.Date),
        sa.Column("source", sa.String(200)),
        sa.Column("registered_by", sa.String(100)),
        sa.Column("registering_unit", sa.String(200)),
        sa.Column(
            "registered_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
        ),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), server_default=sa.func.current_timestamp()
        ),
        sa.Column("version", sa.Integer, nullable=False, server_default="1"),
        sa.CheckConstraint(
            "status IN ('in_force','historical','retired')", name="ck_places_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_places"),
        sa.UniqueConstraint("source_key", name="uq_places_source_key"),
        sa.UniqueConstraint("own_division_code", name="uq_places_own_division_code"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_places_name", "places", ["name"])
    op.create_index("ix_places_pinyin_key", "places", ["pinyin_key"])
    op.create_index("ix_places_feature_class", "places", ["feature_class"])
    op.create_index("ix_places_division_code", "places", ["division_code"])
    op.create_index("ix_places_status", "places", ["status"])
    op.create_index("ix_places_bbox", "places", ["minx", "maxx", "miny", "maxy"])

    op.create_table(
        "meta",
        sa.Column("key", sa.String(100), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_meta"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_divisions_geom ON divisions USING GIST (geom)")
        op.execute("CREATE INDEX ix_places_geom ON places USING GIST (geom)")


def downgrade():
    op.drop_table("meta")
    op.drop_table("places")
    op.drop_table("divisions")
