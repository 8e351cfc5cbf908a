"""The ways the benchmarks count (benchmarks/): what their tables say rests on these."""

from __future__ import annotations

import random

import pytest

from benchmarks.bench_load import mixed_percentile, percentile
from benchmarks.bench_load import quantile_table as _quantiles


def test_the_load_benchmarks_row_of_all_requests_is_their_percentile_together():
    """``mixed_percentile``: reads known only by their percentiles (wrk) and writes each
    known, counted as one list: the same percentile as the two lists put together, to
    within the spacing of the read percentiles."""
    rng = random.Random(3)
    reads = [rng.lognormvariate(0.5, 1.0) for _ in range(40_000)]  # ms, a long tail
    for writes in ([rng.uniform(20, 150) for _ in range(600)], [], [500.0] * 1_000):
        together = sorted(reads + writes)
        for p in (50, 95, 99, 99.9):
            exact = together[int(p / 100 * (len(together) - 1))]
            found = mixed_percentile(_quantiles(reads), len(reads), writes, p)
            # Within the spacing of the read percentiles (half a per cent below 95, a
            # hundredth above) of the exact value.
            spacing = 0.5 if p < 95 else 0.02
            assert (
                percentile(together, p - spacing) <= found <= percentile(together, p + spacing)
            ), (
                p,
                exact,
                found,
            )


def test_writes_slower_than_every_read_set_the_99th_percentile_only_past_one_per_cent():
    reads = [float(i) for i in range(1, 1001)]  # 1..1000 ms
    assert mixed_percentile(_quantiles(reads), 1000, [5000.0] * 10, 99) == pytest.approx(1000.0)
    assert mixed_percentile(_quantiles(reads), 1000, [5000.0] * 20, 99) == 5000.0
    assert mixed_percentile(_quantiles(reads), 1000, [], 50) == pytest.approx(500.0, abs=1)
