#!/usr/bin/env python3
"""Reverse-lookup benchmark: gazetteer.reverse.DivisionLocator against brute force,
PyPI fast-geocn and a geopandas sjoin, on the shipped data/divisions.geojson.

Prints a table (date, machine, build time, single-point latency, batch throughput) and
checks that every answer agrees with brute-force shapely ``contains`` over all polygons.
fast-geocn uses its own national polygons, so only its speed is compared, not its answers.

Usage:  pip install fast-geocn && python benchmarks/bench_reverse.py [--points 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from gazetteer.reverse import DivisionLocator, brute_force_lowest  # noqa: E402

DIVISIONS = ROOT / "data" / "divisions.geojson"
GD_BBOX = (109.654936, 20.211718, 117.318621, 25.516771)  # Guangdong's extent, lon/lat degrees
SEED = 20240501


def percentile_us(samples_s: list[float], q: float) -> float:
    return float(np.percentile(np.array(samples_s) * 1e6, q))


def time_single(fn, lons, lats) -> list[float]:
    out = []
    for x, y in zip(lons.tolist(), lats.tolist()):
        t = time.perf_counter()
        fn(x, y)
        out.append(time.perf_counter() - t)
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="reverse lookup benchmark")
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--single", type=int, default=10_000, help="points timed one by one")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(SEED)
    lons = rng.uniform(GD_BBOX[0], GD_BBOX[2], args.points)
    lats = rng.uniform(GD_BBOX[1], GD_BBOX[3], args.points)
    rows: list[tuple[str, str, str, str, str]] = []

    t = time.perf_counter()
    locator = DivisionLocator.from_geojson(DIVISIONS)
    build_s = time.perf_counter() - t
    features = list(locator.by_code.values())

    # Correctness: 100 % agreement with brute force over every polygon.
    t = time.perf_counter()
    expected = brute_force_lowest(features, lons, lats)
    brute_s = time.perf_counter() - t
    got = locator.locate_many(lons, lats)
    agree = float((got == expected).mean())
    levels = locator.locate_levels(lons, lats)
    per_level_ok = True
    for level in ("province", "city", "county"):
        ref = np.full(lons.shape, "", dtype="U12")
        for f in sorted(
            (f for f in features if f.level == level), key=lambda f: f.code, reverse=True
        ):
            ref[shapely.contains_xy(f.geometry, lons, lats)] = f.code
        per_level_ok &= bool((levels[level] == ref).all())

    # Ours: batch (best of 3) and single points.
    batch = []
    for _ in range(3):
        t = time.perf_counter()
        locator.locate_many(lons, lats)
        batch.append(time.perf_counter() - t)
    ours_batch_s = min(batch)
    single_n = min(args.single, args.points)
    ours_single = time_single(locator.locate, lons[:single_n], lats[:single_n])
    rows.append(
        (
            "gazetteer DivisionLocator",
            f"{build_s:.2f}",
            f"{percentile_us(ours_single, 50):.1f} / {percentile_us(ours_single, 95):.1f}",
            f"{args.points / ours_batch_s:,.0f}",
            f"{agree:.2%} of {args.points:,}",
        )
    )
    rows.append(
        (
            "brute force contains_xy (reference)",
            "-",
            "-",
            f"{args.points / brute_s:,.0f}",
            "reference",
        )
    )

    # geopandas sjoin on the same polygons.
    try:
        import geopandas as gpd

        polys = gpd.GeoDataFrame(
            {
                "code": [f.code for f in features],
                "rank": [("province", "city", "county").index(f.level) for f in features],
            },
            geometry=[f.geometry for f in features],
            crs="EPSG:4490",
        )
        t = time.perf_counter()
        pts = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs="EPSG:4490")
        joined = gpd.sjoin(pts, polys, how="left", predicate="within")
        joined = joined.sort_values("rank").groupby(level=0).last()
        sjoin_s = time.perf_counter() - t
        sj_codes = joined["code"].reindex(range(args.points)).fillna("").to_numpy(dtype="U12")
        sj_agree = float((sj_codes == expected).mean())

        def sjoin_one(x, y):
            p = gpd.GeoDataFrame(geometry=gpd.points_from_xy([x], [y]), crs="EPSG:4490")
            return gpd.sjoin(p, polys, how="left", predicate="within")

        sjoin_one(lons[0], lats[0])
        n = min(300, single_n)
        sj_single = time_single(sjoin_one, lons[:n], lats[:n])
        rows.append(
            (
                f"geopandas {gpd.__version__} sjoin (single: {n} pts)",
                "-",
                f"{percentile_us(sj_single, 50):.1f} / {percentile_us(sj_single, 95):.1f}",
                f"{args.points / sjoin_s:,.0f}",
                f"{sj_agree:.2%}",
            )
        )
    except ImportError:
        rows.append(("geopandas sjoin", "-", "not installed", "-", "-"))

    # fast-geocn: no batch API, so "batch" is a loop of single calls. It writes a pickle cache
    # under $HOME: point HOME at a temporary directory so the benchmark leaves nothing behind.
    with tempfile.TemporaryDirectory() as home:
        os.environ["HOME"] = home
        try:
            from importlib.metadata import version

            import fast_geocn

            t = time.perf_counter()
            fast_geocn.regeo(113.3245, 23.1064)  # loads its data
            fg_build = time.perf_counter() - t
            n = single_n
            fg_single = time_single(fast_geocn.regeo, lons[:n], lats[:n])
            rows.append(
                (
                    f"fast-geocn {version('fast-geocn')} (loop of {n:,} calls)",
                    f"{fg_build:.2f}",
                    f"{percentile_us(fg_single, 50):.1f} / {percentile_us(fg_single, 95):.1f}",
                    f"{n / sum(fg_single):,.0f}",
                    "own national polygons",
                )
            )
        except ImportError:
            rows.append(("fast-geocn", "-", "not installed (pip install fast-geocn)", "-", "-"))

    print(f"# Reverse lookup benchmark — {dt.datetime.now().isoformat(timespec='seconds')}")
    print(
        f"machine: {platform.platform()}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}"
    )
    print(
        f"points: {args.points:,} uniform in Guangdong's bbox {GD_BBOX} (seed {SEED}); "
        f"single-point timings over the first {single_n:,}"
    )
    print(f"grid: {json.dumps(locator.stats(), ensure_ascii=False)}")
    print()
    header = (
        "method",
        "build s",
        "single p50 / p95 µs",
        "batch points/s",
        "agreement with brute force",
    )
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(5)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths))
    print(line)
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)))
    print()
    print(f"per-level answers (province, city, county) equal brute force: {per_level_ok}")
    print(f"single-point mean: ours {statistics.mean(ours_single) * 1e6:.1f} µs")
    targets = [
        ("batch >= 200,000 points/s", args.points / ours_batch_s >= 200_000),
        ("100% agreement", agree == 1.0 and per_level_ok),
    ]
    for name, ok in targets:
        print(f"target {name}: {'met' if ok else 'NOT met'}")
    if agree != 1.0:
        sys.exit(1)


if __name__ == "__main__":
    main()
