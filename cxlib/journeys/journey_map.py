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


def _stays(s: ibis.Table) -> ibis.Table:
    """One row per customer and stage: ``_in`` (first moment), ``_days`` (time spent in it)."""
    w = ibis.window(group_by=s.customer_id, order_by=[s.ts, *ties(s, "event")])
    s = s.mutate(_sec=s.ts.epoch_seconds(), _next_sec=s.ts.epoch_seconds().lead().over(w))
    stay = s.group_by(["customer_id", "stage"]).aggregate(_in=s._sec.min(), _out=s._next_sec.max(), _last=s._sec.max())
    return stay.mutate(_days=(stay._out.fill_null(stay._last) - stay._in) / DAY)


def _conversions(stay: ibis.Table) -> dict[str, int]:
    """Per stage of the main path: how many customers reached the next stage afterwards (one query)."""
    first = stay.group_by("customer_id").aggregate(
        **{f"_in{i}": stay._in.min(where=stay.stage == x) for i, x in enumerate(MAIN_PATH)}
    )
    n = first.aggregate(
        **{
            f"_c{i}": (first[f"_in{i + 1}"] >= first[f"_in{i}"]).fill_null(False).cast("int64").sum()
            for i in range(len(MAIN_PATH) - 1)
        }
    ).to_pandas()
    return {x: int(n[f"_c{i}"].iloc[0] or 0) for i, x in enumerate(MAIN_PATH[:-1])}


def _tops(s: ibis.Table, top: int) -> dict[str, pd.Series]:
    """Per stage: the top inbound touchpoints and channels, and the top pain points (ticket topics, return reasons)."""
    inb = s.filter(s.inbound)
    tops = {}
    for col, key in (("event", "top_touchpoints"), ("channel", "top_channels")):
        c = inb.group_by(["stage", col]).aggregate(n=_.count()).to_pandas().dropna()
        c = c.sort_values(["stage", "n", col], ascending=[True, False, True])
        tops[key] = c.groupby("stage").head(top).groupby("stage")[col].agg(", ".join)
    pain = s.mutate(_pain=s.topic.fill_null(s.return_reason)).filter(_._pain.notnull())
    p = pain.group_by(["stage", "_pain"]).aggregate(n=_.count()).to_pandas()
    p = p.sort_values(["stage", "n", "_pain"], ascending=[True, False, True])
    tops["pain_points"] = p.groupby("stage").head(top).groupby("stage")["_pain"].agg(", ".join)
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
        reach = stay.group_by("stage").aggregate(median_days_in_stage=_._days.median()).to_pandas().set_index("stage")
        reach["customers"] = ever_reached(s, stage_history(s))  # the stage_ever metric's definition
        conv = _conversions(stay)
        tops = _tops(s, top)
        svc = service(s)
    finally:
        release(stay, s)
    stages = [x for x in STAGES if x in reach.index]
    out = pd.DataFrame(index=stages)
    out["journey"] = ["buyer" if x in BUYER_STAGES else "customer" for x in stages]
    out["customers"] = reach["customers"].reindex(stages).astype("int64")
    out["conversion_to_next"] = [conv[x] / out.loc[x, "customers"] if x in conv else np.nan for x in stages]
    out["median_days_in_stage"] = reach["median_days_in_stage"].reindex(stages).round(1)
    for k, v in tops.items():
        out[k] = v.reindex(stages).fillna("")
    for k in ("csat", "nps", "tickets_per_100"):
        out[k] = svc[k].reindex(stages).round(2)
    return out.T
