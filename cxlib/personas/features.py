"""Customer features: one row per customer from the unified touchpoints, computed in the engine with Ibis.

:func:`customer_features` is one Ibis expression built in named steps -- the touchpoints up to ``as_of``
(:func:`_prepared_touchpoints`), one aggregate per customer (:func:`_aggregates`), the golden records
(:func:`_with_customers`), the rates (:func:`_feature_columns`) and the current journey stage
(:func:`_with_stage`) -- so the same code runs on DuckDB and on Spark. Every feature is described in
:data:`FEATURES`.

Examples
--------
>>> import pandas as pd
>>> tp = pd.DataFrame({
...     "customer_id": ["a", "b"], "ts": pd.to_datetime(["2024-01-01", "2024-01-02"]),
...     "table_name": ["events", "events"], "channel": ["app", "web"], "event": ["app_open", "page_view"],
... })
>>> customer_features(tp)[["customer_id", "share_app", "share_web"]].values.tolist()
[['a', 1.0, 0.0], ['b', 0.0, 1.0]]
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ibis
import pandas as pd

from cxlib._frames import drop_join_copies, first_per_group
from cxlib.engine import Workspace, connect, opened
from cxlib.schema import DataError
from cxlib.value.predicted import MONTH_DAYS

__all__ = ["FEATURES", "MODEL_FEATURES", "customer_features"]

_DAY = 86_400.0

#: Every column :func:`customer_features` returns (besides ``customer_id``), with what it means.
FEATURES: dict[str, str] = {
    "is_anonymous": "True for customers known only by a cookie or device (no contact record).",
    "touchpoints": "Touchpoints (events, orders, tickets, surveys) up to `as_of`.",
    "tenure_days": "Days from the customer's first touchpoint (or first record) to `as_of`.",
    "recency_days": "Days from the last touchpoint of any kind to `as_of`.",
    "days_since_order": "Days from the last completed order to `as_of` (null if none).",
    "days_since_first_order": "Days from the first completed order to `as_of` (null if none).",
    "orders": "Orders placed (any status).",
    "frequency": "Completed orders.",
    "monetary": "Revenue of completed orders.",
    "avg_order_value": "Mean amount of the customer's orders (null if none).",
    "orders_per_month": "Completed orders per month of tenure (tenure counted as at least one month).",
    "return_rate": "Share of orders returned (null if no orders).",
    "share_web": "Share of touchpoints on the web (page and product views, cart, web orders).",
    "share_app": "Share of touchpoints in the app (opens, app orders).",
    "share_email": "Share of touchpoints that are marketing e-mails (sent, opened, clicked).",
    "share_store": "Share of touchpoints in a store (visits, store orders).",
    "share_ads": "Share of touchpoints that are paid-media clicks (search, social, display).",
    "share_support": "Share of touchpoints that are support tickets (any ticket channel).",
    "order_share_app": "Share of orders placed in the app (null if no orders).",
    "order_share_store": "Share of orders placed in a store (null if no orders).",
    "web_views_per_month": "Web page and product views per month of tenure.",
    "app_opens_per_month": "App opens per month of tenure.",
    "store_visits_per_month": "Store visits per month of tenure.",
    "emails_received_per_month": "Marketing e-mails sent to the customer per month of tenure (0: not subscribed).",
    "email_open_rate": "E-mail opens per e-mail sent (null if none sent).",
    "email_opens_per_month": "Marketing e-mails opened per month of tenure.",
    "email_clicks_per_month": "E-mail clicks per month of tenure.",
    "tickets": "Support tickets opened.",
    "tickets_per_month": "Support tickets per month of tenure.",
    "resolution_rate": "Share of the customer's tickets resolved (null if no tickets).",
    "csat_mean": "Mean CSAT (1-5) over rated tickets (null if none).",
    "nps_mean": "Mean NPS answer (0-10) over surveys (null if none).",
    "referrals": "Referral events (customers who recommend the brand).",
    "stage": "Current journey stage from `customer_stages`, when the workspace has it (categorical).",
    "country": "Golden-record country (from `customers`).",
    "income_band": "Enrichment: income band (from `customers`, when enriched).",
    "age_band": "Enrichment: age band (from `customers`, when enriched).",
    "interest": "Enrichment: main interest (from `customers`, when enriched).",
    "geo_segment": "Enrichment: geodemographic segment (from `customers`, when enriched).",
}

#: The behavioural features :class:`~cxlib.personas.PersonaModel` clusters on by default: one per way
#: customers differ (basket size, cadence, e-mail, app, support, web browsing). They are rates, which do not
#: grow with tenure, so a persona does not depend on when someone arrived. Adding more (channel shares,
#: returns, CSAT) dilutes the distances with noise: on the generated company the ARI against the true
#: personas drops from about 0.8 to 0.6 with all of them (docs/personas.md).
MODEL_FEATURES: tuple[str, ...] = (
    "avg_order_value",
    "orders_per_month",
    "email_opens_per_month",
    "app_opens_per_month",
    "tickets_per_month",
    "web_views_per_month",
)

_ENRICHMENT = ("country", "income_band", "age_band", "interest", "geo_segment")
_REQUIRED = ("customer_id", "ts", "table_name", "channel", "event")
_OPTIONAL = {
    "amount": "float64",
    "revenue": "float64",
    "status": "string",
    "resolved": "boolean",
    "csat": "float64",
    "nps": "float64",
}
# aggregates that stay null for a customer without touchpoints (the others count, so become 0)
_NULLABLE = (
    "customer_id",
    "first_ts",
    "last_ts",
    "last_order",
    "first_order",
    "avg_order_value",
    "csat_mean",
    "nps_mean",
)
_WEB_EVENTS = ["page_view", "product_view", "add_to_cart", "login", "checkout_start", "purchase", "referral"]
_WEB_VIEWS = ["page_view", "product_view", "add_to_cart", "login"]


def _epoch(ts: ibis.Value) -> ibis.Value:
    return ts.epoch_seconds().cast("float64")


def _nan_to_null(x: ibis.Value) -> ibis.Value:
    return ibis.cases((x.isnan(), ibis.null("float64")), else_=x)


def _count(cond: ibis.Value) -> ibis.Value:
    return ibis.cases((cond, 1), else_=0).sum().cast("float64")


def _ratio(num: ibis.Value, den: ibis.Value) -> ibis.Value:
    return ibis.cases((den > 0, num / den), else_=ibis.null("float64"))


def customer_features(
    workspace_or_touchpoints: Workspace | str | Path | ibis.Table | pd.DataFrame,
    as_of: str | pd.Timestamp | None = None,
    *,
    anonymous: bool = True,
    lazy: bool = False,
) -> pd.DataFrame | ibis.Table:
    """One row per customer describing their behaviour, computed in the engine.

    ``touchpoints (customer_id, ts, table_name, channel, event, amount, revenue, status, resolved, csat,
    nps) -> customer_id, <FEATURES>``. Only ``customer_id``, ``ts``, ``table_name``, ``channel`` and
    ``event`` are required; missing optional columns count as empty.

    Parameters
    ----------
    workspace_or_touchpoints : Workspace, folder, Ibis table or pandas frame
        A workspace (its ``touchpoints``, ``customers`` and, if present, ``customer_stages`` are read) or a
        touchpoints table alone.
    as_of : str or Timestamp, optional
        Only touchpoints up to this instant count; recency and tenure are measured to it. Default: the
        last touchpoint.
    anonymous : bool
        With a workspace: keep anonymous customers (cookie or device only). Every customer in
        ``customers`` gets a row -- customers with no touchpoint have zero counts and null rates -- so the
        count is conserved; ``False`` drops the anonymous ones.
    lazy : bool
        Return the Ibis expression instead of a pandas frame (for :func:`~cxlib.personas.assign` on large
        data). Pass an open :class:`Workspace` then: opened from a folder, the workspace stays open for the
        expression.

    Returns
    -------
    DataFrame or ibis.Table
        ``customer_id`` and the columns of :data:`FEATURES` that the inputs support.

    Examples
    --------
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-20", "2024-01-31", "2024-01-10"]),
    ...     "table_name": ["orders", "orders", "tickets", "events"],
    ...     "channel": ["web", "store", "phone", "email"],
    ...     "event": ["order", "order", "ticket", "email_sent"],
    ...     "amount": [10.0, 30.0, None, None],
    ...     "status": ["completed", "returned", None, None],
    ...     "resolved": [None, None, True, None],
    ... })
    >>> f = customer_features(tp, as_of="2024-01-31").set_index("customer_id")
    >>> f.loc["a", ["orders", "frequency", "monetary", "return_rate", "tenure_days", "resolution_rate"]].tolist()
    [2.0, 1.0, 10.0, 0.5, 30.0, 1.0]
    >>> f.loc["b", ["orders", "share_email", "emails_received_per_month"]].tolist()
    [0.0, 1.0, 1.0]
    """
    obj = workspace_or_touchpoints
    if isinstance(obj, ibis.Table | pd.DataFrame):
        tp = obj if isinstance(obj, ibis.Table) else ibis.memtable(obj)
        out = _features(tp, None, as_of, anonymous)
        return out if lazy else _to_pandas(out)
    if lazy and not isinstance(obj, Workspace):
        # the expression reads the workspace later: it stays open (documented), unless building it fails
        ws = connect(obj, read_only=True)
        try:
            return _features(ws.table("touchpoints"), ws, as_of, anonymous)
        except BaseException:
            ws.close()
            raise
    with opened(obj, read_only=True) as ws:
        out = _features(ws.table("touchpoints"), ws, as_of, anonymous)
        return out if lazy else _to_pandas(out)


def _features(tp: ibis.Table, ws: Workspace | None, as_of: Any, anonymous: bool) -> ibis.Table:
    """The features expression: touchpoints up to ``as_of``, aggregated, joined to customers and stages."""
    tp, as_of_epoch = _prepared_touchpoints(tp, as_of)
    agg = _aggregates(tp)
    base, first = _with_customers(agg, ws, anonymous)
    out = _feature_columns(base, first, as_of_epoch)
    return _with_stage(out, ws)


def _prepared_touchpoints(tp: ibis.Table, as_of: Any) -> tuple[ibis.Table, float]:
    """The touchpoints up to ``as_of`` with every optional column present, and ``as_of`` in epoch seconds."""
    missing = [c for c in _REQUIRED if c not in tp.columns]
    if missing:
        raise DataError(f"touchpoints lack column(s) {', '.join(missing)}; run `cx unify` to build them")
    tp = tp.mutate(**{c: ibis.null(t) for c, t in _OPTIONAL.items() if c not in tp.columns})
    # a frame copied through pandas may carry NaN where the warehouse has null (Spark keeps NaN apart)
    tp = tp.mutate(**{c: _nan_to_null(tp[c].cast("float64")) for c in ("amount", "revenue", "csat", "nps")})
    as_of_ts = _as_of_timestamp(tp, as_of)
    as_of_epoch = float((as_of_ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1))
    return tp.filter(tp.ts <= ibis.literal(as_of_ts.to_pydatetime(), "timestamp")), as_of_epoch


def _as_of_timestamp(tp: ibis.Table, as_of: Any) -> pd.Timestamp:
    """``as_of`` as a naive timestamp: the last touchpoint by default, the epoch when there is none."""
    as_of_ts = pd.Timestamp(tp.ts.max().execute()) if as_of is None else pd.Timestamp(as_of)
    if as_of_ts is pd.NaT or pd.isna(as_of_ts):
        as_of_ts = pd.Timestamp("1970-01-01")
    return as_of_ts.tz_localize(None) if as_of_ts.tzinfo else as_of_ts


def _aggregates(tp: ibis.Table) -> ibis.Table:
    """One row per customer of touchpoints: counts by kind and channel, order value, service, satisfaction."""
    t, ch, ev = tp.table_name, tp.channel, tp.event
    is_order, is_ticket, is_event = t == "orders", t == "tickets", t == "events"
    completed = is_order & (tp.status == "completed")
    web_view = is_event & ev.isin(_WEB_VIEWS)
    email_mkt = is_event & (ch == "email")
    return tp.group_by("customer_id").aggregate(
        touchpoints=tp.count().cast("float64"),
        first_ts=_epoch(tp.ts).min(),
        last_ts=_epoch(tp.ts).max(),
        last_order=_epoch(tp.ts).max(where=completed),
        first_order=_epoch(tp.ts).min(where=completed),
        orders=_count(is_order),
        frequency=_count(completed),
        monetary=ibis.cases((completed, tp.amount), else_=0.0).sum(),
        avg_order_value=tp.amount.mean(where=is_order),
        returned=_count(is_order & (tp.status == "returned")),
        n_web=_count((is_event & ev.isin(_WEB_EVENTS) & (ch == "web")) | (is_order & (ch == "web"))),
        n_app=_count((is_event & (ch == "app")) | (is_order & (ch == "app"))),
        n_email=_count(email_mkt),
        n_store=_count((is_event & (ch == "store")) | (is_order & (ch == "store"))),
        n_ads=_count(is_event & ch.isin(["paid_search", "paid_social", "display"])),
        order_app=_count(is_order & (ch == "app")),
        order_store=_count(is_order & (ch == "store")),
        web_views=_count(web_view),
        app_opens=_count(is_event & (ev == "app_open")),
        store_visits=_count(is_event & (ev == "store_visit")),
        emails_sent=_count(email_mkt & (ev == "email_sent")),
        email_opens=_count(email_mkt & (ev == "email_open")),
        email_clicks=_count(email_mkt & (ev == "email_click")),
        tickets=_count(is_ticket),
        resolved_tickets=_count(is_ticket & tp.resolved.fill_null(False)),
        csat_mean=tp.csat.cast("float64").mean(where=is_ticket),
        nps_mean=tp.nps.cast("float64").mean(where=t == "surveys"),
        referrals=_count(is_event & (ev == "referral")),
    )


def _with_customers(agg: ibis.Table, ws: Workspace | None, anonymous: bool) -> tuple[ibis.Table, ibis.Value]:
    """Every customer of the workspace's ``customers`` (when it has one) with their aggregates, counts 0 when
    they have no touchpoint; and each customer's first instant (first touchpoint or first record)."""
    if ws is not None and ws.has("customers"):
        cust = ws.table("customers")
        if not anonymous:
            cust = cust.filter(~cust.is_anonymous)
        keep = ["customer_id", "is_anonymous", "first_seen"] + [c for c in _ENRICHMENT if c in cust.columns]
        cust = cust.select(*keep).mutate(first_seen=_epoch(cust.first_seen))
        base = cust.left_join(agg, "customer_id").pipe(drop_join_copies)
        first = ibis.least(base.first_ts.fill_null(base.first_seen), base.first_seen)
    else:
        base = agg.mutate(is_anonymous=agg.customer_id.startswith("A"))
        first = base.first_ts
    zero = [c for c in agg.columns if c not in _NULLABLE]
    base = base.mutate(**{c: base[c].fill_null(0.0) for c in zero})
    return base, first


def _feature_columns(base: ibis.Table, first: ibis.Value, as_of_epoch: float) -> ibis.Table:
    """The columns of :data:`FEATURES` from the aggregates: days to ``as_of``, shares and rates per month."""
    tenure = ((as_of_epoch - first) / _DAY).clip(lower=0.0)
    months = ibis.greatest(tenure / MONTH_DAYS, 1.0)
    tot = base.touchpoints
    cols = dict(
        customer_id=base.customer_id,
        is_anonymous=base.is_anonymous,
        touchpoints=tot,
        tenure_days=tenure,
        recency_days=((as_of_epoch - base.last_ts) / _DAY).fill_null(tenure),
        days_since_order=(as_of_epoch - base.last_order) / _DAY,
        days_since_first_order=(as_of_epoch - base.first_order) / _DAY,
        orders=base.orders,
        frequency=base.frequency,
        monetary=base.monetary,
        avg_order_value=base.avg_order_value,
        orders_per_month=base.frequency / months,
        return_rate=_ratio(base.returned, base.orders),
        share_web=_ratio(base.n_web, tot).fill_null(0.0),
        share_app=_ratio(base.n_app, tot).fill_null(0.0),
        share_email=_ratio(base.n_email, tot).fill_null(0.0),
        share_store=_ratio(base.n_store, tot).fill_null(0.0),
        share_ads=_ratio(base.n_ads, tot).fill_null(0.0),
        share_support=_ratio(base.tickets, tot).fill_null(0.0),
        order_share_app=_ratio(base.order_app, base.orders),
        order_share_store=_ratio(base.order_store, base.orders),
        web_views_per_month=base.web_views / months,
        app_opens_per_month=base.app_opens / months,
        store_visits_per_month=base.store_visits / months,
        emails_received_per_month=base.emails_sent / months,
        email_open_rate=_ratio(base.email_opens, base.emails_sent),
        email_opens_per_month=base.email_opens / months,
        email_clicks_per_month=base.email_clicks / months,
        tickets=base.tickets,
        tickets_per_month=base.tickets / months,
        resolution_rate=_ratio(base.resolved_tickets, base.tickets),
        csat_mean=base.csat_mean,
        nps_mean=base.nps_mean,
        referrals=base.referrals,
    )
    return base.select(**cols, **{c: base[c] for c in _ENRICHMENT if c in base.columns})


def _with_stage(out: ibis.Table, ws: Workspace | None) -> ibis.Table:
    """``out`` with each customer's current ``stage`` from ``customer_stages``, when the workspace has it."""
    if ws is None or not ws.has("customer_stages"):
        return out
    st = ws.table("customer_stages")
    if not {"customer_id", "stage"} <= set(st.columns):
        return out
    st = first_per_group(st.select("customer_id", stage=st.stage.cast("string")), "customer_id", ["stage"])
    return out.left_join(st, "customer_id").pipe(drop_join_copies)


def _to_pandas(t: ibis.Table) -> pd.DataFrame:
    """The features as a pandas frame ordered by customer: ids and labels as objects, the rest float64."""
    df = t.order_by("customer_id").to_pandas()
    for c in df.columns:
        if c in ("customer_id", "stage", *_ENRICHMENT):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
        elif c == "is_anonymous":
            df[c] = df[c].astype(bool)
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df.reset_index(drop=True)
