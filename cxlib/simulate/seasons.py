"""Month-of-year seasons in the journey model: revenue per customer-month and transition rates by calendar month.

With two years of history or more (:data:`SEASON_MONTHS`), :func:`fit_seasons` estimates

- a revenue multiplier per stage and calendar month: the revenue observed in that stage and month of year over
  what the flat model expects there (its stage means, for the segments that were there);
- a transition multiplier per move (``from != to``) and calendar month of the month the move starts in: the
  moves observed over the moves the flat model expects from the customers who were in ``from``.

Each ratio is shrunk toward 1 by the data behind it: ``(observed + k) / (expected + k)`` with ``k``
pseudo-observations (:data:`SEASON_PRIOR` moves; for revenue, the customer-months that make the ratio's
sampling variance equal the prior's), so a thin month stays nearly flat and nothing explodes. Rows a customer
rarely stays in (``purchase -> onboarding``) keep their moves flat: the stay probability absorbs the change,
and there is none to absorb it. With less history the profiles are all ones (flat).

:func:`seasonal_matrices` applies a calendar month's transition multipliers to matrices ``(..., from, to)``:
each move is multiplied and the stay probability takes up the difference (a row is rescaled only if the
moves would exceed one).

Examples
--------
>>> import numpy as np
>>> T = np.array([[[0.8, 0.2], [0.0, 1.0]]])
>>> R = np.ones((2, 2, 12)); R[0, 1, 11] = 1.5  # the move 0 -> 1 half as likely again in December
>>> seasonal_matrices(T, R, 11)[0].tolist()
[[0.7, 0.30000000000000004], [0.0, 1.0]]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "CYCLE_MONTHS",
    "SEASON_MONTHS",
    "SEASON_PRIOR",
    "arrival_cycle",
    "cycle_words",
    "fit_cycle",
    "fit_seasons",
    "fit_year_seasons",
    "seasonal_matrices",
    "seasonal_rows",
    "swing_words",
]

#: Months of history the model needs before it estimates month-of-year profiles (each month of year twice).
SEASON_MONTHS = 24

#: Months of history from which the model fits a smooth yearly cycle instead (:func:`fit_year_seasons`).
CYCLE_MONTHS = 12

#: Pseudo-moves behind every transition multiplier (a prior standard deviation of about 0.2 around 1).
SEASON_PRIOR = 25.0

_PRIOR_SD = 0.2  # of a month-of-year multiplier: the revenue ratios are shrunk as if against this
_MIN_STAY = 0.05  # rows whose customers stay less often than this keep flat moves
_CYCLE_MIN_POINTS = 8  # months with data a yearly cycle needs (four parameters)


def fit_seasons(
    frame: pd.DataFrame, P: np.ndarray, revenue_mean: np.ndarray, rev: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Month-of-year multipliers: revenue ``(stage, 12)`` and transitions ``(from, to, 12)`` (January first).

    Parameters
    ----------
    frame : DataFrame
        The model's panel codes ``c, m, s, g`` sorted by customer and month (``m``: months since year 0).
    P : ndarray (segment, from, to)
        The flat model's transition matrices.
    revenue_mean : ndarray (segment, stage)
        The flat model's revenue per customer-month.
    rev : ndarray
        Revenue of each row of ``frame`` (in ``frame``'s order).

    Examples
    --------
    >>> f = pd.DataFrame({"c": [0, 0, 1, 1], "m": [24289, 24290, 24289, 24290], "s": [0, 1, 0, 0], "g": 0})
    >>> r_rev, r_move = fit_seasons(f, np.array([[[0.5, 0.5], [0.0, 1.0]]]), np.zeros((1, 2)), np.zeros(4))
    >>> r_rev.shape, r_move.shape, float(r_move[0, 1, 0])  # one move seen where one was expected: 1
    ((2, 12), (2, 2, 12), 1.0)
    """
    n_s = P.shape[1]
    s = frame["s"].to_numpy().astype(np.int64)
    t = _Tallies(frame, P, revenue_mean, rev, (frame["m"].to_numpy().astype(np.int64) - 1) % 12, 12)
    r_rev = np.ones((n_s, 12))
    for k in range(n_s):
        on = s == k
        mean = rev[on].mean() if on.any() else 0.0
        if mean <= 0:
            continue
        cv2 = rev[on].var() / mean**2
        pseudo = cv2 / _PRIOR_SD**2 * mean  # revenue the prior is worth
        den = t.exp[k] + pseudo  # 0 in a month with no customer in the stage (and constant revenue: no prior)
        r_rev[k] = np.where(den > 0, (t.obs[k] + pseudo) / np.where(den > 0, den, 1.0), 1.0)
    r_move = (t.moved + SEASON_PRIOR) / (t.expected + SEASON_PRIOR)
    r_move[t.stay < _MIN_STAY] = 1.0
    r_move[np.arange(n_s), np.arange(n_s)] = 1.0
    return r_rev, r_move


class _Tallies:
    """Observed and expected revenue ``(stage, key)``, customer-months ``(stage, key)`` and moves observed and
    expected ``(from, to, key)`` by a key of each row (the month of year, or the month's position), and how
    often each row's customers stay (``stay``, by from-stage)."""

    def __init__(
        self, frame: pd.DataFrame, P: np.ndarray, revenue_mean: np.ndarray, rev: np.ndarray, key: np.ndarray, n_k: int
    ) -> None:
        n_g, n_s = P.shape[0], P.shape[1]
        c = frame["c"].to_numpy()
        m, s, g = (frame[k].to_numpy().astype(np.int64) for k in ("m", "s", "g"))
        # revenue: observed and expected (the flat model's mean of the segment and stage) per stage and key
        self.obs = np.bincount(s * n_k + key, weights=rev, minlength=n_s * n_k).reshape(n_s, n_k)
        self.exp = np.bincount(s * n_k + key, weights=revenue_mean[g, s], minlength=n_s * n_k).reshape(n_s, n_k)
        self.months = np.bincount(s * n_k + key, minlength=n_s * n_k).reshape(n_s, n_k)
        # moves: observed per (from, to, key of the month the move starts in) and expected from the customers in
        # ``from`` then
        same = (c[1:] == c[:-1]) & (m[1:] == m[:-1] + 1)
        a, b, gg, kk = s[:-1][same], s[1:][same], g[:-1][same], key[:-1][same]
        moved = np.bincount((a * n_s + b) * n_k + kk, minlength=n_s * n_s * n_k).reshape(n_s, n_s, n_k)
        there = np.bincount((gg * n_s + a) * n_k + kk, minlength=n_g * n_s * n_k).reshape(n_g, n_s, n_k)
        self.moved, self.expected = moved, np.einsum("gak,gab->abk", there, P)
        self.stay = np.diagonal(moved.sum(axis=2)) / np.maximum(moved.sum(axis=(1, 2)), 1)


def seasonal_matrices(T: np.ndarray, r_move: np.ndarray, moy: int) -> np.ndarray:
    """Matrices ``T (..., from, to)`` in calendar month ``moy`` (0 is January): each move times its multiplier,
    the stay probability taking up the difference (see the module docstring): :func:`seasonal_rows` of every
    row."""
    return seasonal_rows(T, r_move, moy, np.arange(T.shape[-2]))


def seasonal_rows(rows: np.ndarray, r_move: np.ndarray, key: int, stages: np.ndarray) -> np.ndarray:
    """Some rows of :func:`seasonal_matrices`: ``rows (..., row, to)`` are rows of ``T`` from the stages
    ``stages`` (one per row); each is made exactly as :func:`seasonal_matrices` makes it, so that a forecast can
    remake only the rows a lever changed.

    Examples
    --------
    >>> T = np.array([[[0.8, 0.2], [0.1, 0.9]]])
    >>> R = np.ones((2, 2, 12)); R[0, 1, 11] = 1.5; R[1, 0, 11] = 2.0
    >>> rows = seasonal_rows(T[:, [1, 0]], R, 11, np.array([1, 0]))
    >>> bool((rows == seasonal_matrices(T, R, 11)[:, [1, 0]]).all())
    True
    """
    k = np.arange(len(stages))
    R = r_move[stages, :, key]  # (row, to)
    R[k, stages] = 0.0  # the moves only: the stay is what they leave
    moves = rows * R
    out_sum = moves.sum(axis=-1, keepdims=True)
    over = out_sum > 1.0
    if over.any():
        np.divide(moves, out_sum, out=moves, where=over)
        out_sum = np.minimum(out_sum, 1.0)
    moves[..., k, stages] = np.clip(1.0 - out_sum[..., 0], 0.0, None)
    return moves


# --- one year: a smooth yearly cycle, shrunk by the noise -------------------------------------------------------


def fit_cycle(y: np.ndarray, w: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, float, float]:
    """A smooth yearly cycle in a monthly log series, separated from its level and linear trend.

    Weighted least squares of ``y`` on a level, a linear trend in ``t`` and the first harmonic of the month of
    year (``cos`` and ``sin`` of ``2 pi moy / 12``; four parameters, identifiable from 8 months or more). The
    harmonic's two coefficients ``h`` have a covariance ``V`` (the weights' sampling variance, scaled up by the
    residuals' overdispersion when the months scatter more than the weights say); the cycle is shrunk toward
    flat by ``max(0, 1 - trace(V) / |h|^2)``: the share of its squared amplitude that is more than the noise
    would give (an empirical-Bayes normal prior on ``h``). Pure noise is shrunk to about nothing; a cycle
    several standard errors wide is kept nearly whole.

    Parameters
    ----------
    y : ndarray
        The log series (e.g. log of observed over expected), one value per month.
    w : ndarray
        Weights: the inverse sampling variance of each ``y`` (0: no data that month).
    t : ndarray of int
        Months since year 0 (``year * 12 + month``) of each value: the trend's time and the month of year.

    Returns
    -------
    profile : ndarray (12,)
        The shrunk cycle on the log scale, January first (not normalised).
    shrink : float
        The factor applied (0: flat, 1: the fitted cycle whole).
    amplitude : float
        The fitted cycle's amplitude before shrinking, ``|h|`` (about the relative swing above and below).

    Examples
    --------
    >>> t = np.arange(24289, 24301)  # January to December of one year
    >>> y = 0.3 * np.cos(2 * np.pi * ((t - 1) % 12 - 11) / 12) + 0.01 * (t - t[0])  # December peak and a trend
    >>> profile, shrink, amplitude = fit_cycle(y, np.full(12, 1e4), t)
    >>> int(np.argmax(profile)) + 1, round(shrink, 2), round(amplitude, 2)
    (12, 1.0, 0.3)
    >>> fit_cycle(np.random.default_rng(0).normal(0, 0.1, 12), np.full(12, 100.0), t)[1]  # noise: flat
    0.0
    """
    ok = (w > 0) & np.isfinite(y)
    flat = (np.zeros(12), 0.0, 0.0)
    if ok.sum() < _CYCLE_MIN_POINTS:
        return flat
    y, w, t = y[ok], w[ok], t[ok].astype(float)
    angle = 2 * np.pi * ((t - 1) % 12) / 12
    X = np.column_stack([np.ones(len(t)), (t - t.mean()) / 12, np.cos(angle), np.sin(angle)])
    XtW = X.T * w
    try:
        cov = np.linalg.inv(XtW @ X)
    except np.linalg.LinAlgError:
        return flat
    beta = cov @ (XtW @ y)
    resid = y - X @ beta
    overdispersion = max(1.0, float((w * resid**2).sum() / (len(y) - X.shape[1])))
    h, V = beta[-2:], overdispersion * cov[-2:, -2:]
    amp2 = float(h @ h)
    shrink = max(0.0, 1.0 - float(np.trace(V)) / amp2) if amp2 > 0 else 0.0
    moy = 2 * np.pi * np.arange(12) / 12
    return shrink * (h[0] * np.cos(moy) + h[1] * np.sin(moy)), shrink, float(np.sqrt(amp2))


def fit_year_seasons(
    frame: pd.DataFrame, P: np.ndarray, revenue_mean: np.ndarray, rev: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Month-of-year multipliers from 12 to 23 months of history (each calendar month seen once or twice):
    a smooth yearly cycle of revenue and of each move, by :func:`fit_cycle`.

    Each month's ratio of observed to expected (as in :func:`fit_seasons`, but per month of the history rather
    than per month of year) is what the cycle is fitted to; each profile is scaled so that over the fitted
    months it leaves the flat model's total where it was (the flat model keeps its level; the cycle says how
    it spreads over the calendar).

    - Revenue: one calendar cycle, from the month's revenue over what the flat model expects from the
      customers in each stage then (level, trend and cycle: :func:`fit_cycle`). One year is too short to tell
      a stage's own cycle from its trend, the more so for stages that fill up during the year, so each stage
      takes the cycle times a *loading* fitted on its own months (its level and the loading; shrunk by its
      noise like the cycle, never below 0): a stage whose revenue does not follow the calendar (a first order's
      value) keeps flat, one that swings more than the total (repeat orders) swings more.
    - Moves: each move its own cycle (level, trend and cycle), keyed by the month the move starts in.

    Weights are the inverse of each month's sampling variance (revenue: customer-months times the stage's
    variance of revenue per customer-month; moves: the expected moves).

    Returns
    -------
    revenue_season : ndarray (stage, 12)
    transition_season : ndarray (from, to, 12)
    summary : dict
        ``shrink`` and ``amplitude`` of the revenue cycle (see :func:`fit_cycle`) and each earning stage's
        ``loading``.

    Examples
    --------
    >>> f = pd.DataFrame({"c": [0, 0, 1, 1], "m": [24289, 24290, 24289, 24290], "s": [0, 1, 0, 0], "g": 0})
    >>> r_rev, r_move, _ = fit_year_seasons(f, np.array([[[0.5, 0.5], [0.0, 1.0]]]), np.zeros((1, 2)), np.zeros(4))
    >>> float(r_rev.max()), float(r_move.max())  # two months: too short for a cycle, flat
    (1.0, 1.0)
    """
    n_s = P.shape[1]
    m = frame["m"].to_numpy().astype(np.int64)
    first = int(m.min())
    n_k = int(m.max()) - first + 1
    t = np.arange(first, first + n_k)
    tal = _Tallies(frame, P, revenue_mean, rev, m - first, n_k)
    r_rev, r_move = np.ones((n_s, 12)), np.ones((n_s, n_s, 12))
    s = frame["s"].to_numpy()
    var = np.array([rev[s == k].var() if (s == k).any() else 0.0 for k in range(n_s)])
    obs, exp = tal.obs.sum(axis=0), tal.exp.sum(axis=0)
    noise = (tal.months * var[:, None]).sum(axis=0)  # the variance of the month's revenue
    y, w = _log_ratio(obs, exp, noise)
    cycle, shrink, amp = fit_cycle(y, w, t)
    summary = {"shrink": shrink, "amplitude": amp, "loading": {}}
    for k in np.nonzero((tal.obs.sum(axis=1) > 0) & (var > 0))[0]:
        y, w = _log_ratio(tal.obs[k], tal.exp[k], tal.months[k] * var[k])
        summary["loading"][int(k)] = loading = _loading(y, w, cycle[(t - 1) % 12])
        r_rev[k] = _level(loading * cycle, tal.exp[k], t)
    for a, b in zip(*np.nonzero(~np.eye(n_s, dtype=bool)), strict=True):
        e = tal.expected[a, b]
        if tal.stay[a] < _MIN_STAY or e.sum() <= 0:
            continue
        profile, _, _ = fit_cycle(np.log((tal.moved[a, b] + 0.5) / (e + 0.5)), np.where(e > 0, e, 0.0), t)
        r_move[a, b] = _level(profile, e, t)
    return r_rev, r_move, summary


def _log_ratio(obs: np.ndarray, exp: np.ndarray, variance: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log(obs / exp)`` per month and its weight ``exp^2 / variance`` (0 where a month has no data)."""
    ok = (obs > 0) & (exp > 0) & (variance > 0)
    y = np.log(np.where(ok, obs, 1.0) / np.where(ok, exp, 1.0))
    return y, np.where(ok, exp**2 / np.where(ok, variance, 1.0), 0.0)


def _loading(y: np.ndarray, w: np.ndarray, c: np.ndarray) -> float:
    """How much a series follows the cycle ``c`` (both on the log scale, one value per month): weighted least
    squares of ``y`` on a level and ``c``, the slope shrunk by its noise as in :func:`fit_cycle`
    (``b max(0, 1 - var(b) / b^2)``); 0 with fewer than 4 months of data, no cycle, or a slope below 0 (a
    stage's spending does not run against the company's calendar; what looks like it in one year is its own
    drift, as in a closed cohort, where every stage ages with the calendar)."""
    ok = w > 0
    if ok.sum() < 4 or np.ptp(c[ok]) == 0:
        return 0.0
    y, w, c = y[ok], w[ok], c[ok]
    X = np.column_stack([np.ones(len(y)), c])
    XtW = X.T * w
    cov = np.linalg.inv(XtW @ X)
    beta = cov @ (XtW @ y)
    overdispersion = max(1.0, float((w * (y - X @ beta) ** 2).sum() / (len(y) - 2)))
    b, v = float(beta[1]), overdispersion * float(cov[1, 1])
    return b * max(0.0, 1.0 - v / b**2) if b > 0 else 0.0


def _level(profile: np.ndarray, weight: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``exp(profile)`` scaled so that its mean over the months ``t``, weighted by ``weight``, is 1."""
    p = np.exp(profile)
    w = weight.sum()
    return p / ((weight * p[(t - 1) % 12]).sum() / w) if w > 0 else p


def arrival_cycle(series: np.ndarray, last: int) -> tuple[np.ndarray, float]:
    """Month-of-year multipliers of new customers ``(12,)`` (January first, mean 1) from one year or more of
    the arrival series, by :func:`fit_cycle` on ``log(arrivals + 0.5)`` (Poisson weights; the trend is the
    company's growth), and the shrink factor. ``series`` is oldest first, NaN where censored; ``last`` is its
    latest month in months since year 0.

    Examples
    --------
    >>> t = np.arange(24289, 24301)
    >>> s = 100 * (1 + 0.4 * np.cos(2 * np.pi * ((t - 1) % 12 - 11) / 12))
    >>> profile, shrink = arrival_cycle(s, int(t[-1]))
    >>> int(np.argmax(profile)) + 1, bool(shrink > 0.9)
    (12, True)
    """
    s = np.asarray(series, dtype=float)
    t = np.arange(last - len(s) + 1, last + 1)
    ok = np.isfinite(s)
    y = np.log(np.where(ok, s, 0.0) + 0.5)
    profile, shrink, _ = fit_cycle(y, np.where(ok, s + 0.5, 0.0), t)
    p = np.exp(profile)
    return p / p.mean(), shrink


def swing_words(profile: pd.Series | np.ndarray) -> str:
    """A month-of-year profile in words: ``±18%, peak in month 12`` or ``flat``.

    Examples
    --------
    >>> swing_words([1.0] * 11 + [1.36]), swing_words(np.ones(12))
    ('±18%, peak in month 12', 'flat')
    """
    p = np.asarray(profile, dtype=float)
    half = (p.max() - p.min()) / 2
    return f"±{half:.0%}, peak in month {int(np.argmax(p)) + 1}" if half >= 0.005 else "flat"


def cycle_words(
    n: int, profile: pd.DataFrame | None, summary: dict, arrivals: np.ndarray, arrival_shrink: float
) -> str:
    """The yearly cycle :func:`fit_year_seasons` and :func:`arrival_cycle` fitted from ``n`` months, in words
    (``profile``: :meth:`~cxlib.simulate.JourneyModel.season_profile`; ``None`` when the cycle came out flat).

    Examples
    --------
    >>> cycle_words(14, None, {}, np.ones(12), 0.0)[:48]
    'flat: 14 months of history show no yearly cycle '
    """
    if profile is None:
        return (
            f"flat: {n} months of history show no yearly cycle beyond the month-to-month noise "
            f"(every month of the year its own needs {SEASON_MONTHS})"
        )
    moves = len(profile.columns) - 1
    return (
        f"yearly cycle from {n} months of history (one smooth cycle, trend apart, shrunk toward flat by its "
        f"noise; every month of the year its own needs {SEASON_MONTHS}): revenue {swing_words(profile['revenue'])} "
        f"(the total's cycle ±{summary['amplitude']:.0%} kept at {summary['shrink']:.0%}), arrivals "
        f"{swing_words(arrivals)} (kept at {arrival_shrink:.0%}), {moves} move(s) changed by more than 5% in "
        "some month"
    )
