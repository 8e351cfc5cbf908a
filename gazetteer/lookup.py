"""Lookup over one store: name search, reverse lookup, nearest places and the names the
naming rules compare with.

``LookupService`` owns the in-memory indexes (``SearchIndex``, ``NearestPlaces``, the
naming-rules ``NameCorpus`` and the ``DivisionLocator``) built from the store, and keeps them
current by applying each committed change to places, not by rebuilding
(``gazetteer.changes``): writes in this process are applied in the writer's thread right
after they commit; writes by other processes (workers, the CLI) are found by following the
change log at most every ``poll_s`` seconds, in whichever request comes next. Applying a
change costs milliseconds; a division's renaming too (its name is held once, not per
place). A full rebuild (the first build, a division added, removed or changed otherwise
than by renaming, a restored store, a very large import) is built beside the live indexes in a background thread and
swapped in: requests never wait for it, except the very first build of a process (there is
nothing to answer from yet), which ``warm()`` does before a worker takes requests.

On a SQLite store file the search and nearest-place indexes are not built per process: a
*base* is built once per data version into files beside the store and memory-mapped by
every process (``gazetteer.index_files``; N workers share one copy through the page
cache), and the changes logged after it are applied to a small in-memory overlay in each
process. A new base is built (by one process, the others adopt it) when a full rebuild is
needed or the overlay passes ``MAX_OVERLAY_CHANGES``: in a short-lived child process
(``gazetteer.build_base``), so that the build's reads and objects never land in a serving
worker's heap, which CPython would not hand back; after the swap the worker returns the
memory the old indexes freed to the system (``malloc_trim``). A serving worker follows the
log in a background thread too (:meth:`LookupService.follow`), so a worker that gets no
requests still starts the rebuild and swaps in the new base.

On PostgreSQL the database does the work: search and suggestions read the search keys the
writers keep (``gazetteer.search_postgres.SQLSearch`` over ``gazetteer.search_keys``) and
nearest places use the GiST index (``SQLNearest``), so a worker holds no per-name memory and
a committed change is searchable at once; what the change log still keeps current in each
worker is the small lexicon of division names that chains are read with (and the
naming-rules corpus, when asked for).
"""

from __future__ import annotations

import ctypes
import gc
import logging
import os
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sqlalchemy as sa

from gazetteer import changes
from gazetteer.chains import CHAIN_LEVELS, ChainLexicon, ChainSearch
from gazetteer.core import crs
from gazetteer.core.errors import InvalidInput
from gazetteer.core.settings import LOOKUP_REBUILDS
from gazetteer.core.store import Store
from gazetteer.index_files import Generation, IndexFiles
from gazetteer.registry_tables import place_links
from gazetteer.reverse import DivisionLocator, NearestPlaces
from gazetteer.reverse_postgis import PostGISDivisionLocator, division_locator
from gazetteer.rules.corpus import read_corpus_records
from gazetteer.search import LEVEL_RANK, SearchIndex, store_records
from gazetteer.search_postgres import SQLNearest, SQLSearch
from gazetteer.tables import divisions, places

log = logging.getLogger(__name__)

# What a reverse lookup outside every division held says (with ``nearest_places``, whose
# ``distance_m`` tells how far they are).
OUTSIDE_DIVISIONS_NOTICE = (
    "该点不在本服务收录的行政区划内（海上，或广东省及相邻省区以外）："
    "所列最近地名可能很远，请看其距离"
)
MAX_BATCH_POINTS = 10_000
# More changed places than this in one batch (an import): rebuild beside instead.
MAX_INCREMENTAL_PLACES = 5_000
# The lowest level chains read (township), as search ranks levels.
_LAST_CHAIN_RANK = max(LEVEL_RANK[level] for level in CHAIN_LEVELS)
# A mapped base is used while at most this many place changes are logged after it (and no
# division change other than a renaming); past that a new base is built beside (index_files).
MAX_OVERLAY_CHANGES = 20_000
# A base build that takes longer than this is taken as hung (665,273 names: about 40 s).
BUILD_TIMEOUT_S = 3600


def former_names(store: Store) -> dict[int, list[str]]:
    """{in-force place id: names of every record it superseded, directly or through a chain}."""
    with store.read() as conn:
        return _former_names(conn, None)


def _former_names(conn, place_ids: Iterable[int] | None) -> dict[int, list[str]]:
    """{place id: names of the records it superseded} for ``place_ids`` (all when None)."""
    if place_ids is None:
        links = conn.execute(
            sa.select(place_links.c.old_place_id, place_links.c.new_place_id)
        ).all()
    else:  # walk the chains back from these places only
        links, frontier, seen = [], set(place_ids), set()
        while frontier:
            seen |= frontier
            found = conn.execute(
                sa.select(place_links.c.old_place_id, place_links.c.new_place_id).where(
                    place_links.c.new_place_id.in_(frontier)
                )
            ).all()
            links += found
            frontier = {old for old, _ in found} - seen
    if not links:
        return {}
    ids = {i for link in links for i in link}
    names = dict(
        conn.execute(sa.select(places.c.id, places.c.name).where(places.c.id.in_(ids))).all()
    )
    older: dict[int, list[int]] = {}
    for old, new in links:
        older.setdefault(new, []).append(old)
    result: dict[int, list[str]] = {}
    for new in older:
        seen, frontier = set(), list(older[new])
        while frontier:
            pid = frontier.pop()
            if pid not in seen:
                seen.add(pid)
                frontier.extend(older.get(pid, []))
        result[new] = [
            names[i] for i in sorted(seen) if names.get(i) and names[i] != names.get(new)
        ]
    return result


def former_name_period(store: Store, place_id: int, name: str) -> dict | None:
    """{"since", "until"}: when ``name``, a former name of ``place_id``, was in use — the
    dates of the superseded record, or for a historical division the dates as precise as
    data/division_changes.csv states them (``1992``, ``2000-05-21``). None if not found."""
    from gazetteer.division_history import SOURCE_PREFIX, period_of

    with store.read() as conn:
        seen, frontier = set(), {place_id}
        while frontier:
            found = conn.execute(
                sa.select(place_links.c.old_place_id).where(
                    place_links.c.new_place_id.in_(frontier)
                )
            ).scalars()
            frontier = set(found) - seen
            seen |= frontier
        if not seen:
            return None
        row = conn.execute(
            sa.select(places.c.source_key, places.c.named_date, places.c.retired_date)
            .where(places.c.id.in_(seen), places.c.name == name)
            .order_by(places.c.retired_date.desc())
        ).first()
        if row is None:
            return None
        if row.source_key and row.source_key.startswith(SOURCE_PREFIX):
            return period_of(conn, row.source_key[len(SOURCE_PREFIX) :])
        return {
            "since": row.named_date.isoformat() if row.named_date else None,
            "until": row.retired_date.isoformat() if row.retired_date else None,
        }


def _successors(conn, place_ids: set[int]) -> set[int]:
    """Every record that superseded one of ``place_ids``, directly or through a chain
    (their former names include these places' names)."""
    found, frontier = set(), set(place_ids)
    while frontier:
        frontier = (
            set(
                conn.execute(
                    sa.select(place_links.c.new_place_id).where(
                        place_links.c.old_place_id.in_(frontier)
                    )
                ).scalars()
            )
            - found
            - place_ids
        )
        found |= frontier
    return found


def _nearest_records(conn, place_ids: Iterable[int]) -> dict[int, dict]:
    """{id: nearest-place record} for those of ``place_ids`` in force with a geometry."""
    rows = conn.execute(
        sa.select(
            places.c.id,
            places.c.name,
            places.c.feature_class,
            places.c.status,
            places.c.division_code,
            places.c.geom,
        ).where(
            places.c.id.in_(list(place_ids)),
            places.c.geom.is_not(None),
            places.c.status == "in_force",
        )
    ).mappings()
    return {
        r["id"]: {**{k: v for k, v in r.items() if k != "geom"}, "geometry": r["geom"]}
        for r in rows
    }


@dataclass
class _Indexes:
    """One generation of the in-memory indexes and the change-log position they reflect."""

    search: SearchIndex | SQLSearch
    chains: ChainSearch  # chains of names (广州天河) over ``search``
    nearest: NearestPlaces | SQLNearest
    corpus: object | None  # gazetteer.rules.NameCorpus, built when first asked for
    feed: changes.ChangeFeed
    base: Generation | None = None  # the mapped base files (SQLite store file), if any
    logged_since_base: int = 0  # place changes applied on top of ``base``
    # A change that needs a full rebuild (a division reshaped) was committed while these were being
    # built and read past: another rebuild follows as soon as these are live.
    stale: bool = False


class LookupService:
    """Search, suggestions, reverse lookup and the naming-rules corpus over ``store``,
    kept current by following the change log (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        *,
        poll_s: float = 0.5,
        index_files: bool = True,
        rebuild: str = "isolated",
    ):
        """``index_files``: on a SQLite store file, map base indexes from files beside it
        (shared by every process) rather than build them in this process's memory.
        ``rebuild`` (``LOOKUP_REBUILDS``): ``isolated`` writes a new base in a child process
        and hands the memory freed by the swap back to the system; the baselines of
        benchmarks/bench_workers.py are the earlier behaviours: ``child-no-trim`` (a child
        process, the freed memory kept) and ``in-worker`` (the base written by this
        process)."""
        if rebuild not in LOOKUP_REBUILDS:
            raise ValueError(f"rebuild must be one of {LOOKUP_REBUILDS}")
        self.store = store
        self.rebuild = rebuild
        self.poll_s = poll_s
        # PostgreSQL answers search and nearest places itself (see the module docstring).
        self.in_database = store.dialect == "postgresql"
        self._indexes: _Indexes | None = None
        self._locator: DivisionLocator | PostGISDivisionLocator | None = None
        self._build_lock = threading.Lock()  # the first build of this process
        self._apply_lock = threading.Lock()  # one thread applies changes at a time
        self._corpus_lock = threading.Lock()  # one build of the naming-rules corpus
        self._rebuilding = False
        self._follower: threading.Thread | None = None
        self._polled_at = 0.0
        self.full_builds = 0  # how many times the indexes were built whole (for tests, stats)
        self.bases_written = 0  # of which base generations this process wrote to files
        self.applied_changes = 0
        self._files = IndexFiles.for_store(store) if index_files else None
        self._store_prepared = False  # prepare_store() done (once per process)
        changes.listen(store, self.catch_up)

    # ------------------------------------------------------------------ building

    def prepare_store(self) -> None:
        """What a worker does to the store once when it starts, never inside a request:
        on PostgreSQL, fill or rewrite the stored search keys when they were made before
        the keys table or under other rule data (``search_keys.ensure_filled``). Nothing
        for a store not migrated yet (the keys table is missing) or a SQLite store."""
        if not self.in_database or self._store_prepared:
            return
        with self.store.read(primary=True) as conn:
            if not sa.inspect(conn).has_table("place_search_keys"):
                return
        from gazetteer import search_keys

        search_keys.ensure_filled(self.store)
        self._store_prepared = True

    def warm(self) -> None:
        """Build every index now (a worker calls this before it takes requests)."""
        self._current()
        _ = self.locator

    def follow(self) -> None:
        """Follow the change log in a background thread every ``poll_s`` seconds (a serving
        worker calls this once it has warmed): changes by other processes, and the full
        rebuild a reshaped division asks for, reach this process's indexes even when no
        request comes to it. Queries still catch up too (``_current``)."""
        if self._follower is not None:
            return
        ref = weakref.ref(self)

        def run() -> None:
            while (service := ref()) is not None:
                try:
                    service.catch_up(wait=False)
                except Exception:  # the next request or round tries again
                    log.exception("following the change log failed")
                poll_s = service.poll_s
                del service  # held weakly: the thread ends with the service
                time.sleep(poll_s)

        self._follower = threading.Thread(target=run, name="gdgis-change-follower", daemon=True)
        self._follower.start()

    def release_shared_files(self) -> None:
        """Drop indexes mapped from shared files (the next request maps them again). For
        a process that built or checked the base but serves no requests: gunicorn's master
        after ``warm()``, so that it holds no base and its workers map the newest."""
        with self._build_lock, self._apply_lock:
            indexes = self._indexes
            if indexes is not None and indexes.base is not None:
                self._indexes = None
                indexes.base.release()

    def _build(self, *, with_corpus: bool) -> _Indexes:
        """A whole new generation, read from the store, with the log position it reflects
        (read first: changes committed while building are applied again afterwards, and
        applying a change twice gives the same index). On a store file the search and
        nearest indexes are mapped from a base generation instead (:meth:`_map_base`)."""
        if self._files is not None:
            return self._map_base(with_corpus=with_corpus)
        with self.store.read(primary=True) as conn:
            position = changes.head(conn)
        former = former_names(self.store)
        if self.in_database:
            # The writers keep the search keys; only a store older than them is filled.
            self.prepare_store()
            search, nearest = SQLSearch(self.store), SQLNearest(self.store)
        else:
            search = SearchIndex.from_store(self.store, former_names=former)
            nearest = NearestPlaces.from_store(self.store)
        chains = ChainSearch(search, ChainLexicon.from_store(self.store, former_names=former))
        self.full_builds += 1
        return _Indexes(
            search, chains, nearest, self._corpus(with_corpus), changes.ChangeFeed(position)
        )

    def _corpus(self, with_corpus: bool):
        if not with_corpus:
            return None
        from gazetteer.rules import NameCorpus

        return NameCorpus.from_store(self.store)

    # ------------------------------------------------------------------ mapped base files

    def _base_usable(self, position: int) -> bool:
        """Whether a base at ``position`` can be brought up to date change by change."""
        with self.store.read(primary=True) as conn:
            count, divisions_changed = changes.logged_since(conn, position)
        return not divisions_changed and count <= MAX_OVERLAY_CHANGES

    def _write_base(self, directory) -> None:
        """Write a base into ``directory``: in a child process (``gazetteer.build_base``),
        whose memory (a 1.6 GB peak at 665,273 names) ends with it instead of staying in a
        serving worker; its errors go to this process's stderr (the server's log)."""
        if self.rebuild == "in-worker":
            from gazetteer.build_base import write_base

            write_base(self.store.url, directory)
            return
        package_root = str(Path(__file__).resolve().parent.parent)
        python_path = os.pathsep.join(filter(None, [package_root, os.environ.get("PYTHONPATH")]))
        done = subprocess.run(
            [sys.executable, "-m", "gazetteer.build_base", str(self.store.url), str(directory)],
            env={**os.environ, "PYTHONPATH": python_path},
            stdin=subprocess.DEVNULL,
            timeout=BUILD_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"building the index base failed (exit code {done.returncode})")

    def _map_base(self, *, with_corpus: bool) -> _Indexes:
        """Indexes over the newest usable base generation of the store's files (built now,
        by this process, only when there is none), with the changes logged after it applied
        in memory."""
        base = self._files.adopt(self.store, self._base_usable)
        if base is None:
            started = time.monotonic()
            base, built = self._files.build(self.store, self._write_base, self._base_usable)
            self.bases_written += built
            log.info(
                "index base %s %s after %.1f s",
                base.name,
                "built" if built else "built by another process, mapped",
                time.monotonic() - started,
            )
        search = SearchIndex.load(base.path / "search")
        chains = ChainSearch(
            search, ChainLexicon.from_store(self.store, former_names=former_names(self.store))
        )
        indexes = _Indexes(
            search,
            chains,
            NearestPlaces.load(base.path / "nearest"),
            self._corpus(with_corpus),
            changes.ChangeFeed(base.position),
            base,
        )
        # Usable when adopted; but a division reshaped since then is read past
        # here, and only this flag keeps it from being lost.
        indexes.stale = self._apply_pending(indexes)
        self.full_builds += 1
        return indexes

    def _retire_base(self, old: _Indexes | None) -> None:
        """After a swap: stop holding the old base and remove bases no process holds."""
        if old is not None and old.base is not None and old.base is not self._indexes.base:
            old.base.release()
        if self._files is not None:
            removed = self._files.remove_unused(self._indexes.base)
            if removed:
                log.info("removed unused index generations %s", removed)

    def _current(self) -> _Indexes:
        """The live indexes, brought up to date with the change log at most every
        ``poll_s`` seconds (never waiting for another thread that is applying changes)."""
        indexes = self._indexes
        if indexes is None:
            with self._build_lock:
                if self._indexes is None:
                    built = self._build(with_corpus=False)
                    self._polled_at = time.monotonic()
                    self._indexes = built
                    self._retire_base(None)
                    if built.stale:
                        self._rebuild_beside()
            return self._indexes
        # With a follower thread (a serving worker) a request catches up only if the
        # follower fell behind: otherwise the requests that came just before its next
        # round each read the log in its place (about 1 ms, one request in a few hundred).
        stale_s = 2 * self.poll_s if self._follower is not None else self.poll_s
        if time.monotonic() - self._polled_at >= stale_s:
            self.catch_up(wait=False)
        return self._indexes

    def _rebuild_beside(self) -> None:
        """Start a full rebuild in a background thread; the live indexes keep answering
        until it is swapped in."""
        if self._rebuilding:
            return
        self._rebuilding = True
        log.info(
            "full rebuild of the lookup indexes started (log position %s)",
            self._indexes.feed.position if self._indexes else None,
        )
        thread = threading.Thread(target=self._rebuild, name="gdgis-index-rebuild", daemon=True)
        thread.start()

    def _rebuild(self) -> None:
        started, again = time.monotonic(), False
        try:
            live = self._indexes
            fresh = self._build(with_corpus=live is not None and live.corpus is not None)
            # Division polygons may have changed too (SQLite keeps them in memory).
            locator = division_locator(self.store) if self._locator is not None else None
            with self._apply_lock:
                fresh.stale |= self._apply_pending(fresh)
                again = fresh.stale
                self._indexes = fresh
                if locator is not None:
                    self._locator = locator
            self._retire_base(live)
            del live, fresh
            if self.rebuild == "isolated":
                _return_free_memory()
            log.info(
                "lookup indexes swapped after a full rebuild of %.1f s (log position %s)",
                time.monotonic() - started,
                self._indexes.feed.position,
            )
        except Exception:
            log.exception("rebuilding the lookup indexes failed; the old ones stay in use")
        finally:
            self._rebuilding = False
        if again:  # a division was reshaped again while this rebuild ran
            self._rebuild_beside()

    # ------------------------------------------------------------------ following changes

    def catch_up(self, wait: bool = True) -> None:
        """Apply the changes committed since the last call. Called after a write in this
        process (``gazetteer.changes.announce``: ``wait``, so that the writer's next request
        sees its change) and by queries at most every ``poll_s`` (not waiting)."""
        if self._indexes is None:
            return  # nothing built yet: the first build reads everything
        if not self._apply_lock.acquire(blocking=wait):
            return
        try:
            self._polled_at = time.monotonic()
            indexes = self._indexes
            rebuild = self._apply_pending(indexes)
            if rebuild or (
                indexes.base is not None and indexes.logged_since_base > MAX_OVERLAY_CHANGES
            ):
                self._rebuild_beside()
        finally:
            self._apply_lock.release()

    def _apply_pending(self, indexes: _Indexes) -> bool:
        """Apply every logged change past ``indexes.feed``'s position to ``indexes``.
        Returns True when a full rebuild is needed instead (a division changed otherwise
        than by renaming, the store was replaced, or too many places changed at once)."""
        # The replica may lag: read the log and the rows it names from one connection.
        with self.store.read() as conn:
            batch, rebuild = indexes.feed.read(conn)
            indexes.logged_since_base += len(batch)
            place_ids = {int(c.row_key) for c in batch if c.table == "places"}
            link_ids = [int(c.row_key) for c in batch if c.table == "place_links"]
            if link_ids:
                for old, new in conn.execute(
                    sa.select(place_links.c.old_place_id, place_links.c.new_place_id).where(
                        place_links.c.id.in_(link_ids)
                    )
                ):
                    place_ids |= {old, new}
            # A division's new name is applied in place (it is held once, not per place);
            # any other division change moves, re-levels or redraws divisions under many
            # places at once, and rebuilds.
            renamed, reshaped = changes.division_renames(conn, batch)
            rebuild |= reshaped
            if len(place_ids) > MAX_INCREMENTAL_PLACES:
                return True
            if renamed:
                self._apply_division_names(conn, indexes, renamed)
            if place_ids:
                self._apply_places(conn, indexes, place_ids | _successors(conn, place_ids))
        return rebuild

    def _apply_division_names(self, conn, indexes: _Indexes, codes: set[str]) -> None:
        """Put the divisions' names as they now stand into the indexes that hold them: the
        in-memory search index (the chain of names every hit shows; on PostgreSQL search
        reads them from ``divisions``), the division locator, the naming-rules corpus and
        the chain lexicon."""
        names = dict(
            conn.execute(
                sa.select(divisions.c.code, divisions.c.name).where(divisions.c.code.in_(codes))
            ).all()
        )
        for code, name in names.items():
            if not self.in_database:
                indexes.search.rename_division(code, name)
            if self._locator is not None:
                self._locator.rename_division(code, name)
            if indexes.corpus is not None:
                indexes.corpus.rename_division(code, name)
        indexes.chains.lexicon = ChainLexicon.from_store(
            self.store, former_names=former_names(self.store)
        )

    def _apply_places(self, conn, indexes: _Indexes, place_ids: set[int]) -> None:
        """Re-read these places and put them into every index as they now stand."""
        search_records = {
            r["id"]: r for r in store_records(conn, _former_names(conn, place_ids), place_ids)
        }
        nearest_records = _nearest_records(conn, place_ids)
        corpus_records = read_corpus_records(conn, place_ids) if indexes.corpus is not None else {}
        for place_id in sorted(place_ids):
            indexes.search.replace(place_id, search_records.get(place_id))
            if place_id in nearest_records:
                indexes.nearest.add(nearest_records[place_id])
            else:
                indexes.nearest.discard(place_id)
            if indexes.corpus is not None:
                if place_id in corpus_records:
                    indexes.corpus.add(corpus_records[place_id])
                else:
                    indexes.corpus.remove(place_id)
        # A place that is a division of a chain level (province .. township: renamed,
        # retired) changes how chains read it: that lexicon is small, so it is read again
        # whole. Villages and other places are not in it.
        if any(r["level_rank"] <= _LAST_CHAIN_RANK for r in search_records.values()):
            indexes.chains.lexicon = ChainLexicon.from_store(
                self.store, former_names=former_names(self.store)
            )
        self.applied_changes += len(place_ids)

    # ------------------------------------------------------------------ answers

    def name_corpus(self):
        """The naming-rules corpus (``gazetteer.rules.NameCorpus``) of the names as they
        stand now. Built once per process (about 1.5 s for Guangdong) without holding up
        other requests, then kept current change by change like the other indexes."""
        indexes = self._current()
        if indexes.corpus is None:
            from gazetteer.rules import NameCorpus

            with self._corpus_lock:
                if indexes.corpus is None:
                    with self.store.read(primary=True) as conn:
                        position = changes.head(conn)
                    corpus = NameCorpus.from_store(self.store)
                    with self._apply_lock:
                        # Places changed since the snapshot: apply them again (same result
                        # for those the snapshot already had).
                        with self.store.read() as conn:
                            batch = changes.ChangeFeed(position).read(conn)[0]
                            ids = {int(c.row_key) for c in batch if c.table == "places"}
                            records = read_corpus_records(conn, ids)
                            renamed = changes.division_renames(conn, batch)[0]
                            names = conn.execute(
                                sa.select(divisions.c.code, divisions.c.name).where(
                                    divisions.c.code.in_(renamed)
                                )
                            ).all()
                        for place_id in ids:
                            if place_id in records:
                                corpus.add(records[place_id])
                            else:
                                corpus.remove(place_id)
                        for code, name in names:
                            corpus.rename_division(code, name)
                        indexes.corpus = corpus
        return indexes.corpus

    @property
    def locator(self) -> DivisionLocator | PostGISDivisionLocator:
        # On PostgreSQL the containment test runs in PostGIS (ST_Contains, GiST index).
        # On SQLite: an in-memory grid; division polygons change only by a data import, and
        # then it is rebuilt beside the old one. A renaming is applied to it in place.
        if self._locator is None:
            with self._build_lock:
                if self._locator is None:
                    self._locator = division_locator(self.store)
        return self._locator

    def stats(self) -> dict:
        indexes = self._indexes
        in_memory = indexes is not None and not self.in_database
        return {
            "built": indexes is not None,
            "full_builds": self.full_builds,
            "bases_written": self.bases_written,
            "base": str(indexes.base.path) if indexes and indexes.base else None,
            "overlay_records": indexes.search.overlay_size if in_memory else 0,
            "applied_changes": self.applied_changes,
            "log_position": indexes.feed.position if indexes else None,
            "search_in": "postgresql" if self.in_database else "memory",
            "search_records": len(indexes.search) if in_memory else 0,
            "nearest_places": len(indexes.nearest) if in_memory else 0,
        }

    def search(self, q: str, **filters) -> list[dict]:
        """Ranked hits (dicts) for a name or a chain of names (广州天河)."""
        return self.find(q, **filters)["results"]

    def find(self, q: str, **filters) -> dict:
        """{"results": ranked hits, "chain": how a chain of names was read, or None}
        (``gazetteer.chains``: 广州天河 -> 天河区 within 广州市)."""
        hits, reading = self._current().chains.search(q, **filters)
        results = [h.as_dict() for h in hits]
        for r in results:  # when the old name was in use: {"since", "until"}
            if r["matched_former_name"]:
                r["matched_former_name_period"] = former_name_period(
                    self.store, r["id"], r["matched_former_name"]
                )
        # A name no longer in use says when it was (two historical 宝安县 differ by period).
        ended = [r["id"] for r in results if r["status"] in ("historical", "retired")]
        if ended:
            from gazetteer.division_history import record_periods

            with self.store.read() as conn:
                periods = record_periods(conn, ended)
            for r in results:
                if r["id"] in periods:
                    r["period"] = periods[r["id"]]
        return {
            "results": results,
            "chain": reading.as_dict() if reading is not None else None,
        }

    def suggest(self, prefix: str, limit: int = 10) -> list[dict]:
        """Completions as the user types, chains of names included (广州天河石 → 石牌街道):
        hit dicts with ``completion``, the text the search box takes when one is chosen
        (广州天河石牌街道: the levels as typed, then the name)."""
        return [
            {**h.as_dict(), "completion": completion}
            for h, completion in self._current().chains.suggest(prefix, limit)
        ]

    def reverse(
        self, lon: float, lat: float, crs_tag: str = "CGCS2000", *, nearest: int = 5
    ) -> dict:
        """Divisions containing the point (province down) and the nearest named places.

        ``lon``/``lat`` in degrees of ``crs_tag`` (CGCS2000, WGS84, GCJ02, BD09); the answer
        also gives the point converted to CGCS2000."""
        if not (0 <= nearest <= 50):
            raise InvalidInput("nearest 应在 0 到 50 之间")
        lon_c, lat_c = crs.point_to_cgcs2000(lon, lat, crs.normalise_tag(crs_tag))
        divisions = self.locator.locate(lon_c, lat_c)
        places_near = []
        if nearest:
            places_near = self._current().nearest.nearest(lon_c, lat_c, nearest)
        found = {
            "input": {"lon": lon, "lat": lat, "crs": crs.normalise_tag(crs_tag)},
            "cgcs2000": {"lon": round(lon_c, 8), "lat": round(lat_c, 8)},
            "divisions": divisions,
            "nearest_places": places_near,
        }
        if not divisions:
            # At sea, or beyond the divisions held (Guangdong and its neighbours): the
            # nearest places may be far away, and the answer says so rather than let them
            # pass for the point's surroundings.
            found["notice"] = OUTSIDE_DIVISIONS_NOTICE
        return found

    def reverse_batch(self, lons, lats, crs_tag: str = "CGCS2000") -> list[dict]:
        """Per point: the chain of containing divisions (codes and names), vectorised."""
        lons, lats = np.asarray(lons, dtype=float), np.asarray(lats, dtype=float)
        if lons.shape != lats.shape or lons.ndim != 1:
            raise InvalidInput("经度与纬度数组长度应一致")
        if len(lons) > MAX_BATCH_POINTS:
            raise InvalidInput(f"一次最多 {MAX_BATCH_POINTS} 个点")
        x, y = crs.to_cgcs2000(lons, lats, crs.normalise_tag(crs_tag))
        levels = self.locator.locate_levels(x, y)
        by_code = self.locator.by_code
        out = []
        for i in range(len(x)):
            chain = [
                {
                    "level": lvl,
                    "code": str(levels[lvl][i]),
                    "name": by_code[str(levels[lvl][i])].name,
                }
                for lvl in levels
                if levels[lvl][i]
            ]
            out.append({"lon": float(x[i]), "lat": float(y[i]), "divisions": chain})
        return out


def _return_free_memory() -> None:
    """Hand the memory the replaced indexes freed back to the system. CPython and glibc
    keep freed memory for reuse (and each thread that allocated has an arena of its own),
    so without this a worker's RSS grows by every rebuild's transient allocations (the
    chain lexicon, the division grid) and never shrinks. Nothing on a C library other than
    glibc."""
    gc.collect()
    # The C library the interpreter runs on (its symbols are the process's own).
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)
    if trim is not None:
        trim(0)
