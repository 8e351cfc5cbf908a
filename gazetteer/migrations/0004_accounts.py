"""Accounts (users, API tokens) and the append-only audit log with its triggers.

Revision ID: 0004
Revises: 0002 (the tables of 0001 and 0002 get audit triggers here; each later
migration, in any domain, installs the triggers of the tables it adds)
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen at this revision: every table that exists now, with its primary key. A later
# migration that adds a table calls audit.install_triggers for it.
AUDITED_TABLES = {
    "divisions": ("code",),
    "meta": ("key",),
    "places": ("id",),
    "proposals": ("id",),
    "place_versions": ("id",),
    "place_links": ("id",),
    "proposal_events": ("id",),
    "proposal_opinions": ("id",),
    "users": ("id",),
    "api_tokens": ("id",),
}


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", sa.String(100), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_users"),
        sa.UniqueConstraint("username", name="uq_users_username"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_api_tokens_user_id_users"),
            nullable=False,
        ),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_sha256", name="uq_api_tokens_token_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(100)),
        sa.Column("tx", sa.String(64)),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("row_key", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
        sa.CheckConstraint(
            "op IN ('INSERT', 'UPDATE', 'DELETE', 'BASELINE')", name="ck_audit_log_op"
        ),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_audit_log_table_name_row_key", "audit_log", ["table_name", "row_key"])
    conn = op.get_bind()
    support.record_baseline(conn, AUDITED_TABLES, "system:migration-0004")
    support.install_audit_triggers(conn, AUDITED_TABLES)
    support.install_append_only(conn)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), AUDITED_TABLES)
    op.drop_table("audit_log")
    op.drop_table("api_tokens")
    op.drop_table("users")
