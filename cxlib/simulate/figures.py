"""Figures of simulated scenarios: fan charts of a metric over time and the future state by stage.

Examples
--------
>>> import pandas as pd
>>> results = pd.DataFrame({"scenario": ["baseline", "plan"], "month": [1, 1], "metric": ["revenue"] * 2,
...                         "mean": [10.0, 12.0], "p5": [9.0, 11.0], "p95": [11.0, 13.0],
...                         "diff_mean": [0.0, 2.0], "diff_p5": [0.0, 1.0], "diff_p95": [0.0, 3.0]})
>>> fig = fan_chart(results)
>>> [t.name for t in fig.data], fig.layout.title.text
(['plan 5-95%', 'plan'], 'Revenue against the baseline by month (5-95% band)')
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from cxlib.schema import PALETTE, stage_label

__all__ = ["arrivals_figure", "backtest_figure", "fan_chart", "future_state_figure"]


def fan_chart(results: pd.DataFrame, metric: str = "revenue", difference: bool = True) -> go.Figure:
    """A fan chart per scenario: the mean and the 5-95% band of ``metric`` (or its difference to baseline)."""
    fig = go.Figure()
    pre = "diff_" if difference else ""
    rows = results[results["metric"] == metric]
    if difference:
        rows = rows[rows["scenario"] != "baseline"]
    # a colour of its own for each scenario, its band in the same colour (plotly's cycle of 10 colours, one per
    # trace, gave a band another scenario's colour and the sixth scenario the first one's)
    for i, (name, d) in enumerate(rows.groupby("scenario", sort=False)):
        x, colour = d["month"].tolist(), PALETTE[i % len(PALETTE)]
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=d[f"{pre}p95"].tolist() + d[f"{pre}p5"].tolist()[::-1],
                fill="toself",
                fillcolor=colour,
                opacity=0.2,
                line={"width": 0, "color": colour},
                name=f"{name} 5-95%",
                showlegend=False,
            )
        )
        fig.add_trace(
            go.Scatter(x=x, y=d[f"{pre}mean"], mode="lines+markers", name=name, line={"color": colour})
        )
    what = _metric_words(metric) + (" against the baseline" if difference else "")
    fig.update_layout(title=f"{what} by month (5-95% band)", xaxis_title="month ahead", yaxis_title=what)
    return fig


def _metric_words(metric: str) -> str:
    """A metric of :func:`~cxlib.simulate.simulate` in words: ``cumulative_revenue`` -> "Cumulative revenue",
    ``customers:at_risk`` -> "Customers in At risk"."""
    if metric.startswith("customers:"):
        return f"Customers in {stage_label(metric.split(':', 1)[1])}"
    return metric.replace("_", " ").capitalize()


def future_state_figure(results: pd.DataFrame, scenario: str, month: int | None = None) -> go.Figure:
    """Customers per stage now-forward: the baseline beside ``scenario`` at ``month`` (default: the last)."""
    month = int(results["month"].max()) if month is None else month
    d = results[(results["month"] == month) & results["metric"].str.startswith("customers:")]
    fig = go.Figure()
    for name in ("baseline", scenario):
        x = d[d["scenario"] == name]
        fig.add_trace(
            go.Bar(
                x=[stage_label(m) for m in x["metric"].str.removeprefix("customers:")],
                y=x["mean"],
                name=name,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": x["p95"] - x["mean"],
                    "arrayminus": x["mean"] - x["p5"],
                },
            )
        )
    fig.update_layout(barmode="group", title=f"Customers at each stage in month {month}: current vs future journey")
    return fig


def backtest_figure(bt: pd.DataFrame) -> go.Figure:
    """Revenue by month: what happened, the journey model's forecast with its 5-95% band, and the other
    forecasts of :func:`~cxlib.simulate.backtest`."""
    m = bt[bt["period"] == "month"]
    fig = go.Figure()
    # each forecast its own colour, the journey model's band in the journey model's
    colours = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(m["model"].drop_duplicates())}
    jm = m[m["model"] == "journey model"]
    x = jm["month_start"].tolist()
    if jm["p5"].notna().all() and len(jm):
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=jm["p95"].tolist() + jm["p5"].tolist()[::-1],
                fill="toself",
                fillcolor=colours["journey model"],
                opacity=0.2,
                line={"width": 0, "color": colours["journey model"]},
                name="journey model 5-95%",
                showlegend=False,
            )
        )
    for name, d in m.groupby("model", sort=False):
        fig.add_trace(
            go.Scatter(x=d["month_start"], y=d["forecast"], mode="lines", name=name, line={"color": colours[name]})
        )
    actual = m.drop_duplicates("month_start")
    fig.add_trace(
        go.Scatter(x=actual["month_start"], y=actual["actual"], mode="lines+markers", name="what happened",
                   line={"color": "black", "width": 3})
    )
    fig.update_layout(title="Backtest: revenue forecast vs what happened", xaxis_title="month", yaxis_title="revenue")
    return fig


def arrivals_figure(table: pd.DataFrame) -> go.Figure:
    """New customers a month: the observed series and the forecast that continues it
    (:func:`~cxlib.simulate.arrivals_table`); the customers already there when the data starts are named in
    the title, not drawn (they did not arrive then).

    Examples
    --------
    >>> t = pd.DataFrame({"month_start": pd.date_range("2024-01-01", periods=4, freq="MS"),
    ...                   "arrivals": [90.0, 10, 12, 11], "model": "recent", "chosen_by": "backtest",
    ...                   "kind": ["already there", "observed", "observed", "forecast"]})
    >>> [tr.name for tr in arrivals_figure(t).data]
    ['observed', 'forecast']
    """
    fig = go.Figure()
    colours = {"observed": "#7f7f7f", "forecast": "#1f77b4"}
    for kind in ("observed", "forecast"):
        d = table[table["kind"] == kind]
        fig.add_trace(
            go.Bar(
                x=d["month_start"], y=d["arrivals"], name=kind, marker_color=colours[kind],
                hovertemplate="%{x|%B %Y}: %{y:,.0f} new customers<extra>" + kind + "</extra>",
            )
        )  # fmt: skip
    there = table.loc[table["kind"] == "already there", "arrivals"].sum()
    model = table["model"].iloc[0] if len(table) else ""
    how = "chosen by backtest" if len(table) and table["chosen_by"].iloc[0] == "backtest" else "as set"
    fig.update_layout(
        title=f"New customers a month: observed, and the forecast ({model}, {how})<br><sup>{there:,.0f} "
        "customers were already there when the data starts: not arrivals, not drawn</sup>",
        xaxis_title="month",
        yaxis_title="new customers",
        bargap=0.1,
    )
    return fig
