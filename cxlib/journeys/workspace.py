"""The workspace step: the touchpoints for journey analysis, ``cx journeys`` (:func:`build`), and the staged
copy the explorers redraw from (:func:`staged_touchpoints`).

The stage map that applies is resolved once per call (:func:`~cxlib.journeys.resolve_stage_map`): the
argument, else the workspace's ``stage_map.yml``, else the default. :func:`staged_touchpoints` records it
with the rows, so that :func:`~cxlib.journeys.current_stage` and the other views on those rows judge time
with the same map as ``cx journeys``.

Examples
--------
>>> import pandas as pd
>>> from cxlib import engine
>>> ws = engine.connect()
>>> _ = ws.write("touchpoints", pd.DataFrame({"customer_id": ["a", "a"], "event": ["ad_click", "purchase"],
...                                            "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])}))
>>> int(build(ws)["customers"].sum())
1
"""

from __future__ import annotations

import dataclasses
import json
import warnings
from collections.abc import Callable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from cxlib._frames import drop_join_copies
from cxlib.categories import enum_values
from cxlib.chunks import BUCKET_COLUMN, bucket, chunk, chunk_count
from cxlib.engine import Workspace, connect, opened
from cxlib.io.sql import literal
from cxlib.journeys.funnel import keep_funnel_order
from cxlib.journeys.inputs import NEXT_EVENT, as_table, filtered
from cxlib.journeys.paths import (
    KEPT_STEPS,
    keep_sankey_links,
    keep_stage_transitions,
    sankey_links,
    stage_runs,
    stage_transitions_of_runs,
)
from cxlib.journeys.stage_map import StageMap, StageMapLike, record_stage_map, resolve_stage_map
from cxlib.journeys.stages import assign_stages
from cxlib.journeys.timeline import current_and_history
from cxlib.schema import STAGES, DataError

__all__ = ["analysis_touchpoints", "build", "filter_touchpoints", "kept_sankey", "staged_rows", "staged_touchpoints"]

#: ``cx journeys``' staged rows (every journey touchpoint with its stage; DuckDB workspaces), read back by
#: :func:`staged_touchpoints` instead of staging again, and the stage map and options they were staged with
STAGED_TABLE, STAGED_WITH_TABLE = "journey_touchpoints", "journey_touchpoints_map"
#: the stage Sankey of every staged row, :data:`~cxlib.journeys.paths.KEPT_STEPS` steps (the explorer's first view)
SANKEY_TABLE = "journey_sankey"
#: the stage transitions of every staged row (:func:`~cxlib.journeys.transitions` by stage), which
#: :func:`kept_rows` gives its table to read (the report's stage Sankey)
MOVES_TABLE = "journey_stage_moves"
#: Engine memory per touchpoint while staging (:func:`build` on DuckDB stages the customers in chunks of at most
#: ``memory_limit / STAGING_BYTES_PER_ROW`` rows). Measured at 100k customers (6.8M rows) under a 400 MB limit:
#: one pass over all of them spilt 2.4 GB and took a fifth longer; with the stream's columns of few values
#: stored as ENUMs (:mod:`cxlib.categories`) chunks by 250 bytes a row spill nothing, by 200 spill 36 MB, and
#: 300 keeps a quarter in hand for wider rows. 1M customers (68M rows) at the default 4 GB: 6 chunks, not the
#: 9 of 500 bytes a row, staged in 187 s instead of 197 s (the whole step; the same peak, 4.3 GB; 2 cores).
STAGING_BYTES_PER_ROW = 300
#: Rows per staging chunk whatever the memory (``None``: from the above); set it to force a chunk size.
STAGING_CHUNK_ROWS: int | None = None


#: Columns of ``touchpoints`` that say how a row was linked (its half of ``identity_links``), not what happened.
_LINK_ONLY = ("rule", "match_probability")


def analysis_touchpoints(workspace: str | Path | Workspace, include_unidentified: bool = False) -> ibis.Table:
    """The workspace's ``touchpoints`` for journey analysis.

    By default the rows that carried no identifier at all (``identity_links.rule == "no_identifier"``: a
    store visit without a loyalty card, say) are left out: each is its own one-touch "customer" with no
    journey to follow, and they would swell every single-step path. Anonymous visitors with a cookie or
    device id stay in: they are prospects with a journey.
    """
    ws = workspace if isinstance(workspace, Workspace) else connect(workspace, read_only=True)
    tp = ws.table("touchpoints")
    if "rule" in tp.columns:  # each row's link rule is beside it: the lone rows are those of no_identifier
        keep = tp if include_unidentified else tp.filter(tp.rule.fill_null("") != "no_identifier")
        return keep.drop(*[c for c in _LINK_ONLY if c in tp.columns])
    if include_unidentified or not ws.has("identity_links"):
        return tp
    links = ws.table("identity_links")
    lone = links.filter(links.rule == "no_identifier").select("customer_id").distinct()
    return tp.anti_join(lone, "customer_id")


def build(
    workspace: str | Path | Workspace,
    stage_map: StageMapLike = None,
    include_unidentified: bool = False,
) -> pd.DataFrame:
    """Write the journey tables to the workspace and return the current stage counts.

    Tables: ``customer_stages`` (:func:`current_stage`: ``customer_id, stage, journey, last_ts,
    last_inbound_ts, days_inactive``) and ``stage_history`` (:func:`stage_history`: ``customer_id, month,
    stage``). A ``stage_map.yml`` in the workspace folder is used when ``stage_map`` is not given. On DuckDB
    also ``journey_touchpoints`` (the staged rows, which :func:`staged_touchpoints` then reads instead of
    staging again while they are current), ``journey_touchpoints_map`` (what they were staged with) and
    ``journey_sankey`` (their stage Sankey, :func:`~cxlib.journeys.sankey_links` by stage over
    :data:`~cxlib.journeys.paths.KEPT_STEPS` steps: the explorer's first view) and ``journey_stage_moves`` (their
    :func:`~cxlib.journeys.transitions` by stage, which the report's stage Sankey reads).
    """
    with opened(workspace) as ws:
        sm = resolve_stage_map(stage_map, workspace=ws)
        _require_touchpoints(ws)
        tp = analysis_touchpoints(ws, include_unidentified)
        with ws.step("journeys"):  # the tables and the lineage row swap in together
            if ws.name == "duckdb":  # staged once, kept (the explorers' in-memory copy is DuckDB's), read below
                n = _write_staged(ws, tp, sm)
                ws.write(STAGED_WITH_TABLE, pd.DataFrame({"staged_with": [_staged_with(sm, include_unidentified)]}))
                tp = record_stage_map(ws.table(STAGED_TABLE), sm)
                # each path's runs of one stage, once (1M: 3.4M runs of 68M rows): the kept Sankey (collapsed paths:
                # the runs already are) and every stage move read them instead of every row
                runs = _stage_runs_in_chunks(ws, tp, n)
                ws.write(SANKEY_TABLE, sankey_links(runs, on="stage", collapse=False, max_steps=KEPT_STEPS))
                ws.write(MOVES_TABLE, stage_transitions_of_runs(runs))
                ws.drop_scratch("_journeys_stage_runs")
            # one pass over the rows for both: each customer's last row per month, kept (1M: ~10 s a pass)
            cur, history = current_and_history(tp, sm, keep=lambda t: ws.scratch("_journeys_monthly", t))
            ws.write("customer_stages", cur)
            ws.write("stage_history", history)  # unsorted: its readers order what they read
            ws.drop_scratch("_journeys_monthly")
    counts = cur.groupby("stage").size().reindex(list(STAGES), fill_value=0)
    return counts.rename("customers").reset_index()


def _write_staged(ws: Workspace, tp: ibis.Table, sm: StageMap) -> int:
    """Write :data:`STAGED_TABLE`, the rows of ``tp`` with their stages, in chunks of customers
    (:data:`STAGING_BYTES_PER_ROW`): the stage windows sort each chunk in memory instead of spilling every row
    to disk (1M customers: 19 GB of temporary files in one pass). A customer's rows are staged together, so
    the rows are the same as in one pass. Each row carries its customer's :func:`~cxlib.chunks.bucket`
    (:data:`~cxlib.chunks.BUCKET_COLUMN`), and the chunks are ranges of buckets written in order: a reader that
    runs in chunks of customers too (the attribution paths) reads each chunk's row groups only, not every row
    each time. Returns the number of chunks."""
    n = chunk_count(tp, STAGING_BYTES_PER_ROW, STAGING_CHUNK_ROWS)
    tp = tp.mutate(**{BUCKET_COLUMN: bucket(tp.customer_id)})
    cats = _staged_categories(ws)
    # chunks in bucket order: the table is written in order of its customers' buckets
    first = lambda rows: ws.write(STAGED_TABLE, rows, categories=cats)  # noqa: E731
    _in_chunks(tp, n, lambda part: assign_stages(part, sm), first, lambda rows: ws.append(STAGED_TABLE, rows))
    return n


def _staged_categories(ws: Workspace) -> dict[str, list[str]]:
    """The staged rows' columns of few values, stored as ``ENUM`` types (:mod:`cxlib.categories`): the ones
    ``touchpoints`` stores so (what ``cx unify`` declared them with), the stages, the journeys, and the next
    event (an event)."""
    cats = enum_values(ws.backend.con, "touchpoints")
    cats.update(stage=list(STAGES), journey=["buyer", "customer"])
    if "event" in cats:
        cats[NEXT_EVENT] = cats["event"]
    return cats


def _in_chunks(t: ibis.Table, n: int, make: Callable, first: Callable, then: Callable) -> Any:
    """``make`` of each of the ``n`` chunks of ``t``'s customers (ranges of its :data:`BUCKET_COLUMN`, in order),
    the first written by ``first`` (what it returns is returned), each other added by ``then``."""
    for i in range(n):
        rows = make(chunk(t, i, n, buckets=t[BUCKET_COLUMN]))
        if i == 0:
            out = first(rows)
        else:
            then(rows)
    return out


def _stage_runs_in_chunks(ws: Workspace, staged: ibis.Table, n: int) -> ibis.Table:
    """:func:`~cxlib.journeys.paths.stage_runs` of the kept rows ``staged``, in the ``n`` chunks of customers they
    were staged in (a scratch table, ``_journeys_stage_runs``): each chunk a range of the stored buckets, so its
    window sorts the rows of its own row groups in memory instead of all of them at once, spilling. The same runs
    (a customer's rows are in one chunk). 1M customers, 2 cores: 17.4 s in one pass, 12.6 s in 9 chunks."""
    name = "_journeys_stage_runs"
    return _in_chunks(staged, n, stage_runs, lambda rows: ws.scratch(name, rows), lambda rows: ws.append(name, rows))


def _require_touchpoints(ws: Workspace) -> None:
    if not ws.has("touchpoints"):
        raise DataError(f"{ws.name}: no touchpoints table; run `cx unify {ws.folder or ''}` first")


# --- explorers (the JupyterLab journey explorer, notebooks) -----------------------------------------------------


def staged_touchpoints(
    workspace: str | Path | Workspace,
    stage_map: StageMapLike = None,
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
    :func:`build`. When ``cx journeys`` (:func:`build`) staged the rows with the same map and options and
    nothing it read has changed since (:func:`cxlib.lineage.stale_steps`), its ``journey_touchpoints`` are
    read instead of staging again (a page opens in a fraction of the time); the rows are the same.

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
    with opened(workspace, read_only=True) as ws:
        _require_touchpoints(ws)
        sm = resolve_stage_map(stage_map, workspace=ws)
        persisted = _persisted(ws, sm, include_unidentified)
        tp = _with_personas(ws, analysis_touchpoints(ws, include_unidentified))
        if persisted is not None:  # what `cx journeys` staged, in the columns' usual order
            tp = _with_personas(ws, persisted).select(  # the buckets are for readers of the kept table
                *tp.columns, *(c for c in persisted.columns if c not in tp.columns and c != BUCKET_COLUMN)
            )
        if not in_memory:  # the report: a temporary copy inside the workspace, staged only when not kept
            return record_stage_map(ws.scratch("_staged_touchpoints", tp if persisted is not None else
                                               assign_stages(tp, sm)), sm)
        everyone = True
        if max_customers is not None:
            tp, everyone = _sample_customers(tp, max_customers)
        rows = tp if persisted is not None else assign_stages(tp, sm)
        flows = ws.table(SANKEY_TABLE).to_pandas() if persisted is not None and ws.has(SANKEY_TABLE) else None
        db = _database_file(ws) if own else None
        sql = ibis.to_sql(rows, dialect="duckdb") if db is not None else None
        rows = rows.to_pyarrow() if db is None else None
    mem = ibis.duckdb.connect()
    staged = _copy_in(mem, db, sql) if db is not None else mem.create_table("staged", rows)
    if flows is not None and everyone:  # every customer is in the copy: the kept flows are its flows
        span = staged.aggregate(lo=staged.ts.min(), hi=staged.ts.max()).to_pandas().iloc[0]
        keep_sankey_links(staged, flows, span["lo"], span["hi"])
    return keep_funnel_order(record_stage_map(staged, sm))  # a funnel's new window: no new pass over the rows


def staged_rows(
    ws: Workspace, stage_map: StageMapLike = None, include_unidentified: bool = False, *, materialise: bool = False
) -> ibis.Table:
    """The workspace's journey touchpoints with their stages, read where they are: no copy.

    ``cx journeys``' ``journey_touchpoints`` when they hold what staging now would (same map and options,
    nothing they read has changed since): the kept table itself, nothing staged or copied. Otherwise the
    analysis touchpoints (:func:`analysis_touchpoints`) staged here: a lazy Ibis expression, or with
    ``materialise=True`` a temporary table in the workspace (:meth:`~cxlib.engine.Workspace.scratch`, dropped
    by :meth:`~cxlib.engine.Workspace.drop_scratch`), for a caller that reads the rows more than once. The rows
    are those :func:`staged_touchpoints` gives, without the personas. This is what the report and the
    headline metrics read. A kept or materialised table is marked with its stage map (functions that judge
    time read it); a lazy expression is not: pass ``stage_map`` to those.

    Examples
    --------
    >>> import pandas as pd
    >>> from cxlib import engine
    >>> ws = engine.connect()
    >>> _ = ws.write("touchpoints", pd.DataFrame({"customer_id": ["a", "a"], "event": ["ad_click", "purchase"],
    ...                                            "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])}))
    >>> staged_rows(ws).to_pandas()["stage"].tolist()  # staged here: no `cx journeys` yet
    ['awareness', 'purchase']
    >>> _ = build(ws)
    >>> staged_rows(ws).get_name()  # the kept table
    'journey_touchpoints'
    """
    _require_touchpoints(ws)
    sm = resolve_stage_map(stage_map, workspace=ws)
    kept = kept_rows(ws, sm, include_unidentified)
    if kept is not None:
        return kept
    rows = assign_stages(analysis_touchpoints(ws, include_unidentified), sm)
    # a lazy expression is not marked with its map (that would mark the touchpoints table it reads)
    return record_stage_map(ws.scratch("_staged_rows", rows), sm) if materialise else rows


def kept_rows(
    ws: Workspace, stage_map: StageMapLike = None, include_unidentified: bool = False
) -> ibis.Table | None:
    """``cx journeys``' kept ``journey_touchpoints`` while they hold what staging now would (the same map and
    options, nothing they read changed since), else ``None``: nothing is staged. For a reader that can use the
    analysis touchpoints either way and is faster on the staged ones (their ``path_pos`` orders each path, and
    they are the analysis set already): the attribution paths. :func:`staged_rows` reads these when there are
    any (its example shows them after :func:`build`).

    Examples
    --------
    >>> from cxlib import engine
    >>> kept_rows(engine.connect()) is None  # nothing staged, nothing kept
    True
    """
    if not ws.has("touchpoints"):
        return None
    sm = resolve_stage_map(stage_map, workspace=ws)
    kept = _persisted(ws, sm, include_unidentified)
    if kept is None:
        return None
    if ws.has(MOVES_TABLE):  # its stage transitions, kept beside it: transitions of the table read them
        keep_stage_transitions(kept, ws.table(MOVES_TABLE).to_pandas())
    return record_stage_map(kept, sm)


def kept_sankey(
    workspace: str | Path | Workspace, stage_map: StageMapLike = None, include_unidentified: bool = False
) -> tuple[pd.DataFrame, pd.Timestamp, pd.Timestamp] | None:
    """The stage Sankey ``cx journeys`` kept (``journey_sankey``) and the span of its rows' ``ts``, read from the
    workspace without staging anything: ``(flows, lo, hi)``, or None when the kept rows are not current (as
    :func:`staged_touchpoints` decides: the same map and options, nothing it read changed since).

    An explorer draws its first view from it (:func:`~cxlib.journeys.paths.kept_prefix`) before its staged copy
    exists: the same numbers as :func:`~cxlib.journeys.sankey_links` of every staged row by stage.
    """
    with opened(workspace, read_only=True) as ws:
        if not ws.has(SANKEY_TABLE) or not ws.has("touchpoints"):
            return None
        rows = _persisted(ws, resolve_stage_map(stage_map, workspace=ws), include_unidentified)
        if rows is None:
            return None
        span = rows.aggregate(lo=rows.ts.min(), hi=rows.ts.max()).to_pandas().iloc[0]
        return ws.table(SANKEY_TABLE).to_pandas(), pd.Timestamp(span["lo"]), pd.Timestamp(span["hi"])


def _database_file(ws: Workspace) -> Path | None:
    """The file of a DuckDB workspace (None for other engines and in-memory databases)."""
    if ws.name != "duckdb":
        return None
    got = ws.backend.con.execute("SELECT path FROM duckdb_databases() WHERE database_name = current_database()")
    path = (got.fetchone() or [None])[0]
    return Path(path) if path and Path(path).exists() else None


def _copy_in(mem: ibis.BaseBackend, db: Path, sql: str) -> ibis.Table:
    """``sql`` (compiled on the workspace) run by the in-memory DuckDB ``mem`` over the workspace file attached
    read-only, into table ``staged``; the file is detached again. DuckDB copies in parallel, with no Arrow
    round trip through Python (a third of the time of ``to_pyarrow`` on the demo)."""
    con = mem.con
    con.execute(f"ATTACH {literal(str(db))} AS cx_src (READ_ONLY)")  # ATTACH binds no parameters
    try:
        con.execute("USE cx_src")
        con.execute(f"CREATE TABLE memory.main.staged AS {sql}")  # sql: ibis-compiled, no user text
    finally:
        con.execute("USE memory")
        con.execute("DETACH cx_src")
    return mem.table("staged")


def _staged_with(sm: StageMap, include_unidentified: bool) -> str:
    """The stage map and options a staging used, as canonical text (equal text: equal stages)."""
    spec = {"stage_map": dataclasses.asdict(sm), "include_unidentified": include_unidentified}
    return json.dumps(spec, sort_keys=True, default=str)


def _persisted(ws: Workspace, sm: StageMap, include_unidentified: bool) -> ibis.Table | None:
    """``cx journeys``' staged rows when they hold what staging now would: same map and options, inputs current."""
    from cxlib.lineage import stale_steps

    if not (ws.has(STAGED_TABLE) and ws.has(STAGED_WITH_TABLE)):
        return None
    with_ = ws.table(STAGED_WITH_TABLE).to_pandas()["staged_with"].tolist()
    if with_ != [_staged_with(sm, include_unidentified)] or any(s.step == "journeys" for s in stale_steps(ws)):
        return None
    return ws.table(STAGED_TABLE)


def _with_personas(ws: Workspace, tp: ibis.Table) -> ibis.Table:
    """``tp`` plus each customer's ``persona`` (and ``persona_name``, what a filter shows) when the workspace
    has a ``personas`` table."""
    if not ws.has("personas"):
        return tp
    p = ws.table("personas")
    cols = [c for c in ("customer_id", "persona", "persona_name") if c in p.columns]
    return drop_join_copies(tp.left_join(p.select(*cols), "customer_id"))


def persona_choices(staged: pd.DataFrame | ibis.Table) -> dict[str, int]:
    """What a persona filter offers: each persona's name mapped to its number, in the personas' order.

    ``staged`` is :func:`staged_touchpoints`'s table (its ``persona`` and, with a ``personas`` table,
    ``persona_name``). Empty when the rows carry no persona (no ``cx personas`` yet). Customers without a
    persona are not offered. Pass the chosen numbers to :func:`filter_touchpoints`.

    Examples
    --------
    >>> tp = pd.DataFrame({"customer_id": ["a", "b", "c"], "persona": [1, 0, None],
    ...                    "persona_name": ["Bargain hunters", "Loyal regulars", None]})
    >>> persona_choices(tp)
    {'Loyal regulars': 0, 'Bargain hunters': 1}
    >>> persona_choices(tp.drop(columns=["persona", "persona_name"]))
    {}
    """
    t = as_table(staged)
    if "persona" not in t.columns:
        return {}
    named = "persona_name" if "persona_name" in t.columns else "persona"
    p = t.select("persona", named).distinct().to_pandas().dropna(subset=["persona"])
    return {str(name): int(k) for k, name in sorted(zip(p["persona"], p[named], strict=True))}


def _sample_customers(tp: ibis.Table, max_customers: int) -> tuple[ibis.Table, bool]:
    """At most ``max_customers`` customers with their whole journeys: those with the smallest hash of their id;
    and whether that is everyone (``False``: a sample)."""
    ids = tp.select("customer_id").distinct()
    n = int(ids.count().to_pyarrow().as_py())
    if n <= max_customers:
        return tp, True
    keep = ids.order_by([ids.customer_id.hexdigest("md5"), ids.customer_id]).limit(max_customers)
    warnings.warn(
        f"staged a fixed sample of {max_customers:,} of {n:,} customers (each with their whole "
        "journey) to keep the explorer in memory; `cx journeys` and `cx report` use everyone "
        "(max_customers=None keeps everyone here too)",
        stacklevel=3,
    )
    return tp.semi_join(keep, "customer_id"), False


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
    return filtered(as_table(touchpoints), filters, start, end)
