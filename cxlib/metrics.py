"""The metrics layer: one definition per headline number, and the numbers of a workspace.

Every page (the CLI's ``cx summary``, the notebooks, the report) takes its headline numbers from
:func:`headline`, so a number shown in two places is the same number, and each has a name and a one-line
definition the page shows on hover or in a footnote. Numbers that look alike but answer different questions
are different metrics, each named:

- ``customers_known``: unified customers identified by a contact record, e-mail or phone;
- ``journey_customers``: everyone with a journey (known customers and anonymous visitors with a cookie or
  device id): the people ``cx journeys`` stages and the strategy model fits;
- ``stage_ever.awareness``: those of them who were ever in ``awareness`` (many start straight at
  consideration or purchase, so it is fewer than ``journey_customers``).

:data:`CATALOGUE` holds the definitions; names ending in ``.STAGE`` or ``.SCENARIO`` are families with one
metric per stage or scenario (``stage_now.lost``, ``lever_gain.AOV +5%``).

Examples
--------
>>> definition("stage_now.lost").label
'Customers in lost now'
>>> shown(0.1234, "share"), shown(14064, "customers"), shown(1234.5, "GBP")
('12.3%', '14,064', 'GBP 1,234')

>>> import tempfile
>>> from cxlib import io, synth, unify
>>> folder = tempfile.mkdtemp()
>>> _ = synth.write_company(folder, n_customers=150, seed=3, months=4, progress=False)
>>> _ = io.load(folder, progress=False)
>>> _ = unify.unify(folder, probabilistic=False, progress=False)
>>> h = headline(folder)
>>> list(h.columns)
['metric', 'value', 'unit', 'definition', 'label']
>>> value(h, "customers_known") + value(h, "customers_anonymous") == value(h, "customers")
True
"""

from __future__ import annotations

import html as _html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.schema import STAGES

__all__ = [
    "CATALOGUE",
    "FUNNEL_STEPS",
    "FUNNEL_WINDOW_DAYS",
    "PARTS",
    "Metric",
    "card",
    "completed_order",
    "currency",
    "definition",
    "has_orders",
    "headline",
    "mixed_currencies",
    "raw",
    "ref",
    "shown",
    "span",
    "value",
]

#: The purchase funnel every page shows, and its conversion window in days.
FUNNEL_STEPS = ("product_view", "add_to_cart", "checkout_start", "purchase")
FUNNEL_WINDOW_DAYS = 30


@dataclass(frozen=True)
class Metric:
    """A headline number's name, its label on a page, its unit and its one-line definition."""

    name: str
    label: str
    unit: str
    definition: str


_METRICS = (
    Metric("rows_loaded", "Rows loaded", "rows", "Source rows loaded into the workspace, over every canonical table."),
    Metric("source_systems", "Source systems", "systems", "Distinct source systems the loaded rows come from."),
    Metric(
        "customers",
        "Unified customers",
        "customers",
        "Every unified customer: known customers plus anonymous ones (each record is linked to exactly one).",
    ),
    Metric(
        "customers_known",
        "Known customers",
        "customers",
        "Unified customers identified by a contact record, e-mail or phone (not anonymous).",
    ),
    Metric(
        "customers_anonymous",
        "Anonymous customers",
        "customers",
        "Unified customers known only by a cookie or device id, or by nothing (a record with no identifier).",
    ),
    Metric(
        "customers_multi_source",
        "Known to more than one system",
        "share",
        "Share of known customers whose records come from two or more source systems.",
    ),
    Metric(
        "records_linked",
        "Source records linked",
        "records",
        "Source records linked to a unified customer (identity_links): one per record of a table that "
        "identifies a person or a visit.",
    ),
    Metric(
        "records_probabilistic",
        "Records joined by probabilistic match",
        "records",
        "Source records whose customer was joined by a probabilistic match (identity_links rule).",
    ),
    Metric(
        "journey_customers",
        "Customers with a journey",
        "customers",
        "Customers with at least one touchpoint that carried an identifier (known customers and anonymous "
        "visitors with a cookie or device id): whom cx journeys stages and the strategy model fits.",
    ),
    Metric(
        "stage_now.STAGE",
        "Customers in STAGE now",
        "customers",
        "Customers with a journey whose stage at the latest data date is STAGE (customer_stages).",
    ),
    Metric(
        "stage_ever.STAGE",
        "Customers ever in STAGE",
        "customers",
        "Customers with a journey who were in STAGE at any touchpoint or at any month end (stage_history).",
    ),
    Metric(
        "funnel_conversion",
        f"Purchase funnel conversion ({FUNNEL_WINDOW_DAYS}-day window)",
        "share",
        f"Of customers with a {FUNNEL_STEPS[0]}, the share who then did {', '.join(FUNNEL_STEPS[1:])} in order "
        f"within {FUNNEL_WINDOW_DAYS} days of their first {FUNNEL_STEPS[0]}.",
    ),
    Metric(
        "revenue",
        "Revenue",
        "CURRENCY",
        "Value of completed orders between the first and the last order date (amounts as recorded, not converted).",
    ),
    Metric(
        "revenue_net",
        "Revenue net of credit notes",
        "CURRENCY",
        "Revenue less the credit notes and cancellations issued as documents of their own (order-line exports: "
        "credit-note invoices and negative totals), dated within the revenue's period (whole days); only where "
        "order lines were loaded.",
    ),
    Metric(
        "attribution_conversions",
        "Orders attributed",
        "orders",
        "Orders placed in the attribution input set, completed or later returned (a return is a conversion worth 0; "
        "report.attribution_paths: customers with a journey, touches within 30 days before each order).",
    ),
    Metric(
        "attribution_value",
        "Revenue attributed",
        "CURRENCY",
        "Value of the orders in the attribution input set (a returned order's is 0, so this is the completed "
        "orders' value); every model shares out this total.",
    ),
    Metric(
        "lever_gain.SCENARIO",
        "Revenue gain of SCENARIO",
        "CURRENCY",
        "Mean over simulation draws of the cumulative revenue above the baseline at the horizon (cx simulate).",
    ),
    Metric(
        "backtest_error",
        "Forecast error on the company's own past",
        "share",
        "The journey model fitted up to a cutoff: its revenue forecast for the months after against what the "
        "customers with a journey really spent, as a share of that (signed: positive is too high; simulate_backtest).",
    ),
)

#: Every metric by name; a name ending in ``.STAGE`` or ``.SCENARIO`` is a family.
CATALOGUE: dict[str, Metric] = {m.name: m for m in _METRICS}


def definition(name: str) -> Metric:
    """The :class:`Metric` of ``name``, a family member (``stage_now.repeat``) included.

    Raises ``KeyError`` for a name no metric defines.
    """
    if name in CATALOGUE:
        return CATALOGUE[name]
    family, _, member = name.partition(".")
    for slot in ("STAGE", "SCENARIO"):
        m = CATALOGUE.get(f"{family}.{slot}")
        if m is not None and member:
            words = member.replace("_", " ") if slot == "STAGE" else member  # "Customers in at risk now"
            return replace(
                m, name=name, label=m.label.replace(slot, words), definition=m.definition.replace(slot, member)
            )
    raise KeyError(f"no metric {name!r}; see cxlib.metrics.CATALOGUE")


def shown(x: Any, unit: str) -> str:
    """``x`` as a page shows it: a share as a percentage, money with its currency, counts with separators."""
    if x is None or (isinstance(x, float) and pd.isna(x)):
        return "–"
    if unit == "share":
        return f"{float(x):.1%}"
    if unit in {"customers", "rows", "records", "orders", "systems"}:
        return f"{int(x):,}"
    return f"{unit} {float(x):,.0f}" if unit.isupper() else f"{float(x):,.0f}"


def value(h: pd.DataFrame, name: str) -> Any:
    """The value of metric ``name`` in a :func:`headline` frame (``None`` when the workspace lacks it)."""
    row = h.loc[h["metric"] == name, "value"]
    if row.empty:
        return None
    v = row.iloc[0]
    return v.item() if hasattr(v, "item") else v


def span(h: pd.DataFrame, name: str, text: str | None = None) -> str:
    """The metric as inline HTML: ``<span data-metric=NAME data-value=RAW title=DEFINITION>shown</span>``."""
    row = h.loc[h["metric"] == name].iloc[0]
    text = shown(row["value"], row["unit"]) if text is None else text
    return (
        f'<span class="metric-ref" data-metric="{_html.escape(name)}" data-value="{raw(row["value"])}" '
        f'title="{_html.escape(row["definition"])}">{_html.escape(text)}</span>'
    )


def raw(x: Any) -> str:
    """The raw number of a ``data-value`` attribute: an int as digits, a float with full precision."""
    if isinstance(x, bool):
        return str(int(x))
    if isinstance(x, int) or (hasattr(x, "dtype") and getattr(x.dtype, "kind", "") in "iu"):
        return str(int(x))
    return repr(float(x))


def card(report: Any, h: pd.DataFrame, name: str, label: str | None = None) -> None:
    """Add metric ``name`` to a :class:`cxlib.report.Report` as a card tagged with its name, raw value and
    definition (nothing when ``h`` lacks it)."""
    row = h.loc[h["metric"] == name]
    if row.empty:
        return
    m = row.iloc[0]
    text = shown(m["value"], m["unit"])
    report.metric(label or m["label"], text, name=name, raw=m["value"], definition=m["definition"])


def ref(report: Any, h: pd.DataFrame, name: str) -> str:
    """Metric ``name`` for a :class:`cxlib.report.Report`'s markdown text (:meth:`~cxlib.report.Report.number`)."""
    m = h.loc[h["metric"] == name].iloc[0]
    return report.number(name, m["value"], shown(m["value"], m["unit"]), m["label"], m["definition"])


# --- computing them ---------------------------------------------------------------------------------------------


#: The groups of metrics :func:`headline` computes, in order.
PARTS = ("load", "customers", "stages", "ever", "funnel", "revenue", "attribution", "levers")


def headline(
    workspace: str | Path | Workspace,
    parts: Iterable[str] | None = None,
    *,
    funnel: pd.DataFrame | None = None,
    paths: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The headline numbers of a workspace: ``metric, value, unit, definition, label``, one row per metric.

    Only the metrics whose inputs the workspace holds: load, then unify (customers, funnel, revenue,
    attribution), ``cx journeys`` (stages now and ever; computed here when it has not run) and ``cx simulate``
    (lever gains, the backtest error). ``parts`` picks some of :data:`PARTS` (default: all; ``ever`` stages
    every touchpoint, the slowest part). Every number is computed in the engine; only small results come back.
    ``definition`` completes the catalogue's definition where the data sets it (revenue's period, the lever
    gains' horizon, the backtest's cutoff); ``unit`` is the orders' currency for money.

    ``funnel`` and ``paths`` are inputs the caller already computed, so that they are not computed twice (the
    report shows them too): ``funnel`` the purchase funnel of :data:`FUNNEL_STEPS` within
    :data:`FUNNEL_WINDOW_DAYS` on the journey touchpoints (:func:`cxlib.journeys.funnel`), ``paths`` the
    attribution paths (:func:`cxlib.report.attribution_paths` with its defaults).
    """
    chosen = set(PARTS if parts is None else parts)
    unknown = chosen - set(PARTS)
    if unknown:
        raise ValueError(f"unknown metric part(s) {sorted(unknown)}; choose from {list(PARTS)}")
    with opened(workspace, read_only=True) as ws:
        out: list[tuple] = []  # (name, value[, unit[, a note that completes the definition]])
        has = {
            "load": True,
            "customers": ws.has("customers") and ws.has("identity_links"),
            "levers": ws.has("touchpoints") and ws.has("scenarios"),
        }
        currency = _currency(ws) if chosen & {"revenue", "attribution", "levers"} else ""
        steps = {
            "load": lambda: _load(ws),
            "customers": lambda: _customers(ws),
            "stages": lambda: _stages(ws),
            "ever": lambda: _ever(ws),
            "funnel": lambda: _funnel(ws, FUNNEL_STEPS, funnel),
            "revenue": lambda: _revenue(ws, currency),
            "attribution": lambda: _attribution(ws, currency, paths),
            "levers": lambda: _levers(ws, currency),
        }
        for part in PARTS:
            if part in chosen and has.get(part, ws.has("touchpoints")):
                out += steps[part]()
    rows = []
    for name, v, *rest in out:
        m = definition(name)
        unit = rest[0] if rest else m.unit
        note = f" {rest[1]}" if len(rest) > 1 else ""
        rows.append((name, v, unit, m.definition + note, m.label))
    out_df = pd.DataFrame(rows, columns=["metric", "value", "unit", "definition", "label"], dtype=object)
    out_df["value"] = pd.Series([r[1] for r in rows], dtype=object)  # ints stay ints, shares stay floats
    return out_df


def _load(ws: Workspace) -> list:
    by_source = ws.rows_by_source()
    return [
        ("rows_loaded", int(by_source["rows"].sum())),
        ("source_systems", int(by_source["source"].nunique())),
    ]


def _customers(ws: Workspace) -> list:
    from cxlib.unify import rows_by_rule

    c = ws.table("customers")
    agg = c.aggregate(
        customers=c.count(),
        known=(~c.is_anonymous).sum(),
        multi=((~c.is_anonymous) & (c.sources.length() > 1)).sum(),
    ).to_pandas()
    n, known, multi = (int(agg[k].iloc[0] or 0) for k in ("customers", "known", "multi"))
    rules = rows_by_rule(ws).set_index("rule")["rows"]
    return [
        ("customers", n),
        ("customers_known", known),
        ("customers_anonymous", n - known),
        ("customers_multi_source", multi / known if known else float("nan")),
        ("records_linked", int(rules.sum())),
        ("records_probabilistic", int(rules.get("probabilistic", 0))),
    ]


def _now_counts(ws: Workspace) -> pd.Series:
    """Customers per stage now: from ``customer_stages`` (``cx journeys``), else computed as it would write it."""
    from cxlib import journeys as jr

    if ws.has("customer_stages"):
        cs = ws.table("customer_stages")
        counts = cs.group_by("stage").aggregate(n=cs.count()).to_pandas().set_index("stage")["n"]
    else:
        now = jr.current_stage(jr.analysis_touchpoints(ws), stage_map=jr.resolve_stage_map(workspace=ws))
        counts = now.groupby("stage").size()
    return counts.reindex(list(STAGES), fill_value=0)


def _ever_counts(ws: Workspace) -> pd.Series:
    """Customers ever in each stage: at a touchpoint (its stage) or at a month end (``stage_history``)."""
    from cxlib import journeys as jr

    staged = jr.staged_rows(ws)  # `cx journeys`' staged rows when current, else staged here
    sm = jr.resolve_stage_map(workspace=ws)
    hist = ws.table("stage_history") if ws.has("stage_history") else jr.stage_history(staged, sm)
    return jr.ever_reached(staged, hist)


def _stages(ws: Workspace) -> list:
    now = _now_counts(ws)
    return [("journey_customers", int(now.sum()))] + [(f"stage_now.{s}", int(now[s])) for s in STAGES]


def _ever(ws: Workspace) -> list:
    ever = _ever_counts(ws)
    return [(f"stage_ever.{s}", int(ever[s])) for s in STAGES]


def _funnel(ws: Workspace, steps: Sequence[str], f: pd.DataFrame | None = None) -> list:
    from cxlib import journeys as jr

    if f is None:
        tp = jr.analysis_touchpoints(ws)
        events = set(tp.select("event").distinct().to_pandas()["event"].dropna().astype(str))
        if not set(steps) <= events:
            return []
        f = jr.funnel(tp, list(steps), within=FUNNEL_WINDOW_DAYS)
    return [("funnel_conversion", float(f["conversion_from_start"].iloc[-1]))]


def currency(workspace: str | Path | Workspace) -> str:
    """The currency of the orders' amounts (the unit of every money metric): their ``currency`` when it is one
    code, else the codes joined with ``/``; ``money`` when the orders carry none.

    Examples
    --------
    >>> import tempfile, cxlib
    >>> from cxlib import metrics, synth
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=50, seed=1, months=2, progress=False)
    >>> _ = cxlib.load(folder)
    >>> metrics.currency(folder)  # the generator's canonical orders carry no currency column
    'money'
    """
    with opened(workspace, read_only=True) as ws:
        return _currency(ws)


def mixed_currencies(workspace: str | Path | Workspace) -> str | None:
    """A sentence when the orders' amounts are in several currencies added as recorded (``None`` otherwise).

    ``cx load`` warns once; the pages and the report say it again wherever a money number stands on the mix
    (shown as ``EUR/GBP``, :func:`currency`), with the fix: ``currency:`` and ``rates:`` in ``sources.yml``.

    Examples
    --------
    >>> import cxlib, pandas as pd
    >>> from cxlib import metrics
    >>> ws = cxlib.connect()
    >>> _ = ws.write("orders", pd.DataFrame({"amount": [10.0, 12.0], "currency": ["GBP", "EUR"]}))
    >>> print(metrics.mixed_currencies(ws))  # doctest: +NORMALIZE_WHITESPACE
    The orders' amounts are in 2 currencies (EUR, GBP), added as recorded: every money number mixes them. To
    count them in one, set `currency: EUR` and `rates:` (how many EUR one unit of each other is worth) at the
    top of sources.yml, then run `cx load` again.
    """
    with opened(workspace, read_only=True) as ws:
        codes = _currency(ws).split("/")
    if len(codes) < 2:
        return None
    shown = ", ".join(codes[:6]) + (", ..." if len(codes) > 6 else "")
    return (
        f"The orders' amounts are in {len(codes)} currencies ({shown}), added as recorded: every money number "
        f"mixes them. To count them in one, set `currency: {codes[0]}` and `rates:` (how many {codes[0]} one unit "
        "of each other is worth) at the top of sources.yml, then run `cx load` again."
    )


def _currency(ws: Workspace) -> str:
    """The currency of the orders' amounts: their ``currency`` when it is one code, else the codes joined."""
    if not ws.has("orders") or "currency" not in ws.table("orders").columns:
        return "money"
    o = ws.table("orders")
    got = o.select("currency").distinct().to_pandas()["currency"].dropna()
    codes = sorted({str(c).strip().upper() for c in got} - {""})  # " gbp" is GBP, as `rates:` match it
    return "/".join(codes) if codes else "money"


def has_orders(workspace: str | Path | Workspace) -> bool:
    """Whether any order was loaded: rows in the ``orders`` table, or touchpoints from orders.

    The one answer to "were any orders loaded?" behind the report's, the personas step's and the pages' "no
    orders" messages (a CRM, helpdesk or e-mail tool without the shop's orders has none).

    Examples
    --------
    >>> import cxlib, pandas as pd
    >>> from cxlib import metrics
    >>> ws = cxlib.connect()
    >>> metrics.has_orders(ws)
    False
    >>> _ = ws.write("orders", pd.DataFrame({"order_id": ["A1"], "amount": [40.0]}))
    >>> metrics.has_orders(ws)
    True
    """
    with opened(workspace, read_only=True) as ws:
        if ws.has("orders") and int(ws.table("orders").count().to_pyarrow().as_py()) > 0:
            return True
        if not ws.has("touchpoints") or "table_name" not in ws.table("touchpoints").columns:
            return False
        tp = ws.table("touchpoints")
        return int(tp.filter(tp.table_name == "orders").count().to_pyarrow().as_py()) > 0


def completed_order(t: Any) -> Any:
    """The rows that count as revenue: order touchpoints whose status is ``completed`` (an ibis predicate).

    The one definition behind the ``revenue`` metric; use it wherever revenue is summed from touchpoints.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"table_name": ["orders", "orders", "events"], "status": ["completed", "cancelled", None],
    ...                    "revenue": [40.0, 10.0, 0.0]})
    >>> t.filter(completed_order(t)).revenue.sum().to_pyarrow().as_py()
    40.0
    """
    return (t.table_name == "orders") & (t.status == "completed").fill_null(False)


def _revenue(ws: Workspace, currency: str) -> list:
    tp = ws.table("touchpoints")
    done = tp.filter(completed_order(tp))
    agg = done.aggregate(revenue=done.revenue.sum(), first=done.ts.min(), last=done.ts.max()).to_pandas().iloc[0]
    if pd.isna(agg["first"]):
        return [("revenue", 0.0, currency)]
    period = f"Period: {pd.Timestamp(agg['first']):%Y-%m-%d} to {pd.Timestamp(agg['last']):%Y-%m-%d}."
    if "/" in currency:  # orders in several currencies: nothing converts them, and the reader must know
        period += (f" The orders' amounts are in {currency.replace('/', ' and ')}, summed as recorded (not "
                   "converted): convert them to one currency before loading for a total in one.")
    gross = round(float(agg["revenue"] or 0.0), 2)
    out = [("revenue", gross, currency, period)]
    if ws.has("order_lines"):
        ol = ws.table("order_lines")
        first, last = pd.Timestamp(agg["first"]).date(), pd.Timestamp(agg["last"]).date()
        cn = ol.filter(ol.credit_note & ol.ts.date().between(first, last))
        if ws.has("quarantine"):  # the lines of an order copy left out (a duplicate of another file's) count once
            q = ws.table("quarantine")
            dup = (q.table_name == "orders") & (q.action == "quarantined") & q.reason.startswith("duplicate key")
            q = q.filter(dup)
            cn = cn.anti_join(q.select(source_file=q.source_file, order_id=q.record_key).distinct(),
                              ["source_file", "order_id"])
        credited = cn.aggregate(v=(-cn.line_amount).sum()).to_pandas()["v"].iloc[0]
        credited = 0.0 if pd.isna(credited) else float(credited)
        out.append(("revenue_net", round(gross - credited, 2), currency, period))
    return out


def _attribution(ws: Workspace, currency: str, paths: pd.DataFrame | None = None) -> list:
    from cxlib.report.inputs import attribution_paths

    paths = attribution_paths(ws) if paths is None else paths
    return [
        ("attribution_conversions", int(paths["conversions"].sum())),
        ("attribution_value", round(float(paths["value"].sum()), 2), currency),
    ]


def _levers(ws: Workspace, currency: str) -> list:
    from cxlib import simulate as sim

    results = ws.table("scenarios").to_pandas()
    if results.empty:
        return []
    horizon = f"Horizon: {int(results['month'].max())} months."
    ranked = sim.compare(results)
    out = [
        (f"lever_gain.{r.scenario}", round(float(r.gain), 2), currency, horizon)
        for r in ranked.itertuples()
        if r.scenario != "baseline"
    ]
    if ws.has("simulate_backtest"):
        bt = ws.table("simulate_backtest").to_pandas()
        err = sim.backtest_error(bt)
        if len(bt) and err == err:  # not NaN
            held = int(bt.loc[bt["period"] == "month", "month"].max())
            cutoff = pd.Timestamp(bt["cutoff"].iloc[0])
            note = f"Fitted up to {cutoff:%B %Y}, held against the {held} months after."
            out.append(("backtest_error", round(err, 4), "share", note))
    return out
