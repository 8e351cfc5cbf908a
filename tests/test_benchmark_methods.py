"""The ways the benchmarks count (benchmarks/): what their tables say rests on these."""

from __future__ import annotations

import itertools
import math
import random

import pytest

from benchmarks.bench_load import mixed_percentile, percentile, write_gaps
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


def test_the_load_benchmarks_writers_send_at_independent_times():
    """``write_gaps``: each writer's writes form a Poisson process of the rate asked for
    (mean gap 1/rate, as often shorter than 0.69/rate as longer), and no two writers send
    at the same instants; in lockstep they all do."""
    rate = 2.5  # each of 4 writers at 10 writes/s in all
    starts = []
    for writer_no in range(4):
        gaps = list(itertools.islice(write_gaps(rate, writer_no, lockstep=False), 20_000))
        assert sum(gaps) / len(gaps) == pytest.approx(1 / rate, rel=0.03)
        median = sorted(gaps)[len(gaps) // 2]
        assert median == pytest.approx(math.log(2) / rate, rel=0.05)  # exponential
        starts.append(tuple(itertools.accumulate(gaps[:50])))
    assert len(set(starts)) == 4  # each its own times
    same = {tuple(itertools.islice(write_gaps(rate, n, lockstep=True), 50)) for n in range(4)}
    assert same == {(0.4,) * 50}
    assert next(write_gaps(0, 1, lockstep=False)) == 0.0
