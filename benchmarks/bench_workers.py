#!/usr/bin/env python3
"""Memory of `gdgis serve` workers on a SQLite store, and what full rebuilds (division
renames) do to it: the designs side by side in the same run.

    python benchmarks/bench_workers.py --store /tmp/national.sqlite   # built once if missing
    python benchmarks/bench_workers.py --store var/gdgis.sqlite --design rebuilds  # shipped

Designs (``--design``): ``isolated`` — the base a rebuild needs is written by a
short-lived child process and the worker hands back the memory the swap freed
(``GDGIS_LOOKUP_REBUILD=isolated``, the product); the baselines, the earlier behaviours:
``child-no-trim`` (a child process writes the base, the worker keeps the freed memory) and
``in-worker`` (the worker writes the base itself); ``memory`` — no index files, one
in-memory copy per worker (``GDGIS_LOOKUP_INDEX_FILES=false``).

The store: the shipped Guangdong divisions and the real national names (665,273,
data/national/names.csv; see benchmarks/bench_scale.py, which loads it). For each design:

1. ``gdgis serve`` with one gunicorn worker per core (the default), the indexes warmed in
   the master before the workers fork; the time until the first search answers.
2. Search queries over HTTP on several keep-alive connections (so that every worker
   answers some): real names, their first two characters, and the names with one character
   swapped for a neighbour's (typos). Latency per request at the client (p50/p95), and
   in the workers: the time at the end of each access-log line (from reading the request
   to sending the answer: Flask, the app and gunicorn's own work, without the loopback
   and this Python client), and the search alone (``Server-Timing``). Meanwhile this
   client keeps off the core of the worker that answers (on a machine with as many cores
   as workers it would otherwise take that worker's core each time an answer reaches it,
   and the access-log time would count the client's own work: see ``client_cores``).
   Then the same queries again with the client on any core, as measured before
   2026-11-30 (the second pass, with the caches the first one warmed).
3. RSS and PSS of the master and each worker (``/proc/<pid>/smaps_rollup``; PSS divides
   each shared page among the processes sharing it, so the PSS of all processes is what
   they cost the machine together).
4. The same after one and after two division renames (each a full rebuild: with index
   files one process builds a new base that the others map; without, each worker rebuilds
   its own copy), and the time from the rename's commit until every worker maps the new
   base (``/proc/<pid>/maps``; a search goes out every 0.25 s meanwhile, as users' would).
   The searches are timed once every worker has swapped its new indexes in (its log line):
   the chain lexicon and division grid are rebuilt beside the base, in under a second.
   Without index files the rebuild has ended when every process's CPU time, having grown,
   has stopped growing for 5 s.

5. The same queries from wrk (a C client: Debian's ``wrk``), in order and over again for
   10 s, on one keep-alive connection, one request at a time: the latency a client sees
   without this Python client's own work (building each request, parsing each answer).

Then the same queries in this process against ``LookupService`` (in-process p50/p95: the
lookup itself, without HTTP, Flask and the rate limiter).
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_scale  # noqa: E402
from bench_scale import percentiles_ms  # noqa: E402

from gazetteer.core.store import Store  # noqa: E402
from gazetteer.lookup import LookupService  # noqa: E402

# (label, environment of `gdgis serve`)
DESIGNS = {
    "memory": ("per-worker memory (no index files)", {"GDGIS_LOOKUP_INDEX_FILES": "false"}),
    "in-worker": ("baseline: base written in the worker", {"GDGIS_LOOKUP_REBUILD": "in-worker"}),
    "child-no-trim": (
        "baseline: child writes, memory kept",
        {"GDGIS_LOOKUP_REBUILD": "child-no-trim"},
    ),
    "isolated": ("isolated rebuild (product)", {"GDGIS_LOOKUP_REBUILD": "isolated"}),
}
DESIGN_SETS = {
    "rebuilds": ("in-worker", "child-no-trim", "isolated"),
    "trim": ("child-no-trim", "isolated"),  # the shorter pair for national scale
    "all": ("memory", "in-worker", "child-no-trim", "isolated"),
    **{name: (name,) for name in DESIGNS},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def memory_kb(pid: int) -> dict[str, int]:
    """Rss and Pss (kB) of a process, from /proc/<pid>/smaps_rollup."""
    out = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            out[key] = int(rest.split()[0])
    return out


def children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def descendants(pid: int) -> list[int]:
    """Children, their children ... (a worker's index build runs in a child of its own)."""
    found = []
    with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # ended meanwhile
        for child in children(pid):
            found += [child, *descendants(child)]
    return found


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def wait_idle(root: int, quiet_s: float = 5.0, timeout_s: float = 1800.0) -> float:
    """Seconds until ``root`` and its descendants started working (within 60 s) and then
    none of them used CPU for ``quiet_s`` (a rebuild finished)."""
    started = time.monotonic()
    last: dict[int, int] = {}
    busy_seen, quiet_since = False, time.monotonic()
    while time.monotonic() - started < timeout_s:
        time.sleep(0.5)
        now = {}
        for p in [root, *descendants(root)]:
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                now[p] = cpu_ticks(p)
        if any(now[p] - last.get(p, now[p]) > 2 or p not in last for p in now) and last:
            busy_seen, quiet_since = True, time.monotonic()  # > 20 ms of CPU, or a new child
        last = now
        waited = time.monotonic() - started
        if (busy_seen or waited > 60) and time.monotonic() - quiet_since >= quiet_s:
            return waited - quiet_s
    raise TimeoutError("the workers never went idle")


def search_queries(store: Store, n: int, seed: int = 5) -> list[str]:
    with store.read() as conn:
        names = [r[0] for r in conn.exec_driver_sql("SELECT name FROM places")]
    qs = bench_scale.queries(names, n, seed)
    rng = random.Random(seed)
    typos = []
    for name in qs["exact"]:
        i = rng.randrange(len(name) - 1) if len(name) > 2 else 0
        typos.append(name[:i] + name[i + 1] + name[i] + name[i + 2 :] if len(name) > 2 else name)
    return [q for triple in zip(qs["exact"], qs["prefix"], typos) for q in triple]


_SEARCH_TIMING = re.compile(r"search;dur=([0-9.]+)")


def http_latencies(
    port: int,
    queries: list[str],
    connections: int,
    searched: list[float] | None = None,
    workers: list[int] | None = None,
) -> list[float]:
    """Seconds per search at this client; ``searched`` gets each search's own time in the
    worker (its ``Server-Timing``, webmap/server_timing.py), in seconds. With ``workers``
    (their pids), this client runs each request off the core of the worker that answers
    it (:func:`client_cores`)."""
    conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for _ in range(connections)]
    cores: list[set[int] | None] = [None] * connections
    everywhere = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else set()
    if workers:
        for conn in conns:  # accepted by a worker before it is looked up
            conn.request("GET", "/api/health")
            conn.getresponse().read()
        cores = client_cores(port, conns, workers, everywhere)
    seconds = []
    try:
        for i, q in enumerate(queries):
            conn = conns[i % connections]
            if cores[i % connections]:
                os.sched_setaffinity(0, cores[i % connections])
            started = time.perf_counter()
            conn.request("GET", "/api/search?" + urllib.parse.urlencode({"q": q}))
            response = conn.getresponse()
            body = response.read()
            seconds.append(time.perf_counter() - started)
            if response.status != 200:
                raise RuntimeError(f"{q!r}: HTTP {response.status} {body[:200]!r}")
            if searched is not None:
                searched.append(
                    float(_SEARCH_TIMING.search(response.headers["Server-Timing"])[1]) / 1e3
                )
    finally:
        if workers:
            os.sched_setaffinity(0, everywhere)
        for conn in conns:
            conn.close()
    return seconds


def client_cores(
    port: int, conns: list[http.client.HTTPConnection], workers: list[int], everywhere: set[int]
) -> list[set[int] | None]:
    """For each connection, the cores this client may use while that connection's worker
    answers: every core but the one the worker is pinned to (None when it is not pinned).

    On a machine with as many cores as workers the client shares a core with a worker. When
    it shares the answering worker's, the kernel runs the client as soon as the answer
    reaches it, and the worker's access-log time then includes the client reading the
    answer and writing the next request (2026-11-30, one worker pinned to core 0: access-log
    p95 3.7-5.1 ms with this client on core 0, 1.5-1.8 ms with it on core 1; the search's
    own time the same). Clients of a real server are elsewhere."""
    # The server side of each connection: local port ``port``, remote the client's port.
    inode_of = {}
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote, inode = fields[1], fields[2], fields[9]
        if local.endswith(f":{port:04X}"):
            inode_of[int(remote.rsplit(":", 1)[1], 16)] = inode
    pid_of = {}
    for pid in workers:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    target = os.readlink(fd)
                    if target.startswith("socket:["):
                        pid_of[target[len("socket:[") : -1]] = pid
    cores = []
    for conn in conns:
        pid = pid_of.get(inode_of.get(conn.sock.getsockname()[1], ""))
        worker_cores = os.sched_getaffinity(pid) if pid else everywhere
        others = everywhere - worker_cores
        cores.append(others if worker_cores != everywhere and others else None)
    return cores


_WORKER_TIME = re.compile(rb'"GET /api/search\?[^"]*" 200 .* (\d+)us$')


def wrk_latencies(port: int, queries: list[str], seconds: float = 10.0) -> tuple:
    """(p50, p95, p99 in ms, requests) of ``queries``, in order and over again, from wrk
    (Debian's ``wrk``: a C client, so the figure is the server's and the loopback's, not
    this Python client's own parsing) on one keep-alive connection, one request at a time,
    for ``seconds``; None when wrk is not installed."""
    if not shutil.which("wrk"):
        return None
    with tempfile.TemporaryDirectory(prefix="bench-workers-wrk-") as workdir:
        script = Path(workdir) / "search.lua"
        paths = ",\n".join(f'  "/api/search?{urllib.parse.urlencode({"q": q})}"' for q in queries)
        script.write_text(
            "paths = {\n" + paths + "\n}\ni = 0\n"
            'request = function()\n  i = i % #paths + 1\n  return wrk.format("GET", paths[i])\nend\n'
            "done = function(summary, latency, requests)\n"
            "  for _, p in ipairs({50, 95, 99}) do\n"
            "    io.write(string.format('Q %d %d\\n', p, latency:percentile(p)))\n"
            "  end\n"
            "  io.write(string.format('N %d %d\\n', summary.requests,"
            " summary.errors.status + summary.errors.read + summary.errors.timeout))\n"
            "end\n",
            encoding="utf-8",
        )
        out = subprocess.run(
            ["wrk", "-t1", "-c1", f"-d{int(seconds)}s", "-s", str(script)]
            + [f"http://127.0.0.1:{port}"],
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=True,
        ).stdout
    quantiles = {int(p): int(us) / 1e3 for p, us in re.findall(r"^Q (\d+) (\d+)$", out, re.M)}
    requests, errors = map(int, re.search(r"^N (\d+) (\d+)$", out, re.M).groups())
    if errors:
        raise RuntimeError(f"wrk: {errors} errors of {requests} searches")
    return quantiles[50], quantiles[95], quantiles[99], requests


def search_latencies(
    port: int, queries: list[str], connections: int, log_path: Path, workers: list[int]
) -> tuple[tuple, tuple, tuple, tuple, tuple | None]:
    """(p50, p95, p99 in ms) of ``queries`` over HTTP as the client saw them; as the
    workers took them: the time at the end of each access-log line (``%(D)s``,
    webmap/gunicorn_conf.py), from reading the request to sending the answer; the search
    alone in the workers (``Server-Timing``), this client kept off the answering worker's
    core; and then the workers' access-log time of the same queries again, the client on
    any core (the earlier way, with the caches the first pass warmed); and the same
    queries from a C client (``wrk_latencies``)."""
    searched: list[float] = []
    start = log_path.stat().st_size
    at_client = percentiles_ms(http_latencies(port, queries, connections, searched, workers))
    in_workers = _access_log_times(log_path, start, len(queries))
    start = log_path.stat().st_size
    http_latencies(port, queries, connections)
    anywhere = _access_log_times(log_path, start, len(queries))
    return at_client, in_workers, percentiles_ms(searched), anywhere, wrk_latencies(port, queries)


def _access_log_times(log_path: Path, start: int, n: int) -> tuple:
    """Percentiles (ms) of the last ``n`` search lines of the access log after ``start``."""
    time.sleep(0.2)  # the access lines of the last answers
    with log_path.open("rb") as f:
        f.seek(start)
        lines = f.read().splitlines()
    taken = [int(m[1]) / 1e6 for line in lines if (m := _WORKER_TIME.search(line))]
    # A line written late by an earlier request comes first: these queries' are the last.
    taken = taken[-n:]
    if len(taken) != n:
        raise RuntimeError(f"{len(taken)} access-log times for {n} searches")
    return percentiles_ms(taken)


def memory_table(master: int) -> dict:
    """Rss/Pss of the master and its workers; other children of the master (the resource
    tracker of ``multiprocessing``, which the index build starts) count in the total."""
    helpers = [p for p in children(master) if "multiprocessing" in _cmdline(p)]
    workers = [p for p in children(master) if p not in helpers]
    per = {pid: memory_kb(pid) for pid in [master, *workers, *helpers]}
    return {
        "master": per[master],
        "workers": [per[p] for p in workers],
        "total_pss_mb": sum(m["Pss"] for m in per.values()) / 1024,
        "worker_rss_mb": max(per[p]["Rss"] for p in workers) / 1024,
        "load": os.getloadavg()[0],
    }


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


def toggle_division(store: Store) -> None:
    """A division change (a full rebuild for the lookup indexes): a township's name gets a
    trailing mark, or loses it."""
    import sqlalchemy as sa

    from gazetteer import changes
    from gazetteer.tables import divisions

    with store.write(actor="system:bench_workers") as conn:
        code, name = conn.execute(
            sa.select(divisions.c.code, divisions.c.name)
            .where(divisions.c.level == "county")
            .order_by(divisions.c.code)
        ).first()
        new = name[:-1] if name.endswith("·") else name + "·"
        conn.execute(divisions.update().where(divisions.c.code == code).values(name=new))
        changes.places_changed(conn)


def mapped_bases(pid: int) -> set[str]:
    """Names of the index base generations ``pid`` has mapped."""
    found = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        if ".index/" in line and "/search/" in line:
            found.add(line.split()[-1].split(".index/")[1].split("/")[0])
    return found


_SWAPPED = re.compile(rb"^\[(\d+)\] gazetteer.lookup: lookup indexes swapped", re.M)


def wait_new_base(
    port: int, workers: list[int], old: set[str], query: str, log_path: Path, log_from: int
) -> tuple[float, float]:
    """(seconds until every worker maps a base that is not in ``old``, seconds until every
    worker has also swapped its new indexes in: the server log's line, written after the
    chain lexicon and the division grid are built beside the base). A search is sent
    every 0.25 s meanwhile, on a fresh connection. Searches timed before the swap would
    meet the rebuild thread's work in the worker, which benchmark 1 measures."""
    started, mapped = time.monotonic(), None
    while time.monotonic() - started < 1800:
        with contextlib.suppress(OSError):
            http_latencies(port, [query], 1)
        if mapped is None and all(mapped_bases(pid) - old for pid in workers):
            mapped = time.monotonic() - started
        if mapped is not None:
            with log_path.open("rb") as f:
                f.seek(log_from)
                swapped = {int(pid) for pid in _SWAPPED.findall(f.read())}
            if swapped >= set(workers):
                return mapped, time.monotonic() - started
        time.sleep(0.25)
    raise TimeoutError(f"not every worker mapped a new base: {[mapped_bases(p) for p in workers]}")


def run_design(path: Path, design: str, queries: list[str], workers: int) -> dict:
    label, design_env = DESIGNS[design]
    files = design != "memory"
    port = free_port()
    data_dir = tempfile.mkdtemp(prefix="bench-workers-")
    env = {
        **os.environ,
        "GDGIS_DATA_DIR": data_dir,
        "GDGIS_SECRET_KEY": "bench",
        "GDGIS_RATE_LIMIT_PER_MINUTE": "1000000",
        **design_env,
    }
    gdgis = Path(sys.executable).with_name("gdgis")
    log_path = path.with_name(f"{path.name}.serve-{design}.log")
    log = log_path.open("wb")
    started = time.monotonic()
    server = subprocess.Popen(
        [str(gdgis), "--database-url", f"sqlite:///{path}", "serve"]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,  # the server's log beside the store (a file: never blocks the server)
        stderr=subprocess.STDOUT,
    )
    result: dict = {"label": label, "phases": []}
    try:
        while True:
            try:
                http_latencies(port, ["广州"], 1)
                break
            except (ConnectionError, OSError):
                if server.poll() is not None:
                    raise RuntimeError("gdgis serve exited") from None
                time.sleep(0.5)
        start_s = time.monotonic() - started
        worker_pids = [p for p in children(server.pid) if "multiprocessing" not in _cmdline(p)]
        latency = search_latencies(port, queries, 2 * workers, log_path, worker_pids)
        result["phases"].append(("started", start_s, memory_table(server.pid), latency))
        for rename in (1, 2):
            worker_pids = [p for p in children(server.pid) if "multiprocessing" not in _cmdline(p)]
            old = set().union(*(mapped_bases(p) for p in worker_pids)) if files else set()
            log_from = log_path.stat().st_size
            toggle_division(Store(f"sqlite:///{path}"))
            if files:
                seconds, swapped_s = wait_new_base(
                    port, worker_pids, old, queries[0], log_path, log_from
                )
                print(f"  every worker swapped {swapped_s - seconds:.1f} s after mapping")
            else:
                http_latencies(port, queries[:20], 2 * workers)  # the workers read the log
                seconds = wait_idle(server.pid)
            latency = search_latencies(port, queries, 2 * workers, log_path, worker_pids)
            phase = f"after rename {rename}"
            result["phases"].append((phase, seconds, memory_table(server.pid), latency))
            print(f"  {phase}: {seconds:.1f} s, load {os.getloadavg()[0]:.1f}", flush=True)
        result["load"] = os.getloadavg()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        log.close()
        shutil.rmtree(data_dir, ignore_errors=True)
    return result


def in_process(path: Path, files: bool, queries: list[str]) -> dict:
    """Search latency in this process (ms): wall clock, and the thread's CPU time, which
    leaves out the time a process waits for a core on a machine shared with other work."""
    store = Store(f"sqlite:///{path}")
    service = LookupService(store, index_files=files)
    service.warm()
    for q in queries[:50]:  # warm the page cache and caches as a serving worker would be
        service.search(q)
    wall, cpu = [], []
    for q in queries:
        t, c = time.perf_counter(), time.thread_time()
        service.search(q)
        cpu.append(time.thread_time() - c)
        wall.append(time.perf_counter() - t)
    store.dispose()
    return {"wall": percentiles_ms(wall), "cpu": percentiles_ms(cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="SQLite file (built if missing)")
    parser.add_argument("--rows", type=int, default=665_273, help="national names to load")
    parser.add_argument("--queries", type=int, default=200, help="names drawn (x3 queries)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument(
        "--in-process-only", action="store_true", help="only the in-process search latency"
    )
    parser.add_argument(
        "--design",
        choices=tuple(DESIGN_SETS),
        default="all",
        help="which designs to run (rebuilds: the three with index files)",
    )
    parser.add_argument(
        "--no-in-process", action="store_true", help="skip the in-process search latency"
    )
    args = parser.parse_args()
    bench_scale.national_store(args.store, args.rows)
    store = Store(f"sqlite:///{args.store}")
    queries = search_queries(store, args.queries)
    store.dispose()
    if args.in_process_only:
        for files in (False, True):
            print(f"index files {files}", json.dumps(in_process(args.store, files, queries)))
        return
    results = {}
    for design in DESIGN_SETS[args.design]:
        # Each design starts from no base: the first is built as the product would.
        shutil.rmtree(args.store.with_name(args.store.name + ".index"), ignore_errors=True)
        print(f"{DESIGNS[design][0]}: serving with {args.workers} workers ...", flush=True)
        results[design] = run_design(args.store, design, queries, args.workers)
        if not args.no_in_process:
            results[design]["in_process"] = in_process(args.store, design != "memory", queries)
        print(json.dumps(results[design]), flush=True)
    print_table(results, args.workers, len(queries))


def print_table(results: dict, workers: int, n: int) -> None:
    print(f"\n{workers} workers, {n} search queries per phase, RSS/PSS in MB\n")
    print(
        "| design | phase | start / to new base in every worker, s | worker RSS (each) | "
        "worker PSS (each) | master PSS | total PSS | HTTP p50 / p95 ms: at the client; "
        "in the workers | the search in the workers, p50 / p95 ms | in the workers, "
        "client on any core (second pass), p50 / p95 ms | at a C client (wrk, one "
        "connection), p50 / p95 / p99 ms (searches) | load avg (1 min) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results.values():
        for phase, secs, mem, (at_client, in_workers, searched, anywhere, wrk) in r["phases"]:
            c_client = (
                f"{wrk[0]:.2f} / {wrk[1]:.2f} / {wrk[2]:.2f} ({wrk[3]:,})" if wrk else "no wrk"
            )
            rss = " / ".join(f"{w['Rss'] / 1024:.0f}" for w in mem["workers"])
            pss = " / ".join(f"{w['Pss'] / 1024:.0f}" for w in mem["workers"])
            print(
                f"| {r['label']} | {phase} | {secs:.1f} | {rss} | {pss} | "
                f"{mem['master']['Pss'] / 1024:.0f} | {mem['total_pss_mb']:.0f} | "
                f"{at_client[0]:.1f} / {at_client[1]:.1f}; "
                f"{in_workers[0]:.2f} / {in_workers[1]:.2f} | "
                f"{searched[0]:.2f} / {searched[1]:.2f} | "
                f"{anywhere[0]:.2f} / {anywhere[1]:.2f} | {c_client} | {mem['load']:.1f} |"
            )
    timed = [r for r in results.values() if "in_process" in r]
    if timed:
        print("\nin-process LookupService.search, ms p50 / p95 / p99 (wall clock; CPU time):")
    for r in timed:
        wall, cpu = r["in_process"]["wall"], r["in_process"]["cpu"]
        print(
            f"  {r['label']}: " + " / ".join(f"{v:.2f}" for v in wall) + "; "
            f"{' / '.join(f'{v:.2f}' for v in cpu)}"
        )


if __name__ == "__main__":
    main()
