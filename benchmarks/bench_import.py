#!/usr/bin/env python3
"""Office import benchmark: a GENERATED census-style CSV of N rows (default 500,000;
made-up three-character road names, CGCS2000 lon/lat points over the Pearl River Delta) brought
into a store holding the shipped Guangdong data, against a baseline on the same file, in
one run:

* gdgis office import (``gazetteer.office_import.runs``): preview (every row checked:
  coordinates, divisions from the geometry, naming rules, duplicates in file and
  registry) then write (one transaction, with an ``imported`` version and audit entries
  per record), streamed in chunks of 5,000 rows;
* baseline: ``geopandas.read_file`` of the whole file, then ``to_sql`` into a plain SQLite
  table (WKB geometry): no checks, no history, no audit, the whole file in memory.

Each side runs in its own process so that its peak memory (ru_maxrss) is its own. After
the import: the lookup indexes are rebuilt (search and nearest over registry + import) and
imported names are searched for and found.

Usage:  python benchmarks/bench_import.py [--rows 500000] [--keep DIR] [--no-rerun]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OURS = r"""
import json, resource, sys, time
from pathlib import Path
from gazetteer.core.actors import Actor
from gazetteer.core.store import Store
from gazetteer.office_import import runs
from gazetteer.reverse import DivisionLocator
from gazetteer.rules import NameCorpus
store = Store(sys.argv[1]); path = Path(sys.argv[2]); work = Path(sys.argv[3])
officer = Actor("bench_officer", frozenset({"officer"}))
t0 = time.perf_counter()
tools = {"locator": DivisionLocator.from_store(store), "corpus": NameCorpus.from_store(store)}
t1 = time.perf_counter()
run = runs.create_run(store, officer, path, source_name="基准测试（生成）", office="基准测试")
runs.configure(store, run["id"], officer, layer=run["layer"], mapping=run["mapping"], crs_tag="CGCS2000")
t2 = time.perf_counter()
p = runs.preview(store, run["id"], officer, work_dir=work, **tools)
t3 = time.perf_counter()
w = runs.write(store, run["id"], officer, locator=tools["locator"])
t4 = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"setup_s": t1 - t0, "preview_s": t3 - t2, "write_s": t4 - t3,
                  "total_s": t4 - t0, "counts": w["counts"], "cpu_s": usage.ru_utime + usage.ru_stime,
                  "peak_rss_mb": usage.ru_maxrss / 1024}))
"""

BASELINE = r"""
import json, resource, sqlite3, sys, time
import geopandas as gpd, shapely
t0 = time.perf_counter()
frame = gpd.read_file(sys.argv[1], engine="pyogrio")
frame["geometry"] = gpd.points_from_xy(frame["东经"].astype(float), frame["北纬"].astype(float), crs="EPSG:4490")
t1 = time.perf_counter()
conn = sqlite3.connect(sys.argv[2])
frame.assign(geometry=shapely.to_wkb(frame.geometry.values)).to_sql("places", conn, index=False, chunksize=10000)
conn.commit(); conn.close()
t2 = time.perf_counter()
usage = resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"read_s": t1 - t0, "write_s": t2 - t1, "total_s": t2 - t0, "rows": len(frame),
                  "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": usage.ru_maxrss / 1024}))
"""

SEARCH = r"""
import json, resource, sys, time
from gazetteer.core.store import Store
from gazetteer.lookup import LookupService
store = Store(sys.argv[1]); rows = int(sys.argv[2])
t0 = time.perf_counter()
service = LookupService(store); service.warm()
t1 = time.perf_counter()
from tests.office_files import generated_name
names = [generated_name(i) for i in range(0, rows, max(1, rows // 200))]
found, times = 0, []
for name in names:
    s = time.perf_counter(); hits = service.search(name); times.append(time.perf_counter() - s)
    found += any(h["name"] == name for h in hits[:10])
s = time.perf_counter()
near = [service.reverse(113.3, 23.1 + i * 1e-3, nearest=5) for i in range(100)]
near_s = (time.perf_counter() - s) / 100
times.sort()
print(json.dumps({"index_build_s": t1 - t0, "queries": len(names), "found": found,
                  "search_median_ms": times[len(times) // 2] * 1000,
                  "search_p95_ms": times[int(len(times) * 0.95)] * 1000,
                  "nearest_ms": near_s * 1000,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(code: str, *args: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=True, capture_output=True, text=True, env=env
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--keep", type=Path, help="keep the stores and the file here")
    parser.add_argument(
        "--no-rerun", action="store_true", help="skip importing the same file a second time"
    )
    args = parser.parse_args()
    from boundaries.schema import SCHEMA
    from gazetteer import importer
    from gazetteer.core import migrate
    from gazetteer.core.store import Store
    from tests.office_files import big_csv

    load_before = os.getloadavg()
    work = Path(args.keep or tempfile.mkdtemp(prefix="bench_import_"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        print(f"generating {args.rows:,} rows (GENERATED, not real names) …", file=sys.stderr)
        csv_path = big_csv(work / "generated_census.csv", args.rows)
        db = work / "store.sqlite"
        store = Store(f"sqlite:///{db}")
        migrate.upgrade(store, SCHEMA)
        importer.import_shipped_data(store)
        store.dispose()
        print("import …", file=sys.stderr)
        ours = child(OURS, f"sqlite:///{db}", str(csv_path), str(work / "imports"))
        print("baseline …", file=sys.stderr)
        base = child(BASELINE, str(csv_path), str(work / "baseline.sqlite"))
        print("search after the import …", file=sys.stderr)
        search = child(SEARCH, f"sqlite:///{db}", str(args.rows))
        again = None
        if not args.no_rerun:
            print("again: re-running the same file …", file=sys.stderr)
            again = child(OURS, f"sqlite:///{db}", str(csv_path), str(work / "imports"))
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    load_after = os.getloadavg()
    size_mb = csv_path.stat().st_size / 1e6 if args.keep else None
    print(
        f"\nOffice import of {args.rows:,} GENERATED rows (CSV, CGCS2000 lon/lat) — "
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} CPU, SQLite store with the shipped Guangdong data"
        + (f", file {size_mb:.0f} MB" if size_mb else "")
        + f"; load average (1/5/15 min) {load_before[0]:.1f}/{load_before[1]:.1f}/"
        f"{load_before[2]:.1f} at the start, {load_after[0]:.1f}/{load_after[1]:.1f}/"
        f"{load_after[2]:.1f} at the end"
    )
    print()
    c = ours["counts"]
    rows = [
        ("rows written", f"{c['insert']:,} inserted, {c['error']} errors", f"{base['rows']:,}"),
        (
            "read + check (s)",
            f"{ours['setup_s'] + ours['preview_s']:.1f} (setup {ours['setup_s']:.1f}, "
            f"preview {ours['preview_s']:.1f})",
            f"{base['read_s']:.1f} (no checks)",
        ),
        (
            "write (s)",
            f"{ours['write_s']:.1f} (checked again, one transaction, history + audit)",
            f"{base['write_s']:.1f} (plain table)",
        ),
        ("total (s)", f"{ours['total_s']:.1f}", f"{base['total_s']:.1f}"),
        (
            "CPU time, user + system (s)",
            f"{ours['cpu_s']:.1f} ({ours['cpu_s'] / args.rows * 1e3:.2f} ms a row)",
            f"{base['cpu_s']:.1f}",
        ),
        (
            "rows/s",
            f"{args.rows / ours['total_s']:,.0f}",
            f"{args.rows / base['total_s']:,.0f}",
        ),
        ("peak memory (MB, RSS)", f"{ours['peak_rss_mb']:.0f}", f"{base['peak_rss_mb']:.0f}"),
    ]
    if again is not None:
        rows.append(
            (
                "re-run of the same file",
                f"{again['counts']['unchanged']:,} unchanged, {again['counts']['insert']} "
                f"inserted, {again['total_s']:.1f} s",
                "—",
            )
        )
    print("| | gdgis import-office (preview + write) | baseline: geopandas.read_file + to_sql |")
    print("|---|---|---|")
    for label, a, b in rows:
        print(f"| {label} | {a} | {b} |")
    print()
    print("Search after the import (lookup indexes rebuilt over registry + import):")
    print()
    print(
        "| index build (s) | queries | found in top 10 | median (ms) | p95 (ms) | nearest 5 (ms) | peak memory (MB) |"
    )
    print("|---|---|---|---|---|---|---|")
    print(
        f"| {search['index_build_s']:.1f} | {search['queries']} | {search['found']} | "
        f"{search['search_median_ms']:.1f} | {search['search_p95_ms']:.1f} | "
        f"{search['nearest_ms']:.2f} | {search['peak_rss_mb']:.0f} |"
    )


if __name__ == "__main__":
    main()
