"""Where customers are: the stage of each customer now, month by month, and the counts per stage.

Rows that already carry ``stage`` are read as they are (staged once); other rows are staged with the map
that applies (:func:`~cxlib.journeys.resolve_stage_map`), which also sets the inactivity windows that move
a quiet customer to ``at_risk``, ``churned`` or ``lost`` as time passes.

Examples
--------
>>> import pandas as pd
>>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["product_view", "purchase"],
...                    "ts": pd.to_datetime(["2024-01-10", "2024-02-02"])})
>>> current_stage(tp, as_of="2024-02-20")[["customer_id", "stage", "days_inactive"]].values.tolist()
[['a', 'onboarding', 18]]
"""

from __future__ import annotations

from collections.abc import Callable

import ibis
import numpy as np
import pandas as pd
from ibis import _

from cxlib.journeys.inputs import DAY, as_table
from cxlib.journeys.stage_map import BUYER_STAGES, CODE, StageMap, StageMapLike, resolve_stage_map
from cxlib.journeys.stages import coded, idle_code, last_rows, stage_name
from cxlib.schema import STAGES, DataError

__all__ = ["current_and_history", "current_stage", "ever_reached", "stage_counts", "stage_history"]


def current_stage(touchpoints, as_of: str | pd.Timestamp | None = None, stage_map: StageMapLike = None) -> pd.DataFrame:
    """Where each customer is now: one row per customer seen up to ``as_of`` (default: the latest ``ts``).

    Returns ``customer_id, stage, journey, last_ts, last_inbound_ts, days_inactive``. Staged rows
    (:func:`~cxlib.journeys.staged_touchpoints`) keep their stages; ``stage_map`` (default: the map they
    were staged with) then only sets the inactivity windows.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["product_view", "purchase", "page_view"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-06-01"])})
    >>> current_stage(tp)[["customer_id", "stage"]].values.tolist()
    [['a', 'churned'], ['b', 'awareness']]
    """
    t = as_table(touchpoints)
    sm = resolve_stage_map(stage_map, t)
    as_of = pd.Timestamp(t.ts.max().to_pandas()) if as_of is None else pd.Timestamp(as_of)
    if pd.isna(as_of):  # no touchpoint at all (every customer anonymous): nobody is anywhere
        return pd.DataFrame({"customer_id": pd.Series(dtype="string"), "stage": pd.Series(dtype="string"),
                             "journey": pd.Series(dtype="string"), "last_ts": pd.Series(dtype="datetime64[us]"),
                             "last_inbound_ts": pd.Series(dtype="datetime64[us]"),
                             "days_inactive": pd.Series(dtype="int64")})
    return _current(last_rows(coded(t, sm, until=as_of)), as_of, sm)


def _current(last: ibis.Table, as_of: pd.Timestamp, sm: StageMap) -> pd.DataFrame:
    """:func:`current_stage` of each customer's last row up to ``as_of`` (``customer_id, ts, _code,
    first_purchase_ts, last_inbound_ts``)."""
    now = int(as_of.timestamp())
    first = _seconds(last.first_purchase_ts)
    idle = now - _seconds(last.last_inbound_ts)
    code = idle_code(last._code, first, idle, sm, now - first)
    out = last.select(
        "customer_id",
        stage=stage_name(code),
        journey=ibis.ifelse(code.isin([CODE[s] for s in BUYER_STAGES]), "buyer", "customer"),
        last_ts=last.ts,
        last_inbound_ts=last.last_inbound_ts,
        days_inactive=(idle / DAY).floor().cast("int64"),
    )
    df = out.to_pandas().sort_values("customer_id", ignore_index=True)
    for c in ("last_ts", "last_inbound_ts"):  # one unit whatever the engine returns
        df[c] = pd.to_datetime(df[c]).astype("datetime64[us]")
    return df[["customer_id", "stage", "journey", "last_ts", "last_inbound_ts", "days_inactive"]]


def _calendar(first_month: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """One row per month: ``_m`` (index), ``month`` (start), ``_from`` and ``_at`` (the judged moment)."""
    months = pd.period_range(first_month, end, freq="M")
    return pd.DataFrame(
        {
            "_m": np.arange(len(months), dtype="int64"),
            "month": months.start_time,
            # the moment the month is judged: its last second, or `end` in the last month
            "_at": [min(int(p.end_time.timestamp()), int(end.timestamp())) for p in months],
            "_from": [int(p.start_time.timestamp()) for p in months],
        }
    )


def _monthly_last(staged: ibis.Table, first_month: pd.Timestamp, keep: bool = False) -> ibis.Table:
    """Each customer's last touchpoint in each month they were seen: ``customer_id, _m, _code, _first, _last_in``
    (with ``keep``, also the row's ``ts, first_purchase_ts, last_inbound_ts``: what :func:`_current` reads)."""
    month_idx = (staged.ts.year() - first_month.year) * 12 + staged.ts.month() - first_month.month
    last = last_rows(staged.mutate(_m=month_idx.cast("int64")), "_m")
    kept = ["ts", "first_purchase_ts", "last_inbound_ts"] if keep else []
    return last.select(
        "customer_id",
        "_m",
        "_code",
        *kept,
        _first=_seconds(last.first_purchase_ts),
        _last_in=_seconds(last.last_inbound_ts),
    )


def _seconds(ts: ibis.TimestampValue) -> ibis.IntegerValue:
    """``ts`` in whole epoch seconds, rounded down, as the moments judged at are (``_at``: ``int(timestamp())``).

    The engine's epoch of a time with a fraction is fractional, and kept so in an expression but rounded when
    stored in a whole-number column: a customer quiet for exactly 60 days, to the millisecond, was at risk in a
    map drawn from stored parts and not in one drawn from the rows. Whole seconds first, both read alike."""
    return ts.truncate("s").epoch_seconds()


#: Why there is nothing to stage month by month, and what to do.
NO_TIMED_ROWS = (
    "no touchpoint with a customer and a time to stage: the touchpoints are empty (contact records alone have no "
    "journey), or every row has no time or no identifier to link it to a customer (rule no_identifier). Journeys "
    "need the events, orders, tickets or surveys of known people: add those exports to sources.yml (`cx sources "
    "FOLDER`), then run `cx load FOLDER` and `cx unify FOLDER`"
)


def current_and_history(
    touchpoints, stage_map: StageMapLike = None, keep: Callable[[ibis.Table], ibis.Table] | None = None
) -> tuple[pd.DataFrame, ibis.Table]:
    """:func:`current_stage` and :func:`stage_history` (both as of the latest ``ts``) from one pass over the
    rows: each customer's last row per month, of which the last month's is the customer's last row (the
    ordering rule is the same, month by month). ``keep`` (optional) materialises the monthly rows, e.g.
    ``lambda t: ws.scratch("_monthly", t)``, so that both read them instead of the rows. The same tables as
    the two functions give.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["product_view", "purchase", "page_view"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-06-01"])})
    >>> cur, hist = current_and_history(tp)
    >>> def rows(h):  # in no particular order from the engine
    ...     return h.to_pandas().sort_values(["customer_id", "month"], ignore_index=True)
    >>> cur.equals(current_stage(tp)), rows(hist).equals(rows(stage_history(tp)))
    (True, True)
    """
    t = as_table(touchpoints)
    sm = resolve_stage_map(stage_map, t)
    monthly, filled, end = _month_rows(t, sm, keep=keep, current=True)
    last = monthly.group_by("customer_id").aggregate(
        **{c: monthly[c].argmax(monthly._m) for c in ("ts", "_code", "first_purchase_ts", "last_inbound_ts")}
    )
    return _current(last, end, sm), _judged(filled, sm)


def _carried_forward(last: ibis.Table, cal: pd.DataFrame) -> ibis.Table:
    """Every month from a customer's first: the last touchpoint seen so far, with the month's ``_at, _from``.

    Each monthly row holds until the customer's next month with a touchpoint (``_until``, from one window over
    the monthly rows), so it is joined to the calendar's months in ``[_m, _until)``: the monthly rows are read
    once, and no window runs over the filled grid.
    """
    w = ibis.window(group_by=last.customer_id, order_by=last._m)
    spans = last.mutate(_until=last._m.lead().over(w).fill_null(len(cal)))
    c = ibis.memtable(cal).rename(_cm="_m")
    g = spans.join(c, [c._cm >= spans._m, c._cm < spans._until])
    return g.select("customer_id", "month", "_at", "_from", _src=g._m, _code=g._code, _first=g._first,
                    _last_in=g._last_in)


def stage_history(touchpoints, stage_map: StageMapLike = None, end: str | pd.Timestamp | None = None) -> ibis.Table:
    """Each customer's stage at every month end, from their first touchpoint's month to ``end``.

    ``touchpoints`` → ``customer_id, month (month start), stage``: the stage at the end of that month (or at
    ``end``, default the latest ``ts``, for the last month), except that the month of a customer's first
    purchase reads ``purchase``. This is the monthly panel the journey model
    (``cxlib.simulate``) fits. A lazy Ibis table. Staged rows keep their stages.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["product_view", "purchase"],
    ...                    "ts": pd.to_datetime(["2024-01-10", "2024-02-02"])})
    >>> stage_history(tp, end="2024-06-30").to_pandas().sort_values("month")["stage"].tolist()
    ['consideration', 'purchase', 'repeat', 'at_risk', 'at_risk', 'churned']
    """
    t = as_table(touchpoints)
    sm = resolve_stage_map(stage_map, t)
    return _judged(month_ends(t, sm, end), sm)


def _judged(filled: ibis.Table, sm: StageMap) -> ibis.Table:
    """``customer_id, month, stage`` of :func:`month_ends`' rows, each judged at its ``_at``."""
    return filled.select("customer_id", "month", stage=stage_name(month_end_code(filled, filled._at, sm)))


def month_ends(t: ibis.Table, sm: StageMap, end: str | pd.Timestamp | None = None) -> ibis.Table:
    """Every month from each customer's first to ``end``'s (default: the latest ``ts``): ``customer_id, month,
    _at, _from`` and the last touchpoint seen by then (``_code, _first, _last_in``); what
    :func:`stage_history` judges with :func:`month_end_code`. The last month's ``_at`` is ``end``."""
    return _month_rows(t, sm, end)[1]


def _month_rows(
    t: ibis.Table,
    sm: StageMap,
    end: str | pd.Timestamp | None = None,
    keep: Callable[[ibis.Table], ibis.Table] | None = None,
    current: bool = False,
) -> tuple[ibis.Table, ibis.Table, pd.Timestamp]:
    """``(monthly, filled, end)``: each customer's last row per month (:func:`_monthly_last`; with ``current``,
    what :func:`_current` reads too; materialised by ``keep`` when given), :func:`month_ends`' rows from them,
    and ``end``."""
    first = t.ts.min().to_pandas()
    if first is None or pd.isna(first):  # no month to stage (a CRM export alone; every row unidentified)
        raise DataError(NO_TIMED_ROWS)
    end = pd.Timestamp(t.ts.max().to_pandas()) if end is None else pd.Timestamp(end)
    first_month = pd.Timestamp(first).to_period("M").start_time
    monthly = _monthly_last(coded(t, sm, until=end), first_month, keep=current)
    if keep is not None:
        monthly = keep(monthly)
    return monthly, _carried_forward(monthly, _calendar(first_month, end)), end


def month_end_code(filled: ibis.Table, at: ibis.IntegerValue, sm: StageMap) -> ibis.IntegerValue:
    """The stage code of :func:`month_ends`' rows judged at ``at`` (epoch seconds: their ``_at``, or another
    moment in the same month)."""
    # judged at ``at``: a first purchase after it is not known yet (a later purchase must not turn a quiet
    # prospect into an at-risk customer; a backtest cut at that month would otherwise see it)
    first = ibis.ifelse(filled._first <= at, filled._first, ibis.null("int64"))
    code = idle_code(filled._code, first, at - filled._last_in, sm, at - first)
    # the month of the first purchase reads "purchase" (a one-month stage, as in the journey model)
    bought_now = (filled._first >= filled._from) & (filled._first <= at)
    return ibis.ifelse(bought_now.fill_null(False), CODE["purchase"], code)


def stage_counts(touchpoints, freq: str = "M", stage_map: StageMapLike = None) -> pd.DataFrame:
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
    return counts_by_period(stage_history(touchpoints, stage_map), freq)


def counts_by_period(history: ibis.Table, freq: str = "M") -> pd.DataFrame:
    """:func:`stage_counts` of a ``stage_history`` table (e.g. the one ``cx journeys`` writes)."""
    counts = history.group_by(["month", "stage"]).aggregate(customers=_.count()).to_pandas()
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


def ever_reached(staged: ibis.Table, history: ibis.Table) -> pd.Series:
    """Customers who ever reached each stage: at a staged touchpoint (its ``stage``) or at a month end
    (``history``, :func:`stage_history`'s rows: quiet customers reach at_risk, churned or lost there). The one
    definition behind the ``stage_ever`` metric and the journey map's ``customers`` row; indexed by stage.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a"], "event": ["product_view", "purchase"],
    ...                    "ts": pd.to_datetime(["2024-01-10", "2024-02-02"])})
    >>> from cxlib.journeys.stages import assign_stages
    >>> ever = ever_reached(assign_stages(tp), stage_history(tp, end="2024-06-30"))
    >>> int(ever["purchase"]), int(ever["churned"]), int(ever["advocate"])
    (1, 1, 0)
    """
    rows = staged.select("customer_id", "stage").union(history.select("customer_id", "stage"), distinct=True)
    ever = rows.group_by("stage").aggregate(n=rows.count()).to_pandas().set_index("stage")["n"]
    return ever.reindex(list(STAGES), fill_value=0)
