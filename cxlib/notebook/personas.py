"""The personas page's customers' features and persona model, computed once per server.

Part of :mod:`cxlib.notebook` (which re-exports :func:`persona_features` and :func:`persona_fit`); only the
notebooks use it. Both are kept by :func:`cxlib.notebook.memo`: a second tab, or a control moved back to a
value it had, gets them at once (the features are 2-5 s on the demo, an automatic choice of the number of
personas about 3 CPU s).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from cxlib.notebook import Folder, _path, memo, require

if TYPE_CHECKING:
    import pandas as pd

    from cxlib.personas import PersonaModel

__all__ = ["persona_buyers", "persona_evidence", "persona_features", "persona_fit", "too_few_buyers"]


def persona_features(folder: Folder | str | Path) -> pd.DataFrame:
    """:func:`cxlib.personas.customer_features` of the workspace's known customers (no anonymous ones), kept."""
    return memo(folder, _features, _path(folder))


def _features(path: str) -> pd.DataFrame:
    from cxlib import personas

    return personas.customer_features(require(path, "customers"), anonymous=False)


def persona_buyers(folder: Folder | str | Path) -> pd.DataFrame:
    """The customers with orders among :func:`persona_features`: those a persona model is fitted on."""
    f = persona_features(folder)
    return f[f["frequency"] > 0].reset_index(drop=True)


def persona_evidence(folder: Folder | str | Path) -> str | None:
    """:func:`cxlib.personas.thin_evidence` of the workspace (what personas stand on, when too little), kept."""
    from cxlib import personas

    return memo(folder, personas.thin_evidence, _path(folder))


def too_few_buyers(folder: Folder | str | Path, found: int, needed: int | None = None) -> str:
    """Why the personas page has nothing to fit: no orders loaded (what to add), or too few buyers in them.

    The "were orders loaded?" answer is :func:`cxlib.metrics.has_orders`, as the report and ``cx personas`` use.
    """
    from cxlib import metrics
    from cxlib.personas import MIN_TO_FIT

    needed = MIN_TO_FIT if needed is None else needed
    if not metrics.has_orders(_path(folder)):
        return ("**No orders in this workspace**, so no personas: they are found among customers with orders. Load "
                "the orders or invoice lines (`cx sources` suggests the entry), then `cx load` and `cx unify`.")
    return (f"**Too few customers with orders for personas** ({found:,}; at least {needed}). The orders loaded "
            "cover too few buyers to find groups among: load a longer stretch of orders, then `cx load` and "
            "`cx unify`.")


def persona_fit(folder: Folder | str | Path, features: list[str], n_personas: int | str, method: str) -> PersonaModel:
    """A :class:`cxlib.personas.PersonaModel` (``random_state=0``) fitted on the customers with orders, kept."""
    return memo(folder, _fit, _path(folder), tuple(features), n_personas, method)


def _fit(path: str, features: tuple[str, ...], n_personas: int | str, method: str) -> PersonaModel:
    from cxlib import personas

    model = personas.PersonaModel(n_personas=n_personas, method=method, features=list(features), random_state=0)
    return model.fit(persona_buyers(path))
