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
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from ibis import _

from cxlib.journeys.diagnosis import service
from cxlib.journeys.inputs import DAY, as_table, filtered, release, require_columns, ties
from cxlib.journeys.stage_map import BUYER_STAGES, StageMap, StageMapLike, resolve_stage_map
from cxlib.journeys.stages import stage_name, with_stages
from cxlib.journeys.timeline import ever_reached, month_end_code, month_ends, stage_history
from cxlib.schema import STAGES

__all__ = ["journey_map", "journey_map_of", "journey_map_parts"]

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
    """The journey map from its parts: median days in each stage, the customers who ever reached each, the
    conversions along the main path, the top lists and the service quality by stage. A stage is shown when a
    customer stayed in it at a touchpoint or reached it at all: at risk, churned and lost are reached by inactivity
    at a month end, with no touchpoint of their own (they were left out, though most customers of a shop's own
    orders end there); their touchpoint rows are blank."""
    stages = [x for x in STAGES if x in median.index or ever.get(x, 0) > 0]
    out = pd.DataFrame(index=stages)
    out["journey"] = ["buyer" if x in BUYER_STAGES else "customer" for x in stages]
    out["customers"] = ever.reindex(stages).fillna(0).astype("int64")
    out["conversion_to_next"] = [conv[x] / out.loc[x, "customers"] if x in conv else np.nan for x in stages]
    out["median_days_in_stage"] = median.reindex(stages).round(1)
    for k, v in tops.items():
        out[k] = v.reindex(stages).fillna("")
    for k in ("csat", "nps", "tickets_per_100"):
        out[k] = svc[k].reindex(stages).round(2)
    return out.T


# --- the map of any group of customers, from parts computed once -----------------------------------------------


def journey_map_parts(
    touchpoints: pd.DataFrame | ibis.Table, by: str = "persona", stage_map: StageMapLike = None
) -> dict[str, Any]:
    """What :func:`journey_map` of any set of ``by`` values needs, computed once: then
    :func:`journey_map_of` draws the map of any of them from small tables, without a pass over the rows.

    ``by`` must hold one value per customer (a persona). The parts are sums and per-customer rows by ``by``
    value: ``span`` (each value's first and last ``ts``), ``stays`` (per customer and stage, the days in it),
    ``conversions``, ``tops`` and ``service`` (counts and sums by value and stage), ``reached`` (the stages each
    customer reached at a touchpoint or at a month end before the last month) and ``last`` (each customer's
    last month, judged when the map is drawn: at the last ``ts`` of the customers chosen, as
    :func:`journey_map` judges it).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["ad_click", "product_view", "ad_click"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"]), "persona": [1, 1, 2]})
    >>> parts = journey_map_parts(tp)
    >>> journey_map_of(parts, [1]).equals(journey_map(tp, filters={"persona": [1]}))
    True
    """
    s = with_stages(as_table(touchpoints), stage_map).cache()
    require_columns(s, ["customer_id", "ts", by])
    stay = _stays(s, [by]).cache()
    try:
        sm = resolve_stage_map(None, s)  # as journey_map's stage_history resolves it
        end = pd.Timestamp(s.ts.max().to_pandas())
        span = s.group_by(by).aggregate(hi=s.ts.max()).to_pandas()
        return {
            "by": by,
            "stage_map": sm,
            "end": end,
            "span": span,
            "stays": stay.select(by, "stage", "_days").to_pyarrow(),
            "conversions": _conversion_counts(stay, [by]),
            "tops": _top_counts(s, [by]),
            "service": _service_sums(s, by),
            **_reach_parts(s, by, sm, end, span),
        }
    finally:
        release(stay, s)


def _service_sums(s: ibis.Table, by: str) -> pd.DataFrame:
    """:func:`~cxlib.journeys.diagnosis.service`'s counts per ``by`` value and stage, as sums."""
    is_ticket = s.topic.notnull()
    return (
        s.group_by([by, "stage"])
        .aggregate(
            customers=s.customer_id.nunique(),
            tickets=is_ticket.cast("int64").sum(),
            csat_sum=s.csat.cast("float64").sum(),
            csat_n=s.csat.count(),
            nps_sum=s.nps.cast("float64").sum(),
            nps_n=s.nps.count(),
        )
        .to_pandas()
    )


def _judged_parts(
    span: pd.DataFrame, last: ibis.Table, by: str, sm: StageMap, end: pd.Timestamp
) -> dict[str, pa.Table]:
    """Each customer's last month judged when the map is drawn -- at the last ``ts`` of the customers chosen,
    which is the last ``ts`` of one of the ``by`` values -- made here once for every such moment instead of
    compiled and run for each choice: ``judged`` (``customer_id, BY, stage``) at ``end``, and ``judged_at``
    the customers judged otherwise at another value's last ``ts`` (``_at``, epoch seconds): a few who cross a
    quiet-days threshold in between."""
    at = ibis.literal(int(end.timestamp()), "int64")
    judged = last.select("customer_id", by, stage=stage_name(month_end_code(last, at, sm)))
    his = ibis.memtable({"_at": sorted(_his(span))}, schema={"_at": "int64"})
    every = last.cross_join(his).select("customer_id", by, "_at", "_code", "_first", "_last_in", "_from")
    other = every.select("customer_id", by, "_at", stage=stage_name(month_end_code(every, every._at, sm)))
    other = other.join(judged.select("customer_id", _end=judged.stage), "customer_id")
    other = other.filter(other.stage != other._end).drop("_end")
    return {"judged": judged.to_pyarrow(), "judged_at": other.to_pyarrow()}


def _judged(parts: Mapping[str, Any], end: pd.Timestamp, pick: Any) -> pd.DataFrame | None:
    """The chosen customers' last month judged at ``end`` (``customer_id, stage``) from :func:`_judged_parts`;
    None when the parts do not hold that moment."""
    if "judged" not in parts:
        return None
    judged = pick(parts["judged"]).to_pandas()[["customer_id", "stage"]]
    if end == parts["end"]:
        return judged
    at = int(end.timestamp())
    if at not in _his(parts["span"]):
        return None
    other = pick(parts["judged_at"]).to_pandas()
    moved = other[other["_at"] == at].set_index("customer_id")["stage"]
    if len(moved):
        hit = judged["customer_id"].isin(moved.index)
        judged.loc[hit, "stage"] = judged.loc[hit, "customer_id"].map(moved)
    return judged


def _his(span: pd.DataFrame) -> set[int]:
    """The moments :func:`_judged_parts` judges at: each ``by`` value's last ``ts`` (``span``), in epoch seconds
    as :func:`journey_map_of` reads it."""
    return {int(pd.Timestamp(t).timestamp()) for t in span["hi"].dropna()}


def _reach_parts(
    s: ibis.Table, by: str, sm: StageMap, end: pd.Timestamp, span: pd.DataFrame
) -> dict[str, pa.Table]:
    """``reached`` (``customer_id, BY, stage``: at a touchpoint, or at a month end before ``end``'s month) and
    ``last`` (each customer's row of ``end``'s month, :func:`~cxlib.journeys.timeline.month_ends`)."""
    filled = month_ends(s, sm, end)
    filled = filled.join(s.select("customer_id", by).distinct(), "customer_id").cache()  # read twice below
    try:
        last_month = end.to_period("M").start_time.to_pydatetime()
        before = filled.filter(filled.month < last_month)
        before = before.select("customer_id", by, stage=stage_name(month_end_code(before, before._at, sm)))
        reached = s.select("customer_id", by, "stage").union(before, distinct=True)
        last = filled.filter(filled.month == last_month)
        last = last.select("customer_id", by, "_code", "_first", "_last_in", "_from").cache()
        try:
            judged = _judged_parts(span, last, by, sm, end)
            return {"reached": reached.to_pyarrow(), "last": last.to_pyarrow(), **judged}
        finally:
            release(last)
    finally:
        release(filled)


def journey_map_of(parts: Mapping[str, Any], values: Sequence | None = None, top: int = 3) -> pd.DataFrame | None:
    """:func:`journey_map` of the rows whose ``by`` column takes one of ``values`` (``None``: every row), from
    :func:`journey_map_parts` of those rows: the same numbers; or None when the parts do not hold it (no row
    chosen, or the rows chosen end in an earlier month than all rows: redraw with :func:`journey_map`).

    The examples of :func:`journey_map_parts` show it.
    """
    by, span = parts["by"], parts["span"]
    chosen = span if values is None else span[span[by].isin(list(values))]
    if chosen.empty:
        return None
    end = pd.Timestamp(chosen["hi"].max())  # the chosen rows' last ts: when journey_map judges their last month
    if end.to_period("M") != parts["end"].to_period("M"):
        return None

    def pick(t: Any) -> Any:
        if values is None:
            return t
        if isinstance(t, pd.DataFrame):
            return t[t[by].isin(list(values))]
        return t.filter(pc.is_in(t[by], value_set=pa.array(list(values), type=t.schema.field(by).type)))

    con = ibis.duckdb.connect()  # its own: the pages' threads do not share a connection
    stays = con.create_table("stays", pick(parts["stays"]))
    median = stays.group_by("stage").aggregate(m=stays._days.median()).to_pandas().set_index("stage")["m"]
    judged = _judged(parts, end, pick)
    if judged is not None:  # judged when the parts were made
        judged = con.create_table("judged", judged)
    else:
        last = con.create_table("last", pick(parts["last"]))
        at = ibis.literal(int(end.timestamp()), "int64")
        judged = last.select("customer_id", stage=stage_name(month_end_code(last, at, parts["stage_map"])))
    ever = ever_reached(con.create_table("reached", pick(parts["reached"])), judged)
    conv = _conversions(pick(parts["conversions"]))
    tops = _tops({k: pick(v) for k, v in parts["tops"].items()}, top)
    return assembled(median, ever, conv, tops, _service_of(pick(parts["service"]), by))


def _service_of(sums: pd.DataFrame, by: str) -> pd.DataFrame:
    """:func:`~cxlib.journeys.diagnosis.service`'s ``csat``, ``nps`` and ``tickets_per_100`` from
    :func:`_service_sums` (summed over its ``by`` values)."""
    g = sums.drop(columns=[by]).groupby("stage").sum()
    out = pd.DataFrame(index=g.index)
    # no ticket at all: no helpdesk data, not a perfect service (as diagnosis.service says it)
    out["tickets_per_100"] = 100 * g["tickets"] / g["customers"] if g["tickets"].sum() > 0 else np.nan
    for k in ("csat", "nps"):
        out[k] = g[f"{k}_sum"] / g[f"{k}_n"].where(g[f"{k}_n"] > 0)
    return out
