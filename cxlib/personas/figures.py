"""Persona charts: what sets each persona apart (heatmap of effect sizes) and customers on a 2-D map.

Examples
--------
>>> X = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 0.0, 0.1]})
>>> from cxlib.personas.model import PersonaModel
>>> profile_heatmap(PersonaModel(n_personas=2, random_state=0).fit(X)).layout.title.text
"What sets each persona apart (Cohen's d versus the rest)"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlib.schema import name_words

if TYPE_CHECKING:  # the model's module imports scikit-learn: only when one is fitted
    from cxlib.personas.model import PersonaModel

__all__ = ["persona_map", "profile_heatmap"]


def profile_heatmap(model: PersonaModel, features: Sequence[str] | None = None) -> go.Figure:
    """Personas x features, coloured by effect size (Cohen's d versus the rest of the customers).

    ``features`` picks and orders the columns (default: every feature of the profiles). A feature without an
    effect size for any persona -- no data, or the same value for every customer -- is left out: it says
    nothing about the personas.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 0.0, 0.1]})
    >>> from cxlib.personas.model import PersonaModel
    >>> fig = profile_heatmap(PersonaModel(n_personas=2, random_state=0).fit(X))
    >>> fig.data[0].type, list(fig.data[0].x)
    ('heatmap', ['a', 'b'])
    """
    prof = model.profiles_
    cols = [c.removeprefix("d_") for c in prof.columns if c.startswith("d_")]
    if features is not None:
        cols = [c for c in features if c in cols]
    cols = [c for c in cols if prof[f"d_{c}"].notna().any()]
    z = prof[[f"d_{c}" for c in cols]].to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[name_words(c) for c in cols],  # avg order value, as the page's feature picker names it
            y=prof["name"].tolist(),
            zmid=0,
            colorscale="RdBu_r",
            text=np.round(z, 1),
            texttemplate="%{text}",
            colorbar={"title": "effect size (d)"},
        )
    )
    fig.update_layout(title="What sets each persona apart (Cohen's d versus the rest)", yaxis={"autorange": "reversed"})
    return fig


def persona_map(
    features: pd.DataFrame, model: PersonaModel, max_points: int = 5_000, random_state: int = 0
) -> go.Figure:
    """Customers on a 2-D map (the first two principal components of the model's space), by persona.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 0.0, 0.1], "c": [0.0, 1, 0, 1]})
    >>> from cxlib.personas.model import PersonaModel
    >>> fig = persona_map(X, PersonaModel(n_personas=2, random_state=0).fit(X))
    >>> sum(len(t.x) for t in fig.data)
    4
    """
    from sklearn.decomposition import PCA

    if len(features) > max_points:
        features = features.sample(max_points, random_state=random_state)
    Z = model.transform(features)
    labels = model.predict(features)
    pca = PCA(n_components=min(2, Z.shape[1]), random_state=random_state).fit(Z)
    P = pca.transform(Z)
    if P.shape[1] == 1:
        P = np.column_stack([P[:, 0], np.zeros(len(P))])
    names = model.names_
    ids = features["customer_id"].astype(str).to_numpy() if "customer_id" in features else None
    fig = go.Figure()
    for p, name in enumerate(names):
        m = labels == p
        fig.add_trace(
            go.Scattergl(
                x=P[m, 0],
                y=P[m, 1],
                mode="markers",
                name=name,
                marker={"size": 4, "opacity": 0.6},
                text=ids[m] if ids is not None else None,
            )
        )
    ev = pca.explained_variance_ratio_
    fig.update_layout(
        title="Customers by persona (principal components of the model's features)",
        xaxis_title=f"PC1 ({ev[0]:.0%} of variance)",
        yaxis_title=f"PC2 ({ev[1]:.0%} of variance)" if len(ev) > 1 else "PC2",
    )
    return fig
