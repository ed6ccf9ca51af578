"""Running scenarios: the stage distribution propagated month by month under each scenario, for every draw.

:func:`simulate` propagates the stage distribution exactly (matrix products, no per-customer Monte Carlo)
under each :class:`~cxlib.simulate.Scenario`, for every posterior draw at once, and reports revenue and
customers by stage with 5-95% bands and the difference to the baseline (computed draw by draw, so that shared
uncertainty cancels). :func:`compare` ranks the scenarios by their revenue gain.

Examples
--------
>>> import numpy as np, pandas as pd
>>> from cxlib.simulate import JourneyModel, Scenario
>>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "revenue": [0.0, 10.0, 0.0, 0.0],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
...                   "stage": ["consideration", "purchase", "consideration", "lost"]})
>>> m = JourneyModel(prior=0.0).fit(h)
>>> out = simulate(m, [Scenario("better", [Scenario.aov(2.0)])], months=2, draws=None,
...                start=np.array([[0, 0, 4, 0, 0, 0, 0, 0, 0, 0]]), arrivals=None)
>>> compare(out)[["scenario", "gain"]].values.tolist()
[['better', 80.0], ['baseline', 0.0]]
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from cxlib._estimator import check_fitted
from cxlib.simulate.arrivals import choose_arrivals, forecast_arrivals
from cxlib.simulate.durations import duration_matrices
from cxlib.simulate.model import JourneyModel
from cxlib.simulate.model_reads import (
    duration_multipliers,
    forecast_calendar,
    purchase_kind,
    recency_arrays,
    start_state,
)
from cxlib.simulate.population import population_paths
from cxlib.simulate.recency import recency_step
from cxlib.simulate.scenarios import Scenario, _apply, baseline_customers, lever_reach, lever_size
from cxlib.simulate.seasons import seasonal_matrices, seasonal_rows

__all__ = ["compare", "simulate"]

#: Posterior draws propagated together by :func:`_expected_paths`. A block this size keeps a month's counts
#: (months in the stage x draws x segments x recency x stages: 31 MB for 2,000 draws of the demo's persona
#: model) within the processor's caches -- 2,000 at once ran 2.5x slower -- and the blocks run on every core.
#: Fixed, never the machine's: the sums, and so the numbers, are the same on every machine.
DRAW_BLOCK = 250


def simulate(
    model: JourneyModel,
    scenarios: Sequence[Scenario],
    months: int = 12,
    draws: int | None = 2000,
    start: str | np.ndarray = "latest",
    arrivals: str | float | np.ndarray | None = "auto",
    random_state: int | None = None,
    population: bool = False,
) -> pd.DataFrame:
    """Propagate the stage distribution under the baseline and each scenario, for every posterior draw.

    Parameters
    ----------
    model : JourneyModel
        Fitted.
    scenarios : list of Scenario
        The baseline is always included (named ``baseline``).
    months : int
        Horizon.
    draws : int or None
        Posterior draws (the same draws for every scenario, so differences are paired); ``None`` uses the
        posterior mean only.
    start : "latest", "empty" or array (segment, stage)
        Customers at month 0: where they are in the history's latest month, nobody, or given counts.
    arrivals : "auto", "none", "recent", "seasonal", "mean", "history", a number, None or array
        New customers per month (see :mod:`cxlib.simulate.arrivals`): ``"auto"`` (default) the arrival model
        that forecast the history's own last months best; ``"none"`` nobody new (a closed cohort, also
        ``None``); ``"recent"`` the last three months' mean; ``"seasonal"`` level, trend and month of year;
        ``"mean"`` the average after the first month; a number, that many per month; ``"history"`` the
        history's month-by-month arrivals (to replay the observed period from ``start="empty"``); or an
        array ``(months, segment, stage)``.
    population : bool
        ``False`` (default): the exact expected counts; the bands are parameter uncertainty only, and one
        scenario takes milliseconds. ``True``: also the chance variation of *this* finite population (which
        customers happen to move), by per-customer Monte Carlo with common random numbers across scenarios --
        slower (use a few hundred draws); the band to hold a realised outcome against.

    Returns
    -------
    DataFrame
        Tidy: ``scenario, month, month_start, metric, mean, p5, p95, diff_mean, diff_p5, diff_p95`` where
        ``month_start`` is the first day of the forecast month (month 1 is the month after the history's
        latest), ``metric`` is ``revenue``, ``cumulative_revenue`` or ``customers:<stage>``, and ``diff_*`` is
        the difference to the baseline. ``attrs["arrivals"]`` names the arrival model used.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "revenue": [0.0, 10.0, 0.0, 0.0],
    ...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
    ...                   "stage": ["consideration", "purchase", "consideration", "lost"]})
    >>> m = JourneyModel(prior=0.0).fit(h)
    >>> out = simulate(m, [Scenario("better", [Scenario.scale("consideration", "purchase", 1.5)])],
    ...                months=1, draws=None, start=np.array([[0, 10, 0, 0, 0, 0, 0, 0, 0, 0]]), arrivals=None)
    >>> out.query("metric == 'customers:purchase'")[["scenario", "mean"]].values.tolist()
    [['baseline', 5.0], ['better', 7.5]]
    """
    check_fitted(model, "alpha_")
    if draws is None:  # the posterior mean only: no parameter uncertainty
        T0, rev0 = model.matrices()[None], model.revenue_mean_[None]
    else:
        T0, rev0 = model.draw(draws, random_state)
    x0 = _start(model, start)
    if isinstance(arrivals, str) and arrivals == "auto":
        arrivals = choose_arrivals(model)
    arr0 = _arrivals(model, arrivals, months)
    everything = [Scenario("baseline"), *scenarios]
    if population:
        results = population_paths(model, everything, months, T0, rev0, x0, arr0, random_state)
    else:
        results = _baseline_kept(model, everything, months, T0, rev0, x0, arr0, (draws, random_state, start, arrivals))
    out = _summarise(results, list(model.stages), months)
    last = getattr(model, "last_month_", None)
    if last is not None:
        starts = {m: last + pd.DateOffset(months=int(m)) for m in out["month"].unique()}
        out.insert(2, "month_start", out["month"].map(starts).astype("datetime64[ns]"))
    sizes = {sc.name: lever_size(model, sc) for sc in scenarios}
    out["lever_size_pct"] = out["scenario"].map(sizes).astype(float)  # the baseline: NaN
    customers = baseline_customers(out)
    reach = {sc.name: lever_reach(customers, sc) for sc in scenarios}
    out["lever_reach"] = out["scenario"].map(reach).astype(float)
    out.attrs["arrivals"] = arrivals if isinstance(arrivals, str | int | float) or arrivals is None else "given"
    return out


def _start(model: JourneyModel, start: str | np.ndarray) -> np.ndarray:
    """Customers at month 0, ``(segment, stage)``: the latest month's, nobody (``"empty"``) or given."""
    n_g, n_s = len(model.segments_), len(model.stages)
    if isinstance(start, str):
        return model.start_counts_ if start == "latest" else np.zeros((n_g, n_s))
    return np.asarray(start, dtype=float).reshape(n_g, n_s)


def _arrivals(model: JourneyModel, arrivals: str | float | np.ndarray | None, months: int) -> np.ndarray:
    """New customers per month, ``(month, segment, stage)``: see :func:`simulate`'s ``arrivals``."""
    n_g, n_s = len(model.segments_), len(model.stages)
    if arrivals is None:
        return np.zeros((months, n_g, n_s))
    if isinstance(arrivals, str) and arrivals == "history":  # the observed month-by-month arrivals, then none
        arr0 = np.zeros((months, n_g, n_s))
        k = min(months, model.arrivals_by_month_.shape[0])
        arr0[:k] = model.arrivals_by_month_[:k]
        return arr0
    if isinstance(arrivals, str) or np.ndim(arrivals) == 0:
        return forecast_arrivals(model, arrivals, months)
    return np.asarray(arrivals, dtype=float).reshape(months, n_g, n_s)


def _summarise(results: dict, stages: list[str], months: int) -> pd.DataFrame:
    """The tidy frame of :func:`simulate` from each scenario's ``(customers, revenue)`` paths per draw."""
    names = ["revenue", "cumulative_revenue", *[f"customers:{x}" for x in stages]]
    base_c, base_m = results["baseline"]
    base = np.concatenate([base_m[:, None], base_m.cumsum(axis=0)[:, None], base_c.transpose(0, 2, 1)], axis=1)
    frames = []
    for name, (cust, money) in results.items():
        # (months, metric, draws), summarised along the draws in one go
        v = np.concatenate([money[:, None], money.cumsum(axis=0)[:, None], cust.transpose(0, 2, 1)], axis=1)
        q = np.percentile(v, [5, 95], axis=2)
        dq = np.percentile(v - base, [5, 95], axis=2)
        frames.append(
            pd.DataFrame(
                {
                    "scenario": name,
                    "month": np.repeat(np.arange(1, months + 1), len(names)),
                    "metric": names * months,
                    "mean": v.mean(axis=2).ravel(),
                    "p5": q[0].ravel(),
                    "p95": q[1].ravel(),
                    "diff_mean": (v - base).mean(axis=2).ravel(),
                    "diff_p5": dq[0].ravel(),
                    "diff_p95": dq[1].ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _step(model: JourneyModel, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """One month of expected counts ``x`` (draws, segment, recency, stage) under ``T`` (draws, segment, from,
    to): every recency bucket moves by its segment's matrix.

    Moves out of a shared stage into an unshared one land in the segments in the fitted proportions
    (``switch_mix_``): a prospect who buys becomes one of the personas.
    """
    y = np.matmul(x, T)
    shared = getattr(model, "shared_index_", [])
    if not shared:
        return y
    switch = ~model.switch_own_[shared]  # (shared from, to)
    # only the stages such a move lands in: elsewhere the flow is zero and would add and take away nothing
    to = np.nonzero(switch.any(axis=0))[0]
    moves = T[:, :, np.asarray(shared)[:, None], to]  # (draws, segment, shared from, to)
    flow = x[..., shared, None] * (moves * switch[:, to])[:, :, None]  # (draws, segment, recency, from, to)
    y[..., to] -= flow.sum(axis=3)
    # a contraction over (segment, from) for each to-stage: optimize=True makes it a batched matrix product
    # (4.5x faster than einsum's own loops on a block of the demo's draws)
    y[..., to] += np.einsum("dgrij,gijh->dhrj", flow, model.switch_mix_[:, shared][:, :, to], optimize=True)
    return y


def _expected_paths(model, scenarios, months, T0, rev0, x0, arr0, first: int = 0) -> dict:
    """Exact propagation of expected counts, for every posterior draw at once (by months in the stage when the
    model tells them apart), all scenarios a month at a time; from ``scenarios[first]`` on (``first=1``: the
    baseline's chain is used, its path known already).

    A month's matrices (its calendar month's, then each duration's: :func:`_month_matrices`) are made row by
    row from the scenario's chain, and a lever changes a row or two of it: they are made once for the baseline,
    and each scenario remakes only the rows its levers changed (:func:`_remade_rows`; the rest are the
    baseline's to the last bit).
    """
    draws, n_s = T0.shape[0], T0.shape[2]
    cal = forecast_calendar(model, months)
    # counts by (months in the stage, draw, segment, recency, stage): each duration's block in one piece
    start = start_state(model, x0).transpose(2, 0, 3, 1)[:, None]
    r_rev, buy = recency_arrays(model)
    base, changed, rows, applied = _levers(model, scenarios, T0, rev0, arr0)
    base_arr = applied[0][2]
    scenarios, changed, rows, applied = scenarios[first:], changed[first:], rows[first:], applied[first:]
    # a scenario that changes neither the chain nor the arrivals (AOV) has the same customers, to the bit, as
    # the first such one: only its revenue is its own
    lead = _same_paths(changed, applied, base_arr)
    xs = [np.broadcast_to(start, (start.shape[0], draws, *start.shape[2:])).copy() for _ in scenarios]
    outs = [np.empty_like(x) for x in xs]
    here_of = [None] * len(scenarios)
    spare = np.empty_like(xs[0]) if buy is not None else None
    cust = [np.zeros((months, draws, n_s)) for _ in scenarios]
    money = [np.zeros((months, draws)) for _ in scenarios]
    for m in range(months):
        # a month: everyone moves one step, then this month's arrivals join in their first stage (in their
        # first month there), and each customer earns the revenue of the stage they are in this month (in its
        # calendar month's season)
        moy = None if cal is None else cal[0][m]
        for out in outs:
            out.fill(0.0)
        for d, Td in enumerate(_month_matrices(model, base, moy)):
            for k in range(len(applied)):
                if lead[k] != k:
                    continue
                g, s = changed[k]
                if len(g):  # the scenario's rows in place of the baseline's, put back after its move
                    kept = Td[:, g, s]
                    Td[:, g, s] = _remade_rows(model, rows[k], s, moy, d)
                _duration_move(model, xs[k], Td, d, outs[k])
                if len(g):
                    Td[:, g, s] = kept
        for k, (_, rev, arr) in enumerate(applied):
            earn = rev[:, :, None, :] * r_rev
            if lead[k] != k:  # the customers of the scenario it shares them with, this month's revenue its own
                here = here_of[lead[k]]
                cust[k][m] = cust[lead[k]][m]
                money[k][m] = (here * (earn if cal is None else earn * cal[1][m])).sum(axis=(1, 2, 3))
                continue
            x = outs[k]
            x[0, :, :, -1] += arr[:, m]  # new customers: their first month in the stage, never bought
            here = here_of[k] = x.sum(axis=0)  # (draws, segment, recency, stage)
            cust[k][m] = here.sum(axis=(1, 2))
            money[k][m] = (here * (earn if cal is None else earn * cal[1][m])).sum(axis=(1, 2, 3))
            if buy is not None:  # who bought this month starts the next at recency 0, the others a month older
                recency_step(x, buy, spare, purchase_kind(model))
            xs[k], outs[k] = x, xs[k]
    return {sc.name: (cust[k], money[k]) for k, sc in enumerate(scenarios)}


def _same_paths(changed: list, applied: list, base_arr: np.ndarray) -> list[int]:
    """For each scenario, the first scenario whose customers it shares: itself, or the first of those that
    change no row of the chain and keep the baseline's arrivals (``base_arr``, the same object: :func:`_levers`)."""
    first = None
    lead = []
    for k, ((g, _), (_, _, arr)) in enumerate(zip(changed, applied, strict=True)):
        plain = len(g) == 0 and arr is base_arr
        if plain and first is None:
            first = k
        lead.append(first if plain else k)
    return lead


def _blocked_paths(model, scenarios, months, T0, rev0, x0, arr0, first: int = 0) -> dict:
    """:func:`_expected_paths` a block of :data:`DRAW_BLOCK` draws at a time (each draw's path is its own), on a
    thread per core (numpy leaves the interpreter's lock for its arithmetic), joined in the draws' order."""
    blocks = range(0, T0.shape[0], DRAW_BLOCK)

    def block(i: int) -> dict:
        j = i + DRAW_BLOCK
        return _expected_paths(model, scenarios, months, T0[i:j], rev0[i:j], x0, arr0, first)

    workers = min(len(blocks), os.cpu_count() or 1)
    if workers > 1:
        with ThreadPoolExecutor(workers, thread_name_prefix="cx-simulate") as pool:
            parts = list(pool.map(block, blocks))
    else:
        parts = [block(i) for i in blocks]
    if len(parts) == 1:
        return parts[0]
    return {
        name: tuple(np.concatenate([p[name][k] for p in parts], axis=1) for k in range(2)) for name in parts[0]
    }


def _baseline_kept(model, scenarios, months, T0, rev0, x0, arr0, key: tuple) -> dict:
    """:func:`_blocked_paths`, the baseline's path kept with the model's cached draws (:meth:`JourneyModel.draw`:
    cleared with them, and by a new fit): a lever moved on a page propagates its plan alone. ``key``: the draws,
    the seed, the start and the arrivals as given (nothing kept for arrays, or for unseeded draws)."""
    draws, seed = key[0], model.random_state if key[1] is None else key[1]
    cache = model.__dict__.get("_draws")
    kept = draws is not None and seed is not None and cache is not None and (draws, seed) in cache
    kept = kept and all(isinstance(v, str | int | float) or v is None for v in key[2:])
    name = ("baseline", draws, seed, months, *key[2:])
    if kept and name in cache:
        return {"baseline": cache[name], **_blocked_paths(model, scenarios, months, T0, rev0, x0, arr0, first=1)}
    results = _blocked_paths(model, scenarios, months, T0, rev0, x0, arr0)
    if kept:
        cache[name] = results["baseline"]
    return results


def _levers(model: JourneyModel, scenarios, T0: np.ndarray, rev0: np.ndarray, arr0: np.ndarray) -> tuple:
    """Each scenario's levers applied, one scenario at a time, keeping what :func:`_expected_paths` needs: the
    baseline's chain (the first scenario's), the (segment, stage) rows each scenario's levers changed and their
    values ``(draws, row, to)``, and each scenario's revenue and arrivals (the baseline's own arrivals when a
    scenario leaves them alone, as most do)."""
    draws = T0.shape[0]
    base, changed, rows, applied = None, [], [], []
    for sc in scenarios:
        T, rev, arr = _apply(model, sc, T0, rev0, np.broadcast_to(arr0, (draws, *arr0.shape)).copy())
        if base is None:
            base, base_arr = T, arr
        g, s = np.nonzero(np.any(T != base, axis=(0, 3)))
        changed.append((g, s))
        rows.append(T[:, g, s])
        applied.append((None, rev, base_arr if np.array_equal(arr, base_arr) else arr))
    return base, changed, rows, applied


def _month_matrices(model: JourneyModel, T: np.ndarray, moy: int | None):
    """A forecast month's matrices ``(draws, segment, from, to)`` for each month in the stage, from the chain
    ``T``: its calendar month's (``moy``; ``None``: flat), then each duration's multipliers."""
    Tm = T if moy is None else seasonal_matrices(T, model.transition_season_, moy)
    r = duration_multipliers(model)
    if r.shape[2] == 1:
        yield Tm
        return
    for d in range(r.shape[2]):
        yield duration_matrices(Tm, r, d)


def _remade_rows(model: JourneyModel, rows: np.ndarray, stages: np.ndarray, moy: int | None, d: int) -> np.ndarray:
    """Rows ``(draws, row, to)`` of a scenario's chain, from the ``stages`` (one per row), made into a month's
    matrices' rows exactly as :func:`_month_matrices` makes whole matrices."""
    if moy is not None:
        rows = seasonal_rows(rows, model.transition_season_, moy, stages)
    r = duration_multipliers(model)
    if r.shape[2] > 1:
        rows = seasonal_rows(rows, r, d, stages)
    return rows


def _duration_move(model: JourneyModel, x: np.ndarray, Td: np.ndarray, d: int, out: np.ndarray) -> None:
    """Add to ``out`` one month of the customers ``x (K + 1, draws, segment, recency, stage)`` who are ``d``
    months into their stage, under their matrices ``Td``: who stays is a month further on (up to ``K``), who
    moves starts at 0 (a plain chain, ``K = 0``: everyone moves by ``Td``); the recency is left as it was."""
    D = out.shape[0]
    y = _step(model, x[d], Td)
    out[0] += y
    if D == 1:
        return
    stay = x[d] * np.diagonal(Td, axis1=-2, axis2=-1)[:, :, None]
    out[0] -= stay
    out[min(d + 1, D - 1)] += stay


#: The money columns of :func:`compare` (the pages and reports show them in whole units of the orders' currency).
MONEY_COLUMNS = ("revenue", "gain", "gain_p5", "gain_p95", "gain_per_pct")
#: :func:`compare`'s columns of customers a month, shown as whole customers (its reach: 556, not 556.00).
WHOLE_COLUMNS = ("customers_reached",)


def compare(results: pd.DataFrame) -> pd.DataFrame:
    """Scenarios ranked by their revenue gain over the horizon (cumulative revenue at the last month).

    Returns ``scenario, revenue, gain, gain_p5, gain_p95``, and with the scenarios' lever sizes
    (``lever_size_pct``, see :func:`~cxlib.simulate.lever_size`) also ``lever_size_pct`` and
    ``gain_per_pct``: the gain per 1% of the lever, which puts levers of different sizes side by side; with
    their reach (:func:`~cxlib.simulate.lever_reach`) ``customers_reached``, the customers a month the lever
    acts on; ``attrs["customers_a_month"]``: the baseline's customers a month.
    """
    last = results[(results["metric"] == "cumulative_revenue") & (results["month"] == results["month"].max())]
    sized = "lever_size_pct" in results.columns
    cols = ["scenario", "mean", "diff_mean", "diff_p5", "diff_p95", *(["lever_size_pct"] if sized else [])]
    out = last[cols].rename(
        columns={"mean": "revenue", "diff_mean": "gain", "diff_p5": "gain_p5", "diff_p95": "gain_p95"}
    )
    if sized:
        size = out["lever_size_pct"].where(out["lever_size_pct"] > 0)
        out["gain_per_pct"] = out["gain"] / size
    if "lever_reach" in last.columns:
        out["customers_reached"] = last["lever_reach"].to_numpy()
    out = out.sort_values("gain", ascending=False, ignore_index=True)
    customers = baseline_customers(results)
    out.attrs["customers_a_month"] = float(customers.sum(axis=1).mean()) if len(customers) else 0.0
    return out
