"""What a restore changes beyond the rows it discards, and what it must not undo.

A restore puts every table back as the backup holds it. Besides the rows written after the
backup (discarded), that reverts rows changed after it and brings back rows deleted after
it; among them are decisions an operator must not lose silently:

- **Access withdrawn after the backup stays withdrawn.** An API token revoked, a session
  signed out, an account deactivated, a role taken away or a password changed after the
  backup was withdrawn for a reason (a leaked token, a person who left); the backup would
  bring the token, the session, the account, the role or the old password back to life. The restore applies each such
  withdrawal again, as one audited write by ``system:restore`` (``keep_withdrawals``), and
  names it. Access *granted* after the backup is reverted like any other row (the
  backup's narrower access stands) and named too; grant it again by hand if it is wanted.
- **Accounts are matched by username, tokens by their hash and owner's username**, never by
  numeric id: a backup of another store (``restore(..., from_other_store=True)``) gives its
  own ids to other people, and a password hash, role or token must never move from one
  account to another.
- **Ids are never issued twice.** SQLite's AUTOINCREMENT counters (``sqlite_sequence``)
  come back from the backup, so the next proposal would get the id of one the restore
  discarded, and a client that saw id N would see another record under N.
  ``advance_sequences`` sets each counter past the highest id the replaced store ever
  issued. ``audit_log`` is the exception: its ids must have no gaps (``audit.verify``), and
  its discarded entries stay in the kept copy of the replaced store. ``place_versions``
  has no AUTOINCREMENT (its ids follow its rows), so it cannot be advanced.

Everything here reads two SQLite files on one ``sqlite3`` connection: the restored store
(``main``) and the kept copy of the replaced store, attached as ``replaced``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from gazetteer.core.account_tables import api_tokens, user_sessions, users
from gazetteer.core.store import Store
from gazetteer.core.store_identity import store_identity
from gazetteer.core.text import displayable, stored_bytes_as_text

RESTORE_ACTOR = "system:restore"
# Counters left as the backup holds them (see the module docstring).
SEQUENCES_NOT_ADVANCED = frozenset({"audit_log"})
# Rows listed one by one when their state went back (at most this many per table).
STATE_LINES_PER_TABLE = 20


@dataclass
class TableChanges:
    """Rows of one table that the restore discarded (only in the replaced store), reverted
    (in both, different) and revived (only in the backup: deleted after it)."""

    discarded: int = 0
    reverted: int = 0
    revived: int = 0


@dataclass
class Withdrawal:
    """Access withdrawn after the backup, applied again: ``table``, the row whose
    ``key_column`` (its stable identity: ``username``, ``token_sha256``) holds ``key``, and
    the values to set."""

    table: str
    key_column: str
    key: str
    values: dict
    line: str


@dataclass
class RestoreChanges:
    tables: dict[str, TableChanges] = field(default_factory=dict)
    security: list[str] = field(default_factory=list)  # access the backup grants back, named
    withdrawals: list[Withdrawal] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    sequences: dict[str, tuple[int, int]] = field(default_factory=dict)  # backup's -> now

    def counts(self, kind: str) -> dict[str, int]:
        return {t: getattr(c, kind) for t, c in sorted(self.tables.items()) if getattr(c, kind)}


def open_pair(restored: Path, replaced: Path) -> sqlite3.Connection:
    """One connection: ``main`` is the restored store (writable), ``replaced`` the kept
    copy (read-only). Text is read as the store reads it (undecodable bytes as U+FFFD)."""
    # URIs (percent-encoded: a path may hold '?' or '#') so that the copy opens read-only.
    conn = sqlite3.connect(Path(restored).resolve().as_uri(), uri=True)
    conn.text_factory = stored_bytes_as_text
    conn.execute("ATTACH DATABASE ? AS replaced", (Path(replaced).resolve().as_uri() + "?mode=ro",))
    return conn


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(conn, schema: str, table: str) -> list[tuple[str, int]]:
    """(name, position in the primary key; 0 when not in it) of each column."""
    return [(r[1], r[5]) for r in conn.execute(f"PRAGMA {schema}.table_info({_q(table)})")]


def _table_changes(conn, table: str) -> TableChanges | None:
    mine, theirs = _columns(conn, "main", table), _columns(conn, "replaced", table)
    keys = [name for name, pk in sorted((c for c in mine if c[1]), key=lambda c: c[1])]
    if not theirs or not keys:
        return None
    shared = [name for name, _pk in mine if name in {n for n, _ in theirs} and name not in keys]
    on = " AND ".join(f"m.{_q(k)} IS r.{_q(k)}" for k in keys)
    differs = " OR ".join(f"m.{_q(c)} IS NOT r.{_q(c)}" for c in shared) or "0"
    t = _q(table)
    k0 = _q(keys[0])
    discarded, revived, reverted = (
        conn.execute(sql).fetchone()[0]
        for sql in (
            f"SELECT count(*) FROM replaced.{t} r LEFT JOIN main.{t} m ON {on} WHERE m.{k0} IS NULL",
            f"SELECT count(*) FROM main.{t} m LEFT JOIN replaced.{t} r ON {on} WHERE r.{k0} IS NULL",
            f"SELECT count(*) FROM main.{t} m JOIN replaced.{t} r ON {on} WHERE {differs}",
        )
    )
    return TableChanges(discarded, reverted, revived)


def _tables(conn, schema: str) -> set[str]:
    return {
        r[0]
        for r in conn.execute(
            f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%'"
        )
    }


# One token in both stores: the same hash, owned by the same username (ids are the store's own).
_SAME_TOKEN = (
    "{m}.token_sha256 = {r}.token_sha256 AND "
    "(SELECT username FROM main.users WHERE id = {m}.user_id) = "
    "(SELECT username FROM replaced.users WHERE id = {r}.user_id)"
)


def _token_changes(conn, changes: RestoreChanges) -> None:
    rows = conn.execute(
        "SELECT m.id, u.username, m.name, m.revoked_at, r.revoked_at, m.token_sha256 "
        "FROM main.api_tokens m JOIN replaced.api_tokens r ON "
        + _SAME_TOKEN.format(m="m", r="r")
        + " JOIN main.users u ON u.id = m.user_id WHERE m.revoked_at IS NOT r.revoked_at"
    )
    for token_id, username, name, backup_revoked, revoked, token_sha256 in rows:
        who = f"token {token_id} of {displayable(username)} ({displayable(name)})"
        if revoked is not None:
            changes.withdrawals.append(
                Withdrawal(
                    "api_tokens",
                    "token_sha256",
                    token_sha256,
                    {"revoked_at": revoked},
                    f"{who} was revoked after the backup (at {revoked}): revoked again",
                )
            )
        else:
            changes.security.append(
                f"{who} was revoked at {backup_revoked} in the backup and is revoked again"
            )
    issued_after = conn.execute(
        "SELECT r.id, u.username, r.name FROM replaced.api_tokens r "
        "JOIN replaced.users u ON u.id = r.user_id WHERE r.revoked_at IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM main.api_tokens m WHERE " + _SAME_TOKEN.format(m="m", r="r") + ")"
    )
    for token_id, username, name in issued_after:
        changes.security.append(
            f"token {token_id} of {displayable(username)} ({displayable(name)}) was issued "
            "after the backup: it no longer works (issue a new one)"
        )


def _session_changes(conn, changes: RestoreChanges) -> None:
    """Sessions ended after the backup (a sign-out, a password change, a deactivation) end
    again: the backup would let every copy of their cookies sign in. Sessions started after
    it are discarded with their rows (their cookies no longer sign in: safe, not listed)."""
    rows = conn.execute(
        "SELECT m.session_sha256, u.username, r.ended_at FROM main.user_sessions m "
        "JOIN replaced.user_sessions r ON m.session_sha256 = r.session_sha256 "
        "JOIN main.users u ON u.id = m.user_id "
        "WHERE m.ended_at IS NULL AND r.ended_at IS NOT NULL "
        "AND u.username = (SELECT username FROM replaced.users WHERE id = r.user_id)"
    )
    for session_sha256, username, ended in rows:
        changes.withdrawals.append(
            Withdrawal(
                "user_sessions",
                "session_sha256",
                session_sha256,
                {"ended_at": ended},
                f"a session of {displayable(username)} was ended after the backup "
                f"(at {ended}): ended again",
            )
        )


def _roles(text: str | None) -> set[str]:
    return {r for r in (text or "").split(",") if r}


def _account_changes(conn, changes: RestoreChanges) -> None:
    rows = conn.execute(
        "SELECT m.username, m.active, r.active, m.roles, r.roles, "
        "m.password_hash IS NOT r.password_hash, r.password_hash "
        "FROM main.users m JOIN replaced.users r ON m.username = r.username "
        "WHERE m.active IS NOT r.active OR m.roles IS NOT r.roles "
        "OR m.password_hash IS NOT r.password_hash"
    )
    for username, backup_active, active, backup_roles, roles, new_password, hash_ in rows:
        who = f"account {displayable(username)}"
        keep: dict = {}
        lines = []
        if backup_active and not active:
            keep["active"] = False
            lines.append("was deactivated after the backup: deactivated again")
        elif active and not backup_active:
            changes.security.append(
                f"{who} was activated after the backup: inactive again, as in the backup"
            )
        taken = _roles(backup_roles) - _roles(roles)
        if taken:
            keep["roles"] = ",".join(sorted(_roles(backup_roles) - taken))
            lines.append(f"lost role(s) {','.join(sorted(taken))} after the backup: removed again")
        given = _roles(roles) - _roles(backup_roles)
        if given:
            changes.security.append(
                f"{who} was given role(s) {','.join(sorted(given))} after the backup: "
                "not held any more, as in the backup"
            )
        if new_password:
            keep["password_hash"] = hash_
            lines.append("changed password after the backup: the newer password kept")
        if keep:
            changes.withdrawals.append(
                Withdrawal("users", "username", username, keep, f"{who} " + "; ".join(lines))
            )
    created_after = conn.execute(
        "SELECT r.username FROM replaced.users r LEFT JOIN main.users m "
        "ON m.username = r.username WHERE m.id IS NULL AND r.active ORDER BY r.username"
    )
    for (username,) in created_after:
        changes.security.append(
            f"account {displayable(username)} was created after the backup (or is not in "
            "it): it no longer exists (create it again if it is wanted)"
        )


def _state_changes(conn, changes: RestoreChanges, table: str) -> None:
    t = _q(table)
    rows = conn.execute(
        f"SELECT m.id, r.state, m.state FROM main.{t} m JOIN replaced.{t} r ON m.id = r.id "
        f"WHERE m.state IS NOT r.state ORDER BY m.id"
    ).fetchall()
    for row_id, state, backup_state in rows[:STATE_LINES_PER_TABLE]:
        changes.states.append(f"{table} {row_id}: {state} -> {backup_state} (as in the backup)")
    if len(rows) > STATE_LINES_PER_TABLE:
        changes.states.append(f"{table}: {len(rows) - STATE_LINES_PER_TABLE} more")


def compare(conn) -> RestoreChanges:
    """What the restore changed, from ``open_pair``'s connection."""
    changes = RestoreChanges()
    both = _tables(conn, "main") & _tables(conn, "replaced")
    for table in sorted(_tables(conn, "main") | _tables(conn, "replaced")):
        if table not in both or table == store_identity.name:  # kept as it was (keep_store_id)
            continue
        found = _table_changes(conn, table)
        if found is not None:
            changes.tables[table] = found
        names = {name for name, _pk in _columns(conn, "main", table)}
        if {"id", "state"} <= names and {"id", "state"} <= {
            n for n, _pk in _columns(conn, "replaced", table)
        }:
            _state_changes(conn, changes, table)
    if {"users", "api_tokens"} <= both:
        _token_changes(conn, changes)
        _account_changes(conn, changes)
    if {"users", "user_sessions"} <= both:
        _session_changes(conn, changes)
    return changes


def keep_store_id(conn) -> None:
    """The restored store keeps the replaced store's id (``gazetteer.core.store_identity``:
    the id names the store, not its content). Nothing when either has none (a backup made
    before store ids gets one when it is upgraded). Commits."""
    t = _q(store_identity.name)
    if store_identity.name in _tables(conn, "main") & _tables(conn, "replaced"):
        kept = conn.execute(f"SELECT store_id FROM replaced.{t}").fetchone()
        if kept is not None:
            conn.execute(f"DELETE FROM main.{t}")
            conn.execute(f"INSERT INTO main.{t} (store_id) VALUES (?)", kept)
    conn.commit()


def advance_sequences(conn) -> dict[str, tuple[int, int]]:
    """Set each AUTOINCREMENT counter of the restored store past the highest id the
    replaced store issued; ``{table: (the backup's counter, the new one)}`` for those moved.
    Commits."""
    issued = dict(conn.execute("SELECT name, seq FROM replaced.sqlite_sequence"))
    restored = dict(conn.execute("SELECT name, seq FROM main.sqlite_sequence"))
    moved = {}
    for table, seq in sorted(issued.items()):
        if table in SEQUENCES_NOT_ADVANCED or seq <= restored.get(table, 0):
            continue
        if table in restored:
            conn.execute("UPDATE main.sqlite_sequence SET seq = ? WHERE name = ?", (seq, table))
        else:  # the table was empty in the backup: SQLite adds its row at the first insert
            conn.execute("INSERT INTO main.sqlite_sequence (name, seq) VALUES (?, ?)", (table, seq))
        moved[table] = (restored.get(table, 0), seq)
    conn.commit()
    return moved


_TABLES = {"users": users, "api_tokens": api_tokens, "user_sessions": user_sessions}


def keep_withdrawals(store: Store, withdrawals: list[Withdrawal]) -> None:
    """Apply the withdrawals again, in one audited write by ``RESTORE_ACTOR``."""
    if not withdrawals:
        return
    with store.write(actor=RESTORE_ACTOR) as conn:
        for w in withdrawals:
            table = _TABLES[w.table]
            values = dict(w.values)
            for instant in ("revoked_at", "ended_at"):  # stored text, as read back
                if instant in values:
                    values[instant] = sa.literal(values[instant])
            conn.execute(table.update().where(table.c[w.key_column] == w.key).values(values))
