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

__all__ = ["SEASON_MONTHS", "SEASON_PRIOR", "fit_seasons", "seasonal_matrices"]

#: Months of history the model needs before it estimates month-of-year profiles (each month of year twice).
SEASON_MONTHS = 24

#: Pseudo-moves behind every transition multiplier (a prior standard deviation of about 0.2 around 1).
SEASON_PRIOR = 25.0

_PRIOR_SD = 0.2  # of a month-of-year multiplier: the revenue ratios are shrunk as if against this
_MIN_STAY = 0.05  # rows whose customers stay less often than this keep flat moves


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
    n_g, n_s = P.shape[0], P.shape[1]
    c = frame["c"].to_numpy()
    m, s, g = (frame[k].to_numpy().astype(np.int64) for k in ("m", "s", "g"))
    moy = (m - 1) % 12
    # revenue: observed and expected (the flat model's mean of the segment and stage) per stage and month
    obs = np.bincount(s * 12 + moy, weights=rev, minlength=n_s * 12).reshape(n_s, 12)
    exp = np.bincount(s * 12 + moy, weights=revenue_mean[g, s], minlength=n_s * 12).reshape(n_s, 12)
    r_rev = np.ones((n_s, 12))
    for k in range(n_s):
        on = s == k
        mean = rev[on].mean() if on.any() else 0.0
        if mean <= 0:
            continue
        cv2 = rev[on].var() / mean**2
        pseudo = cv2 / _PRIOR_SD**2 * mean  # revenue the prior is worth
        den = exp[k] + pseudo  # 0 in a month with no customer in the stage (and constant revenue: no prior)
        r_rev[k] = np.where(den > 0, (obs[k] + pseudo) / np.where(den > 0, den, 1.0), 1.0)
    # moves: observed per (from, to, month of year of the month the move starts in) and expected from the
    # customers in ``from`` then
    same = (c[1:] == c[:-1]) & (m[1:] == m[:-1] + 1)
    a, b, gg, mm = s[:-1][same], s[1:][same], g[:-1][same], moy[:-1][same]
    moved = np.bincount((a * n_s + b) * 12 + mm, minlength=n_s * n_s * 12).reshape(n_s, n_s, 12)
    there = np.bincount((gg * n_s + a) * 12 + mm, minlength=n_g * n_s * 12).reshape(n_g, n_s, 12)
    expected = np.einsum("gak,gab->abk", there, P)
    r_move = (moved + SEASON_PRIOR) / (expected + SEASON_PRIOR)
    stay = np.diagonal(moved.sum(axis=2)) / np.maximum(moved.sum(axis=(1, 2)), 1)
    r_move[stay < _MIN_STAY] = 1.0
    r_move[np.arange(n_s), np.arange(n_s)] = 1.0
    return r_rev, r_move


def seasonal_matrices(T: np.ndarray, r_move: np.ndarray, moy: int) -> np.ndarray:
    """Matrices ``T (..., from, to)`` in calendar month ``moy`` (0 is January): each move times its multiplier,
    the stay probability taking up the difference (see the module docstring)."""
    R = r_move[:, :, moy]
    n_s = R.shape[0]
    eye = np.eye(n_s, dtype=bool)
    moves = np.where(eye, 0.0, T * R)
    out_sum = moves.sum(axis=-1, keepdims=True)
    over = out_sum > 1.0
    moves = np.where(over, moves / np.where(over, out_sum, 1.0), moves)
    stay = np.clip(1.0 - moves.sum(axis=-1), 0.0, None)
    return moves + eye * stay[..., None]
