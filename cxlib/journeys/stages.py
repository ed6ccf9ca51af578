"""Stages: the stage each touchpoint happens in, by the rules of a :class:`~cxlib.journeys.StageMap`.

The engine computes on stage *codes* (a stage's position in :data:`~cxlib.schema.STAGES`) and names the
stage once, at the end. Rows that already carry ``stage`` (from :func:`assign_stages` or
:func:`~cxlib.journeys.staged_touchpoints`) are never staged again: :func:`coded` reads their stages.

Examples
--------
>>> import pandas as pd
>>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["ad_click", "purchase"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
>>> assign_stages(tp).to_pandas().sort_values("ts")[["stage", "journey"]].values.tolist()
[['awareness', 'buyer'], ['purchase', 'buyer']]
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import ibis
import pandas as pd

from cxlib._analytic import first_non_null, last_non_null
from cxlib._frames import drop_join_copies, first_per_group
from cxlib.journeys.inputs import DAY, NEXT_EVENT, PATH_POS, as_table, require_columns, ties
from cxlib.journeys.stage_map import BUYER_STAGES, CODE, ROW_CONDITIONS, StageMap, StageMapLike, resolve_stage_map
from cxlib.schema import STAGES

__all__ = ["assign_stages", "coded", "stage_code", "stage_name"]

#: The columns :func:`assign_stages` adds that later steps read (besides ``stage`` and ``journey``).
STAGED_COLUMNS = ("stage", "inbound", "first_purchase_ts", "last_inbound_ts")


def optional_columns(t: ibis.Table) -> ibis.Table:
    """Give a touchpoint frame the optional columns the stage rules read, as nulls where absent."""
    kinds = {c: "string" for c in ROW_CONDITIONS}
    kinds.update(resolved="boolean", nps="int64", csat="int64")
    add = {c: ibis.null(k) for c, k in kinds.items() if c not in t.columns}
    # a float NaN is a missing score (pandas writes nulls that way; Spark orders NaN above every number)
    for c in ("nps", "csat", "revenue", "amount"):
        if c in t.columns and c not in add and t[c].type().is_floating():
            add[c] = ibis.ifelse(t[c].isnan(), ibis.null(t[c].type()), t[c])
    return t.mutate(**add) if add else t


def _row_condition(t: ibis.Table, rule: Mapping) -> ibis.BooleanValue:
    cond = ibis.literal(True)
    for c in ROW_CONDITIONS:
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


def stage_name(code: ibis.IntegerValue) -> ibis.StringValue:
    """A stage code's name."""
    return ibis.cases(*[(code == i, s) for i, s in enumerate(STAGES)], else_=ibis.null("string"))


def stage_code(stage: ibis.StringValue) -> ibis.IntegerValue:
    """A stage name's code (for rows that carry names: staged elsewhere)."""
    return ibis.cases(*[(stage == s, i) for i, s in enumerate(STAGES)], else_=0)


def _to_ts(sec: ibis.IntegerValue) -> ibis.TimestampValue:
    return sec.cast("int64").as_timestamp("s")


def _moment(t: ibis.Table, cond: ibis.BooleanValue) -> ibis.IntegerValue:
    """The row's second (``_sec``) where ``cond`` holds, else null: what a path's first / last moment reads."""
    return ibis.ifelse(cond, t._sec, ibis.null("int64"))


def _path_windows(t: ibis.Table) -> tuple:
    order = [t.ts, *ties(t, "event")]
    cum = ibis.cumulative_window(group_by=t.customer_id, order_by=order)
    before = ibis.window(group_by=t.customer_id, order_by=order, rows=(None, -1))
    # the whole path, in the same order as the others: the engine sorts each path once for all of them
    whole = ibis.window(group_by=t.customer_id, order_by=order, rows=(None, None))
    return cum, before, whole


def _marks(t: ibis.Table, sm: StageMap) -> ibis.Table:
    """Per row: ``_sec``, ``inbound``, the first purchase, purchases so far, the buyer state so far, the
    previous and latest inbound touch (epoch seconds), ``_pos`` (the row's place in its path), ``_next_event``
    (the event after the row's) and the customer rules that read the row alone (:func:`_customer_rule_marks`):
    every window in one sort of each path."""
    cum, before, whole = _path_windows(t)
    buy = ibis.literal(False)
    for rule in sm.purchase:
        buy |= _row_condition(t, rule)
    inbound = ~t.event.isin(list(sm.outbound_events)).fill_null(False)
    t = t.mutate(_sec=t.ts.epoch_seconds(), _buy=buy, inbound=inbound)
    buyer_code = ibis.cases(
        *[(_row_condition(t, r), CODE[r["stage"]]) for r in sm.buyer if r["stage"] != "lost"], else_=0
    )
    rules: dict[str, ibis.Value] = {}
    for i, rule in enumerate(sm.customer):
        if "after_gap_days" in rule:
            continue  # reads the windows below: _customer_rule_marks
        cond = _row_condition(t, rule)
        within = "within_days" in rule  # the latest matching moment along the path, else the row's match
        rules[f"_r{i}"] = last_non_null(_moment(t, cond)).over(cum) if within else cond
    # the path is in time order, so a moment's earliest (latest) second so far is the frame's first (last)
    # non-null one: no running MIN / MAX, which DuckDB computes by a segment tree (a fifth of the window's CPU)
    t = t.mutate(
        _first_buy=first_non_null(_moment(t, t._buy)).over(whole),
        _purchases=t._buy.cast("int64").sum().over(cum),
        _bstate=buyer_code.max().over(cum),
        _prev_in=last_non_null(_moment(t, t.inbound)).over(before),
        _pos=ibis.row_number().over(cum),
        _next_event=t.event.cast("string").lead().over(whole),
        **rules,
    )
    # the latest inbound touch up to this row: this one if it is inbound, else the one before it (no window)
    return t.mutate(_last_in=ibis.coalesce(_moment(t, t.inbound), t._prev_in))


def _customer_rule_marks(t: ibis.Table, sm: StageMap) -> ibis.Table:
    """The ``after_gap_days`` rules as columns ``_r{i}``: the latest moment along the path at which an inbound
    touch matching the rule came that long after the previous one, after the first purchase.

    Such a moment reads the path's windows (:func:`_marks`), so it takes a second window over the same paths:
    the frame's last non-null moment, streamed in path order. (A join of the rare moments back to every row
    instead read the first window's rows three times and probed a hash of them with every wide row: 100k
    customers' staging 32-33 -> 21 CPU s, peak 4.5 -> 2.9 GB, the same rows.)
    """
    # in path order by the place the first window numbered (one integer, not the ordering rule's six keys)
    cum = ibis.cumulative_window(group_by=t.customer_id, order_by=t._pos)
    marks: dict[str, ibis.Value] = {}
    for i, rule in enumerate(sm.customer):
        if "after_gap_days" not in rule:
            continue
        gap = int(rule["after_gap_days"] * DAY)
        cond = _row_condition(t, rule) & (
            t.inbound & (t._prev_in >= t._first_buy) & ((t._sec - t._prev_in) >= gap)
        ).fill_null(False)
        marks[f"_r{i}"] = last_non_null(_moment(t, cond)).over(cum)
    return t.mutate(**marks) if marks else t


def _customer_code(t: ibis.Table, sm: StageMap) -> ibis.IntegerValue:
    """The customer-journey stage by the first matching rule (read from :func:`_customer_rule_marks`)."""
    cases = []
    for i, rule in enumerate(sm.customer):
        r = t[f"_r{i}"]
        if "after_gap_days" in rule:
            cond = (t._sec - r <= int(rule.get("for_days", 90) * DAY)).fill_null(False)
        elif "within_days" in rule:
            cond = (t._sec - r <= int(rule["within_days"] * DAY)).fill_null(False)
        else:
            cond = r
        if "max_days_since_first_purchase" in rule:
            cond &= t._sec - t._first_buy <= int(rule["max_days_since_first_purchase"] * DAY)
        if "min_purchases" in rule:
            cond &= t._purchases >= int(rule["min_purchases"])
        cases.append((cond, CODE[rule["stage"]]))
    return ibis.cases(*cases, else_=CODE["repeat"])


def staged_codes(t: ibis.Table, sm: StageMap) -> ibis.Table:
    """Rows plus ``_code`` (the stage code), ``inbound``, ``first_purchase_ts``, ``last_inbound_ts``,
    :data:`~cxlib.journeys.inputs.PATH_POS` (the row's place in its path, from the same window) and
    :data:`~cxlib.journeys.inputs.NEXT_EVENT` (the event after it in the path)."""
    t = _customer_rule_marks(_marks(t, sm), sm)
    code = ibis.cases(
        (t._first_buy.isnull() | (t._sec < t._first_buy), t._bstate),
        (t._sec == t._first_buy, CODE["purchase"]),
        else_=_customer_code(t, sm),
    )
    t = t.mutate(_code=code)
    # a first purchase still to come is not known at this row: a prospect then, idle, is lost, not at risk
    known = ibis.ifelse(t._sec >= t._first_buy, t._first_buy, ibis.null("int64"))
    t = t.mutate(_code=idle_code(t._code, known, t._sec - t._last_in, sm))
    t = t.mutate(
        first_purchase_ts=_to_ts(t._first_buy),
        last_inbound_ts=_to_ts(t._last_in),
        **{PATH_POS: t._pos, NEXT_EVENT: t._next_event},
    )
    return t.drop(*[c for c in t.columns if c.startswith("_") and c != "_code"])


def assign_stages(touchpoints, stage_map: StageMapLike = None) -> ibis.Table:
    """The stage each touchpoint happens in: ``touchpoints`` → the same rows plus ``stage`` and ``journey``.

    Also adds ``inbound`` (the touch counts as activity), ``first_purchase_ts``, ``last_inbound_ts``
    (the latest inbound touch up to and including this one), ``path_pos`` (the row's place in its
    customer's path by the ordering rule, 0 first: readers order a path by it instead of sorting again) and
    ``next_event`` (the event that follows in the path, null after the last). A lazy Ibis table: nothing runs
    until you execute it.

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
    sm = resolve_stage_map(stage_map)
    t = optional_columns(as_table(touchpoints))
    require_columns(t, ["customer_id", "ts", "event"], "touchpoints")
    t = staged_codes(t, sm)
    cols = list(t.columns)
    cols.insert(cols.index("_code"), "stage")
    cols.insert(cols.index("_code"), "journey")
    out = t.mutate(
        stage=stage_name(t._code),
        journey=ibis.ifelse(t._code.isin([CODE[s] for s in BUYER_STAGES]), "buyer", "customer"),
    )
    return out.select(*[c for c in cols if c != "_code"])


def coded(t: ibis.Table, sm: StageMap, until: datetime | pd.Timestamp | None = None) -> ibis.Table:
    """Rows with ``_code``, ``first_purchase_ts`` and ``last_inbound_ts``, as they were up to ``until``.

    Rows that carry ``stage`` keep it (staged once, wherever that was); ``first_purchase_ts`` later than
    ``until`` reads null, as if the later rows had never been seen. Other rows are staged here with ``sm``.
    """
    if until is not None:
        t = t.filter(t.ts <= pd.Timestamp(until).to_pydatetime())
    if "stage" not in t.columns:
        require_columns(t, ["customer_id", "ts", "event"], "touchpoints")
        return staged_codes(optional_columns(t), sm)
    require_columns(t, ["customer_id", "ts", *STAGED_COLUMNS], "staged touchpoints")
    first = t.first_purchase_ts
    if until is not None:
        first = ibis.ifelse(first <= pd.Timestamp(until).to_pydatetime(), first, ibis.null(first.type()))
    return t.mutate(_code=stage_code(t.stage), first_purchase_ts=first)


def with_stages(touchpoints, stage_map: StageMapLike = None) -> ibis.Table:
    """Rows with ``stage`` (and the columns :func:`assign_stages` adds): their own when they carry them,
    else staged here with the map that applies (:func:`~cxlib.journeys.resolve_stage_map`)."""
    t = as_table(touchpoints)
    if "stage" in t.columns:
        require_columns(t, ["customer_id", "ts", *STAGED_COLUMNS], "staged touchpoints")
        return optional_columns(t)
    return assign_stages(t, resolve_stage_map(stage_map, t))


def _onboarding_days(sm: StageMap) -> int:
    for rule in sm.customer:
        if rule["stage"] == "onboarding" and "max_days_since_first_purchase" in rule:
            return int(rule["max_days_since_first_purchase"])
    return 0


def idle_code(code, first_buy, idle_sec, sm: StageMap, since_first=None):
    """Overlay time: the inactivity windows (at_risk / churned for customers, lost for prospects) and, when
    judging a later moment than the last touchpoint (``since_first`` = seconds since the first purchase),
    the move from purchase to onboarding and from onboarding to repeat."""
    ina = sm.inactivity
    customer = first_buy.notnull() & (code != CODE["purchase"])
    idle = idle_sec.fill_null(0)
    if since_first is not None:
        late = since_first > _onboarding_days(sm) * DAY
        code = ibis.cases(
            (code.isin([CODE["purchase"], CODE["onboarding"]]) & late, CODE["repeat"]),
            ((code == CODE["purchase"]) & (since_first > 0), CODE["onboarding"]),
            else_=code,
        )
        customer = first_buy.notnull() & (code != CODE["purchase"])
    return ibis.cases(
        (customer & (idle >= int(ina["churned_days"] * DAY)), CODE["churned"]),
        (customer & (idle >= int(ina["at_risk_days"] * DAY)), CODE["at_risk"]),
        (first_buy.isnull() & (idle >= int(ina["lost_days"] * DAY)), CODE["lost"]),
        else_=code,
    )


def last_rows(t: ibis.Table, period: str | None = None) -> ibis.Table:
    """The last touchpoint per customer (per customer and ``period`` column when given), by the ordering rule.

    The last row has its group's latest ``ts``: a grouped maximum and a join keep only those rows (a group
    with no ``ts`` at all keeps all of its rows; a null key is a group too), and the ordering rule breaks the
    ties among them. Sorting the few candidates, not every row, costs a fraction of one window over them all.
    Staged rows that carry ``path_pos`` take one grouped arg-max of it instead (:func:`_last_by_path_pos`).
    """
    keys = ["customer_id"] + ([period] if period is not None else [])
    if PATH_POS in t.columns:  # staged rows: the last is the one furthest along the path, one aggregate
        return _last_by_path_pos(t, keys)
    latest = t.group_by(keys).aggregate(_cx_last=t.ts.max())
    cand = drop_join_copies(t.join(latest, [t[k].identical_to(latest[k]) for k in keys]))
    cand = cand.filter((cand.ts == cand._cx_last) | cand._cx_last.isnull()).drop("_cx_last")
    order = [ibis.desc(cand.ts), *[ibis.desc(k) for k in ties(cand, "event")]]
    return first_per_group(cand, keys, order)


def _last_by_path_pos(t: ibis.Table, keys: list[str]) -> ibis.Table:
    """:func:`last_rows` of staged rows: each column of the row with the largest :data:`PATH_POS` among those
    with a ``ts`` (among all of them in a group with none), in one grouped aggregate instead of a join and a
    window. The same row: staging numbered each path in the ordering rule's order (``ts``, then the ties),
    so the furthest row with the latest ``ts`` is the last by that rule, and the number is unique in a path."""
    pos = t[PATH_POS].cast("int64")
    key = pos + ibis.ifelse(t.ts.notnull(), ibis.literal(2**40, "int64"), ibis.literal(0, "int64"))
    return t.group_by(keys).aggregate(**{c: t[c].argmax(key) for c in t.columns if c not in keys})
