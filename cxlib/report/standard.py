"""The standard executive report of a workspace: one section per step the workspace holds.

:func:`standard_report` opens with **At a glance** (one headline from each section that had something to
say), then the sections ``customers``, ``personas``, ``journeys``, ``strategy`` and ``attribution``; a
section whose step has not run says which command adds it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlib import lineage, metrics
from cxlib.engine import Workspace, opened
from cxlib.personas.evidence import thin_evidence
from cxlib.report.inputs import attribution_paths
from cxlib.report.page import Report
from cxlib.report.personal import PersonalTerms
from cxlib.report.privacy import _left_out_note, _small
from cxlib.schema import name_words, stage_label
from cxlib.simulate.advice import strategy_advice

__all__ = ["standard_report"]


def standard_report(
    workspace: str | Path | Workspace,
    *,
    title: str = "Customer journey report",
    include_pii: bool = False,
    min_group_size: int = 10,
    sections: Iterable[str] | None = None,
    progress: bool = False,
) -> Report:
    """The executive report of a workspace, built from whatever steps it holds.

    It opens with **At a glance**, one headline from each section that had something to say. Sections (each
    only when its step has run; otherwise a line says which command adds it): ``customers`` (sources and
    unified customers), ``personas``, ``journeys`` (stages now and over time, Sankey, funnel, drop-off
    diagnosis), ``strategy`` (scenario comparison and fan chart) and ``attribution``.

    Parameters
    ----------
    workspace : folder, ``.duckdb`` file or :class:`cxlib.engine.Workspace`
    include_pii, min_group_size : see :class:`Report`
    sections : iterable of str, optional
        A subset of the sections above, in the order given.
    progress : bool
        Show a progress bar over the sections.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxlib import io, synth
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = synth.write_company(d, n_customers=300, seed=3, progress=False)
    >>> _ = io.load(d)
    >>> r = standard_report(d, sections=["customers"])
    >>> [b.title for b in r.blocks if b.kind == "section"]  # the glance: the orders mix GBP and EUR
    ['At a glance', 'Customers and sources']
    """
    with opened(workspace, read_only=True) as ws:
        by_source = ws.rows_by_source()  # one scan of every table, shared by the header and the customers section
        chosen = list(sections) if sections is not None else list(_SECTIONS)
        unknown = [s for s in chosen if s not in _SECTIONS]
        if unknown:
            raise ValueError(f"unknown report section(s) {unknown}; choose from {list(_SECTIONS)}")
        try:
            report, glance, stale, h = _build(ws, chosen, by_source, title, include_pii, min_group_size, progress)
        finally:
            ws.drop_scratch()  # the staged rows, when `cx journeys` had not kept them
        money = metrics.mixed_currencies(ws)  # every money number stands on the mix: the glance says it first
    _at_a_glance(report, glance, stale, money)
    if sections is None:
        _appendix(report, h)
    return report


def _build(
    ws: Workspace,
    chosen: list[str],
    by_source: pd.DataFrame,
    title: str,
    include_pii: bool,
    min_group_size: int,
    progress: bool,
) -> tuple[Report, list[str], list, pd.DataFrame]:
    """The report's sections, with the headline numbers and the glance lines they gathered."""
    from tqdm.auto import tqdm

    shared = _Shared.of(ws, chosen)  # what both a headline number and a section read, computed once
    # the headline numbers, from the metrics layer (the app and the CLI show the same ones)
    h = metrics.headline(
        ws, parts={p for s in chosen for p in _SECTIONS[s]}, funnel=shared.metric_funnel, paths=shared.paths
    )
    builders = {
        "customers": functools.partial(_customers_section, by_source=by_source, h=h),
        "personas": functools.partial(_personas_section, h=h),
        "journeys": functools.partial(_journeys_section, h=h, shared=shared),
        "strategy": functools.partial(_strategy_section, h=h),
        "attribution": functools.partial(_attribution_section, h=h, paths=shared.paths),
        "voice": _voice_section,
    }
    summary = ws.summary()
    last = pd.to_datetime(summary["last_ts"]).max() if len(summary) else None
    report = Report(
        title,
        as_of=None if last is None or pd.isna(last) else last,
        sources=sorted(by_source["source"].astype(str).unique()),
        min_group_size=min_group_size,
        include_pii=include_pii,
        personal=PersonalTerms() if include_pii else PersonalTerms.from_workspace(ws),
    )
    glance: list[str] = []  # one headline per section, gathered into "At a glance" at the top
    stale = lineage.stale_steps(ws)
    for name in tqdm(chosen, desc="report", unit="section", disable=not progress):
        builders[name](ws, report, glance)
    return report, glance, stale, h


@dataclass
class _Shared:
    """What a headline number and a section both read, computed once: the staged journey rows, the purchase
    funnel (``funnel``, over the :data:`~cxlib.metrics.FUNNEL_STEPS` the rows hold; ``metric_funnel`` when
    that is all of them, the funnel of metric ``funnel_conversion``) and the attribution paths."""

    staged: Any = None
    funnel: pd.DataFrame | None = None
    metric_funnel: pd.DataFrame | None = None
    paths: pd.DataFrame | None = None

    @classmethod
    def of(cls, ws: Workspace, chosen: list[str]) -> _Shared:
        from cxlib import journeys as jr

        out = cls()
        if not ws.has("touchpoints"):
            return out
        if "journeys" in chosen:
            # `cx journeys`' staged rows, read in place; staged here (a temporary table within the workspace's
            # memory limit) only when it has not kept them
            out.staged = jr.staged_rows(ws, materialise=True)
            events = set(out.staged.select("event").distinct().to_pandas()["event"].astype(str))
            steps = [s for s in metrics.FUNNEL_STEPS if s in events]
            if len(steps) >= 2:  # the funnel of metric funnel_conversion: its steps, its window
                out.funnel = jr.funnel(out.staged, steps, within=metrics.FUNNEL_WINDOW_DAYS)
                out.metric_funnel = out.funnel if steps == list(metrics.FUNNEL_STEPS) else None
        if "attribution" in chosen:
            out.paths = attribution_paths(ws)
        return out


def _observed_groups_only(arrived: pd.DataFrame, r: Report, caption: str) -> pd.DataFrame:
    """The arrivals table with each observed month of fewer new customers than the smallest group left out (as
    the stage counts month by month are), said in the privacy note; the forecast's months are model numbers, not
    groups of people, and stay."""
    k = r.min_group_size
    small = (arrived["kind"] == "observed").to_numpy() & _small(arrived["arrivals"], k)
    if k <= 0 or not small.any():
        return arrived
    r.privacy_notes.append(_left_out_note(int(small.sum()), k, caption))
    return arrived.assign(arrivals=arrived["arrivals"].mask(small))


def _at_a_glance(report: Report, glance: list[str], stale: list, money: str | None = None) -> None:
    """Put "At a glance" first: amounts in several currencies (``money``: every money number mixes them), a line
    per stale step (a reader says when it shows older data), then the headlines."""
    if not (glance or stale or money):
        return
    start = len(report.blocks)
    report.section("At a glance")
    if money:
        report.markdown(f"**Amounts in several currencies.** {money}")
    if stale:
        report.markdown(
            "**Some numbers below describe older data.** "
            + "; ".join(f"{s.step} is stale ({s.reason}): run `{s.command}`" for s in stale)  # as the pages say
            + " (or `cx refresh`), then build this report again."
        )
    if glance:
        report.markdown("\n".join(f"- {line}" for line in glance))
    head = report.blocks[start:]
    del report.blocks[start:]
    report.blocks[:0] = head


#: The sections of the standard report, in order, with the parts of :func:`cxlib.metrics.headline` each shows.
_SECTIONS: dict[str, tuple[str, ...]] = {
    "customers": ("load", "customers"),
    "personas": ("revenue",),
    "journeys": ("stages", "ever", "funnel", "revenue"),
    "strategy": ("levers",),
    "attribution": ("attribution",),
    "voice": (),
}


def _appendix(r: Report, h: pd.DataFrame) -> None:
    """How the customer counts differ: each is a named metric with its own question (defined in the appendix)."""
    names = ("customers_known", "customers_anonymous", "journey_customers", "stage_ever.awareness")
    if not all((h["metric"] == n).any() for n in names):
        return
    known, anon, journey, aware = (metrics.ref(r, h, n) for n in names)
    r.section("Appendix: why the customer counts differ")
    r.markdown(
        f"- **{known}** known customers: people identified by a contact record, e-mail or phone.\n"
        f"- **{anon}** anonymous customers: known only by a cookie or device id, or by nothing at all (a store "
        "visit without a loyalty card).\n"
        f"- **{journey}** customers with a journey: the known customers and the anonymous visitors with a "
        "cookie or device id (a record with no identifier has no journey to follow). These are the customers "
        "the stage counts, the Sankey and the strategy model describe.\n"
        f"- **{aware}** of them were ever in awareness; the others started further along (their first "
        "touch was already consideration or a purchase).\n\n"
        "A stage's *now* count is where customers are at the latest data date; its *ever* count is everyone "
        "who was in it at some point, so it is never smaller."
    )


def _missing(report: Report, what: str, command: str) -> None:
    report.markdown(f"*No {what} in this workspace yet: run `{command}` to add this section.*")


def _customers_section(ws: Any, r: Report, glance: list[str], by_source: pd.DataFrame, h: pd.DataFrame) -> None:
    r.section("Customers and sources")
    metrics.card(r, h, "rows_loaded", "Source records loaded")
    metrics.card(r, h, "source_systems")
    if not ws.has("customers"):
        r.table(by_source, "Source records by table and system")
        _missing(r, "unified customers", "cx unify FOLDER")
        return
    for name in ("customers_known", "customers_anonymous", "customers_multi_source"):
        metrics.card(r, h, name)
    if metrics.value(h, "customers_known"):
        names = ("customers_known", "source_systems", "customers_multi_source")
        known, systems, multi = (metrics.ref(r, h, n) for n in names)
        many = "system" if metrics.value(h, "source_systems") == 1 else "systems"
        glance.append(
            f"**{known}** known customers across {systems} {many}; {multi} of them are known to more than one system."
        )
    links = ws.table("identity_links")
    rules = links.group_by("rule").aggregate(records=links.count()).order_by(ibis.desc("records")).to_pandas()
    r.markdown(
        "One customer per real person, resolved across every system: each source record is linked to exactly "
        "one customer, by a shared identifier or a probabilistic match on name, birth date and address "
        "(e-mails and phones that differ count against it)."
    )
    r.table(by_source, "Source records by table and system")
    r.table(rules, "How records were linked (rule)")
    from cxlib.unify import one_system_words, source_overlap

    overlap = source_overlap(ws)
    if one := one_system_words(overlap):  # a one-cell table of its own count says nothing (as the unify page)
        r.markdown(f"*{one}*")
        return
    ov = overlap.pivot(index="source_a", columns="source_b", values="customers").fillna(0).astype("int64")
    ov.index.name = "customers known to"
    # a pair of systems sharing 4 customers reads "fewer than 10", as every small count does -- not 0, which said
    # that they share nobody (a system's own 4 customers read 0 on its own diagonal)
    r.table(ov, "Which systems know which customers (customers in both)", people=list(ov.columns))


def _persona_shares(df: pd.DataFrame) -> pd.DataFrame:
    """The personas' table with each one's ``share`` of the customers with orders (those the personas were found
    among: `cx personas` and the personas page give the same share; the prospects' row has none) and its
    ``revenue_share`` of theirs.

    Examples
    --------
    >>> df = pd.DataFrame({"persona": [-1, 0, 1], "persona_name": ["Prospects (no order yet)", "A", "B"],
    ...                    "customers": [50, 30, 20], "mean_value": [0, 10.0, 35.0], "revenue": [0, 300.0, 700.0],
    ...                    "high_value": [0, 1, 9]})
    >>> _persona_shares(df)[["share", "revenue_share"]].round(2).values.tolist()
    [[nan, 0.0], [0.6, 0.3], [0.4, 0.7]]
    """
    buyers = df["persona"] >= 0  # persona -1: the prospects, who have no order to cluster
    total_rev = df["revenue"].sum()
    df = df.assign(share=np.where(buyers, df["customers"] / max(int(df.loc[buyers, "customers"].sum()), 1), np.nan))
    df["revenue_share"] = df["revenue"] / total_rev if total_rev else np.nan
    return df[["persona_name", "customers", "share", "mean_value", "revenue", "revenue_share", "high_value"]]


#: The personas' table as the report shows it
_PERSONA_COLUMNS = ["persona_name", "customers", "share", "mean_value", "revenue_share", "high_value"]


def _persona_said(top: pd.Series, revenue: float | None) -> str:
    """A persona's shares in words: of the customers with orders, of their revenue, and of all revenue (the
    ``revenue`` metric: orders with no customer identifier are in no persona) when it differs."""
    said = f"{top['share']:.0%} of the customers with orders and {top['revenue_share']:.0%} of their revenue"
    if revenue:
        of_all = float(top["revenue"]) / float(revenue)
        if f"{of_all:.0%}" != f"{top['revenue_share']:.0%}":
            said += f" ({of_all:.0%} of all revenue, which includes orders no customer can be linked to)"
    return said


def _personas_section(ws: Any, r: Report, glance: list[str], h: pd.DataFrame | None = None) -> None:
    r.section("Personas")
    if not ws.has("personas") and not metrics.has_orders(ws):  # `cx personas` would stop: say what is missing instead
        r.markdown("*No personas: they are found among customers with orders, and this workspace has no orders. "
                   "Load the orders or invoice lines to add this section.*")
        return
    if not ws.has("personas"):
        _missing(r, "personas", "cx personas FOLDER")
        return
    p = ws.table("personas")
    df = (
        p.group_by(["persona", "persona_name"])
        .aggregate(
            customers=p.count(),
            mean_value=p.value.mean(),
            revenue=p.value.sum(),
            high_value=(p.value_tier == "high").sum(),
        )
        .order_by("persona")
        .to_pandas()
    )
    df = _persona_shares(df)
    best = df[df["customers"] >= max(r.min_group_size, 1)].sort_values("revenue_share", ascending=False)
    if len(best) and pd.notna(best.iloc[0]["share"]):
        top = best.iloc[0]
        said = _persona_said(top, metrics.value(h, "revenue") if h is not None else None)
        glance.append(f"The most valuable persona is **{top['persona_name']}**: {said}.")
        r.markdown(f"**{top['persona_name']}** is the most valuable persona: {said}. High-value customers are the "
                   "top tier by observed value.")
    if note := thin_evidence(ws):  # a week of orders still fits and names groups: say what they stand on
        r.markdown(f"*{note}*")
    r.table(df[_PERSONA_COLUMNS], "Personas: size, value and high-value customers (share: of the customers with "
            "orders; revenue share: of their revenue)")
    fig = go.Figure(
        go.Bar(
            x=df["persona_name"],
            y=df["customers"],
            text=[metrics.shown(v, "customers") for v in df["customers"]],  # counts as every page shows them
            hovertemplate="%{x}: %{y:,} customers<extra></extra>",
            name="customers",
        )
    )
    fig.update_layout(title="Customers per persona", yaxis_title="customers")
    r.figure(fig, "Customers per persona", counts=True)


def _journeys_section(ws: Any, r: Report, glance: list[str], h: pd.DataFrame, shared: _Shared) -> None:
    from cxlib.schema import STAGES

    r.section("Journeys")
    if not ws.has("touchpoints"):
        _missing(r, "touchpoints", "cx unify FOLDER")
        return
    for name in ("journey_customers", "funnel_conversion", "revenue", "revenue_net"):  # net: with order lines
        metrics.card(r, h, name)
    # where customers are now: the metrics layer's stage_now counts (customer_stages, as `cx journeys` wrote it)
    now = pd.DataFrame({"stage": list(STAGES), "customers": [metrics.value(h, f"stage_now.{s}") for s in STAGES]})
    _journeys_views(ws, r, glance, shared, now, h)


def _stage_table(r: Report, h: pd.DataFrame) -> None:
    """Customers in each stage now and ever, each a named metric (a group under ``min_group_size`` is not shown)."""
    from cxlib.schema import STAGES

    def cell(name: str) -> str:
        v = metrics.value(h, name)
        if v is None:
            return ""
        return f"fewer than {r.min_group_size}" if 0 < v < r.min_group_size else metrics.ref(r, h, name)

    rows = [f"| {stage_label(s)} | {cell(f'stage_now.{s}')} | {cell(f'stage_ever.{s}')} |" for s in STAGES]
    r.markdown(
        "**Customers in each stage**: *now* is where they are at the latest data date, *ever* is everyone who "
        "was in the stage at some point.\n\n| stage | now | ever |\n|---|---:|---:|\n" + "\n".join(rows)
    )


def _journeys_views(ws: Any, r: Report, glance: list[str], shared: _Shared, now: pd.DataFrame, h: pd.DataFrame) -> None:
    """The journeys section's figures and tables, from the staged touchpoints (the workspace's stage_map.yml
    applies, as in `cx journeys`)."""
    from cxlib import journeys as jr
    from cxlib.schema import STAGES

    fig = jr.stage_now_figure(now, "Where customers are now")
    r.markdown(
        "Every touchpoint is mapped to a stage: the buyer journey before the first purchase, the "
        "customer journey after it."
    )
    r.figure(fig, "Customers at each stage now", counts=True)
    _stage_table(r, h)
    if ws.has("stage_history"):
        h = ws.table("stage_history")
        hist = h.group_by(["month", "stage"]).aggregate(customers=h.count()).to_pandas()
        wide = hist.pivot(index="month", columns="stage", values="customers").reindex(columns=list(STAGES))
        wide = wide.fillna(0).sort_index()
        if r.min_group_size > 0:
            wide = wide.mask(wide < r.min_group_size, 0)
        r.figure(jr.stage_counts_figure(wide), "Customers at each stage, month by month")
    staged = shared.staged
    r.figure(
        jr.sankey(staged, on="stage", align="stage", title="Moves between stages"),
        "How customers move between journey stages",
        counts=True,
    )
    f = shared.funnel
    if f is not None:  # the funnel of metric funnel_conversion: its steps, its window
        days = metrics.FUNNEL_WINDOW_DAYS
        title = f"Purchase funnel (within {days} days of the first {name_words(f['name'].iloc[0])})"
        r.figure(jr.funnel_figure(f, title), title, counts=True)
        r.table(jr.funnel_table(f), f"Funnel steps ({days}-day window)")  # as drawn: steps in words
    d = jr.diagnose_dropoff(staged)
    sf, mk = d.set_index("branch").loc["service failure"], d.set_index("branch").loc["marketing only"]
    # nobody seen considering (an orders-only export), nobody who considered bought (no orders), or nobody with a
    # failure (no helpdesk): nothing to compare, and no "converted at 0% against 0%" at a glance
    if jr.nothing_to_compare(d) is not None:
        r.markdown("**Why did they not buy?** " + jr.dropoff_verdict(d))
        return
    glance.append(
        f"Of those who considered and did not buy, {sf['share']:.0%} had an unresolved pre-sale question; of all "
        f"who considered, those with one converted at {sf['conversion']:.0%} against {mk['conversion']:.0%} "
        "without one"
        + (f" (about {sf['excess_dropoffs']:,.0f} lost first purchases)." if sf["excess_dropoffs"] > 0 else ".")
    )
    r.markdown("**Why did they not buy?** " + jr.dropoff_verdict(d))
    r.table(d, "Drop-off diagnosis: service failure vs marketing", money=("revenue_at_stake",))


def _strategy_section(ws: Any, r: Report, glance: list[str], h: pd.DataFrame | None = None) -> None:
    from cxlib import simulate as sim

    r.section("Strategy")
    if not ws.has("scenarios") and not metrics.has_orders(ws):  # `cx simulate` would stop on a history with no revenue
        r.markdown("*No forecast: the journey model forecasts revenue, and this workspace has no orders. Load the "
                   "orders or invoice lines to add this section.*")
        return
    if not ws.has("scenarios"):
        _missing(r, "scenarios", "cx simulate FOLDER")
        return
    results = ws.table("scenarios").to_pandas()
    ranked = sim.compare(results)
    months = int(results["month"].max())
    bt = ws.table("simulate_backtest").to_pandas() if ws.has("simulate_backtest") else None
    headline, text = strategy_advice(ranked, bt, months)
    glance.append(headline)
    r.markdown(
        text + " The built-in scenarios are examples of levers to compare, not a plan; each is simulated on the "
        "journey model fitted from the data, with its uncertainty (5–95%)."
        + (
            " They differ in size (a 10% lift, 5 points, 5%): the gain per 1% of each lever (its lever size: how "
            "far it moves what it moves) puts them side by side."
            if "gain_per_pct" in ranked.columns
            else ""
        )
    )
    if bt is not None:
        if h is not None:
            metrics.card(r, h, "backtest_error")
        if "calendar" in bt.columns and len(bt):
            r.markdown(f"The journey model's calendar in this backtest: {bt['calendar'].iloc[0]}.")
        if "purchases" in bt.columns and len(bt):
            r.markdown(f"What its purchase history kept apart in this backtest: {bt['purchases'].iloc[0]}.")
        r.table(_backtest_table(bt), "Backtest: the forecast held against what really happened next")
        r.figure(sim.backtest_figure(bt), "Backtest: revenue forecast by month against what happened")
    if ws.has("simulate_arrivals"):
        arrived = ws.table("simulate_arrivals").to_pandas()
        r.markdown(_arrivals_words(arrived))
        caption = "New customers a month: observed, and the forecast's"
        r.figure(sim.arrivals_figure(_observed_groups_only(arrived, r, caption)), caption)
    r.table(ranked, f"Scenarios ranked by revenue gain over {months} months (examples, not recommendations)",
            money=sim.MONEY_COLUMNS, whole=sim.WHOLE_COLUMNS)
    if reach := sim.reach_words(ranked):
        r.markdown(reach)
    r.figure(sim.fan_chart(results, "cumulative_revenue"), "Cumulative revenue gain over baseline, with 5–95% bands")


def _arrivals_words(t: pd.DataFrame) -> str:
    """The forecast's new customers in one sentence, beside the observed series they continue."""
    seen = t.loc[t["kind"] == "observed", "arrivals"].tail(12)
    ahead = t.loc[t["kind"] == "forecast", "arrivals"]
    how = "chosen by backtest" if t["chosen_by"].iloc[0] == "backtest" else "as set"
    return (
        f"New customers in the forecast: {ahead.mean():,.0f} a month on average (arrival model "
        f"*{t['model'].iloc[0]}*, {how}), against {seen.mean():,.0f} a month over the last {len(seen)} months "
        "observed; the customers already there when the data starts are not counted as arrivals."
    )


def _backtest_table(bt: pd.DataFrame) -> pd.DataFrame:
    """The backtest's totals per model: forecast, actual and error."""
    t = bt[bt["period"] == "total"][["model", "forecast", "actual", "pct_error"]]
    return t.rename(columns={"pct_error": "error"}).reset_index(drop=True)


def _attribution_section(ws: Any, r: Report, glance: list[str], h: pd.DataFrame, paths: pd.DataFrame | None) -> None:
    from cxlib import attribution as at

    r.section("Attribution")
    if not ws.has("touchpoints") or paths is None:
        _missing(r, "touchpoints", "cx unify FOLDER")
        return
    why_not = at.nothing_to_attribute(paths)
    if why_not is not None:
        r.markdown(f"*{why_not}*")
        return
    metrics.card(r, h, "attribution_conversions")
    metrics.card(r, h, "attribution_value")
    comp = at.compare(paths)
    r.markdown(
        "Revenue attributed to the channels that touched customers in the 30 days before a purchase, by "
        "several models. Attribution is association, not causal effect: use the measured uplift of a "
        "randomised campaign for the causal answer."
    )
    r.figure(at.compare_figure(comp), "Attributed revenue by channel and model")
    wide = at.in_words(comp).pivot_table(index="channel", columns="model", values="value", aggfunc="sum").reset_index()
    wide.columns.name = None
    r.table(wide, "Attributed revenue by channel (columns: models)", money=[c for c in wide.columns if c != "channel"])
    _winback(ws, r)


def _winback(ws: Any, r: Report) -> None:
    """The win-back campaign's measured effect, in words (treated against a random holdout: causal), when the
    workspace has such a campaign and both groups are big enough to show."""
    from cxlib import impact

    table = impact.campaign_uplift(ws.table("touchpoints"))
    if table is None:  # no campaign with a holdout in this workspace
        return
    if min(int(table["treated_n"].iloc[0]), int(table["holdout_n"].iloc[0])) < r.min_group_size:
        return
    r.markdown("**Did the win-back campaign work?** " + impact.uplift_verdict(table, metrics.currency(ws)))


def _voice_section(ws: Workspace, report: Report, glance: list[str]) -> None:
    """What customers say (``cx voice``): topics, drivers; the call-back list only as a count."""
    from cxlib import voice

    voice.report_section(ws, report, glance)
