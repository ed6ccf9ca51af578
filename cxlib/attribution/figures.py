"""Figures of the attribution models."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cxlib.attribution.paths import NO_TOUCH
from cxlib.schema import name_words

#: How the chart names the orders with no touchpoint inside the lookback (:data:`NO_TOUCH` in the paths).
NO_TOUCH_WORDS = "no touchpoint before the order"


def in_words(comparison: pd.DataFrame) -> pd.DataFrame:
    """:func:`compare`'s rows with the orders that had no touchpoint in the lookback named so (the paths call
    them :data:`NO_TOUCH`, "(none)", which reads as a channel called none), for the charts and tables shown.

    Examples
    --------
    >>> in_words(pd.DataFrame({"channel": ["email", NO_TOUCH]}))["channel"].tolist()
    ['email', 'no touchpoint before the order']
    """
    return comparison.assign(channel=comparison["channel"].replace({NO_TOUCH: NO_TOUCH_WORDS}))


def compare_figure(
    comparison: pd.DataFrame, y: str = "value", title: str = "Attributed value by channel and model"
) -> go.Figure:
    """A grouped bar chart of :func:`compare`: one bar per model for each channel (``y``: value or conversions).

    Examples
    --------
    >>> import pandas as pd
    >>> from cxlib.attribution import compare
    >>> paths = pd.DataFrame({"path": ["a > b"], "conversions": [1], "value": [10.0], "nulls": [0]})
    >>> fig = compare_figure(compare(paths))
    >>> [t.name for t in fig.data][:3]
    ['markov', 'shapley', 'first touch']
    >>> compare_figure(compare(pd.DataFrame({"path": [NO_TOUCH], "conversions": [1], "value": [5.0],
    ...                                      "nulls": [0]}))).data[0].x.tolist()
    ['no touchpoint before the order']
    """
    if y not in ("value", "conversions"):
        raise ValueError(f"y must be 'value' or 'conversions', not {y!r}")
    fig = go.Figure()
    for model, block in comparison.groupby("model", sort=False):
        fig.add_trace(go.Bar(x=in_words(block)["channel"], y=block[y], name=name_words(model)))  # "first touch"
    fig.update_layout(
        barmode="group",
        title=title,
        xaxis_title="channel",
        yaxis_title=f"attributed {y}",
        legend_title="model",
        annotations=[
            dict(
                text="Attribution is association, not causal effect.",
                xref="paper",
                yref="paper",
                x=0,
                y=1.06,
                showarrow=False,
                font=dict(size=11),
            )
        ],
    )
    return fig
