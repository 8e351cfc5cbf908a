"""Tables of the gazetteer: divisions and place-name records.

Declared with SQLAlchemy Core on ``gazetteer.core.store.metadata``; created only by migrations.
Coordinates are CGCS2000 lon/lat degrees (EPSG:4490); ``minx..maxy`` are the geometry's
bounds in the same degrees, kept for index filtering on SQLite.
"""

import sqlalchemy as sa

from gazetteer.core.columns import INSTANT, check_one_of, serial_table, version_column
from gazetteer.core.store import Geometry, bbox_column_defs, metadata

DIVISION_LEVELS = ("province", "city", "county", "township", "village")

# The 12 top classes of the second national place-name census (GB/T 18521 based).
FEATURE_CLASSES = (
    "海域",
    "陆地水系",
    "陆地地形",
    "行政区域",
    "群众自治组织",
    "非行政区域",
    "居民点",
    "交通运输设施",
    "水利电力通信设施",
    "纪念地旅游景点",
    "建筑物",
    "单位",
)

PLACE_STATUSES = ("in_force", "historical", "retired")

DIVISION_CODE = sa.String(12)  # a statistical division code: 6, 9 or 12 digits
PLACE_NAME = sa.String(200)  # a place name or a part or form of one, in characters
ORGANISATION = sa.String(200)  # the name of a body: an approving body, a registering unit …


def division_code_column(name: str, *args, **kwargs) -> sa.Column:
    """A column holding a division's statistical code (12 characters at most), referencing
    ``divisions.code``; ``args``/``kwargs`` as for ``sa.Column`` (index, nullable, comment...)."""
    return sa.Column(name, DIVISION_CODE, sa.ForeignKey("divisions.code"), *args, **kwargs)


def place_id_column(name: str, *args, **kwargs) -> sa.Column:
    """A column holding a place-name record's id, referencing ``places.id``; ``args``/
    ``kwargs`` as for ``sa.Column`` (index, nullable, comment...)."""
    return sa.Column(name, sa.Integer, sa.ForeignKey("places.id"), *args, **kwargs)


divisions = sa.Table(
    "divisions",
    metadata,
    sa.Column(
        "code",
        DIVISION_CODE,
        primary_key=True,
        comment="statistical division code: 6 digits down to county, 9 township, 12 village",
    ),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("level", sa.String(10), nullable=False),
    division_code_column("parent_code", index=True),
    sa.Column(
        "path",
        sa.String(80),
        nullable=False,
        index=True,
        comment="codes from the province down, '/'-joined: prefix match finds all below",
    ),
    sa.Column("in_guangdong", sa.Boolean, nullable=False),
    sa.Column("geom", Geometry, comment="(Multi)Polygon, CGCS2000 lon/lat"),
    *bbox_column_defs("divisions"),
    sa.Column("area_km2", sa.Float, comment="geodesic, CGCS2000 ellipsoid"),
    sa.Column("geometry_source", sa.String(100)),
    sa.Column("name_source", sa.String(100)),
    check_one_of("level", DIVISION_LEVELS),
)

places = serial_table(
    "places",
    sa.Column(
        "source_key",
        sa.String(64),
        unique=True,
        comment="natural key of imported records, e.g. nbs:440103001101",
    ),
    sa.Column("name", PLACE_NAME, nullable=False, index=True, comment="standard name 标准名称"),
    sa.Column("specific_term", PLACE_NAME, comment="专名"),
    sa.Column("generic_term", sa.String(50), comment="通名"),
    sa.Column("romanized", sa.String(400), comment="罗马字母拼写 for signs, no tones"),
    sa.Column("romanized_toned", sa.String(400)),
    sa.Column(
        "pinyin_key",
        sa.String(400),
        index=True,
        comment="lowercase toneless syllables of the whole name, space-joined",
    ),
    sa.Column(
        "heteronyms", sa.JSON, comment="characters with several readings: [{index, char, readings}]"
    ),
    sa.Column("heteronyms_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("feature_class", sa.String(20), nullable=False, index=True),
    sa.Column("feature_type", sa.String(40), comment="finer type: 村民委员会, 街道, 路 ..."),
    division_code_column(
        "division_code",
        index=True,
        comment="the lowest division the place lies in",
    ),
    division_code_column(
        "own_division_code",
        unique=True,
        comment="set when the place is itself a division",
    ),
    sa.Column("status", sa.String(12), nullable=False, server_default="in_force", index=True),
    sa.Column(
        "geom", Geometry, comment="Point, LineString or Polygon, CGCS2000 lon/lat; NULL = 无图形"
    ),
    *bbox_column_defs("places"),
    sa.Column("geometry_source", sa.String(100)),
    sa.Column("aliases", sa.JSON, comment="别名 list"),
    sa.Column("short_name", sa.String(100), comment="简称"),
    sa.Column("map_name", PLACE_NAME, comment="图上名称"),
    sa.Column("minority_name", PLACE_NAME),
    sa.Column("minority_language", sa.String(40)),
    sa.Column("meaning", sa.Text, comment="含义"),
    sa.Column("history", sa.Text, comment="来历、历史沿革"),
    sa.Column("description", sa.Text),
    sa.Column("named_date", sa.Date),
    sa.Column("retired_date", sa.Date),
    sa.Column("source", sa.String(200)),
    sa.Column("registered_by", sa.String(100)),
    sa.Column("registering_unit", ORGANISATION),
    sa.Column("registered_at", INSTANT, server_default=sa.func.current_timestamp()),
    sa.Column("updated_at", INSTANT, server_default=sa.func.current_timestamp()),
    version_column(),
    check_one_of("status", PLACE_STATUSES),
)

# Column groups of ``places`` that the registry, the workflow and office imports all write.
# The standard name and the spellings derived from it, written together whenever it changes.
PLACE_NAME_COLUMNS = (
    "name",
    "specific_term",
    "generic_term",
    "romanized",
    "romanized_toned",
    "pinyin_key",
    "heteronyms",
)
# What an applicant or a file describes about a place besides its name.
PLACE_DESCRIPTION_COLUMNS = (
    "feature_class",
    "feature_type",
    "division_code",
    "aliases",
    "short_name",
    "map_name",
    "minority_name",
    "minority_language",
    "meaning",
    "history",
    "description",
    "source",
)

division_changes = sa.Table(
    "division_changes",
    metadata,
    sa.Column("change_id", sa.String(20), primary_key=True, comment="GD1992-001"),
    sa.Column("date", sa.String(10), nullable=False, comment="YYYY-MM-DD, YYYY-MM or YYYY"),
    sa.Column("date_precision", sa.String(5), nullable=False),
    sa.Column(
        "effective_date",
        sa.Date,
        nullable=False,
        index=True,
        comment="first day of the stated date (as-of reads compare with this)",
    ),
    sa.Column("change_type", sa.String(20), nullable=False),
    sa.Column("old_code", DIVISION_CODE, index=True),
    sa.Column("old_name", sa.String(100)),
    sa.Column("new_code", DIVISION_CODE, index=True),
    sa.Column("new_name", sa.String(100)),
    sa.Column("parent_code", DIVISION_CODE),
    sa.Column("document", sa.String(200), comment="approving document, where known"),
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("verified", sa.Boolean, nullable=False),
    check_one_of("date_precision", ("day", "month", "year"), name="precision"),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)
