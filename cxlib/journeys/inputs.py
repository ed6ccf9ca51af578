"""The journeys' inputs: an event frame or a workspace as an Ibis table, its required columns, its order.

:func:`as_table` and :func:`require_columns` are public: :mod:`cxlib.attribution` and :mod:`cxlib.impact`
read their inputs the same way.

Examples
--------
>>> import pandas as pd
>>> t = as_table(pd.DataFrame({"customer_id": ["a"], "ts": pd.to_datetime(["2024-01-01"])}))
>>> require_columns(t, ["customer_id", "event"])  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
cxlib.schema.DataError: events: missing column(s) ['event']; it has ['customer_id', 'ts']. ...
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import ibis
import pandas as pd
from ibis.expr.types.relations import CachedTable

from cxlib.engine import Workspace, connect
from cxlib.schema import DataError

__all__ = ["as_table", "require_columns", "typed_frame"]

DAY = 86_400
#: The key columns that break ties in ``ts`` after ``sequence`` (the ordering rule).
TIE_COLUMNS = ("table_name", "source", "record_key")
#: The column that orders events sharing a timestamp, when the source records it (GA4 does).
SEQUENCE = "sequence"
#: A staged row's place in its customer's path by the ordering rule (0 first): :func:`~cxlib.journeys.assign_stages`
#: numbers the rows in the window it sorts each path in anyway, and the readers of staged rows order a customer's
#: path by this one integer instead of sorting it again by ``ts`` and every tie key (:func:`path_order`,
#: :func:`~cxlib.journeys.stages.last_rows`).
PATH_POS = "path_pos"
#: The column of staged rows holding the event that follows the row's in its customer's path (null after the last),
#: from staging's own window: a funnel of the whole staged table reads it instead of ordering every path again
NEXT_EVENT = "next_event"
_TEXT_COLUMNS = ("customer_id", "event", "channel", "stage", "campaign")


def as_table(events: pd.DataFrame | ibis.Table | Workspace | str | Path) -> ibis.Table:
    """``events`` as an Ibis table: a table as is, a DataFrame as a memtable, a workspace's ``touchpoints``.

    A folder or path is opened read-only and stays open for the lazy table returned (pass an open
    :class:`~cxlib.engine.Workspace` to control its life).

    A DataFrame's ``ts`` may have any pandas datetime resolution (nanoseconds are truncated to microseconds, the
    engine's resolution) and any time zone (converted to UTC, then naive). A ``ts`` that is not a datetime
    column is a :class:`~cxlib.schema.DataError` that says how to convert it. **Rows whose ``ts`` is null are
    left out** (they have no place in a journey), with a warning that counts them.
    """
    if isinstance(events, ibis.Table):
        return events
    if isinstance(events, pd.DataFrame):
        return ibis.memtable(typed_frame(events))
    if isinstance(events, Workspace):
        return events.table("touchpoints")
    if isinstance(events, (str, Path)):
        return connect(events, read_only=True).table("touchpoints")
    raise TypeError(f"expected a pandas DataFrame, an Ibis table or a workspace, got {type(events).__name__}")


def typed_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its datetime columns at microsecond resolution (UTC, naive), ``ts`` checked and its nulls left
    out: what the engine is given (:func:`as_table`), and what a count in memory starts from."""
    import warnings

    if "ts" in df.columns:
        ts = df["ts"]
        if len(df) == 0:  # an empty frame carries no types: give its columns theirs
            text = [c for c in (*_TEXT_COLUMNS, *TIE_COLUMNS) if c in df.columns]
            df = df.astype(dict.fromkeys(text, "string")).assign(ts=pd.Series([], dtype="datetime64[us]"))
        elif not pd.api.types.is_datetime64_any_dtype(ts):
            raise DataError(
                f"events: column 'ts' must hold datetimes, not {ts.dtype} values; convert it first, e.g. "
                "df['ts'] = pd.to_datetime(df['ts'])"
            )
        elif ts.isna().any():
            n = int(ts.isna().sum())
            warnings.warn(f"events: {n:,} row(s) with no ts left out (a journey needs a time)", stacklevel=3)
            df = df[ts.notna()]
    fixed = {}
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            col = col.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_datetime64_any_dtype(col) and col.dtype != "datetime64[us]":
            fixed[c] = col.astype("datetime64[us]")  # nanoseconds truncated: the engine keeps microseconds
        elif col is not df[c]:
            fixed[c] = col
    return df.assign(**fixed) if fixed else df


def require_columns(t: ibis.Table, columns: Sequence[str], what: str = "events") -> None:
    """Raise a :class:`~cxlib.schema.DataError` naming the ``columns`` that ``t`` lacks."""
    missing = [c for c in columns if c not in t.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {missing}; it has {list(t.columns)}. "
            "Pass the unified `touchpoints` table, or rename your columns."
        )


def ties(t: ibis.Table, on: str) -> list[ibis.Value]:
    """What breaks ties in ``ts`` (the ordering rule), as sort keys.

    First ``sequence`` where the source records one (rows that have it before rows that do not, then lower
    first: a null sorts the same on every engine), then ``table_name, source, record_key``; without those, ``on``.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.table({"ts": "timestamp", "event": "string", "sequence": "int64", "record_key": "string"})
    >>> len(ties(t, "event"))
    3
    """
    keys: list[ibis.Value] = []
    if SEQUENCE in t.columns:
        keys += [t[SEQUENCE].isnull(), t[SEQUENCE]]
    present = [t[c] for c in TIE_COLUMNS if c in t.columns]
    return keys + (present if present else [t[on]])


def by_path_pos(t: ibis.Table, path: str, on: str = "event") -> bool:
    """Whether :data:`PATH_POS` orders ``t``'s paths as the ordering rule does: the rows carry it, a path is a
    customer (it numbers each customer's rows), and the rule's last key is one staging used too (the tie
    columns, or ``event`` where the rows have none). A subset of the staged rows keeps their order."""
    tied = any(c in t.columns for c in TIE_COLUMNS) or on == "event"
    return PATH_POS in t.columns and path == "customer_id" and tied


def path_order(t: ibis.Table, path: str, on: str) -> ibis.Window:
    """The window of each path in the ordering rule's order (``ts``, then :func:`ties`); on staged rows that
    carry :data:`PATH_POS`, that one integer (the same order: staging numbered the rows by the rule)."""
    if by_path_pos(t, path, on):
        return ibis.window(group_by=t[path], order_by=[t[PATH_POS]])
    return ibis.window(group_by=t[path], order_by=[t.ts, *ties(t, on)])


def ordered(t: ibis.Table, path: str, on: str, following: bool = False) -> ibis.Table:
    """Add ``_step`` (1-based position in the path, by the ordering rule) and ``_sec`` (epoch seconds); with
    ``following``, also ``_next``: the next event's ``on`` (as a string) in the same path, null after the last.

    ``_step`` and ``_next`` come from one window, so the engine sorts each path once for both (a second window
    ordered by ``_step`` would sort every row again).
    """
    w = path_order(t, path, on)
    nxt = {"_next": t[on].cast("string").lead().over(w)} if following else {}
    return t.mutate(_step=ibis.row_number().over(w) + 1, _sec=t.ts.epoch_seconds(), **nxt)


def release(*tables: ibis.Table) -> None:
    """Drop what ``.cache()`` kept for the tables (temporary tables, cached Spark frames); others are left.

    A long-lived connection (the apps') would otherwise keep every intermediate it ever cached.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"a": [1]}).cache()
    >>> release(t, ibis.memtable({"b": [2]}))
    """
    for t in tables:
        if isinstance(t, CachedTable):
            t.release()


def filtered(
    t: ibis.Table,
    filters: Mapping[str, Sequence] | None,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
) -> ibis.Table:
    """The rows whose columns take one of the ``filters``' values, with ``start <= ts <= end``."""
    for col, values in (filters or {}).items():
        if col not in t.columns:
            raise DataError(f"filter on {col!r}: the events have no such column ({list(t.columns)})")
        t = t.filter(t[col].isin(list(values)))
    if start is not None:
        t = t.filter(t.ts >= pd.Timestamp(start).to_pydatetime())
    if end is not None:
        t = t.filter(t.ts <= pd.Timestamp(end).to_pydatetime())
    return t
