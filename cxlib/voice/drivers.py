"""Which topics go with the outcomes a CJO cares about, and who to call back.

:func:`outcomes` gives each customer four flags, from the workspace: ``churn`` (ever in the churned stage),
``dropoff`` (reached consideration, never bought), ``returns`` (returned an order) and ``low_nps`` (an NPS of 6
or less), with their yearly revenue. :func:`drivers` compares, per topic and outcome, customers who mention the
topic with those who wrote something else: the lift (risk ratio) with a 95% confidence interval (Katz, log
scale), the customers and the yearly revenue at stake. It is association, not cause: a topic can go with churn
because the same customers have another problem. For ``returns`` a return reason itself is not counted as a
mention (it would explain the return by itself).

Examples
--------
>>> lift, lo, hi = risk_ratio(30, 100, 10, 100)
>>> round(lift, 1), lo > 1
(3.0, True)
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd

from cxlib._frames import empty_frame
from cxlib.engine import Workspace

__all__ = ["NO_OUTCOME", "OUTCOMES", "drivers", "follow_up", "measured_outcomes", "outcomes", "risk_ratio"]

OUTCOMES = {
    "churn": "churned (stage churned at some point)",
    "dropoff": "considered and never bought (drop-off before purchase)",
    "returns": "returned an order",
    "low_nps": "gave an NPS of 6 or less",
}
#: Why a drivers table has no rows, for a reader.
NO_OUTCOME = (
    "No topic could be tied to an outcome. That needs, among the customers who wrote, some who churned, dropped "
    "off before buying, returned an order or gave an NPS of 6 or less and some who did not, and a topic that at "
    "least 10 of them mention. More history, or the surveys and orders of the same customers (`cx load`, then "
    "`cx voice`), give it something to compare."
)
SEE_ALSO = {"dropoff": "journeys.diagnose_dropoff", "returns": "journeys.diagnose_returns"}
# words that put a topic on the service side (operations, support, the app) or the marketing side (offer, price,
# product promise)
_SERVICE = {"delivery", "late", "parcel", "courier", "damaged", "broken", "answer", "answered", "reply", "question",
            "refund", "charged", "invoice", "payment", "app", "crash", "crashes", "login", "password", "account",
            "locked", "support", "tracking", "missing", "arrived", "box", "sent", "item", "staff", "service"}
_MARKETING = {"price", "prices", "expensive", "overpriced", "cheaper", "discount", "sale", "photos", "pictures",
              "described", "description", "size", "fit", "colour", "expected", "smaller", "bigger", "quality",
              "love", "design", "recommend", "range", "mind", "offer"}  # fmt: skip


#: The columns of :func:`drivers` and :func:`follow_up` with their types: an empty table keeps them (a frame of no
#: rows and untyped columns is one the workspace cannot store).
DRIVER_COLUMNS = {
    "outcome": "string", "rank": "int64", "topic": "int64", "label": "string", "side": "string",
    "customers": "int64", "with_outcome": "int64", "rate": "float64", "rate_others": "float64", "lift": "float64",
    "lift_low": "float64", "lift_high": "float64", "excess_customers": "float64", "revenue_at_stake": "float64",
    "see_also": "string",
}  # fmt: skip
FOLLOW_UP_COLUMNS = {
    "customer_id": "string", "ts": "datetime64[us]", "table_name": "string", "topic": "int64", "label": "string",
    "sentiment": "float64", "rating": "float64", "text": "string", "feedback_count": "int64",
    "revenue_per_year": "float64", "last_touch_ts": "datetime64[us]", "last_touch": "string",
}  # fmt: skip


def side_of(terms: list[str]) -> str:
    """``service`` or ``marketing``: which owner's words weigh more in a topic's top terms (earlier ones count
    more)."""
    w = 1 / np.arange(1, len(terms) + 1)
    s = sum(x for t, x in zip(terms, w, strict=False) if t in _SERVICE)
    m = sum(x for t, x in zip(terms, w, strict=False) if t in _MARKETING)
    return "marketing" if m > s else "service"


def risk_ratio(a: int, n1: int, c: int, n0: int, z: float = 1.96) -> tuple[float, float, float]:
    """Risk ratio ``(a/n1) / (c/n0)`` with its Katz confidence interval (0.5 added to empty cells)."""
    if min(a, c, n1 - a, n0 - c) == 0:
        a, c, n1, n0 = a + 0.5, c + 0.5, n1 + 1, n0 + 1
    if n1 <= 0 or n0 <= 0:
        return float("nan"), float("nan"), float("nan")
    rr = (a / n1) / (c / n0)
    se = np.sqrt(max(1 / a - 1 / n1 + 1 / c - 1 / n0, 0))
    return float(rr), float(rr * np.exp(-z * se)), float(rr * np.exp(z * se))


def outcomes(ws: Workspace) -> pd.DataFrame:
    """Per customer (with any touchpoint): ``churn, dropoff, returns, low_nps`` flags and ``revenue_per_year``."""
    tp = ws.table("touchpoints")
    span = tp.aggregate(lo=tp.ts.min(), hi=tp.ts.max()).to_pandas().iloc[0]
    days = 365.25 if pd.isna(span["lo"]) else (pd.Timestamp(span["hi"]) - pd.Timestamp(span["lo"])).days
    years = max(days / 365.25, 1 / 12)
    per = tp.group_by("customer_id").aggregate(
        revenue=tp.revenue.sum().fill_null(0),
        returns=(tp.status == "returned").fill_null(False).any(),
        low_nps=(tp.nps <= 6).fill_null(False).any(),
        bought=(tp.status == "completed").fill_null(False).any(),
    )
    if ws.has("stage_history"):
        sh = ws.table("stage_history")
        st = sh.group_by("customer_id").aggregate(
            churn=(sh.stage == "churned").any(), considered=(sh.stage == "consideration").any()
        )
        per = per.left_join(st, "customer_id").drop("customer_id_right")
    else:
        per = per.mutate(churn=ibis.literal(False), considered=ibis.literal(True))
    df = per.to_pandas()
    df["churn"] = df["churn"].fillna(False).astype(bool)
    df["dropoff"] = df["considered"].fillna(False).astype(bool) & ~df["bought"].astype(bool)
    df["revenue_per_year"] = df["revenue"].astype(float) / years
    return df[["customer_id", *OUTCOMES, "revenue_per_year"]]


def drivers(vt: pd.DataFrame, out: pd.DataFrame, topics: pd.DataFrame, min_customers: int = 10) -> pd.DataFrame:
    """Topics ranked by lift for each outcome that some of the writers had and some did not (an outcome nobody
    had, as an NPS where no survey was loaded, has no lift to measure and no rows).

    ``vt``: ``customer_id, topic, table_name`` (one row per verbatim and its main topic); ``out``: from
    :func:`outcomes`; ``topics``: ``topic, label, side``. Returns ``outcome, rank, topic, label, side, customers,
    with_outcome, rate, rate_others, lift, lift_low, lift_high, excess_customers, revenue_at_stake, see_also``.
    """
    rows = []
    for outcome in OUTCOMES:
        v = vt[vt["table_name"] != "orders"] if outcome == "returns" else vt
        writers = out[out["customer_id"].isin(v["customer_id"])].set_index("customer_id")
        if writers.empty or writers[outcome].nunique() < 2:  # nobody (or everybody) with the outcome: no lift
            continue  # to measure (0% against 0% read as a lift of 7, 0.1 to 349, with no NPS collected at all)
        for topic, g in v.groupby("topic"):
            ids = writers.index.isin(g["customer_id"].unique())
            n1, n0 = int(ids.sum()), int((~ids).sum())
            if n1 < min_customers or n0 == 0:
                continue
            a, c = int(writers.loc[ids, outcome].sum()), int(writers.loc[~ids, outcome].sum())
            rr, lo, hi = risk_ratio(a, n1, c, n0)
            p1, p0 = a / n1, c / n0
            rev = writers.loc[ids & writers[outcome].to_numpy(), "revenue_per_year"].sum()
            rows.append(dict(outcome=outcome, topic=int(topic), customers=n1, with_outcome=a, rate=p1,
                             rate_others=p0, lift=rr, lift_low=lo, lift_high=hi,
                             excess_customers=max(0.0, (p1 - p0) * n1), revenue_at_stake=float(rev)))
    cols = list(DRIVER_COLUMNS)
    if not rows:
        return empty_frame(DRIVER_COLUMNS)
    d = pd.DataFrame(rows).merge(topics[["topic", "label", "side"]], on="topic", how="left")
    d = d.sort_values(["outcome", "lift_low", "lift"], ascending=[True, False, False], ignore_index=True)
    d["rank"] = d.groupby("outcome").cumcount() + 1
    d["see_also"] = d["outcome"].map(SEE_ALSO)
    return d[cols]


def measured_outcomes(drivers: pd.DataFrame) -> dict[str, str]:
    """The outcomes a :func:`drivers` table measured, in :data:`OUTCOMES` order, as choices for a reader:
    ``{"<outcome>: customers who <words>": "<outcome>"}``; empty when it measured none (:data:`NO_OUTCOME` says
    why).

    Examples
    --------
    >>> d = pd.DataFrame({"outcome": ["returns", "churn", "churn"]})
    >>> list(measured_outcomes(d).values())
    ['churn', 'returns']
    >>> measured_outcomes(d.iloc[:0])
    {}
    """
    there = set(drivers["outcome"])
    return {f"{k}: customers who {words}": k for k, words in OUTCOMES.items() if k in there}


def follow_up(verbatims: pd.DataFrame, out: pd.DataFrame, labels: dict[int, str], tp_last: pd.DataFrame,
              threshold: float = -0.05) -> pd.DataFrame:
    """Customers with negative feedback that no resolved ticket followed, highest yearly value first.

    Negative: sentiment below ``threshold``, a CSAT of 1-2 or an NPS of 0-6. Unresolved: an unresolved (or not
    yet resolved) ticket, or a survey or return with no resolved ticket of the customer after it. Returns
    ``customer_id, ts, table_name, topic, label, sentiment, rating, text, feedback_count, revenue_per_year,
    last_touch_ts, last_touch`` (the text is not redacted: this table is for the service team).
    """
    v = verbatims[verbatims["customer_id"].notna()]
    low = ((v["rating_scale"] == "csat") & (v["rating"] <= 2)) | ((v["rating_scale"] == "nps") & (v["rating"] <= 6))
    neg = v[(v["sentiment"] < threshold) | low]
    # resolved as a plain bool: a ticket whose resolved is missing (nullable, NA) is not resolved
    fixed = v["resolved"].eq(True).fillna(False).to_numpy(dtype=bool)
    resolved = v[(v["table_name"] == "tickets").to_numpy(dtype=bool) & fixed]
    last_fix = resolved.groupby("customer_id")["ts"].max()
    if last_fix.empty:  # no ticket resolved at all: mapped, its times would be floats (NaN), not times
        fixed_after = pd.Series(False, index=neg.index)
    else:
        fixed_after = neg["customer_id"].map(last_fix) > neg["ts"]
    unresolved = ~neg["resolved"].eq(True).fillna(False).to_numpy(dtype=bool)
    later = fixed_after.fillna(False).to_numpy(dtype=bool)
    open_ = neg[np.where((neg["table_name"] == "tickets").to_numpy(dtype=bool), unresolved, ~later)]
    if open_.empty:
        return empty_frame(FOLLOW_UP_COLUMNS)
    last = open_.sort_values(["customer_id", "ts"]).groupby("customer_id").tail(1)
    count = open_.groupby("customer_id").size().rename("feedback_count")
    f = last.merge(count, left_on="customer_id", right_index=True)
    f = f.merge(out[["customer_id", "revenue_per_year"]], on="customer_id", how="left")
    f = f.merge(tp_last, on="customer_id", how="left")
    f["label"] = f["topic"].map(labels)
    f["revenue_per_year"] = f["revenue_per_year"].fillna(0.0)
    f = f.sort_values(["revenue_per_year", "ts"], ascending=[False, False], ignore_index=True)
    return f[list(FOLLOW_UP_COLUMNS)]
