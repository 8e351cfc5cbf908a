#!/usr/bin/env python3
"""National search on PostgreSQL (gazetteer.search_postgres) beside the in-memory index, in
one run, on the same queries as benchmarks/bench_search.py.

The corpus (data/national/names.csv, about 665,000 division names: province .. village)
is loaded into a PostgreSQL database: its divisions with their paths (COPY), and their
search keys computed by gazetteer.search_keys.key_rows, the function the writers use
(COPY), then the indexes of migration 0034p are in place and the table is analysed. The
in-memory gazetteer.search.SearchIndex is built from the same records. Both answer the
same queries (six forms, ambiguous ones narrowed to the target's county exactly as
bench_search.py does) and the same chain queries (ChainSearch over each, one lexicon).

Reported: load and build times, the worker's memory for each (the PostgreSQL worker holds
no per-name memory: its RSS growth is the lexicon of divisions for chains), p50/p95/p99
latency and recall@10 per method and per form.

Usage:  eval "$(scripts/ci_postgres.sh start)"
        python benchmarks/bench_search_postgres.py --database-url "$GDGIS_TEST_DATABASE_URL"
        [--queries 600] [--chain-queries 300] [--reuse]
The benchmark makes (or with --reuse, reuses) the database ``gdgis_bench_search`` on that
server and leaves it for a rerun.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_search import (  # noqa: E402
    CORPUS,
    FORMS,
    SEED,
    ambiguity,
    build_index,
    county_of,
    load_corpus,
    make_chain_queries,
    make_queries,
    print_run,
    print_table,
    records,
    summarise,
)

from benchmarks.chain_queries import path_of  # noqa: E402
from boundaries.schema import SCHEMA  # noqa: E402
from gazetteer.chains import ChainLexicon, ChainSearch  # noqa: E402
from gazetteer.core import migrate  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402
from gazetteer.search_keys import add_terms, key_rows, place_search_keys  # noqa: E402
from gazetteer.search_postgres import SQLSearch  # noqa: E402

DATABASE = "gdgis_bench_search"
KEY_COLUMNS = [c.name for c in place_search_keys.columns]


def _copy(raw, table: str, columns: list[str], rows) -> int:
    """COPY ``rows`` (tuples) into ``table``; returns the row count."""
    count = 0
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as cp:
        for row in rows:
            cp.write_row(row)
            count += 1
    return count


def load(url: str, rows, by_code, parent_of, reuse: bool) -> tuple[Store, dict]:
    """The benchmark database with the corpus loaded; timings of the load."""
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE}
        ).first()
        if exists and not reuse:
            conn.execute(sa.text(f"DROP DATABASE {DATABASE}"))
        if not exists or not reuse:
            conn.execute(sa.text(f"CREATE DATABASE {DATABASE}"))
    admin.dispose()
    store = Store(sa.engine.make_url(url).set(database=DATABASE).render_as_string(False))
    timings = {}
    with store.read() as conn:
        loaded = (
            conn.execute(sa.text("SELECT to_regclass('place_search_keys') IS NOT NULL")).scalar()
            and conn.execute(sa.text("SELECT count(*) FROM place_search_keys")).scalar()
        )
    migrate.upgrade(store, SCHEMA)  # a reused database made by older code too
    if reuse and loaded:
        return store, {"reused": True}
    t = time.perf_counter()
    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))  # no triggers
        _copy(
            raw,
            "divisions",
            ["code", "name", "level", "parent_code", "path", "in_guangdong"],
            (
                (code, name, level, parent or None, "/".join(path_of(code, parent_of)), False)
                for code, name, level, parent in rows
            ),
        )
    timings["divisions_copy_s"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = {code: i for i, (code, *_rest) in enumerate(rows)}

    def keyed():
        chunk = []
        for record in records(rows, by_code, parent_of):
            chunk.append(record | {"id": ids[record["id"]]})
            if len(chunk) == 20_000:
                yield from key_rows(chunk)
                chunk = []
        yield from key_rows(chunk)

    with store.engine.begin() as conn:
        raw = conn.connection.driver_connection
        # The indexes are made again after the load (faster than keeping them current).
        index_sql = conn.execute(
            sa.text("SELECT indexdef FROM pg_indexes WHERE tablename = 'place_search_keys'")
        ).scalars()
        index_sql = list(index_sql)
        for name in conn.execute(
            sa.text("SELECT indexname FROM pg_indexes WHERE tablename = 'place_search_keys'")
        ).scalars():
            conn.execute(sa.text(f"DROP INDEX {name}"))
        n = _copy(
            raw,
            "place_search_keys",
            KEY_COLUMNS,
            (tuple(r[c] for c in KEY_COLUMNS) for r in keyed()),
        )
        add_terms(conn)
        timings["keys_compute_and_copy_s"] = time.perf_counter() - t
        timings["key_rows"] = n
        t = time.perf_counter()
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for statement in index_sql:
            conn.execute(sa.text(statement))
    timings["index_build_s"] = time.perf_counter() - t
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t = time.perf_counter()
        conn.execute(sa.text("VACUUM ANALYZE place_search_keys"))
        conn.execute(sa.text("VACUUM ANALYZE divisions"))
        timings["analyze_s"] = time.perf_counter() - t
        timings["table_mb"] = (
            conn.execute(sa.text("SELECT pg_total_relation_size('place_search_keys')")).scalar()
            / 2**20
        )
    return store, timings


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="search on PostgreSQL beside the in-memory index")
    parser.add_argument("--database-url", default=os.environ.get("GDGIS_TEST_DATABASE_URL"))
    parser.add_argument("--queries", type=int, default=600)
    parser.add_argument("--chain-queries", type=int, default=300)
    parser.add_argument("--reuse", action="store_true", help="reuse a loaded benchmark database")
    args = parser.parse_args(argv)
    if not args.database_url:
        sys.exit("--database-url (a PostgreSQL + PostGIS server, scripts/ci_postgres.sh) is needed")

    rows = load_corpus()
    by_code = {code: (name, level, parent) for code, name, level, parent in rows}
    parent_of = {code: parent for code, _, _, parent in rows}
    codes = [r[0] for r in rows]

    index, build_s, index_mb = build_index(rows, by_code, parent_of)

    store, timings = load(args.database_url, rows, by_code, parent_of, args.reuse)
    lexicon = ChainLexicon.build(
        (code, name, level, path_of(code, parent_of), [])
        for code, name, level, _ in rows
        if level != "village"
    )
    sql = SQLSearch(store)
    memory_chains, sql_chains = ChainSearch(index, lexicon), ChainSearch(sql, lexicon)

    rng = random.Random(SEED)
    queries = make_queries(rows, args.queries, rng)
    chain_queries = make_chain_queries(rows, by_code, parent_of, args.chain_queries, rng)
    ambiguity(queries, rows, index)
    for q in queries:
        sql.search(q["typed"], limit=10)  # warm the connection pool and the caches once
        break

    load_at_start = os.getloadavg()
    for q in queries:
        narrow = county_of(q["target"], by_code) if q["matches"] > 10 else None
        t = time.perf_counter()
        hits = index.search(q["typed"], division=narrow, limit=10)
        q["mem_s"], q["mem_hit"] = time.perf_counter() - t, q["target"] in [h.id for h in hits]
        t = time.perf_counter()
        hits = sql.search(q["typed"], division=narrow, limit=10)
        q["sql_s"] = time.perf_counter() - t
        q["sql_hit"] = q["target"] in [codes[h.id] for h in hits]
    for q in chain_queries:
        t = time.perf_counter()
        hits, _ = memory_chains.search(q["typed"], limit=10)
        q["mem_s"], q["mem_hit"] = time.perf_counter() - t, q["target"] in [h.id for h in hits]
        t = time.perf_counter()
        hits, _ = sql_chains.search(q["typed"], limit=10)
        q["sql_s"] = time.perf_counter() - t
        q["sql_hit"] = q["target"] in [codes[h.id] for h in hits]
    suggest_s = []
    for q in queries[:200]:
        typed = q["typed"][: max(1, len(q["typed"]) // 2)]
        t = time.perf_counter()
        sql_chains.suggest(typed, 10)
        suggest_s.append(time.perf_counter() - t)

    print_run("Search on PostgreSQL beside the in-memory index", load_at_start)
    print(f"corpus: {len(rows):,} names from {CORPUS.relative_to(ROOT)}; seed {SEED}")
    print(f"in-memory index: built in {build_s:.1f} s, RSS +{index_mb:.0f} MB in the worker")
    print(
        "PostgreSQL: "
        + ", ".join(
            f"{k} {v:,.1f}" if isinstance(v, float) else f"{k} {v}" for k, v in timings.items()
        )
        + "; RSS in the worker: none per name (the chain lexicon of divisions is shared by both)"
    )
    print()
    header = ("method", "queries", "p50 ms", "p95 ms", "p99 ms", "recall@10")
    table = []
    for label, key, hit, qs in (
        ("in-memory SearchIndex, single names", "mem_s", "mem_hit", queries),
        ("PostgreSQL SQLSearch, single names", "sql_s", "sql_hit", queries),
        ("in-memory ChainSearch, chains of names", "mem_s", "mem_hit", chain_queries),
        ("PostgreSQL ChainSearch, chains of names", "sql_s", "sql_hit", chain_queries),
    ):
        p50, p95, p99, _ = summarise([q[key] for q in qs])
        recall = sum(q[hit] for q in qs) / len(qs)
        table.append(
            (label, str(len(qs)), f"{p50:.2f}", f"{p95:.2f}", f"{p99:.2f}", f"{recall:.3f}")
        )
    p50, p95, p99, _ = summarise(suggest_s)
    table.append(
        (
            "PostgreSQL suggestions (half of each query)",
            str(len(suggest_s)),
            f"{p50:.2f}",
            f"{p95:.2f}",
            f"{p99:.2f}",
            "-",
        )
    )
    print_table(header, table)
    print()
    targets = {"exact": 0.98, "prefix": 0.98, "traditional": 0.98, "pinyin": 0.98, "typo": 0.90}
    header = (
        "form",
        "queries",
        "memory recall@10",
        "PostgreSQL recall@10",
        "memory p95 ms",
        "PostgreSQL p95 ms",
        "target (PostgreSQL)",
    )
    table = []
    for form in (*FORMS, None):
        qs = [q for q in queries if form in (None, q["form"])]
        sql_recall = sum(q["sql_hit"] for q in qs) / len(qs)
        goal = targets.get(form, 0.98 if form is None else None)
        table.append(
            (
                form or "all forms",
                str(len(qs)),
                f"{sum(q['mem_hit'] for q in qs) / len(qs):.3f}",
                f"{sql_recall:.3f}",
                f"{summarise([q['mem_s'] for q in qs])[1]:.2f}",
                f"{summarise([q['sql_s'] for q in qs])[1]:.2f}",
                "-"
                if goal is None
                else f">= {goal:.2f} {'met' if sql_recall >= goal else 'NOT met'}",
            )
        )
    print_table(header, table)
    misses = [q for q in queries if q["mem_hit"] and not q["sql_hit"]][:12]
    if misses:
        print()
        print("found in memory, not on PostgreSQL (form, typed, target name):")
        for q in misses:
            print(f"  {q['form']:11s} {q['typed']!r:28s} {q['name']}")
    store.dispose()


if __name__ == "__main__":
    main()
