"""Where a workspace backtest's error comes from: new against existing customers, by month, by stage, returners.

Usage: python benchmarks/bench_backtest_sources.py FOLDER [--months=12]

``FOLDER`` is a staged workspace (``cx journeys`` run; ``bench_backtest_personas.py --folder=F`` leaves one).
The backtest is the one ``bench_backtest.py --workspace`` measures: one chain for everyone, fitted on the months
up to the cutoff (``months`` before the last complete month), arrivals ``auto``. Printed:

1. by month: the backtest's forecast with arrivals ``auto`` and ``none`` (:func:`cxlib.simulate.backtest`'s own
   output) against what the customers seen by the cutoff (existing) and the others (new) spent; the new
   customers' forecast is the difference of the two;
2. by stage, for the existing customers: customer-months forecast (nobody new, the fitted model's
   ``customers:<stage>``) against those observed, and the revenue the fitted model expects at each observed
   customer-month's real stage and months since the last purchase (``revenue_mean_ x recency_revenue_``)
   against what was spent -- returners (customers in repeat or advocate who were at risk, churned or in win-back
   before) apart;
3. first purchases by months since the customer was first seen, in the fit months and after.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from cxlib import simulate as sim
from cxlib.simulate.run import simulate

QUIET = ("at_risk", "churned", "win_back")


def by_month(h: pd.DataFrame, cut: pd.Timestamp, months: int) -> pd.DataFrame:
    """Forecast (auto, none) and actual revenue (existing, new) per forecast month, from the backtests."""
    fits = {a: sim.backtest(h, months=months, cutoff=cut, arrivals=a, draws=200) for a in ("auto", "none")}
    j = {a: bt[(bt["model"] == "journey model") & (bt["period"] == "month")] for a, bt in fits.items()}
    seen = set(h.loc[h["month"] <= cut, "customer_id"])
    after = h[h["month"] > cut]
    existing = after[after["customer_id"].isin(seen)].groupby("month")["revenue"].sum()
    starts = j["auto"]["month_start"].to_numpy()
    out = pd.DataFrame(
        {
            "forecast": j["auto"]["forecast"].to_numpy(),
            "forecast_existing": j["none"]["forecast"].to_numpy(),
            "actual": j["auto"]["actual"].to_numpy(),
            "actual_existing": existing.reindex(starts).fillna(0.0).to_numpy(),
        },
        index=pd.Index(range(1, len(starts) + 1), name="month"),
    )
    out["forecast_new"] = out["forecast"] - out["forecast_existing"]
    out["actual_new"] = out["actual"] - out["actual_existing"]
    out.attrs["arrivals"] = fits["auto"].attrs["arrivals"]
    return out


def _recency_bucket(h: pd.DataFrame, R: int) -> np.ndarray:
    """Months since the last purchase before each row's month (0: last month), capped at ``R`` (never: ``R``)."""
    m = (h["month"].dt.year * 12 + h["month"].dt.month).astype(float)
    last = m.where(h["revenue"] > 0).groupby(h["customer_id"]).transform(lambda s: s.ffill().shift(1))
    return np.where(last.isna(), R, np.minimum(m - last - 1, R)).astype(int)


def by_stage(h: pd.DataFrame, cut: pd.Timestamp, months: int) -> pd.DataFrame:
    """Existing customers' customer-months and revenue by stage: forecast against observed."""
    fit = h[h["month"] <= cut]
    model = sim.persona_model(fit)
    none = simulate(model, [], months=months, draws=200, arrivals="none", random_state=0)
    counts = none[none["metric"].str.startswith("customers:")].groupby("metric")["mean"].sum()
    counts.index = counts.index.str.replace("customers:", "", regex=False)
    stages = list(model.stages)
    R = model.recency_revenue_.shape[1] - 1
    h = h.assign(bucket=_recency_bucket(h, R))
    quiet = h["stage"].isin(QUIET)
    h["returner"] = quiet.groupby(h["customer_id"]).cummax().groupby(h["customer_id"]).shift(1, fill_value=False)
    f = h[(h["month"] > cut) & h["customer_id"].isin(set(fit["customer_id"]))].copy()
    si = f["stage"].map({s: i for i, s in enumerate(stages)}).to_numpy()
    f["expected"] = model.revenue_mean_[0, si] * model.recency_revenue_[si, f["bucket"].to_numpy()]
    back = f["stage"].isin(["repeat", "advocate"]) & f["returner"]
    f["group"] = np.where(back, "returner in ", "") + f["stage"]
    out = f.groupby("group").agg(
        months_observed=("revenue", "size"), revenue=("revenue", "sum"), expected=("expected", "sum")
    )
    out["months_forecast"] = out.index.map(lambda g: counts.get(g, np.nan))
    out["expected_minus_revenue"] = out["expected"] - out["revenue"]
    return out[["months_forecast", "months_observed", "expected", "revenue", "expected_minus_revenue"]]


def first_purchases(h: pd.DataFrame, cut: pd.Timestamp) -> pd.DataFrame:
    """Months in stage ``purchase`` and revenue per such month, by months since first seen, before/after cut."""
    m = h["month"].dt.year * 12 + h["month"].dt.month
    tenure = m - m.groupby(h["customer_id"]).transform("min")
    p = h.assign(tenure=pd.cut(tenure, [-1, 1, 3, 6, 120], labels=["0-1", "2-3", "4-6", "7+"]))
    p = p[p["stage"] == "purchase"]
    p = p.assign(period=np.where(p["month"] <= cut, "fit", "after"))
    return p.groupby(["tenure", "period"], observed=True)["revenue"].agg(["size", "mean"]).unstack("period")


def main(folder: str, months: int) -> None:
    t0 = time.process_time()
    h = sim.complete_history(folder, channel=False)
    h = h.drop(columns="persona") if "persona" in h.columns else h
    h["month"] = pd.to_datetime(h["month"])
    h = h.sort_values(["customer_id", "month"]).reset_index(drop=True)
    cut = h["month"].max() - pd.DateOffset(months=months)
    m = by_month(h, cut, months)
    tot = m.sum()
    print(f"\n{folder}: fit to {cut:%Y-%m}, forecast {months} months, arrivals {m.attrs['arrivals']}\n")
    print(m.round(0).to_string())
    for what in ("", "_existing", "_new"):
        err = tot[f"forecast{what}"] - tot[f"actual{what}"]
        print(f"total{what or ''}: {err:+,.0f} ({err / tot[f'actual{what}']:+.1%} of {tot[f'actual{what}']:,.0f})")
    s = by_stage(h, cut, months)
    print("\nexisting customers by stage (forecast: nobody new; expected: the fitted revenue at the real stage)\n")
    print(s.round(0).to_string())
    print(f"expected at the real stages {s['expected'].sum():,.0f} against {s['revenue'].sum():,.0f} spent")
    print("\nstage purchase by months since first seen: customer-months and revenue per customer-month\n")
    print(first_purchases(h, cut).round(1).to_string())
    print(f"\n{time.process_time() - t0:.1f} CPU s")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    opts = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
    if not args:
        sys.exit(__doc__)
    main(args[0], int(opts.get("months", 12)))
