"""The workspace step: read the text, find topics, rank drivers, list who to call back; write six tables.

Tables: ``verbatims`` (with each one's main ``topic``), ``topics``, ``verbatim_topics``, ``topic_months``,
``feedback_drivers`` and ``follow_up``. They swap in together (:meth:`cxlib.engine.Workspace.step`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib._frames import first_per_group
from cxlib.engine import Workspace, opened
from cxlib.journeys.inputs import ties
from cxlib.schema import DataError
from cxlib.voice.collect import annotate, collect
from cxlib.voice.drivers import drivers, follow_up, outcomes, side_of
from cxlib.voice.redact import Redactor
from cxlib.voice.topics import TopicModel, fit_topics

__all__ = ["MODELLED_LANGUAGES", "VoiceResult", "build", "topic_table"]

#: Languages that go into the (English) topic model; ``und`` is short text with no stopword (a return reason).
MODELLED_LANGUAGES = ("en", "und")


@dataclass
class VoiceResult:
    """What :func:`build` wrote: the tables (pandas) and the topic model."""

    verbatims: pd.DataFrame
    topics: pd.DataFrame
    verbatim_topics: pd.DataFrame
    topic_months: pd.DataFrame
    feedback_drivers: pd.DataFrame
    follow_up: pd.DataFrame
    model: TopicModel

    def summary(self) -> str:
        """One line per table."""
        lang = self.verbatims["language"].fillna("none").value_counts()
        other = int(lang.drop(list(MODELLED_LANGUAGES), errors="ignore").sum())
        return (
            f"verbatims: {len(self.verbatims):,} ({other:,} in another language, not topic-modelled)\n"
            f"topics: {len(self.topics)} (chosen by stability)\n"
            f"feedback_drivers: {len(self.feedback_drivers)} topic x outcome rows\n"
            f"follow_up: {len(self.follow_up):,} customers with unresolved negative feedback"
        )


def _stage_mix(g: pd.DataFrame) -> tuple[str, str]:
    mix = g["stage"].fillna("unknown").value_counts(normalize=True)
    return (str(mix.index[0]) if len(mix) else "", ", ".join(f"{s} {p:.0%}" for s, p in mix.head(4).items()))


def _quotes(g: pd.DataFrame, redact: Redactor, n: int = 3) -> list[str]:
    """The ``n`` texts most typical of a topic (highest weight, shorter first among equals), redacted."""
    g = g.assign(_len=g["text"].str.len(), _short=g["text"].str.len() < 30)
    g = g.sort_values(["_short", "topic_weight", "_len"], ascending=[True, False, True])  # a sentence over a stub
    out: list[str] = []
    for t in g["text"]:
        r = redact(t[:240])
        if r not in out:
            out.append(r)
        if len(out) == n:
            break
    return out + [""] * (n - len(out))


def topic_table(v: pd.DataFrame, model: TopicModel, redact: Redactor) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``topics`` (one row per topic) and ``topic_months`` from the verbatims with their main topic."""
    v = v[v["topic"] >= 0].assign(month=v["ts"].dt.to_period("M").dt.to_timestamp())
    months = v.groupby("month").size()
    # every topic in every month that has verbatims, 0 where nobody wrote about it: a month without a mention
    # is a share of 0, not a gap the trend steps over
    grid = pd.MultiIndex.from_product([range(len(model.labels)), months.index], names=["topic", "month"])
    tm = v.groupby(["topic", "month"]).size().reindex(grid, fill_value=0).rename("verbatims").reset_index()
    tm["share"] = tm["verbatims"] / tm["month"].map(months)
    rows = []
    for k, label in enumerate(model.labels):
        g = v[v["topic"] == k]
        slope = _trend(tm[tm["topic"] == k], months)
        top_stage, mix = _stage_mix(g)
        q = _quotes(g, redact)
        rows.append(dict(
            topic=k, label=label, terms=", ".join(model.terms[k]), side=side_of(model.terms[k]), verbatims=len(g),
            customers=int(g["customer_id"].nunique()), share=len(g) / max(len(v), 1),
            mean_csat=g.loc[g["rating_scale"] == "csat", "rating"].mean(),
            mean_nps=g.loc[g["rating_scale"] == "nps", "rating"].mean(), mean_sentiment=g["sentiment"].mean(),
            trend_per_month=slope, trend="rising" if slope > 0.002 else "falling" if slope < -0.002 else "steady",
            top_stage=top_stage, stage_mix=mix, quote_1=q[0], quote_2=q[1], quote_3=q[2],
        ))  # fmt: skip
    topics = pd.DataFrame(rows).sort_values("verbatims", ascending=False, ignore_index=True)
    return topics, tm


def _trend(tr: pd.DataFrame, months: pd.Series) -> float:
    """A topic's share's change per calendar month: least squares over the months' places in the calendar,
    each month weighted by how many verbatims it has (a month of 2 verbatims, at a share of 50%, counts as
    little as it says); 0 with fewer than 3 months.

    Examples
    --------
    >>> m = pd.Series([2, 100, 100, 100], index=pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01",
    ...                                                          "2024-04-01"]))
    >>> tr = pd.DataFrame({"month": m.index, "share": [1.0, 0.10, 0.10, 0.10]})
    >>> round(_trend(tr, m), 3)  # unweighted, one verbatim of two in January made it -0.27 a month
    -0.017
    """
    if len(tr) < 3:
        return 0.0
    start = tr["month"].min()
    x = (tr["month"].dt.year - start.year) * 12 + (tr["month"].dt.month - start.month)
    n = tr["month"].map(months).to_numpy(dtype=float)
    return float(np.polyfit(x.to_numpy(dtype=float), tr["share"].to_numpy(dtype=float), 1, w=np.sqrt(n))[0])


def _last_touch(ws: Workspace) -> pd.DataFrame:
    """Each customer's last touchpoint, by the journeys' ordering rule (``ts``, then its ties: a purchase and its
    order at one moment are the same last touch in any row order), as ``event (channel)``."""
    tp = ws.table("touchpoints")
    order = [tp.ts.desc(), *(k.desc() for k in ties(tp, "event")), tp.event.desc(), tp.channel.desc()]
    last = first_per_group(tp, "customer_id", order)
    df = last.select("customer_id", last_touch_ts="ts", _e="event", _c="channel").to_pandas()
    df["last_touch"] = df["_e"].astype(str) + " (" + df["_c"].fillna("").astype(str) + ")"
    return df[["customer_id", "last_touch_ts", "last_touch"]]


def analyse(ws: Workspace, n_topics: int | None = None, seed: int = 0,
            text_columns: Mapping[str, Sequence[str]] | None = None) -> VoiceResult:
    """Everything :func:`build` writes, computed but not written."""
    if not ws.has("identity_links") or not ws.has("touchpoints"):
        raise DataError(f"{ws.folder or ws.name}: not unified; run `cx unify` (and `cx journeys`) first")
    v = annotate(collect(ws, text_columns).to_pandas())
    modelled = v["language"].isin(MODELLED_LANGUAGES).to_numpy()
    if v.empty:  # text columns, but not a row with text in them
        raise DataError("no customer text to model: the tickets, surveys and returns loaded have no text in their "
                        "subject, description, comment or reason columns")
    if not modelled.any():
        raise DataError("no English customer text to model (found languages: "
                        f"{', '.join(sorted(v['language'].dropna().unique()))})")
    try:
        model = fit_topics(v.loc[modelled, "text"], n_topics=n_topics, seed=seed)
    except ValueError as e:  # no word to model
        raise DataError(f"{ws.folder or ws.name}: {e}") from None
    W = model.weights(v.loc[modelled, "text"])
    v["topic"] = -1
    v["topic_weight"] = 0.0
    v.loc[modelled, "topic"] = np.where(W.max(axis=1) > 0, W.argmax(axis=1), -1)
    v.loc[modelled, "topic_weight"] = W.max(axis=1)
    v["topic"] = v["topic"].astype("int64")
    r, c = np.nonzero(W >= 0.05)
    vt = pd.DataFrame({"verbatim_id": v.loc[modelled, "verbatim_id"].to_numpy()[r], "topic": c.astype("int64"),
                       "weight": W[r, c].astype("float64")})
    topics, months = topic_table(v, model, Redactor.from_workspace(ws))
    out = outcomes(ws)
    written = v[(v["topic"] >= 0) & v["customer_id"].notna()][["customer_id", "topic", "table_name"]]
    drv = drivers(written, out, topics)
    fu = follow_up(v, out, dict(enumerate(model.labels)), _last_touch(ws))
    return VoiceResult(v.drop(columns="topic_weight"), topics, vt, months, drv, fu, model)


def build(workspace: str | Path | Workspace, n_topics: int | None = None, seed: int = 0,
          text_columns: Mapping[str, Sequence[str]] | None = None) -> VoiceResult:
    """Write the voice-of-the-customer tables to the workspace (after ``cx unify``; ``cx journeys`` and
    ``cx personas`` add stage and persona) and return them.

    Parameters
    ----------
    workspace : folder, ``.duckdb`` file or :class:`cxlib.engine.Workspace`
    n_topics : int, optional
        Number of topics; by default chosen by stability.
    seed : int
        Seed of the topic model (the same workspace and seed give the same topics).
    text_columns : mapping, optional
        Further text columns read as verbatims, ``{table: [column, ...]}``; by default the columns that the
        workspace's ``sources.yml`` names as ``feedback``.
    """
    if text_columns is None and isinstance(workspace, (str, Path)) and Path(workspace).is_dir():
        from cxlib.io.sources import feedback_columns

        text_columns = feedback_columns(workspace) or None
    with opened(workspace) as ws:
        res = analyse(ws, n_topics, seed, text_columns)
        with ws.step("voice"):
            ws.write("verbatims", res.verbatims)
            ws.write("topics", res.topics)
            ws.write("verbatim_topics", res.verbatim_topics)
            ws.write("topic_months", res.topic_months)
            ws.write("feedback_drivers", res.feedback_drivers)
            ws.write("follow_up", res.follow_up)
    return res
