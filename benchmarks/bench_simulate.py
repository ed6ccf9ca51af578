"""Strategy simulator speed: fit on N customers' monthly stage histories, then one scenario with 2,000 draws.

Usage: python benchmarks/bench_simulate.py [N ...]   (default: 100000 1000000)

The stage histories are drawn from the generator's true transition matrices (numpy, seeded), 12 months per
customer with a persona each, so that a million customers take seconds to make. Prints a table.
"""

from __future__ import annotations

import os
import resource
import sys
import time

import numpy as np
import pandas as pd

from cxlib import simulate as sim
from cxlib import synth


def panel(n: int, months: int = 12, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    T = synth.transition_matrices()
    persona = rng.integers(0, len(synth.PERSONAS), n)
    state = np.zeros(n, dtype=int)  # everyone starts in awareness
    states = np.empty((months, n), dtype=int)
    for m in range(months):
        states[m] = state
        cdf = np.cumsum(T[persona, state], axis=1)
        state = np.minimum((rng.random(n)[:, None] > cdf).sum(axis=1), len(synth.STAGES) - 1)
    stages = np.array(synth.STAGES, dtype=object)
    return pd.DataFrame(
        {
            "customer_id": np.tile(np.arange(n), months),
            "month": np.repeat(pd.date_range("2024-01-01", periods=months, freq="MS"), n),
            "stage": stages[states.ravel()],
            "revenue": np.where(np.isin(states.ravel(), [2, 3, 4, 5]), 60.0, 0.0),
            "persona": np.array(synth.PERSONAS, dtype=object)[np.tile(persona, months)],
        }
    )


def main(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        h = panel(n)
        t0 = time.perf_counter()
        m = sim.JourneyModel(by="persona").fit(h)
        fit_s = time.perf_counter() - t0
        scenario = [sim.Scenario("lift", [sim.Scenario.scale("consideration", "purchase", 1.1)])]
        sim.simulate(m, scenario, months=12, draws=2000)  # warm-up
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            sim.simulate(m, scenario, months=12, draws=2000)
            times.append(time.perf_counter() - t0)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        rows.append((n, len(h), fit_s, min(times) * 1000, peak))
        print(f"{n:,}: fit {fit_s:.1f}s, scenario {min(times) * 1000:.0f} ms", file=sys.stderr, flush=True)
    print(f"\ncores: {os.cpu_count()}\n")
    print("| customers | panel rows | fit s | one scenario + baseline, 2,000 draws, 12 months (ms) | peak MB |")
    print("|---:|---:|---:|---:|---:|")
    for n, r, f, s, p in rows:
        print(f"| {n:,} | {r:,} | {f:.1f} | {s:.0f} | {p:,.0f} |")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
