"""The monthly Markov chain: the true transition matrices and the row arithmetic that changes them.

Every change to a row keeps it a probability distribution: one column is scaled (capped at 1) or raised,
and the rest of the row shrinks in proportion. Draws are by inverse CDF with one uniform per draw, so
that two scenarios fed the same uniforms differ only where their rows differ (common random numbers).

Examples
--------
>>> import numpy as np
>>> _scale_row(np.array([[0.5, 0.5]]), 0, np.array([1.5]))
array([[0.75, 0.25]])
>>> _draw(np.array([[0.2, 0.8], [0.2, 0.8]]), np.array([0.1, 0.5]))
array([0, 1])
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from cxlib.synth.specs import _CHURN_MOVES, _S, LOST, ONB, PERSONA_SPECS, PERSONAS, PUR, STAGES

if TYPE_CHECKING:
    from cxlib.synth.config import Counterfactual, PlantedEffects

__all__ = ["transition_matrices"]


def transition_matrices(scenario: Counterfactual | None = None, effects: PlantedEffects | None = None) -> np.ndarray:
    """The true monthly transition matrices, shape ``(persona, from_stage, to_stage)``.

    ``effects.churn`` scales personas' moves into at_risk and churned before ``scenario`` applies.

    Examples
    --------
    >>> T = transition_matrices()
    >>> T.shape, bool(np.allclose(T.sum(axis=2), 1))
    ((5, 10, 10), True)
    """
    T = np.zeros((len(PERSONAS), len(STAGES), len(STAGES)))
    for p, name in enumerate(PERSONAS):
        for (i, j), prob in PERSONA_SPECS[name]["move"].items():
            T[p, i, j] = prob
        T[p, PUR, ONB] = 1.0
        T[p, LOST, LOST] = 1.0
        for i in range(len(STAGES)):
            T[p, i, i] += 1.0 - T[p, i].sum()
    for name, factor in effects.churn if effects is not None else ():
        p = PERSONAS.index(name)
        for i, j in _CHURN_MOVES:
            T[p, i] = _scale_row(T[p, i][None, :], j, np.array([factor]))[0]
    if scenario is not None:
        for src, dst, factor in scenario.scale:
            rows = [PERSONAS.index(x) for x in (scenario.personas or PERSONAS)]
            for p in rows:
                T[p, _S[src]] = _scale_row(T[p, _S[src]][None, :], _S[dst], np.array([factor]))[0]
    return T


def _scale_row(rows: np.ndarray, j: int, factor: np.ndarray) -> np.ndarray:
    """Multiply column ``j`` of each row by ``factor`` (capped at 1) and rescale the rest to keep sum 1."""
    rows = rows.copy()
    old = rows[:, j].copy()
    new = np.minimum(old * factor, 1.0)
    rest = 1.0 - old
    ratio = np.divide(1.0 - new, rest, out=np.zeros_like(rest), where=rest > 0)
    rows *= ratio[:, None]
    rows[:, j] = new
    return rows


def _add_to(rows: np.ndarray, j: int, delta: float) -> np.ndarray:
    """Add ``delta`` to column ``j`` of each row, taking it proportionally from the others."""
    old = rows[:, j]
    factor = np.divide(np.minimum(old + delta, 1.0), old, out=np.ones_like(old), where=old > 0)
    return _scale_row(rows, j, factor)


def _draw(rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one category per row (common random numbers: one uniform per draw)."""
    cdf = np.cumsum(rows, axis=1)
    return np.minimum((u[:, None] > cdf).sum(axis=1), rows.shape[1] - 1)

