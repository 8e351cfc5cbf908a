#!/usr/bin/env python3
"""Scale benchmark: national-size place-name tables on PostgreSQL + PostGIS and on SQLite.

    python scripts/fetch_national_names.py            # once: data/national/names.csv (~665,000)
    eval "$(scripts/ci_postgres.sh start)"            # or any PostGIS URL in GDGIS_TEST_DATABASE_URL
    python benchmarks/bench_scale.py --rows 13000000 --sqlite-rows 665000,2000000

Rows: the real national names (province to village, 2023 statistical codes) plus generated
names up to ``--rows``. A generated name recombines a real specific term and a real generic
term of the same province and level (drawn with the real frequencies), so lengths, common
characters and generic endings follow the real distribution; each generated row is labelled
``source = 'generated'`` and ``source_key = 'gen:<n>'``. Every row gets a point: real and
generated Guangdong rows inside Guangdong's box, others inside China's box (the points only
serve the nearest-place query; they are not real locations).

Each store is built with the project's own migrations (the ``places`` table with all its
indexes, including 0005's trigram and pattern indexes on PostgreSQL) and the shipped
divisions, then bulk-loaded: PostgreSQL with ``COPY`` after dropping the ``places`` indexes,
which are rebuilt afterwards (both times reported); SQLite with ``executemany`` in one
transaction. Then, with seeded random queries drawn from the loaded names:

* exact name (B-tree), prefix of 2 characters (``LIKE 'q%'``: ``text_pattern_ops`` on PostGIS,
  a range scan on SQLite), substring of 3 characters (``LIKE '%q%'``: trigram GIN on PostGIS,
  a full scan on SQLite), all ``LIMIT 10``;
* reverse lookup of random points in Guangdong against the division polygons (PostGIS
  ``ST_Contains`` through ``PostGISDivisionLocator``; SQLite: the in-memory ``DivisionLocator``
  the project uses there) and the 5 nearest places (PostGIS KNN ``<->`` on the GiST index).

Latencies are single-client, per query, in milliseconds (p50/p95/p99). Databases live in a
temporary directory / a temporary database that is dropped at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boundaries.schema import SCHEMA
from gazetteer import importer
from gazetteer.core import migrate  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402

NAMES = ROOT / "data" / "national" / "names.csv"
GENERICS = (
    "社区居民委员会",
    "社区居委会",
    "村民委员会",
    "居民委员会",
    "村委会",
    "居委会",
    "街道办事处",
    "街道",
    "自治县",
    "自治州",
    "特别行政区",
    "自治区",
    "地区",
    "盟",
    "旗",
    "镇",
    "乡",
    "村",
    "区",
    "县",
    "市",
    "省",
)
FEATURE_CLASS = {"village": "群众自治组织"}
GD_BOX, CN_BOX = (109.6, 20.2, 117.3, 25.5), (73.5, 18.2, 134.8, 53.5)
PLACE_COLUMNS = (
    "source_key",
    "name",
    "specific_term",
    "generic_term",
    "feature_class",
    "feature_type",
    "status",
    "geom",
    "minx",
    "miny",
    "maxx",
    "maxy",
    "source",
    "registered_by",
)


# ---------------------------------------------------------------- the corpus


def split_generic(name: str) -> tuple[str, str]:
    for generic in GENERICS:
        if name.endswith(generic) and len(name) > len(generic):
            return name[: -len(generic)], generic
    return name, ""


def corpus(rows: int, seed: int = 13, divisions: list[str] | None = None):
    """Yield place tuples (PLACE_COLUMNS order, geom as EWKT): real names first, then
    generated ones, ``rows`` in all. With ``divisions`` (codes of the store's Guangdong
    divisions) each tuple also ends with a division code: a real Guangdong name's own
    county or city when the store has it, a generated Guangdong name one of them drawn at
    random, None elsewhere (the filters of the search then have places to narrow to)."""
    known = set(divisions or ())

    def division(code: str | None) -> tuple:
        if divisions is None:
            return ()
        if code is not None:
            return (code[:6] if code[:6] in known else None,)
        return (divisions[rng.integers(0, len(divisions))],)

    with NAMES.open(encoding="utf-8") as f:
        real = list(csv.DictReader(f))
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for r in real:
        groups[(r["code"][:2], r["level"])].append(split_generic(r["name"]))
    total = min(rows, len(real))
    for r in real[:total]:
        spec, gen = split_generic(r["name"])
        yield _row(
            f"nbs:{r['code']}",
            r["name"],
            spec,
            gen,
            r["level"],
            r["code"][:2],
            "national names",
            rng,
        ) + division(r["code"] if r["code"][:2] == "44" else "-")
    extra = rows - total
    if extra <= 0:
        return
    keys = sorted(groups)
    weights = np.array([len(groups[k]) for k in keys], dtype=float)
    per_group = rng.multinomial(extra, weights / weights.sum())
    n = 0
    for key, count in zip(keys, per_group):
        if not count:
            continue
        pairs = groups[key]
        specs = rng.integers(0, len(pairs), count)
        gens = rng.integers(0, len(pairs), count)
        for s_i, g_i in zip(specs, gens):
            spec, gen = pairs[s_i][0], pairs[g_i][1]
            n += 1
            row = _row(f"gen:{n}", spec + gen, spec, gen, key[1], key[0], "generated", rng)
            yield row + division(None if key[0] == "44" else "-")


def _row(key, name, spec, gen, level, province, source, rng):
    box = GD_BOX if province == "44" else CN_BOX
    x, y = rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])
    return (
        key,
        name,
        spec,
        gen or None,
        FEATURE_CLASS.get(level, "行政区域"),
        level,
        "in_force",
        f"SRID=4490;POINT({x:.6f} {y:.6f})",
        x,
        y,
        x,
        y,
        source,
        "bench_scale",
    )


def percentiles_ms(seconds: list[float]) -> tuple[float, float, float]:
    ms = np.array(seconds) * 1000
    return tuple(float(np.percentile(ms, p)) for p in (50, 95, 99))


def timed(fn, items) -> list[float]:
    out = []
    for item in items:
        t = time.perf_counter()
        fn(item)
        out.append(time.perf_counter() - t)
    return out


def queries(names: list[str], n: int, seed: int = 7) -> dict[str, list[str]]:
    rng = random.Random(seed)
    sample = rng.sample(names, min(n, len(names)))
    subs = []
    for name in sample:
        start = rng.randrange(0, max(1, len(name) - 2))
        subs.append(name[start : start + 3])
    return {"exact": sample, "prefix": [s[:2] for s in sample], "substring": subs}


def guangdong_points(n: int, seed: int = 11) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return list(zip(rng.uniform(GD_BOX[0], GD_BOX[2], n), rng.uniform(GD_BOX[1], GD_BOX[3], n)))


# ---------------------------------------------------------------- PostgreSQL


def load_places(store: Store, rows: int, audit: bool = True, divisions: bool = False):
    """Replace the places of a migrated PostGIS ``store`` by ``rows`` places of the corpus
    (the shipped data imported first: its divisions stay), with ``COPY`` after dropping the
    ``places`` indexes, which are made again afterwards. ``divisions``: give places the
    division codes :func:`corpus` draws from the store's Guangdong divisions. Returns
    (seconds of the COPY, seconds of the index build)."""
    importer.import_shipped_data(store)
    with store.read() as conn:
        codes = sorted(
            conn.exec_driver_sql("SELECT code FROM divisions WHERE code LIKE '44%%'").scalars()
        )
    columns = PLACE_COLUMNS + (("division_code",) if divisions else ())
    places = corpus(rows, divisions=codes if divisions else None)
    with store.write() as conn:
        # The benchmark's rows only: the shipped places go, with the rows that refer to them.
        referencing = conn.exec_driver_sql(
            "SELECT DISTINCT conrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
            "AND confrelid = 'places'::regclass AND conrelid <> 'places'::regclass"
        ).scalars()
        for table in list(referencing):
            conn.exec_driver_sql(f"DELETE FROM {table}")
        conn.exec_driver_sql("DELETE FROM places")
        index_defs = conn.exec_driver_sql(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'places' "
            r"AND indexname NOT LIKE 'pk\_%%'"
        ).all()
        constraints = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'places'::regclass AND contype = 'u'"
        ).all()
        for name, _ in constraints:
            conn.exec_driver_sql(f"ALTER TABLE places DROP CONSTRAINT {name}")
        for name, _ in index_defs:
            conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
    t0 = time.perf_counter()
    raw = store.engine.raw_connection()
    try:
        cur = raw.cursor()
        cur.execute("SELECT set_config('gdgis.actor', 'bench_scale', false)")
        if not audit:
            # Triggers off for this session (superuser): the audit trail's per-row
            # cost is left out, as for an initial census load audited as one batch.
            cur.execute("SET session_replication_role = replica")
        with cur.copy(f"COPY places ({', '.join(columns)}) FROM STDIN") as copy:
            buf = io.StringIO()
            for i, row in enumerate(places, 1):
                buf.write("\t".join(r"\N" if v is None else str(v) for v in row) + "\n")
                if i % 200_000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
            copy.write(buf.getvalue())
        raw.commit()
    finally:
        raw.close()
    copy_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    with store.write() as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '512MB'")
        for name, definition in constraints:
            conn.exec_driver_sql(f"ALTER TABLE places ADD CONSTRAINT {name} {definition}")
        for name, definition in index_defs:
            if not any(name == c for c, _ in constraints):
                conn.exec_driver_sql(definition)
    index_s = time.perf_counter() - t0
    return copy_s, index_s


def bench_postgres(server_url: str, rows: int, n_queries: int, audit: bool = True) -> dict:
    url = sa.engine.make_url(server_url)
    database = f"gdgis_bench_{os.getpid()}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    store = Store(url.set(database=database).render_as_string(hide_password=False))
    try:
        migrate.upgrade(store, SCHEMA)
        copy_s, index_s = load_places(store, rows, audit)
        with store.write() as conn:
            conn.exec_driver_sql("ANALYZE places")
            size = conn.exec_driver_sql(
                "SELECT pg_size_pretty(pg_total_relation_size('places'))"
            ).scalar()
            names = list(
                conn.exec_driver_sql(
                    f"SELECT name FROM places TABLESAMPLE SYSTEM (1) LIMIT {n_queries * 2}"
                ).scalars()
            )
        qs = queries(names, n_queries)
        result = {
            "store": "PostGIS" + ("" if audit else " (load without audit triggers)"),
            "rows": rows,
            "load_s": copy_s,
            "index_s": index_s,
            "size": size,
        }
        from gazetteer.reverse_postgis import PostGISDivisionLocator

        locator = PostGISDivisionLocator(store)
        with store.read() as conn:
            exact = sa.text("SELECT id, name FROM places WHERE name = :q LIMIT 10")
            prefix = sa.text("SELECT id, name FROM places WHERE name LIKE :q LIMIT 10")
            result["exact"] = timed(lambda q: conn.execute(exact, {"q": q}).all(), qs["exact"])
            result["prefix"] = timed(
                lambda q: conn.execute(prefix, {"q": q + "%"}).all(), qs["prefix"]
            )
            result["substring"] = timed(
                lambda q: conn.execute(prefix, {"q": f"%{q}%"}).all(), qs["substring"]
            )
            nearest = sa.text(
                "SELECT id FROM places ORDER BY geom <-> ST_SetSRID(ST_MakePoint(:x, :y), 4490) "
                "LIMIT 5"
            )
            points = guangdong_points(n_queries)
            result["nearest"] = timed(
                lambda p: conn.execute(nearest, {"x": p[0], "y": p[1]}).all(), points
            )
        result["reverse"] = timed(lambda p: locator.locate(p[0], p[1]), points)
        return result
    finally:
        store.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()


# ---------------------------------------------------------------- SQLite


def load_sqlite_store(path: Path, rows: int) -> tuple[sqlite3.Connection, float]:
    """A migrated SQLite store at ``path`` with the shipped divisions and ``rows`` places of
    the corpus; returns (an open sqlite3 connection to it, seconds the bulk load took)."""
    store = Store(f"sqlite:///{path}")
    migrate.upgrade(store, SCHEMA)
    importer.import_shipped_data(store)
    store.dispose()
    db = sqlite3.connect(path)
    # The audit triggers of migration 0004 ask the connection who writes.
    db.create_function("gdgis_actor", 0, lambda: "bench_scale")
    db.create_function("gdgis_tx", 0, lambda: "bench_scale")
    with db:  # the shipped places go, with the rows that refer to them (division history)
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            if any(fk[2] == "places" for fk in db.execute(f"PRAGMA foreign_key_list('{table}')")):
                db.execute(f'DELETE FROM "{table}"')
        db.execute("DELETE FROM places")
    t0 = time.perf_counter()
    from shapely import to_wkb
    from shapely.geometry import Point

    placeholders = ", ".join("?" for _ in PLACE_COLUMNS)
    with db:
        batch = []
        for row in corpus(rows):
            row = list(row)
            row[7] = to_wkb(Point(row[8], row[9]))
            batch.append(row)
            if len(batch) == 100_000:
                db.executemany(
                    f"INSERT INTO places ({', '.join(PLACE_COLUMNS)}) VALUES ({placeholders})",
                    batch,
                )
                batch = []
        db.executemany(
            f"INSERT INTO places ({', '.join(PLACE_COLUMNS)}) VALUES ({placeholders})", batch
        )
    return db, time.perf_counter() - t0


def national_store(path: Path, rows: int = 665_273) -> Path:
    """``path``, a SQLite store of the shipped divisions and ``rows`` national names, built
    first when missing (a few minutes). Built under another name and renamed when done: a
    build that stopped half way is not taken for the store by the next run."""
    if path.exists():
        return path
    part = path.with_name(path.name + ".part")
    for leftover in (part, part.with_name(part.name + "-wal"), part.with_name(part.name + "-shm")):
        leftover.unlink(missing_ok=True)
    print(f"building {path} with {rows:,} names ...", flush=True)
    db, load_s = load_sqlite_store(part, rows)
    db.execute("ANALYZE")
    db.close()
    part.rename(path)
    print(f"  loaded in {load_s:.0f} s", flush=True)
    return path


def bench_sqlite(directory: Path, rows: int, n_queries: int) -> dict:
    path = directory / f"scale-{rows}.sqlite"
    db, load_s = load_sqlite_store(path, rows)
    db.execute("ANALYZE")
    names = [
        r[0] for r in db.execute(f"SELECT name FROM places ORDER BY random() LIMIT {n_queries * 2}")
    ]
    qs = queries(names, n_queries)
    result = {
        "store": "SQLite",
        "rows": rows,
        "load_s": load_s,
        "index_s": 0.0,
        "size": f"{path.stat().st_size / 2**20:.0f} MB",
    }
    exact = "SELECT id, name FROM places WHERE name = ? LIMIT 10"
    # SQLite's LIKE is case-insensitive and cannot use the B-tree; a range can.
    prefix = "SELECT id, name FROM places WHERE name >= ? AND name < ? LIMIT 10"
    substring = "SELECT id, name FROM places WHERE name LIKE ? LIMIT 10"
    result["exact"] = timed(lambda q: db.execute(exact, (q,)).fetchall(), qs["exact"])
    result["prefix"] = timed(
        lambda q: db.execute(prefix, (q, q + "\U0010ffff")).fetchall(), qs["prefix"]
    )
    result["substring"] = timed(
        lambda q: db.execute(substring, (f"%{q}%",)).fetchall(), qs["substring"]
    )
    db.close()
    from gazetteer.reverse import DivisionLocator

    store = Store(f"sqlite:///{path}")
    locator = DivisionLocator.from_store(store)
    store.dispose()
    points = guangdong_points(n_queries)
    result["reverse"] = timed(lambda p: locator.locate(p[0], p[1]), points)
    result["nearest"] = None  # the SQLite path keeps places in memory (NearestPlaces); not a query
    path.unlink()
    return result


# ---------------------------------------------------------------- report


def print_table(results: list[dict]) -> None:
    print(
        "\n| store | rows | load (s) | index build (s) | size | exact p50/p95/p99 ms | prefix p50/p95/p99 ms "
        "| substring p50/p95/p99 ms | reverse p50/p95/p99 ms | 5 nearest p50/p95/p99 ms |"
    )
    print("|---|---:|---:|---:|---:|---|---|---|---|---|")
    for r in results:
        cells = []
        for key in ("exact", "prefix", "substring", "reverse", "nearest"):
            cells.append(
                "—" if r[key] is None else " / ".join(f"{v:.2f}" for v in percentiles_ms(r[key]))
            )
        print(
            f"| {r['store']} | {r['rows']:,} | {r['load_s']:.0f} | {r['index_s']:.0f} | {r['size']} | "
            + " | ".join(cells)
            + " |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=13_000_000, help="rows on PostGIS (0: skip)")
    parser.add_argument(
        "--sqlite-rows", default="665000,2000000", help="comma-separated SQLite sizes ('' to skip)"
    )
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument(
        "--no-audit",
        action="store_true",
        help="PostGIS: COPY with the audit triggers off (session_replication_role)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("GDGIS_TEST_DATABASE_URL"),
        help="a PostGIS server URL; a temporary database is created on it",
    )
    args = parser.parse_args()
    if not NAMES.exists():
        sys.exit(f"{NAMES} missing: run python scripts/fetch_national_names.py")
    results = []
    with tempfile.TemporaryDirectory(prefix="gdgis-scale-") as tmp:
        for rows in [int(s) for s in args.sqlite_rows.split(",") if s.strip()]:
            print(f"SQLite, {rows:,} rows …", flush=True)
            results.append(bench_sqlite(Path(tmp), rows, args.queries))
            print_table(results[-1:])
    if args.rows:
        if not args.database_url:
            sys.exit("no PostGIS URL: pass --database-url or set GDGIS_TEST_DATABASE_URL")
        print(f"PostGIS, {args.rows:,} rows …", flush=True)
        results.append(
            bench_postgres(args.database_url, args.rows, args.queries, audit=not args.no_audit)
        )
    print_table(results)
    print(
        f"\nOne client, {args.queries} queries per column; generated rows labelled source='generated'."
    )


if __name__ == "__main__":
    main()
