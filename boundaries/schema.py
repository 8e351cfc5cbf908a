"""The whole application's schema: the gazetteer's plus the boundaries' tables and migrations.

The boundaries migrations come after the gazetteer's (they reference divisions and install
audit triggers on the gazetteer's audit log)."""

import re
from pathlib import Path

import sqlalchemy as sa

import boundaries.tables  # declares lines, markers, inspections, … on the metadata
from boundaries import vocabulary
from gazetteer.core import migrate
from gazetteer.core.migrate import Schema
from gazetteer.core.store import Store
from gazetteer.schema import SCHEMA as GAZETTEER_SCHEMA

MIGRATIONS = Path(__file__).parent / "migrations"
SCHEMA = GAZETTEER_SCHEMA + Schema((MIGRATIONS,))

_QUOTED = re.compile(r"'((?:[^']|'')*)'")


def _state_checks() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(table, stored CHECK constraint, the codes it must allow) for each constraint that
    follows the marker-state vocabulary; read at call time, as ``marker_state`` is."""
    terms = vocabulary.MARKER_STATE_TERMS
    return (
        ("markers", "ck_markers_state", tuple(s.code for s in terms)),
        (
            "inspections",
            "ck_inspections_found_state",
            tuple(s.code for s in terms if s.found_in_field or s.withdrawn),
        ),
    )


def _allowed(conn, table: str, name: str) -> set[str] | None:
    """The values the stored CHECK constraint ``name`` of ``table`` lists (the quoted
    literals of its text: ``state IN ('a', …)`` on SQLite, ``= ANY (ARRAY['a'::…])`` on
    PostgreSQL); None when the store has no such table or constraint yet."""
    inspector = sa.inspect(conn)
    if not inspector.has_table(table):
        return None
    for check in inspector.get_check_constraints(table):
        if check["name"] == name:
            return {v.replace("''", "'") for v in _QUOTED.findall(check["sqltext"])}
    return None


def marker_states_problem(store: Store, schema: Schema = SCHEMA) -> str | None:
    """One line for an operator when ``boundaries/data/marker_states.csv`` and the store
    disagree, None when they agree: a state the store's records hold is no longer declared,
    or no longer one inspection records may hold (states are never removed: they are
    withdrawn from field use); or a declared state is one the store's CHECK constraints
    refuse (the row shipped without the migration that widens them; the line says which
    migration is missing). ``schema``: the migrations the code has. Either would otherwise
    show only when a record in that state is written or read."""
    return _states_held_but_undeclared(store) or _states_declared_but_refused(store, schema)


def _states_held_but_undeclared(store: Store) -> str | None:
    terms = vocabulary.MARKER_STATE_TERMS
    declared = {s.code for s in terms}
    recordable = {s.code for s in terms if s.found_in_field or s.withdrawn}
    markers, inspections = boundaries.tables.markers, boundaries.tables.inspections
    with store.read(primary=True) as conn:
        if not sa.inspect(conn).has_table("inspections"):
            return None
        held = set(conn.execute(sa.select(markers.c.state).distinct()).scalars())
        found = set()
        for column in (inspections.c.found_state, inspections.c.assessed_state):
            found |= set(conn.execute(sa.select(column).distinct()).scalars())
    gone = sorted((held | found) - declared)
    if gone:
        return (
            f"界桩状态 {', '.join(gone)} 仍见于存储中的记录，但 boundaries/data/marker_states.csv "
            "没有该行：状态一经使用不能删除，请恢复该行（停止现场录入：found_in_field 设为 withdrawn）"
        )
    unrecordable = sorted(found - recordable)
    if unrecordable:
        return (
            f"界桩状态 {', '.join(unrecordable)} 见于检查记录，但 boundaries/data/marker_states.csv "
            "中其 found_in_field 为空：停止现场录入请设为 withdrawn"
        )
    return None


def _states_declared_but_refused(store: Store, schema: Schema) -> str | None:
    checks = _state_checks()
    with store.read(primary=True) as conn:
        stored = {name: _allowed(conn, table, name) for table, name, _ in checks}
    refused = {
        name: [code for code in codes if code not in stored[name]]
        for _, name, codes in checks
        if stored[name] is not None
    }
    names = [name for name, codes in refused.items() if codes]
    if not names:
        return None
    codes = sorted({code for name in names for code in refused[name]})
    unknown = migrate.unknown_revisions(store, schema)
    if unknown:
        fix = migrate.unknown_revisions_message(unknown)
    elif schema.head_revisions() - migrate.current_revisions(store):
        fix = "存储的架构落后于代码，请运行 gdgis db upgrade"
    else:
        head = next(h for h in sorted(schema.head_revisions()) if _in_boundaries(h))
        fix = (
            f"缺少放宽该约束的迁移：在 boundaries/migrations/ 添加修订 {head} 的迁移"
            "（docs/boundaries.md#adding-a-marker-state）"
        )
    return (
        f"界桩状态 {', '.join(codes)} 见于 boundaries/data/marker_states.csv，"
        f"但存储的约束 {', '.join(names)} 不接受：{fix}"
    )


def _in_boundaries(revision: str) -> bool:
    return any(MIGRATIONS.glob(f"{revision}_*.py"))
