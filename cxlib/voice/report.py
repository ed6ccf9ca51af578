"""The "Voice of the customer" section of the standard report (same signature as the sections of
:mod:`cxlib.report.standard`: ``report_section(ws, report, glance)``).

Quotes are redacted when :func:`~cxlib.voice.build` writes them; the report redacts every cell again. The
follow-up list appears only as a count: it names customers.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go

from cxlib.voice.build import MODELLED_LANGUAGES
from cxlib.voice.drivers import NO_OUTCOME, OUTCOMES
from cxlib.voice.language import not_modelled

__all__ = ["report_section", "stage_topic_figure"]

_TOPIC_COLS = ["label", "side", "verbatims", "customers", "share", "mean_sentiment", "mean_nps", "mean_csat", "trend",
               "top_stage", "quote_1"]  # fmt: skip
_DRIVER_COLS = ["rank", "label", "side", "customers", "rate", "rate_others", "lift", "lift_low", "lift_high",
                "revenue_at_stake"]  # fmt: skip


def stage_topic_figure(verbatims: Any, topics: pd.DataFrame) -> go.Figure:
    """Heatmap of the customers who wrote about each topic (columns) at each journey stage (rows), counted
    once each (a shared report leaves out a cell of too few of them); ``verbatims`` an Ibis table."""
    from cxlib.schema import STAGES, stage_label

    v = verbatims.filter((verbatims.topic >= 0) & verbatims.customer_id.notnull())
    counts = v.group_by(["stage", "topic"]).aggregate(n=v.customer_id.nunique()).to_pandas()
    wide = counts.pivot_table(index="stage", columns="topic", values="n", aggfunc="sum").fillna(0)
    wide = wide.reindex([s for s in STAGES if s in wide.index])
    labels = topics.set_index("topic")["label"]
    fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=[labels.get(t, str(t)) for t in wide.columns],
                               y=[stage_label(s) for s in wide.index], colorscale="Blues"))
    fig.update_layout(title="Customers who wrote about each topic, by journey stage", xaxis_title="topic",
                      yaxis_title="stage")
    return fig


def _headline(drv: pd.DataFrame) -> str | None:
    churn = drv[(drv["outcome"] == "churn") & (drv["lift_low"] > 1)]
    if churn.empty:
        return None
    top = churn.sort_values("rank").iloc[0]
    return (
        f"Customers who mention **{top['label']}** churn {top['lift']:.1f}× as often as others who wrote to us "
        f"(95% CI {top['lift_low']:.1f}–{top['lift_high']:.1f}; {int(top['customers']):,} customers, "
        f"{top['revenue_at_stake']:,.0f} a year at stake): an association, on the {top['side']} side."
    )


def report_section(ws: Any, r: Any, glance: list[str]) -> None:
    """Add the "Voice of the customer" section to report ``r`` from the workspace's voice tables."""
    r.section("Voice of the customer")
    if not ws.has("topics"):
        r.markdown("*No voice-of-the-customer tables in this workspace yet: run `cx voice FOLDER` to add this "
                   "section.*")
        return
    topics = ws.table("topics").to_pandas()
    drv = ws.table("feedback_drivers").to_pandas()
    v = ws.table("verbatims")
    lang = v.group_by("language").aggregate(n=v.count()).to_pandas()
    n = int(lang["n"].sum())
    other = not_modelled(dict(zip(lang["language"], lang["n"], strict=True)), MODELLED_LANGUAGES)
    r.metric("Verbatims read", n)
    r.metric("Topics found", len(topics))
    r.metric("Customers to call back", int(ws.table("follow_up").count().to_pandas()))
    head = _headline(drv)
    if head:
        glance.append(head)
        r.markdown(head)
    r.markdown(
        f"Every ticket, survey comment and return reason ({n:,} texts; {other:,} in another language were counted "
        "but not topic-modelled) was read, scored for sentiment with a lexicon and grouped into topics found in "
        "the text itself (TF-IDF and NMF, the number of topics chosen by stability). Quotes are redacted."
    )
    r.table(topics[[c for c in _TOPIC_COLS if c in topics.columns]], "Topics: size, sentiment, ratings and a quote")
    r.figure(stage_topic_figure(v, topics), "Topics by journey stage", counts=True)
    if drv.empty:  # say so, as the voice page does, rather than leave the drivers out without a word
        r.markdown(f"*{NO_OUTCOME}*")
    for outcome, what in OUTCOMES.items():
        d = drv[drv["outcome"] == outcome]
        if len(d):
            r.table(d[_DRIVER_COLS].head(5), f"Topics most associated with customers who {what}",
                    percent=("rate", "rate_others"), money=("revenue_at_stake",))  # as the voice page shows them
