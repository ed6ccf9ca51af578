"""A finite population's outcome: :func:`simulate(..., population=True) <cxlib.simulate.simulate>` follows each
customer month by month (Monte Carlo with common random numbers) instead of propagating expected counts.

Every customer draws one uniform per month, shared by all scenarios (inverse-CDF transitions), so a scenario
differs from the baseline only where its lever acts -- the same coupling as the generator's counterfactuals.
Revenue noise per stage and month is shared too.

The customers are kept in order of arrival, so those present in a month are the first ones: every step works
on a slice of the arrays (a view) instead of gathering the present customers by a mask, and each customer's
random numbers are those it would draw in the order :func:`_customers` lists them, so the outcome is the same
to the last bit as following them in that order.
"""

from __future__ import annotations

import numpy as np

from cxlib.simulate.durations import duration_matrices
from cxlib.simulate.model import JourneyModel
from cxlib.simulate.model_reads import (
    duration_multipliers,
    forecast_calendar,
    purchase_kind,
    recency_arrays,
    start_state,
)
from cxlib.simulate.recency import bucket_moves, months_of
from cxlib.simulate.scenarios import _apply
from cxlib.simulate.seasons import seasonal_matrices

__all__ = ["population_paths"]


def population_paths(model, scenarios, months, T0, rev0, x0, arr0, random_state) -> dict:  # noqa: ANN001
    """Per-customer Monte Carlo: ``{scenario: (customers (month, draw, stage), revenue (month, draw))}``."""
    rng = np.random.default_rng(None if random_state is None else random_state + 1)
    draws, n_g, n_s = T0.shape[0], T0.shape[1], T0.shape[2]
    listed = _customers(model, x0, arr0, months)
    order = np.argsort(listed[2], kind="stable")  # by month of arrival (-1: there at the start)
    gc, s0, tc, d0, k0 = (x[order] for x in listed)
    present = np.searchsorted(tc, np.arange(months), side="left")  # customers there before month m's moves
    arrived = np.searchsorted(tc, np.arange(months), side="right")  # and after its arrivals
    ctx = _Context(model, n_g, n_s)
    applied = [_apply(model, sc, T0, rev0, np.zeros((draws, months, n_g, n_s))) for sc in scenarios]
    out = {sc.name: (np.zeros((months, draws, n_s)), np.zeros((months, draws))) for sc in scenarios}
    cal = forecast_calendar(model, months)
    for d in range(draws):
        people = [(np.where(tc < 0, s0, -1), gc.copy(), d0.copy(), k0.copy()) for _ in scenarios]
        cdfs = [_by_column(_monthly_cdfs(model, T[d], cal, months)) for T, _, _ in applied]
        for m in range(months):
            u = rng.random(len(gc))[order]
            v = rng.random(len(gc))[order]  # which segment a customer joins on leaving a shared stage
            z = rng.standard_normal((n_g, n_s))
            w = None if ctx.buy is None else rng.random(len(gc))[order]  # who buys (for their recency)
            season = 1.0 if cal is None else cal[1][m]
            for k, sc in enumerate(scenarios):
                st, sg, du, rc = people[k]
                on, here = present[m], arrived[m]
                ctx.move(cdfs[k][m], st[:on], sg[:on], du[:on], u[:on], v[:on])
                st[on:here], sg[on:here], du[on:here], rc[on:here] = s0[on:here], gc[on:here], 0, ctx.Rb - 1
                flat = (sg[:here] * ctx.Rb + rc[:here]) * n_s + st[:here]  # (segment, recency, stage)
                counts = np.bincount(flat, minlength=n_g * ctx.Rb * n_s).reshape(n_g, ctx.Rb, n_s).astype(float)
                rev = applied[k][1][d][:, None, :] * ctx.r_rev * season
                cust, money = out[sc.name]
                cust[m, d] = counts.sum(axis=(0, 1))
                noise = (np.sqrt(counts.sum(axis=1)) * ctx.sd * season * z).sum()
                money[m, d] = (counts * rev).sum() + noise
                if ctx.buy is not None:  # who bought this month starts the next at recency 0
                    bought = w[:here] < np.take(ctx.buy, flat)
                    r = rc[:here]
                    r[:] = np.where(bought, np.take(ctx.after_buy, r), np.take(ctx.after_none, r))
    return out


class _Context:
    """What :func:`population_paths` reads from the model once, and one month's moves of the present
    customers (:meth:`move`)."""

    def __init__(self, model: JourneyModel, n_g: int, n_s: int) -> None:
        self.model, self.n_g, self.n_s = model, n_g, n_s
        self.D = duration_multipliers(model).shape[2]
        self.r_rev, buy = recency_arrays(model)
        self.Rb = self.r_rev.shape[0]
        self.buy = None if buy is None else np.ascontiguousarray(buy).ravel()  # by (segment, recency, stage)
        self.after_buy, self.after_none = bucket_moves(months_of(self.Rb, purchase_kind(model)), purchase_kind(model))
        self.sd = np.sqrt(model.revenue_var_)
        self.shared = np.isin(np.arange(n_s), getattr(model, "shared_index_", []))
        # the segment a customer joins on leaving a shared stage, drawn as the stage is: (segment, row) columns
        # over the rows (from segment, from, to)
        mix = np.cumsum(model.switch_mix_, axis=3)[None] if self.shared.any() else None
        self.mix = None if mix is None else _by_column(mix)[0]

    def move(self, columns, st, sg, du, u, v) -> None:  # noqa: ANN001
        """One month's moves of the present customers, in place: the next stage by inverse CDF, the months
        in it, and the segment of those who leave a shared stage for another segment's stage."""
        was = st.copy()
        st[:] = _next_stage(columns, (du * self.n_g + sg) * self.n_s + was, u)
        du[:] = np.where(st == was, np.minimum(du + 1, self.D - 1), 0)
        if self.mix is not None:
            hop = self.shared[was] & ~self.model.switch_own_[was, st]
            if hop.any():
                sg[hop] = _next_stage(self.mix, (sg[hop] * self.n_s + was[hop]) * self.n_s + st[hop], v[hop])


def _customers(model: JourneyModel, x0: np.ndarray, arr0: np.ndarray, months: int) -> tuple[np.ndarray, ...]:
    """The population of :func:`population_paths`: each customer's segment, first stage, month of arrival
    (-1: there at the start), and months in their stage and recency bucket at the start."""
    start = np.rint(start_state(model, x0)).astype(int)  # (segment, stage, duration, recency)
    arr_n = np.rint(arr0).astype(int)
    n_g, n_s, D, Rb = start.shape
    g_list, s_list, t_list, d_list, k_list = [], [], [], [], []
    for g in range(n_g):
        for s in range(n_s):
            n0 = int(start[g, s].sum())
            g_list.append(np.full(n0, g))
            s_list.append(np.full(n0, s))
            t_list.append(np.full(n0, -1))
            d_list.append(np.repeat(np.repeat(np.arange(D), Rb), start[g, s].ravel()))
            k_list.append(np.repeat(np.tile(np.arange(Rb), D), start[g, s].ravel()))
            for m in range(months):
                g_list.append(np.full(arr_n[m, g, s], g))
                s_list.append(np.full(arr_n[m, g, s], s))
                t_list.append(np.full(arr_n[m, g, s], m))
                d_list.append(np.zeros(arr_n[m, g, s], dtype=int))
                k_list.append(np.full(arr_n[m, g, s], Rb - 1))
    return tuple(np.concatenate(x).astype(int) for x in (g_list, s_list, t_list, d_list, k_list))


def _by_column(cdfs: np.ndarray) -> np.ndarray:
    """``(month, K + 1, segment, from, to)`` cumulative rows as ``(month, to, row)``: each month's columns
    contiguous over the flat rows ``(months in the stage, segment, from)``, for :func:`_next_stage`."""
    months, n_s = cdfs.shape[0], cdfs.shape[-1]
    return np.ascontiguousarray(np.swapaxes(cdfs.reshape(months, -1, n_s), 1, 2))


def _next_stage(columns: np.ndarray, rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draws: for each customer, how many entries of its cumulative row (``rows`` into
    ``columns``, a ``(to, row)`` table from :func:`_by_column`) are below its uniform ``u``, at most the last
    stage. One column at a time: the same counts as comparing whole gathered rows, four times faster.

    Examples
    --------
    >>> cols = _by_column(np.array([[[[[0.2, 0.7, 1.0]]]]]))[0]
    >>> _next_stage(cols, np.array([0, 0, 0]), np.array([0.1, 0.5, 0.99])).tolist()
    [0, 1, 2]
    """
    count = np.zeros(len(rows), dtype=np.int64)
    for column in columns:
        count += np.take(column, rows) < u
    return np.minimum(count, len(columns) - 1)


def _monthly_cdfs(model: JourneyModel, T: np.ndarray, cal, months: int) -> np.ndarray:  # noqa: ANN001
    """The cumulative rows of one draw's matrices ``(segment, from, to)`` for every forecast month and month
    in the stage: ``(month, K + 1, segment, from, to)``."""
    r = duration_multipliers(model)
    mats = [T] * months if cal is None else [seasonal_matrices(T, model.transition_season_, k) for k in cal[0]]
    if r.shape[2] == 1:
        return np.stack([np.cumsum(x, axis=2) for x in mats])[:, None]
    return np.stack([[np.cumsum(duration_matrices(x, r, d), axis=2) for d in range(r.shape[2])] for x in mats])
