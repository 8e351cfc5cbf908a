"""Idempotent creates: ``idempotency_keys`` (gazetteer.core.idempotency).

Not audited: each row answers a retry of a request whose record is itself audited.

Revision ID: 0023
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "idempotency_keys",
        sa.Column("actor", sa.String(64), nullable=False, comment="the account that sent it"),
        sa.Column("key", sa.String(200), nullable=False, comment="Idempotency-Key header"),
        sa.Column("scope", sa.String(100), nullable=False, comment="what was created: proposal, …"),
        sa.Column("request_sha256", sa.String(64), nullable=False, comment="digest of the request"),
        sa.Column("response", sa.JSON, nullable=False, comment="the answer given the first time"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor", "key", name="pk_idempotency_keys"),
    )


def downgrade():
    op.drop_table("idempotency_keys")
