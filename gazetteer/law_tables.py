"""Tables for the parts of the 2022 《地名管理条例》 that are not the ordinary place workflow:
division changes (renamed under the division regulations, Art. 12) and the protection list
of names of historical and cultural value (Art. 25); and the worklist of the 2018 clean-up of
大、洋、怪、重 names (民发〔2018〕146号, ``gazetteer.cleanup``).

Declared on ``gazetteer.core.store.metadata``; created by migration 0008. Append-only in
practice: a change record is never edited or deleted (history never deleted).
"""

import sqlalchemy as sa

from gazetteer.core.columns import INSTANT, act_columns, check_one_of, serial_table

# (importing gazetteer.tables declares places and divisions first)
from gazetteer.tables import (
    DIVISION_CODE,
    ORGANISATION,
    PLACE_NAME,
    division_code_column,
    place_id_column,
)

division_change_records = serial_table(
    "division_change_records",
    division_code_column("division_code", nullable=False, index=True, comment="renamed division"),
    sa.Column("change_type", sa.String(12), nullable=False, comment="rename"),
    sa.Column("old_name", sa.String(100), nullable=False),
    sa.Column("new_name", sa.String(100), nullable=False),
    sa.Column(
        "approving_body",
        ORGANISATION,
        nullable=False,
        comment="the body that approved under 《行政区划管理条例》 (国务院, 省人民政府 …)",
    ),
    sa.Column("document_number", sa.String(100), nullable=False, comment="批准文号"),
    sa.Column("approval_date", sa.Date, nullable=False),
    sa.Column("effective_date", sa.Date, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    place_id_column("old_place_id"),
    place_id_column("new_place_id"),
    sa.Column("lines_renamed", sa.JSON, comment="[{id, old, new}] boundary lines renamed"),
    sa.Column("findings", sa.JSON, comment="naming-rules findings of the new name (Art. 9)"),
    sa.Column(
        "rules_override_reason",
        sa.Text,
        comment="why a blocking finding did not stop the change (the approval's own words)",
    ),
    *act_columns("recorded", nullable=False),
    check_one_of("change_type", ("rename",)),
)

# Art. 25: names of important historical and cultural value on the protection list. A row is
# one listing of a record; ``lifted_*`` ends it (never deleted).
protected_names = serial_table(
    "protected_names",
    place_id_column("place_id", nullable=False, index=True),
    sa.Column("reason", sa.Text, nullable=False, comment="the historical or cultural value"),
    sa.Column(
        "source", sa.String(300), nullable=False, comment="the list or document that names it"
    ),
    *act_columns("listed", nullable=False),
)

# 民发〔2018〕146号: the names in force that the naming rules flag as 大、洋、怪 or 重, one row per
# record, with the officer's decision. "rename proposed" and "done" are not stored: they follow
# from the record's proposals and status (``gazetteer.cleanup``), so they cannot disagree.
cleanup_items = serial_table(
    "cleanup_items",
    place_id_column("place_id", nullable=False, unique=True),
    sa.Column("name", PLACE_NAME, nullable=False, comment="the name as flagged"),
    sa.Column("city_code", DIVISION_CODE, index=True, comment="prefecture city (progress)"),
    sa.Column("county_code", DIVISION_CODE, index=True),
    sa.Column("kinds", sa.String(8), nullable=False, comment="which of 大洋怪重, e.g. 大重"),
    sa.Column("findings", sa.JSON, nullable=False, comment="[{rule_id, severity, message}]"),
    sa.Column(
        "decision",
        sa.String(12),
        nullable=False,
        comment="to_review, or kept (with decision_reason)",
    ),
    sa.Column("decision_reason", sa.Text),
    *act_columns("decided"),
    sa.Column("flagged_at", INSTANT, nullable=False),
    sa.Column("version", sa.Integer, nullable=False, comment="optimistic concurrency"),
    check_one_of("decision", ("to_review", "kept")),
)
