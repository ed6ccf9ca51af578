"""Months in a stage: exits that depend on how long a customer has been where they are (a semi-Markov chain).

Stages read from data are defined by what customers did and by how long ago (``cx journeys``: a buyer quiet for
60 days is *at risk*, for 120 *churned*; a prospect quiet for 120 days is *lost*), and a prospect's chance of
buying fades as the lead goes cold. The stage alone does not carry that, so a chain fitted on a company's
early months -- full of fresh leads and new buyers -- under-states churn and over-states conversion once the
company ages: on the demo workspace it forecast the next year's revenue 32% too high.

The journey model therefore keeps, beside the stage, the months spent in it, capped at ``K``
(:data:`DURATION_MONTHS`): ``0`` in the month a customer enters a stage, ``1`` the month after, ... ``K`` for
``K`` or more. Each move ``from -> to`` gets a multiplier per duration, fitted like the month-of-year ones of
:mod:`cxlib.simulate.seasons`: the moves observed from customers ``d`` months into ``from`` over the moves the
flat chain expects from them, ``(observed + k) / (expected + k)``, shrunk toward 1 by :data:`DURATION_PRIOR`
pseudo-customers spread as the flat chain's row (``k`` is their share of the move): each duration's row is
pulled toward its stage's row as a persona's is toward everyone's (:data:`~cxlib.simulate.model.POOL`), so a
rare move -- a buyer going quiet, 2% a month -- can rise fivefold in the rows whose customers take it. A
forecast then tracks each segment and stage by its duration: a stay moves a customer one month on (up to
``K``), a move starts them at ``0`` in the new stage, and arrivals start at ``0``. Levers act on the stage-level
chain, so a lever scales a move at every duration alike.

Runs already under way in the data's first month have an unknown start (left censoring): they take no part in
the fit unless they have lasted ``K`` months by then, and they start a forecast at the duration the data shows
(a lower bound).

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"c": [0, 0, 0, 1, 1], "m": [5, 6, 7, 6, 7], "s": [0, 0, 1, 0, 0], "g": 0})
>>> d, known = stage_durations(f, 3)
>>> d.tolist(), known.tolist()
([0, 1, 0, 0, 1], [False, False, True, True, True])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.simulate.seasons import _MIN_STAY, _Tallies, seasonal_matrices

__all__ = ["DURATION_MONTHS", "DURATION_PRIOR", "duration_matrices", "fit_durations", "stage_durations"]

#: Months in a stage the journey model tells apart (``K``: 0, 1, ..., ``K`` or more), as
#: :func:`~cxlib.simulate.persona_model` fits it: half a year covers the default inactivity windows (60 and 120
#: days) and the first months of a lead, with room for the rows that stay longer.
DURATION_MONTHS = 6

#: Pseudo-customers behind each row of months in a stage, spread as the stage's flat row (the persona pooling's
#: :data:`~cxlib.simulate.model.POOL`). Not a number of pseudo-moves per move, like the month-of-year prior
#: (:data:`~cxlib.simulate.seasons.SEASON_PRIOR`, 25): for a move taken by 2% of a stage's customers a month, 25
#: pseudo-moves are 1,250 pseudo-customers, and the durations that matter -- inactivity windows that empty a
#: stage in a given month -- were kept near the young company's average (see ``docs/strategy.md``).
DURATION_PRIOR = 10.0


def stage_durations(frame: pd.DataFrame, K: int) -> tuple[np.ndarray, np.ndarray]:
    """Months each row's customer has been in its stage (0 in the month they entered it), capped at ``K``, and
    whether that is known (the run did not start in the data's first month, or has lasted ``K`` months).

    ``frame``: the model's codes ``c, m, s`` sorted by customer and month (``m`` in months since year 0). A
    gap in a customer's months starts a new run.
    """
    c, m, s = (frame[k].to_numpy() for k in ("c", "m", "s"))
    if len(c) == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    new = np.r_[True, (c[1:] != c[:-1]) | (m[1:] != m[:-1] + 1) | (s[1:] != s[:-1])]
    start = np.maximum.accumulate(np.where(new, np.arange(len(c)), 0))
    d = (m - m[start]).astype(np.int64)
    known = (m[start] > m.min()) | (d >= K)
    return np.minimum(d, K), known


def fit_durations(frame: pd.DataFrame, P: np.ndarray, K: int, rev: np.ndarray | None = None) -> np.ndarray:
    """Multipliers of each move by the months spent in its from-stage, ``(from, to, K + 1)``.

    Parameters
    ----------
    frame : DataFrame
        The model's panel codes ``c, m, s, g`` sorted by customer and month.
    P : ndarray (segment, from, to)
        The flat chain's transition matrices.
    K : int
        The longest duration told apart (``K`` stands for ``K`` or more).
    rev : ndarray, optional
        Revenue of each row (unused by the moves; kept for the shared tallies).

    Examples
    --------
    >>> f = pd.DataFrame({"c": [0, 0, 1, 1, 1, 1, 2], "m": [6, 7, 6, 7, 8, 9, 5], "s": [0, 1, 0, 0, 0, 1, 1], "g": 0})
    >>> P = np.array([[[0.5, 0.5], [0.0, 1.0]]])  # the flat chain: half of those in stage 0 leave each month
    >>> fit_durations(f, P, 2)[0, 1].round(3).tolist()  # by months in stage 0: 1 of 2, 0 of 1, 1 of 1 left
    [1.0, 0.909, 1.091]
    """
    n_s = P.shape[1]
    d, known = stage_durations(frame, K)
    kept = frame[known]
    if len(kept) == 0:
        return np.ones((n_s, n_s, K + 1))
    r = np.zeros(len(frame)) if rev is None else np.asarray(rev, dtype=float)
    t = _Tallies(kept, P, np.zeros(P.shape[:2]), r[known], d[known], K + 1)
    rows = t.expected.sum(axis=1, keepdims=True)  # customer-months in ``from`` at each duration
    k = DURATION_PRIOR * np.divide(t.expected, rows, out=np.zeros_like(t.expected), where=rows > 0)
    r_move = np.divide(t.moved + k, t.expected + k, out=np.ones_like(k), where=t.expected + k > 0)
    r_move[t.stay < _MIN_STAY] = 1.0
    r_move[np.arange(n_s), np.arange(n_s)] = 1.0
    return r_move


def duration_matrices(T: np.ndarray, r_dur: np.ndarray, d: int) -> np.ndarray:
    """Matrices ``T (..., from, to)`` for customers ``d`` months into their stage: each move times its
    multiplier, the stay taking up the difference (as :func:`~cxlib.simulate.seasons.seasonal_matrices`).

    Examples
    --------
    >>> T = np.array([[0.8, 0.2], [0.0, 1.0]])
    >>> r = np.ones((2, 2, 2)); r[0, 1] = [2.0, 0.5]
    >>> duration_matrices(T, r, 0).round(2).tolist(), duration_matrices(T, r, 1).round(2).tolist()
    ([[0.6, 0.4], [0.0, 1.0]], [[0.9, 0.1], [0.0, 1.0]])
    """
    return seasonal_matrices(T, r_dur, d)

