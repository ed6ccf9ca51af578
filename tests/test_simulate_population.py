"""The per-customer Monte Carlo (``simulate(..., population=True)``): its inverse-CDF draw and its ordering."""

from __future__ import annotations

import numpy as np

from cxlib.simulate.population import _by_column, _next_stage


def test_the_next_stage_counts_what_comparing_whole_rows_counts():
    """One column at a time gives exactly the gathered rows' counts, ties and the last stage included."""
    rng = np.random.default_rng(3)
    months, durations, segments, stages = 2, 3, 4, 6
    p = rng.random((months, durations, segments, stages, stages)) * (rng.random((1, 1, 1, 1, stages)) > 0.3)
    p[..., 0] += 1e-3
    cdfs = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)
    n = 20_000
    du, sg, st = rng.integers(0, durations, n), rng.integers(0, segments, n), rng.integers(0, stages, n)
    u = rng.random(n)
    u[:500] = cdfs[0, du[:500], sg[:500], st[:500], rng.integers(0, stages, 500)]  # exactly on a boundary
    u[500:600] = 1.0
    cols = _by_column(cdfs)
    for m in range(months):
        expected = np.minimum((u[:, None] > cdfs[m][du, sg, st]).sum(axis=1), stages - 1)
        got = _next_stage(cols[m], (du * segments + sg) * stages + st, u)
        np.testing.assert_array_equal(got, expected)
