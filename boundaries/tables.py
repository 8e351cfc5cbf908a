"""Tables of the boundaries domain: lines, tri-junctions, markers, joint inspections.

Declared with SQLAlchemy Core on ``gazetteer.core.store.metadata``; created only by the
migration ``0003_boundaries``. Geometries are CGCS2000 lon/lat (EPSG:4490, x=lon,
y=lat); ``minx..maxy`` are their bounds in degrees (index filtering on SQLite).
Lengths are geodesic on the CGCS2000 ellipsoid.
"""

import sqlalchemy as sa

from boundaries.vocabulary import (  # the codes are declared once, with their labels
    AMENDMENT_KINDS,
    DISPUTE_CATEGORIES,
    DISPUTE_RISKS,
    DISPUTE_STATUSES,
    FOUND_STATES,
    LINE_KINDS,
    MARKER_STATES,
    MARKER_TYPES,
    MEASUREMENT_METHODS,
    ROUND_STATUSES,
    STATE_CODE_MAX_CHARS,
    TASK_KINDS,
    TASK_STATUSES,
)
from gazetteer.core.columns import (
    INSTANT,
    SHA256_HEX,
    USERNAME,
    act_columns,
    check_one_of,
    demonstration_column,
    serial_table,
    version_column,
)
from gazetteer.core.store import Geometry, bbox_column_defs, metadata
from gazetteer.tables import ORGANISATION, division_code_column

MARKER_STATE = sa.String(STATE_CODE_MAX_CHARS)  # one of MARKER_STATES (boundaries.vocabulary)

boundary_lines = serial_table(
    "boundary_lines",
    sa.Column("name", sa.String(60), nullable=False, comment="e.g. 粤桂线"),
    sa.Column(
        "name_source",
        sa.String(20),
        nullable=False,
        server_default="rule",
        comment="rule | table | officer: officer-set names survive rebuilds",
    ),
    sa.Column("kind", sa.String(12), nullable=False),
    division_code_column("side_a_code", nullable=False),
    division_code_column("side_b_code", nullable=False),
    sa.Column("geom", Geometry, comment="MultiLineString, CGCS2000 lon/lat"),
    *bbox_column_defs("boundary_lines"),
    sa.Column(
        "length_km",
        sa.Float,
        comment="geodesic on the CGCS2000 ellipsoid, of the generalised geometry",
    ),
    sa.Column("official_length_km", sa.Float, comment="surveyed figure where published"),
    sa.Column("length_note", sa.Text),
    sa.Column("pieces", sa.Integer, nullable=False),
    sa.Column("geometry_source", sa.String(100)),
    sa.UniqueConstraint("side_a_code", "side_b_code"),
    check_one_of("kind", LINE_KINDS),
    sa.CheckConstraint("side_a_code < side_b_code", name="side_order"),
)

tri_junctions = serial_table(
    "tri_junctions",
    sa.Column("name", sa.String(60), nullable=False),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column(
        "codes", sa.JSON, nullable=False, comment="the three (or more) division codes, sorted"
    ),
    sa.Column("key", sa.String(60), nullable=False, unique=True, comment="codes '/'-joined"),
    sa.Column("lon", sa.Float, nullable=False),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("geom", Geometry, comment="Point, CGCS2000 lon/lat"),
)

markers = serial_table(
    "markers",
    sa.Column("number", sa.String(40), nullable=False, unique=True, comment="e.g. 粤桂001Q"),
    sa.Column(
        "line_id", sa.Integer, sa.ForeignKey("boundary_lines.id"), nullable=False, index=True
    ),
    sa.Column("seq", sa.Integer, nullable=False, comment="number along the line from 1"),
    sa.Column("type", sa.String(8), nullable=False),
    sa.Column("letter", sa.String(1), nullable=False, comment="Q single, A/B paired, C/D/E triple"),
    sa.Column("material", sa.String(40)),
    sa.Column("lon", sa.Float, nullable=False, comment="registered, CGCS2000 degrees"),
    sa.Column("lat", sa.Float, nullable=False),
    sa.Column("geom", Geometry, comment="Point, CGCS2000 lon/lat"),
    sa.Column("elevation_m", sa.Float),
    sa.Column("location_desc_a", sa.Text, comment="location on side A, down to the village"),
    sa.Column("location_desc_b", sa.Text),
    sa.Column(
        "reference_objects",
        sa.JSON,
        nullable=False,
        comment="方位物: [{name, bearing_deg, distance_m}]",
    ),
    sa.Column("installed_date", sa.Date),
    division_code_column("responsible_side"),
    sa.Column("state", MARKER_STATE, nullable=False, server_default="intact"),
    demonstration_column(),
    version_column(),
    sa.Column("updated_at", INSTANT, server_default=sa.func.current_timestamp()),
    check_one_of("type", MARKER_TYPES),
    check_one_of("state", MARKER_STATES),
)

SIGNER_LABEL_CHARS = 400


def signer_label_columns(act: str) -> tuple[sa.Column, sa.Column]:
    """``<act>_a_label``, ``<act>_b_label``: each side's signer as the record showed them
    when they signed (name and organisation, ``boundaries.staff.person_label``), kept so
    that a later change of the profile does not rewrite a signed record."""
    return tuple(
        sa.Column(
            f"{act}_{side}_label",
            sa.String(SIGNER_LABEL_CHARS),
            comment=f"side {side.upper()}'s signer as shown when signing",
        )
        for side in ("a", "b")
    )


inspection_rounds = serial_table(
    "inspection_rounds",
    sa.Column(
        "line_id", sa.Integer, sa.ForeignKey("boundary_lines.id"), nullable=False, index=True
    ),
    sa.Column("round_no", sa.Integer, nullable=False, comment="第N轮"),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("plan", sa.Text, comment="the joint plan: scope, method, schedule"),
    sa.Column("planned_start", sa.Date),
    sa.Column("planned_end", sa.Date),
    sa.Column("status", sa.String(12), nullable=False, server_default="planned"),
    sa.Column("started_at", INSTANT),
    sa.Column("completed_at", INSTANT),
    sa.Column("created_by", USERNAME),
    demonstration_column(),
    sa.Column(
        "section_from_seq", sa.Integer, comment="first marker seq of the section; NULL = line start"
    ),
    sa.Column(
        "section_to_seq", sa.Integer, comment="last marker seq of the section; NULL = line end"
    ),
    sa.Column("conclusion", sa.Text, comment="the joint conclusion written when the round closes"),
    *act_columns("concluded_a", comment="side A officer who signed the conclusion"),
    *act_columns("concluded_b"),
    *signer_label_columns("concluded"),
    sa.UniqueConstraint("line_id", "round_no"),
    check_one_of("status", ROUND_STATUSES),
)

round_teams = sa.Table(
    "round_teams",
    metadata,
    sa.Column("round_id", sa.Integer, sa.ForeignKey("inspection_rounds.id"), primary_key=True),
    division_code_column("side_code", primary_key=True),
    sa.Column("organisation", ORGANISATION, comment="e.g. 广东省民政厅"),
    sa.Column("leader", sa.String(100)),
    sa.Column(
        "members", sa.JSON, nullable=False, comment="usernames allowed to sign for this side"
    ),
)


def client_uuid_id_column(comment: str) -> sa.Column:
    """``id``: a UUID the device makes before it sends the record (36 characters), so that
    a record sent twice (offline sync, a retry) is stored once; ``comment`` says which."""
    return sa.Column("id", sa.String(36), primary_key=True, comment=comment)


inspections = sa.Table(
    "inspections",
    metadata,
    client_uuid_id_column(comment="client-made UUID: offline sync is exactly-once"),
    sa.Column(
        "round_id", sa.Integer, sa.ForeignKey("inspection_rounds.id"), nullable=False, index=True
    ),
    sa.Column("marker_id", sa.Integer, sa.ForeignKey("markers.id"), nullable=False, index=True),
    sa.Column("found_state", MARKER_STATE, nullable=False),
    sa.Column("measured_lon", sa.Float),
    sa.Column("measured_lat", sa.Float),
    sa.Column("measurement_method", sa.String(16), nullable=False, server_default="none"),
    sa.Column("measurement_accuracy_m", sa.Float),
    sa.Column("displacement_m", sa.Float, comment="geodesic, registered -> measured"),
    sa.Column("displacement_bearing_deg", sa.Float),
    sa.Column("tolerance_m", sa.Float, comment="the moved tolerance in force when recorded"),
    sa.Column("flagged_moved", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column(
        "assessed_state",
        MARKER_STATE,
        nullable=False,
        comment="found_state, raised to 'moved' when the measurement says so",
    ),
    sa.Column("notes", sa.Text),
    sa.Column("photos", sa.JSON, nullable=False, comment="sha256 names of stored photos"),
    sa.Column("inspected_by", USERNAME, nullable=False),
    sa.Column("inspected_at", INSTANT, nullable=False),
    sa.Column("recorded_at", INSTANT, server_default=sa.func.current_timestamp()),
    *act_columns("signed_a"),
    *act_columns("signed_b"),
    demonstration_column(),
    sa.Column(
        "moved_confirmed",
        sa.Boolean,
        nullable=False,
        server_default=sa.false(),
        comment="the inspector confirmed 'the marker has moved' past the distance guard",
    ),
    *signer_label_columns("signed"),
    sa.UniqueConstraint("round_id", "marker_id"),
    check_one_of("found_state", FOUND_STATES),
    check_one_of("measurement_method", MEASUREMENT_METHODS, name="method"),
)

marker_photos = serial_table(
    "marker_photos",
    sa.Column("marker_id", sa.Integer, sa.ForeignKey("markers.id"), nullable=False, index=True),
    sa.Column("inspection_id", sa.String(36), sa.ForeignKey("inspections.id"), index=True),
    sa.Column("sha256", SHA256_HEX, nullable=False),
    sa.Column(
        "file_name",
        sa.String(80),
        nullable=False,
        comment="<sha256>.<ext>, never the client's name",
    ),
    sa.Column("content_type", sa.String(20), nullable=False),
    sa.Column("size_bytes", sa.Integer, nullable=False),
    sa.Column("caption", sa.String(200)),
    sa.Column("uploaded_by", USERNAME),
    sa.Column("uploaded_at", INSTANT, server_default=sa.func.current_timestamp()),
    sa.UniqueConstraint("marker_id", "sha256"),
)

maintenance_tasks = serial_table(
    "maintenance_tasks",
    sa.Column("marker_id", sa.Integer, sa.ForeignKey("markers.id"), nullable=False, index=True),
    sa.Column("inspection_id", sa.String(36), sa.ForeignKey("inspections.id"), index=True),
    sa.Column("round_id", sa.Integer, sa.ForeignKey("inspection_rounds.id"), index=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("status", sa.String(12), nullable=False, server_default="open"),
    division_code_column("responsible_side"),
    sa.Column(
        "report_due_at",
        INSTANT,
        comment="loss or damage: reported within 12 hours (Guangdong upkeep contract)",
    ),
    sa.Column("approved_a_by", USERNAME, comment="relocate/retire need both sides' approval"),
    sa.Column("approved_b_by", USERNAME),
    sa.Column(
        "witness_other_side",
        USERNAME,
        comment="repairs happen with the adjacent side present: the witness's account",
    ),
    sa.Column("witness_name", sa.String(100), comment="an external witness: full name"),
    sa.Column("witness_organisation", ORGANISATION),
    sa.Column("witness_role", sa.String(100)),
    sa.Column("note", sa.Text, comment="what the task is for, written when it is opened"),
    sa.Column("result", sa.Text, comment="what was done, written when the task moves on"),
    sa.Column("opened_at", INSTANT, nullable=False),
    sa.Column("closed_at", INSTANT),
    sa.Column("closed_by", USERNAME),
    demonstration_column(),
    check_one_of("kind", TASK_KINDS),
    check_one_of("status", TASK_STATUSES),
)

disputes = serial_table(
    "disputes",
    sa.Column(
        "line_id", sa.Integer, sa.ForeignKey("boundary_lines.id"), nullable=False, index=True
    ),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("category", sa.String(12), nullable=False),
    sa.Column("risk", sa.String(8), nullable=False, server_default="medium"),
    sa.Column("status", sa.String(12), nullable=False, server_default="open"),
    sa.Column("lon", sa.Float),
    sa.Column("lat", sa.Float),
    sa.Column("description", sa.Text),
    sa.Column("resolution", sa.Text),
    sa.Column("reported_by", USERNAME),
    sa.Column("reported_at", INSTANT, nullable=False),
    sa.Column("updated_at", INSTANT),
    demonstration_column(),
    check_one_of("category", DISPUTE_CATEGORIES),
    check_one_of("status", DISPUTE_STATUSES),
    check_one_of("risk", DISPUTE_RISKS),
)

inspection_amendments = sa.Table(
    "inspection_amendments",
    metadata,
    client_uuid_id_column(comment="client-made UUID: an amendment sent twice is stored once"),
    sa.Column(
        "inspection_id", sa.String(36), sa.ForeignKey("inspections.id"), nullable=False, index=True
    ),
    sa.Column("kind", sa.String(16), nullable=False, comment="amendment | reinspection"),
    sa.Column("reason", sa.Text),
    sa.Column("previous", sa.JSON, nullable=False, comment="the record's finding before"),
    *act_columns("amended", nullable=False),
    check_one_of("kind", AMENDMENT_KINDS),
)

staff_profiles = sa.Table(
    "staff_profiles",
    metadata,
    sa.Column("username", sa.String(64), sa.ForeignKey("users.username"), primary_key=True),
    sa.Column("full_name", sa.String(100), nullable=False),
    sa.Column("organisation", ORGANISATION, nullable=False, comment="e.g. 韶关市民政局"),
    sa.Column("job_title", sa.String(100)),
    division_code_column(
        "side_code",
        nullable=False,
        index=True,
        comment="the division this account works for: the side of a line it may act for",
    ),
)
