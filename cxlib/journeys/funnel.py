"""Funnels: how many paths reach each step of an ordered funnel, within conversion windows, and where the
ones who stopped went next.

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["view", "buy", "view"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-01"])})
>>> funnel(ev, ["view", "buy"])["customers"].tolist()
[2, 1]
"""

from __future__ import annotations

import uuid
import weakref
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import ibis
import ibis.expr.operations as ops
import pandas as pd
from ibis import _

from cxlib.journeys.inputs import (
    DAY,
    NEXT_EVENT,
    PATH_POS,
    as_table,
    filtered,
    ordered,
    release,
    require_columns,
)
from cxlib.journeys.stage_map import _recorded

__all__ = ["funnel", "keep_funnel_order"]

# materialised tables whose funnels read their rows' places kept once (keep_funnel_order): the column whose values
# a filter may choose, and once computed the kept table and the span of ts (weak keys: the entry goes with the table)
_ORDER: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
#: what the kept places are: the event names, in each customer's path
_ORDER_ON, _ORDER_PATH = "event", "customer_id"
_EVENT_COLUMNS = ("_p", "_on", "_step", "_sec", "_ts", "_next")
#: how many choices of steps and filters keep their rows (a funnel's rows: some 330k on the demo, ~15 MB)
KEPT_STEP_EVENTS = 4


def _days(x: object) -> float | None:
    if x is None:
        return None
    return pd.to_timedelta(x).total_seconds() / DAY if not isinstance(x, (int, float)) else float(x)


def _funnel_events(
    t: ibis.Table, steps: Sequence[str], on: str, path: str, only_steps: bool = True, keep: str | None = None
) -> ibis.Table:
    """The funnel's own events (``_p, _on, _step, _sec, _next``: what followed each), in one pass, cached; with
    ``only_steps=False`` every event (lazy), and the column ``keep`` too."""
    if _whole_staged_paths(t, on, path):  # staging numbered the rows and noted what follows: no window
        t = t.mutate(_step=t[PATH_POS].cast("int64") + 1, _sec=t.ts.epoch_seconds(), _next=t[NEXT_EVENT])
    else:
        t = ordered(t, path, on, following=True)
    t = t.mutate(_on=_[on].cast("string"))
    extra = {keep: t[keep]} if keep is not None else {}
    t = t.select(_p=t[path], _on=t._on, _step=t._step, _sec=t._sec, _ts=t.ts, _next=t._next, **extra)
    return t.filter(t._on.isin(list(steps))).cache() if only_steps else t


def _whole_staged_paths(t: ibis.Table, on: str, path: str) -> bool:
    """Whether ``t`` is a staged table as cxlib keeps or materialises it (``journey_touchpoints``, an explorer's
    copy: a table itself, marked with its stage map, every row of each of its customers), by event and customer:
    then each row's place in the order is its ``path_pos`` and what follows it its ``next_event``. Not for an
    expression on it (a filter leaves rows out: what follows a row there is another question)."""
    cols = t.columns
    return (
        on == "event"
        and path == "customer_id"
        and PATH_POS in cols
        and NEXT_EVENT in cols
        and isinstance(t.op(), ops.DatabaseTable)
        and _recorded(t) is not None
    )


def keep_funnel_order(staged: ibis.Table, by: str = "persona") -> ibis.Table:
    """Let :func:`funnel` of the materialised table ``staged`` (an explorer's copy) order its rows once.

    The first funnel of it keeps every row's place in its customer's path and the event that follows (one pass
    over the rows, in ``staged``'s own database); every later funnel by ``event`` of every customer, or of some
    values of ``by`` (one per customer: a persona), over the whole span of ``ts``, reads them: a new window or
    new steps cost a few small queries, not a pass. Other funnels are computed as before. The numbers are the same.

    Examples
    --------
    >>> ev = ibis.memtable(pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["view", "buy", "view"],
    ...                                  "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-01"])})).cache()
    >>> funnel(keep_funnel_order(ev), ["view", "buy"], within=1)["customers"].tolist()
    [2, 0]
    >>> funnel(ev, ["view", "buy"], within=5)["customers"].tolist()
    [2, 1]
    """
    _ORDER[staged.op()] = {"by": by if by in staged.columns else None}
    return staged


def _kept_events(
    events: object, steps: Sequence[str], on: str, path: str, filters: Mapping[str, Sequence] | None,
    start: str | pd.Timestamp | None, end: str | pd.Timestamp | None,
) -> ibis.Table | None:
    """:func:`_funnel_events` of the call from the kept places of ``events`` (:func:`keep_funnel_order`), or None
    when they do not hold it (another ``on`` or ``path``, a filter on another column, a window leaving rows out)."""
    try:
        kept = _ORDER.get(events.op()) if isinstance(events, ibis.Table) else None
    except TypeError:
        kept = None
    filters = dict(filters or {})
    if kept is None or (on, path) != (_ORDER_ON, _ORDER_PATH) or set(filters) - {kept["by"]}:
        return None
    if "rows" not in kept:  # the first funnel: every row's place, once
        t = _funnel_events(events, steps, on, path, only_steps=False, keep=kept["by"])
        con = events.get_backend()
        kept["rows"] = con.create_table(f"_funnel_order_{uuid.uuid4().hex}", t)
        span = events.aggregate(lo=events.ts.min(), hi=events.ts.max()).to_pandas().iloc[0]
        kept["lo"], kept["hi"] = pd.Timestamp(span["lo"]), pd.Timestamp(span["hi"])
    if (start is not None and pd.Timestamp(start) > kept["lo"]) or (end is not None and pd.Timestamp(end) < kept["hi"]):
        return None
    return _step_events(kept, steps, filters)


def _step_events(kept: dict, steps: Sequence[str], filters: Mapping[str, Sequence]) -> ibis.Table:
    """The kept places' rows of the funnel's steps and filters, kept too (the last :data:`KEPT_STEP_EVENTS`
    choices): a new window reads them again."""
    key = (tuple(steps), tuple(sorted(((c, tuple(sorted(v, key=repr))) for c, v in filters.items()), key=repr)))
    got = kept.setdefault("steps", OrderedDict())
    if key not in got:
        t = kept["rows"]
        t = t.filter(t._on.isin(list(steps)))
        for col, values in filters.items():
            t = t.filter(t[col].isin(list(values)))
        con, name = kept["rows"].get_backend(), f"_funnel_steps_{uuid.uuid4().hex}"
        got[key] = (name, con.create_table(name, t.select(*_EVENT_COLUMNS)))
        while len(got) > KEPT_STEP_EVENTS:
            con.drop_table(got.popitem(last=False)[1][0])
    got.move_to_end(key)
    return got[key][1]


def _reached(t: ibis.Table, steps: Sequence[str], total: float | None, per: float | None) -> list[ibis.Table]:
    """Per step, the paths that reached it: ``_p, _s0`` and the step's position ``_k0``/``_kp`` (and ``_dt``,
    days from the previous step, after the first).

    A step is reached by a later event, or by one at the very same moment as the previous step's (in either
    order: simultaneous events, as Amplitude counts them), unless its name came earlier in the funnel (then
    only a later event counts, so that no event is counted twice).
    """
    first = t.filter(t._on == steps[0]).group_by("_p").aggregate(_k0=_._step.min())
    first = first.join(t, [first._p == t._p, first._k0 == t._step]).select("_p", "_k0", _s0=_._sec, _t0=_._ts)
    first = first.cache()
    reached = [first]
    cur = first.select("_p", "_s0", _kp=first._k0, _sp=first._s0, _tp=first._t0)
    for i, name in enumerate(steps[1:], start=1):
        cand = t.filter(t._on == name).join(cur, "_p")
        cond = cand._step > cand._kp
        if name not in steps[:i]:
            cond |= (cand._ts == cand._tp) & (cand._step != cand._kp)
        if total is not None:
            cond &= cand._sec - cand._s0 <= total * DAY
        if per is not None:
            cond &= cand._sec - cand._sp <= per * DAY
        nxt = cand.filter(cond).group_by(["_p", "_s0"]).aggregate(_kp=_._step.min())
        look = t.select(_p2="_p", _kp2="_step", _sp="_sec", _tp="_ts")
        nxt = nxt.join(look, [nxt._p == look._p2, nxt._kp == look._kp2]).select("_p", "_s0", "_kp", "_sp", "_tp")
        prev = cur.select("_p", _prev_sp="_sp")
        step = nxt.join(prev, "_p").mutate(_dt=(_._sp - _._prev_sp) / DAY).cache()
        reached.append(step)
        cur = step.select("_p", "_s0", "_kp", "_sp", "_tp")
    return reached


def _step_rows(reached: list[ibis.Table], steps: Sequence[str]) -> list[dict]:
    """Per step: customers, conversions and the days from the previous step."""
    rows, prev_n, first_n = [], None, None
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
    return rows


def _dropped(t: ibis.Table, reached: list[ibis.Table], i: int, top_next: int) -> tuple[int, str]:
    """How many paths stopped at step ``i`` and where they went next (the top ``top_next``, with counts)."""
    r = reached[i]
    kcol = "_k0" if i == 0 else "_kp"
    if i + 1 < len(reached):
        stopped = r.select("_p", _k=r[kcol]).anti_join(reached[i + 1].select("_p"), "_p")
    else:
        stopped = r.select("_p", _k=r[kcol]).filter(ibis.literal(False))
    look = t.select(_p3="_p", _k3="_step", _on3="_next")
    after = stopped.join(look, [stopped._p == look._p3, stopped._k == look._k3])
    dist = after.group_by(_on3=after._on3.fill_null("path_end")).aggregate(n=_.count()).to_pandas()
    dist = dist.sort_values(["n", "_on3"], ascending=[False, True])
    n = int(dist["n"].sum()) if len(dist) else 0
    return n, ", ".join(f"{a} ({b})" for a, b in dist.head(top_next).values.tolist())


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
    after the event that reached step i (by the ordering rule) or at the same moment as it (simultaneous
    events count in either order, so a count never depends on how ties are keyed; a step whose name came
    earlier in the funnel needs a later event), no later than ``within`` after entering and ``step_within``
    after the previous step (timedeltas, strings like ``"30D"``, or days).

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
    t = filtered(as_table(events), filters, start, end)
    require_columns(t, [path, "ts", on])
    kept = _kept_events(events, steps, on, path, filters, start, end)
    t = kept if kept is not None else _funnel_events(t, steps, on, path)
    reached: list[ibis.Table] = []
    try:
        reached = _reached(t, steps, _days(within), _days(step_within))
        rows = _step_rows(reached, steps)
        for i, row in enumerate(rows):
            row["dropped"], row["dropped_to"] = _dropped(t, reached, i, top_next)
    finally:
        release(t, *reached)
    return pd.DataFrame(rows)
