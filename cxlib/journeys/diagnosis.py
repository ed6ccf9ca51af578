"""Diagnosis: why customers did not buy (service failure or marketing), why orders came back, and service
quality along the journey.

Functions given rows that already carry ``stage`` (:func:`~cxlib.journeys.staged_touchpoints`) use those
stages; other rows are staged with the map that applies. Association, not proof of cause.

Examples
--------
>>> import pandas as pd
>>> tp = pd.DataFrame({"customer_id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
...                    "event": ["order", "order"], "table_name": ["orders", "orders"],
...                    "status": ["returned", "cancelled"], "amount": [10.0, 30.0],
...                    "return_reason": ["wrong size", None]})
>>> diagnose_returns(tp)["orders"].tolist()
[1, 0, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import pandas as pd
from ibis import _

from cxlib.journeys.inputs import DAY, as_table, filtered, ties
from cxlib.journeys.stage_map import StageMapLike
from cxlib.journeys.stages import optional_columns, with_stages
from cxlib.schema import STAGES

__all__ = ["RETURN_CAUSES", "diagnose_dropoff", "diagnose_returns", "dropoff_verdict", "service_by_stage"]


#: Return reasons by cause: expectation gaps are brand/marketing problems, the rest fulfilment or support.
RETURN_CAUSES: dict[str, tuple[str, ...]] = {
    "expectation gap (brand/marketing)": (
        "not as described",
        "wrong size",
        "changed my mind",
        "colour differs from photos",
    ),
    "fulfilment or support failure": ("arrived damaged", "wrong item sent", "arrived too late", "missing parts"),
}
_SUPPORT_TOPICS = ("delivery", "billing", "technical", "account", "return")


def _per_customer(staged: ibis.Table, slow_hours: float | None) -> ibis.Table:
    """One row per customer with what the drop-off diagnosis needs, computed in the engine."""
    pre = staged.topic.isin(["pre_sale_question"]).fill_null(False)
    failed = pre & (staged.resolved == False).fill_null(False)  # noqa: E712
    if slow_hours is not None and "closed_at" in staged.columns:
        hours = (staged.closed_at.epoch_seconds() - staged.ts.epoch_seconds()) / 3600
        failed |= pre & (hours > slow_hours).fill_null(False)
    first_order = ibis.ifelse(staged.stage == "purchase", staged.amount.fill_null(staged.revenue), ibis.null("float64"))
    co = staged.event == "checkout_start"
    last_co = (
        ibis.ifelse(co, staged.ts.epoch_seconds(), ibis.null("int64"))
        .max()
        .over(ibis.window(group_by=staged.customer_id))
    )
    staged = staged.mutate(
        _pre=pre,
        _failed=failed,
        _fail_co=failed & (staged.ts.epoch_seconds() <= last_co).fill_null(False),
        _co=co,
        _first_order=first_order,
    )
    pre, failed, co, first_order = staged._pre, staged._failed, staged._co, staged._first_order
    return staged.group_by("customer_id").aggregate(
        reached=(staged.stage == "consideration").any() | co.any(),
        checkout=co.any(),
        failure_before_checkout=staged._fail_co.any(),
        bought=staged.first_purchase_ts.notnull().any(),
        presale=pre.any(),
        failure=(failed & (staged.first_purchase_ts.isnull() | (staged.ts < staged.first_purchase_ts))).any(),
        first_order_value=first_order.max(),
    )


def diagnose_dropoff(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMapLike = None,
    slow_hours: float | None = None,
) -> pd.DataFrame:
    """Why did they not buy? Customers who reached consideration or checkout but never bought, by cause.

    Two branches: **service failure** (a pre-sale ticket, topic ``pre_sale_question``, left unresolved --
    or, with ``slow_hours``, closed later than that -- before the drop) and **marketing only** (no such
    failure: only marketing and browsing touches). For each: ``customers`` who dropped, ``share`` of all
    who dropped, ``reached`` (customers in that branch who reached consideration, bought or not),
    ``conversion`` (share of those who bought), ``checkout_abandoners``, ``excess_dropoffs`` (drops beyond
    what the other branch's conversion rate would give) and ``revenue_at_stake`` (excess drops × the median
    first-order value). Association, not proof of cause: read it with the journey.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "c", "c"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-01", "2024-01-02"]),
    ...     "event": ["ticket", "checkout_start", "product_view", "product_view", "purchase"],
    ...     "topic": ["pre_sale_question", None, None, None, None],
    ...     "resolved": [False, None, None, None, None],
    ...     "revenue": [None, None, None, None, 40.0],
    ... })
    >>> diagnose_dropoff(tp)[["branch", "customers", "conversion"]].values.tolist()
    [['service failure', 1, 0.0], ['marketing only', 1, 0.5]]
    """
    t = as_table(touchpoints)
    for c, k in (("amount", "float64"), ("revenue", "float64")):
        if c not in t.columns:
            t = t.mutate(**{c: ibis.null(k)})
    per = _per_customer(with_stages(t, stage_map), slow_hours).filter(_.reached)
    agg = per.group_by("failure").aggregate(
        reached=_.count(),
        bought=_.bought.sum(),
        customers=(~_.bought).sum(),
        checkout_abandoners=(_.checkout & ~_.bought).sum(),
        abandoners_failed_first=(_.checkout & ~_.bought & _.failure_before_checkout).sum(),
    )
    df = agg.to_pandas().set_index("failure")
    aov = per.filter(_.first_order_value.notnull()).aggregate(v=_.first_order_value.median()).to_pandas()["v"]
    aov = float(aov.iloc[0]) if len(aov) and pd.notna(aov.iloc[0]) else 0.0
    rows = []
    conv = {f: (float(df.loc[f, "bought"]) / df.loc[f, "reached"] if f in df.index else 0.0) for f in (True, False)}
    dropped_total = int(df["customers"].sum()) if len(df) else 0
    for f, branch in ((True, "service failure"), (False, "marketing only")):
        r = df.loc[f] if f in df.index else pd.Series(0, index=df.columns)
        excess = max(0.0, float(r["reached"]) * (conv[not f] - conv[f])) if f else 0.0
        rows.append(
            dict(
                branch=branch,
                customers=int(r["customers"]),
                share=int(r["customers"]) / dropped_total if dropped_total else 0.0,
                reached=int(r["reached"]),
                conversion=conv[f],
                checkout_abandoners=int(r["checkout_abandoners"]),
                abandoners_failed_first=int(r["abandoners_failed_first"]),
                excess_dropoffs=round(excess, 1),
                revenue_at_stake=round(excess * aov, 2),
            )
        )
    return pd.DataFrame(rows)


def nobody_bought(diagnosis: pd.DataFrame) -> bool:
    """Whether nobody who considered a purchase in :func:`diagnose_dropoff`'s branches made one (a CRM and
    helpdesk without the orders): both branches convert at 0%, and comparing them says nothing.

    Examples
    --------
    >>> nobody_bought(pd.DataFrame({"branch": ["service failure", "marketing only"], "reached": [5, 9],
    ...                             "conversion": [0.0, 0.0]}))
    True
    """
    reached = diagnosis["reached"].sum() if "reached" in diagnosis.columns else 1  # a frame without the column
    return bool(reached > 0 and (diagnosis["conversion"].fillna(0) == 0).all())


def nothing_to_compare(diagnosis: pd.DataFrame) -> str | None:
    """Why :func:`diagnose_dropoff`'s two branches cannot be held against each other, in words, else ``None``:
    nobody seen considering (an orders-only export), nobody who considered bought (no orders), or nobody with a
    pre-sale service failure (no helpdesk export: "0% had one; they converted at 0% against 6%" says nothing).

    Examples
    --------
    >>> d = pd.DataFrame({"branch": ["service failure", "marketing only"], "reached": [0, 90],
    ...                   "conversion": [0.0, 0.06]})
    >>> nothing_to_compare(d)[:62]
    'Nobody who considered a purchase had a pre-sale service failur'
    >>> nothing_to_compare(d.assign(reached=[10, 90])) is None
    True
    """
    d = diagnosis.set_index("branch")
    reached = d["reached"] if "reached" in d.columns else None  # a frame of diagnose_dropoff's has the column
    if reached is not None and reached.sum() == 0:
        return (
            "Nobody was seen considering a purchase: the data holds no touch before a first purchase (no web, "
            "app, e-mail or pre-sale touches; an orders-only export), so there is no drop-off to diagnose."
        )
    if nobody_bought(diagnosis):
        return (
            "Nobody who considered a purchase made one: the data holds no purchase (are the orders or invoice lines "
            "loaded?), so there is no conversion to compare with and without a pre-sale service failure."
        )
    if reached is not None and reached.get("service failure", 0) == 0:
        return (
            "Nobody who considered a purchase had a pre-sale service failure in the data (no unresolved pre-sale "
            "ticket: is the helpdesk export loaded?), so there is nothing to compare: those who did not buy "
            "dropped with only marketing and browsing touches, a question for targeting, offer and traffic quality."
        )
    return None


def dropoff_verdict(diagnosis: pd.DataFrame) -> str:
    """A plain-language reading of :func:`diagnose_dropoff`.

    Examples
    --------
    >>> d = pd.DataFrame([dict(branch="service failure", customers=30, share=0.3, reached=40, conversion=0.25,
    ...                        checkout_abandoners=20, abandoners_failed_first=18, excess_dropoffs=10.0,
    ...                        revenue_at_stake=500.0),
    ...                   dict(branch="marketing only", customers=70, share=0.7, reached=170, conversion=0.59,
    ...                        checkout_abandoners=10, abandoners_failed_first=0, excess_dropoffs=0.0,
    ...                        revenue_at_stake=0.0)])
    >>> print(dropoff_verdict(d).split(". Of checkout")[0])  # doctest: +NORMALIZE_WHITESPACE
    30% of the customers who considered and did not buy had a pre-sale service failure (an unresolved pre-sale
    question). Of all who considered, those with a failure converted at 25% against 59% for those without one
    >>> print(dropoff_verdict(d.assign(customers=0, share=0.0, reached=0, conversion=0.0)))  # doctest: +ELLIPSIS
    Nobody was seen considering a purchase: ...
    >>> print(dropoff_verdict(d.assign(conversion=0.0)))  # doctest: +ELLIPSIS
    Nobody who considered a purchase made one: ...
    """
    why = nothing_to_compare(diagnosis)
    if why is not None:
        return why
    d = diagnosis.set_index("branch")
    s, m = d.loc["service failure"], d.loc["marketing only"]
    lines = [
        f"{s['share']:.0%} of the customers who considered and did not buy had a pre-sale service failure "
        f"(an unresolved pre-sale question). Of all who considered, those with a failure converted at "
        f"{s['conversion']:.0%} against {m['conversion']:.0%} for those without one."
    ]
    abandoners = s["checkout_abandoners"] + m["checkout_abandoners"]
    if abandoners:
        share = s["abandoners_failed_first"] / abandoners
        lines.append(f"Of checkout abandoners, {share:.0%} had the service failure before abandoning.")
    rest = (
        f"{m['share']:.0%}, who dropped with only marketing and browsing touches, are a question for "
        "targeting, offer and traffic quality."
    )
    if s["excess_dropoffs"] > 0:  # one message: what each group calls for, the service gap first (it is worth most)
        lines.append(
            f"So: fix pre-sale service first, worth about {s['excess_dropoffs']:,.0f} first purchases "
            f"({s['revenue_at_stake']:,.0f} in first-order revenue) among the {s['share']:.0%} who had a failure; "
            "the other " + rest
        )
    else:
        lines.append("So: service failures explain no drop beyond the usual rate, and the " + rest)
    return " ".join(lines)


def diagnose_returns(
    touchpoints: pd.DataFrame | ibis.Table,
    causes: Mapping[str, Sequence[str]] | None = None,
    ticket_days: float = 14,
) -> pd.DataFrame:
    """Why did they return or cancel? Returned and cancelled orders split by cause.

    A return's ``return_reason`` decides its cause (:data:`RETURN_CAUSES`, or ``causes``). A cancellation has
    no reason: it is a fulfilment or support failure when the customer opened a support ticket (delivery,
    billing, technical, account or return) in the ``ticket_days`` before it, otherwise unexplained.
    Returns ``cause, orders, share, value`` (share of all returned and cancelled orders).

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                    "event": ["order", "order"], "table_name": ["orders", "orders"],
    ...                    "status": ["returned", "returned"], "amount": [10.0, 30.0],
    ...                    "return_reason": ["wrong size", "arrived damaged"]})
    >>> diagnose_returns(tp)[["cause", "orders"]].values.tolist()
    [['expectation gap (brand/marketing)', 1], ['fulfilment or support failure', 1], ['unexplained', 0]]
    """
    causes = dict(causes or RETURN_CAUSES)
    t = optional_columns(as_table(touchpoints))
    if "amount" not in t.columns:
        t = t.mutate(amount=ibis.null("float64"))
    tickets = t.filter(t.topic.isin(list(_SUPPORT_TOPICS)).fill_null(False)).select(
        _c="customer_id", _tsec=_.ts.epoch_seconds()
    )
    orders = t.filter(t.status.isin(["returned", "cancelled"]).fill_null(False))
    orders = orders.mutate(
        _osec=orders.ts.epoch_seconds(),
        _rid=ibis.row_number().over(
            ibis.window(order_by=[orders.customer_id, orders.ts, *ties(orders, "event")])
        ),
    )
    near = (
        orders.join(
            tickets,
            [
                orders.customer_id == tickets._c,
                tickets._tsec <= orders._osec,
                tickets._tsec >= orders._osec - ticket_days * DAY,
            ],
        )
        .select("_rid")
        .distinct()
    )
    orders = orders.left_join(near.mutate(_ticket=True), "_rid").drop("_rid_right")
    cause = ibis.cases(
        *[(orders.return_reason.isin(list(v)).fill_null(False), k) for k, v in causes.items()],
        ((orders.status == "cancelled") & orders._ticket.notnull(), "fulfilment or support failure"),
        else_="unexplained",
    )
    got = orders.group_by(cause=cause).aggregate(orders=_.count(), value=_.amount.sum()).to_pandas()
    names = [*causes, "unexplained"]
    got = got.set_index("cause").reindex(names).fillna(0).reset_index()
    got["orders"] = got["orders"].astype("int64")
    got["share"] = got["orders"] / max(int(got["orders"].sum()), 1)
    return got[["cause", "orders", "share", "value"]]


def service_by_stage(
    touchpoints: pd.DataFrame | ibis.Table,
    stage_map: StageMapLike = None,
    filters: Mapping[str, Sequence] | None = None,
) -> pd.DataFrame:
    """Service quality along the journey: per stage, ``customers`` (with a touchpoint in the stage), ``tickets``,
    ``tickets_per_100`` (of those customers), ``unresolved_share``, ``csat`` (mean), ``nps`` (mean), ``surveys``.
    ``filters`` selects rows first, as :func:`~cxlib.journeys.journey_map`'s does (``{"persona": [...]}``), so
    that the table under a filtered journey map counts the same customers. Staged rows keep their stages.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({"customer_id": ["a", "a"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
    ...                    "event": ["product_view", "ticket"], "topic": [None, "pre_sale_question"],
    ...                    "resolved": [None, True], "csat": [None, 4]})
    >>> service_by_stage(tp).loc["consideration", ["tickets", "csat"]].tolist()
    [1.0, 4.0]
    """
    return service(with_stages(filtered(as_table(touchpoints), filters, None, None), stage_map))


def service(s: ibis.Table) -> pd.DataFrame:
    """:func:`service_by_stage` on a stream that already carries its stages."""
    is_ticket = s.topic.notnull()
    got = (
        s.group_by("stage")
        .aggregate(
            customers=s.customer_id.nunique(),
            tickets=is_ticket.cast("int64").sum(),
            unresolved=(is_ticket & (s.resolved == False).fill_null(False)).cast("int64").sum(),  # noqa: E712
            csat=s.csat.mean(),
            nps=s.nps.mean(),
            surveys=s.nps.notnull().cast("int64").sum(),
        )
        .to_pandas()
        .set_index("stage")
    )
    got = got.reindex([x for x in STAGES if x in got.index])
    # no ticket in any stage: no helpdesk data (not loaded, or filtered out), so a rate of 0 would read as perfect
    got["tickets_per_100"] = 100 * got["tickets"] / got["customers"] if got["tickets"].sum() > 0 else float("nan")
    got["unresolved_share"] = got["unresolved"] / got["tickets"].where(got["tickets"] > 0)
    return got[["customers", "tickets", "tickets_per_100", "unresolved_share", "csat", "nps", "surveys"]]
