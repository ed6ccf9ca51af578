"""Journeys: stages, paths, flows, funnels and drop-off diagnosis over the unified touchpoint stream.

Every function takes the ``touchpoints`` stream (or any event frame with the named columns) as a pandas
DataFrame or an Ibis table, runs the event-scale work in the engine (DuckDB by default, Spark tested) and
returns small pandas frames or plotly figures.

**Ordering rule.** Within a path (a customer), events are ordered by ``ts`` and ties are broken by
``table_name, source, record_key`` when those columns exist (the unified stream has them), otherwise by the
``on`` column's value. The order never depends on the input's row order, so every count is reproducible.

**Stages.** A :class:`StageMap` (a documented dict, editable as YAML) says how touchpoints map to stages:

- the *buyer journey* runs until a customer's first purchase: ``awareness`` then ``consideration`` (a
  buyer's stage only moves forward), then ``purchase`` at the first purchase itself;
- the *customer journey* follows: ``onboarding``, ``repeat``, ``advocate``, ``win_back``, chosen by the
  first matching rule, and the inactivity windows ``at_risk`` and ``churned`` (``lost`` for a prospect who
  went quiet) apply at any moment from the time since the customer's last inbound touchpoint.

Examples
--------
>>> import pandas as pd
>>> from cxlib import journeys
>>> ev = pd.DataFrame({
...     "customer_id": ["a", "a", "a", "b"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01"]),
...     "event": ["page_view", "product_view", "page_view", "page_view"],
... })
>>> journeys.transitions(ev).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['page_view', 'path_end', 2], ['page_view', 'product_view', 1], ['path_start', 'page_view', 2],
 ['product_view', 'page_view', 1]]
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis import _

from cxlib.engine import Workspace, connect
from cxlib.schema import STAGES, DataError

__all__ = [
    "BUYER_STAGES",
    "CUSTOMER_STAGES",
    "DEFAULT_STAGE_MAP",
    "STAGES",
    "StageMap",
    "assign_stages",
    "build",
    "current_stage",
    "diagnose_dropoff",
    "diagnose_returns",
    "filter_touchpoints",
    "funnel",
    "funnel_figure",
    "journey_map",
    "journey_map_figure",
    "sankey",
    "sankey_links",
    "service_by_stage",
    "stage_counts",
    "stage_counts_figure",
    "stage_history",
    "staged_touchpoints",
    "step_matrix",
    "transitions",
]

BUYER_STAGES: tuple[str, ...] = ("awareness", "consideration", "purchase", "lost")
CUSTOMER_STAGES: tuple[str, ...] = ("onboarding", "repeat", "advocate", "at_risk", "churned", "win_back")
_CODE = {s: i for i, s in enumerate(STAGES)}
_DAY = 86_400
_TIE_COLUMNS = ("table_name", "source", "record_key")

#: The default stage map. Conditions in a rule are combined with AND; lists mean "one of".
DEFAULT_STAGE_MAP: dict[str, Any] = {
    # Company-initiated touches: they carry a stage but do not count as the customer being active.
    "outbound_events": ["email_sent", "email_holdout"],
    # What counts as a purchase (any one of these). The first one ends the buyer journey.
    "purchase": [
        {"table_name": ["orders"], "status": ["completed", "returned"]},
        {"event": ["purchase"]},
    ],
    # Buyer journey, first match wins; the stage only moves forward until the first purchase.
    "buyer": [
        {
            "stage": "consideration",
            "event": ["product_view", "add_to_cart", "checkout_start", "login", "app_open", "store_visit"],
        },
        {"stage": "consideration", "topic": ["pre_sale_question"]},
        {"stage": "consideration", "event": ["email_click"]},
        {"stage": "awareness"},
    ],
    # Customer journey, first match wins. Special keys: ``after_gap_days`` (an inbound touch after that long
    # without one starts the stage, which lasts ``for_days``), ``within_days`` (a matching touch in the last
    # N days), ``max_days_since_first_purchase`` and ``min_purchases``.
    "customer": [
        {"stage": "win_back", "after_gap_days": 120, "for_days": 90},
        {"stage": "advocate", "event": ["referral"], "within_days": 180},
        {"stage": "advocate", "nps_min": 9, "within_days": 180},
        {"stage": "onboarding", "max_days_since_first_purchase": 30},
        {"stage": "repeat"},
    ],
    # Days since the last inbound touch after which a customer is at risk or churned, and a prospect lost.
    "inactivity": {"at_risk_days": 60, "churned_days": 120, "lost_days": 120},
}

_ROW_CONDITIONS = ("event", "channel", "table_name", "source", "status", "topic", "campaign", "return_reason")
_RULE_KEYS = {
    "stage",
    *_ROW_CONDITIONS,
    "resolved",
    "nps_min",
    "nps_max",
    "csat_min",
    "csat_max",
    "within_days",
    "after_gap_days",
    "for_days",
    "max_days_since_first_purchase",
    "min_purchases",
}


@dataclass(frozen=True)
class StageMap:
    """A validated stage map: how touchpoints map to journey stages (see :data:`DEFAULT_STAGE_MAP`).

    Examples
    --------
    >>> sm = StageMap.from_any({"inactivity": {"at_risk_days": 45}})
    >>> sm.inactivity["at_risk_days"], sm.inactivity["churned_days"]
    (45, 120)
    """

    outbound_events: tuple[str, ...]
    purchase: tuple[dict, ...]
    buyer: tuple[dict, ...]
    customer: tuple[dict, ...]
    inactivity: dict

    @classmethod
    def from_any(cls, spec: StageMap | Mapping | str | Path | None = None) -> StageMap:
        """Build from ``None`` (the default), a dict (merged over the default, key by key) or a YAML file."""
        if isinstance(spec, StageMap):
            return spec
        if isinstance(spec, (str, Path)):
            import yaml

            spec = yaml.safe_load(Path(spec).read_text()) or {}
        merged = copy.deepcopy(DEFAULT_STAGE_MAP)
        for k, v in (spec or {}).items():
            if k not in merged:
                raise DataError(f"stage map: unknown key {k!r}; expected one of {sorted(merged)}")
            merged[k] = {**merged[k], **v} if isinstance(merged[k], dict) else v
        for part in ("buyer", "customer"):
            allowed = BUYER_STAGES if part == "buyer" else CUSTOMER_STAGES
            for rule in merged[part]:
                bad = set(rule) - _RULE_KEYS
                if bad:
                    raise DataError(f"stage map: {part} rule {rule} has unknown keys {sorted(bad)}")
                if rule.get("stage") not in allowed:
                    raise DataError(
                        f"stage map: {part} rule {rule} names stage {rule.get('stage')!r}; "
                        f"the {part} journey has {list(allowed)}"
                    )
        return cls(
            outbound_events=tuple(merged["outbound_events"]),
            purchase=tuple(merged["purchase"]),
            buyer=tuple(merged["buyer"]),
            customer=tuple(merged["customer"]),
            inactivity=dict(merged["inactivity"]),
        )

    def to_dict(self) -> dict:
        """The map as plain data (what ``yaml.safe_dump`` writes)."""
        return {
            "outbound_events": list(self.outbound_events),
            "purchase": [dict(r) for r in self.purchase],
            "buyer": [dict(r) for r in self.buyer],
            "customer": [dict(r) for r in self.customer],
            "inactivity": dict(self.inactivity),
        }


# --- input handling -------------------------------------------------------------------------------------------


def _table(events: pd.DataFrame | ibis.Table | Workspace | str | Path) -> ibis.Table:
    if isinstance(events, ibis.Table):
        return events
    if isinstance(events, pd.DataFrame):
        return ibis.memtable(events)
    if isinstance(events, Workspace):
        return events.table("touchpoints")
    if isinstance(events, (str, Path)):
        return connect(events, read_only=True).table("touchpoints")
    raise TypeError(f"expected a pandas DataFrame, an Ibis table or a workspace, got {type(events).__name__}")


def _require(t: ibis.Table, columns: Sequence[str], what: str = "events") -> None:
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {missing}; it has {list(t.columns)}. "
            "Pass the unified `touchpoints` table, or rename your columns."
        )


def _ties(t: ibis.Table, on: str) -> list[str]:
    present = [c for c in _TIE_COLUMNS if c in t.columns]
    return present if present else [on]


def _ordered(t: ibis.Table, path: str, on: str) -> ibis.Table:
    """Add ``_step`` (1-based position in the path, by the ordering rule) and ``_sec`` (epoch seconds)."""
    w = ibis.window(group_by=t[path], order_by=[t.ts, *[t[c] for c in _ties(t, on)]])
    return t.mutate(_step=ibis.row_number().over(w) + 1, _sec=t.ts.epoch_seconds())


def _optional(t: ibis.Table) -> ibis.Table:
    """Give a touchpoint frame the optional columns the stage rules read, as nulls where absent."""
    kinds = {c: "string" for c in _ROW_CONDITIONS}
    kinds.update(resolved="boolean", nps="int64", csat="int64")
    add = {c: ibis.null(k) for c, k in kinds.items() if c not in t.columns}
    # a float NaN is a missing score (pandas writes nulls that way; Spark orders NaN above every number)
    for c in ("nps", "csat", "revenue", "amount"):
        if c in t.columns and c not in add and t[c].type().is_floating():
            add[c] = ibis.ifelse(t[c].isnan(), ibis.null(t[c].type()), t[c])
    return t.mutate(**add) if add else t


def _row_condition(t: ibis.Table, rule: Mapping) -> ibis.BooleanValue:
    cond = ibis.literal(True)
    for c in _ROW_CONDITIONS:
        if c in rule:
            cond &= t[c].isin(list(rule[c])).fill_null(False)
    if "resolved" in rule:
        cond &= (t.resolved == bool(rule["resolved"])).fill_null(False)
    for col in ("nps", "csat"):
        if f"{col}_min" in rule:
            cond &= (t[col] >= rule[f"{col}_min"]).fill_null(False)
        if f"{col}_max" in rule:
            cond &= (t[col] <= rule[f"{col}_max"]).fill_null(False)
    return cond


# --- stages ---------------------------------------------------------------------------------------------------


def assign_stages(
    touchpoints: pd.DataFrame | ibis.Table, stage_map: StageMap | Mapping | str | Path | None = None
) -> ibis.Table:
    """The stage each touchpoint happens in: ``touchpoints`` → the same rows plus ``stage`` and ``journey``.

    Also adds ``inbound`` (the touch counts as activity), ``first_purchase_ts`` and ``last_inbound_ts``
    (the latest inbound touch up to and including this one). A lazy Ibis table: nothing runs until you
    execute it.

    Parameters
    ----------
    touchpoints : DataFrame or Ibis table
        At least ``customer_id``, ``ts``, ``event``; the rules may also read ``table_name``, ``status``,
        ``topic``, ``channel``, ``nps``, ``csat``, ``resolved`` (absent columns count as null).
    stage_map : StageMap, dict, YAML path or None
        The rules (default :data:`DEFAULT_STAGE_MAP`).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a"] * 4,
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-06", "2024-09-01"]),
    ...     "event": ["ad_click", "product_view", "purchase", "page_view"],
    ... })
    >>> assign_stages(tp).to_pandas().sort_values("ts")["stage"].tolist()
    ['awareness', 'consideration', 'purchase', 'win_back']
    """
    sm = StageMap.from_any(stage_map)
    t = _optional(_table(touchpoints))
    _require(t, ["customer_id", "ts", "event"], "touchpoints")
    ties = [t[c] for c in _ties(t, "event")]
    cum = ibis.cumulative_window(group_by=t.customer_id, order_by=[t.ts, *ties])
    before = ibis.window(group_by=t.customer_id, order_by=[t.ts, *ties], rows=(None, -1))
    whole = ibis.window(group_by=t.customer_id)
    sec = t.ts.epoch_seconds()
    buy = ibis.literal(False)
    for rule in sm.purchase:
        buy |= _row_condition(t, rule)
    inbound = ~t.event.isin(list(sm.outbound_events)).fill_null(False)
    t = t.mutate(_sec=sec, _buy=buy, inbound=inbound)
    buyer_code = ibis.cases(
        *[(_row_condition(t, r), _CODE[r["stage"]]) for r in sm.buyer if r["stage"] != "lost"], else_=0
    )
    act_sec = ibis.ifelse(t.inbound, t._sec, ibis.null("int64"))
    t = t.mutate(
        _first_buy=ibis.ifelse(t._buy, t._sec, ibis.null("int64")).min().over(whole),
        _purchases=t._buy.cast("int64").sum().over(cum),
        _bstate=buyer_code.max().over(cum),
        _prev_in=act_sec.max().over(before),
        _last_in=act_sec.max().over(cum),
    )
    # each customer rule: a boolean per row (within_days and after_gap_days look back along the path)
    cols: dict[str, ibis.Value] = {}
    for i, rule in enumerate(sm.customer):
        cond = _row_condition(t, rule)
        if "after_gap_days" in rule:
            cond &= (
                t.inbound & (t._prev_in >= t._first_buy) & ((t._sec - t._prev_in) >= int(rule["after_gap_days"] * _DAY))
            ).fill_null(False)
            cols[f"_r{i}"] = ibis.ifelse(cond, t._sec, ibis.null("int64")).max().over(cum)
        elif "within_days" in rule:
            cols[f"_r{i}"] = ibis.ifelse(cond, t._sec, ibis.null("int64")).max().over(cum)
        else:
            cols[f"_r{i}"] = cond
    t = t.mutate(**cols)
    cases = []
    for i, rule in enumerate(sm.customer):
        r = t[f"_r{i}"]
        if "after_gap_days" in rule:
            cond = (t._sec - r <= int(rule.get("for_days", 90) * _DAY)).fill_null(False)
        elif "within_days" in rule:
            cond = (t._sec - r <= int(rule["within_days"] * _DAY)).fill_null(False)
        else:
            cond = r
        if "max_days_since_first_purchase" in rule:
            cond &= t._sec - t._first_buy <= int(rule["max_days_since_first_purchase"] * _DAY)
        if "min_purchases" in rule:
            cond &= t._purchases >= int(rule["min_purchases"])
        cases.append((cond, _CODE[rule["stage"]]))
    customer_code = ibis.cases(*cases, else_=_CODE["repeat"])
    code = ibis.cases(
        (t._first_buy.isnull() | (t._sec < t._first_buy), t._bstate),
        (t._sec == t._first_buy, _CODE["purchase"]),
        else_=customer_code,
    )
    t = t.mutate(_code=code)
    t = t.mutate(_code=_idle_code(t._code, t._first_buy, t._sec - t._last_in, sm))
    stage = _code_to_stage(t._code)
    out = t.mutate(
        stage=stage,
        journey=ibis.ifelse(t._code.isin([_CODE[s] for s in BUYER_STAGES]), "buyer", "customer"),
        first_purchase_ts=_to_ts(t._first_buy),
        last_inbound_ts=_to_ts(t._last_in),
    )
    return out.drop(*[c for c in out.columns if c.startswith("_")])


def _to_ts(sec: ibis.IntegerValue) -> ibis.TimestampValue:
    return sec.cast("int64").as_timestamp("s")


def _code_to_stage(code: ibis.IntegerValue) -> ibis.StringValue:
    return ibis.cases(*[(code == i, s) for i, s in enumerate(STAGES)], else_=ibis.null("string"))


def _onboarding_days(sm: StageMap) -> int:
    for rule in sm.customer:
        if rule["stage"] == "onboarding" and "max_days_since_first_purchase" in rule:
            return int(rule["max_days_since_first_purchase"])
    return 0


def _idle_code(code, first_buy, idle_sec, sm: StageMap, since_first=None):
    """Overlay time: the inactivity windows (at_risk / churned for customers, lost for prospects) and, when
    judging a later moment than the last touchpoint (``since_first`` = seconds since the first purchase),
    the move from purchase to onboarding and from onboarding to repeat."""
    ina = sm.inactivity
    customer = first_buy.notnull() & (code != _CODE["purchase"])
    idle = idle_sec.fill_null(0)
    if since_first is not None:
        onb = _onboarding_days(sm) * _DAY
        late = since_first > onb
        code = ibis.cases(
            (code.isin([_CODE["purchase"], _CODE["onboarding"]]) & late, _CODE["repeat"]),
            ((code == _CODE["purchase"]) & (since_first > 0), _CODE["onboarding"]),
            else_=code,
        )
        customer = first_buy.notnull() & (code != _CODE["purchase"])
    return ibis.cases(
        (customer & (idle >= int(ina["churned_days"] * _DAY)), _CODE["churned"]),
        (customer & (idle >= int(ina["at_risk_days"] * _DAY)), _CODE["at_risk"]),
        (first_buy.isnull() & (idle >= int(ina["lost_days"] * _DAY)), _CODE["lost"]),
        else_=code,
    )


def _last_rows(staged: ibis.Table, period: ibis.Value | None = None) -> ibis.Table:
    """The last touchpoint per customer (per customer and ``period`` when given), by the ordering rule."""
    ties = [staged[c] for c in _ties(staged, "event")]
    keys = [staged.customer_id] + ([period] if period is not None else [])
    w = ibis.window(group_by=keys, order_by=[ibis.desc(staged.ts), *[ibis.desc(c) for c in ties]])
    return staged.mutate(_rn=ibis.row_number().over(w)).filter(_._rn == 0).drop("_rn")


def current_stage(
    touchpoints: pd.DataFrame | ibis.Table,
    as_of: str | pd.Timestamp | None = None,
    stage_map: StageMap | Mapping | str | Path | None = None,
) -> pd.DataFrame:
    """Where each customer is now: one row per customer seen up to ``as_of`` (default: the latest ``ts``).

    Returns ``customer_id, stage, journey, last_ts, last_inbound_ts, days_inactive``.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["product_view", "purchase", "page_view"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-06-01"])})
    >>> current_stage(tp)[["customer_id", "stage"]].values.tolist()
    [['a', 'churned'], ['b', 'awareness']]
    """
    sm = StageMap.from_any(stage_map)
    t = _table(touchpoints)
    if as_of is None:
        as_of = pd.Timestamp(t.ts.max().to_pandas())
    as_of = pd.Timestamp(as_of)
    staged = assign_stages(t.filter(t.ts <= as_of.to_pydatetime()), sm)
    last = _last_rows(staged)
    code = ibis.cases(*[(last.stage == s, i) for i, s in enumerate(STAGES)], else_=0)
    now = int(as_of.timestamp())
    first = last.first_purchase_ts.epoch_seconds()
    idle = now - last.last_inbound_ts.epoch_seconds()
    stage = _code_to_stage(_idle_code(code, first, idle, sm, now - first))
    out = last.select(
        "customer_id",
        stage=stage,
        journey=ibis.ifelse(stage.isin(list(BUYER_STAGES)), "buyer", "customer"),
        last_ts=last.ts,
        last_inbound_ts=last.last_inbound_ts,
        days_inactive=(idle / _DAY).floor().cast("int64"),
    )
    df = out.to_pandas().sort_values("customer_id", ignore_index=True)
    for c in ("last_ts", "last_inbound_ts"):  # one unit whatever the engine returns
        df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    return df[["customer_id", "stage", "journey", "last_ts", "last_inbound_ts", "days_inactive"]]


def stage_history(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMap | Mapping | str | Path | None = None,
    end: str | pd.Timestamp | None = None,
) -> ibis.Table:
    """Each customer's stage at every month end, from their first touchpoint's month to ``end``.

    ``touchpoints`` → ``customer_id, month (month start), stage``: the stage at the end of that month (or at
    ``end``, default the latest ``ts``, for the last month), except that the month of a customer's first
    purchase reads ``purchase``. This is the monthly panel the journey model
    (``cxlib.simulate``) fits. A lazy Ibis table.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["product_view", "purchase"],
    ...                    "ts": pd.to_datetime(["2024-01-10", "2024-02-02"])})
    >>> stage_history(tp, end="2024-06-30").to_pandas().sort_values("month")["stage"].tolist()
    ['consideration', 'purchase', 'repeat', 'at_risk', 'at_risk', 'churned']
    """
    sm = StageMap.from_any(stage_map)
    t = _table(touchpoints)
    end = pd.Timestamp(t.ts.max().to_pandas()) if end is None else pd.Timestamp(end)
    first_month = pd.Timestamp(t.ts.min().to_pandas()).to_period("M").start_time
    months = pd.period_range(first_month, end, freq="M")
    cal = pd.DataFrame(
        {
            "_m": np.arange(len(months), dtype="int64"),
            "month": months.start_time,
            # the moment the month is judged: its last second, or `end` in the last month
            "_at": [min(int(p.end_time.timestamp()), int(end.timestamp())) for p in months],
            "_from": [int(p.start_time.timestamp()) for p in months],
        }
    )
    staged = assign_stages(t.filter(t.ts <= end.to_pydatetime()), sm)
    month_idx = (staged.ts.year() - first_month.year) * 12 + staged.ts.month() - first_month.month
    staged = staged.mutate(_m=month_idx.cast("int64"))
    last = _last_rows(staged, staged._m)
    code = ibis.cases(*[(last.stage == s, i) for i, s in enumerate(STAGES)], else_=0)
    last = last.select(
        "customer_id",
        "_m",
        _code=code,
        _first=last.first_purchase_ts.epoch_seconds(),
        _last_in=last.last_inbound_ts.epoch_seconds(),
    )
    start = last.group_by("customer_id").aggregate(_m0=last._m.min())
    calt = ibis.memtable(cal)
    grid = start.cross_join(calt).filter(_._m >= _._m0).select("customer_id", "_m", "month", "_at", "_from")
    g = grid.left_join(last, ["customer_id", "_m"]).drop("customer_id_right", "_m_right")
    w = ibis.cumulative_window(group_by=g.customer_id, order_by=g._m)
    g = g.mutate(_src=ibis.ifelse(g._code.notnull(), g._m, ibis.null("int64")).max().over(w))
    g = g.select("customer_id", "month", "_at", "_from", "_src")
    filled = g.join(last.rename(_src="_m"), ["customer_id", "_src"])
    filled = filled.drop(*[c for c in filled.columns if c.endswith("_right")])
    idle = filled._at - filled._last_in
    code = _idle_code(filled._code, filled._first, idle, sm, filled._at - filled._first)
    # the month of the first purchase reads "purchase" (a one-month stage, as in the journey model)
    bought_now = (filled._first >= filled._from) & (filled._first <= filled._at)
    code = ibis.ifelse(bought_now.fill_null(False), _CODE["purchase"], code)
    out = filled.select("customer_id", "month", stage=_code_to_stage(code))
    return out


def stage_counts(
    touchpoints: pd.DataFrame | ibis.Table,
    freq: str = "M",
    stage_map: StageMap | Mapping | str | Path | None = None,
) -> pd.DataFrame:
    """How many customers are at each stage at each period end: a frame indexed by period, one column per stage.

    ``freq`` is ``"M"`` (month ends), ``"Q"`` or ``"Y"`` (the last month of each quarter or year).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["product_view", "purchase", "ad_click"],
    ...                    "ts": pd.to_datetime(["2024-01-10", "2024-02-02", "2024-02-03"])})
    >>> stage_counts(tp).loc["2024-02", ["awareness", "purchase"]].tolist()
    [1, 1]
    """
    if freq not in ("M", "Q", "Y"):
        raise ValueError(f"freq must be 'M', 'Q' or 'Y', not {freq!r}")
    h = stage_history(touchpoints, stage_map)
    counts = h.group_by(["month", "stage"]).aggregate(customers=_.count()).to_pandas()
    wide = counts.pivot_table(index="month", columns="stage", values="customers", aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=list(STAGES), fill_value=0).astype("int64")
    wide.index = pd.PeriodIndex(pd.to_datetime(wide.index), freq="M")
    if freq != "M":
        keep = wide.index.month % (3 if freq == "Q" else 12) == 0
        keep[-1] = True  # the latest period, even if incomplete
        wide = wide[keep]
    wide.columns.name = "stage"
    wide.index.name = "period"
    return wide


def stage_counts_figure(counts: pd.DataFrame, title: str = "Customers at each stage") -> go.Figure:
    """A stacked-area chart of :func:`stage_counts`."""
    fig = go.Figure()
    x = counts.index.astype(str)
    for s in counts.columns:
        fig.add_trace(go.Scatter(x=x, y=counts[s], name=s, stackgroup="one", mode="lines"))
    fig.update_layout(title=title, xaxis_title="period end", yaxis_title="customers", legend_traceorder="normal")
    return fig


# --- paths: transitions, steps, Sankey ------------------------------------------------------------------------


def transitions(events: pd.DataFrame | ibis.Table, on: str = "event", path: str = "customer_id") -> pd.DataFrame:
    """Direct transitions within each path: ``source, target, count``, retentioneering's definition.

    Each (from → to) pair of consecutive events in one path's time-ordered events is counted, self-loops
    included, never across paths; one synthetic ``path_start`` precedes each path's first event and one
    ``path_end`` follows its last. The counts add up to the number of events plus the number of paths.
    Sorted by ``source, target``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "x"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-01"])})
    >>> transitions(ev).values.tolist()
    [['path_start', 'x', 1], ['x', 'path_end', 1], ['x', 'x', 1]]
    """
    t = _table(events)
    _require(t, [path, "ts", on])
    t = _ordered(t, path, on)
    w = ibis.window(group_by=t[path], order_by=t._step)
    t = t.mutate(_next=t[on].cast("string").lead().over(w), _cur=t[on].cast("string"))
    pairs = t.select(source=t._cur, target=t._next.fill_null("path_end"))
    starts = t.filter(t._step == 1).select(source=ibis.literal("path_start"), target=t._cur)
    both = pairs.union(starts, distinct=False)
    out = both.group_by(["source", "target"]).aggregate(count=_.count()).to_pandas()
    out["count"] = out["count"].astype("int64")
    return out.sort_values(["source", "target"], ignore_index=True)


def step_matrix(
    events: pd.DataFrame | ibis.Table, max_steps: int = 10, on: str = "event", path: str = "customer_id"
) -> pd.DataFrame:
    """How many paths have each event at step k (step 1 = the first event), k = 1..``max_steps``.

    Indexed by event, integer columns ``1..max_steps``, plus a ``path_end`` row counting the paths that ended
    before step k. Every column adds up to the number of paths.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["x", "y", "y"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> step_matrix(ev, max_steps=3).to_dict("index")
    {'x': {1: 1, 2: 0, 3: 0}, 'y': {1: 1, 2: 1, 3: 0}, 'path_end': {1: 0, 2: 1, 3: 2}}
    """
    t = _table(events)
    _require(t, [path, "ts", on])
    t = _ordered(t, path, on)
    lengths = t.group_by(t[path]).aggregate(_n=t._step.max())
    n_by_len = lengths.group_by("_n").aggregate(paths=_.count()).to_pandas()
    cells = (
        t.filter(t._step <= max_steps)
        .group_by([t[on].cast("string").name("_on"), "_step"])
        .aggregate(n=_.count())
        .to_pandas()
    )
    steps = list(range(1, max_steps + 1))
    m = cells.pivot_table(index="_on", columns="_step", values="n", aggfunc="sum", fill_value=0)
    m = m.reindex(columns=steps, fill_value=0).astype("int64")
    m = m.loc[sorted(m.index)]
    ended = [int(n_by_len.loc[n_by_len["_n"] < k, "paths"].sum()) for k in steps]
    m.loc["path_end"] = ended
    m.index.name = on
    m.columns.name = "step"
    return m.astype("int64")


def _filtered(
    t: ibis.Table,
    filters: Mapping[str, Sequence] | None,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
) -> ibis.Table:
    for col, values in (filters or {}).items():
        if col not in t.columns:
            raise DataError(f"filter on {col!r}: the events have no such column ({list(t.columns)})")
        t = t.filter(t[col].isin(list(values)))
    if start is not None:
        t = t.filter(t.ts >= pd.Timestamp(start).to_pydatetime())
    if end is not None:
        t = t.filter(t.ts <= pd.Timestamp(end).to_pydatetime())
    return t


def _collapse(t: ibis.Table, path: str, on: str) -> ibis.Table:
    """Keep only the first of each run of repeated events in a path."""
    t = _ordered(t, path, on)
    w = ibis.window(group_by=t[path], order_by=t._step)
    t = t.mutate(_prev=t[on].lag().over(w))
    return t.filter(t._prev.isnull() | (t._prev != t[on])).drop("_prev", "_step", "_sec")


def sankey_links(
    events: pd.DataFrame | ibis.Table,
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = 8,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The flows a step-aligned Sankey draws: ``step, source, target, value``.

    A link goes from the event at step ``k`` to the event at step ``k + 1`` of the same path (or to
    ``path_end``), for k = 1..``max_steps``-1, with a ``path_start`` link into step 1. At each step, the
    ``top_n`` most frequent events keep their name and the rest become ``other``.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["x", "y", "x"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> sankey_links(ev, max_steps=2)[["step", "source", "target", "value"]].values.tolist()
    [[0, 'path_start', 'x', 2], [1, 'x', 'path_end', 1], [1, 'x', 'y', 1]]
    """
    t = _filtered(_table(events), filters, start, end)
    _require(t, [path, "ts", on])
    if collapse:
        t = _collapse(t, path, on)
    t = _ordered(t, path, on)
    w = ibis.window(group_by=t[path], order_by=t._step)
    t = t.mutate(_cur=t[on].cast("string"))
    t = t.mutate(_next=t._cur.lead().over(w))
    # the first max_steps events of each path, computed once for the three queries below
    t = t.filter(t._step <= max_steps).select(path, "_step", "_cur", "_next").cache()
    # the top-N events at each step (ties by name) keep their names
    freq = t.group_by(["_step", "_cur"]).aggregate(n=_.count())
    rw = ibis.window(group_by=freq._step, order_by=[ibis.desc(freq.n), freq._cur])
    top = freq.mutate(_r=ibis.row_number().over(rw)).filter(_._r < top_n).select("_step", _keep="_cur")
    t = t.left_join(top, [t._step == top._step, t._cur == top._keep]).drop("_step_right")
    t = t.mutate(_cur=ibis.ifelse(t._keep.notnull(), t._cur, "other")).drop("_keep")
    nxt = top.select(_nstep=top._step, _nkeep=top._keep)
    t = t.left_join(nxt, [t._step + 1 == nxt._nstep, t._next == nxt._nkeep])
    t = t.mutate(
        _next=ibis.cases(
            (t._step >= max_steps, ibis.null("string")),
            (t._next.isnull(), "path_end"),
            (t._nkeep.notnull(), t._next),
            else_="other",
        )
    )
    flows = t.filter(t._next.notnull()).group_by(["_step", "_cur", "_next"]).aggregate(value=_.count())
    starts = t.filter(t._step == 1).group_by("_cur").aggregate(value=_.count())
    a = flows.to_pandas().rename(columns={"_step": "step", "_cur": "source", "_next": "target"})
    b = starts.to_pandas().rename(columns={"_cur": "target"}).assign(step=0, source="path_start")
    out = pd.concat([b, a], ignore_index=True)[["step", "source", "target", "value"]]
    out["step"] = out["step"].astype("int64")
    out["value"] = out["value"].astype("int64")
    return out.sort_values(["step", "source", "target"], ignore_index=True)


def _sankey_trace(links: pd.DataFrame, domain_x: tuple[float, float] = (0.0, 1.0)) -> go.Sankey:
    nodes: dict[tuple[int, str], int] = {}

    def node(step: int, name: str) -> int:
        return nodes.setdefault((step, name), len(nodes))

    src = [node(int(s), a) for s, a in zip(links["step"], links["source"], strict=True)]
    dst = [node(int(s) + 1, b) for s, b in zip(links["step"], links["target"], strict=True)]
    labels = [name for (_, name) in nodes]
    steps = [s for (s, _) in nodes]
    n_steps = max(steps) if steps else 1
    return go.Sankey(
        domain={"x": list(domain_x)},
        arrangement="snap",
        node={"label": labels, "x": [0.001 + 0.998 * s / max(n_steps, 1) for s in steps], "pad": 12},
        link={"source": src, "target": dst, "value": links["value"].tolist()},
    )


def sankey(
    events: pd.DataFrame | ibis.Table,
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = 8,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    compare: tuple[str, object, object] | None = None,
    title: str | None = None,
    align: str = "step",
) -> go.Figure:
    """A plotly Sankey of the flows in :func:`sankey_links`, aligned by step -- or by stage.

    ``align="step"``: one column per step (the k-th event of each path). ``align="stage"`` (with
    ``on="stage"`` on :func:`assign_stages` output): one node per stage, placed in journey order, and links
    for the moves between stages (from :func:`transitions`, self-loops left out, backward moves such as
    at_risk → repeat included). Use ``on="stage", collapse=True`` with the step view to follow stage paths.
    ``compare=(column, a, b)`` draws two Sankeys side by side, one for the rows where ``column == a`` and one
    for ``column == b`` (e.g. two personas).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "y"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> fig = sankey(ev, max_steps=2)
    >>> fig.data[0].link.value
    (1, 1)
    """
    if align == "stage":
        return _stage_sankey(events, on, path, filters, start, end, compare, title)
    if align != "step":
        raise ValueError(f"align must be 'step' or 'stage', not {align!r}")
    kw = dict(on=on, path=path, max_steps=max_steps, top_n=top_n, collapse=collapse, start=start, end=end)
    return _one_or_two(
        lambda f, dom: _sankey_trace(sankey_links(events, filters=f, **kw), dom),
        filters,
        compare,
        title or f"Flows by step ({on})",
    )


def _one_or_two(trace, filters, compare, title: str) -> go.Figure:
    """One Sankey, or two side by side for ``compare=(column, a, b)``: ``trace(filters, x_domain)`` draws one."""
    if compare is None:
        return go.Figure(trace(filters, (0.0, 1.0))).update_layout(title=title)
    col, a, b = compare
    halves = ((a, (0.0, 0.48)), (b, (0.52, 1.0)))
    fig = go.Figure([trace({**(filters or {}), col: [v]}, dom) for v, dom in halves])
    return fig.update_layout(
        title=f"{title}: {col} = {a} (left) vs {b} (right)",
        annotations=[
            dict(text=str(v), x=sum(dom) / 2, y=1.05, xref="paper", yref="paper", showarrow=False) for v, dom in halves
        ],
    )


def _stage_sankey(events, on, path, filters, start, end, compare, title) -> go.Figure:
    def trace(f, dom):
        tr = transitions(_filtered(_table(events), f, start, end), on=on, path=path)
        tr = tr[(tr.source != tr.target) & ~tr.source.isin(["path_start"]) & ~tr.target.isin(["path_end"])]
        names = sorted(set(tr.source) | set(tr.target), key=lambda x: (STAGES.index(x) if x in STAGES else 99, x))
        pos = {n: i for i, n in enumerate(names)}
        x = [0.001 + 0.998 * (i / max(len(names) - 1, 1)) for i in range(len(names))]
        return go.Sankey(
            domain={"x": list(dom)},
            arrangement="snap",
            node={"label": names, "x": x, "pad": 12},
            link={
                "source": [pos[a] for a in tr.source],
                "target": [pos[b] for b in tr.target],
                "value": tr["count"].tolist(),
            },
        )

    return _one_or_two(trace, filters, compare, title or f"Moves between {on}s")


# --- funnels --------------------------------------------------------------------------------------------------


def _days(x: object) -> float | None:
    if x is None:
        return None
    return pd.to_timedelta(x).total_seconds() / _DAY if not isinstance(x, (int, float)) else float(x)


def funnel(
    events: pd.DataFrame | ibis.Table,
    steps: Sequence[str],
    on: str = "event",
    path: str = "customer_id",
    within: str | pd.Timedelta | float | None = None,
    step_within: str | pd.Timedelta | float | None = None,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    top_next: int = 3,
) -> pd.DataFrame:
    """An ordered funnel: how many paths reach each step, in order, within the conversion windows.

    A path enters at its first ``steps[0]`` event; it reaches step i+1 at the first ``steps[i+1]`` event
    after the event that reached step i (by the ordering rule), no later than ``within`` after entering and
    ``step_within`` after the previous step (timedeltas, strings like ``"30D"``, or days).

    Returns one row per step: ``step, name, customers, conversion_from_previous, conversion_from_start,
    median_days_from_previous, p90_days_from_previous, dropped, dropped_to`` (where the paths that stopped
    at this step went next: the top ``top_next`` next events with counts, ``path_end`` when nothing followed).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "event": ["view", "buy", "view", "help"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-01", "2024-01-02"])})
    >>> funnel(ev, ["view", "buy"])[["name", "customers", "dropped_to"]].values.tolist()
    [['view', 2, 'help (1)'], ['buy', 1, '']]
    """
    if len(steps) < 1:
        raise ValueError("a funnel needs at least one step")
    t = _filtered(_table(events), filters, start, end)
    _require(t, [path, "ts", on])
    t = _ordered(t, path, on).mutate(_on=_[on].cast("string"))
    w = ibis.window(group_by=t[path], order_by=t._step)
    t = t.select(_p=t[path], _on=t._on, _step=t._step, _sec=t._sec, _next=t._on.lead().over(w))
    # one pass over the events: only the funnel's own events (with what followed each) are kept, in the engine
    t = t.filter(t._on.isin(list(steps))).cache()
    total = _days(within)
    per = _days(step_within)
    first = t.filter(t._on == steps[0]).group_by("_p").aggregate(_k0=_._step.min())
    first = first.join(t, [first._p == t._p, first._k0 == t._step]).select("_p", "_k0", _s0=_._sec)
    first = first.cache()
    reached = [first]
    cur = first.mutate(_kp=first._k0, _sp=first._s0)
    for name in steps[1:]:
        cand = t.filter(t._on == name).join(cur, "_p")
        cond = cand._step > cand._kp
        if total is not None:
            cond &= cand._sec - cand._s0 <= total * _DAY
        if per is not None:
            cond &= cand._sec - cand._sp <= per * _DAY
        nxt = cand.filter(cond).group_by(["_p", "_s0"]).aggregate(_kp=_._step.min())
        look = t.select(_p2="_p", _kp2="_step", _sp="_sec")
        nxt = nxt.join(look, [nxt._p == look._p2, nxt._kp == look._kp2])
        nxt = nxt.select("_p", "_s0", "_kp", "_sp")
        # time from previous step
        prev = cur.select("_p", _prev_sp="_sp")
        reached.append(nxt.join(prev, "_p").mutate(_dt=(_._sp - _._prev_sp) / _DAY).cache())
        cur = reached[-1].select("_p", "_s0", "_kp", "_sp")
    rows = []
    prev_n = None
    first_n = None
    for i, name in enumerate(steps):
        r = reached[i]
        n = int(r.count().to_pandas())
        first_n = n if first_n is None else first_n
        med = p90 = None
        if i > 0 and n:
            d = r.aggregate(med=r._dt.quantile(0.5), p90=r._dt.quantile(0.9)).to_pandas()
            med, p90 = float(d["med"].iloc[0]), float(d["p90"].iloc[0])
        rows.append(
            dict(
                step=i + 1,
                name=name,
                customers=n,
                conversion_from_previous=(n / prev_n if prev_n else (1.0 if i == 0 else 0.0)),
                conversion_from_start=(n / first_n if first_n else 0.0),
                median_days_from_previous=med,
                p90_days_from_previous=p90,
            )
        )
        prev_n = n
    # where the ones who stopped went next
    for i in range(len(steps)):
        r = reached[i]
        kcol = "_k0" if i == 0 else "_kp"
        if i + 1 < len(steps):
            stopped = r.select("_p", _k=r[kcol]).anti_join(reached[i + 1].select("_p"), "_p")
        else:
            stopped = r.select("_p", _k=r[kcol]).filter(ibis.literal(False))
        look = t.select(_p3="_p", _k3="_step", _on3="_next")
        after = stopped.join(look, [stopped._p == look._p3, stopped._k == look._k3])
        dist = after.group_by(_on3=after._on3.fill_null("path_end")).aggregate(n=_.count()).to_pandas()
        dist = dist.sort_values(["n", "_on3"], ascending=[False, True])
        rows[i]["dropped"] = int(dist["n"].sum()) if len(dist) else 0
        rows[i]["dropped_to"] = ", ".join(f"{a} ({b})" for a, b in dist.head(top_next).values.tolist())
    return pd.DataFrame(rows)


def funnel_figure(f: pd.DataFrame, title: str = "Funnel") -> go.Figure:
    """A plotly funnel of :func:`funnel` output, with conversion from the previous step."""
    fig = go.Figure(go.Funnel(y=f["name"], x=f["customers"], textinfo="value+percent previous+percent initial"))
    fig.update_layout(title=title)
    return fig


# --- diagnosis ------------------------------------------------------------------------------------------------

#: Return reasons by cause: expectation gaps are brand/marketing problems, the rest fulfilment or support.
RETURN_CAUSES: dict[str, tuple[str, ...]] = {
    "expectation gap (brand/marketing)": (
        "not as described",
        "wrong size",
        "changed my mind",
        "colour differs from photos",
    ),
    "fulfilment or support failure": ("arrived damaged", "wrong item sent", "arrived too late", "missing parts"),
}
_SUPPORT_TOPICS = ("delivery", "billing", "technical", "account", "return")


def _per_customer(staged: ibis.Table, slow_hours: float | None) -> ibis.Table:
    """One row per customer with what the drop-off diagnosis needs, computed in the engine."""
    pre = staged.topic.isin(["pre_sale_question"]).fill_null(False)
    failed = pre & (staged.resolved == False).fill_null(False)  # noqa: E712
    if slow_hours is not None and "closed_at" in staged.columns:
        hours = (staged.closed_at.epoch_seconds() - staged.ts.epoch_seconds()) / 3600
        failed |= pre & (hours > slow_hours).fill_null(False)
    first_order = ibis.ifelse(staged.stage == "purchase", staged.amount.fill_null(staged.revenue), ibis.null("float64"))
    co = staged.event == "checkout_start"
    last_co = (
        ibis.ifelse(co, staged.ts.epoch_seconds(), ibis.null("int64"))
        .max()
        .over(ibis.window(group_by=staged.customer_id))
    )
    staged = staged.mutate(
        _pre=pre,
        _failed=failed,
        _fail_co=failed & (staged.ts.epoch_seconds() <= last_co).fill_null(False),
        _co=co,
        _first_order=first_order,
    )
    pre, failed, co, first_order = staged._pre, staged._failed, staged._co, staged._first_order
    return staged.group_by("customer_id").aggregate(
        reached=(staged.stage == "consideration").any() | co.any(),
        checkout=co.any(),
        failure_before_checkout=staged._fail_co.any(),
        bought=staged.first_purchase_ts.notnull().any(),
        presale=pre.any(),
        failure=(failed & (staged.first_purchase_ts.isnull() | (staged.ts < staged.first_purchase_ts))).any(),
        first_order_value=first_order.max(),
    )


def diagnose_dropoff(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMap | Mapping | str | Path | None = None,
    slow_hours: float | None = None,
) -> pd.DataFrame:
    """Why did they not buy? Customers who reached consideration or checkout but never bought, by cause.

    Two branches: **service failure** (a pre-sale ticket, topic ``pre_sale_question``, left unresolved --
    or, with ``slow_hours``, closed later than that -- before the drop) and **marketing only** (no such
    failure: only marketing and browsing touches). For each: ``customers`` who dropped, ``share`` of all
    who dropped, ``reached`` (customers in that branch who reached consideration, bought or not),
    ``conversion`` (share of those who bought), ``checkout_abandoners``, ``excess_dropoffs`` (drops beyond
    what the other branch's conversion rate would give) and ``revenue_at_stake`` (excess drops × the median
    first-order value). Association, not proof of cause: read it with the journey.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", "2024-01-02"]),
    ...     "event": ["ticket", "checkout_start", "product_view", "product_view", "purchase"],
    ...     "topic": ["pre_sale_question", None, None, None, None],
    ...     "resolved": [False, None, None, None, None],
    ...     "revenue": [None, None, None, None, 40.0],
    ... })
    >>> diagnose_dropoff(tp)[["branch", "customers", "conversion"]].values.tolist()
    [['service failure', 1, 0.0], ['marketing only', 1, 0.5]]
    """
    t = _optional(_table(touchpoints))
    for c, k in (("amount", "float64"), ("revenue", "float64")):
        if c not in t.columns:
            t = t.mutate(**{c: ibis.null(k)})
    per = _per_customer(assign_stages(t, stage_map), slow_hours).filter(_.reached)
    agg = per.group_by("failure").aggregate(
        reached=_.count(),
        bought=_.bought.sum(),
        customers=(~_.bought).sum(),
        checkout_abandoners=(_.checkout & ~_.bought).sum(),
        abandoners_failed_first=(_.checkout & ~_.bought & _.failure_before_checkout).sum(),
    )
    df = agg.to_pandas().set_index("failure")
    aov = per.filter(_.first_order_value.notnull()).aggregate(v=_.first_order_value.median()).to_pandas()["v"]
    aov = float(aov.iloc[0]) if len(aov) and pd.notna(aov.iloc[0]) else 0.0
    rows = []
    conv = {f: (float(df.loc[f, "bought"]) / df.loc[f, "reached"] if f in df.index else 0.0) for f in (True, False)}
    dropped_total = int(df["customers"].sum()) if len(df) else 0
    for f, branch in ((True, "service failure"), (False, "marketing only")):
        r = df.loc[f] if f in df.index else pd.Series(0, index=df.columns)
        excess = max(0.0, float(r["reached"]) * (conv[not f] - conv[f])) if f else 0.0
        rows.append(
            dict(
                branch=branch,
                customers=int(r["customers"]),
                share=int(r["customers"]) / dropped_total if dropped_total else 0.0,
                reached=int(r["reached"]),
                conversion=conv[f],
                checkout_abandoners=int(r["checkout_abandoners"]),
                abandoners_failed_first=int(r["abandoners_failed_first"]),
                excess_dropoffs=round(excess, 1),
                revenue_at_stake=round(excess * aov, 2),
            )
        )
    return pd.DataFrame(rows)


def dropoff_verdict(diagnosis: pd.DataFrame) -> str:
    """A plain-language reading of :func:`diagnose_dropoff`.

    Examples
    --------
    >>> d = pd.DataFrame([dict(branch="service failure", customers=30, share=0.3, reached=40, conversion=0.25,
    ...                        checkout_abandoners=20, abandoners_failed_first=18, excess_dropoffs=10.0,
    ...                        revenue_at_stake=500.0),
    ...                   dict(branch="marketing only", customers=70, share=0.7, reached=170, conversion=0.59,
    ...                        checkout_abandoners=10, abandoners_failed_first=0, excess_dropoffs=0.0,
    ...                        revenue_at_stake=0.0)])
    >>> print(dropoff_verdict(d))  # doctest: +ELLIPSIS
    30% of the customers who considered and did not buy had a pre-sale service failure...
    """
    d = diagnosis.set_index("branch")
    s, m = d.loc["service failure"], d.loc["marketing only"]
    lines = [
        f"{s['share']:.0%} of the customers who considered and did not buy had a pre-sale service failure "
        f"(an unresolved pre-sale question); they converted at {s['conversion']:.0%} against "
        f"{m['conversion']:.0%} for those without one."
    ]
    abandoners = s["checkout_abandoners"] + m["checkout_abandoners"]
    if abandoners:
        share = s["abandoners_failed_first"] / abandoners
        lines.append(f"Of checkout abandoners, {share:.0%} had the service failure before abandoning.")
    if s["excess_dropoffs"] > 0:
        lines.append(
            f"That gap is about {s['excess_dropoffs']:,.0f} lost first purchases, "
            f"{s['revenue_at_stake']:,.0f} in first-order revenue: a service fix, not a marketing one."
        )
    lines.append(
        f"The other {m['share']:.0%} dropped with only marketing and browsing touches: a marketing question "
        "(targeting, offer, traffic quality)."
    )
    return " ".join(lines)


def diagnose_returns(
    touchpoints: pd.DataFrame | ibis.Table,
    causes: Mapping[str, Sequence[str]] | None = None,
    ticket_days: float = 14,
) -> pd.DataFrame:
    """Why did they return or cancel? Returned and cancelled orders split by cause.

    A return's ``return_reason`` decides its cause (:data:`RETURN_CAUSES`, or ``causes``). A cancellation has
    no reason: it is a fulfilment or support failure when the customer opened a support ticket (delivery,
    billing, technical, account or return) in the ``ticket_days`` before it, otherwise unexplained.
    Returns ``cause, orders, share, value`` (share of all returned and cancelled orders).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                    "event": ["order", "order"], "table_name": ["orders", "orders"],
    ...                    "status": ["returned", "returned"], "amount": [10.0, 30.0],
    ...                    "return_reason": ["wrong size", "arrived damaged"]})
    >>> diagnose_returns(tp)[["cause", "orders"]].values.tolist()
    [['expectation gap (brand/marketing)', 1], ['fulfilment or support failure', 1], ['unexplained', 0]]
    """
    causes = dict(causes or RETURN_CAUSES)
    t = _optional(_table(touchpoints))
    if "amount" not in t.columns:
        t = t.mutate(amount=ibis.null("float64"))
    tickets = t.filter(t.topic.isin(list(_SUPPORT_TOPICS)).fill_null(False)).select(
        _c="customer_id", _tsec=_.ts.epoch_seconds()
    )
    orders = t.filter(t.status.isin(["returned", "cancelled"]).fill_null(False))
    orders = orders.mutate(
        _osec=orders.ts.epoch_seconds(),
        _rid=ibis.row_number().over(
            ibis.window(order_by=[orders.customer_id, orders.ts, *[orders[c] for c in _ties(orders, "event")]])
        ),
    )
    near = (
        orders.join(
            tickets,
            [
                orders.customer_id == tickets._c,
                tickets._tsec <= orders._osec,
                tickets._tsec >= orders._osec - ticket_days * _DAY,
            ],
        )
        .select("_rid")
        .distinct()
    )
    orders = orders.left_join(near.mutate(_ticket=True), "_rid").drop("_rid_right")
    cause = ibis.cases(
        *[(orders.return_reason.isin(list(v)).fill_null(False), k) for k, v in causes.items()],
        ((orders.status == "cancelled") & orders._ticket.notnull(), "fulfilment or support failure"),
        else_="unexplained",
    )
    got = orders.group_by(cause=cause).aggregate(orders=_.count(), value=_.amount.sum()).to_pandas()
    names = [*causes, "unexplained"]
    got = got.set_index("cause").reindex(names).fillna(0).reset_index()
    got["orders"] = got["orders"].astype("int64")
    got["share"] = got["orders"] / max(int(got["orders"].sum()), 1)
    return got[["cause", "orders", "share", "value"]]


def service_by_stage(
    touchpoints: pd.DataFrame | ibis.Table, stage_map: StageMap | Mapping | str | Path | None = None
) -> pd.DataFrame:
    """Service quality along the journey: per stage, ``customers``, ``tickets``, ``tickets_per_100``,
    ``unresolved_share``, ``csat`` (mean), ``nps`` (mean), ``surveys``.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                    "event": ["product_view", "ticket"], "topic": [None, "pre_sale_question"],
    ...                    "resolved": [None, True], "csat": [None, 4]})
    >>> service_by_stage(tp).loc["consideration", ["tickets", "csat"]].tolist()
    [1.0, 4.0]
    """
    return _service(assign_stages(touchpoints, stage_map))


def _service(s: ibis.Table) -> pd.DataFrame:
    """:func:`service_by_stage` on a stream that already carries its stages."""
    is_ticket = s.topic.notnull()
    got = (
        s.group_by("stage")
        .aggregate(
            customers=s.customer_id.nunique(),
            tickets=is_ticket.cast("int64").sum(),
            unresolved=(is_ticket & (s.resolved == False).fill_null(False)).cast("int64").sum(),  # noqa: E712
            csat=s.csat.mean(),
            nps=s.nps.mean(),
            surveys=s.nps.notnull().cast("int64").sum(),
        )
        .to_pandas()
        .set_index("stage")
    )
    got = got.reindex([x for x in STAGES if x in got.index])
    got["tickets_per_100"] = 100 * got["tickets"] / got["customers"]
    got["unresolved_share"] = got["unresolved"] / got["tickets"].where(got["tickets"] > 0)
    return got[["customers", "tickets", "tickets_per_100", "unresolved_share", "csat", "nps", "surveys"]]


def journey_map(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMap | Mapping | str | Path | None = None,
    filters: Mapping[str, Sequence] | None = None,
    top: int = 3,
) -> pd.DataFrame:
    """The journey map a CJO presents, built from data: one column per stage, buyer journey then customer journey.

    Rows: ``customers`` reaching the stage, ``conversion_to_next`` (share of them who later reach the next
    stage of the main path awareness → consideration → purchase → onboarding → repeat → advocate),
    ``median_days_in_stage``, ``top_touchpoints``, ``top_channels``, ``csat``, ``nps``, ``tickets_per_100``
    and ``pain_points`` (top ticket topics and return reasons). ``filters`` selects rows first, e.g.
    ``{"persona": [...]}`` when the touchpoints carry a persona column.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["ad_click", "product_view", "ad_click"],
    ...                    "channel": ["paid_social", "web", "paid_social"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-02"])})
    >>> journey_map(tp).loc["customers", ["awareness", "consideration"]].tolist()
    [2, 1]
    """
    t = _filtered(_table(touchpoints), filters, None, None)
    s = assign_stages(t, stage_map)
    ties = [s[c] for c in _ties(s, "event")]
    w = ibis.window(group_by=s.customer_id, order_by=[s.ts, *ties])
    s = s.mutate(_sec=s.ts.epoch_seconds(), _next_sec=s.ts.epoch_seconds().lead().over(w))
    stay = s.group_by(["customer_id", "stage"]).aggregate(_in=s._sec.min(), _out=s._next_sec.max(), _last=s._sec.max())
    stay = stay.mutate(_days=(stay._out.fill_null(stay._last) - stay._in) / _DAY)
    reach = stay.group_by("stage").aggregate(customers=_.count(), median_days_in_stage=_._days.median())
    reach = reach.to_pandas().set_index("stage")
    main = ["awareness", "consideration", "purchase", "onboarding", "repeat", "advocate"]
    pairs = [(a, b) for a, b in zip(main, main[1:], strict=False)]
    conv = {}
    for a, b in pairs:
        sa = stay.filter(stay.stage == a).select("customer_id", _ia="_in")
        sb = stay.filter(stay.stage == b).select(_cb="customer_id", _ib="_in")
        j = sa.join(sb, [sa.customer_id == sb._cb, sb._ib >= sa._ia])
        conv[a] = int(j.count().to_pandas())
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
    svc = _service(s)
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


def journey_map_figure(jmap: pd.DataFrame, title: str = "Journey map") -> go.Figure:
    """The journey map as a table figure: stages as columns, buyer journey first."""
    header = ["", *[f"{c}<br><sub>{jmap.loc['journey', c]}</sub>" for c in jmap.columns]]
    cells = [list(jmap.index)] + [
        [("" if pd.isna(v) else (f"{v:.0%}" if r == "conversion_to_next" else f"{v}")) for r, v in jmap[c].items()]
        for c in jmap.columns
    ]
    fig = go.Figure(go.Table(header={"values": header}, cells={"values": cells, "align": "left"}))
    fig.update_layout(title=title)
    return fig


# --- the workspace step ---------------------------------------------------------------------------------------


def analysis_touchpoints(workspace: str | Path | Workspace, include_unidentified: bool = False) -> ibis.Table:
    """The workspace's ``touchpoints`` for journey analysis.

    By default the rows that carried no identifier at all (``identity_links.rule == "no_identifier"``: a
    store visit without a loyalty card, say) are left out: each is its own one-touch "customer" with no
    journey to follow, and they would swell every single-step path. Anonymous visitors with a cookie or
    device id stay in: they are prospects with a journey.
    """
    ws = workspace if isinstance(workspace, Workspace) else connect(workspace, read_only=True)
    tp = ws.table("touchpoints")
    if include_unidentified or not ws.has("identity_links"):
        return tp
    links = ws.table("identity_links")
    lone = links.filter(links.rule == "no_identifier").select("customer_id").distinct()
    return tp.anti_join(lone, "customer_id")


def build(
    workspace: str | Path | Workspace,
    stage_map: StageMap | Mapping | str | Path | None = None,
    include_unidentified: bool = False,
) -> pd.DataFrame:
    """Write the journey tables to the workspace and return the current stage counts.

    Tables: ``customer_stages`` (:func:`current_stage`: ``customer_id, stage, journey, last_ts,
    last_inbound_ts, days_inactive``) and ``stage_history`` (:func:`stage_history`: ``customer_id, month,
    stage``). A ``stage_map.yml`` in the workspace folder is used when ``stage_map`` is not given.
    """
    ws = workspace if isinstance(workspace, Workspace) else connect(workspace)
    if stage_map is None and ws.folder is not None and (ws.folder / "stage_map.yml").exists():
        stage_map = ws.folder / "stage_map.yml"
    sm = StageMap.from_any(stage_map)
    if not ws.has("touchpoints"):
        raise DataError(f"{ws.name}: no touchpoints table; run `cx unify {ws.folder or ''}` first")
    tp = analysis_touchpoints(ws, include_unidentified)
    cur = current_stage(tp, stage_map=sm)
    ws.write("customer_stages", cur)
    ws.write("stage_history", stage_history(tp, sm).order_by(["customer_id", "month"]))
    counts = cur.groupby("stage").size().reindex(list(STAGES), fill_value=0)
    return counts.rename("customers").reset_index()


# --- explorers (the JupyterLab journey explorer, notebooks) -----------------------------------------------------


def staged_touchpoints(
    workspace: str | Path | Workspace,
    stage_map: StageMap | Mapping | str | Path | None = None,
    include_unidentified: bool = False,
    *,
    in_memory: bool = True,
    max_customers: int | None = 100_000,
) -> ibis.Table:
    """The workspace's journey touchpoints, staged once and held in memory for an explorer to redraw from.

    ``touchpoints`` (as :func:`analysis_touchpoints` gives them) → the same rows plus ``persona`` (when the
    workspace has a ``personas`` table) and the columns :func:`assign_stages` adds, materialised in an
    in-memory DuckDB: every redraw of a Sankey or funnel then reads memory, not the workspace file, and the
    file is not held open. The stage map is the workspace's ``stage_map.yml`` when there is one, as in
    :func:`build`.

    Parameters
    ----------
    workspace : folder, path or Workspace
        A unified workspace (``cx unify`` has run).
    stage_map : StageMap, dict, YAML path or None
        The rules (default: ``FOLDER/stage_map.yml``, else :data:`DEFAULT_STAGE_MAP`).
    include_unidentified : bool
        Keep the rows that carried no identifier at all.
    in_memory : bool
        ``True`` (default): a copy in an in-memory DuckDB, for explorers that redraw often. It holds every
        touchpoint in memory, which suits a workspace of demo size, not one of millions of customers.
        ``False``: a temporary table in the workspace itself (pass an open :class:`Workspace`, which must stay
        open while the table is read): it stays within the workspace's memory limit and spills to disk, for
        one-off reads such as a report on a large workspace.
    max_customers : int or None
        In memory, at most this many customers, each with their whole journey: beyond it, a fixed sample
        (the customers with the smallest hash of their id, so the same on every run and in any row order),
        with a warning that says so. 100,000 customers hold about 6 million touchpoints at the generator's
        rates, a couple of GB; ``None`` keeps everyone. Not applied with ``in_memory=False``.

    Examples
    --------
    >>> import tempfile
    >>> from cxlib import io, synth, unify
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=150, seed=3, months=4, progress=False)
    >>> _ = io.load(folder, progress=False)
    >>> _ = unify.unify(folder, probabilistic=False, progress=False)
    >>> staged = staged_touchpoints(folder)
    >>> {"customer_id", "ts", "event", "channel", "stage"} <= set(staged.columns)
    True
    """
    own = not isinstance(workspace, Workspace)
    if own and not in_memory:
        raise ValueError("in_memory=False writes a temporary table to the workspace: pass an open Workspace")
    ws = connect(workspace, read_only=True) if own else workspace
    try:
        if not ws.has("touchpoints"):
            raise DataError(f"{ws.name}: no touchpoints table; run `cx unify {ws.folder or ''}` first")
        if stage_map is None and ws.folder is not None and (ws.folder / "stage_map.yml").exists():
            stage_map = ws.folder / "stage_map.yml"
        tp = analysis_touchpoints(ws, include_unidentified)
        if ws.has("personas"):
            tp = tp.left_join(ws.table("personas").select("customer_id", "persona"), "customer_id")
            tp = tp.drop(*[c for c in tp.columns if c.endswith("_right")])
        if not in_memory:
            return ws.scratch("_staged_touchpoints", assign_stages(tp, stage_map))
        if max_customers is not None:
            ids = tp.select("customer_id").distinct()
            n = int(ids.count().to_pyarrow().as_py())
            if n > max_customers:
                keep = ids.order_by([ids.customer_id.hexdigest("md5"), ids.customer_id]).limit(max_customers)
                tp = tp.semi_join(keep, "customer_id")
                warnings.warn(
                    f"staged a fixed sample of {max_customers:,} of {n:,} customers (each with their whole "
                    "journey) to keep the explorer in memory; `cx journeys` and `cx report` use everyone "
                    "(max_customers=None keeps everyone here too)",
                    stacklevel=2,
                )
        staged = assign_stages(tp, stage_map).to_pyarrow()
    finally:
        if own:
            ws.close()
    return ibis.duckdb.connect().create_table("staged", staged)


def filter_touchpoints(
    touchpoints: pd.DataFrame | ibis.Table,
    personas: Sequence[str] = (),
    channels: Sequence[str] = (),
    start: str | date | None = None,
    end: str | date | None = None,
) -> ibis.Table:
    """The touchpoints of some personas, on some channels, between two dates: what an explorer's controls select.

    An empty ``personas`` or ``channels`` selects all of them. ``start`` and ``end`` bound ``ts``; an ``end``
    given as a day (a ``date``, or a ``"YYYY-MM-DD"`` string) includes that whole day. Filter staged
    touchpoints (:func:`staged_touchpoints`) so that stages stay those of each customer's whole history.

    Examples
    --------
    >>> import datetime as dt
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b"], "channel": ["web", "email", "web"], "persona": ["P1", "P1", "P2"],
    ...     "ts": pd.to_datetime(["2024-01-01 09:00", "2024-01-02 18:30", "2024-01-03 08:00"]),
    ... })
    >>> filter_touchpoints(tp, channels=["web"]).to_pandas()["customer_id"].tolist()
    ['a', 'b']
    >>> len(filter_touchpoints(tp, personas=["P1"], end=dt.date(2024, 1, 2)).to_pandas())  # 18:30 is in
    2
    >>> len(filter_touchpoints(tp, start="2024-01-02", end="2024-01-03").to_pandas())
    2
    """
    filters = {col: list(values) for col, values in (("persona", personas), ("channel", channels)) if values}
    if isinstance(end, str) and len(end.strip()) == 10:  # "YYYY-MM-DD": a day, not its first instant
        try:
            end = date.fromisoformat(end.strip())
        except ValueError:
            pass
    if isinstance(end, date) and not isinstance(end, datetime):
        end = pd.Timestamp(end) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
    return _filtered(_table(touchpoints), filters, start, end)
