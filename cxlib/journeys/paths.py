"""Paths: direct transitions, the step matrix and the step-aligned Sankey links, per customer path.

Within a path, events are ordered by the ordering rule (``ts``, then ``sequence``, ``table_name, source,
record_key`` when present, else the ``on`` column), so every count is reproducible whatever the input's row order.

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "y"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
>>> transitions(ev)["count"].sum()  # events + paths
np.int64(3)
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from cxlib.journeys.inmemory import frame_transitions, plain_paths
from cxlib.journeys.inputs import (
    PATH_POS,
    TIE_COLUMNS,
    as_table,
    filtered,
    ordered,
    path_order,
    release,
    require_columns,
    typed_frame,
)

#: Events a Sankey's column shows by name (the rest are ``other``): the default of :func:`sankey_links`, and what
#: the kept flows (:func:`keep_sankey_links`) were computed with.
SANKEY_TOP_N = 8

__all__ = [
    "KEPT_STEPS", "keep_sankey_links", "keep_stage_transitions", "kept_prefix", "sankey_customers",
    "sankey_customers_of", "sankey_links", "sankey_links_of", "sankey_parts", "stage_runs",
    "stage_transitions_of_runs", "step_matrix", "transitions",
]  # fmt: skip


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
    if isinstance(events, pd.DataFrame):
        events = typed_frame(events)  # as the engine gets it: UTC, microseconds, no row without a time
        if plain_paths(events, on, path):  # counted in memory, the engine's numbers
            return frame_transitions(events, on, path)
    elif (on, path) == ("stage", "customer_id") and (kept := _registered(_KEPT_MOVES, events)) is not None:
        return kept.copy()  # `cx journeys` kept them for this table
    t = as_table(events)
    require_columns(t, [path, "ts", on])
    t = ordered(t, path, on, following=True).mutate(_cur=_[on].cast("string"))
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
    t = as_table(events)
    require_columns(t, [path, "ts", on])
    t = ordered(t, path, on)
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


def _collapse(t: ibis.Table, path: str, on: str) -> ibis.Table:
    """Keep only the first of each run of repeated events in a path."""
    t = t.mutate(_prev=t[on].lag().over(path_order(t, path, on)))
    return t.filter(t._prev.isnull() | (t._prev != t[on])).drop("_prev")


def _step_rows(
    events: pd.DataFrame | ibis.Table,
    on: str,
    path: str,
    max_steps: int,
    top_n: int,
    collapse: bool,
    filters: Mapping[str, Sequence] | None,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
) -> tuple[ibis.Table, ibis.Table]:
    """One row per path and step ``k <= max_steps``: ``path, _step, _cur, _next``, the Sankey's columns; and
    the cached intermediate it reads (for :func:`~cxlib.journeys.inputs.release` once the rows are read).

    ``_cur`` is the event at step ``k`` (its name if among the step's ``top_n - 1`` most frequent, ties by
    name, else ``other``); ``_next`` is what came at step ``k + 1`` under the same rule, ``path_end`` when
    nothing did, and null at the last step.
    """
    t = filtered(as_table(events), filters, start, end)
    require_columns(t, [path, "ts", on])
    if collapse:
        t = _collapse(t, path, on)
    t = ordered(t, path, on, following=True).mutate(_cur=_[on].cast("string"))
    # the first max_steps events of each path, computed once for the queries that follow
    t = t.filter(t._step <= max_steps).select(path, "_step", "_cur", "_next").cache()
    kept = t
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
    return t.select(path, "_step", "_cur", "_next"), kept


def sankey_links(
    events: pd.DataFrame | ibis.Table,
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = SANKEY_TOP_N,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The flows a step-aligned Sankey draws: ``step, source, target, value`` (value = paths, i.e. customers).

    A link goes from the event at step ``k`` to the event at step ``k + 1`` of the same path (or to
    ``path_end``: the path stopped after step ``k``), for k = 1..``max_steps``-1, with a ``path_start`` link
    into step 1. At each step, the ``top_n - 1`` most frequent events (ties by name) keep their name and the
    rest become ``other``, so a column holds at most ``top_n`` events. :func:`sankey_customers` lists the
    customers behind a node or a link.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["x", "y", "x"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> sankey_links(ev, max_steps=2)[["step", "source", "target", "value"]].values.tolist()
    [[0, 'path_start', 'x', 2], [1, 'x', 'path_end', 1], [1, 'x', 'y', 1]]
    """
    known = _kept_links(
        events, on=on, path=path, max_steps=max_steps, top_n=top_n, collapse=collapse, filters=filters, start=start,
        end=end,
    )
    if known is not None:
        return known
    t, kept = _step_rows(events, on, path, max_steps, top_n, collapse, filters, start, end)
    try:
        flows = t.filter(t._next.notnull()).group_by(["_step", "_cur", "_next"]).aggregate(value=_.count())
        starts = t.filter(t._step == 1).group_by("_cur").aggregate(value=_.count())
        a = flows.to_pandas().rename(columns={"_step": "step", "_cur": "source", "_next": "target"})
        b = starts.to_pandas().rename(columns={"_cur": "target"}).assign(step=0, source="path_start")
    finally:
        release(kept)
    out = pd.concat([b, a], ignore_index=True)[["step", "source", "target", "value"]]
    out["step"] = out["step"].astype("int64")
    out["value"] = out["value"].astype("int64")
    return out.sort_values(["step", "source", "target"], ignore_index=True)


#: The longest stage Sankey ``cx journeys`` keeps (``journey_sankey``): the explorer's first view and its
#: Steps slider read it instead of a pass over every touchpoint.
KEPT_STEPS = 8

# the stage Sankey's flows of a materialised table of staged rows, and the span of its ``ts`` (weak keys: the
# entry goes with the table)
_KEPT: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def keep_sankey_links(staged: ibis.Table, flows: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> ibis.Table:
    """Remember ``flows`` (:func:`sankey_links` of ``staged`` by stage, collapsed, :data:`KEPT_STEPS` steps, every
    row) for the materialised table ``staged``, whose ``ts`` spans ``lo``..``hi``: :func:`sankey_links` of the
    whole table by stage then reads them instead of recomputing (the same numbers; fewer steps are a prefix).

    Examples
    --------
    >>> ev = ibis.memtable(pd.DataFrame({"customer_id": ["a", "a"], "stage": ["x", "y"],
    ...                                  "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])}))
    >>> fake = pd.DataFrame({"step": [0], "source": ["path_start"], "target": ["z"], "value": [9]})
    >>> _ = keep_sankey_links(ev, fake, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-02"))
    >>> sankey_links(ev, on="stage", collapse=True, max_steps=3)["target"].tolist()
    ['z']
    >>> sankey_links(ev, on="stage", collapse=True, max_steps=3, start="2024-01-02")["target"].tolist()
    ['y', 'path_end']
    """
    _KEPT[staged.op()] = (flows.copy(), pd.Timestamp(lo), pd.Timestamp(hi))
    return staged


def _kept_links(events, **args) -> pd.DataFrame | None:  # noqa: ANN001, ANN003
    """The kept flows of the materialised table ``events`` when the call (:func:`sankey_links`' ``args``) asks
    for them (:func:`kept_prefix`)."""
    kept = _registered(_KEPT, events)
    return None if kept is None else kept_prefix(kept, **args)


def kept_prefix(
    kept: tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp],
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = SANKEY_TOP_N,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame | None:
    """:func:`sankey_links` with the same arguments, read from kept flows, or None when they do not hold it.

    ``kept`` is ``(flows, lo, hi)``: :func:`sankey_links` by stage, collapsed, :data:`KEPT_STEPS` steps, of rows
    whose ``ts`` spans ``lo``..``hi`` (what :func:`keep_sankey_links` remembers,
    :func:`~cxlib.journeys.kept_sankey` reads). They hold a call by stage, collapsed, with the default ``top_n``
    and no filters; fewer steps are a prefix; a window that leaves rows out is not held.

    Examples
    --------
    >>> flows = pd.DataFrame({"step": [0, 1], "source": ["path_start", "x"], "target": ["x", "y"], "value": [2, 1]})
    >>> kept = (flows, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-31"))
    >>> by_stage = dict(on="stage", collapse=True)
    >>> len(kept_prefix(kept, max_steps=2, **by_stage)), len(kept_prefix(kept, max_steps=1, **by_stage))
    (2, 1)
    >>> kept_prefix(kept, max_steps=2, start="2024-01-02", **by_stage), kept_prefix(kept, on="event")
    (None, None)
    """
    if (on, path, collapse, top_n) != ("stage", "customer_id", True, SANKEY_TOP_N) or filters:
        return None
    flows, lo, hi = kept
    if max_steps > KEPT_STEPS or (start is not None and pd.Timestamp(start) > lo):
        return None
    if end is not None and pd.Timestamp(end) < hi:
        return None
    out = flows[flows["step"] < max_steps]
    return out.sort_values(["step", "source", "target"], ignore_index=True)


# the stage transitions (:func:`transitions` by stage) of a materialised table of staged rows (weak keys)
_KEPT_MOVES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def stage_runs(staged: ibis.Table) -> ibis.Table:
    """The rows of staged touchpoints that start a run of one stage in their customer's path (the rows a collapsed
    stage path keeps), with ``path_len``, the customer's number of rows: ``customer_id, ts, stage, path_pos,
    path_len`` and the tie columns the rows have (so that readers order the runs by ``path_pos``). One pass over
    the rows; :func:`sankey_links` of the runs by stage (no collapse needed) and :func:`stage_transitions_of_runs`
    then read a few rows per customer instead of every row.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a"] * 4, "stage": ["x", "x", "y", "x"], "path_pos": [0, 1, 2, 3],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])})
    >>> stage_runs(as_table(ev)).to_pandas().sort_values("path_pos")[["stage", "path_pos", "path_len"]].values.tolist()
    [['x', 0, 4], ['y', 2, 4], ['x', 3, 4]]
    """
    require_columns(staged, ["customer_id", "ts", "stage", PATH_POS], "staged touchpoints")
    w = ibis.window(group_by=staged.customer_id, order_by=staged[PATH_POS])
    t = staged.mutate(_prev=staged.stage.lag().over(w), path_len=staged[PATH_POS].max().over(w) + 1)
    t = t.filter(t._prev.isnull() | (t._prev != t.stage))
    ties = [c for c in TIE_COLUMNS if c in staged.columns]
    return t.select("customer_id", "ts", "stage", PATH_POS, "path_len", *ties)


def stage_transitions_of_runs(runs: ibis.Table) -> pd.DataFrame:
    """:func:`transitions` by stage of the staged rows whose :func:`stage_runs` ``runs`` are: each run's move to
    the next (or ``path_end``), its rows' self-loops (a run of ``n`` rows has ``n - 1``), and ``path_start`` into
    each path's first run. The same table as :func:`transitions` of every row, from a few rows per customer.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a"] * 4, "stage": ["x", "x", "y", "x"], "path_pos": [0, 1, 2, 3],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"])})
    >>> stage_transitions_of_runs(stage_runs(as_table(ev))).values.tolist()
    [['path_start', 'x', 1], ['x', 'path_end', 1], ['x', 'x', 1], ['x', 'y', 1], ['y', 'x', 1]]
    """
    w = ibis.window(group_by=runs.customer_id, order_by=runs[PATH_POS])
    r = runs.mutate(_next=runs.stage.lead().over(w), _npos=runs[PATH_POS].lead().over(w))
    r = r.mutate(_len=ibis.coalesce(r._npos, r.path_len) - r[PATH_POS])  # the rows of the run
    cur = r.stage.cast("string")
    parts = [
        r.select(source=cur, target=r._next.cast("string").fill_null("path_end"), n=ibis.literal(1, "int64")),
        r.filter(r._len > 1).select(source=cur, target=cur, n=(r._len - 1).cast("int64")),
        r.filter(r[PATH_POS] == 0).select(source=ibis.literal("path_start"), target=cur, n=ibis.literal(1, "int64")),
    ]
    both = ibis.union(*parts, distinct=False)
    out = both.group_by(["source", "target"]).aggregate(count=both.n.sum()).to_pandas()
    out["count"] = out["count"].astype("int64")
    return out.sort_values(["source", "target"], ignore_index=True)


def keep_stage_transitions(staged: ibis.Table, moves: pd.DataFrame) -> ibis.Table:
    """Remember ``moves`` (:func:`transitions` by stage of every row of the materialised table ``staged``, as
    ``cx journeys`` keeps them): :func:`transitions` of the whole table by stage then reads them (a filter of it
    does not: rows left out change the moves)."""
    _KEPT_MOVES[staged.op()] = moves.copy()
    return staged


def _registered(registry: weakref.WeakKeyDictionary, events: object) -> Any:
    """What ``registry`` (keyed by a materialised table's operation) holds for ``events``, or None."""
    if not isinstance(events, ibis.Table):
        return None
    try:
        return registry.get(events.op())
    except TypeError:  # an operation that cannot be a weak key
        return None


#: what the Sankey figure calls the synthetic nodes (either name is accepted by :func:`sankey_customers`)
START, LEFT = "start", "left"
_ALIASES = {START: "path_start", LEFT: "path_end"}


def sankey_customers(
    events: pd.DataFrame | ibis.Table,
    step: int,
    node: str | None = None,
    link: tuple[str, str] | None = None,
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = SANKEY_TOP_N,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame:
    """The customers behind one node or one link of :func:`sankey_links` (and of the step Sankey).

    Pass the same arguments as to :func:`sankey_links` (or :func:`~cxlib.journeys.sankey`), then either
    ``node=name`` at column ``step`` (``step`` 0 is the start; ``left`` at step ``k`` is the paths that
    stopped after step ``k - 1``), or ``link=(source, target)`` for the link of that ``step``, from column
    ``step`` to column ``step + 1``. ``start``/``left`` and ``path_start``/``path_end`` are both accepted.
    Returns one column, ``path`` (the customer ids), sorted; its length is the node's or the link's value.
    Privacy rules (minimum group sizes, who may see ids) are the caller's to apply.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["x", "y", "x"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> sankey_customers(ev, step=1, link=("x", "y"), max_steps=2)["customer_id"].tolist()
    ['a']
    >>> sankey_customers(ev, step=2, node="left", max_steps=2)["customer_id"].tolist()
    ['b']
    """
    if (node is None) == (link is None):
        raise ValueError("pass either node=name or link=(source, target)")
    t, kept = _step_rows(events, on, path, max_steps, top_n, collapse, filters, start, end)
    try:
        return _customers_at(t, path, step, node, link)
    finally:
        release(kept)


def _customers_at(
    t: ibis.Table, path: str, step: int, node: str | None, link: tuple[str, str] | None
) -> pd.DataFrame:
    """The distinct ``path`` values behind a node or a link of the step rows ``t`` (sorted)."""
    if link is not None:
        src, dst = (_ALIASES.get(x, x) for x in link)
        if step == 0:
            rows = t.filter((t._step == 1) & (t._cur == dst)) if src == "path_start" else t.filter(ibis.literal(False))
        else:
            rows = t.filter((t._step == step) & (t._cur == src) & (t._next == dst))
    else:
        name = _ALIASES.get(node, node)
        if name == "path_start":
            rows = t.filter(t._step == 1) if step == 0 else t.filter(ibis.literal(False))
        elif name == "path_end":
            rows = t.filter((t._step == step - 1) & (t._next == "path_end"))
        else:
            rows = t.filter((t._step == step) & (t._cur == name))
    ids = rows.select(path).distinct().to_pandas()
    return ids.sort_values(path, ignore_index=True)


# --- the step Sankey of any group of customers, from counts computed once --------------------------------------


def sankey_parts(
    events: pd.DataFrame | ibis.Table, by: str = "persona", on: str = "stage", path: str = "customer_id",
    collapse: bool = True,
) -> dict:
    """What :func:`sankey_links` of any set of ``by`` values needs (up to :data:`KEPT_STEPS` steps), counted once:
    then :func:`sankey_links_of` draws the flows of any of them without a pass over the rows.

    ``by`` must hold one value per path (a customer's persona). ``counts``: ``BY, _step, _cur, _next, n``, the
    paths per value, step, event and next event (names not yet folded into ``other``); ``lo``/``hi``: the span
    of ``ts`` (a date window that leaves rows out is not held); ``rows``: ``PATH, BY, _step, _cur, _next``, each
    path's first steps, for :func:`sankey_customers_of`.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "stage": ["x", "y", "x"], "persona": [1, 1, 2],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> parts = sankey_parts(ev)
    >>> got = sankey_links_of(parts, on="stage", collapse=True, max_steps=2, filters={"persona": [1]})
    >>> got.equals(sankey_links(ev, on="stage", collapse=True, max_steps=2, filters={"persona": [1]}))
    True
    """
    t = as_table(events)
    require_columns(t, [path, "ts", on, by])
    span = t.aggregate(lo=t.ts.min(), hi=t.ts.max()).to_pandas().iloc[0]
    if collapse:
        t = _collapse(t, path, on)
    t = ordered(t, path, on, following=True).mutate(_cur=_[on].cast("string"))
    rows = t.filter(t._step <= KEPT_STEPS).select(path, by, "_step", "_cur", "_next").cache()
    try:
        counts = rows.group_by([by, "_step", "_cur", "_next"]).aggregate(n=_.count()).to_pandas()
        return dict(by=by, on=on, path=path, collapse=collapse, counts=counts, rows=rows.to_pandas(),
                    lo=pd.Timestamp(span["lo"]), hi=pd.Timestamp(span["hi"]))  # fmt: skip
    finally:
        release(rows)


def sankey_links_of(
    parts: Mapping, on: str = "event", path: str = "customer_id", max_steps: int = 5, top_n: int = SANKEY_TOP_N,
    collapse: bool = False, filters: Mapping[str, Sequence] | None = None, start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame | None:
    """:func:`sankey_links` with the same arguments, from :func:`sankey_parts` of the same rows: the same numbers;
    or None when the parts do not hold the call (another ``on``, ``path`` or ``collapse``, more than
    :data:`KEPT_STEPS` steps, a filter on another column, a window that leaves rows out, no path chosen)."""
    c = _held(parts, on, path, max_steps, collapse, filters, start, end)
    if c is None:
        return None
    c = c.groupby(["_step", "_cur", "_next"], dropna=False, as_index=False)["n"].sum()
    c = _folded(c, _top(c, top_n), max_steps)
    a = c.dropna(subset=["target"]).groupby(["_step", "source", "target"], as_index=False)["n"].sum()
    b = c[c["_step"] == 1].groupby("source", as_index=False)["n"].sum().rename(columns={"source": "target"})
    b = b.assign(_step=0, source="path_start")
    out = pd.concat([b, a], ignore_index=True).rename(columns={"_step": "step", "n": "value"})
    out = out[["step", "source", "target", "value"]].astype({"step": "int64", "value": "int64"})
    return out.sort_values(["step", "source", "target"], ignore_index=True)


def _held(
    parts: Mapping, on: str, path: str, max_steps: int, collapse: bool, filters: Mapping[str, Sequence] | None,
    start: str | pd.Timestamp | None, end: str | pd.Timestamp | None,
) -> pd.DataFrame | None:
    """The counts of ``parts`` that the call chooses (its steps, its ``by`` values), or None when not held."""
    by, filters = parts["by"], dict(filters or {})
    if (on, path, collapse) != (parts["on"], parts["path"], parts["collapse"]) or max_steps > KEPT_STEPS:
        return None
    if set(filters) - {by} or (start is not None and pd.Timestamp(start) > parts["lo"]):
        return None
    if end is not None and pd.Timestamp(end) < parts["hi"]:
        return None
    c = parts["counts"]
    c = c[c["_step"] <= max_steps]
    c = c[c[by].isin(list(filters[by]))] if by in filters else c
    return None if c.empty else c


def _top(c: pd.DataFrame, top_n: int) -> set[tuple]:
    """The ``(step, name)`` a Sankey keeps by name (the rest is ``other``), as :func:`_step_rows` keeps them: ranks
    0..top_n - 1 of the paths at each step (ibis numbers rows from 0), ties by name."""
    freq = c.groupby(["_step", "_cur"], dropna=False, as_index=False)["n"].sum()
    freq = freq.sort_values(["_step", "n", "_cur"], ascending=[True, False, True])
    return set(map(tuple, freq.groupby("_step").head(top_n)[["_step", "_cur"]].values.tolist()))


def _folded(c: pd.DataFrame, top: set[tuple], max_steps: int) -> pd.DataFrame:
    """``c`` with ``source`` and ``target``: ``_cur`` and ``_next`` named as the Sankey names them."""
    step, cur, nxt = c["_step"].to_numpy(), c["_cur"].astype(object), c["_next"].astype(object)
    kept = pd.MultiIndex.from_arrays([step, cur]).isin(list(top))
    kept_next = pd.MultiIndex.from_arrays([step + 1, nxt]).isin(list(top))
    source = np.where(kept, cur.to_numpy(), "other").astype(object)
    ended = nxt.isna().to_numpy()
    target = np.where(ended, "path_end", np.where(kept_next, nxt.to_numpy(), "other")).astype(object)
    target[step >= max_steps] = None
    return c.assign(source=source, target=target)


def sankey_customers_of(
    parts: Mapping, step: int, node: str | None = None, link: tuple[str, str] | None = None, on: str = "event",
    path: str = "customer_id", max_steps: int = 5, top_n: int = SANKEY_TOP_N, collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None, start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
) -> pd.DataFrame | None:
    """:func:`sankey_customers` with the same arguments, from :func:`sankey_parts` of the same rows: the same
    customers, without a pass over the rows; or None when the parts do not hold the call (as
    :func:`sankey_links_of`).

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "stage": ["x", "y", "x"], "persona": [1, 1, 2],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
    >>> args = dict(on="stage", collapse=True, max_steps=2, step=1, link=("x", "y"))
    >>> sankey_customers_of(sankey_parts(ev), **args)["customer_id"].tolist()
    ['a']
    >>> sankey_customers_of(sankey_parts(ev), **args).equals(sankey_customers(ev, **args))
    True
    """
    if (node is None) == (link is None):
        raise ValueError("pass either node=name or link=(source, target)")
    c = _held(parts, on, path, max_steps, collapse, filters, start, end)
    if c is None or "rows" not in parts:
        return None
    by, rows = parts["by"], parts["rows"]
    # only the steps the node or link is read from (_customers_at), folded as the Sankey folds them
    rows = rows[rows["_step"].isin([1, step - 1, step]) & (rows["_step"] <= max_steps)]
    rows = rows[rows[by].isin(list(dict(filters or {})[by]))] if by in (filters or {}) else rows
    rows = _folded(rows, _top(c, top_n), max_steps)
    rows = rows[[path, "_step", "source", "target"]].rename(columns={"source": "_cur", "target": "_next"})
    return _customers_at(ibis.memtable(rows), path, step, node, link)
