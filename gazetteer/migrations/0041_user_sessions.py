"""Signed-in sessions kept on the server: ``user_sessions``, one row per sign-in, holding
only the SHA-256 of the random session id that the signed cookie carries. Signing out ends
the row, so a copy of the cookie taken before (another tab's export, a stolen cookie) no
longer signs in. Rows are ended, never deleted: the audit log and this table tell who was
signed in when. Sessions opened before this revision carry no id and end on upgrade.

Revision ID: 0041
Revises: 0040
"""

import sqlalchemy as sa
from alembic import op

from gazetteer.core import migration_support as support

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

NEW_TABLES = {"user_sessions": ("id",)}


def upgrade():
    op.create_table(
        "user_sessions",
        sa.Column("id", sa.Integer, autoincrement=True),
        sa.Column(
            "user_id",
            sa.Integer,
            sa.ForeignKey("users.id", name="fk_user_sessions_user_id_users"),
            nullable=False,
        ),
        sa.Column(
            "session_sha256",
            sa.String(64),
            nullable=False,
            comment="hex SHA-256 of the session id in the signed cookie; the id is not stored",
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "ended_at",
            sa.DateTime(timezone=True),
            comment="signed out; NULL while the session may sign in",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_user_sessions"),
        sa.UniqueConstraint("session_sha256", name="uq_user_sessions_session_sha256"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_user_sessions_user_id", "user_sessions", ["user_id"])
    support.install_audit_triggers(op.get_bind(), NEW_TABLES)


def downgrade():
    support.drop_audit_triggers(op.get_bind(), NEW_TABLES)
    op.drop_table("user_sessions")
