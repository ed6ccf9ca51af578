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

__all__ = [
    "RECENCY_MONTHS",
    "RECENCY_PRIOR",
    "REPEAT",
    "bucket_moves",
    "fit_recency",
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

#: Whether :func:`~cxlib.simulate.persona_model` tells a customer who bought once from one who bought twice or
#: more (:func:`bucket_moves`).
REPEAT = False

#: Pseudo customer-months behind each stage and recency bucket, at the stage's own purchase chance and revenue
#: (the months in a stage's :data:`~cxlib.simulate.durations.DURATION_PRIOR`).
RECENCY_PRIOR = 10.0


def bucket_moves(R: int, repeat: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Where each bucket goes next month: ``after_buy[b]`` for a customer who buys, ``after_none[b]`` for one
    who does not. The last bucket is where new customers start (never bought).

    Without ``repeat``, ``R + 1`` buckets: months since the last purchase, less one, up to ``R`` (``R`` also
    for never). With ``repeat``, ``2 R + 3``: ``0 .. R`` a customer who bought once, ``R + 1 .. 2 R + 1`` one
    who bought twice or more (each by months since the last purchase), ``2 R + 2`` never bought -- a one-time
    buyer's next month is not a regular's.

    Examples
    --------
    >>> [a.tolist() for a in bucket_moves(1)]
    [[0, 0], [1, 1]]
    >>> [a.tolist() for a in bucket_moves(1, repeat=True)]
    [[2, 2, 2, 2, 0], [1, 1, 3, 3, 4]]
    """
    if not repeat:
        return np.zeros(R + 1, dtype=np.int64), np.minimum(np.arange(R + 1) + 1, R)
    tier = np.minimum(np.arange(R + 1) + 1, R)
    after_none = np.r_[tier, R + 1 + tier, 2 * R + 2]
    after_buy = np.r_[np.full(2 * R + 2, R + 1), 0]
    return after_buy.astype(np.int64), after_none.astype(np.int64)


def n_buckets(R: int, repeat: bool = False) -> int:
    """The number of purchase buckets (:func:`bucket_moves`)."""
    return 2 * R + 3 if repeat else R + 1


def purchase_recency(
    frame: pd.DataFrame, rev: np.ndarray, R: int, repeat: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's purchase bucket (:func:`bucket_moves`) before the row's month, and whether it is known.

    Without ``repeat``: the months since its customer's last purchase before the row's month, less one, capped
    at ``R`` (``R`` also for never). With ``repeat`` the bucket tells one purchase from two or more as well.

    ``frame``: the model's codes ``c, m`` sorted by customer and month; ``rev``: each row's revenue (a purchase
    is a month with revenue). A customer there in the data's first month may have bought before it: until a
    purchase is seen their bucket is known only once it is ``R`` whatever came before. With ``repeat`` their
    purchases are counted from what is seen, one at least (their bucket is known once two are seen).
    """
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
    if not repeat:
        return k, seen | ~censored | (m - m.min() >= R)
    # purchases before the row's month, customer by customer
    total = np.cumsum(bought) - bought
    n = total - total[start]
    # one already there with no purchase seen has bought before, unseen: once (at least), long ago
    b = np.where((n == 0) & ~censored, 2 * R + 2, np.where(n <= 1, k, R + 1 + k))
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
    repeat: bool = False,
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
    repeat : bool
        Tell a customer who bought once from one who bought twice or more (:func:`bucket_moves`).

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
    k, known = purchase_recency(frame, rev, R, repeat)
    B = n_buckets(R, repeat)
    cell = (s * B + k)[known]
    r_buy = _tally(cell, bought[known], buy[g, s][known], n_s * B).reshape(n_s, B)
    r_rev = _tally(cell, np.asarray(rev, dtype=float)[known], revenue_mean[g, s][known], n_s * B).reshape(n_s, B)
    return buy, r_buy, r_rev


def start_by_recency(
    frame: pd.DataFrame, rev: np.ndarray, d: np.ndarray, shape: tuple[int, int, int, int], repeat: bool = False
) -> np.ndarray:
    """Customers in the latest month by segment, stage, months in the stage ``d`` and purchase bucket *after*
    the month (its purchases counted), ``(segment, stage, durations, buckets)``: the forecast's start. A
    customer there from the data's first month counts the purchases seen.

    Examples
    --------
    >>> f = pd.DataFrame({"c": [0, 0, 1, 1], "m": [5, 6, 5, 6], "s": 1, "g": 0})
    >>> start_by_recency(f, np.array([0.0, 5.0, 3.0, 0.0]), np.array([0, 1, 0, 1]), (1, 2, 2, 3))[0, 1].tolist()
    [[0.0, 0.0, 0.0], [1.0, 1.0, 0.0]]
    """
    R = (shape[3] - 3) // 2 if repeat else shape[3] - 1
    k, _ = purchase_recency(frame, rev, R, repeat)
    now = (frame["m"] == frame["m"].max()).to_numpy()
    after_buy, after_none = bucket_moves(R, repeat)
    after = np.where(np.asarray(rev)[now] > 0, after_buy[k[now]], after_none[k[now]])
    out = np.zeros(shape)
    np.add.at(out, (frame["g"].to_numpy()[now], frame["s"].to_numpy()[now], d[now], after), 1)
    return out


def recency_step(x: np.ndarray, buy: np.ndarray, spare: np.ndarray | None = None, repeat: bool = False) -> np.ndarray:
    """A month of purchases, in place: the customers ``x (..., buckets, stage)`` who buy (chance ``buy``,
    broadcast to ``x``) start next month in their bucket's ``after_buy``, the others in its ``after_none``
    (:func:`bucket_moves`: a month older, up to ``R``). Returns ``x``; ``spare``, an array like ``x`` to work
    in (a forecast's counts are tens of MB: fresh memory every month costs more than the arithmetic).

    Examples
    --------
    >>> recency_step(np.array([[10.0], [10.0], [10.0]]), np.array([[0.5], [0.2], [0.1]]))[:, 0].tolist()
    [8.0, 5.0, 17.0]
    >>> x = np.array([[10.0], [10.0], [10.0], [10.0], [10.0]])  # once (R = 1), twice or more, never
    >>> recency_step(x, np.full((5, 1), 0.5), repeat=True)[:, 0].tolist()
    [5.0, 10.0, 20.0, 10.0, 5.0]
    """
    bought = np.multiply(x, buy, out=spare)
    x -= bought
    B = x.shape[-2]
    tiers = [(0, (B - 3) // 2), ((B - 1) // 2, B - 2)] if repeat else [(0, B - 1)]
    for lo, hi in tiers:  # a month older, up to the tier's last bucket
        if hi > lo:
            x[..., hi, :] += x[..., hi - 1, :]
            for j in range(hi - 1, lo, -1):
                x[..., j, :] = x[..., j - 1, :]
            x[..., lo, :] = 0.0
    if repeat:  # a first purchase: once, last month; any other: twice or more, last month
        x[..., 0, :] += bought[..., B - 1, :]
        x[..., (B - 1) // 2, :] += bought[..., : B - 1, :].sum(axis=-2)
    else:
        x[..., 0, :] += bought.sum(axis=-2)
    return x
