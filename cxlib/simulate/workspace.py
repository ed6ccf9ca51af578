"""The workspace step: the monthly panel from a workspace's tables, the model fitted to it, and ``cx simulate``.

:func:`history_from_workspace` reads ``stage_history`` (from ``cx journeys``), the touchpoints and the personas
into the panel :class:`~cxlib.simulate.JourneyModel` fits; :func:`persona_model` fits the model the way
``cx simulate`` does (per persona when there are personas, the prospect stages shared); :func:`build` writes
``journey_transitions`` and ``scenarios``.

Examples
--------
>>> import pandas as pd
>>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "persona": ["p", "p", "q", "q"],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
...                   "stage": ["consideration", "purchase", "consideration", "onboarding"]})
>>> m = persona_model(h)
>>> m.by, m.segments_, list(m.shared_stages)
('persona', ['p', 'q'], ['awareness', 'consideration', 'lost'])
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
from ibis import _

from cxlib.engine import Workspace, opened
from cxlib.schema import STAGES, DataError
from cxlib.simulate.arrivals import arrivals_table
from cxlib.simulate.durations import DURATION_MONTHS
from cxlib.simulate.model import ARRIVED, POOL, PROSPECT_STAGES, JourneyModel
from cxlib.simulate.purchase_choice import choose_purchases, purchase_words
from cxlib.simulate.recency import PURCHASES, RECENCY_MONTHS
from cxlib.simulate.run import compare, simulate
from cxlib.simulate.scenarios import PRESETS, Scenario, service_failure_lever

__all__ = [
    "build",
    "check_history",
    "complete_history",
    "history_from_workspace",
    "last_complete_month",
    "persona_model",
]


def history_from_workspace(
    workspace: str | Path | Workspace, by: str | None = "persona", channel: bool = True
) -> pd.DataFrame:
    """The monthly panel :class:`JourneyModel` fits, from a workspace: ``customer_id, month, stage, revenue,
    presale_failure, acquisition_channel`` and ``persona`` when the workspace has personas.

    ``stage_history`` comes from ``cx journeys`` (built here if missing, with the workspace's
    ``stage_map.yml`` when it has one); revenue is the completed orders' value per customer and month;
    ``presale_failure`` flags months with an unresolved pre-sale ticket; the acquisition channel is the
    channel of a customer's first inbound touch (not one of the stage map's ``outbound_events``; ``channel=False``
    leaves it out, and with it the pass over every touchpoint that finds it: ``cx simulate`` does not use it).
    The panel is joined, filled and sorted in the engine (:func:`_history_table`); only its rows come back.
    """
    with opened(workspace, read_only=True) as ws:
        return _pulled(_history_table(ws, by, channel))


def _pulled(panel: ibis.Table) -> pd.DataFrame:
    """The panel's rows in pandas, in customer and month order."""
    out = panel.order_by(["customer_id", "month"]).to_pandas()
    out["presale_failure"] = out["presale_failure"].astype(bool)
    if "acquisition_channel" in out.columns:  # as it always came: Python strings
        out["acquisition_channel"] = out["acquisition_channel"].astype(object)
    return out


def _history_table(
    ws: Workspace,
    by: str | None = "persona",
    channel: bool = True,
    personas_as_of: pd.Timestamp | None = None,
    refit: bool = False,
) -> ibis.Table:
    """:func:`history_from_workspace` as an Ibis expression on an open workspace (DuckDB or Spark):
    ``customer_id, month, stage, revenue`` (0 in a month without orders), ``presale_failure``,
    ``acquisition_channel`` (``unknown`` without an inbound touch; with ``channel``) and ``by``
    (``unassigned`` for a customer without a persona; when ``by`` is given and the workspace has personas:
    those of table ``personas``, or with ``personas_as_of`` each customer's persona as of that instant,
    :func:`~cxlib.personas.stored.personas_as_of`, by a persona model fitted then with ``refit``). Unordered:
    sort it, or let :func:`history_from_workspace` do it."""
    sm = _stage_map(ws)
    hist = ws.table("stage_history") if ws.has("stage_history") else _stage_history(ws, sm)
    tp = ws.table("touchpoints")
    lines = ws.table("order_lines") if ws.has("order_lines") else None
    monthly = _monthly_money(tp, None if lines is None else lines.filter(lines.credit_note.fill_null(False)))
    h = hist.mutate(month=hist.month.cast("timestamp"))
    h = h.left_join(monthly, [h.customer_id == monthly.customer_id, h.month == monthly._month])
    h = h.select(
        "customer_id",
        "month",
        "stage",
        revenue=h.revenue.fill_null(0.0).cast("float64"),
        presale_failure=h.presale_failure.fill_null(False),
    )
    if channel:
        first = _acquisition_channel(tp, sm.outbound_events)
        h = h.left_join(first, h.customer_id == first._c).drop("_c")
        h = h.mutate(acquisition_channel=h.acquisition_channel.fill_null("unknown"))
    if by is not None and ws.has("personas"):
        per = _persona_labels(ws, by, personas_as_of, refit)
        h = h.left_join(per, h.customer_id == per._p).drop("_p")
        h = h.mutate(**{by: h[by].fill_null("unassigned")})
    return h


def _stage_map(ws: Workspace) -> Any:
    """The stage map that applies to the workspace: its ``stage_map.yml`` when it has one, else the default."""
    from cxlib import journeys

    return journeys.resolve_stage_map(workspace=ws)


def _stage_history(ws: Workspace, stage_map: Any) -> ibis.Table:
    """``stage_history`` as ``cx journeys`` writes it, for a workspace where it has not run."""
    from cxlib import journeys

    return journeys.stage_history(journeys.analysis_touchpoints(ws), stage_map)


def _monthly_money(tp: ibis.Table, credits: ibis.Table | None = None) -> ibis.Table:
    """Per customer and month (``_month``): order ``revenue`` and whether a pre-sale question went unresolved.

    ``credits`` (``source, order_id``: the credit notes of an invoice-line export, ``order_lines``): each counts
    minus its amount in its month, as the report's net revenue counts it (Online Retail II's order 581483 of
    168k and its credit note C581484 ten minutes later added 168k to the history, the forecast and every
    lever's gain). A month of more credit than sales is negative."""
    # only orders and pre-sale questions count: the other touchpoints (most of them) would add 0 and False
    presale = (tp.topic == "pre_sale_question").fill_null(False)
    t = tp.filter((tp.table_name == "orders").fill_null(False) | presale)
    money = ibis.ifelse(t.table_name == "orders", t.revenue, 0.0)
    if credits is not None:
        cn = credits.select(_cs=credits.source, _co=credits.order_id, _cn=ibis.literal(True)).distinct()
        t = t.left_join(cn, [t.source == cn._cs, t.record_key == cn._co]).drop("_cs", "_co")
        credited = t._cn.fill_null(False) & (t.table_name == "orders").fill_null(False)
        money = ibis.cases((credited, -t.amount.fill_null(0.0)), (t.table_name == "orders", t.revenue), else_=0.0)
    unresolved = (t.topic == "pre_sale_question").fill_null(False) & (t.resolved == False).fill_null(False)  # noqa: E712
    return (
        t.mutate(_month=t.ts.truncate("M").cast("timestamp"), _money=money)
        .group_by(["customer_id", "_month"])
        .aggregate(revenue=_._money.sum(), presale_failure=unresolved.any())
    )


def _acquisition_channel(tp: ibis.Table, outbound_events: Sequence[str]) -> ibis.Table:
    """``_c`` (customer) and ``acquisition_channel``: the channel of each customer's first inbound touch."""
    from cxlib._frames import first_per_group
    from cxlib.journeys.inputs import ties

    inbound = tp.filter(tp.channel.notnull() & ~tp.event.isin(list(outbound_events)).fill_null(False))
    # the journeys' ordering rule: time, then sequence, then the stream's key
    first = first_per_group(inbound, "customer_id", [inbound.ts, *ties(inbound, "event")])
    return first.select(_c="customer_id", acquisition_channel="channel")


def _persona_labels(ws: Workspace, by: str, as_of: pd.Timestamp | None = None, refit: bool = False) -> ibis.Table:
    """``_p`` (customer) and ``by``: each customer's persona, by its name when the table has one (readable in
    every chart and table); with ``as_of``, the persona each customer had then (none before their first touch),
    by the persona model refitted then with ``refit`` (named by that fit)."""
    if as_of is not None:
        from cxlib.personas.stored import personas_as_of

        # refitted, the personas keep the numbers and names of that fit: matched to the kept model's, their
        # order (and so the journey model's draws) would depend on a model fitted after as_of
        per = personas_as_of(ws, as_of, refit=refit, match=False)
    else:
        per = ws.table("personas")
    col = f"{by}_name" if f"{by}_name" in per.columns else by
    return per.select(_p=per.customer_id, **{by: per[col].cast("string")})


def cohort_segments(history: pd.DataFrame, by: str | None = None) -> pd.Series:
    """Each row's segment (a categorical): ``by``'s value (``"all"`` without one), with
    :data:`~cxlib.simulate.model.ARRIVED` appended for everyone but the customers already there when the history
    starts (in a customer-journey stage, not a prospect's, in its first month): those first seen later, and the
    prospects of the first month, whose first purchase is still to come.

    The customers already there when the data starts have lived a while (a wholesaler of ten years, a
    subscriber since 2015); those who arrived while it ran are young. A forecast's new customers are young
    too, so they follow the arrived customers' moves and spend, not everyone's.

    Examples
    --------
    >>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "c", "c"], "persona": ["p"] * 5,
    ...                   "month": pd.to_datetime(["2024-01", "2024-02", "2024-02", "2024-01", "2024-02"]),
    ...                   "stage": ["repeat", "repeat", "purchase", "consideration", "purchase"]})
    >>> cohort_segments(h, "persona").tolist()
    ['p', 'p', 'p · arrived', 'p · arrived', 'p · arrived']
    """
    cid = "customer_id" if "customer_id" in history.columns else "person_id"
    month = pd.to_datetime(history["month"])
    start = month == month.min()
    # a customer already when the data starts: a customer-journey stage (not a prospect's) in its first month
    there = (start & ~history["stage"].astype(str).isin(PROSPECT_STAGES)).groupby(history[cid]).transform("any")
    base = history[by].astype(str) if by else pd.Series("all", index=history.index)
    # by the segments' codes: a few labels, not a string per row (pandas' `where` on Arrow strings took 1.8 s
    # of 1.7M rows at 100k customers)
    codes, names = pd.factorize(base, sort=True)
    labels = [*names, *(f"{n}{ARRIVED}" for n in names)]
    coded = codes + len(names) * ~there.to_numpy(dtype=bool)
    return pd.Series(pd.Categorical.from_codes(coded, categories=labels), index=history.index)


def persona_model(
    history: pd.DataFrame,
    random_state: int | None = 0,
    seasons: bool = True,
    durations: int = DURATION_MONTHS,
    recency: int = RECENCY_MONTHS,
    cohorts: bool = True,
    purchases: str = PURCHASES,
) -> JourneyModel:
    """The journey model ``cx simulate`` fits, fitted to ``history``.

    Per persona when the history has a ``persona`` column, with the prospect stages
    (:data:`PROSPECT_STAGES`) shared: personas are found among buyers, so the prospects' stages are one chain
    and a prospect who buys joins a persona. Each persona's rows are pulled toward the overall chain by
    :data:`~cxlib.simulate.model.POOL` pseudo-transitions, so a persona with few transitions borrows from
    everyone instead of printing a confident number on a handful. Without personas, one chain for everyone
    (two with ``cohorts`` when somebody arrived after the first month, the prospect stages shared and pooled as
    between personas).
    ``cohorts``: each segment split in two (:func:`cohort_segments`): the customers already there when the
    history starts and those who arrived after (``<persona> · arrived``), where the forecast's new customers
    go; a lever for a persona reaches both. On a real shop's invoices the arrivals' spend was four times too
    high without it (``docs/strategy.md``). ``seasons``: month-of-year profiles when the history spans two
    years or more, a smooth yearly cycle with one year to 23 months (``False``: flat). ``durations``: months in
    a stage told apart (:data:`~cxlib.simulate.durations.DURATION_MONTHS`; 0: a plain Markov chain), so that
    exits which depend on how long a customer has been quiet, or a lead has waited, keep up as the company
    ages. ``recency``: months since the last purchase told apart (:data:`~cxlib.simulate.recency.RECENCY_MONTHS`;
    0: revenue by stage alone), so that revenue per customer-month follows how recently the customers in a
    stage bought. ``purchases``: what the purchase buckets tell apart (:data:`~cxlib.simulate.recency.KINDS`), or
    ``"auto"`` (:data:`~cxlib.simulate.recency.PURCHASES`): chosen by backtest on the history's own last months
    (:func:`~cxlib.simulate.purchase_choice.choose_purchases`, kept as the fitted ``purchase_choice_``).
    """
    by = "persona" if "persona" in history.columns else None
    if cohorts:
        seg = cohort_segments(history, by)
        if seg.nunique() > (history[by].astype(str).nunique() if by else 1):  # somebody arrived
            history, by = history.assign(segment=seg), "segment"
    settings = {
        "by": by,
        "random_state": random_state,
        "shared_stages": PROSPECT_STAGES if by else (),
        "pool": POOL if by else 0.0,
        "seasons": seasons,
        "durations": durations,
        "recency": recency,
    }
    choice = choose_purchases(history, **settings) if purchases == "auto" else None
    kind = choice.attrs["chosen"] if choice is not None else purchases
    model = JourneyModel(**settings, purchases=kind).fit(history)
    if choice is not None:
        model.purchase_choice_ = choice
    return model


def check_history(history: pd.DataFrame, what: str = "cx simulate", min_months: int = 3,
                  revenue: bool = False) -> None:
    """Stop with a :class:`DataError` saying what is missing when ``history`` has fewer than ``min_months``
    month ends: a forecast fitted on one or two is noise presented as a number. With ``revenue``, also when
    nobody in it spent anything (a CRM and helpdesk without the orders): every lever would print a gain of 0.

    Examples
    --------
    >>> h = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"]),
    ...                   "revenue": [0.0, 0.0, 0.0]})
    >>> check_history(h)
    >>> check_history(h, revenue=True)
    Traceback (most recent call last):
    cxlib.schema.DataError: cx simulate: no revenue in the history ...
    """
    n = pd.to_datetime(history["month"]).dt.to_period("M").nunique() if len(history) else 0
    if n < min_months:
        raise DataError(
            f"{what}: the history covers {n} month end(s); the journey model needs at least {min_months} to "
            "learn how customers move between stages. Load a longer export (a year or more gives seasonal "
            "patterns a chance), then run it again."
        )
    if revenue and not (history["revenue"].fillna(0) != 0).any():
        raise DataError(
            f"{what}: no revenue in the history ({len(history):,} customer-months, none with a purchase): the "
            "journey model forecasts revenue, and every lever would gain 0. Load the orders or invoice lines "
            "(`cx sources FOLDER` suggests the entry), then run `cx load`, `cx unify` and `cx journeys` again."
        )


def last_complete_month(ws: Workspace) -> pd.Timestamp | None:
    """The first day of the latest month the workspace's touchpoints cover to its last day (``None`` when
    there are none): a month the export cut short would look like a collapse in revenue."""
    last = ws.table("touchpoints").ts.max().to_pandas()
    if last is None or pd.isna(last):
        return None
    last = pd.Timestamp(last)
    month = last.to_period("M").start_time
    complete = (last + pd.Timedelta(days=1)).month != last.month
    return month if complete else month - pd.DateOffset(months=1)


def complete_history(
    workspace: str | Path | Workspace,
    by: str | None = "persona",
    channel: bool = True,
    personas_as_of: str | pd.Timestamp | None = None,
    refit_personas: bool = False,
) -> pd.DataFrame:
    """:func:`history_from_workspace` up to the last complete month (:func:`last_complete_month`), cut in the
    engine; with ``personas_as_of``, each customer's persona is the one they had at that instant (features of
    the touchpoints up to it, assigned by the workspace's persona model, or with ``refit_personas`` by that
    model fitted anew on them: :func:`~cxlib.personas.stored.personas_as_of`), as a backtest needs."""
    as_of = None if personas_as_of is None else pd.Timestamp(personas_as_of)
    with opened(workspace, read_only=True) as ws:
        panel = _history_table(ws, by, channel, as_of, refit_personas)
        last = last_complete_month(ws)
        if last is not None:
            panel = panel.filter(panel.month <= last.to_pydatetime())
        return _pulled(panel)


def _transitions_table(model: JourneyModel) -> pd.DataFrame:
    """``journey_transitions``: ``segment, from_stage, to_stage, probability, transitions``."""
    P = model.matrices()
    stages = list(model.stages)
    g, i, j = np.meshgrid(range(len(model.segments_)), range(len(stages)), range(len(stages)), indexing="ij")
    return pd.DataFrame(
        {
            "segment": np.array(model.segments_, dtype=object)[g.ravel()],
            "from_stage": np.array(stages, dtype=object)[i.ravel()],
            "to_stage": np.array(stages, dtype=object)[j.ravel()],
            "probability": P.ravel(),
            "transitions": model.counts_.ravel().astype("int64"),
        }
    )


def build(
    workspace: str | Path | Workspace,
    months: int = 12,
    draws: int = 2000,
    scenarios: Sequence[Scenario] | None = None,
    arrivals: str | float = "auto",
    backtest: bool = True,
    purchases: str = PURCHASES,
) -> pd.DataFrame:
    """Fit the journey model to a workspace and write ``journey_transitions`` (``segment, from_stage,
    to_stage, probability, transitions``), ``scenarios`` (the :func:`simulate` frame for the presets, the
    pre-sale service fix and any ``scenarios`` given; ``month_start`` is the first day of each forecast month,
    month 1 the one after the last complete month of data), ``simulate_arrivals`` (:func:`arrivals_table`: the
    new customers a month observed and forecast) and ``simulate_backtest`` (:func:`backtest` over
    the same horizon, or as much of it as the data allows, so that every forecast carries its error).
    ``arrivals`` as in :func:`simulate` (default: the arrival model chosen by backtest), ``purchases`` as in
    :func:`persona_model` (default: chosen by backtest). Returns :func:`compare` of the scenarios, its
    ``attrs["purchases"]`` what the model's purchase buckets keep apart and why (:func:`purchase_words`)."""
    from cxlib.simulate.backtest import MIN_MONTHS, workspace_backtest

    with opened(workspace) as ws:
        h = complete_history(ws, channel=False)  # the acquisition channel is not used here
        check_history(h, "cx simulate", MIN_MONTHS, revenue=True)
        model = persona_model(h, purchases=purchases)
        todo = workspace_scenarios(h, scenarios or ())
        results = simulate(model, todo, months=months, draws=draws, arrivals=arrivals)
        bt = workspace_backtest(ws, h, months, arrivals, purchases) if backtest else None
        with ws.step("simulate"):  # the tables and the lineage row swap in together
            ws.write("journey_transitions", _transitions_table(model))
            ws.write("scenarios", results)
            ws.write("simulate_arrivals", arrivals_table(model, arrivals, months))
            if bt is not None:
                table = bt.assign(
                    cutoff=bt.attrs["cutoff"],
                    arrivals=str(bt.attrs["arrivals"]),
                    calendar=bt.attrs["seasonality"],
                    purchases=bt.attrs["purchases"],
                )
                table.attrs = {}  # carried in the columns
                ws.write("simulate_backtest", table)
    ranked = compare(results)
    ranked.attrs["purchases"] = purchase_words(model)
    return ranked


#: The scenario of the pre-sale service fix, estimated from the workspace's own history.
SERVICE_FIX = "fix pre-sale service failure"


def workspace_scenarios(history: pd.DataFrame, scenarios: Sequence[Scenario] = ()) -> list[Scenario]:
    """The scenarios ``cx simulate`` forecasts and stores, in its order: the presets, ``scenarios``, and the
    pre-sale service fix (:data:`SERVICE_FIX`) when ``history`` can estimate it -- one list, so the strategy page
    shows the scenarios the report and the CLI show.

    Examples
    --------
    >>> import pandas as pd
    >>> [s.name for s in workspace_scenarios(pd.DataFrame())] == [s.name for s in PRESETS]  # nothing to estimate on
    True
    """
    todo = [*PRESETS, *scenarios]
    try:  # the failure acts before the first purchase, where personas are shared: one estimate for everyone
        todo.append(Scenario(SERVICE_FIX, service_failure_lever(history)))
    except (DataError, ValueError, KeyError):  # no consideration -> purchase moves to estimate it on
        pass
    return todo


def stored_scenarios(ws: Workspace, names: Sequence[str], months: int) -> pd.DataFrame | None:
    """The scenarios ``names`` (and the baseline) as ``cx simulate`` stored them (table ``scenarios``), in
    :func:`simulate`'s shape and order -- when it forecast ``months`` months, holds them all and is current
    (its inputs unchanged since, by the lineage); else ``None``. The strategy page reads its presets from here:
    the numbers the report and the metrics layer show (``lever_gain``), not a second simulation of them.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from cxlib import io
    >>> shop = pathlib.Path(tempfile.mkdtemp())  # one order, loaded: `cx simulate` has not run
    >>> _ = (shop / "orders.csv").write_text("source,order_id,ts,amount,status\\nshop,1,2024-03-01,10,completed\\n")
    >>> _ = io.load(shop, progress=False)
    >>> with opened(shop) as ws:
    ...     stored_scenarios(ws, ["AOV +5%"], months=12) is None
    True
    """
    from cxlib.simulate.backtest import stored_current

    if not stored_current(ws, "scenarios"):
        return None
    order = ["baseline", *[n for n in names if n != "baseline"]]
    t = ws.table("scenarios")
    got = t.filter(t.scenario.isin(order)).to_pandas()
    if got.empty or int(got["month"].max()) != months or set(got["scenario"]) != set(order):
        return None
    # simulate's order: scenarios as asked (the baseline first), months, then revenue, cumulative revenue and
    # the customers in each stage in the model's order (the schema's stages)
    metrics = ["revenue", "cumulative_revenue", *[f"customers:{x}" for x in STAGES]]
    types = {"scenario": "str", "metric": "str", "month_start": "datetime64[ns]"}
    got = got.astype({c: t for c, t in types.items() if c in got.columns})  # month_start: not in older runs
    got = got.assign(
        _s=got["scenario"].map({n: i for i, n in enumerate(order)}),
        _m=got["metric"].map({m: i for i, m in enumerate(metrics)}).fillna(len(metrics)),
    )
    out = got.sort_values(["_s", "month", "_m"], kind="stable").drop(columns=["_s", "_m"])
    return out.reset_index(drop=True)
