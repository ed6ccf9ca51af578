"""A workspace's backtest under each of the journey model's choices: which one carries the error.

Usage: python benchmarks/bench_backtest_variants.py FOLDER [--months=12]

``FOLDER`` is a staged workspace (``cx journeys`` run; ``cx personas`` too for the persona lines), for instance
a real shop's exports held out of the repository. Each line is :func:`cxlib.simulate.backtest` fitted up to
the cutoff (``months`` before the last complete month) and forecasting ``months``, with one choice changed
from ``cx simulate --backtest``'s defaults: arrivals (none, recent, seasonal), the customers in one chain
instead of by persona (the workspace's panel without its persona column), a plain Markov chain (no months in a
stage, no recency), the calendar kept flat. Beside them, the naive forecasts of the same backtest. Prints a
table of total errors (forecast / actual - 1), the journey model's error on the customers seen by the cutoff
(existing) and the arrivals' part.
"""

from __future__ import annotations

import os
import sys
import time
import warnings
from datetime import date

import pandas as pd

from cxlib import simulate as sim
from cxlib.simulate.backtest import JOURNEY

VARIANTS: list[tuple[str, dict]] = [
    ("as cx simulate --backtest", {}),
    ("arrivals none", {"arrivals": "none"}),
    ("arrivals recent", {"arrivals": "recent"}),
    ("arrivals seasonal", {"arrivals": "seasonal"}),
    ("plain Markov chain (durations=0, recency=0)", {"durations": 0, "recency": 0}),
    ("calendar flat", {"seasons": False}),
]


def main(folder: str, months: int = 12) -> None:
    warnings.simplefilter("ignore")
    panel = sim.complete_history(folder).drop(columns="persona", errors="ignore")
    rows = []
    for name, kw in [*VARIANTS, ("one chain (no personas)", {"panel": True}),
                     ("one chain, arrivals none", {"panel": True, "arrivals": "none"})]:  # fmt: skip
        source = panel if kw.pop("panel", False) else folder
        t0 = time.perf_counter()
        bt = sim.backtest(source, months=months, draws=100, **kw)
        errs = {m: sim.backtest_error(bt, m) for m in bt["model"].unique()}
        rows.append({"variant": name, "arrivals": bt.attrs["arrivals"], **errs, "s": time.perf_counter() - t0})
        print(f"{name}: {errs[JOURNEY]:+.1%}", file=sys.stderr, flush=True)
    df = pd.DataFrame(rows)
    print(f"\n{folder}: backtest over {months} months, {os.cpu_count()} cores, {date.today()}")
    with pd.option_context("display.width", 200, "display.float_format", "{:+.1%}".format):
        print(df.to_string(index=False, formatters={"s": "{:.1f}".format}))


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    m = [int(a.split("=", 1)[1]) for a in sys.argv[1:] if a.startswith("--months=")]
    main(args[0], m[-1] if m else 12)
