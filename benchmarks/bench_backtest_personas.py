"""The workspace backtest with the personas of ``cx personas``: as found on the whole workspace (they look
ahead), as of the cutoff by the workspace's kept model (its definitions look ahead) and as of the cutoff by a
model refitted then (what :func:`cxlib.simulate.backtest` gives a workspace with personas by default).

Usage: python benchmarks/bench_backtest_personas.py [N_CUSTOMERS] [--seed=S] [--folder=F]   (default: 5000, 7)

The generator's default company (24 months) is written, loaded, unified and staged by ``cx journeys`` (in
``--folder`` when given, kept and reused there), then ``cx personas`` runs on it. The backtest fits months
1-12 and forecasts 13-24, four ways: one chain for everyone (no personas, as ``bench_backtest.py --workspace``),
personas from table ``personas`` (found up to the last day), personas as of the cutoff by the workspace's kept
model (``personas="kept"``: features up to the cutoff, centres and scaling from the whole workspace) and by the
model refitted at the cutoff (``personas="refit"``, the default: the kept model's k, features and seed, fitted on
the features up to the cutoff, personas named as the kept model's nearest). Each line: the total revenue error
with arrivals ``auto`` and, for the customers there at the cutoff, the forecast with nobody new against what
those customers spent (the existing customers line); then the share of the customers at the cutoff whose
persona at the cutoff differs from the one in ``personas``, or between the kept and the refitted model, and
CPU seconds.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from cxlib import simulate as sim


def prepare(folder: Path, n: int, seed: int) -> None:
    """Write, load, unify and stage the default company in ``folder`` (unless it is already there)."""
    from cxlib import io, journeys, synth, unify

    if (folder / "workspace.duckdb").exists():
        return
    synth.write_company(folder, n_customers=n, seed=seed, months=24, progress=False)
    io.load(folder)
    unify.unify(folder)
    journeys.build(folder)


def existing_error(bt: pd.DataFrame, h: pd.DataFrame) -> float:
    """The journey model's total forecast (nobody new) against the revenue of the customers seen by the cutoff."""
    cut = bt.attrs["cutoff"]
    month = pd.to_datetime(h["month"])
    seen = set(h.loc[month <= cut, "customer_id"])
    after = h[(month > cut) & h["customer_id"].isin(seen)]
    forecast = bt[(bt["model"] == "journey model") & (bt["period"] == "total")]["forecast"].iloc[0]
    return float(forecast / after["revenue"].sum() - 1)


def line(source, h: pd.DataFrame, **kw) -> tuple[float, float, float, float]:
    """(total error with arrivals auto, existing customers' error, monthly mean absolute error, CPU seconds)."""
    t0 = time.process_time()
    bt = sim.backtest(source, months=12, arrivals="auto", draws=200, **kw)
    none = sim.backtest(source, months=12, arrivals="none", draws=200, **kw)
    j = bt[(bt["model"] == "journey model") & (bt["period"] == "month")]
    monthly = float((j["forecast"] / j["actual"] - 1).abs().mean())
    return sim.backtest_error(bt), existing_error(none, h), monthly, time.process_time() - t0


def main(n: int, seed: int, folder: Path) -> None:
    from cxlib import connect, personas
    from cxlib.personas.stored import personas_as_of

    prepare(folder, n, seed)
    t0 = time.process_time()
    personas.write_personas(folder)
    persona_secs = time.process_time() - t0
    h = sim.complete_history(folder, channel=False)
    rows = {
        "one chain (no personas)": line(h.drop(columns="persona"), h),
        "personas of `personas` (whole workspace)": line(h, h),
        "personas as of the cutoff, the kept model (personas='kept')": line(folder, h, personas="kept"),
        "personas as of the cutoff, refitted then (personas='refit', default)": line(folder, h),
    }
    cut = pd.Timestamp(h["month"].max()) - pd.DateOffset(months=12)
    end = cut + pd.DateOffset(months=1) - pd.Timedelta(microseconds=1)
    with connect(folder, read_only=True) as ws:
        then = personas_as_of(ws, end).to_pandas()
        now = ws.table("personas").to_pandas()
        refitted = personas_as_of(ws, end, refit=True).to_pandas()
    both = then.merge(now, on="customer_id", suffixes=("_then", "_now"))
    moved = float((both["persona_then"] != both["persona_now"]).mean())
    same = then.merge(refitted, on="customer_id", suffixes=("_kept", "_refit"))
    renamed = float((same["persona_kept"] != same["persona_refit"]).mean())
    print(f"\n{n:,} customers, seed {seed}, {os.cpu_count()} cores; fit 1-12, forecast 13-24 (forecast / actual - 1)\n")
    print("| backtest | total (arrivals auto) | existing customers (nobody new) | monthly | CPU s |")
    print("|---|---:|---:|---:|---:|")
    for name, (total, existing, monthly, secs) in rows.items():
        print(f"| {name} | {total:+.1%} | {existing:+.1%} | {monthly:.1%} | {secs:.1f} |")
    print(f"\ncx personas {persona_secs:.1f} CPU s; {len(then):,} customers at the cutoff, {moved:.1%} of them in")
    print("another persona (or prospects) at the cutoff than in table personas;")
    print(f"{renamed:.1%} in another persona by the refitted model than by the kept one")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    n_customers, seed_ = int(args[0]) if args else 5000, int(opts.get("seed", 7))
    if "folder" in opts:
        main(n_customers, seed_, Path(opts["folder"]))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            main(n_customers, seed_, Path(tmp))
