#!/usr/bin/env python3
"""Issue 17, benchmark 3: PostGIS with national-scale names, served THROUGH THE HTTP API.

    python scripts/fetch_national_names.py            # once: data/national/names.csv (~665,000)
    eval "$(scripts/ci_postgres.sh start)"
    python benchmarks/bench_national_http.py --rows 13000000 [--queries 300] [--connections 4]

1. Load: ``bench_scale.load_places`` puts ``--rows`` places into a fresh database (the real
   national names, then generated ones labelled ``source = 'generated'``; Guangdong places
   carry a Guangdong county or city code so that division filters narrow), with COPY and
   the audit triggers off (a census load is audited as one batch); 300 of them get a
   former name (a retired generated record linked to them as renamed).
2. Search keys: ``gazetteer.search_keys.fill`` (the code ``ensure_filled`` runs at a first
   start: places streamed, keys computed by one process per core, COPY) into the keys
   table without its indexes, which are made afterwards; both times reported.
3. ``gdgis serve`` (gunicorn, one worker per core) against that database; a client process
   drives seeded requests over ``--connections`` keep-alive connections: ``/api/search``
   in every form (exact, prefix, traditional, pinyin, initials, one typo, former names, with
   division / class / status / bbox filters), ``/api/suggest``, ``/api/reverse`` (divisions
   only, ``nearest=0``) and ``/api/reverse?nearest=5`` (the nearest places, KNN on GiST).
4. Baseline in the same run: the same requests answered in this process by the product's
   ``LookupService`` (SQL in the database, no HTTP), one at a time, so the HTTP and
   gunicorn overhead is the difference.

Reported: per kind p50/p95/p99 ms, requests and errors, over HTTP and in-process; worker
RSS and PSS (``/proc/<pid>/smaps_rollup``) after start and after the run; load, index
build, key fill and key index times; database size; the load average. The database is
dropped at the end (``--keep`` keeps it).
"""

from __future__ import annotations

import argparse
import gc
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import defaultdict
from pathlib import Path

import numpy as np
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import bench_scale  # noqa: E402
from bench_load import free_port, stop_server  # noqa: E402
from bench_search import make_queries  # noqa: E402
from bench_workers import memory_table  # noqa: E402

from boundaries.schema import SCHEMA  # noqa: E402
from gazetteer import search_keys  # noqa: E402
from gazetteer.core import migrate  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402
from gazetteer.search import keys_fingerprint  # noqa: E402

HOST = "127.0.0.1"
KINDS = (
    "search exact",
    "search prefix",
    "search traditional",
    "search pinyin",
    "search initials",
    "search typo",
    "search former name",
    "search + filters",
    "suggest",
    "reverse",
    "reverse + 5 nearest",
)
RENAMED = 300  # places given a former name


# ---------------------------------------------------------------- the database


def build(store: Store, rows: int) -> dict:
    """Load ``rows`` places, give some of them former names, fill the search keys; timings."""
    timings = {}
    migrate.upgrade(store, SCHEMA)
    timings["load_s"], timings["index_s"] = bench_scale.load_places(
        store, rows, audit=False, divisions=True
    )
    with store.write(actor="system:bench") as conn:
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        conn.exec_driver_sql(
            f"""
            WITH new AS (
                SELECT id, name, division_code, row_number() OVER () AS n FROM places
                TABLESAMPLE SYSTEM (1) REPEATABLE (3)
                LIMIT {RENAMED}
            ), old AS (
                INSERT INTO places (source_key, name, feature_class, feature_type, status,
                                    division_code, source, registered_by)
                SELECT 'gen:former:' || n, '旧' || name, '行政区域', 'village', 'retired',
                       division_code, 'generated', 'bench_national_http'
                FROM new RETURNING id, source_key
            )
            INSERT INTO place_links (old_place_id, new_place_id, kind, effective_date)
            SELECT old.id, new.id, 'renamed', DATE '2020-01-01'
            FROM old JOIN new ON old.source_key = 'gen:former:' || new.n
            """
        )
        conn.exec_driver_sql("ANALYZE places")
    with store.engine.begin() as conn:
        statements = search_keys.drop_indexes(conn)
        t = time.perf_counter()
        search_keys.fill(conn)
        timings["keys_fill_s"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
        for statement in statements:
            conn.execute(sa.text(statement))
        timings["keys_index_s"] = time.perf_counter() - t
        # Filled under this code and rule data: the workers' ensure_filled keeps them.
        conn.execute(
            sa.text(
                "DELETE FROM meta WHERE key IN ('search_keys:fingerprint', 'search_keys:filled')"
            )
        )
        conn.execute(
            sa.text("INSERT INTO meta (key, value) VALUES ('search_keys:fingerprint', :f)"),
            {"f": keys_fingerprint()},
        )
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        t = time.perf_counter()
        conn.execute(sa.text("VACUUM ANALYZE place_search_keys"))
        conn.execute(sa.text("VACUUM ANALYZE places"))
        timings["analyze_s"] = time.perf_counter() - t
    return timings


def database_sizes(store: Store) -> dict:
    with store.read() as conn:
        size = lambda sql: conn.execute(sa.text(sql)).scalar() / 2**30  # noqa: E731
        return {
            "database_gb": size("SELECT pg_database_size(current_database())"),
            "places_gb": size("SELECT pg_total_relation_size('places')"),
            "keys_gb": size("SELECT pg_total_relation_size('place_search_keys')"),
            "places": conn.execute(sa.text("SELECT count(*) FROM places")).scalar(),
            "generated": conn.execute(
                sa.text("SELECT count(*) FROM places WHERE source = 'generated'")
            ).scalar(),
        }


# ---------------------------------------------------------------- the requests


def requests_of(store: Store, per_kind: int, seed: int) -> list[tuple[str, str, dict]]:
    """Seeded (kind, path, params) requests drawn from the loaded places."""
    rng = random.Random(seed)
    with store.read() as conn:
        sample = conn.execute(
            sa.text(
                "SELECT id, name, feature_type, division_code, feature_class, minx, miny "
                "FROM places TABLESAMPLE SYSTEM (0.5) REPEATABLE (:s) "
                "WHERE status = 'in_force' LIMIT :n"
            ),
            {"s": seed, "n": per_kind * 20},
        ).all()
        former = (
            conn.execute(
                sa.text(
                    "SELECT o.name FROM place_links l JOIN places o ON o.id = l.old_place_id "
                    "ORDER BY o.id"
                )
            )
            .scalars()
            .all()
        )
    forms = make_queries([(r.id, r.name, r.feature_type, None) for r in sample], per_kind * 6, rng)
    out = [(f"search {q['form']}", "/api/search", {"q": q["typed"]}) for q in forms]
    out += [
        ("search former name", "/api/search", {"q": n})
        for n in rng.sample(former, min(per_kind, len(former)))
    ]
    gd = [r for r in sample if r.division_code]
    for r in rng.sample(gd, min(per_kind, len(gd))):
        choice = rng.randrange(4)
        params = {"q": r.name[:2]}
        if choice == 0:
            params["division"] = r.division_code
        elif choice == 1:
            params |= {"division": r.division_code, "feature_class": r.feature_class}
        elif choice == 2:
            params |= {"status": "in_force", "division": r.division_code[:4] + "00"}
        else:
            box = (r.minx - 0.5, r.miny - 0.5, r.minx + 0.5, r.miny + 0.5)
            params["bbox"] = ",".join(f"{v:.4f}" for v in box)
        out.append(("search + filters", "/api/search", params))
    for r in rng.sample(sample, per_kind):
        out.append(("suggest", "/api/suggest", {"q": r.name[: max(1, len(r.name) // 2)]}))
    points = bench_scale.guangdong_points(2 * per_kind, seed)
    for lon, lat in points[:per_kind]:
        out.append(
            ("reverse", "/api/reverse", {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "nearest": 0})
        )
    for lon, lat in points[per_kind:]:
        out.append(
            (
                "reverse + 5 nearest",
                "/api/reverse",
                {"lon": f"{lon:.6f}", "lat": f"{lat:.6f}", "nearest": 5},
            )
        )
    rng.shuffle(out)
    return out


def in_process(store: Store, requests) -> dict[str, list[float]]:
    """The requests answered by the product's LookupService in this process, one at a
    time: the same SQL, no HTTP, no JSON, no gunicorn."""
    from gazetteer.lookup import LookupService

    service = LookupService(store)
    service.warm()
    gc.collect()  # as a server's worker does after its start (webmap/gunicorn_conf.py)
    gc.freeze()
    timings: dict[str, list[float]] = defaultdict(list)
    for kind, path, params in requests:
        p = dict(params)
        t = time.perf_counter()
        if path == "/api/search":
            if "bbox" in p:
                p["bbox"] = tuple(float(v) for v in p["bbox"].split(","))
            service.find(p.pop("q"), **p)
        elif path == "/api/suggest":
            service.suggest(p["q"], 8)
        else:
            service.reverse(float(p["lon"]), float(p["lat"]), nearest=int(p["nearest"]))
        timings[kind].append(time.perf_counter() - t)
    return timings


def connections_per_worker(port: int) -> list[int]:
    """How many of the clients' keep-alive connections each gunicorn worker holds (from
    ``ss``), most first. A connection stays with the worker that accepted it, and which
    worker accepts is the kernel's choice: with 4 connections on 2 workers, 3 + 1 queues
    three clients' requests on one worker while the other idles, and the tail grows."""
    try:
        out = subprocess.run(
            ["ss", "-tnpH", "state", "established", f"( sport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return []
    pids = [
        line.split("pid=", 1)[1].split(",", 1)[0] for line in out.splitlines() if "pid=" in line
    ]
    return sorted((pids.count(p) for p in set(pids)), reverse=True)


def over_http(port: int, requests, connections: int) -> tuple[dict, dict, list[int]]:
    """The requests spread over ``connections`` client threads, each on one keep-alive
    connection; per kind the latencies (s) and the number of errors (non-200 or none), and
    the connections each worker held (:func:`connections_per_worker`)."""
    timings: dict[str, list[float]] = defaultdict(list)
    errors: dict[str, int] = defaultdict(int)
    lock = threading.Lock()
    started = threading.Barrier(connections + 1)

    def client(mine):
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        conn.connect()
        started.wait()
        for kind, path, params in mine:
            url = path + "?" + urllib.parse.urlencode(params)
            t = time.perf_counter()
            try:
                conn.request("GET", url)
                response = conn.getresponse()
                body = response.read()
                ok = response.status == 200 and json.loads(body) is not None
            except (OSError, http.client.HTTPException):
                ok = False
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            seconds = time.perf_counter() - t
            with lock:
                timings[kind].append(seconds)
                if not ok:
                    errors[kind] += 1
        conn.close()

    threads = [
        threading.Thread(target=client, args=(requests[i::connections],))
        for i in range(connections)
    ]
    for thread in threads:
        thread.start()
    started.wait()
    time.sleep(0.5)  # every connection accepted by a worker
    spread = connections_per_worker(port)
    for thread in threads:
        thread.join()
    return timings, errors, spread


# ---------------------------------------------------------------- the server


def start_server(url: str, port: int, workers: int) -> tuple[subprocess.Popen, float]:
    """``gdgis serve`` on the benchmark database; returns it and the seconds until it answered."""
    env = {
        **os.environ,
        "GDGIS_SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "GDGIS_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    command = [sys.executable, "-m", "webmap.cli", "--database-url", url, "serve"]
    command += ["--host", HOST, "--port", str(port), "--workers", str(workers)]
    started = time.perf_counter()
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )
    while time.perf_counter() - started < 1800:
        if server.poll() is not None:
            raise RuntimeError("gdgis serve ended")
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=5)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                conn.close()
                time.sleep(2)  # every worker warmed (post_worker_init) before it listens
                return server, time.perf_counter() - started
        except OSError:
            time.sleep(0.5)
    stop_server(server)
    raise RuntimeError("gdgis serve did not answer")


# ---------------------------------------------------------------- report


def pct(seconds: list[float]) -> str:
    if not seconds:
        return "—"
    ms = np.array(seconds) * 1000
    return " / ".join(f"{np.percentile(ms, p):.1f}" for p in (50, 95, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=13_000_000)
    parser.add_argument("--queries", type=int, default=300, help="requests per kind")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--keep", action="store_true", help="keep the database (--reuse it)")
    parser.add_argument("--reuse", help="a database kept by --keep: skip the load")
    parser.add_argument("--database-url", default=os.environ.get("GDGIS_TEST_DATABASE_URL"))
    args = parser.parse_args()
    if not args.database_url:
        sys.exit("no PostGIS URL: pass --database-url or set GDGIS_TEST_DATABASE_URL")
    if not bench_scale.NAMES.exists() and not args.reuse:
        sys.exit(f"{bench_scale.NAMES} missing: run python scripts/fetch_national_names.py")
    server_url = sa.engine.make_url(args.database_url)
    database = args.reuse or f"gdgis_bench_http_{os.getpid()}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    if not args.reuse:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{database}"')
    url = server_url.set(database=database).render_as_string(hide_password=False)
    store = Store(url)
    server = None
    try:
        load_at_start = os.getloadavg()
        timings = {} if args.reuse else build(store, args.rows)
        sizes = database_sizes(store)
        print(f"built: {timings} {sizes}", flush=True)
        requests = requests_of(store, args.queries, args.seed)
        baseline = in_process(store, requests)
        store.dispose()
        port = free_port()
        server, start_s = start_server(url, port, args.workers)
        memory_before = memory_table(server.pid)
        load_before_run = os.getloadavg()
        http_times, errors, spread = over_http(port, requests, args.connections)
        memory_after = memory_table(server.pid)
        load_after = os.getloadavg()
    finally:
        if server is not None:
            stop_server(server)
        store.dispose()
        if not args.keep:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        admin.dispose()

    print(
        f"\n## PostGIS, {sizes['places']:,} places ({sizes['generated']:,} generated) "
        f"through the HTTP API: {args.workers} gunicorn worker(s), {args.connections} client "
        f"connections, seed {args.seed}\n"
    )
    if timings:
        print(
            f"load (COPY) {timings['load_s']:.0f} s, places index build {timings['index_s']:.0f} s, "
            f"search keys fill {timings['keys_fill_s']:.0f} s, key index build "
            f"{timings['keys_index_s']:.0f} s, VACUUM ANALYZE {timings['analyze_s']:.0f} s"
        )
    print(
        f"database {sizes['database_gb']:.1f} GB (places {sizes['places_gb']:.1f} GB, search keys "
        f"{sizes['keys_gb']:.1f} GB); `gdgis serve` answered {start_s:.0f} s after it started"
    )
    print(
        "load average (1/5/15 min): at start "
        + " / ".join(f"{v:.2f}" for v in load_at_start)
        + ", before the HTTP run "
        + " / ".join(f"{v:.2f}" for v in load_before_run)
        + ", after "
        + " / ".join(f"{v:.2f}" for v in load_after)
        + f" on {os.cpu_count()} cores"
    )
    print(
        "client connections held by each worker: "
        + (" + ".join(map(str, spread)) if spread else "unknown (no `ss`)")
        + "\n"
    )
    print(
        "| request | requests | errors | HTTP p50 / p95 / p99 ms | in-process p50 / p95 / p99 ms "
        "| HTTP p95 ≤ 50 ms |"
    )
    print("|---|---:|---:|---|---|---|")
    every_http, every_base = [], []
    for kind in KINDS:
        h, b = http_times.get(kind, []), baseline.get(kind, [])
        every_http += h
        every_base += b
        p95 = np.percentile(np.array(h) * 1000, 95) if h else float("nan")
        print(
            f"| {kind} | {len(h)} | {errors.get(kind, 0)} | {pct(h)} | {pct(b)} | "
            f"{'—' if not h else 'met' if p95 <= 50 else 'NOT met'} |"
        )
    p95 = np.percentile(np.array(every_http) * 1000, 95)
    print(
        f"| **all** | {len(every_http)} | {sum(errors.values())} | {pct(every_http)} | "
        f"{pct(every_base)} | {'met' if p95 <= 50 else 'NOT met'} |"
    )
    print("\n| process | after start RSS / PSS MB | after the run RSS / PSS MB | RSS ≤ 300 MB |")
    print("|---|---|---|---|")
    for i, (before, after) in enumerate(zip(memory_before["workers"], memory_after["workers"])):
        print(
            f"| worker {i + 1} | {before['Rss'] / 1024:.0f} / {before['Pss'] / 1024:.0f} | "
            f"{after['Rss'] / 1024:.0f} / {after['Pss'] / 1024:.0f} | "
            f"{'met' if after['Rss'] / 1024 <= 300 else 'NOT met'} |"
        )
    m0, m1 = memory_before["master"], memory_after["master"]
    print(
        f"| gunicorn master | {m0['Rss'] / 1024:.0f} / {m0['Pss'] / 1024:.0f} | "
        f"{m1['Rss'] / 1024:.0f} / {m1['Pss'] / 1024:.0f} | — |"
    )


if __name__ == "__main__":
    main()
