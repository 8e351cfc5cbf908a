"""Tables for the parts of the 2022 《地名管理条例》 that are not the ordinary place workflow:
division changes (renamed under the division regulations, Art. 12) and the protection list
of names of historical and cultural value (Art. 25).

Declared on ``gazetteer.core.store.metadata``; created by migration 0008. Append-only in
practice: a change record is never edited or deleted (history never deleted).
"""

import sqlalchemy as sa

import gazetteer.tables  # noqa: F401  (places and divisions must be declared first)
from gazetteer.core.store import metadata

division_change_records = sa.Table(
    "division_change_records",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "division_code",
        sa.String(12),
        sa.ForeignKey("divisions.code"),
        nullable=False,
        index=True,
        comment="the division renamed (its statistical code)",
    ),
    sa.Column("change_type", sa.String(12), nullable=False, comment="rename"),
    sa.Column("old_name", sa.String(100), nullable=False),
    sa.Column("new_name", sa.String(100), nullable=False),
    sa.Column(
        "approving_body",
        sa.String(200),
        nullable=False,
        comment="the body that approved under 《行政区划管理条例》 (国务院, 省人民政府 …)",
    ),
    sa.Column("document_number", sa.String(100), nullable=False, comment="批准文号"),
    sa.Column("approval_date", sa.Date, nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("old_place_id", sa.Integer, sa.ForeignKey("places.id")),
    sa.Column("new_place_id", sa.Integer, sa.ForeignKey("places.id")),
    sa.Column("lines_renamed", sa.JSON, comment="[{id, old, new}] boundary lines renamed"),
    sa.Column("recorded_by", sa.String(100), nullable=False),
    sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("change_type IN ('rename')", name="change_type"),
    sqlite_autoincrement=True,
)

# Art. 25: names of important historical and cultural value on the protection list. A row is
# one listing of a record; ``lifted_*`` ends it (never deleted).
protected_names = sa.Table(
    "protected_names",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("place_id", sa.Integer, sa.ForeignKey("places.id"), nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False, comment="the historical or cultural value"),
    sa.Column(
        "source", sa.String(300), nullable=False, comment="the list or document that names it"
    ),
    sa.Column("listed_by", sa.String(100), nullable=False),
    sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
    sqlite_autoincrement=True,
)
