"""The path interchange format built from the unified touchpoints, in the engine (DuckDB or Spark).

Examples
--------
>>> from cxlib.attribution.paths import PATH_COLUMNS
>>> PATH_COLUMNS
('path', 'conversions', 'value', 'nulls')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import ibis
import pandas as pd
from ibis import _

from cxlib.chunks import BUCKET_COLUMN, chunk, chunk_count
from cxlib.engine import Workspace
from cxlib.io.read import unordered
from cxlib.io.sql import literal
from cxlib.journeys.inputs import DAY, PATH_POS, TIE_COLUMNS, as_table, by_path_pos, require_columns, ties

#: The columns of the path interchange format.
PATH_COLUMNS: tuple[str, ...] = ("path", "conversions", "value", "nulls")
#: What counts as a conversion by default: an order that was placed (completed or later returned).
DEFAULT_CONVERSION: dict[str, list[str]] = {"table_name": ["orders"], "status": ["completed", "returned"]}
#: The rule-based models of :func:`heuristics`, in presentation order.
HEURISTIC_MODELS: tuple[str, ...] = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
#: What joins the channels of a path.
PATH_SEP = " > "
#: The path of a conversion with no touch inside the lookback (:func:`paths_from_touchpoints`' ``no_touch``).
NO_TOUCH = "(none)"
#: Engine memory allowed per candidate row (touch or conversion) of a chunk: on DuckDB,
#: :func:`paths_from_touchpoints` runs its query once per chunk of customers, each of at most
#: ``memory_limit / CHUNK_BYTES_PER_ROW`` candidate rows (about 16 million at cxlib's 4 GB), and adds the per-path
#: sums up after. Measured at the query's peak: 110-150 bytes a row (100k customers, 2 threads). Each chunk
#: reads every touchpoint again (0.7 s a chunk at 100k customers), so chunks cost more than a little spilling:
#: 100k customers (5.2M candidate rows) under a 400 MB limit (1M customers' ratio to 4 GB) took 17.9 s in 17
#: chunks at 1,000 bytes a row, 7.7 s in 5 at 250 (no spill), 6.8 s in 3 at 150 (80 MB spilled).
CHUNK_BYTES_PER_ROW = 250
#: Candidate rows per chunk whatever the engine (``None``: from the above); set it to force a chunk size.
CHUNK_ROWS: int | None = None


# --- paths from touchpoints -----------------------------------------------------------------------------------


def matches_rule(t: ibis.Table, rule: Mapping[str, Sequence]) -> ibis.BooleanValue:
    """AND of ``column in values`` over the rule's keys (a missing value never matches)."""
    cond = ibis.literal(True)
    for col, values in rule.items():
        require_columns(t, [col], "touchpoints")
        vals = [values] if isinstance(values, str) else list(values)
        cond &= t[col].isin(vals).fill_null(False)
    return cond


def paths_from_touchpoints(
    touchpoints: pd.DataFrame | ibis.Table | Workspace | str | Path,
    channel: str = "channel",
    conversion: Mapping[str, Sequence] | None = None,
    value: str = "revenue",
    lookback_days: float = 30,
    touch_tables: Sequence[str] | None = ("events",),
    exclude_events: Sequence[str] = ("purchase", "email_holdout"),
    collapse_repeats: bool = False,
    no_touch: str | None = NO_TOUCH,
    path: str = "customer_id",
) -> pd.DataFrame:
    """Build the path table from a touchpoint stream: ``touchpoints`` → ``path, conversions, value, nulls``.

    For each customer, the touches (rows with a ``channel``) before each conversion, within ``lookback_days``
    of it, form one converting path worth the conversion's ``value``; each touch counts toward the next
    conversion only. The touches after a customer's last conversion (the non-converting tail), within
    ``lookback_days`` of the tail's last touch, form one null path. The per-customer work runs in the engine,
    for a large input in chunks of customers (a hash of ``path``; :data:`CHUNK_BYTES_PER_ROW`), so that its memory
    stays bounded; only the aggregated paths (one row per distinct path, sorted by ``path``) come back, the
    chunks' added up path by path: the same table as in one query.

    Parameters
    ----------
    touchpoints : DataFrame, Ibis table, Workspace or workspace folder
        At least ``customer_id`` (``path``), ``ts``, ``channel`` and the columns the rules read.
    channel : str
        The column naming the channel of a touch.
    conversion : dict, optional
        Which rows are conversions: ``{column: [values]}``, all conditions must hold
        (default :data:`DEFAULT_CONVERSION`: orders placed, completed or returned).
    value : str
        The conversion's value column (the unified stream's ``revenue``: a completed order's amount, 0 for
        a returned one). Missing values count as 0.
    lookback_days : float
        How far before a conversion a touch may be to count toward it.
    touch_tables : sequence of str or None
        Only rows of these ``table_name`` values are touches (default: web, app, email, store and ad events;
        ``None``: every row with a channel, service tickets and surveys included).
    exclude_events : sequence of str
        Events that are never touches: the analytics ``purchase`` event duplicates the order itself, and
        ``email_holdout`` marks an email that was *not* sent.
    collapse_repeats : bool
        Merge consecutive touches of the same channel (``"web > web > email"`` → ``"web > email"``).
    no_touch : str or None
        The path of a conversion with no touch inside the lookback (``None``: leave such conversions out).
    path : str
        The column identifying a customer.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-01"]),
    ...     "table_name": ["events", "events", "orders", "events", "events"],
    ...     "channel": ["paid_search", "email", "web", "web", "display"],
    ...     "event": ["ad_click", "email_open", "order", "page_view", "ad_click"],
    ...     "status": [None, None, "completed", None, None],
    ...     "revenue": [None, None, 80.0, None, None],
    ... })
    >>> paths_from_touchpoints(tp).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'path': 'display', 'conversions': 0, 'value': 0.0, 'nulls': 1},
     {'path': 'paid_search > email', 'conversions': 1, 'value': 80.0, 'nulls': 0},
     {'path': 'web', 'conversions': 0, 'value': 0.0, 'nulls': 1}]
    """
    t = as_table(touchpoints)
    require_columns(t, [path, "ts", channel], "touchpoints")
    rule = dict(DEFAULT_CONVERSION if conversion is None else conversion)
    is_conv, is_touch = _conversions_and_touches(t, rule, channel, touch_tables, exclude_events)
    buckets = _kept_buckets(t, path)  # kept journey rows: chunks by bucket range, sized by every row
    n = _chunk_count(t if buckets is not None else t.filter(is_conv | is_touch))
    parts = []
    for i in range(n):  # a fixed order: the float sums below add up the same way every time
        tc = chunk(t, i, n, t[path], buckets)
        is_conv, is_touch = _conversions_and_touches(tc, rule, channel, touch_tables, exclude_events)
        convs, touches = _numbered(tc, is_conv, is_touch, channel, value, path)
        segs = _segments(touches, convs, lookback_days, collapse_repeats)
        parts.append(_path_table(convs, segs, no_touch))
    return _summed(parts)


def nothing_to_attribute(paths: pd.DataFrame) -> str | None:
    """Why a path table (:func:`paths_from_touchpoints`) gives the channels nothing to share, in words -- no
    conversion, or no conversion with a touch (an orders-only shop) -- else ``None``. The report and the
    strategy page say it instead of a chart of one bar.

    Examples
    --------
    >>> nothing_to_attribute(pd.DataFrame({"path": [NO_TOUCH], "conversions": [5]}))[:37]
    'No purchase had a marketing touch (we'
    >>> nothing_to_attribute(pd.DataFrame({"path": ["email", NO_TOUCH], "conversions": [1, 5]})) is None
    True
    """
    if paths.empty or paths["conversions"].sum() == 0:
        return "No converting paths to attribute."
    if paths.loc[paths["path"] != NO_TOUCH, "conversions"].sum() == 0:
        return (
            "No purchase had a marketing touch (web, app, e-mail, store or ad event) in the 30 days before it: "
            "nothing to attribute. Add the analytics or e-mail exports to `sources.yml` to see which channels "
            "lead to purchases."
        )
    return None


def _conversions_and_touches(
    t: ibis.Table,
    rule: Mapping[str, Sequence],
    channel: str,
    touch_tables: Sequence[str] | None,
    exclude_events: Sequence[str],
) -> tuple[ibis.BooleanValue, ibis.BooleanValue]:
    """Which rows are conversions, and which are touches (rows with a channel that the filters keep)."""
    is_conv = matches_rule(t, rule)
    is_touch = t[channel].notnull() & ~is_conv
    if touch_tables is not None:
        require_columns(t, ["table_name"], "touchpoints")
        is_touch &= t.table_name.isin(list(touch_tables)).fill_null(False)
    if exclude_events:
        require_columns(t, ["event"], "touchpoints")
        is_touch &= ~t.event.isin(list(exclude_events)).fill_null(False)
    return is_conv, is_touch


def _numbered(
    t: ibis.Table, is_conv: ibis.BooleanValue, is_touch: ibis.BooleanValue, channel: str, value: str, path: str
) -> tuple[ibis.Table, ibis.Table]:
    """Conversions (``_p, _k, _csec, _val``) and touches (``_p, _k, _sec, _ch, _n``), each numbered with
    ``_k``: how many conversions came strictly before it (the conversion a touch counts toward); a touch's
    ``_n`` is its place in the customer's order (``ts``, then :func:`~cxlib.journeys.inputs.ties` and the
    channel; on staged rows their ``path_pos``, the same order), from the same window: the segments sort their
    touches by it alone."""
    if value in t.columns:
        v = t[value].cast("float64")
        v = ibis.ifelse(v.isnan().fill_null(False), ibis.null("float64"), v).fill_null(0.0)
    else:
        v = ibis.literal(0.0)
    t = t.filter(is_conv | is_touch).mutate(_conv=is_conv.cast("int64"), _val=ibis.ifelse(is_conv, v, 0.0))
    t = t.mutate(_sec=t.ts.epoch_seconds(), _ch=t[channel].cast("string"))
    keys = ties(t, channel)
    ties_ = keys + ([t[channel]] if any(c in t.columns for c in TIE_COLUMNS) else [])
    order = [t.ts, *ties_]
    if by_path_pos(t, path, channel):  # staged rows: their place in the path (the channel breaks no tie there:
        order = [t[PATH_POS]]  # it follows the row's key, and a loaded workspace holds each key once)
    w = ibis.cumulative_window(group_by=t[path], order_by=order)
    # one sort of each customer's rows for both: DuckDB computes window functions of one window together
    t = t.mutate(_k=t._conv.sum().over(w) - t._conv, _n=ibis.row_number().over(w))
    convs = t.filter(t._conv == 1).select(_p=t[path], _k=t._k, _csec=t._sec, _val=t._val)
    touches = t.filter(t._conv == 0).select(_p=t[path], _k=t._k, _sec=t._sec, _ch=t._ch, _n=t._n)
    return convs, touches


def _segments(touches: ibis.Table, convs: ibis.Table, lookback_days: float, collapse_repeats: bool) -> ibis.Table:
    """One row per customer and segment ``_k``: ``_path``, its touches within the lookback, in order.

    A segment's anchor (what its lookback runs back from) is its conversion's moment, or for the tail after the
    last conversion its last touch: one row per segment, from an aggregate and a join of small tables, then
    joined to the touches (cheaper than a window over every touch).
    """
    last = touches.group_by(["_p", "_k"]).aggregate(_last=touches._sec.max())
    seg = last.left_join(convs, ["_p", "_k"])
    seg = seg.select(_sp=seg._p, _sk=seg._k, _anchor=seg._csec.fill_null(seg._last))
    j = touches.join(seg, [touches._p == seg._sp, touches._k == seg._sk])
    j = j.select("_p", "_k", "_sec", "_ch", "_n", "_anchor")
    j = j.filter(j._anchor - j._sec <= int(lookback_days * DAY))
    # an ordered string aggregate is not portable (Spark's collect_list has no order): collect (place, channel)
    # structs, sort them, keep the channels; two touches with the same place in the order have the same
    # channel (it is the order's last key), so the path is the same whichever comes first
    if collapse_repeats:  # the previous touch in the segment's order: a window
        ws = ibis.window(group_by=[j._p, j._k], order_by=[j._n])
        j = j.mutate(_prev=j._ch.lag().over(ws))
        j = j.filter(j._prev.isnull() | (j._prev != j._ch)).drop("_prev")
    steps = ibis.struct({"n": j._n, "c": j._ch}).collect()
    segs = j.group_by(["_p", "_k"]).aggregate(_steps=steps)
    return segs.select("_p", "_k", _path=segs._steps.sort().map(lambda x: x.c).join(PATH_SEP))


def _path_table(convs: ibis.Table, segs: ibis.Table, no_touch: str | None) -> pd.DataFrame:
    """Converting paths and null paths (the tails after the last conversion), one row per distinct path."""
    conv_paths = convs.left_join(segs, ["_p", "_k"]).select(
        _path=_._path if no_touch is None else _._path.fill_null(no_touch),
        conversions=ibis.literal(1, "int64"),
        value=_._val,
        nulls=ibis.literal(0, "int64"),
    )
    conv_paths = conv_paths.filter(conv_paths._path.notnull())
    tails = segs.anti_join(convs, ["_p", "_k"]).select(
        "_path", conversions=ibis.literal(0, "int64"), value=ibis.literal(0.0), nulls=ibis.literal(1, "int64")
    )
    both = conv_paths.union(tails, distinct=False)
    out = both.group_by("_path").aggregate(
        conversions=both.conversions.sum(), value=both.value.sum(), nulls=both.nulls.sum()
    )
    df = _unordered(out).rename(columns={"_path": "path"})
    df["path"] = df["path"].astype(str)
    return df.astype({"conversions": "int64", "nulls": "int64", "value": "float64"})[list(PATH_COLUMNS)]


def _kept_buckets(t: ibis.Table, path: str) -> ibis.IntegerValue | None:
    """The customers' buckets when ``t`` carries them (``cx journeys``' kept rows, written in bucket order): a
    chunk then filters a range of them and reads its own row groups only. Such chunks are sized by every row of
    ``t``, which the engine counts without a scan and which bounds the candidate rows (1M: 3.8 s less)."""
    return t[BUCKET_COLUMN] if path == "customer_id" and BUCKET_COLUMN in t.columns else None


def _chunk_count(candidates: ibis.Table) -> int:
    """How many chunks of customers to run the paths in: one per :data:`CHUNK_ROWS` (else ``memory_limit /``
    :data:`CHUNK_BYTES_PER_ROW`) candidate rows; one for a small input, so it runs as a single query, as on Spark's
    test company."""
    return chunk_count(candidates, CHUNK_BYTES_PER_ROW, CHUNK_ROWS)


def _summed(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The chunks' path tables added up path by path (a path's chunks in chunk order), rounded and sorted by path.

    Each customer is in one chunk, so a path's counts and value are the sums of its chunks'. The value is rounded
    to 6 decimals: engines sum floats in different orders.
    """
    if len(parts) == 1:
        df = parts[0].copy()
    else:
        both = pd.concat(parts, ignore_index=True)
        df = both.groupby("path", sort=False, as_index=False)[["conversions", "value", "nulls"]].sum()
        df = df.astype({"conversions": "int64", "nulls": "int64", "value": "float64"})
    df["value"] = df["value"].round(6)
    return df.sort_values("path", ignore_index=True)[list(PATH_COLUMNS)]


def _unordered(t: ibis.Table) -> pd.DataFrame:
    """``t.to_pandas()``; on DuckDB without keeping the rows' insertion order (the paths are sorted after, and
    each segment's touches inside its aggregate): less memory for the touches collected per customer and
    segment. Not enough on its own: ``cx report`` on a million customers still ran out of its 4 GB here in one
    query (2 December 2026), hence the chunks of customers.

    Also without DuckDB's choice of a join's build side: the chunk's filter (on the customer key) keeps it from
    passing under the analysis set's anti-join (:func:`cxlib.journeys.analysis_touchpoints`), and the estimates
    then built the hash table on every touchpoint, each chunk (100k customers: 13 chunks 49 s, 30 s without; the
    peak RSS in 2 chunks 3.2 GB, 1.9 GB without). Every join here has its smaller side on the right already.
    """
    con = t.get_backend()
    if getattr(con, "name", "") != "duckdb":
        return t.to_pandas()
    disabled = con.raw_sql("SELECT current_setting('disabled_optimizers')").fetchone()[0]
    off = ", ".join([*filter(None, [disabled]), "build_side_probe_side"])
    with unordered(con.con):  # the loader's own switch of the insertion order, reset after
        con.raw_sql(f"SET disabled_optimizers = {literal(off)}")
        try:
            return t.to_pandas()
        finally:
            con.raw_sql(f"SET disabled_optimizers = {literal(disabled)}")
