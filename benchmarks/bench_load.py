#!/usr/bin/env python3
"""Load benchmark (issue 17, benchmark 4): ``gdgis serve`` with all its workers (one per
core) under 200 connections for 60 s, with officers' and clerks' writes; p99, errors and
lost writes.

1. A temporary data directory gets a store with the shipped data (``gdgis import-data``),
   a clerk and an officer, each with an API token.
2. ``gdgis serve`` serves the app on 127.0.0.1 (gunicorn gthread workers, one per core by
   default; the public rate limit is raised for the run — in production the limit also
   sits in nginx).
3. This process (not the server's) drives public ``/api/search?q=…`` and
   ``/api/reverse?lon=&lat=`` with names and points drawn from the store over ``--clients``
   keep-alive connections (each pausing a random 0–2×``--think-ms`` between its requests,
   as people using a page do; ``--think-ms 0`` sends back to back), in two phases of
   ``--duration`` seconds on the same server after a warm-up: **reads only** (the
   baseline), then **reads + writes**, where ``--writers`` threads draft proposals and move
   them through submit (clerk) / return (officer) with the tokens, ``--write-rate`` writes
   a second in all.
4. Afterwards every acknowledged write is looked for in the store (each one adds exactly
   one ``proposal_events`` row): lost writes = acknowledged - stored.

Prints a Markdown table: requests, throughput, p50/p99 latency and errors per phase and
kind. Only loopback traffic; every loop is bounded by the duration. Exits 1 on any error or
lost write.

Usage:  python benchmarks/bench_load.py [--duration 60] [--clients 200] [--workers N]
        [--threads 8] [--think-ms 250] [--writers 4] [--write-rate 10]
        [--write-arrivals independent|lockstep]
        [--generator wrk|python]

The reads come from wrk (``apt-get install wrk``) when it is installed: a C load generator
whose own CPU use is small, so the latencies are the server's. ``--generator python``
uses Python threads in this process instead (their GIL queue adds to the tail).
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boundaries.schema import SCHEMA
from gazetteer.core import accounts, migrate  # noqa: E402
from gazetteer.core.store import Store  # noqa: E402
from gazetteer.registry_tables import proposal_events  # noqa: E402
from gazetteer.tables import places  # noqa: E402

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def prepare(data_dir: Path) -> tuple[Store, dict[str, str], list[str], list[tuple[float, float]]]:
    env = {**os.environ, "GDGIS_DATA_DIR": str(data_dir)}
    subprocess.run(
        [sys.executable, "-m", "webmap.cli", "import-data"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = Store(f"sqlite:///{data_dir / 'gdgis.sqlite'}")
    migrate.upgrade(store, SCHEMA)
    tokens = {}
    for name, role in (("bench_clerk", "clerk"), ("bench_officer", "officer")):
        accounts.create_user(store, name, "benchmark password", [role], by="system:bench")
        tokens[role] = accounts.issue_token(store, name, "负载测试", by="system:bench")[0]
    rng = random.Random(2024)
    with store.read() as conn:
        rows = conn.execute(
            sa.select(places.c.name, places.c.minx, places.c.miny).where(
                places.c.division_code.like("44%"), places.c.minx.is_not(None)
            )
        ).all()
    sample = rng.sample(rows, min(2000, len(rows)))
    names = [r.name for r in sample] + [r.name[:2] for r in sample[:500]]
    points = [
        (r.minx + rng.uniform(-0.01, 0.01), r.miny + rng.uniform(-0.01, 0.01)) for r in sample
    ]
    return store, tokens, names, points


def start_server(data_dir: Path, port: int, workers: int | None, threads: int) -> subprocess.Popen:
    """``gdgis serve`` as an operator runs it (it builds the lookup indexes once, then forks
    the workers); ``workers`` None: its default, one per core."""
    env = {
        **os.environ,
        "GDGIS_DATA_DIR": str(data_dir),
        "GDGIS_SECRET_KEY": "bench-" + os.urandom(8).hex(),
        "GDGIS_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    command = [sys.executable, "-m", "webmap.cli", "serve", "--host", HOST, "--port", str(port)]
    command += ["--threads", str(threads)] + (["--workers", str(workers)] if workers else [])
    # The access log goes to stdout: discarded here, as a journal would take it.
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, start_new_session=True, stdout=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            time.sleep(0.2)
    stop_server(server)
    raise RuntimeError("gunicorn did not start")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies_ms: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, kind: str, ms: float, status: int | None) -> None:
        with self.lock:
            self.latencies_ms[kind].append(ms)
            if status is None or status >= 400:
                self.errors[kind] += 1
            self.statuses[kind][status or 0] += 1


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: dict | None = None,
    headers: dict | None = None,
) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    conn.request(
        method,
        path,
        body=data,
        headers={**(headers or {}), **({"Content-Type": "application/json"} if data else {})},
    )
    response = conn.getresponse()
    return response.status, response.read()


def reader(
    port: int,
    stop_at: float,
    names: list[str],
    points: list,
    results: Results,
    seed: int,
    think_ms: float = 0.0,
) -> None:
    from urllib.parse import quote

    rng = random.Random(seed)
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    while time.monotonic() < stop_at:
        if rng.random() < 0.5:
            kind, path = "search", f"/api/search?q={quote(rng.choice(names))}"
        else:
            lon, lat = rng.choice(points)
            kind, path = "reverse", f"/api/reverse?lon={lon:.6f}&lat={lat:.6f}"
        start = time.perf_counter()
        try:
            status, _ = request(conn, "GET", path)
        except (OSError, http.client.HTTPException):
            status = None
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
        results.add(kind, (time.perf_counter() - start) * 1000, status)
        if think_ms:
            time.sleep(rng.uniform(0, 2 * think_ms) / 1000)
    conn.close()


def write_gaps(rate_per_s: float, writer_no: int, lockstep: bool) -> Iterator[float]:
    """Seconds from one write of a writer to its next: exponential with mean
    1/``rate_per_s`` (a Poisson process, seeded by ``writer_no``), or exactly
    1/``rate_per_s`` in ``lockstep``; 0 (as fast as answered) for a rate of 0."""
    if rate_per_s <= 0:
        return itertools.repeat(0.0)
    if lockstep:
        return itertools.repeat(1.0 / rate_per_s)
    rng = random.Random(f"writer-{writer_no}")
    return (rng.expovariate(rate_per_s) for _ in itertools.count())


def writer(
    port: int,
    stop_at: float,
    tokens: dict[str, str],
    results: Results,
    acknowledged: list[int],
    rate_per_s: float = 10.0,
    writer_no: int = 0,
    lockstep: bool = False,
) -> None:
    """Draft a proposal, then alternate submit (clerk) and return (officer); every 2xx is
    one acknowledged write that must be in the store afterwards. Paced at ``rate_per_s``
    writes a second (10/s in all is 36,000 an hour: far above the province's ~10,000 naming
    decisions a year, and still a steady stream of write transactions).

    Each writer's writes come at independent random times (a Poisson process: exponential
    gaps of mean 1/``rate_per_s``, seeded by ``writer_no``), as officers at their own desks
    send them. ``lockstep``: every ``1/rate_per_s`` s from the same start, so all writers
    send at the same instant (how this benchmark paced them until 2026-11-30)."""
    gaps = write_gaps(rate_per_s, writer_no, lockstep)
    next_at = time.monotonic()
    conn = http.client.HTTPConnection(HOST, port, timeout=30)
    auth = {role: {"Authorization": f"Bearer {t}"} for role, t in tokens.items()}
    proposal, n = None, 0
    while time.monotonic() < stop_at:
        next_at += next(gaps)
        pause = next_at - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        n += 1
        if proposal is None or proposal["version"] > 20:
            method, path, body, who = (
                "POST",
                "/api/proposals",
                {
                    "kind": "naming",
                    "applicant": "天河区住房和城乡建设局",
                    "reasons": "负载测试：新建道路",
                    "proposed": {
                        "name": f"测试{writer_no}{n % 97}路",
                        "feature_class": "交通运输设施",
                        "division_code": "440106",
                    },
                },
                "clerk",
            )
        elif proposal["state"] == "draft":
            method, path, body, who = (
                "POST",
                f"/api/proposals/{proposal['id']}/actions/submit",
                {"version": proposal["version"]},
                "clerk",
            )
        else:
            method, path, body, who = (
                "POST",
                f"/api/proposals/{proposal['id']}/actions/return",
                {"version": proposal["version"], "reason": "负载测试：退回"},
                "officer",
            )
        start = time.perf_counter()
        try:
            status, data = request(conn, method, path, body, auth[who])
        except (OSError, http.client.HTTPException):
            status, data = None, b""
            conn.close()
            conn = http.client.HTTPConnection(HOST, port, timeout=30)
        results.add("write", (time.perf_counter() - start) * 1000, status)
        if status is not None and 200 <= status < 300:
            with results.lock:
                acknowledged[0] += 1
            proposal = json.loads(data)
    conn.close()


def read_paths(names: list[str], points: list, count: int, seed: int) -> list[tuple[str, str]]:
    """(kind, path) of public reads: half searches, half reverse lookups, seeded."""
    from urllib.parse import quote

    rng = random.Random(seed)
    paths = []
    for _ in range(count):
        if rng.random() < 0.5:
            paths.append(("search", f"/api/search?q={quote(rng.choice(names))}"))
        else:
            lon, lat = rng.choice(points)
            paths.append(("reverse", f"/api/reverse?lon={lon:.6f}&lat={lat:.6f}"))
    return paths


def run_wrk(
    port: int,
    duration: float,
    clients: int,
    paths: list[tuple[str, str]],
    workdir: Path,
    think_ms: float = 0.0,
) -> dict:
    """Drive the reads with wrk (C, epoll: the load generator costs little CPU, so the
    figures are the server's, not the client's GIL queue). Each connection waits a random
    0–2×``think_ms`` between its requests (wrk's ``delay()``; not counted in the latency).
    Returns count, req/s, p50, p99 (ms) and errors (non-2xx plus socket errors)."""
    import re

    script = workdir / "reads.lua"
    lua_paths = ",\n".join(
        '  "' + p.replace("\\", "\\\\").replace('"', '\\"') + '"' for _, p in paths
    )
    script.write_text(
        "paths = {\n" + lua_paths + "\n}\n"
        'request = function()\n  return wrk.format("GET", paths[math.random(#paths)])\nend\n'
        + (
            f"delay = function()\n  return math.random(0, {round(2 * think_ms)})\nend\n"
            if think_ms
            else ""
        )
        # The latency at each of QUANTILE_POINTS (microseconds), for the row of all requests.
        + "done = function(summary, latency, requests)\n"
        + "".join(
            f"  io.write(string.format('Q {p} %d\\n', latency:percentile({p})))\n"
            for p in QUANTILE_POINTS
        )
        # wrk's percentile(100) is 0: the slowest is its max.
        + "  io.write(string.format('Q 100 %d\\n', latency.max))\n"
        + "end\n",
        encoding="utf-8",
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{clients}",
            f"-d{int(duration)}s",
            "--latency",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://{HOST}:{port}",
        ],
        capture_output=True,
        text=True,
        timeout=duration + 120,
    ).stdout

    def ms(label: str) -> float:
        value, unit = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M).groups()
        return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]

    count = int(re.search(r"(\d+) requests in", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(map(int, socket_errors.groups())) if socket_errors else 0
    )
    quantiles = {float(p): int(us) / 1e3 for p, us in re.findall(r"^Q ([\d.]+) (\d+)$", out, re.M)}
    return {
        "count": count,
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": ms("50%"),
        "p99": ms("99%"),
        "errors": errors,
        "quantiles": quantiles,
        "raw": out,
    }


# Percentiles at which wrk reports the reads' latency (every half per cent, then every
# hundredth above 95; and the slowest): enough to place the 99th percentile of reads and
# writes together to within a few requests.
QUANTILE_POINTS = [i / 2 for i in range(190)] + [95 + i / 100 for i in range(500)]


def quantile_table(latencies: list[float]) -> dict[float, float]:
    """The latency at each of QUANTILE_POINTS and the slowest (at 100), as wrk reports them."""
    ordered = sorted(latencies)
    return {q: _ranked(ordered, q) for q in [*QUANTILE_POINTS, 100.0]} if ordered else {}


def mixed_percentile(
    read_quantiles: dict[float, float], reads: int, writes: list[float], p: float
) -> float:
    """The ``p``-th percentile (ms) of reads and writes together: ``reads`` requests whose
    latency at each percentile is ``read_quantiles`` (wrk's), and ``writes`` (each one's
    latency). The first latency at which at least ``p`` per cent of all requests are done."""
    points = sorted(read_quantiles.items())
    total = reads + len(writes)
    ordered = sorted(writes)
    done_writes = 0
    for latency in sorted({v for _, v in points} | set(ordered)):
        while done_writes < len(ordered) and ordered[done_writes] <= latency:
            done_writes += 1
        done_reads = max((q for q, v in points if v <= latency), default=0.0) / 100 * reads
        if done_reads + done_writes >= p / 100 * total:
            return latency
    return max(points[-1][1] if points else 0.0, ordered[-1] if ordered else 0.0)


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return _ranked(sorted(values), p)


def _ranked(ordered: list[float], p: float) -> float:
    """The ``p``-th percentile of the sorted, non-empty ``ordered`` (nearest rank)."""
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run_phase(
    port: int,
    args: argparse.Namespace,
    names: list[str],
    points: list,
    tokens: dict[str, str],
    workdir: Path,
    *,
    writers: int,
    seed: int,
) -> dict:
    """One measured phase: reads over ``args.clients`` connections for ``args.duration`` s,
    with ``writers`` writer threads sharing ``args.write_rate`` (0 writers: reads only)."""
    results, acknowledged = Results(), [0]
    stop_at = time.monotonic() + args.duration
    threads = [
        threading.Thread(
            target=writer,
            args=(port, stop_at, tokens, results, acknowledged, args.write_rate / writers, i),
            kwargs={"lockstep": args.write_arrivals == "lockstep"},
        )
        for i in range(writers)
    ]
    if args.generator == "python":
        threads += [
            threading.Thread(
                target=reader,
                args=(port, stop_at, names, points, results, seed * 1000 + i, args.think_ms),
            )
            for i in range(args.clients)
        ]
    started = time.monotonic()
    for t in threads:
        t.start()
    wrk = None
    if args.generator == "wrk":
        paths = read_paths(names, points, 5000, seed)
        wrk = run_wrk(port, args.duration, args.clients, paths, workdir, args.think_ms)
    for t in threads:
        t.join(timeout=args.duration + 120)
    elapsed = time.monotonic() - started
    if wrk is None:
        reads = results.latencies_ms["search"] + results.latencies_ms["reverse"]
        read_errors = results.errors["search"] + results.errors["reverse"]
        wrk = {
            "count": len(reads),
            "rps": len(reads) / elapsed,
            "p50": percentile(reads, 50),
            "p99": percentile(reads, 99),
            "errors": read_errors,
            "quantiles": quantile_table(reads),
        }
    writes = results.latencies_ms["write"]
    count = wrk["count"] + len(writes)
    return {
        "elapsed": elapsed,
        "all": {
            "count": count,
            "rps": count / elapsed,
            "p50": mixed_percentile(wrk["quantiles"], wrk["count"], writes, 50),
            "p99": mixed_percentile(wrk["quantiles"], wrk["count"], writes, 99),
            "errors": wrk["errors"] + results.errors["write"],
        },
        "reads": wrk,
        "writes": {
            "count": len(writes),
            "rps": len(writes) / elapsed,
            "p50": percentile(writes, 50),
            "p99": percentile(writes, 99),
            "errors": results.errors["write"],
        },
        "acknowledged": acknowledged[0],
        "statuses": {k: dict(v) for k, v in results.statuses.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    parser.add_argument("--clients", type=int, default=200, help="reading connections")
    parser.add_argument(
        "--workers", type=int, default=None, help="gdgis serve --workers (default: one per core)"
    )
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument(
        "--think-ms",
        type=float,
        default=250.0,
        help="mean pause of a reading connection between requests (0: back to back)",
    )
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--writers", type=int, default=4, help="writing connections")
    parser.add_argument(
        "--write-rate", type=float, default=10.0, help="officers' and clerks' writes per second"
    )
    parser.add_argument(
        "--write-arrivals",
        choices=("independent", "lockstep"),
        default="independent",
        help="each writer at random times (Poisson), or all at once on one clock",
    )
    parser.add_argument(
        "--generator",
        choices=("wrk", "python"),
        default="wrk" if shutil.which("wrk") else "python",
        help="wrk (Debian package; default when installed) or Python threads in this process",
    )
    args = parser.parse_args()
    workers = args.workers or os.cpu_count() or 1

    with tempfile.TemporaryDirectory(prefix="gdgis-bench-") as tmp:
        data_dir = Path(tmp)
        print("preparing the store (import of the shipped data) ...", file=sys.stderr)
        store, tokens, names, points = prepare(data_dir)
        with store.read() as conn:
            events_before = conn.execute(
                sa.select(sa.func.count()).select_from(proposal_events)
            ).scalar()
        port = args.port or free_port()
        server = start_server(data_dir, port, args.workers, args.threads)
        try:
            # Warm every worker's connections and caches with the full number of clients
            # first, so that both phases see running workers.
            if args.generator == "wrk":
                run_wrk(port, 15, args.clients, read_paths(names, points, 5000, 0), data_dir)
            else:
                reader(port, time.monotonic() + 5, names, points, Results(), 0)
            print("phase 1: reads only ...", file=sys.stderr)
            baseline = run_phase(port, args, names, points, tokens, data_dir, writers=0, seed=1)
            print("phase 2: reads + writes ...", file=sys.stderr)
            loaded = run_phase(
                port, args, names, points, tokens, data_dir, writers=args.writers, seed=2
            )
        finally:
            stop_server(server)
        with store.read() as conn:
            stored = (
                conn.execute(sa.select(sa.func.count()).select_from(proposal_events)).scalar()
                - events_before
            )
        store.dispose()

    print(
        f"\n`gdgis serve`: {workers} worker(s) x {args.threads} threads (gthread), "
        f"{args.clients} reading connections ({args.generator}) pausing 0–"
        f"{2 * args.think_ms:.0f} ms between requests, {args.duration:.0f} s per "
        f"phase after a warm-up, loopback, {os.cpu_count()} CPU(s) shared with the load "
        "generator\n"
    )
    print("| phase | requests | count | req/s | p50 ms | p99 ms | errors |")
    print("|---|---|---:|---:|---:|---:|---:|")
    rows = [
        ("reads only (baseline)", "reads: search + reverse", baseline["reads"]),
        ("reads + writes", "reads: search + reverse", loaded["reads"]),
        (
            "reads + writes",
            f"writes: {args.writers} officers/clerks, {args.write_rate:g}/s"
            + (", in lockstep" if args.write_arrivals == "lockstep" else ""),
            loaded["writes"],
        ),
        ("reads + writes", "all requests together", loaded["all"]),
    ]
    for phase, kind, r in rows:
        print(
            f"| {phase} | {kind} | {r['count']:,} | {r['rps']:,.0f} | {r['p50']:.1f} | "
            f"{r['p99']:.1f} | {r['errors']} |"
        )
    lost = loaded["acknowledged"] - stored
    print(
        f"\nwrites acknowledged: {loaded['acknowledged']}, found in the store: {stored}, "
        f"lost: {lost}"
    )
    errors = sum(r["errors"] for _, _, r in rows)
    if errors:
        print("error statuses:", baseline["statuses"], loaded["statuses"])
    if lost or errors:
        sys.exit(1)


if __name__ == "__main__":
    main()
