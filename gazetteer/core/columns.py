"""Columns and table shapes that many table modules share, declared once.

Each factory returns fresh ``sa.Column`` objects (a column belongs to one table), so a table
module writes ``*act_columns("recorded", nullable=False)`` where it would otherwise repeat
the same two declarations. Usernames are at most 100 characters (``system:<job>`` for
unattended writes); times are UTC instants, stored timezone-aware.
"""

from __future__ import annotations

import sqlalchemy as sa

from gazetteer.core.migration_support import allowed_values
from gazetteer.core.store import metadata

USERNAME = sa.String(100)  # the type of a column naming who did something
INSTANT = sa.DateTime(timezone=True)  # the type of a column holding a UTC instant
SHA256_HEX = sa.String(64)  # a SHA-256 digest (plain or keyed) as 64 hex digits
# The name of an office (天河区民政局区划地名科) that users work in and whose clerks share the
# proposals drafted there (``gazetteer.core.accounts.validate_office`` allows its length).
OFFICE = sa.String(100)


def serial_table(name: str, *items: sa.SchemaItem, **kwargs) -> sa.Table:
    """A table on the shared metadata keyed by ``id``, an integer never reused even after a
    delete (AUTOINCREMENT on SQLite, identity on PostgreSQL), declared before ``items``."""
    return sa.Table(
        name,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        *items,
        sqlite_autoincrement=True,
        **kwargs,
    )


def act_columns(
    act: str, *, nullable: bool = True, comment: str | None = None
) -> tuple[sa.Column, sa.Column]:
    """Who did ``act`` and when: ``<act>_by`` (a username; ``comment`` goes on it) then
    ``<act>_at`` (a UTC instant), both NULL until it happens unless ``nullable`` is False."""
    return (
        sa.Column(f"{act}_by", USERNAME, nullable=nullable, comment=comment),
        sa.Column(f"{act}_at", INSTANT, nullable=nullable),
    )


def roles_column(name: str) -> sa.Column:
    """``name``: the roles a user holds, comma-separated and sorted ('' for none)."""
    return sa.Column(
        name,
        sa.String(100),
        nullable=False,
        server_default="",
        comment="comma-separated, sorted: clerk, officer, approver, inspector, admin",
    )


def demonstration_column() -> sa.Column:
    """``is_demonstration``: the row is a demonstration record, labelled as such wherever it
    appears (false for real data)."""
    return sa.Column("is_demonstration", sa.Boolean, nullable=False, server_default=sa.false())


def version_column() -> sa.Column:
    """``version``: the optimistic-concurrency counter, 1 on insert and +1 on every change;
    a write names the version it saw and is refused when the row has moved on."""
    return sa.Column(
        "version",
        sa.Integer,
        nullable=False,
        server_default="1",
        comment="optimistic-concurrency counter, +1 on every change",
    )


def check_one_of(column: str, values, *, name: str | None = None) -> sa.CheckConstraint:
    """A check that ``column`` holds one of ``values`` (strings: the coded values declared
    with their labels in the domain's vocabulary); named ``name``, by default the column's."""
    # The same text a migration writes with ``migration_support.allowed_values``.
    return sa.CheckConstraint(allowed_values(column, [str(v) for v in values]), name=name or column)
