#!/usr/bin/env python3
"""How many of a short head's other neighbours the one-typo search reads: the product's
cap (``gazetteer.search._TYPO_MAX_OTHER_TERMS``: none) beside the baselines, the earlier
behaviours (60, and before that up to 300: ``_TYPO_MAX_TERMS``), in the same run, query
by query.

A two-character head has thousands of specific terms one edit away. Past 300 the search
reads the homophones and the head with two neighbours swapped, then (the baselines) some
of the rest in code-point order (``gazetteer.search.the_likeliest_terms``). Reading none
of the rest, the product also need not list a head's neighbours once two range sizes show
there are more than 300 (``_TypoBuckets.surely_more_than``); the baselines list them all.
This benchmark shows what that changes: the places found and the time taken.

Queries: the one-typo form of ``benchmarks/bench_search.py`` (half homophone
substitutions, half random substitution, deletion, insertion or swap of neighbours, at a
random position) over the national names, through ``LookupService.search`` (the public
search path: chains, then one name) on a SQLite store of the 665,273 national names with
its shared index files. Each query runs once with each cap, each cap in turn first (the
first run of a query warms the caches for the others), so that all see the same machine.
Recall@10: the intended name among the first ten hits, without narrowing (bench_search.py
narrows ambiguous queries to a county; its typo recall is the target's). Times are the
thread's CPU time.

Usage:  python scripts/fetch_national_names.py
        python benchmarks/bench_typo_cap.py --store /tmp/national.sqlite [--queries 1000]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_scale  # noqa: E402
import bench_search  # noqa: E402

from gazetteer import search  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402
from gazetteer.lookup import LookupService  # noqa: E402

CAPS = {
    "baseline: up to 300 others": search._TYPO_MAX_TERMS,
    "baseline: 60 others": 60,
    "product: none, neighbours not listed past 300": search._TYPO_MAX_OTHER_TERMS,
}


def typo_queries(n: int, seed: int) -> list[dict]:
    rows = bench_search.load_corpus()
    drawn = bench_search.make_queries(rows, n * len(bench_search.FORMS), random.Random(seed))
    return [q for q in drawn if q["form"] == "typo"][:n]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="SQLite file (built if missing)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    store = Store(f"sqlite:///{bench_scale.national_store(args.store)}")
    queries = typo_queries(args.queries, args.seed)
    service = LookupService(store, index_files=True)
    service.warm()
    for q in queries[:100]:  # the page cache and the caches, as a serving worker has them
        service.search(q["typed"])
    times: dict[str, list[float]] = {label: [] for label in CAPS}
    found = dict.fromkeys(CAPS, 0)
    for i, q in enumerate(queries):
        labels = list(CAPS)
        for label in labels[i % len(labels) :] + labels[: i % len(labels)]:  # each first as often
            search._TYPO_MAX_OTHER_TERMS = CAPS[label]
            started = time.thread_time()
            hits = service.search(q["typed"])
            times[label].append(time.thread_time() - started)
            found[label] += any(h["name"] == q["name"] for h in hits[:10])
    search._TYPO_MAX_OTHER_TERMS = CAPS[list(CAPS)[-1]]
    print(f"\n{len(queries)} one-typo queries, 665,273 national names (SQLite, index files)\n")
    print("| others read | recall@10 (no narrowing) | sum ms | p50 ms | p85 ms | p95 ms |")
    print("|---|---:|---:|---:|---:|---:|")
    for label, seconds in times.items():
        p50, p85, p95 = np.percentile(np.array(seconds) * 1e3, (50, 85, 95))
        print(
            f"| {label} | {found[label] / len(queries):.3f} | {sum(seconds) * 1e3:,.0f} "
            f"| {p50:.2f} | {p85:.2f} | {p95:.2f} |"
        )


if __name__ == "__main__":
    main()
