"""The declared tables (the table modules) and the migrated database agree.

Alembic's autogenerate comparison is run between the shared metadata, with every table
module of the app imported, and a store built by running the migrations; any difference
(a column's type, nullability, an index, a table) is drift that a later change would
trip over. Runs on SQLite and, in CI's second pass, on PostgreSQL + PostGIS.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import boundaries.schema  # noqa: F401  (every table of the app on the metadata)
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
    *(f"ix_psk_{c}" for c in ("chars", "chars_nat", "chars_spec", "chars_rev", "py", "py_nat")),
    *(f"ix_psk_{c}" for c in ("py_spec", "py_rev", "ini", "ini_nat", "ini_spec", "rank")),
    "ix_psk_division_path",
    *(f"ix_psk_{c}" for c in ("chars_term", "chars_term_rev", "py_term", "py_term_rev")),
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


def _diff(store) -> list:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                "include_object": _include,
            },
        )
        return [d for d in compare_metadata(context, metadata) if not _is_comment_only(d)]


def _describe(diff) -> str:
    return "\n".join(repr(d) for d in diff)


def test_declared_tables_match_the_migrated_store(empty_store):
    diff = _diff(empty_store)
    assert diff == [], "table modules and migrations differ:\n" + _describe(diff)


def test_the_comparison_sees_drift(empty_store):
    """The comparison is not blind: a column the table modules lack is reported."""
    with empty_store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE meta ADD COLUMN drifted INTEGER"))
    diff = _diff(empty_store)
    assert any("drifted" in repr(d) for d in diff), _describe(diff)
