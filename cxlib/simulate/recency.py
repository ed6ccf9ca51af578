"""Months since the last purchase: revenue per customer-month that depends on how recently a customer bought.

A stage read from data says what a customer did lately, not how recently they *bought*: the observed repeat
stage (any inbound touch within 60 days) holds, as a company ages, more customers who still visit but buy less.
The chance of a purchase at a given recency stays put from year to year while the mix of recencies shifts (on
the demo workspace: customers who bought last month were 45-48% of the repeat stage's months in the fit year,
31-32% in the next), so revenue per customer-month by stage alone is forecast too high.

The journey model therefore carries, beside the stage and the months in it, the months since the last purchase
*before* the month, capped at ``R`` (:data:`RECENCY_MONTHS`): bucket ``0`` for a purchase last month, ``1`` two
months ago, ..., ``R`` for ``R + 1`` months ago or more, or never. Per stage and bucket it fits two multipliers
of the stage's own figures (per segment): the chance of a purchase in the month (a month with revenue) and the
revenue per customer-month, each observed over what the stage's average expects from the same customers,
``(observed + k) / (expected + k)`` with ``k`` the expectation of :data:`RECENCY_PRIOR` pseudo customer-months
(as the months in a stage: :data:`~cxlib.simulate.durations.DURATION_PRIOR`).

A forecast tracks every segment, stage and months in it by recency bucket (:func:`recency_step`): a customer
earns the revenue of their stage and bucket; one who buys starts next month at ``0``, one who does not is a
month older (up to ``R``); arrivals start at ``R`` (never bought). The purchase chance is the stage's, so a lever
that moves customers into a buying stage (conversion, onboarding -> repeat) resets their recency as their
purchases do; an AOV lever scales revenue at every recency alike.

Customers already there in the data's first month have bought before it, unseen (left censoring): their months
take no part in the fit until a purchase is seen or ``R + 1`` months have passed.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"c": [0, 0, 0, 0, 1, 1], "m": [5, 6, 7, 8, 6, 7], "s": 0, "g": 0})
>>> k, known = purchase_recency(f, np.array([0.0, 9.0, 0.0, 0.0, 0.0, 0.0]), 2)
>>> k.tolist(), known.tolist()  # customer 0 is there from the data's first month
([2, 2, 0, 1, 2, 2], [False, False, True, True, True, True])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxlib.simulate.panel import cell_counts

__all__ = [
    "RECENCY_MONTHS",
    "RECENCY_PRIOR",
    "KINDS",
    "PURCHASES",
    "bucket_moves",
    "fit_recency",
    "months_of",
    "n_buckets",
    "purchase_recency",
    "recency_step",
    "start_by_recency",
]

#: The months since the last purchase the journey model tells apart (``R``: a purchase 1, 2, ..., ``R`` months
#: before the month, and ``R + 1`` or more or never), as :func:`~cxlib.simulate.persona_model` fits it: a quarter,
#: the span over which a monthly buyer's next purchase is still in question, with a few buckets only so that
#: every stage and bucket has data.
RECENCY_MONTHS = 3

#: What :func:`~cxlib.simulate.persona_model`'s purchase buckets tell apart (:func:`bucket_moves`): chosen by
#: backtest on the history's own last months (:func:`~cxlib.simulate.purchase_choice.choose_purchases`).
PURCHASES = "auto"

#: The kinds of purchase buckets (:func:`bucket_moves`), each with its number of tiers of ``R + 1`` buckets.
KINDS = {"recency": 1, "count": 2, "gap": 3}

#: Pseudo customer-months behind each stage and recency bucket, at the stage's own purchase chance and revenue
#: (the months in a stage's :data:`~cxlib.simulate.durations.DURATION_PRIOR`).
RECENCY_PRIOR = 10.0


def _check(kind: str) -> int:
    if kind not in KINDS:
        raise ValueError(f"purchases must be one of {sorted(KINDS)}, not {kind!r}")
    return KINDS[kind]


def bucket_moves(R: int, kind: str = "recency") -> tuple[np.ndarray, np.ndarray]:
    """Where each purchase bucket goes next month: ``after_buy[b]`` for a customer who buys, ``after_none[b]``
    for one who does not (a month older, up to ``R``). The last bucket is where new customers start.

    ``kind``:

    - ``"recency"``: ``R + 1`` buckets, the months since the last purchase less one, up to ``R`` (``R`` also for
      never);
    - ``"count"``: ``2 R + 3``: bought once (``0 .. R``, by months since), twice or more (``R + 1 .. 2 R + 1``),
      never (``2 R + 2``) -- a one-time buyer's next month is not a regular's;
    - ``"gap"``: ``3 R + 4``: bought once, twice or more with the last two purchases close (``R // 2`` months
      or fewer between them: a regular), twice or more with them far apart, never -- so a one-time buyer who
      comes back after a long while is not taken for a regular.

    Examples
    --------
    >>> [a.tolist() for a in bucket_moves(1)]
    [[0, 0], [1, 1]]
    >>> [a.tolist() for a in bucket_moves(1, "count")]
    [[2, 2, 2, 2, 0], [1, 1, 3, 3, 4]]
    >>> [a.tolist() for a in bucket_moves(1, "gap")]
    [[2, 4, 2, 4, 2, 4, 0], [1, 1, 3, 3, 5, 5, 6]]
    """
    tiers = _check(kind)
    older = np.minimum(np.arange(R + 1) + 1, R)
    if tiers == 1:
        return np.zeros(R + 1, dtype=np.int64), older
    never = tiers * (R + 1)
    after_none = np.concatenate([t * (R + 1) + older for t in range(tiers)] + [np.array([never])])
    k = np.tile(np.arange(R + 1), tiers)
    if kind == "count":
        after_buy = np.full(never, R + 1)
    else:  # a purchase within R // 2 months of the last: close; later: far apart
        after_buy = np.where(k <= R // 2, R + 1, 2 * (R + 1))
    return np.r_[after_buy, 0].astype(np.int64), after_none.astype(np.int64)


def n_buckets(R: int, kind: str = "recency") -> int:
    """The number of purchase buckets (:func:`bucket_moves`)."""
    tiers = _check(kind)
    return R + 1 if tiers == 1 else tiers * (R + 1) + 1


def purchase_recency(
    frame: pd.DataFrame, rev: np.ndarray, R: int, kind: str = "recency"
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's purchase bucket (:func:`bucket_moves`) before the row's month, and whether it is known.

    ``"recency"``: the months since its customer's last purchase before the row's month, less one, capped at
    ``R`` (``R`` also for never); ``"count"`` and ``"gap"`` tell one purchase from two or more as well, and
    ``"gap"`` how far apart the last two were.

    ``frame``: the model's codes ``c, m`` sorted by customer and month; ``rev``: each row's revenue (a purchase
    is a month with revenue). A customer there in the data's first month may have bought before it: until a
    purchase is seen their bucket is known only once it is ``R`` whatever came before. With the tiers their
    purchases are counted from what is seen, one at least (their bucket is known once two are seen).
    """
    tiers = _check(kind)
    c, m = frame["c"].to_numpy().astype(np.int64), frame["m"].to_numpy().astype(np.int64)
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    span = int(m.max() - m.min()) + 3
    # the latest purchase month up to each row, customer by customer (sorted by customer: an offset per customer
    # keeps the running maximum from leaking across customers); -1: none yet
    bought = np.asarray(rev) > 0
    val = np.where(bought, m - m.min(), -1)
    upto = np.maximum.accumulate(c * span + val) - c * span
    first = np.r_[True, c[1:] != c[:-1]]
    before = np.where(first, -1, np.r_[-1, upto[:-1]])
    seen = before >= 0
    k = np.minimum(np.where(seen, m - m.min() - before - 1, R), R)
    start = np.maximum.accumulate(np.where(first, np.arange(len(c)), 0))
    censored = m[start] == m.min()
    if tiers == 1:
        return k, seen | ~censored | (m - m.min() >= R)
    # purchases before the row's month, customer by customer
    total = np.cumsum(bought) - bought
    n = total - total[start]
    tier = np.ones(len(c), dtype=np.int64)  # twice or more (count), close (gap)
    if kind == "gap":  # the months between the last two purchases before the row's month, less one
        last = np.maximum.accumulate(np.where(bought, np.arange(len(c)), -1))
        last = np.r_[-1, last[:-1]]  # the latest purchase row strictly before the row
        gap = np.where(seen, m - m.min() - before - 1, R + 1)  # at a purchase row: since the one before it
        gap_last = np.where(last >= start, gap[np.maximum(last, 0)], R + 1)
        tier = np.where(gap_last <= R // 2, 1, 2)
    # one already there with no purchase seen has bought before, unseen: once (at least), long ago
    b = np.where((n == 0) & ~censored, tiers * (R + 1), np.where(n <= 1, k, tier * (R + 1) + k))
    return b, ~censored | (n >= 2)


def _tally(cell: np.ndarray, values: np.ndarray, expected: np.ndarray, n: int) -> np.ndarray:
    """Observed over expected per cell, shrunk toward 1 by :data:`RECENCY_PRIOR` customer-months at the cell's
    average expectation (1 where nothing is expected)."""
    obs = np.bincount(cell, weights=values, minlength=n)
    exp = np.bincount(cell, weights=expected, minlength=n)
    months = np.bincount(cell, minlength=n)
    k = RECENCY_PRIOR * np.divide(exp, months, out=np.zeros(n), where=months > 0)
    return np.divide(obs + k, exp + k, out=np.ones(n), where=exp + k > 0)


def fit_recency(
    frame: pd.DataFrame,
    rev: np.ndarray,
    revenue_mean: np.ndarray,
    R: int,
    shared_index: Sequence[int] = (),
    kind: str = "recency",
    buckets: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The chance of a purchase per segment and stage ``(segment, stage)``, and multipliers of it and of the
    revenue per customer-month by stage and purchase bucket, ``(stage, buckets)`` each (:func:`bucket_moves`).

    Parameters
    ----------
    frame : DataFrame
        The model's panel codes ``c, m, s, g`` sorted by customer and month.
    rev : ndarray
        Revenue of each row of ``frame``.
    revenue_mean : ndarray (segment, stage)
        The model's revenue per customer-month.
    R : int
        The last bucket (``R + 1`` months or more, or never).
    shared_index : sequence of int
        Stages whose purchase chance is one for all segments.
    kind : {"recency", "count", "gap"}
        What the purchase buckets tell apart (:func:`bucket_moves`).
    buckets : (ndarray, ndarray), optional
        :func:`purchase_recency` of ``frame`` when the caller has it already.

    Examples
    --------
    >>> f = pd.DataFrame({"c": [1, 1, 1, 1, 2, 2, 2], "m": [3, 4, 5, 6, 4, 5, 6], "s": 0, "g": 0})
    >>> rev = np.array([0, 10.0, 10.0, 0, 0, 0, 0])
    >>> buy, r_buy, r_rev = fit_recency(f, rev, np.array([[20 / 7]]), 1)
    >>> round(float(buy[0, 0]), 3), r_buy.round(2).tolist()  # bought last month: 1 in 2, else 1 in 4, shrunk
    (0.286, [[1.12, 0.96]])
    """
    n_g, n_s = revenue_mean.shape
    s, g = frame["s"].to_numpy().astype(np.int64), frame["g"].to_numpy().astype(np.int64)
    bought = (np.asarray(rev) > 0).astype(float)
    tries = np.bincount(g * n_s + s, minlength=n_g * n_s).reshape(n_g, n_s).astype(float)
    buys = np.bincount(g * n_s + s, weights=bought, minlength=n_g * n_s).reshape(n_g, n_s)
    for i in shared_index:  # the same chance in every segment
        tries[:, i], buys[:, i] = tries[:, i].sum(), buys[:, i].sum()
    buy = np.divide(buys, tries, out=np.zeros_like(buys), where=tries > 0)
    k, known = purchase_recency(frame, rev, R, kind) if buckets is None else buckets
    B = n_buckets(R, kind)
    cell = (s * B + k)[known]
    r_buy = _tally(cell, bought[known], buy[g, s][known], n_s * B).reshape(n_s, B)
    r_rev = _tally(cell, np.asarray(rev, dtype=float)[known], revenue_mean[g, s][known], n_s * B).reshape(n_s, B)
    return buy, r_buy, r_rev


def start_by_recency(
    frame: pd.DataFrame,
    rev: np.ndarray,
    d: np.ndarray,
    shape: tuple[int, int, int, int],
    kind: str = "recency",
    k: np.ndarray | None = None,
) -> np.ndarray:
    """Customers in the latest month by segment, stage, months in the stage ``d`` and purchase bucket *after*
    the month (its purchases counted), ``(segment, stage, durations, buckets)``: the forecast's start. A
    customer there from the data's first month counts the purchases seen. ``k``: the rows' buckets
    (:func:`purchase_recency`) when the caller has them already.

    Examples
    --------
    >>> f = pd.DataFrame({"c": [0, 0, 1, 1], "m": [5, 6, 5, 6], "s": 1, "g": 0})
    >>> start_by_recency(f, np.array([0.0, 5.0, 3.0, 0.0]), np.array([0, 1, 0, 1]), (1, 2, 2, 3))[0, 1].tolist()
    [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    R = months_of(shape[3], kind)
    k = purchase_recency(frame, rev, R, kind)[0] if k is None else k
    now = (frame["m"] == frame["m"].max()).to_numpy()
    after_buy, after_none = bucket_moves(R, kind)
    after = np.where(np.asarray(rev)[now] > 0, after_buy[k[now]], after_none[k[now]])
    return cell_counts(shape, frame["g"].to_numpy()[now], frame["s"].to_numpy()[now], d[now], after)


def months_of(B: int, kind: str) -> int:
    """``R`` of ``B`` purchase buckets of ``kind`` (:func:`n_buckets`)."""
    tiers = _check(kind)
    return B - 1 if tiers == 1 else (B - 1) // tiers - 1


def recency_step(x: np.ndarray, buy: np.ndarray, spare: np.ndarray | None = None, kind: str = "recency") -> np.ndarray:
    """A month of purchases, in place: the customers ``x (..., buckets, stage)`` who buy (chance ``buy``,
    broadcast to ``x``) start next month in their bucket's ``after_buy``, the others in its ``after_none``
    (:func:`bucket_moves`: a month older, up to ``R``). Returns ``x``; ``spare``, an array like ``x`` to work
    in (a forecast's counts are tens of MB: fresh memory every month costs more than the arithmetic).

    Examples
    --------
    >>> recency_step(np.array([[10.0], [10.0], [10.0]]), np.array([[0.5], [0.2], [0.1]]))[:, 0].tolist()
    [8.0, 5.0, 17.0]
    >>> x = np.full((5, 1), 10.0)  # R = 1: once (2 buckets), twice or more (2), never
    >>> recency_step(x, np.full((5, 1), 0.5), kind="count")[:, 0].tolist()
    [5.0, 10.0, 20.0, 10.0, 5.0]
    """
    bought = np.multiply(x, buy, out=spare)
    x -= bought
    B = x.shape[-2]
    tiers, R = _check(kind), months_of(B, kind)
    for t in range(tiers):  # a month older, up to the tier's last bucket
        lo, hi = t * (R + 1), t * (R + 1) + R
        if hi > lo:
            x[..., hi, :] += x[..., hi - 1, :]
            for j in range(hi - 1, lo, -1):
                x[..., j, :] = x[..., j - 1, :]
            x[..., lo, :] = 0.0
    if tiers == 1:
        x[..., 0, :] += bought.sum(axis=-2)
        return x
    after_buy, _ = bucket_moves(R, kind)
    for b, to in enumerate(after_buy):
        x[..., to, :] += bought[..., b, :]
    return x
