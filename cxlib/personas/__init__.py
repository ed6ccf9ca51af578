"""Personas: behavioural segmentation of unified customers, with profiles people can act on.

Three steps, each usable on its own:

1. :func:`customer_features` -- one row per customer from the unified ``touchpoints`` (and ``customers``,
   and ``customer_stages`` when the journeys step has written it), computed in the engine with Ibis, so
   the same code runs on DuckDB and on Spark. Every feature is described in :data:`FEATURES`.
2. :class:`PersonaModel` -- a scikit-learn estimator: signed-log transform of skewed columns, standard
   scaling, then k-means (or a diagonal Gaussian mixture); the number of personas is chosen over a range
   by a stated criterion (:attr:`PersonaModel.selection_` holds the curve). ``profiles_`` describes each
   persona: size, value, the features that set it apart (effect sizes) and a generated name.
3. :func:`assign` -- the fitted model as an Ibis expression (nearest centroid), so a model fitted on a
   sample labels every customer in the engine; :func:`write_personas` stores the ``personas`` table and the
   fitted model (``persona_model``), with which :func:`personas_as_of` labels customers as they were at an
   earlier instant (a backtest's cutoff).

:func:`value_tiers` splits high-value customers from the rest, by observed revenue or by a predicted
12-month value (BG/NBD + Gamma-Gamma, fitted with scipy); they live in :mod:`cxlib.value` and are
re-exported here.

The package's modules, one step each: :mod:`~cxlib.personas.features`, :mod:`~cxlib.personas.model`
(:class:`PersonaModel`), :mod:`~cxlib.personas.profiles` (effect sizes, :func:`compare_personas`),
:mod:`~cxlib.personas.naming` (distinct names from the features a shop has), :mod:`~cxlib.personas.figures`,
:mod:`~cxlib.personas.assign`, :mod:`~cxlib.personas.evidence`
(:func:`thin_evidence`), :mod:`~cxlib.personas.write` (:func:`write_personas`) and
:mod:`~cxlib.personas.stored` (:func:`personas_as_of`).

Examples
--------
>>> import pandas as pd
>>> from cxlib import personas
>>> tp = pd.DataFrame({
...     "customer_id": ["a", "a", "b"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
...     "table_name": ["orders", "events", "events"],
...     "channel": ["app", "app", "web"],
...     "event": ["order", "app_open", "page_view"],
...     "amount": [20.0, None, None], "revenue": [20.0, None, None], "status": ["completed", None, None],
... })
>>> f = personas.customer_features(tp, as_of="2024-03-01")
>>> f.set_index("customer_id").loc["a", ["frequency", "monetary", "share_app"]].tolist()
[1.0, 20.0, 1.0]
"""

from __future__ import annotations

import importlib
from typing import Any

from cxlib.personas.assign import assign
from cxlib.personas.evidence import MIN_BUYERS, MIN_DAYS, MIN_TO_FIT, thin_evidence
from cxlib.personas.features import FEATURES, MODEL_FEATURES, customer_features
from cxlib.personas.features import _to_pandas as _to_pandas  # used by benchmarks/bench_personas.py
from cxlib.personas.figures import persona_map, profile_heatmap
from cxlib.personas.profiles import compare_personas
from cxlib.value import persona_value_crosstab, predicted_value, value_tiers

#: What needs scikit-learn -- the model, and what fits it or rebuilds it from the workspace -- imported when first
#: asked for: a reader of the stored personas (the report; its "what they stand on" line) does not pay for
#: scikit-learn's import (1.5-2 s of a `cx report`).
_LAZY = {
    "PersonaModel": "model", "MODEL_TABLE": "stored", "personas_as_of": "stored", "stored_model": "stored",
    "PROSPECTS": "write", "write_personas": "write",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f"cxlib.personas.{_LAZY[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'cxlib.personas' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

__all__ = [
    "FEATURES",
    "MIN_BUYERS",
    "MIN_DAYS",
    "MIN_TO_FIT",
    "MODEL_FEATURES",
    "MODEL_TABLE",
    "PROSPECTS",
    "PersonaModel",
    "assign",
    "compare_personas",
    "customer_features",
    "persona_map",
    "persona_value_crosstab",
    "personas_as_of",
    "predicted_value",
    "profile_heatmap",
    "stored_model",
    "thin_evidence",
    "value_tiers",
    "write_personas",
]
