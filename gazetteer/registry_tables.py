"""Tables of the place-name registry: record versions, rename links, proposals and their events.

Declared with SQLAlchemy Core on ``gazetteer.core.store.metadata``; created only by migration 0002.
Nothing here is ever deleted: ``place_versions``, ``proposal_events`` and
``proposal_opinions`` are append-only; ``proposals`` change only through the workflow.

Times (``*_at``) are UTC instants; ``valid_from``/``valid_to``, notice and decision dates are
calendar dates (Beijing civil dates as officers write them). Geometries are CGCS2000
lon/lat (EPSG:4490).
"""

import sqlalchemy as sa

from gazetteer.core.columns import (
    INSTANT,
    OFFICE,
    SHA256_HEX,
    USERNAME,
    act_columns,
    check_one_of,
    roles_column,
    serial_table,
    version_column,
)
from gazetteer.core.store import Geometry
from gazetteer.core.vocabulary import codes, labels

# (importing gazetteer.tables declares places and divisions first)
from gazetteer.tables import ORGANISATION, PLACE_NAME, division_code_column, place_id_column
from gazetteer.vocabulary import PROPOSAL_KIND_TERMS, PROPOSAL_STATE_TERMS

# The proposal kinds and states, each code with the name the pages show.
PROPOSAL_KIND_NAMES_ZH = labels(PROPOSAL_KIND_TERMS)
PROPOSAL_STATE_NAMES_ZH = labels(PROPOSAL_STATE_TERMS)
PROPOSAL_KINDS = codes(PROPOSAL_KIND_TERMS)
PROPOSAL_STATES = codes(PROPOSAL_STATE_TERMS)
OPINION_KINDS = ("expert", "consultation", "assessment", "public")
VERSION_CHANGES = (
    "baseline",
    "named",
    "renamed",
    "superseded",
    "retired",
    "corrected",
    "imported",  # brought in from an office's own database (gazetteer.office_import)
)


place_versions = serial_table(
    "place_versions",
    place_id_column("place_id", nullable=False, index=True),
    sa.Column("version", sa.Integer, nullable=False, comment="places.version this snapshot shows"),
    sa.Column(
        "valid_from", sa.Date, comment="first day in force; NULL = since before the registry began"
    ),
    sa.Column(
        "valid_to", sa.Date, comment="first day no longer valid (exclusive); NULL = still valid"
    ),
    sa.Column(
        "name",
        PLACE_NAME,
        nullable=False,
        index=True,
        comment="name in this version, for past-date lookups",
    ),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("change", sa.String(12), nullable=False, comment="what made this version"),
    sa.Column("change_reason", sa.Text),
    sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id")),
    sa.Column(
        "record", sa.JSON, nullable=False, comment="the places row without geometry, JSON-safe"
    ),
    sa.Column("geom", Geometry, comment="CGCS2000 lon/lat"),
    sa.Column("recorded_at", INSTANT, nullable=False),
    sa.Column("recorded_by", USERNAME, nullable=False),
    sa.UniqueConstraint("place_id", "version", name="uq_place_versions_place_id_version"),
    check_one_of("change", VERSION_CHANGES),
)

place_links = serial_table(
    "place_links",
    place_id_column(
        "old_place_id",
        nullable=False,
        index=True,
        comment="the record superseded (its name is now historical)",
    ),
    place_id_column(
        "new_place_id",
        nullable=False,
        index=True,
        comment="the record that supersedes it",
    ),
    sa.Column("kind", sa.String(12), nullable=False, server_default="renamed"),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id")),
    sa.UniqueConstraint(
        "old_place_id", "new_place_id", name="uq_place_links_old_place_id_new_place_id"
    ),
)

proposals = serial_table(
    "proposals",
    sa.Column("kind", sa.String(12), nullable=False, index=True),
    sa.Column("state", sa.String(12), nullable=False, index=True),
    place_id_column(
        "place_id",
        index=True,
        comment="the record renamed or retired",
    ),
    place_id_column(
        "result_place_id",
        comment="the record created by a naming or renaming once in force",
    ),
    division_code_column(
        "division_code",
        index=True,
        comment="the lowest division the place lies in (for statistics)",
    ),
    sa.Column("applicant", sa.String(200), nullable=False, comment="申请人/申请单位"),
    sa.Column("reasons", sa.Text, nullable=False, comment="申请理由"),
    sa.Column(
        "proposed", sa.JSON, nullable=False, comment="proposed record values incl. romanization"
    ),
    sa.Column("heteronyms_confirmed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("location", Geometry, comment="CGCS2000 lon/lat"),
    sa.Column("findings", sa.JSON, comment="compliance-check findings"),
    sa.Column("checked_at", INSTANT),
    sa.Column("override_reasons", sa.Text),
    sa.Column("override_by", USERNAME),
    sa.Column("notice_start", sa.Date),
    sa.Column("notice_end", sa.Date),
    sa.Column("decision", sa.String(10)),
    sa.Column("decision_reasons", sa.Text),
    sa.Column("decided_by", USERNAME),
    sa.Column("decision_date", sa.Date),
    sa.Column("approving_body", ORGANISATION),
    sa.Column("decision_ref", sa.String(100), comment="批准文号"),
    sa.Column("announcement_text", sa.Text),
    sa.Column(
        "approval_authority",
        sa.String(40),
        comment="key in rules/data/approval_authority.csv (Art. 12)",
    ),
    sa.Column("authority_override_reason", sa.Text),
    sa.Column("filed_on", sa.Date, comment="备案 with the next level up (Art. 13)"),
    sa.Column("filed_with", ORGANISATION),
    sa.Column("filing_ref", sa.String(100)),
    sa.Column("announced_on", sa.Date),
    sa.Column("effective_date", sa.Date),
    *act_columns("created", nullable=False),
    sa.Column("updated_at", INSTANT, nullable=False),
    sa.Column("office", OFFICE, index=True, comment="the drafter's office when drafted"),
    sa.Column(
        "reserved_term",
        sa.String(100),
        index=True,
        comment="specific term (专名) of a naming's or renaming's name: what it reserves",
    ),
    sa.Column(
        "reserved_reading",
        sa.String(800),
        index=True,
        comment="toneless pinyin of reserved_term: what a homophone shares",
    ),
    version_column(),
    check_one_of("kind", PROPOSAL_KINDS),
    check_one_of("state", PROPOSAL_STATES),
    sa.CheckConstraint("decision IS NULL OR decision IN ('approved', 'rejected')", name="decision"),
)

proposal_opinions = serial_table(
    "proposal_opinions",
    sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, index=True),
    sa.Column(
        "kind", sa.String(12), nullable=False, comment="专家论证 expert / 征求意见 consultation ..."
    ),
    sa.Column("author", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    *act_columns("recorded", nullable=False),
    sa.Column(
        "source_digest",
        SHA256_HEX,
        index=True,
        comment="public opinions: keyed digest of the sender's address, for per-address limits",
    ),
    check_one_of("kind", OPINION_KINDS),
)

proposal_events = serial_table(
    "proposal_events",
    sa.Column("proposal_id", sa.Integer, sa.ForeignKey("proposals.id"), nullable=False, index=True),
    sa.Column("action", sa.String(24), nullable=False),
    sa.Column("from_state", sa.String(12)),
    sa.Column("to_state", sa.String(12), nullable=False),
    sa.Column("actor", USERNAME, nullable=False),
    roles_column("actor_roles"),
    sa.Column("at", INSTANT, nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("data", sa.JSON),
)
