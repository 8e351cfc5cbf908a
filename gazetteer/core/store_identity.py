"""The store's identity: a random id made once, when the store is created.

Migration 0036 creates ``store_identity`` with its one row (a store created before it gets
its id on upgrade). A backup records the id in its manifest (``gazetteer.core.backup``), and
a restore refuses a backup of another store unless the operator says so: a backup taken
of a store made by a mistyped ``--data-dir`` must not quietly replace the real one. A
restore keeps the replaced store's id (the id names the store, not its content).

Not audited (``gazetteer.core.audit.UNAUDITED_TABLES``): it is written once and records
nothing about places or people.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from gazetteer.core.store import metadata

store_identity = sa.Table(
    "store_identity",
    metadata,
    sa.Column(
        "store_id",
        sa.String(32),
        primary_key=True,
        comment="random hex (uuid4), made once when the store is created; never changed",
    ),
)


def sqlite_store_id(path: Path) -> str | None:
    """The id of the SQLite store file ``path`` (read-only); None for a store made before
    store ids (not upgraded yet) or a file that is no store."""
    conn = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True)
    try:
        row = conn.execute(f"SELECT store_id FROM {store_identity.name}").fetchone()
    except sqlite3.DatabaseError:  # no such table: made before store ids
        return None
    finally:
        conn.close()
    return str(row[0]) if row else None
