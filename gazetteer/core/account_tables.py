"""Tables of accounts and the audit log: users, API tokens, signed-in sessions, audit_log.

Declared with SQLAlchemy Core on ``gazetteer.core.store.metadata``; created only by migration
0004 (sessions: 0041). Passwords are stored only as werkzeug hashes (scrypt by default), API
tokens and session ids only as their SHA-256. ``audit_log`` is filled by database triggers (``gazetteer.core.audit``)
and refuses UPDATE and DELETE; times in it are UTC.
"""

import sqlalchemy as sa

from gazetteer.core.columns import (
    INSTANT,
    OFFICE,
    SHA256_HEX,
    check_one_of,
    roles_column,
    serial_table,
)

users = serial_table(
    "users",
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column(
        "password_hash",
        sa.String(255),
        nullable=False,
        comment="werkzeug generate_password_hash (scrypt or pbkdf2), never the password",
    ),
    roles_column("roles"),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", INSTANT, nullable=False),
    sa.Column("office", OFFICE, comment="the office the user works in (None: acts alone)"),
)

api_tokens = serial_table(
    "api_tokens",
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column(
        "name", sa.String(100), nullable=False, comment="what the token is for, e.g. 夜间导入脚本"
    ),
    sa.Column(
        "token_sha256",
        SHA256_HEX,
        nullable=False,
        unique=True,
        comment="hex SHA-256 of the token; the token itself is shown once and never stored",
    ),
    sa.Column("created_at", INSTANT, nullable=False),
    sa.Column("last_used_at", INSTANT),
    sa.Column("revoked_at", INSTANT),
)

user_sessions = serial_table(
    "user_sessions",
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
    sa.Column(
        "session_sha256",
        SHA256_HEX,
        nullable=False,
        unique=True,
        comment="hex SHA-256 of the session id in the signed cookie; the id is not stored",
    ),
    sa.Column("started_at", INSTANT, nullable=False),
    sa.Column("ended_at", INSTANT, comment="signed out; NULL while the session may sign in"),
)

audit_log = serial_table(
    "audit_log",
    sa.Column("at", INSTANT, nullable=False, comment="UTC"),
    sa.Column("actor", sa.String(100), comment="username or system:<job>; NULL = not attributed"),
    sa.Column("tx", sa.String(64), comment="the write transaction (one Store.write)"),
    sa.Column("table_name", sa.String(64), nullable=False),
    sa.Column("op", sa.String(8), nullable=False),
    sa.Column(
        "row_key",
        sa.String(200),
        nullable=False,
        comment="primary key as text; '|'-joined if composite",
    ),
    check_one_of("op", ("INSERT", "UPDATE", "DELETE", "BASELINE")),
    sa.Index("ix_audit_log_table_name_row_key", "table_name", "row_key"),
    # The newest entry of a table (the HTTP validators of the OGC API): an index seek.
    sa.Index("ix_audit_log_table_name_id", "table_name", "id"),
)
