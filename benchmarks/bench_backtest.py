"""Backtest of the journey model's revenue forecast against the generator: fit 12 months, forecast 12.

Usage: python benchmarks/bench_backtest.py [N_CUSTOMERS]   (default: 20000, the generator's default company)

On the generator's default company (24 months, seed 7) the true monthly panel (stages and revenue per person)
is cut at month 12; :func:`cxlib.simulate.backtest` fits on the first 12 months and forecasts the next 12,
beside "same period last year", the last-3-months run rate and BG/NBD + Gamma-Gamma (existing customers).
A second line drops the first 6 months (customers already there when the export starts: left censoring),
fitting months 7-12 and forecasting 13-24. Prints a table of total errors (forecast / actual - 1).
"""

from __future__ import annotations

import sys
import time

import pandas as pd

from cxlib import simulate as sim
from cxlib import synth
from cxlib.simulate.backtest import BGNBD


def panel(n: int) -> pd.DataFrame:
    c = synth.generate(n_customers=n)
    h = c.truth.stage_history.merge(c.truth.people[["person_id", "persona"]], on="person_id")
    h["stage"] = h["stage"].astype(str)
    return h


def main(n: int) -> None:
    h = panel(n)
    cases = {
        "default company, fit 1-12": h,
        "export from month 7 (left-censored), fit 7-12": h[h["month"] >= h["month"].min() + pd.DateOffset(months=6)],
    }
    models = ["journey model", "same period last year", "last 3 months run rate", BGNBD]
    rows = []
    for name, data in cases.items():
        for arrivals in ("auto", "none", "recent", "seasonal"):
            t0 = time.perf_counter()
            bt = sim.backtest(data, months=12, arrivals=arrivals, draws=200)
            secs = time.perf_counter() - t0
            errs = {m: sim.backtest_error(bt, m) for m in models}
            rows.append((name, f"{arrivals} -> {bt.attrs['arrivals']}", errs, secs, bt.attrs["skipped"]))
            print(f"{name} / {arrivals}: {errs['journey model']:+.1%} ({secs:.1f}s)", file=sys.stderr, flush=True)
    print(f"\n{n:,} customers, 24 months (generator default, seed 7); total revenue error, 12 forecast months\n")
    print("| data | arrivals (chosen) | journey model | same period last year | last 3 months | BG/NBD+GG | s |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, arrivals, e, secs, _ in rows:
        cells = " | ".join("–" if pd.isna(e[m]) else f"{e[m]:+.1%}" for m in models)
        print(f"| {name} | {arrivals} | {cells} | {secs:.1f} |")
    for name, _, _, _, skipped in rows[::4]:
        for m, why in skipped.items():
            print(f"\n{name}: {m} skipped: {why}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
