"""The journey map a CJO presents, built from data: one column per stage, buyer journey then customer journey.

Examples
--------
>>> import pandas as pd
>>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["ad_click", "purchase"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03"])})
>>> list(journey_map(tp).columns)
['awareness', 'purchase']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import numpy as np
import pandas as pd
from ibis import _

from cxlib.journeys.diagnosis import service
from cxlib.journeys.inputs import DAY, as_table, filtered, release, ties
from cxlib.journeys.stage_map import BUYER_STAGES, StageMapLike
from cxlib.journeys.stages import with_stages
from cxlib.journeys.timeline import ever_reached, stage_history
from cxlib.schema import STAGES

__all__ = ["journey_map"]

#: The main path whose step-to-step conversion the map shows.
MAIN_PATH = ("awareness", "consideration", "purchase", "onboarding", "repeat", "advocate")


def _stays(s: ibis.Table, keys: Sequence[str] = ()) -> ibis.Table:
    """One row per customer and stage: ``_in`` (first moment), ``_days`` (time spent in it); and the customer's
    ``keys`` (columns that hold one value per customer, such as ``persona``)."""
    w = ibis.window(group_by=s.customer_id, order_by=[s.ts, *ties(s, "event")])
    s = s.mutate(_sec=s.ts.epoch_seconds(), _next_sec=s.ts.epoch_seconds().lead().over(w))
    stay = s.group_by(["customer_id", *keys, "stage"]).aggregate(
        _in=s._sec.min(), _out=s._next_sec.max(), _last=s._sec.max()
    )
    return stay.mutate(_days=(stay._out.fill_null(stay._last) - stay._in) / DAY)


def _conversion_counts(stay: ibis.Table, keys: Sequence[str] = ()) -> pd.DataFrame:
    """Per ``keys`` group (one row without keys): ``_c{i}``, how many customers who reached stage i of the main
    path reached stage i + 1 afterwards (one query)."""
    first = stay.group_by(["customer_id", *keys]).aggregate(
        **{f"_in{i}": stay._in.min(where=stay.stage == x) for i, x in enumerate(MAIN_PATH)}
    )
    counts = {
        f"_c{i}": (first[f"_in{i + 1}"] >= first[f"_in{i}"]).fill_null(False).cast("int64").sum()
        for i in range(len(MAIN_PATH) - 1)
    }
    return (first.group_by(list(keys)).aggregate(**counts) if keys else first.aggregate(**counts)).to_pandas()


def _conversions(n: pd.DataFrame) -> dict[str, int]:
    """Per stage of the main path: how many customers reached the next stage afterwards, from
    :func:`_conversion_counts` (summed over its rows)."""
    return {x: int(n[f"_c{i}"].fillna(0).sum()) for i, x in enumerate(MAIN_PATH[:-1])}


#: the journey map's top lists: the column counted, on inbound rows only or on every row
_TOP_LISTS = {"top_touchpoints": ("event", True), "top_channels": ("channel", True), "pain_points": ("_pain", False)}


def _top_counts(s: ibis.Table, keys: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """Per top list (:data:`_TOP_LISTS`): ``*keys, stage, COLUMN, n``, rows counted per stage and value."""
    s = s.mutate(_pain=s.topic.fill_null(s.return_reason))
    out = {}
    for key, (col, inbound) in _TOP_LISTS.items():
        rows = s.filter(s.inbound) if inbound else s.filter(s._pain.notnull())
        out[key] = rows.group_by([*keys, "stage", col]).aggregate(n=_.count()).to_pandas()
    return out


def _tops(counts: dict[str, pd.DataFrame], top: int) -> dict[str, pd.Series]:
    """Per stage: the top inbound touchpoints and channels, and the top pain points (ticket topics, return
    reasons), from :func:`_top_counts` (summed over its keys)."""
    tops = {}
    for key, (col, inbound) in _TOP_LISTS.items():
        c = counts[key].groupby(["stage", col], dropna=False, as_index=False)["n"].sum()
        c = c.dropna() if inbound else c
        c = c.sort_values(["stage", "n", col], ascending=[True, False, True])
        tops[key] = c.groupby("stage").head(top).groupby("stage")[col].agg(", ".join)
    return tops


def journey_map(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMapLike = None,
    filters: Mapping[str, Sequence] | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """The journey map a CJO presents, built from data: one column per stage, buyer journey then customer journey.

    Rows: ``customers`` who ever reached the stage (at a touchpoint or, by inactivity, at a month end: the
    ``stage_ever`` metric's definition), ``conversion_to_next`` (share of them who later reach the next
    stage of the main path awareness → consideration → purchase → onboarding → repeat → advocate),
    ``median_days_in_stage``, ``top_touchpoints``, ``top_channels``, ``csat``, ``nps``, ``tickets_per_100``
    and ``pain_points`` (top ticket topics and return reasons). ``filters`` selects rows first, e.g.
    ``{"persona": [...]}`` when the touchpoints carry a persona column. Staged rows keep their stages.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["ad_click", "product_view", "ad_click"],
    ...                    "channel": ["paid_social", "web", "paid_social"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])})
    >>> journey_map(tp).loc["customers", ["awareness", "consideration"]].tolist()
    [2, 1]
    """
    # staged once and kept (a temporary table; a cached frame on Spark): every view below reads it
    s = with_stages(filtered(as_table(touchpoints), filters, None, None), stage_map).cache()
    stay = _stays(s).cache()
    try:
        median = stay.group_by("stage").aggregate(m=_._days.median()).to_pandas().set_index("stage")["m"]
        ever = ever_reached(s, stage_history(s))  # the stage_ever metric's definition
        conv = _conversions(_conversion_counts(stay))
        tops = _tops(_top_counts(s), top)
        svc = service(s)
    finally:
        release(stay, s)
    return assembled(median, ever, conv, tops, svc)


def assembled(
    median: pd.Series, ever: pd.Series, conv: dict[str, int], tops: dict[str, pd.Series], svc: pd.DataFrame
) -> pd.DataFrame:
    """The journey map from its parts: median days in each stage (its index: the stages shown), the customers who
    ever reached each, the conversions along the main path, the top lists and the service quality by stage."""
    stages = [x for x in STAGES if x in median.index]
    out = pd.DataFrame(index=stages)
    out["journey"] = ["buyer" if x in BUYER_STAGES else "customer" for x in stages]
    out["customers"] = ever.reindex(stages).astype("int64")
    out["conversion_to_next"] = [conv[x] / out.loc[x, "customers"] if x in conv else np.nan for x in stages]
    out["median_days_in_stage"] = median.reindex(stages).round(1)
    for k, v in tops.items():
        out[k] = v.reindex(stages).fillna("")
    for k in ("csat", "nps", "tickets_per_100"):
        out[k] = svc[k].reindex(stages).round(2)
    return out.T
