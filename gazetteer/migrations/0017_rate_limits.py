"""Rate limits shared by worker processes: ``rate_limit_buckets`` (gazetteer.core.ratelimit).

Not audited: it counts requests, it records nothing about places or people.

Revision ID: 0017
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rate_limit_buckets",
        sa.Column("bucket", sa.String(32), nullable=False, comment="which limit: public, login"),
        sa.Column("client", sa.String(100), nullable=False, comment="the client key (address)"),
        sa.Column("tokens", sa.Float, nullable=False, comment="tokens left at updated_s"),
        sa.Column("updated_s", sa.Float, nullable=False, comment="Unix time"),
        sa.PrimaryKeyConstraint("bucket", "client", name="pk_rate_limit_buckets"),
    )


def downgrade():
    op.drop_table("rate_limit_buckets")
