"""The audit log: every row written to an audited table is recorded once, by the database.

Triggers (created by the migrations through ``gazetteer.core.migration_support``) insert one ``audit_log``
row — (time, actor, transaction, table, operation, primary key) — for every INSERT, UPDATE
and DELETE, inside the writing transaction: a write and its audit entry commit or vanish
together, and no code path can forget to log. Further triggers refuse UPDATE and DELETE
on ``audit_log`` itself.

The actor and transaction id come from ``Store.write(actor=...)``: on SQLite through the
connection functions ``gdgis_actor()``/``gdgis_tx()`` that the store registers on every
connection (a connection without them cannot write to audited tables at all), on
PostgreSQL through ``SET LOCAL``-style settings ``gdgis.actor``/``gdgis.tx`` read by the
plpgsql trigger function.

A table added by a later migration must call
``migration_support.install_audit_triggers(op.get_bind(), {...})``;
``tests/test_audit.py`` fails for any table of the metadata without triggers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from gazetteer.core import migration_support
from gazetteer.core.store import Store, metadata

# Tables whose writes are not audited: the log itself, request bookkeeping, the search
# keys derived from places (gazetteer.search_keys: rewritten with every audited place write)
# and the store's id (gazetteer.core.store_identity: written once).
UNAUDITED_TABLES = frozenset(
    {
        "audit_log",
        "rate_limit_buckets",
        "idempotency_keys",
        "place_search_keys",
        "place_search_terms",
        "place_search_grams",
        "store_identity",
    }
)


def audited_tables(meta: sa.MetaData = metadata) -> dict[str, tuple[str, ...]]:
    """{table name: primary-key column names} of every table declared on ``meta`` that must
    be audited. Only tables whose modules have been imported are declared: the caller
    loads its schema first (``boundaries.schema`` for the whole app)."""
    return {
        t.name: tuple(c.name for c in t.primary_key.columns)
        for t in meta.sorted_tables
        if t.name not in UNAUDITED_TABLES
    }


def install_triggers(conn, tables: Mapping[str, Sequence[str]]) -> None:
    """(Re)create the audit triggers of ``tables`` ({name: primary-key columns}). Idempotent."""
    migration_support.install_audit_triggers(conn, tables)


def trigger_names(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        return set(
            conn.exec_driver_sql("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").scalars()
        )
    return set(
        conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'trigger'").scalars()
    )


def expected_trigger_names(dialect: str, tables) -> set[str]:
    if dialect == "postgresql":
        return {f"audit_{t}" for t in tables} | {"audit_log_append_only", "audit_log_no_truncate"}
    return {
        migration_support.sqlite_trigger_name(t, op) for t in tables for op in migration_support.OPS
    } | {"audit_log_no_update", "audit_log_no_delete"}


@dataclass
class AuditReport:
    """What ``verify`` found; ``ok`` when there is nothing in ``problems``."""

    entries: int = 0
    tables: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(store: Store) -> AuditReport:
    """Check that the log is complete and untouched:

    - every audited table has its triggers, and ``audit_log`` its append-only triggers;
    - on SQLite, entry ids have no gaps (AUTOINCREMENT ids of rolled-back transactions are
      reused, so a gap means a deleted entry; PostgreSQL sequences leave gaps by design);
    - per table, the rows the log says exist (last entry not DELETE) are exactly the rows
      that exist, so no write escaped the log."""
    from gazetteer.core.account_tables import audit_log

    tables = audited_tables()
    report = AuditReport(tables=len(tables))
    with store.read() as conn:
        missing = expected_trigger_names(conn.dialect.name, tables) - trigger_names(conn)
        if missing:
            report.problems.append(f"missing triggers: {', '.join(sorted(missing))}")
        count, low, high = conn.execute(
            sa.select(sa.func.count(), sa.func.min(audit_log.c.id), sa.func.max(audit_log.c.id))
        ).one()
        report.entries = count
        if conn.dialect.name == "sqlite" and count and high - low + 1 != count:
            report.problems.append(
                f"audit_log ids {low}..{high} have {high - low + 1 - count} gap(s)"
            )
        alive: dict[str, dict[str, str]] = defaultdict(dict)
        for table_name, op, row_key in conn.execute(
            sa.select(audit_log.c.table_name, audit_log.c.op, audit_log.c.row_key).order_by(
                audit_log.c.id
            )
        ):
            alive[table_name][row_key] = op
        for name, columns in tables.items():
            logged = {k for k, op in alive[name].items() if op != "DELETE"}
            existing = set(
                conn.exec_driver_sql(
                    f'SELECT {migration_support.key_sql(columns)} FROM "{name}"'
                ).scalars()
            )
            if logged != existing:
                report.problems.append(
                    f"{name}: {len(existing - logged)} row(s) without an audit entry, "
                    f"{len(logged - existing)} logged row(s) missing"
                )
    return report


def entries(
    store: Store, *, table: str | None = None, row_key: str | None = None, limit: int = 100
) -> list[dict]:
    """Newest audit entries first, optionally for one table or one row."""
    from gazetteer.core.account_tables import audit_log

    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if table:
        query = query.where(audit_log.c.table_name == table)
    if row_key is not None:
        query = query.where(audit_log.c.row_key == str(row_key))
    with store.read() as conn:
        return [r._asdict() for r in conn.execute(query)]
