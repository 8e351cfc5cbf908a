#!/usr/bin/env python3
"""Cost of synchronous=FULL (the store's setting) against NORMAL (the baseline it replaced):
audited write transactions on a SQLite store in WAL mode, one commit each.

FULL syncs the WAL at every commit, so an acknowledged write survives a power cut; NORMAL
syncs only at checkpoints and can lose the last commits. This prints, side by side, the
commit latency and throughput of both on the same disk in the same run.

Usage:  python benchmarks/bench_durability.py [--commits 300] [--dir DIR]
DIR must be on the disk the store would use (not tmpfs, where fsync costs nothing).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

import boundaries.schema  # noqa: F401  (every table on the metadata)
from boundaries.schema import SCHEMA
from gazetteer.core import migrate
from gazetteer.core.account_tables import users
from gazetteer.core.store import Store


def run(mode: str, commits: int, directory: Path) -> list[float]:
    store = Store(f"sqlite:///{directory / f'{mode}.sqlite'}")
    if mode == "NORMAL":  # the baseline: override the store's FULL on every new connection
        sa.event.listen(
            store.engine, "connect", lambda conn, _r: conn.execute("PRAGMA synchronous=NORMAL")
        )
    migrate.upgrade(store, SCHEMA)
    with store.read() as conn:
        level = conn.exec_driver_sql("PRAGMA synchronous").scalar()
    assert level == {"NORMAL": 1, "FULL": 2}[mode], level
    latencies = []
    for i in range(commits):
        started = time.perf_counter()
        with store.write(actor="bench") as conn:  # one audited insert, one commit
            conn.execute(
                users.insert().values(
                    username=f"bench{i}",
                    password_hash="x",
                    roles="clerk",
                    active=True,
                    created_at=sa.func.current_timestamp(),
                )
            )
        latencies.append((time.perf_counter() - started) * 1000)
    store.dispose()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--dir", type=Path, default=Path.cwd())
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir, prefix=".bench-durability-") as tmp:
        results = {mode: run(mode, args.commits, Path(tmp)) for mode in ("NORMAL", "FULL")}
    print("| synchronous | commits | mean ms | p50 ms | p99 ms | commits/s |")
    print("|---|---|---|---|---|---|")
    for mode, lat in results.items():
        p99 = statistics.quantiles(lat, n=100)[98]
        print(
            f"| {mode}{' (baseline)' if mode == 'NORMAL' else ' (store)'} | {len(lat)} "
            f"| {statistics.mean(lat):.2f} | {statistics.median(lat):.2f} | {p99:.2f} "
            f"| {1000 / statistics.mean(lat):.0f} |"
        )


if __name__ == "__main__":
    main()
