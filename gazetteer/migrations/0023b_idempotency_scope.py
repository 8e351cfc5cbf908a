"""Idempotency keys are scoped by what they create: the primary key becomes
(actor, scope, key), so one key sent to two create endpoints names two requests.

Revision ID: 0023b
Revises: 0023
"""

from alembic import op

revision = "0023b"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("idempotency_keys", recreate="always") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["actor", "scope", "key"])


def downgrade():
    with op.batch_alter_table("idempotency_keys", recreate="always") as batch:
        batch.drop_constraint("pk_idempotency_keys", type_="primary")
        batch.create_primary_key("pk_idempotency_keys", ["actor", "key"])
