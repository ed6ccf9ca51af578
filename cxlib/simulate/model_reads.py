"""What a forecast reads from a fitted :class:`~cxlib.simulate.JourneyModel`, beyond its chain: the calendar of
the forecast months, the multipliers by months in a stage and by months since the last purchase, the purchase
kind and the start counts spread over both. Shared by the expected paths (:mod:`cxlib.simulate.run`) and the
population draws (:mod:`cxlib.simulate.population`).

Examples
--------
>>> import pandas as pd
>>> from cxlib.simulate import JourneyModel
>>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "revenue": [0.0, 10.0, 0.0, 0.0],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
...                   "stage": ["consideration", "purchase", "consideration", "lost"]})
>>> m = JourneyModel(stages=["consideration", "purchase", "lost"], prior=0.0).fit(h)
>>> duration_multipliers(m).shape[:2], purchase_kind(m), forecast_calendar(m, 12) is None
((3, 3), 'recency', True)
"""

from __future__ import annotations

import numpy as np

from cxlib.simulate.model import JourneyModel

__all__ = ["duration_multipliers", "forecast_calendar", "purchase_kind", "recency_arrays", "start_state"]


def forecast_calendar(model: JourneyModel, months: int) -> tuple[np.ndarray, np.ndarray] | None:
    """For a seasonal model: the calendar month (0 is January) each forecast month's moves start in, and the
    revenue multiplier ``(month, stage)`` of each forecast month; ``None`` for a flat model."""
    if not getattr(model, "seasonal_", False):
        return None
    origin = (model.last_month_.month - 1 + np.arange(months)) % 12  # month m moves from month m - 1
    return origin, model.revenue_season_[:, (origin + 1) % 12].T


def duration_multipliers(model: JourneyModel) -> np.ndarray:
    """The model's multipliers of each move by months in its from-stage, ``(from, to, K + 1)`` (one column of
    ones for a plain chain)."""
    n_s = len(model.stages)
    return getattr(model, "transition_duration_", np.ones((n_s, n_s, 1)))


def recency_arrays(model: JourneyModel) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's revenue multipliers by recency bucket ``(recency, stage)`` and the chance of a purchase
    ``(segment, recency, stage)`` (``None`` with one bucket: nothing to age)."""
    r_rev = getattr(model, "recency_revenue_", np.ones((len(model.stages), 1))).T
    if r_rev.shape[0] == 1:
        return r_rev, None
    buy = model.purchase_chance_[:, None, :] * model.recency_purchase_.T[None]
    return r_rev, np.clip(buy, 0.0, 1.0)


def purchase_kind(model: JourneyModel) -> str:
    """What the model's purchase buckets tell apart (:func:`~cxlib.simulate.recency.bucket_moves`)."""
    return getattr(model, "purchase_kind_", "recency")


def start_state(model: JourneyModel, x0: np.ndarray) -> np.ndarray:
    """Start counts ``(segment, stage)`` spread over months in the stage and recency buckets ``(segment, stage,
    K + 1, R + 1)`` as the latest month's customers were (a stage nobody was in: its first month, never
    bought)."""
    D, Rb = duration_multipliers(model).shape[2], recency_arrays(model)[0].shape[0]
    seen = getattr(model, "start_state_", None)
    if seen is None or seen.shape[2:] != (D, Rb):
        seen = np.zeros((*x0.shape, D, Rb))
    seen = seen.reshape(*x0.shape, D * Rb)
    total = seen.sum(axis=2, keepdims=True)
    share = np.where(total > 0, seen / np.where(total > 0, total, 1.0), np.eye(D * Rb)[Rb - 1])
    return (x0[..., None] * share).reshape(*x0.shape, D, Rb)
