"""Each store gets an identity: ``store_identity`` with one random id, made here once
(gazetteer.core.store_identity). A new store gets it when it is created, a store made
before this revision when it is upgraded. Not audited.

Revision ID: 0036
Revises: 0035
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None


def upgrade():
    table = op.create_table(
        "store_identity",
        sa.Column(
            "store_id",
            sa.String(32),
            nullable=False,
            comment="random hex (uuid4), made once when the store is created; never changed",
        ),
        sa.PrimaryKeyConstraint("store_id", name="pk_store_identity"),
    )
    op.bulk_insert(table, [{"store_id": uuid.uuid4().hex}])


def downgrade():
    op.drop_table("store_identity")
