"""Frozen helpers for migration scripts: the geometry column type and the audit triggers.

Migrations must keep doing what they did when they were written, whatever the live code
becomes, so they import nothing from the application but this module. Treat every
function here as part of a released schema: never change what it emits; add a new
function (``…_v2``) when a later migration needs something else. The live audit module
calls these same functions so that a trigger made by a migration and one re-made by
``gdgis admin audit-repair`` are identical.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import sqlalchemy as sa

SRID = 4490  # CGCS2000 geographic, longitude/latitude order in storage

OPS = ("INSERT", "UPDATE", "DELETE")
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

PG_AUDIT_FUNCTION = """
CREATE OR REPLACE FUNCTION gdgis_audit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  rec jsonb;
  row_key text := '';
  i integer;
BEGIN
  IF TG_OP = 'DELETE' THEN rec := to_jsonb(OLD); ELSE rec := to_jsonb(NEW); END IF;
  FOR i IN 0 .. TG_NARGS - 1 LOOP
    IF i > 0 THEN row_key := row_key || '|'; END IF;
    row_key := row_key || (rec ->> TG_ARGV[i]);
  END LOOP;
  INSERT INTO audit_log (at, actor, tx, table_name, op, row_key)
  VALUES (clock_timestamp(), NULLIF(current_setting('gdgis.actor', true), ''),
          COALESCE(NULLIF(current_setting('gdgis.tx', true), ''), txid_current()::text),
          TG_TABLE_NAME, TG_OP, row_key);
  RETURN NULL;
END $$
"""

PG_APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION gdgis_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END $$
"""


class MigrationGeometry(sa.types.TypeDecorator):
    """Geometry column DDL as of schema v1: PostGIS geometry(GEOMETRY, 4490) on PostgreSQL,
    a BLOB of WKB on SQLite. DDL only: migrations never read or write geometries."""

    impl = sa.LargeBinary
    cache_ok = True
    spatial_index = (
        False  # read by geoalchemy2's DDL hooks: migrations make GiST indexes themselves
    )

    def load_dialect_impl(self, dialect):
        if dialect is not None and dialect.name == "postgresql":
            from geoalchemy2 import Geometry as PostGISGeometry

            return dialect.type_descriptor(
                PostGISGeometry(geometry_type="GEOMETRY", srid=SRID, spatial_index=False)
            )
        return sa.LargeBinary() if dialect is None else dialect.type_descriptor(sa.LargeBinary())


def key_sql(columns: Sequence[str], prefix: str = "") -> str:
    """SQL text of a row's key: the primary-key columns cast to text, '|'-joined
    (the same on SQLite and PostgreSQL)."""
    return " || '|' || ".join(f"CAST({prefix}{c} AS TEXT)" for c in columns)


def sqlite_trigger_name(table: str, op: str) -> str:
    return f"audit_{table}_{op.lower()}"


def install_audit_triggers(conn, tables: Mapping[str, Sequence[str]]) -> None:
    """(Re)create the audit triggers of ``tables`` ({name: primary-key columns}). Idempotent."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(PG_AUDIT_FUNCTION)
        for table, columns in tables.items():
            args = ", ".join(f"'{c}'" for c in columns)
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS audit_{table} ON "{table}"')
            conn.exec_driver_sql(
                f'CREATE TRIGGER audit_{table} AFTER INSERT OR UPDATE OR DELETE ON "{table}" '
                f"FOR EACH ROW EXECUTE FUNCTION gdgis_audit({args})"
            )
        return
    for table, columns in tables.items():
        for op in OPS:
            row = "OLD." if op == "DELETE" else "NEW."
            name = sqlite_trigger_name(table, op)
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
            conn.exec_driver_sql(
                f'CREATE TRIGGER {name} AFTER {op} ON "{table}" BEGIN '
                f"INSERT INTO audit_log (at, actor, tx, table_name, op, row_key) VALUES "
                f"({SQLITE_NOW}, gdgis_actor(), gdgis_tx(), '{table}', '{op}', {key_sql(columns, row)}); END"
            )


def drop_audit_triggers(conn, tables: Sequence[str]) -> None:
    for table in tables:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f'DROP TRIGGER IF EXISTS audit_{table} ON "{table}"')
        else:
            for op in OPS:
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {sqlite_trigger_name(table, op)}")


def install_append_only(conn) -> None:
    """Triggers that make ``audit_log`` refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(PG_APPEND_ONLY_FUNCTION)
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION gdgis_audit_append_only()"
        )
        conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION gdgis_audit_append_only()"
        )
        return
    for op in ("UPDATE", "DELETE"):
        name = f"audit_log_no_{op.lower()}"
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(
            f"CREATE TRIGGER {name} BEFORE {op} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def record_baseline(conn, tables: Mapping[str, Sequence[str]], actor: str) -> None:
    """One BASELINE entry for every row that exists before auditing starts, so that the
    log accounts for every row of an upgraded store."""
    now = "clock_timestamp()" if conn.dialect.name == "postgresql" else SQLITE_NOW
    for table, columns in tables.items():
        conn.exec_driver_sql(
            f"INSERT INTO audit_log (at, actor, tx, table_name, op, row_key) "
            f"SELECT {now}, '{actor}', NULL, '{table}', 'BASELINE', {key_sql(columns)} FROM \"{table}\""
        )


def rename_check_constraints(conn, table: str, renames: Mapping[str, str]) -> None:
    """Rename CHECK constraints of ``table`` ({old name: new name}), keeping its rows,
    indexes and triggers.

    PostgreSQL renames in place; a name longer than its 63-character limit is stored
    truncated the way SQLAlchemy truncates it (``_pg_name``).
    SQLite cannot rename a constraint, and a batch rebuild (copy, DROP TABLE, rename)
    is refused for a table other tables reference: with ``foreign_keys=ON`` inside the
    migration's transaction the DROP's implicit DELETE violates their foreign keys. A
    constraint's name is only text in the table's CREATE statement, not in the stored
    rows, so the name is changed there instead, the way SQLite's ALTER TABLE documentation
    describes for changes that leave the stored data as it is (section 7: edit
    ``sqlite_schema`` with ``writable_schema``, then bump ``schema_version``).
    """
    if conn.dialect.name == "postgresql":
        existing = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT conname FROM pg_constraint "
                    "WHERE conrelid = CAST(:table AS regclass) AND contype = 'c'"
                ),
                {"table": table},
            )
        ]
        for old, new in renames.items():
            stored = _pg_name(old)
            if stored not in existing:
                raise ValueError(f"{table} has no CHECK constraint named {stored}")
            conn.exec_driver_sql(
                f'ALTER TABLE "{table}" RENAME CONSTRAINT "{stored}" TO "{_pg_name(new)}"'
            )
        return
    sql = conn.execute(
        sa.text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :table"),
        {"table": table},
    ).scalar_one()
    for old, new in renames.items():
        if f"CONSTRAINT {old} " not in sql:
            raise ValueError(f"{table} has no CHECK constraint named {old}")
        sql = sql.replace(f"CONSTRAINT {old} ", f"CONSTRAINT {new} ")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.execute(
        sa.text("UPDATE sqlite_master SET sql = :sql WHERE type = 'table' AND name = :table"),
        {"sql": sql, "table": table},
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {version + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")
    problems = conn.exec_driver_sql("PRAGMA integrity_check").scalars().all()
    if problems != ["ok"]:
        raise RuntimeError(f"integrity check after renaming constraints of {table}: {problems}")


def _pg_name(name: str) -> str:
    """``name`` as SQLAlchemy stores it on PostgreSQL: over 63 characters, the first 55,
    ``_`` and the last four hex digits of its MD5."""
    if len(name) <= 63:
        return name
    return name[:55] + "_" + hashlib.md5(name.encode()).hexdigest()[-4:]


def undouble_check_names(conn, short_names: Mapping[str, Sequence[str]], *, undo=False) -> None:
    """Rename ``ck_<table>_ck_<table>_<short>`` (a full name passed where the naming
    convention wanted the short one, so prefixed twice) to ``ck_<table>_<short>``, for
    ``short_names`` ({table: short names}); ``undo`` renames back."""
    for table, shorts in short_names.items():
        renames = {f"ck_{table}_ck_{table}_{s}": f"ck_{table}_{s}" for s in shorts}
        if undo:
            renames = {new: old for old, new in renames.items()}
        rename_check_constraints(conn, table, renames)


def replace_check_constraint(
    op, table: str, name: str, condition: str, key_columns: Sequence[str]
) -> None:
    """Replace the CHECK constraint ``ck_<table>_<name>`` of ``table`` by one named the
    same that checks ``condition`` (SQL text, e.g. ``"state IN ('intact', 'submerged')"``:
    the values written out in full, as a migration must); ``op`` is the migration's
    ``alembic.op``, ``key_columns`` the table's primary-key columns (for its audit triggers).

    PostgreSQL drops and adds the constraint in place. SQLite rebuilds the table (Alembic's
    batch mode: copy, DROP, rename) and the rebuild drops its triggers, so the audit
    triggers are made again. Rows of other tables that refer to this one stay valid: the
    migration runner (``gazetteer.core.migrate``) switches SQLite's foreign keys off
    around the migration and refuses it if ``PRAGMA foreign_key_check`` reports a row.
    A CHECK that a stored row breaks fails the migration on both stores (nothing changes).
    """
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(op.f(f"ck_{table}_{name}"), type_="check")
        batch.create_check_constraint(name, sa.text(condition))
    install_audit_triggers(op.get_bind(), {table: key_columns})


def allowed_values(column: str, values: Sequence[str]) -> str:
    """SQL text of the check that ``column`` holds one of ``values``, in the form the
    table modules declare (``column IN ('a', 'b')``)."""
    quoted = ", ".join("'" + v.replace("'", "''") + "'" for v in values)
    return f"{column} IN ({quoted})"
