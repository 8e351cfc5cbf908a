"""The declared tables (the table modules) and the migrated database agree.

Alembic's autogenerate comparison is run between the shared metadata, with every table
module of the app imported, and a store built by running the migrations; any difference
(a column's type, nullability, server default, an index, a table) is drift that a later
change would trip over. Alembic does not compare CHECK constraints, so this module does:
per table, their names and their SQL text, both normalised (``_normalise_sql``) so that
the text SQLite keeps, PostgreSQL's ``pg_get_constraintdef`` and the declared text compare
equal when they mean the same. A coded value added to a vocabulary (a new marker state)
without a migration is drift. Runs on SQLite and, in CI's second pass, on PostgreSQL +
PostGIS.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import boundaries.schema
import gazetteer.schema as gazetteer_schema
from boundaries.vocabulary import MARKER_STATES
from gazetteer.core.columns import check_one_of
from gazetteer.core.store import metadata

# Objects that the migrations own and the table modules deliberately do not declare:
# PostGIS's own tables, Alembic's bookkeeping, and the PostgreSQL-only search indexes of
# migration 0005 (expression and operator-class indexes that SQLAlchemy cannot reflect back),
# and SQLite-only indexes.
IGNORED_TABLES = {"alembic_version", "spatial_ref_sys"}
POSTGRES_ONLY_INDEXES = {
    "ix_places_name_trgm",
    "ix_places_name_pattern",
    "ix_divisions_path_pattern",
    "ix_places_geom",
    "ix_divisions_geom",
    "ix_boundary_lines_geom",
    "ix_markers_geom",
    "ix_proposals_location",
    # migration 0034p: operator-class indexes of the search keys
    *(f"ix_psk_{c}" for c in ("chars", "chars_nat", "chars_spec", "py", "py_nat", "py_spec")),
    *(f"ix_psk_{c}" for c in ("ini", "ini_nat", "ini_spec", "rank", "division_path")),
    # migration 0037: the typo search's terms, and names by length and prefix
    "ix_psk_chars_len",
    "ix_psk_py_len",
    "ix_pst_term",
    "ix_pst_term_rev",
}
# SQLite-only indexes of the migrations (narrow copies of a rowid, which PostgreSQL's
# primary-key index already is): migration 0018b.
SQLITE_ONLY_INDEXES = {"ix_places_id"}


def _include(obj, name, type_, reflected, compare_to):
    if type_ == "table" and name in IGNORED_TABLES:
        return False
    if type_ == "index" and reflected and name in POSTGRES_ONLY_INDEXES | SQLITE_ONLY_INDEXES:
        return False
    return True


def _is_comment_only(entry) -> bool:
    """Column and table comments are documentation kept in the table modules: PostgreSQL
    stores them, SQLite does not, and no query depends on them."""
    if isinstance(entry, list):
        return all(op[0] == "modify_comment" for op in entry)
    return entry[0] in {"add_table_comment", "remove_table_comment"}


# A string literal, or a run of anything else (which is normalised).
_SQL_TOKENS = re.compile(r"('(?:[^']|'')*')|([^']+)")


def _normalise_sql(sql: str | None) -> str | None:
    """SQL text of a CHECK constraint or a default, reduced to what it means for our
    checks: string literals kept as written; elsewhere lower case, no whitespace, no
    double quotes, no parentheses, no PostgreSQL casts (``::text``), and ``= ANY ARRAY[…]``
    read as ``IN (…)``."""
    if sql is None:
        return None
    parts = []
    for literal, other in _SQL_TOKENS.findall(sql):
        if literal:
            parts.append(literal)
            continue
        other = re.sub(r"::[a-z ]+(\[\])?", "", other.lower())
        parts.append(re.sub(r"[\s\"()]", "", other))
    text = "".join(parts).replace("=anyarray[", "in[").replace("]", "")
    return text.replace("in[", "in")


def _compare_server_default(
    context, inspected_column, metadata_column, inspected, declared, rendered
):
    """Alembic's hook: True when the stored and declared defaults differ after
    normalisation (SQLite keeps ``'intact'``, PostgreSQL ``'intact'::character varying``,
    Alembic renders a declared string default without its quotes)."""

    def unquoted(sql):
        sql = _normalise_sql(sql)
        return sql[1:-1].replace("''", "'") if sql and re.fullmatch(r"'(?:[^']|'')*'", sql) else sql

    return unquoted(inspected) != unquoted(rendered)


def _declared_checks(target: sa.MetaData, table: str) -> dict[str, str]:
    return {
        str(c.name): str(c.sqltext)
        for c in target.tables[table].constraints
        if isinstance(c, sa.CheckConstraint)
    }


def _canonical_pg_check(conn, table: str, sql: str) -> str:
    """What PostgreSQL stores for ``sql`` as a check on ``table``: added (NOT VALID) to an
    empty temporary copy of the table and read back, then the copy rolled back."""
    with conn.begin_nested() as savepoint:
        conn.exec_driver_sql(f'CREATE TEMPORARY TABLE drift_probe (LIKE "{table}")')
        conn.exec_driver_sql(
            f"ALTER TABLE drift_probe ADD CONSTRAINT probe CHECK ({sql}) NOT VALID"
        )
        stored = conn.execute(
            sa.text(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conname = 'probe' AND conrelid = 'drift_probe'::regclass"
            )
        ).scalar_one()
        savepoint.rollback()
    return re.sub(r"^CHECK \((.*)\)( NOT VALID)?$", r"\1", stored)


def _check_diff(conn, target: sa.MetaData) -> list:
    """CHECK constraints that differ, per table: ("add_check" | "remove_check" |
    "modify_check", table, name, declared SQL, stored SQL)."""
    inspector = sa.inspect(conn)
    postgres = conn.dialect.name == "postgresql"
    diff = []
    for table in sorted(set(inspector.get_table_names()) & set(target.tables)):
        stored = {c["name"]: c["sqltext"] for c in inspector.get_check_constraints(table)}
        declared = _declared_checks(target, table)
        for name in sorted(set(stored) | set(declared)):
            if name not in stored:
                diff.append(("add_check", table, name, declared[name], None))
            elif name not in declared:
                diff.append(("remove_check", table, name, None, stored[name]))
            else:
                want = declared[name]
                if postgres:
                    want = _canonical_pg_check(conn, table, want)
                if _normalise_sql(want) != _normalise_sql(stored[name]):
                    diff.append(("modify_check", table, name, declared[name], stored[name]))
    return diff


def _diff(store, target: sa.MetaData = metadata) -> list:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": _compare_server_default,
                "include_object": _include,
            },
        )
        found = [d for d in compare_metadata(context, target) if not _is_comment_only(d)]
        return found + _check_diff(conn, target)


def _declared_copy(table: str, *, check=None, column=None) -> sa.MetaData:
    """A copy of the declared tables in which ``table`` gets ``column`` in place of the
    column of that name, or ``check`` ((name, constraint)) in place of the CHECK constraint
    named so: a table module edited without a migration, the real one left alone."""
    copy = sa.MetaData(naming_convention=metadata.naming_convention)
    for t in metadata.sorted_tables:
        t.to_metadata(copy)
    changed = copy.tables[table]
    if column is not None:
        changed._columns.remove(changed.c[column.name])
        changed.append_column(column)
    if check is not None:
        old_name, constraint = check
        changed.constraints = {c for c in changed.constraints if str(c.name) != old_name}
        changed.append_constraint(constraint)
    return copy


def _describe(diff) -> str:
    return "\n".join(repr(d) for d in diff)


def test_declared_tables_match_the_migrated_store(empty_store):
    diff = _diff(empty_store)
    assert diff == [], "table modules and migrations differ:\n" + _describe(diff)


def test_a_new_marker_state_without_a_migration_is_drift(empty_store):
    """A state added to the vocabulary changes the markers' CHECK constraint; without a
    migration the stores would refuse the new state, so the comparison must report it."""
    new_states = check_one_of("state", MARKER_STATES + ("obscured",))
    target = _declared_copy("markers", check=("ck_markers_state", new_states))
    diff = _diff(empty_store, target)
    assert [d[:3] for d in diff] == [("modify_check", "markers", "ck_markers_state")], _describe(
        diff
    )


def test_a_renamed_check_constraint_is_drift(empty_store):
    renamed = check_one_of("state", MARKER_STATES, name="marker_state")
    diff = _diff(empty_store, _declared_copy("markers", check=("ck_markers_state", renamed)))
    assert sorted(d[:3] for d in diff) == [
        ("add_check", "markers", "ck_markers_marker_state"),
        ("remove_check", "markers", "ck_markers_state"),
    ], _describe(diff)


def test_a_changed_server_default_is_drift(empty_store):
    column = sa.Column("state", sa.String(12), nullable=False, server_default="unknown")
    diff = _diff(empty_store, _declared_copy("markers", column=column))
    assert any(
        "modify_default" in repr(d) and "markers" in repr(d) and "state" in repr(d) for d in diff
    ), _describe(diff)
    assert len(diff) == 1, _describe(diff)


def test_each_domain_has_one_migration_head():
    """A new migration revises its domain's one head (docs/migrations.md); two heads in a
    folder mean a merge revision is missing."""
    schemas = {"gazetteer": gazetteer_schema.SCHEMA, "boundaries": boundaries.schema.SCHEMA}
    heads = {}
    for domain, schema in schemas.items():
        script = ScriptDirectory.from_config(schema.config())
        own_folder = str(schema.version_dirs[-1])
        heads[domain] = [
            h for h in script.get_heads() if script.get_revision(h).path.startswith(own_folder)
        ]
    assert {d: len(h) for d, h in heads.items()} == {"gazetteer": 1, "boundaries": 1}, heads
    assert len(boundaries.schema.SCHEMA.head_revisions()) == 2


def test_the_comparison_sees_drift(empty_store):
    """The comparison is not blind: a column the table modules lack is reported."""
    with empty_store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE meta ADD COLUMN drifted INTEGER"))
    diff = _diff(empty_store)
    assert any("drifted" in repr(d) for d in diff), _describe(diff)
