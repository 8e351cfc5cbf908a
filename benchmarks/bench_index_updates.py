#!/usr/bin/env python3
"""Search while the registry changes (issue 17, benchmark 1).

A store with the shipped Guangdong names (28,750) in a temporary directory. For
``--seconds`` each, three runs side by side:

1. **no writer**: one client searches back to back (names and two-character prefixes drawn
   from the store, seeded) through a ``LookupService``;
2. **writer, change log (shipped)**: the same, while a writer in another process changes
   one name per second: it names a place or renames a village committee
   (``registry.create_place`` / ``rename_place``, as the workflow's 生效 step does; a
   committee's division row is renamed with it), and every fifth second renames a
   township by 区划变更 (``division_changes.record_division_rename``). The searching process
   learns of each change from the change log (``gazetteer.changes``) and applies it;
3. **writer, baseline: rebuild on change (ca9f236)**: the same writer, searched through the
   previous design: a fingerprint check at most once a second and, after any change, the
   whole search and nearest-place indexes rebuilt under the lock by the next search.

Per run: search latency p50/p95/p99/max, and for every write the time from its commit to
the first search that finds the new name — for a renamed division (committee or township),
with its new name also at the end of its own chain of divisions — (a second thread probes
every 5 ms), over all writes and over the division renamings alone.

    python benchmarks/bench_index_updates.py --seconds 60
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from shipped_store import build_shipped_store


def writer(url: str, seconds: float, events, seed: int) -> None:
    """Name or rename one place per second, a township every fifth; put (new name, kind,
    commit time) on ``events``."""
    from gazetteer import registry
    from gazetteer.core.actors import Actor
    from gazetteer.core.store import Store
    from gazetteer.division_changes import record_division_rename
    from gazetteer.rules import NameCorpus
    from gazetteer.tables import divisions, places

    store = Store(url)
    actor = Actor("bench-officer", frozenset({"officer", "approver"}))
    rng = random.Random(seed)
    with store.read() as conn:
        villages = (
            conn.execute(
                sa.select(places.c.id).where(
                    places.c.feature_class == "群众自治组织", places.c.status == "in_force"
                )
            )
            .scalars()
            .all()
        )
        towns = (
            conn.execute(sa.select(divisions.c.code).where(divisions.c.level == "township"))
            .scalars()
            .all()
        )
    rng.shuffle(villages)
    rng.shuffle(towns)
    corpus = NameCorpus.from_store(store)  # what the app's kept-current corpus would be
    started = time.monotonic()
    for i in range(int(seconds)):
        now = dt.datetime.now(dt.UTC)
        kind = "division" if i % 5 == 4 else "renaming" if i % 2 == 0 else "naming"
        name = (
            f"基准测试{i:03d}"
            + {
                "division": "镇",
                "renaming": "社区居民委员会",
                "naming": "新村",
            }[kind]
        )
        with store.write(actor=actor) as conn:
            if kind == "division":  # 区划变更: a township renamed
                record_division_rename(
                    conn,
                    actor,
                    code=towns[i],
                    new_name=name,
                    approving_body="广东省人民政府",
                    document_number=f"基准测试〔{i}〕号（非真实文件）",
                    approval_date=now.date(),
                    reason="基准测试",
                    rules_override_reason="基准测试，非真实变更",
                    corpus=corpus,
                    now=now,
                )
            elif kind == "naming":  # 命名 (approve a new name)
                registry.create_place(
                    conn,
                    {"name": name, "feature_class": "居民点", "division_code": "440113"},
                    effective_date=now.date(),
                    actor=actor,
                    now=now,
                )
            else:  # 更名
                registry.rename_place(
                    conn,
                    villages[i],
                    {"name": name},
                    effective_date=now.date(),
                    reason="基准测试",
                    actor=actor,
                    now=now,
                )
        events.put((name, kind, time.time()))
        time.sleep(max(0.0, started + i + 1 - time.monotonic()))
    events.put(None)
    store.dispose()


class RebuildOnChange:
    """The previous design (ca9f236), kept here as the baseline: a fingerprint query at
    most once a second; after a change the next search rebuilds the whole search and
    nearest-place indexes while holding the lock."""

    def __init__(self, store, max_age_s: float = 1.0):
        self.store, self.max_age_s = store, max_age_s
        self._lock = threading.Lock()
        self._fingerprint, self._checked_at, self._search = None, 0.0, None

    def _fresh(self):
        from gazetteer.lookup import former_names
        from gazetteer.reverse import NearestPlaces
        from gazetteer.search import SearchIndex
        from gazetteer.tables import places

        with self._lock:
            if self._search is not None and time.monotonic() - self._checked_at < self.max_age_s:
                return
            with self.store.read() as conn:
                fingerprint = tuple(
                    conn.execute(
                        sa.select(
                            sa.func.count(),
                            sa.func.max(places.c.id),
                            sa.func.max(places.c.updated_at),
                        )
                    ).one()
                )
            if fingerprint != self._fingerprint or self._search is None:
                self._search = SearchIndex.from_store(
                    self.store, former_names=former_names(self.store)
                )
                self._nearest = NearestPlaces.from_store(self.store)
                self._fingerprint = fingerprint
            self._checked_at = time.monotonic()

    def search(self, q, **filters):
        self._fresh()
        return [h.as_dict() for h in self._search.search(q, **filters)]

    def warm(self):
        self._fresh()


def run(url: str, label: str, service_kind: str, with_writer: bool, seconds: float, seed: int):
    from gazetteer.core.store import Store
    from gazetteer.lookup import LookupService
    from gazetteer.tables import places

    store = Store(url)
    service = LookupService(store) if service_kind == "log" else RebuildOnChange(store)
    service.warm()
    rng = random.Random(seed)
    with store.read() as conn:
        names = conn.execute(sa.select(places.c.name)).scalars().all()
    queries = [n if rng.random() < 0.5 else n[:2] for n in rng.sample(names, 2000)]
    latencies: list[float] = []
    reach: list[float] = []
    division_reach: list[float] = []
    stop = threading.Event()

    def searcher():
        i = 0
        while not stop.is_set():
            q = queries[i % len(queries)]
            i += 1
            t0 = time.perf_counter()
            service.search(q, limit=10)
            latencies.append((time.perf_counter() - t0) * 1000)

    def prober(events):
        while True:
            item = events.get()
            if item is None:
                return
            name, kind, committed = item
            while not found(name, kind):
                time.sleep(0.005)
            reach.append((time.time() - committed) * 1000)
            if kind != "naming":
                division_reach.append(reach[-1])

    def found(name: str, kind: str) -> bool:
        """The new name is found; a renamed division's chain ends in it too."""
        for hit in service.search(name, limit=5):
            if hit["name"] == name:
                return kind == "naming" or hit["division_chain"][-1:] == [name]
        return False

    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    threads = [threading.Thread(target=searcher)]
    process = None
    if with_writer:
        threads.append(threading.Thread(target=prober, args=(events,)))
        process = ctx.Process(target=writer, args=(url, seconds, events, seed))
    for t in threads:
        t.start()
    if process:
        process.start()
        process.join()
    else:
        time.sleep(seconds)
    if with_writer:
        threads[1].join(timeout=30)
    stop.set()
    threads[0].join()
    store.dispose()
    lat = np.array(latencies)
    return {
        "run": label,
        "queries": len(lat),
        "p50": float(np.percentile(lat, 50)),
        "p95": float(np.percentile(lat, 95)),
        "p99": float(np.percentile(lat, 99)),
        "max": float(lat.max()),
        "writes": len(reach),
        "reach_p50": statistics.median(reach) if reach else None,
        "reach_max": max(reach) if reach else None,
        "division_writes": len(division_reach),
        "division_reach_p50": statistics.median(division_reach) if division_reach else None,
        "division_reach_max": max(division_reach) if division_reach else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        rows = []
        for label, kind, with_writer in (
            ("no writer", "log", False),
            ("writer 1/s — change log (shipped)", "log", True),
            ("writer 1/s — baseline: rebuild on change (ca9f236)", "rebuild", True),
        ):
            url = build_shipped_store(Path(tmp) / label.split()[0] / kind)  # a fresh store per run
            rows.append(run(url, label, kind, with_writer, args.seconds, args.seed))
            print(f"done: {label}", flush=True)

    def fmt(v, digits=2):
        return "—" if v is None else f"{v:,.{digits}f}"

    print(f"\nSearch while one name changes per second, {args.seconds:.0f} s per run,")
    print("28,750 shipped names, one searching client (SQLite).\n")
    print(
        "| run | searches | p50 ms | p95 ms | p99 ms | max ms | writes | "
        "commit → searchable p50 ms | max ms | of which division renamings | "
        "p50 ms | max ms |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['run']} | {r['queries']:,} | {fmt(r['p50'])} | {fmt(r['p95'])} | "
            f"{fmt(r['p99'])} | {fmt(r['max'], 1)} | {r['writes']} | {fmt(r['reach_p50'], 0)} | "
            f"{fmt(r['reach_max'], 0)} | {r['division_writes']} | "
            f"{fmt(r['division_reach_p50'], 0)} | {fmt(r['division_reach_max'], 0)} |"
        )


if __name__ == "__main__":
    main()
