"""Backtests: the journey model fitted on the past up to a cutoff, its revenue forecast held against what
really happened next, beside naive forecasts and BG/NBD + Gamma-Gamma.

:func:`backtest` returns a tidy frame, one row per model and forecast month plus one ``total`` row per model:
``model, period, month, month_start, forecast, p5, p95, actual, error, pct_error``. The models:

- ``journey model``: :func:`~cxlib.simulate.persona_model` fitted on the months up to the cutoff, its baseline
  (arrivals as chosen by ``arrivals``);
- ``same period last year``: each month's revenue twelve months before (when the data reaches back that far);
- ``last 3 months run rate``: the mean monthly revenue of the three months up to the cutoff;
- ``BG/NBD + Gamma-Gamma (existing customers)``: :mod:`cxlib.value` fitted on the customers who had bought by
  the cutoff, a purchase being a month with revenue (it forecasts no new customers).

:func:`backtest_error` is the journey model's total error as a share of what happened.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> rows = [(f"c{i}", m, "repeat" if rng.random() < 0.9 else "lost") for i in range(40) for m in range(8)]
>>> h = pd.DataFrame(rows, columns=["customer_id", "m", "stage"])
>>> h["month"] = pd.Timestamp("2024-01-01") + h["m"].map(lambda k: pd.DateOffset(months=k))
>>> h["revenue"] = np.where(h["stage"] == "repeat", 10.0, 0.0)
>>> bt = backtest(h.drop(columns="m"), months=3, draws=50)
>>> sorted(bt["model"].unique())[:2], bt.attrs["cutoff"]
(['BG/NBD + Gamma-Gamma (existing customers)', 'journey model'], Timestamp('2024-05-01 00:00:00'))
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.schema import DataError
from cxlib.simulate.panel import month_numbers
from cxlib.simulate.purchase_choice import purchase_words

__all__ = [
    "MIN_MONTHS", "backtest", "backtest_error", "backtest_months", "backtest_words", "error_words",
    "stored_backtest", "workspace_backtest",
]  # fmt: skip

#: Month ends of history the journey model needs before it forecasts anything.
MIN_MONTHS = 3

JOURNEY = "journey model"
LAST_YEAR = "same period last year"
RUN_RATE = "last 3 months run rate"
BGNBD = "BG/NBD + Gamma-Gamma (existing customers)"


def backtest_months(history: pd.DataFrame, months: int = 12) -> int:
    """How many months a backtest of ``history`` can hold out: ``months``, but never so many that the fit
    keeps fewer than :data:`MIN_MONTHS` month ends (0: too short to backtest). ``cx simulate`` and the
    strategy page use this one rule.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.date_range("2024-01-01", periods=12, freq="MS")})
    >>> backtest_months(h), backtest_months(h, 6), backtest_months(h.head(3))
    (9, 6, 0)
    """
    n = pd.to_datetime(history["month"]).dt.to_period("M").nunique()
    return max(0, min(months, n - MIN_MONTHS))


def backtest(
    source: str | Path | Workspace | pd.DataFrame,
    months: int = 12,
    cutoff: str | pd.Timestamp | None = None,
    arrivals: str | float = "auto",
    draws: int = 200,
    random_state: int | None = 0,
    seasons: bool = True,
    durations: int | None = None,
    recency: int | None = None,
    personas: str = "refit",
    purchases: str | None = None,
) -> pd.DataFrame:
    """Fit on the history up to ``cutoff``, forecast revenue by month, compare with what happened.

    Parameters
    ----------
    source : workspace (folder, file, :class:`~cxlib.engine.Workspace`) or a monthly panel
        A panel is what :func:`~cxlib.simulate.history_from_workspace` returns (``customer_id`` or
        ``person_id``, ``month``, ``stage``, ``revenue``, optional ``persona``); its latest month is taken
        as complete, and its personas as they are. From a workspace, the last month counts only when the
        data reaches its last day, and a workspace with personas (``cx personas``) gives each customer the
        persona they had at the end of the cutoff month: features of the touchpoints up to then (none for a
        customer not yet seen), assigned by a persona model fitted on them (``personas``).
    months : int
        Horizon of the forecast.
    cutoff : month, optional
        The last month the fit sees (default: ``months`` before the last complete month).
    arrivals : see :func:`~cxlib.simulate.simulate` (``"auto"``: chosen on the months before the cutoff).
    draws : int
        Posterior draws of the journey model (its band).
    seasons : bool
        Let the journey model follow the calendar: month-of-year profiles when the fit spans two years or more,
        a smooth yearly cycle shrunk by its noise with one year to 23 months (``False``: flat, to see what the
        seasons are worth).
    durations, recency : int, optional
        Months in a stage and months since the last purchase the journey model tells apart (default:
        :func:`~cxlib.simulate.persona_model`'s; 0: a plain Markov chain, revenue by stage alone).
    purchases : {"auto", "recency", "count", "gap"}, optional
        What the purchase buckets tell apart (default: :func:`~cxlib.simulate.persona_model`'s, chosen by
        backtest on the months before the cutoff; :func:`~cxlib.simulate.recency.bucket_moves`).
    personas : {"refit", "kept"}
        For a workspace with personas, the persona model that labels the customers at the cutoff.
        ``"refit"`` (default): fitted on the features as of the cutoff with the settings ``cx personas``
        fitted the workspace's model with (number of personas or "auto", features, method, customers, seed;
        :func:`~cxlib.personas.stored.refit_as_of`), its personas named by that fit, so nothing after the
        cutoff reaches the fit (``personas_as_of(..., refit=True)`` shows them under the workspace's
        names). ``"kept"``: the workspace's own model, whose centres and scaling were fitted on the whole
        workspace (the personas' definitions look ahead; the segments are exactly those ``cx simulate``
        forecasts).

    Returns
    -------
    DataFrame
        ``model, period ("month" or "total"), month, month_start, forecast, p5, p95, actual, error,
        pct_error``; ``attrs``: ``cutoff``, ``arrivals`` (the model used), ``skipped`` (models left out, why),
        ``seasonality`` (which calendar model the journey model used -- month of year, yearly cycle or flat --
        and why).
    """
    from cxlib.simulate.run import simulate
    from cxlib.simulate.workspace import check_history, persona_model

    if personas not in ("refit", "kept"):
        raise ValueError(f"personas must be 'refit' or 'kept', not {personas!r}")
    h, cut, horizon = _held_out(source, months, cutoff, personas == "refit")
    fit = h[h["month"] <= cut]
    check_history(fit, f"backtest with the cutoff {cut:%Y-%m}")
    extra = {"durations": durations, "recency": recency, "purchases": purchases}
    extra = {k: v for k, v in extra.items() if v is not None}
    model = persona_model(fit, random_state=random_state, seasons=seasons, **extra)
    sim = simulate(model, [], months=horizon, draws=draws, arrivals=arrivals, random_state=random_state)
    rev = sim[sim["metric"] == "revenue"]
    starts = pd.date_range(cut + pd.DateOffset(months=1), periods=horizon, freq="MS")
    by_month = h.groupby("month")["revenue"].sum()
    actual = by_month.reindex(starts).fillna(0.0).to_numpy()
    forecasts = {JOURNEY: (rev["mean"].to_numpy(), rev["p5"].to_numpy(), rev["p95"].to_numpy())}
    naive, skipped = _naive_forecasts(fit, by_month, cut, starts)
    out = _tidy(forecasts | naive, starts, actual)
    out.attrs.update(
        cutoff=cut,
        arrivals=sim.attrs.get("arrivals"),
        skipped=skipped,
        months=horizon,
        seasonality=model.seasonality_,
        purchases=purchase_words(model),
    )
    return out


def _held_out(
    source: str | Path | Workspace | pd.DataFrame, months: int, cutoff: str | pd.Timestamp | None, refit: bool
) -> tuple[pd.DataFrame, pd.Timestamp, int]:
    """The monthly panel of a backtest (months as their first day), its cutoff and the months after it that
    it forecasts (at most ``months``); a :class:`DataError` when no month follows the cutoff."""
    h = source.copy() if isinstance(source, pd.DataFrame) else _workspace_history(source, months, cutoff, refit)
    h["month"] = pd.to_datetime(h["month"]).dt.to_period("M").dt.start_time
    last = h["month"].max()
    cut = _cutoff(last, months, cutoff)
    horizon = min(months, _months_between(cut, last))
    if horizon < 1:
        raise DataError(f"backtest: no month after the cutoff {cut:%Y-%m} to compare with (data ends {last:%Y-%m})")
    return h, cut, horizon


def _naive_forecasts(
    fit: pd.DataFrame, by_month: pd.Series, cut: pd.Timestamp, starts: pd.DatetimeIndex
) -> tuple[dict[str, tuple], dict[str, str]]:
    """The naive forecasts a backtest shows beside the journey model's, for the months ``starts`` after
    ``cut``: the same months a year before, the last three months' run rate, BG/NBD + Gamma-Gamma on the
    customers of ``fit``. Returns ``(forecasts, skipped)``: ``model -> (forecast, None, None)`` and
    ``model -> why it is left out``."""
    horizon = len(starts)
    forecasts: dict[str, tuple] = {}
    skipped: dict[str, str] = {}
    past = by_month[by_month.index <= cut]
    year_ago = past.reindex(starts - pd.DateOffset(months=12))
    if year_ago.notna().all() and horizon <= 12:
        forecasts[LAST_YEAR] = (year_ago.to_numpy(), None, None)
    else:
        skipped[LAST_YEAR] = "the data does not reach a year before the forecast months"
    run_rate = past.reindex(pd.date_range(end=cut, periods=3, freq="MS")).mean()
    forecasts[RUN_RATE] = (np.full(horizon, run_rate), None, None)
    try:
        forecasts[BGNBD] = (_bgnbd_forecast(fit, cut, horizon), None, None)
    except DataError as e:
        skipped[BGNBD] = str(e)
    return forecasts, skipped


def backtest_error(bt: pd.DataFrame, model: str = JOURNEY) -> float:
    """``model``'s total forecast error as a share of the actual revenue (signed: positive is too high)."""
    row = bt[(bt["model"] == model) & (bt["period"] == "total")]
    return float(row["pct_error"].iloc[0]) if len(row) else float("nan")


def error_words(error: float) -> str:
    """A backtest's signed error (:func:`backtest_error`) after "this model was": "within 6%" while it is
    small (25% or less), else with its direction, so that a large error does not read as reassurance.

    Examples
    --------
    >>> error_words(-0.06), error_words(1.056), error_words(-0.4)
    ('within 6%', '106% too high', '40% too low')
    """
    err = abs(error)
    return f"within {err:.0%}" if err <= 0.25 else f"{err:.0%} too {'high' if error > 0 else 'low'}"


def plan_verdict(ranked: pd.DataFrame, plan: str, bt: pd.DataFrame | None) -> tuple[str, bool]:
    """What scenario ``plan`` of ``ranked`` (:func:`~cxlib.simulate.compare`) is worth, held against the
    forecast's own error on the company's past (``bt``, :func:`backtest`; ``None``: not held): ``(markdown,
    clear)``, ``clear`` when its 5% gain is above zero and its gain above that error in money. The strategy page
    says it of the user's plan: the scenario with the largest gain is often a preset of a different size, an
    example rather than the plan (an issue-17 lesson: a headline that picked the biggest preset).

    Examples
    --------
    >>> ranked = pd.DataFrame({"scenario": ["AOV +5%", "your plan: conversion +10%", "baseline"],
    ...     "revenue": [346_225.0, 330_971.0, 329_738.0], "gain": [16_487.0, 1_232.0, 0.0],
    ...     "gain_p5": [15_902.0, 1_179.0, 0.0], "gain_p95": [17_062.0, 1_286.0, 0.0]})
    >>> plan_verdict(ranked, "your plan: conversion +10%", None)[0][:63]
    '**your plan: conversion +10%**: about **1,232** in revenue over'
    >>> plan_verdict(ranked, "your plan: no change", None)
    ("The plan moves no lever yet: it is the baseline (the strategy page's sliders set it).", False)
    >>> nobody = ranked.assign(gain=[16_487.0, 0.0, 0.0], lever_size_pct=[5.0, 10.0, None])
    >>> plan_verdict(nobody, "your plan: conversion +10%", None)[0][:42]
    "The plan's levers act on no customer: nobo"
    """
    row = ranked[ranked["scenario"] == plan]
    size = float(row["lever_size_pct"].iloc[0]) if "lever_size_pct" in row and not row.empty else 0.0
    if not row.empty and float(row["gain"].iloc[0]) == 0.0 and size > 0:
        # a lever pulled on a stage nobody is in (conversion, in an orders-only shop: no consideration seen)
        return ("The plan's levers act on no customer: nobody in this data is in the stages they start from "
                "(conversion needs customers seen considering a purchase), so it forecasts the baseline."), False
    if row.empty or float(row["gain"].iloc[0]) == 0.0:
        return "The plan moves no lever yet: it is the baseline (the strategy page's sliders set it).", False
    row = row.iloc[0]
    base = float(ranked.loc[ranked["scenario"] == "baseline", "revenue"].iloc[0])
    err = None if bt is None else backtest_error(bt)
    clear = err is not None and np.isfinite(err) and row["gain_p5"] > 0 and row["gain"] > abs(err) * base
    held = (
        f"on the past this model was **{error_words(err)}** (about {abs(err) * base:,.0f}). "
        if err is not None and np.isfinite(err)
        else "the model could not be held against the past (too short a history). "
    )
    text = (
        f"**{plan}**: about **{row['gain']:,.0f}** in revenue over the horizon (5-95%: {row['gain_p5']:,.0f} to "
        f"{row['gain_p95']:,.0f}); " + held
        + ("The gain is larger than the forecast's own error." if clear else
           "The gain is not shown to be larger than the forecast's own error: test it on a sample before "
           "counting on it.")
        + " It assumes the lever holds for every month and that everything else behaves as in the history."
    )
    return text, bool(clear)


def backtest_words(bt: pd.DataFrame | None) -> str:
    """The backtest in one sentence (markdown) for a page: its cutoff and the journey model's error, or that
    there is none.

    Examples
    --------
    >>> bt = pd.DataFrame({"model": [JOURNEY], "period": ["total"], "pct_error": [0.067]})
    >>> bt.attrs["cutoff"] = pd.Timestamp("2024-12-01")
    >>> backtest_words(bt)
    "Fitted up to December 2024, this model's forecast of what came next was off by **+7%**."
    >>> backtest_words(None)[:32]
    '**Not held against the past**: t'
    """
    if bt is None:
        return (
            "**Not held against the past**: the history is too short to keep months back for a backtest, so "
            "treat every number below as untested."
        )
    return (
        f"Fitted up to {bt.attrs['cutoff']:%B %Y}, this model's forecast of what came next was off by "
        f"**{backtest_error(bt):+.0%}**."
    )


def workspace_backtest(
    ws: Workspace,
    history: pd.DataFrame,
    months: int = 12,
    arrivals: str | float = "auto",
    purchases: str | None = None,
) -> pd.DataFrame | None:
    """The backtest of a workspace that ``cx simulate`` stores and every page shows: :func:`backtest` over
    :func:`backtest_months` of ``history`` (the workspace's panel, :func:`~cxlib.simulate.complete_history`);
    with personas, each customer labelled as of the cutoff (the workspace is read again for it), so nothing
    after the cutoff reaches the fit. ``None`` when the history is too short to hold any month back.

    Examples
    --------
    >>> import tempfile
    >>> from cxlib import io, synth, unify
    >>> from cxlib.simulate import complete_history
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=200, seed=3, months=8, progress=False)
    >>> _ = io.load(folder, progress=False)
    >>> _ = unify.unify(folder, probabilistic=False, progress=False)
    >>> with opened(folder) as ws:
    ...     bt = workspace_backtest(ws, complete_history(ws), months=3, arrivals="recent")
    >>> int(bt.loc[bt["period"] == "month", "month"].max())
    3
    """
    held = backtest_months(history, months)
    if held < 1:
        return None
    return backtest(_labelled_at_cutoff(ws, history, held), months=held, arrivals=arrivals, purchases=purchases)


def _labelled_at_cutoff(ws: Workspace, history: pd.DataFrame, months: int) -> pd.DataFrame:
    """``history`` with each customer's persona as of the end of the cutoff month (``months`` before its last
    month; refitted then, as :func:`backtest` labels a workspace), ``unassigned`` for a customer without one
    then: the panel :func:`backtest` reads from the workspace, made from the one already pulled (only the
    labels come from the engine: a second copy of the panel was ``cx simulate``'s peak memory)."""
    from cxlib.simulate.workspace import _persona_labels

    if not ws.has("personas") or "persona" not in history.columns:
        return history
    last = pd.Timestamp(pd.to_datetime(history["month"]).max()).to_period("M").start_time
    cutoff = _month_end(_cutoff(last, months, None))
    try:
        labels = _persona_labels(ws, "persona", cutoff, refit=True).to_pandas()
    except DataError as e:  # too few buyers by the cutoff to find personas: the backtest runs as one segment
        logging.getLogger("cxlib.simulate").warning(
            "backtest: %s (the cutoff, %s): every customer is 'unassigned' then, one segment", str(e).split(";")[0],
            cutoff.date(),
        )
        labels = pd.DataFrame({"_p": pd.Series(dtype="string"), "persona": pd.Series(dtype="string")})
    # each customer's label looked up once, then spread to their months by code (a lookup per row of the
    # panel's ids: 5.4 s of 16.8M rows at 1M customers, 3.4 this way)
    codes, ids = pd.factorize(history["customer_id"], use_na_sentinel=False)
    per_id = labels.set_index("_p")["persona"].reindex(ids).fillna("unassigned").to_numpy()
    return history.assign(persona=pd.Series(per_id[codes], index=history.index, dtype=history["persona"].dtype))


def stored_current(ws: Workspace, table: str) -> bool:
    """Whether ``cx simulate`` wrote ``table`` and is current: its inputs unchanged since (the lineage), so what
    it stored still describes the data (:func:`stored_backtest`, :func:`~cxlib.simulate.stored_scenarios`)."""
    from cxlib.lineage import stale_steps

    return ws.has(table) and not any(s.step == "simulate" for s in stale_steps(ws))


def stored_backtest(ws: Workspace) -> pd.DataFrame | None:
    """The backtest ``cx simulate`` stored (``simulate_backtest``), its ``attrs`` (``cutoff``, ``arrivals``,
    ``seasonality``, ``purchases``) back from its columns; ``None`` when there is none or when ``cx simulate`` is
    stale (its inputs changed since), so that a page shows the stored number only while it describes the data.

    Examples
    --------
    >>> import tempfile
    >>> from cxlib import io, synth
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=50, seed=3, months=4, progress=False)
    >>> _ = io.load(folder, progress=False)
    >>> with opened(folder) as ws:
    ...     print(stored_backtest(ws))
    None
    """
    if not stored_current(ws, "simulate_backtest"):
        return None
    bt = ws.table("simulate_backtest").to_pandas()
    if bt.empty:
        return None
    first = bt.iloc[0]
    bt.attrs = {
        "cutoff": pd.Timestamp(first["cutoff"]),
        "arrivals": first.get("arrivals"),
        "seasonality": first.get("calendar"),
        "purchases": first.get("purchases"),  # not in a table stored before the choice
    }
    return bt.drop(columns=[c for c in ("cutoff", "arrivals", "calendar", "purchases") if c in bt.columns])


def _cutoff(last: pd.Timestamp, months: int, cutoff: str | pd.Timestamp | None) -> pd.Timestamp:
    """The first day of the cutoff month: ``cutoff``'s month, or ``months`` before the last month ``last``."""
    return last - pd.DateOffset(months=months) if cutoff is None else pd.Timestamp(cutoff).to_period("M").start_time


def _workspace_history(
    source: str | Path | Workspace, months: int, cutoff: str | pd.Timestamp | None, refit: bool = True
) -> pd.DataFrame:
    """The workspace's panel up to its last complete month; with personas, each customer's persona as of the
    last instant of the cutoff month (:func:`~cxlib.personas.stored.personas_as_of`, the persona model
    refitted then with ``refit``), not the one table ``personas`` holds, which is found on the whole workspace
    and so knows what came after the cutoff."""
    from cxlib.simulate.workspace import complete_history, last_complete_month

    with opened(source, read_only=True) as ws:
        last = last_complete_month(ws)
        if last is None or not ws.has("personas"):
            return complete_history(ws, channel=False)
        cut = _cutoff(last, months, cutoff)
        h = complete_history(ws, channel=False, personas_as_of=_month_end(cut), refit_personas=refit)
        seen = _cutoff(pd.Timestamp(h["month"].max()).to_period("M").start_time, months, cutoff) if len(h) else cut
        if seen != cut:  # the stages end before the touchpoints' last complete month: the panel sets the cutoff
            h = complete_history(ws, channel=False, personas_as_of=_month_end(seen), refit_personas=refit)
        return h


def _month_end(month: pd.Timestamp) -> pd.Timestamp:
    """The last instant (to the microsecond) of the month starting at ``month``."""
    return month + pd.DateOffset(months=1) - pd.Timedelta(microseconds=1)


def _months_between(a: pd.Timestamp, b: pd.Timestamp) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _tidy(forecasts: dict, starts: pd.DatetimeIndex, actual: np.ndarray) -> pd.DataFrame:
    """One row per model and month, and a total row per model."""
    frames = []
    for name, (f, lo, hi) in forecasts.items():
        f = np.asarray(f, dtype=float)
        monthly = pd.DataFrame(
            {
                "model": name,
                "period": "month",
                "month": pd.array(np.arange(1, len(starts) + 1), dtype="Int64"),
                "month_start": starts,
                "forecast": f,
                "p5": lo if lo is not None else np.nan,
                "p95": hi if hi is not None else np.nan,
                "actual": actual,
            }
        )
        total = pd.DataFrame(
            {
                "model": [name],
                "period": ["total"],
                "month": pd.array([pd.NA], dtype="Int64"),
                "month_start": [starts[0]],
                "forecast": [f.sum()],
                # the band of a sum is not the sum of bands: left out rather than overstated
                "p5": [np.nan],
                "p95": [np.nan],
                "actual": [actual.sum()],
            }
        )
        frames += [monthly, total]
    out = pd.concat(frames, ignore_index=True)
    out["error"] = out["forecast"] - out["actual"]
    out["pct_error"] = np.where(out["actual"] != 0, out["error"] / out["actual"].where(out["actual"] != 0, 1), np.nan)
    return out


def _bgnbd_forecast(fit: pd.DataFrame, cut: pd.Timestamp, horizon: int) -> np.ndarray:
    """Revenue per forecast month from BG/NBD + Gamma-Gamma on the customers who bought by the cutoff (a
    purchase: a month with revenue; time in months)."""
    from cxlib.value import bgnbd, gamma_gamma

    cid = "customer_id" if "customer_id" in fit.columns else "person_id"
    buys = fit[fit["revenue"] > 0]
    if buys.empty:
        raise DataError("no purchases before the cutoff")
    m = month_numbers(buys["month"])
    g = pd.DataFrame({"c": buys[cid].to_numpy(), "m": m, "r": buys["revenue"].to_numpy()}).groupby("c")
    agg = g.agg(first=("m", "min"), last=("m", "max"), n=("m", "size"), spend=("r", "mean"))
    end = cut.year * 12 + cut.month
    x = (agg["n"] - 1).to_numpy(dtype=float)
    tx = (agg["last"] - agg["first"]).to_numpy(dtype=float)
    T = (end - agg["first"]).to_numpy(dtype=float) + 0.5  # purchases at mid-month, the cutoff at its end
    rep = x > 0
    if len(agg) < 5 or rep.sum() < 5:
        raise DataError(f"BG/NBD needs 5 or more repeat buyers before the cutoff; there were {int(rep.sum())}")
    params = bgnbd.fit(x, tx, T)
    spend_params = gamma_gamma.fit(x[rep], agg["spend"].to_numpy()[rep])
    spend = gamma_gamma.expected_spend(spend_params, x, agg["spend"].to_numpy())
    cum = np.array([(bgnbd.expected_purchases(params, x, tx, T, float(t)) * spend).sum() for t in range(horizon + 1)])
    return np.diff(cum)
