"""The name a naming or renaming proposal reserves, as two indexed columns: its specific
term (专名) and that term's toneless pinyin (``gazetteer.reservations.reservation_keys``).
The compliance check looks up the pending proposals holding the same term or reading
instead of reading every pending proposal and splitting its name in Python.

Proposals stored before this revision keep the columns empty; the check still reads those
(few, and fewer as they end) as before, so nothing is rewritten here.

Revision ID: 0043
Revises: 0042
"""

import sqlalchemy as sa
from alembic import op

revision = "0043"
down_revision = "0042"
branch_labels = None
depends_on = None

COLUMNS = {
    "reserved_term": (
        sa.String(100),
        "specific term (专名) of a naming's or renaming's name: what it reserves",
    ),
    "reserved_reading": (
        sa.String(800),
        "toneless pinyin of reserved_term: what a homophone shares",
    ),
}


def upgrade():
    for column, (type_, comment) in COLUMNS.items():
        op.add_column("proposals", sa.Column(column, type_, comment=comment))
        op.create_index(f"ix_proposals_{column}", "proposals", [column])


def downgrade():
    from gazetteer.core import migration_support as support

    for column in COLUMNS:
        op.drop_index(f"ix_proposals_{column}", "proposals")
    with op.batch_alter_table("proposals") as batch:
        for column in COLUMNS:
            batch.drop_column(column)
    # SQLite rebuilds a table to drop a column, and its triggers with it.
    support.install_audit_triggers(op.get_bind(), {"proposals": ("id",)})
