"""Backtest of the journey model's revenue forecast against the generator: fit, forecast 12 months, compare.

Usage: python benchmarks/bench_backtest.py [N_CUSTOMERS] [--workspace] [--seed=S]   (default: 20000, seed 7)

On the generator's default company (24 months, seed 7 or ``--seed``) the true monthly panel (stages and revenue
per person) is cut at month 12; :func:`cxlib.simulate.backtest` fits on the first 12 months and forecasts the next 12,
beside "same period last year", the last-3-months run rate and BG/NBD + Gamma-Gamma (existing customers).
A second line drops the first 6 months (customers already there when the export starts: left censoring),
fitting months 7-12 and forecasting 13-24. Then two companies with known calendar truth
(:class:`cxlib.synth.PlantedEffects`):

- planted seasons (``seasonality=0.4``, peak in December, arrivals all along): fitted on 12 months (the model
  fits a smooth yearly cycle, shrunk by its noise) and, with 36 months, on 24 (every month of the year its
  own), each beside the same model kept flat (``seasons=False``);
- a closed cohort (``arrival_months=3``: everyone's first month in the first quarter, then repeat buying only),
  fit 12, forecast 12.

With ``--workspace`` the default company also goes through the pipeline users run (``synth.write_company``,
``io.load``, ``unify.unify``, ``journeys.build``) and is backtested on the workspace's *observed* stages (from
``cx journeys``: at risk and churned by inactivity), with the journey model as ``cx simulate`` fits it and kept a
plain Markov chain (``durations=0``), arrivals chosen (``auto``) and none.

Prints a table of total errors (forecast / actual - 1) and the journey model's mean absolute monthly error,
then the calendar model each line's journey model used and what its purchase buckets kept apart, and why
(:func:`cxlib.simulate.choose_purchases`).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import date

import numpy as np
import pandas as pd

from cxlib import simulate as sim
from cxlib import synth
from cxlib.simulate.backtest import BGNBD

MODELS = ["journey model", "same period last year", "last 3 months run rate", BGNBD]
SEASONS = synth.PlantedEffects(seasonality=0.4, season_peak=12, arrival_months=36)
CLOSED = synth.PlantedEffects(arrival_months=3)


def panel(n: int, months: int = 24, effects: synth.PlantedEffects | None = None, seed: int = 7) -> pd.DataFrame:
    c = synth.generate(n_customers=n, seed=seed, months=months, effects=effects)
    h = c.truth.stage_history.merge(c.truth.people[["person_id", "persona"]], on="person_id")
    h["stage"] = h["stage"].astype(str)
    return h


def cases(n: int, seed: int = 7) -> list[tuple[str, pd.DataFrame, tuple[str, ...], bool]]:
    """(name, panel, arrival models to try, seasons) of every line of the table."""
    h = panel(n, seed=seed)
    seasonal = panel(n, 36, SEASONS, seed)
    one_year = seasonal[seasonal["month"] < "2026-01-01"]
    everything = ("auto", "none", "recent", "seasonal")
    return [
        ("default company, fit 1-12", h, everything, True),
        ("export from month 7 (left-censored), fit 7-12", h[h["month"] >= "2024-07-01"], everything, True),
        ("planted seasons, fit 1-12 (yearly cycle)", one_year, ("auto",), True),
        ("planted seasons, fit 1-12, model kept flat", one_year, ("auto",), False),
        ("planted seasons, fit 1-24", seasonal, ("auto",), True),
        ("planted seasons, fit 1-24, model kept flat", seasonal, ("auto",), False),
        ("closed cohort (arrivals in months 1-3), fit 1-12", panel(n, 24, CLOSED, seed), ("auto",), True),
    ]


def workspace_panel(n: int, folder: str, seed: int = 7) -> pd.DataFrame:
    """The default company written, loaded, unified and staged by ``cx journeys``: the monthly panel
    :func:`cxlib.simulate.backtest` reads from a workspace (observed stages)."""
    from cxlib import io, journeys, unify

    synth.write_company(folder, n_customers=n, seed=seed, months=24, progress=False)
    io.load(folder)
    unify.unify(folder)
    journeys.build(folder)
    return sim.complete_history(folder)


def workspace_cases(
    n: int, folder: str, seed: int = 7
) -> list[tuple[str, pd.DataFrame, tuple[str, ...], bool, int | None]]:
    h = workspace_panel(n, folder, seed)
    name = "workspace (observed stages), fit 1-12"
    return [(name, h, ("auto", "none"), True, None), (f"{name}, plain Markov chain", h, ("auto", "none"), True, 0)]


def main(n: int, workspace: bool = False, seed: int = 7) -> None:
    rows, calendars, purchases = [], {}, {}
    todo = [(*c, None) for c in cases(n, seed)]
    with tempfile.TemporaryDirectory() as folder:
        if workspace:
            todo += workspace_cases(n, folder, seed)
        run(todo, rows, calendars, purchases)
    report(n, rows, calendars, purchases, seed)


def run(todo: list, rows: list, calendars: dict, purchases: dict) -> None:
    for name, data, arrival_models, seasons, durations in todo:
        for arrivals in arrival_models:
            t0 = time.perf_counter()
            bt = sim.backtest(data, months=12, arrivals=arrivals, draws=200, seasons=seasons, durations=durations)
            secs = time.perf_counter() - t0
            errs = {m: sim.backtest_error(bt, m) for m in MODELS}
            j = bt[(bt["model"] == "journey model") & (bt["period"] == "month")]
            monthly = float(np.mean(np.abs(j["forecast"] / j["actual"] - 1)))
            kind = bt.attrs["purchases"].split(" -- ")[0]
            rows.append((name, f"{arrivals} -> {bt.attrs['arrivals']}", errs, monthly, secs, bt.attrs["skipped"]))
            calendars[name] = bt.attrs["seasonality"]
            purchases[name] = bt.attrs["purchases"]
            line = f"{name} / {arrivals}: {errs['journey model']:+.1%} ({secs:.1f}s; {kind})"
            print(line, file=sys.stderr, flush=True)


def report(n: int, rows: list, calendars: dict, purchases: dict, seed: int = 7) -> None:
    print(f"\n{n:,} customers (seed {seed}), {os.cpu_count()} cores, {date.today()}; total revenue error over 12")
    print("forecast months (forecast / actual - 1); 'monthly' is the journey model's mean absolute error per month\n")
    print("| data | arrivals (chosen) | journey | monthly | same period last year | last 3 months | BG/NBD+GG | s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for name, arrivals, e, monthly, secs, _ in rows:
        cells = [("–" if pd.isna(e[m]) else f"{e[m]:+.1%}") for m in MODELS]
        print(f"| {name} | {arrivals} | {cells[0]} | {monthly:.1%} | {' | '.join(cells[1:])} | {secs:.1f} |")
    print()
    for name, why in calendars.items():
        print(f"- {name}: {why}; purchase history: {purchases[name]}")
    seen = set()
    for name, _, _, _, _, skipped in rows:
        for m, why in skipped.items():
            if (name, m) not in seen:
                seen.add((name, m))
                print(f"\n{name}: {m} skipped: {why}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seeds = [int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--seed=")]
    main(int(args[0]) if args else 20_000, workspace="--workspace" in sys.argv, seed=seeds[-1] if seeds else 7)
