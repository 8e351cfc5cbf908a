#!/usr/bin/env python3
"""What keying a name by its own romanization costs when the search index is built
(``gazetteer.search.name_forms``: a record whose recorded spelling reads a character
otherwise than the keys, 长乐路 as Changyue Lu, gets a second key).

The product reads every record's ``romanized`` and compares it with the keys' reading
(most records: the same, one string comparison); the baseline is the same build with the
``romanized`` field left out of the records, which is what the index did before. Both
build ``SearchIndex.from_records`` over the same records, alternating, ``--runs`` times
each, in one process; the table gives each one's best and median build time and the keys
it made. The records are the store's (``gazetteer.search.store_records``): the shipped
Guangdong names by default (a fresh store is built), or ``--store`` (e.g. the 665,273
national names of ``scripts/fetch_national_names.py``).

Usage:  python benchmarks/bench_own_reading.py [--store /tmp/national.sqlite] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def main() -> None:
    from shipped_store import build_shipped_store

    from gazetteer.core.store import Store
    from gazetteer.search import AUX_OWN_READING, SearchIndex, _Readings, name_forms, store_records

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", help="a SQLite store file (default: the shipped data)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.store}" if args.store else build_shipped_store(Path(tmp))
        store = Store(url)
        with store.read() as conn:
            records = list(store_records(conn, {}))
        store.dispose()
    without = [{k: v for k, v in r.items() if k != "romanized"} for r in records]
    times: dict[str, list[float]] = {"product": [], "baseline": []}
    keys: dict[str, int] = {}
    for _ in range(args.runs):
        for design, rows in (("product", records), ("baseline", without)):
            started = time.perf_counter()
            index = SearchIndex.from_records(rows)
            times[design].append(time.perf_counter() - started)
            keys[design] = len(index._py)
    readings = _Readings()
    own = sum(any(aux == AUX_OWN_READING for aux, _ in name_forms(r, readings)) for r in records)
    print(f"{len(records):,} records, {own:,} keyed by their own romanization too")
    print()
    print("| build | runs | best s | median s | pinyin keys |")
    print("|---|---:|---:|---:|---:|")
    labels = {
        "product": "product: `romanized` read",
        "baseline": "baseline: `romanized` left out",
    }
    for design, label in labels.items():
        best, median = min(times[design]), statistics.median(times[design])
        print(f"| {label} | {args.runs} | {best:.2f} | {median:.2f} | {keys[design]:,} |")


if __name__ == "__main__":
    main()
