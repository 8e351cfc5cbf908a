"""Rate limits that hold across worker processes: token buckets per client key, shared
through the store.

The store holds each client's bucket (``rate_limit_buckets``: tokens left at a time; a
client whose bucket has refilled has no row). Each process decides locally, with no query
on the request path, from its copy of the buckets. A second (``sync_s``) after it lets a
request through, and whenever a request finds the last sync a second old, a process takes
what it let through per client since the last sync from the shared buckets and reads them
all back (one small write transaction per process per second, not one per request), in a
thread of its own: no request waits for it, and only a process's first sync runs in its
first request. Each client's spending
is charged at the time of the last request it counts (then refilled up to the sync), not at
the sync: a process that let a burst through and then sat idle for a minute does not charge
that burst against the client's next minute. So with N workers a client gets the
configured rate in total, give or take what the workers let through within one sync
interval.

Not audited (``gazetteer.core.audit.UNAUDITED_TABLES``): it is bookkeeping of requests, not
a record of anything.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import sqlalchemy as sa

from gazetteer.core.store import Store, metadata

log = logging.getLogger(__name__)

rate_limit_buckets = sa.Table(
    "rate_limit_buckets",
    metadata,
    sa.Column("bucket", sa.String(32), primary_key=True, comment="which limit: public, login"),
    sa.Column("client", sa.String(100), primary_key=True, comment="the client key (address)"),
    sa.Column("tokens", sa.Float, nullable=False, comment="tokens left at updated_s"),
    sa.Column("updated_s", sa.Float, nullable=False, comment="Unix time"),
)


_scheduled: set[threading.Timer] = set()  # this process's scheduled syncs
_scheduled_lock = threading.Lock()


def stop_scheduled_syncs() -> None:
    """Cancel this process's scheduled syncs, for good: its stores are about to go (the
    end of a test; a process shutting down), and a sync after that could only fail."""
    with _scheduled_lock:
        timers = list(_scheduled)
        _scheduled.clear()
    for timer in timers:
        timer.cancel()


class TokenBucket:
    """Per-key token buckets: ``rate_per_minute`` tokens refill evenly, at most that many
    saved up. Thread-safe; idle keys are forgotten so memory stays bounded."""

    def __init__(
        self, rate_per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys=100_000
    ):
        self.capacity = float(rate_per_minute)
        self.rate_per_s = rate_per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Take one token for ``key``: 0.0 when allowed, else the seconds until one is free."""
        now = self.clock()
        with self._lock:
            tokens, last = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate_per_s)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                if len(self._buckets) > self.max_keys:
                    self._forget_full(now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def spend(self, key: str, tokens: float) -> None:
        """Take ``tokens`` spent elsewhere (by another process) from ``key``'s bucket; it may
        go below zero, so the client waits for them too."""
        now = self.clock()
        with self._lock:
            have, last = self._buckets.get(key, (self.capacity, now))
            have = min(self.capacity, have + (now - last) * self.rate_per_s)
            self._buckets[key] = (have - tokens, now)

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled completely is the same as no bucket.
        full_after_s = self.capacity / self.rate_per_s
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after_s}


class SharedTokenBucket(TokenBucket):
    """A :class:`TokenBucket` shared with the other processes using the same ``store`` and
    ``name`` (see the module docstring). ``clock``: Unix seconds (shared between processes)."""

    def __init__(
        self,
        store: Store,
        name: str,
        rate_per_minute: int,
        *,
        sync_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__(rate_per_minute, clock=clock)
        self.store, self.name, self.sync_s = store, name, sync_s
        # Let through since the last sync, per client: (how many, when the last one was).
        self._pending: dict[str, tuple[int, float]] = {}
        self._shared: dict[str, tuple[float, float]] = {}  # the store's buckets, last read
        self._synced_at = float("-inf")
        self._sync_lock = threading.Lock()
        self._syncing = False  # a sync thread started by a request is running
        self._sync_scheduled = False  # a sync follows what was let through since the last

    def take(self, key: str) -> float:
        if self.clock() - self._synced_at >= self.sync_s:
            self._sync_due()
        with self._lock:
            if key not in self._buckets and key in self._shared:
                self._buckets[key] = self._shared[key]  # spent at other workers
        wait_s = super().take(key)
        if not wait_s:
            with self._lock:
                self._note_spent(key, 1, self.clock())
                schedule, self._sync_scheduled = not self._sync_scheduled, True
            if schedule:
                self._schedule_sync()
        return wait_s

    def _schedule_sync(self) -> None:
        """Sync ``sync_s`` after a request was let through, whether or not another request
        reaches this process: the other processes learn of the spending within that time,
        not at this one's next request (a client whose burst two workers answered was let
        through again by one of them for a while, then refused by the other for a minute
        when it finally synced, against the Retry-After it had been given)."""
        timer = threading.Timer(self.sync_s, self._scheduled_sync)
        timer.name, timer.daemon, timer.args = "rate-limit sync", True, (timer,)
        with _scheduled_lock:
            _scheduled.add(timer)
        timer.start()

    def _scheduled_sync(self, timer: threading.Timer) -> None:
        with _scheduled_lock:
            _scheduled.discard(timer)
        with self._lock:
            # Cleared first: a request let through during the sync schedules the next one.
            self._sync_scheduled = False
        self.sync(wait=True)

    def _sync_due(self) -> None:
        """A sync is due: in this thread if the process has never synced (its first request
        must see what the other processes spent), otherwise in a thread of its own, so that
        no request waits for the shared write. On SQLite that write queues behind every
        other writer's transaction; in the request path it put a read behind the writes
        (benchmark 4, docs/benchmarks.md). Meanwhile requests are decided locally, as they
        are between syncs."""
        if self._synced_at == float("-inf"):
            self.sync(wait=False)
            return
        with self._lock:
            if self._syncing:
                return
            self._syncing = True
        threading.Thread(target=self._sync_aside, name="rate-limit sync", daemon=True).start()

    def _sync_aside(self) -> None:
        try:
            self.sync(wait=False)
        finally:
            with self._lock:
                self._syncing = False

    def _note_spent(self, client: str, n: int, at_s: float) -> None:
        """Add ``n`` requests let through, the last at ``at_s``, to those of the next sync."""
        count, last_s = self._pending.get(client, (0, at_s))
        self._pending[client] = (count + n, max(last_s, at_s))

    def _refilled(self, tokens, updated_s, now):
        """The tokens of a bucket holding ``tokens`` at ``updated_s``, refilled up to ``now``
        (Unix seconds), at most the capacity; SQL when the arguments are columns."""
        level = tokens + (now - updated_s) * self.rate_per_s
        if isinstance(level, sa.ColumnElement):
            return sa.case((level > self.capacity, self.capacity), else_=level)
        return min(self.capacity, level)

    def _after_spending(self, tokens, updated_s, n: int, spent_s: float, now: float):
        """The tokens at ``now`` of a bucket holding ``tokens`` at ``updated_s`` from which
        ``n`` were spent, the last at ``spent_s``; SQL when ``tokens`` and ``updated_s`` are
        columns. Charged at ``spent_s``; when the store's bucket is newer (another process
        synced since), at ``updated_s``, less what would have refilled from ``spent_s`` to
        then. Never below empty at ``spent_s`` (refilled since): a client that several
        processes let through within one sync interval then waits as if it had spent its
        whole allowance then, never longer than a window. Charging at ``now`` instead would
        take a burst let through a minute ago from the next minute."""
        late = updated_s - spent_s  # > 0: the store learnt of later spending meanwhile
        refilled_late = late * self.rate_per_s
        if isinstance(updated_s, sa.ColumnElement):
            charged_s = sa.case((late > 0, updated_s), else_=spent_s)
            owed = sa.case((refilled_late >= n, 0.0), (late > 0, n - refilled_late), else_=float(n))
            # Empty at spent_s, refilled up to charged_s: the least the bucket holds then.
            floor = sa.case(
                (refilled_late > self.capacity, self.capacity),
                (late > 0, refilled_late),
                else_=0.0,
            )
            left = self._refilled(tokens, updated_s, charged_s) - owed
            left = sa.case((left < floor, floor), else_=left)
        else:
            charged_s = max(spent_s, updated_s)
            owed = max(0.0, n - refilled_late) if late > 0 else float(n)
            floor = min(self.capacity, refilled_late) if late > 0 else 0.0
            left = max(floor, self._refilled(tokens, updated_s, charged_s) - owed)
        return self._refilled(left, charged_s, now)

    def sync(self, *, wait: bool = True) -> None:
        """Take what this process let through from the shared buckets and read them back.
        Without ``wait``, returns at once when another thread is syncing."""
        if not self._sync_lock.acquire(blocking=wait):
            return
        try:
            self._synced_at = now = self.clock()
            with self._lock:
                spent, self._pending = self._pending, {}
            try:
                shared = self._exchange(spent, now)
            except sa.exc.SQLAlchemyError:
                # Bookkeeping of requests must never fail one: keep what was let through
                # for the next sync and decide locally until then. (Not only the driver's
                # errors: a connection the server ended leaves SQLAlchemy's own.)
                log.warning("rate-limit sync failed; retried at the next one", exc_info=True)
                with self._lock:
                    for client, (n, spent_s) in spent.items():
                        self._note_spent(client, n, spent_s)
                return
            with self._lock:
                self._shared = shared
                for client in list(self._buckets):
                    # What this process let through since the read above is still its own.
                    tokens, at = shared.get(client, (self.capacity, now))
                    self._buckets[client] = (tokens - self._pending.get(client, (0,))[0], at)
        finally:
            self._sync_lock.release()

    def _exchange(
        self, spent: dict[str, tuple[int, float]], now: float
    ) -> dict[str, tuple[float, float]]:
        """Write what this process let through per client into the shared buckets and read
        them all back, in one transaction. Processes take turns (PostgreSQL: a transaction
        advisory lock per bucket name; SQLite has one writer anyway), so two syncs never
        update the same clients in different orders (a deadlock) or both insert one new
        client (a duplicate key)."""
        t = rate_limit_buckets
        # read_back=False: the request that happens to sync reads nothing it wrote here,
        # so its reads may still go to a replica.
        with self.store.write(actor="system:rate-limit", read_back=False) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(hashtext(:name))"),
                    {"name": f"gdgis.rate_limit.{self.name}"},
                )
            for client, (n, spent_s) in sorted(spent.items()):
                updated = conn.execute(
                    t.update()
                    .where(t.c.bucket == self.name, t.c.client == client)
                    .values(tokens=self._after_spending(t.c.tokens, t.c.updated_s, n, spent_s, now))
                    .values(updated_s=now)
                ).rowcount
                if not updated:
                    # No row: the bucket was full when this process spent from it.
                    tokens = self._after_spending(self.capacity, spent_s, n, spent_s, now)
                    conn.execute(
                        t.insert().values(
                            bucket=self.name, client=client, tokens=tokens, updated_s=now
                        )
                    )
            # A bucket that has refilled is the same as no bucket.
            conn.execute(
                t.delete().where(
                    t.c.bucket == self.name,
                    t.c.tokens + (now - t.c.updated_s) * self.rate_per_s >= self.capacity,
                )
            )
            return {
                r.client: (r.tokens, r.updated_s)
                for r in conn.execute(
                    sa.select(t.c.client, t.c.tokens, t.c.updated_s).where(t.c.bucket == self.name)
                )
            }
