"""Place changes: how the indexes built from places (search, nearest places, the
naming-rules corpus) learn that places changed, without rebuilding.

**The log.** Every write to an audited table leaves an ``audit_log`` row inside the writing
transaction (``gazetteer.core.audit``), numbered by an increasing id. For the tables places
are read from (``PLACE_TABLES``) that is the change log, and the id is the sequence number
that readers follow: :class:`ChangeFeed` reads it from a position, in every process, so a
change committed by another worker or by the CLI is seen by the next read.
SQLite commits one writer at a time, so ids become visible in order. On PostgreSQL a
transaction that took a lower id can commit after a higher id was read: the feed remembers
the ids it skipped and looks for them again for ``GAP_WAIT_S``.

**The nudge.** The domain functions that change places (naming, renaming, retirement, 上图,
import) call :func:`places_changed` inside their write transaction; once it commits,
the listeners registered for that store (:func:`listen` — the lookup service) are called
in the writer's thread, so the writer's next request already finds its change. Nothing
else triggers them: a sign-in or an inspection record changes no place and costs no index
work.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa

from gazetteer.core.account_tables import audit_log
from gazetteer.core.store import Store, after_commit, before_commit
from gazetteer.registry_tables import place_links
from gazetteer.tables import places

# Tables whose rows the place indexes are built from.
PLACE_TABLES = ("places", "place_links", "divisions")
# How long a skipped sequence number may still turn up (a PostgreSQL transaction that
# took its id before a later one committed). Longer write transactions are not expected.
GAP_WAIT_S = 60.0
MAX_GAPS = 10_000

_listeners: weakref.WeakKeyDictionary[Store, list] = weakref.WeakKeyDictionary()
_listeners_lock = threading.Lock()


@dataclass(frozen=True)
class Change:
    """One logged write: its sequence number, table, operation, primary key as text and
    the write transaction it belongs to (``Store.write``'s id; None for entries made
    outside one)."""

    seq: int
    table: str
    op: str
    row_key: str
    tx: str | None = None


# The audit-log columns a Change is read from, in its fields' order.
CHANGE_COLUMNS = (
    audit_log.c.id,
    audit_log.c.table_name,
    audit_log.c.op,
    audit_log.c.row_key,
    audit_log.c.tx,
)


def listen(store: Store, callback: Callable[[], None]) -> None:
    """Call ``callback()`` after every committed transaction that changed places in
    ``store`` from this process. A bound method is held weakly: the listener goes away with
    its object."""
    ref = weakref.WeakMethod(callback) if hasattr(callback, "__self__") else (lambda: callback)
    with _listeners_lock:
        _listeners.setdefault(store, []).append(ref)


def announce(store: Store) -> None:
    """Tell this process's listeners of ``store`` that places changed (after a commit)."""
    with _listeners_lock:
        refs = list(_listeners.get(store, ()))
        alive = [r for r in refs if r() is not None]
        if len(alive) != len(refs):
            _listeners[store] = alive
    for ref in alive:
        callback = ref()
        if callback is not None:
            callback()


def places_changed(conn) -> None:
    """Called by domain code inside a ``Store.write()`` that wrote places, place links or
    divisions: the listeners are told once the transaction commits. The change itself is
    already in the log (the audit triggers wrote it). On PostgreSQL the search keys of the
    places it touched are rewritten at the end of the same transaction
    (``gazetteer.search_keys``)."""
    from gazetteer import search_keys

    before_commit(conn, search_keys.refresh_transaction)
    after_commit(conn, announce)


def head(conn) -> int:
    """The highest sequence number now in the log (0 for an empty log)."""
    return conn.execute(sa.select(sa.func.coalesce(sa.func.max(audit_log.c.id), 0))).scalar()


def logged_since(conn, position: int) -> tuple[int, bool]:
    """(how many changes to ``PLACE_TABLES`` are logged after ``position``, whether any of
    them needs a full rebuild: a change to ``divisions`` other than a renaming, see
    :func:`division_renames`): what it costs to bring indexes at ``position`` up to date."""
    count = conn.execute(
        sa.select(sa.func.count()).where(
            audit_log.c.id > position, audit_log.c.table_name.in_(PLACE_TABLES)
        )
    ).scalar()
    division_txs = set(
        conn.execute(
            sa.select(audit_log.c.tx)
            .where(audit_log.c.table_name == "divisions", audit_log.c.id > position)
            .distinct()
        ).scalars()
    )
    if not division_txs:
        return int(count), False
    # Only the entries of the transactions that wrote divisions: a division renaming
    # is told by what else its transaction wrote.
    rows = conn.execute(
        sa.select(*CHANGE_COLUMNS).where(
            audit_log.c.id > position,
            audit_log.c.table_name.in_(PLACE_TABLES),
            audit_log.c.tx.in_(division_txs - {None}),
        )
    ).all()
    batch = [Change(*row) for row in rows]
    _, rebuild = division_renames(conn, batch)
    return int(count), rebuild or None in division_txs


def division_renames(conn, batch: list[Change]) -> tuple[set[str], bool]:
    """(codes of the divisions in ``batch`` whose change is a renaming, whether ``batch``
    holds any other change to ``divisions``).

    A renaming changes a division row's name only, and is applied to the indexes in place
    (the name every chain shows); any other change to a division row — a new or removed
    division, an import that may move it, re-level it or redraw its boundary — rebuilds
    them beside. The log names rows, not columns, so a renaming is told by its
    transaction: the registry renames a division by giving it a new record
    (``registry.rename_place``, called by ``division_changes.record_division_rename`` for
    township level and up, and for a village-level organisation's own renaming), so the
    transaction that updates the row also inserts a place whose ``own_division_code`` is
    the division and a ``place_links`` row leading to that place. An import updates the
    division's existing record instead; it never links one."""
    division_changes = [c for c in batch if c.table == "divisions"]
    if not division_changes:
        return set(), False
    if any(c.op != "UPDATE" or c.tx is None for c in division_changes):
        return set(), True
    txs = {c.tx for c in division_changes}
    link_ids = [
        int(c.row_key)
        for c in batch
        if c.table == "place_links" and c.op == "INSERT" and c.tx in txs
    ]
    inserted = {
        int(c.row_key): c.tx
        for c in batch
        if c.table == "places" and c.op == "INSERT" and c.tx in txs
    }
    linked = (
        set(
            conn.execute(
                sa.select(place_links.c.new_place_id).where(place_links.c.id.in_(link_ids))
            ).scalars()
        )
        if link_ids
        else set()
    )
    renamed_in = {  # (transaction, division code) of every division record renamed
        (inserted[pid], code)
        for pid, code in conn.execute(
            sa.select(places.c.id, places.c.own_division_code).where(
                places.c.id.in_(list(linked & set(inserted))),
                places.c.own_division_code.is_not(None),
            )
        )
    }
    if any((c.tx, c.row_key) not in renamed_in for c in division_changes):
        return set(), True
    return {c.row_key for c in division_changes}, False


class ChangeFeed:
    """Reads the change log of ``PLACE_TABLES`` from a position onwards.

    Not thread-safe: one reader at a time (the lookup service holds its apply lock)."""

    def __init__(self, position: int):
        self.position = position
        self._gaps: dict[int, float] = {}  # skipped sequence number -> when first skipped

    def read(self, conn, page: int = 50_000) -> tuple[list[Change], bool]:
        """(changes to place tables since the last read, in sequence order; whether a full
        rebuild is needed instead: the log went backwards — a restored or replaced store —
        or more sequence numbers were skipped than can be watched). Reads the log in pages
        of ``page`` entries."""
        found: list[Change] = []
        rebuild = False
        while True:
            page_changes, page_rebuild, more = self._read_page(conn, page)
            found += page_changes
            rebuild |= page_rebuild
            if not more:
                return found, rebuild

    def _read_page(self, conn, limit: int) -> tuple[list[Change], bool, bool]:
        top = head(conn)
        if top < self.position:
            self.position, self._gaps = top, {}
            return [], True, False
        condition = audit_log.c.id > self.position
        if self._gaps:
            condition = sa.or_(condition, audit_log.c.id.in_(list(self._gaps)))
        rows = conn.execute(
            sa.select(*CHANGE_COLUMNS).where(condition).order_by(audit_log.c.id).limit(limit)
        ).all()
        now = time.monotonic()
        for row in rows:
            self._gaps.pop(row.id, None)
        new_ids = [row.id for row in rows if row.id > self.position]
        if new_ids:
            seen = set(new_ids)
            for missing in range(self.position + 1, new_ids[-1]):
                if missing not in seen:
                    self._gaps[missing] = now
            self.position = new_ids[-1]
        expired = [seq for seq, since in self._gaps.items() if now - since > GAP_WAIT_S]
        for seq in expired:
            del self._gaps[seq]
        overflow = len(self._gaps) > MAX_GAPS
        if overflow:  # a big write still open, or rolled back: rebuilding is the safe answer
            self._gaps.clear()
        changes = [
            Change(row.id, row.table_name, row.op, row.row_key, row.tx)
            for row in rows
            if row.table_name in PLACE_TABLES
        ]
        return changes, overflow, len(rows) == limit
