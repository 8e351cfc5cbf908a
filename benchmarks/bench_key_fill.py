#!/usr/bin/env python3
"""Filling the search keys of a whole PostgreSQL store (``gazetteer.search_keys``): the bulk
fill beside the row-by-row path it replaced, in one run, on the same places.

    eval "$(scripts/ci_postgres.sh start)"
    python benchmarks/bench_key_fill.py --rows 300000

Places: ``bench_scale.load_places`` (the real national names, then generated ones labelled
``source = 'generated'``) in a fresh database, dropped at the end. Then, each time into an
emptied keys table:

* **baseline, row by row** (``ensure_filled`` before the bulk fill): records read whole,
  keys computed in this process 5,000 places at a time with the reading cache cleared after
  each batch, written by SQLAlchemy ``INSERT`` (executemany), the 18 indexes kept current;
* ``search_keys.fill`` in this process (``processes=1``), indexes kept;
* ``search_keys.fill`` with one process per core, indexes kept (what a worker's
  ``ensure_filled`` runs);
* the same with the indexes dropped first and made once afterwards
  (``search_keys.drop_indexes``: what a bulk load does), the index build timed apart.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_scale  # noqa: E402

from boundaries.schema import SCHEMA  # noqa: E402
from gazetteer import search_keys  # noqa: E402
from gazetteer.core import migrate  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402
from gazetteer.lookup import _former_names  # noqa: E402
from gazetteer.search import _Readings, store_records  # noqa: E402


def row_by_row(conn) -> None:
    """The fill as ``search_keys.refresh(conn, None)`` did it before ``fill``."""
    readings, batch = _Readings(), []
    for record in store_records(conn, _former_names(conn, None)):
        batch.append(record)
        if len(batch) >= 5000:
            conn.execute(
                search_keys.place_search_keys.insert(), list(search_keys.key_rows(batch, readings))
            )
            readings.cache.clear()
            batch = []
    if batch:
        conn.execute(
            search_keys.place_search_keys.insert(), list(search_keys.key_rows(batch, readings))
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--database-url", default=os.environ.get("GDGIS_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("no PostGIS URL: pass --database-url or set GDGIS_TEST_DATABASE_URL")
    server_url = sa.engine.make_url(args.database_url)
    database = f"gdgis_bench_fill_{os.getpid()}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    store = Store(server_url.set(database=database).render_as_string(hide_password=False))
    cores = os.cpu_count() or 1
    results = []
    try:
        migrate.upgrade(store, SCHEMA)
        bench_scale.load_places(store, args.rows, audit=False, divisions=True)
        with store.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE places")
        load_at_start = os.getloadavg()
        for label, run in (
            ("baseline: row by row (INSERT, indexes kept)", lambda c: row_by_row(c)),
            (
                "search_keys.fill, 1 process, indexes kept",
                lambda c: search_keys.fill(c, processes=1),
            ),
            (
                f"search_keys.fill, {cores} processes, indexes kept (ensure_filled)",
                lambda c: search_keys.fill(c, processes=cores),
            ),
            (f"search_keys.fill, {cores} processes, indexes dropped and made after", None),
        ):
            with store.engine.begin() as conn:
                conn.exec_driver_sql("TRUNCATE place_search_keys")
            with store.engine.begin() as conn:
                index_s = None
                t = time.perf_counter()
                if run is not None:
                    run(conn)
                    seconds = time.perf_counter() - t
                else:
                    statements = search_keys.drop_indexes(conn)
                    t = time.perf_counter()
                    search_keys.fill(conn, processes=cores)
                    seconds = time.perf_counter() - t
                    t = time.perf_counter()
                    for statement in statements:
                        conn.exec_driver_sql(statement)
                    index_s = time.perf_counter() - t
                keys = conn.exec_driver_sql("SELECT count(*) FROM place_search_keys").scalar()
            results.append((label, seconds, index_s, keys))
            print(f"{label}: {seconds:.1f} s", flush=True)
        load_at_end = os.getloadavg()
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()
    print(
        f"\n{args.rows:,} places; load average (1/5/15 min) at the start "
        + " / ".join(f"{v:.2f}" for v in load_at_start)
        + ", at the end "
        + " / ".join(f"{v:.2f}" for v in load_at_end)
        + f" on {cores} cores\n"
    )
    print("| fill | key rows | seconds | places / s | index build after (s) | × baseline |")
    print("|---|---:|---:|---:|---:|---:|")
    base = results[0][1]
    for label, seconds, index_s, keys in results:
        total = seconds + (index_s or 0)
        print(
            f"| {label} | {keys:,} | {seconds:.1f} | {args.rows / seconds:,.0f} | "
            f"{'—' if index_s is None else f'{index_s:.1f}'} | {base / total:.1f}× |"
        )


if __name__ == "__main__":
    main()
