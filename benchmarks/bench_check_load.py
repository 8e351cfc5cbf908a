#!/usr/bin/env python3
"""Clerks' writes while officers run the compliance check (a user test of 2026-11-30: with
thousands of proposals pending, writes stalled for seconds and some failed after 10 s).

1. A temporary data directory gets the shipped data, a clerk and an officer with API tokens
   (as ``bench_load.py``), and ``--pending`` submitted naming proposals in one district
   (天河区), which the check compares every new name with (name reservation).
2. ``gdgis serve`` serves it (one worker per core); the per-account token limit is raised
   for the run.
3. Phase **clerks only** (the baseline): ``--clerks`` connections each draft and submit
   proposals back to back for ``--seconds``. Phase **clerks + checks**: the same, with
   ``--officers`` connections checking the pending proposals back to back.

Prints a Markdown table per phase and kind: count, per second, p50 / p95 / max latency and
the 5xx answers (a write that failed). Exits 1 on any 5xx.

Usage:  python benchmarks/bench_check_load.py [--pending 3000] [--seconds 20]
        [--clerks 4] [--officers 2]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(1, str(ROOT / "benchmarks"))

import bench_load  # noqa: E402

from gazetteer import workflow  # noqa: E402
from gazetteer.core.actors import Actor  # noqa: E402

DISTRICT = "440106"  # 天河区
SYLLABLES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥金木水火土"


def pending_proposals(store, count: int) -> list[int]:
    """``count`` submitted naming proposals of distinct road names in ``DISTRICT``."""
    clerk = Actor("bench_clerk", frozenset({"clerk"}))
    ids, n = [], len(SYLLABLES)
    for i in range(count):
        name = "储" + SYLLABLES[i % n] + SYLLABLES[i // n % n] + SYLLABLES[i // n // n % n] + "路"
        draft = workflow.ProposalDraft(
            kind="naming",
            applicant="天河区住房和城乡建设局",
            reasons="基准测试：待审申请",
            proposed={"name": name, "feature_class": "交通运输设施", "division_code": DISTRICT},
        )
        p = workflow.create_proposal(store, clerk, draft)
        ids.append(workflow.perform(store, p["id"], "submit", clerk, version=p["version"])["id"])
    return ids


def run_phase(port: int, tokens: dict, pending: list[int], args, officers: int) -> dict:
    results: dict[str, list] = {"draft + submit": [], "check": []}
    failures: dict[str, int] = {"draft + submit": 0, "check": 0}
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    started = time.monotonic()

    def call(conn, path, body, who):
        start = time.perf_counter()
        status, data = bench_load.request(
            conn, "POST", path, body, {"Authorization": f"Bearer {tokens[who]}"}
        )
        return status, data, (time.perf_counter() - start) * 1000

    def note(kind, ms, status):
        with lock:
            results[kind].append(ms)
            failures[kind] += status is None or status >= 500

    def clerk(k: int) -> None:
        conn = http.client.HTTPConnection(bench_load.HOST, port, timeout=60)
        i = 0
        while time.monotonic() < stop_at:
            i += 1
            body = {
                "kind": "naming",
                "applicant": "天河区住房和城乡建设局",
                "reasons": "基准测试",
                "proposed": {
                    "name": f"载{officers}{k}测{i}路",
                    "feature_class": "交通运输设施",
                    "division_code": DISTRICT,
                },
            }
            status, data, ms = call(conn, "/api/proposals", body, "clerk")
            note("draft + submit", ms, status)
            if status == 201:
                p = json.loads(data)
                path = f"/api/proposals/{p['id']}/actions/submit"
                status, _, ms = call(conn, path, {"version": p["version"]}, "clerk")
                note("draft + submit", ms, status)

    def officer(k: int) -> None:
        conn = http.client.HTTPConnection(bench_load.HOST, port, timeout=60)
        for proposal_id in pending[k::officers]:
            if time.monotonic() >= stop_at:
                break
            path = f"/api/proposals/{proposal_id}/actions/check"
            status, _, ms = call(conn, path, {"version": 2}, "officer")
            note("check", ms, status)

    threads = [threading.Thread(target=clerk, args=(k,)) for k in range(args.clerks)]
    threads += [threading.Thread(target=officer, args=(k,)) for k in range(officers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    return {kind: (sorted(v), failures[kind], elapsed) for kind, v in results.items() if v}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pending", type=int, default=3000, help="pending proposals in 天河区")
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each phase")
    parser.add_argument("--clerks", type=int, default=4, help="clerks drafting and submitting")
    parser.add_argument("--officers", type=int, default=2, help="officers checking")
    args = parser.parse_args()
    os.environ["GDGIS_TOKEN_RATE_LIMIT_PER_MINUTE"] = "100000000"
    with tempfile.TemporaryDirectory(prefix="gdgis-check-load-") as tmp:
        data_dir = Path(tmp)
        print("preparing the store ...", file=sys.stderr)
        store, tokens, _names, _points = bench_load.prepare(data_dir)
        started = time.monotonic()
        pending = pending_proposals(store, args.pending)
        print(
            f"{len(pending)} pending proposals in {time.monotonic() - started:.0f} s",
            file=sys.stderr,
        )
        store.dispose()
        port = bench_load.free_port()
        server = bench_load.start_server(data_dir, port, None, 8)
        try:
            phases = [
                ("clerks only (baseline)", run_phase(port, tokens, pending, args, 0)),
                ("clerks + checks", run_phase(port, tokens, pending, args, args.officers)),
            ]
        finally:
            bench_load.stop_server(server)
    print(
        f"\n{args.clerks} clerks, {args.officers} officers checking, {args.pending} proposals "
        f"pending in one district, {args.seconds:g} s a phase, `gdgis serve` (one worker per core)\n"
    )
    print("| phase | requests | count | per s | p50 ms | p95 ms | max ms | 5xx |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    failed = 0
    for phase, kinds in phases:
        for kind, (values, failures, elapsed) in kinds.items():
            failed += failures
            print(
                f"| {phase} | {kind} | {len(values):,} | {len(values) / elapsed:,.0f} | "
                f"{bench_load.percentile(values, 50):.0f} | {bench_load.percentile(values, 95):.0f} "
                f"| {values[-1]:.0f} | {failures} |"
            )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
