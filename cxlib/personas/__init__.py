"""Personas: behavioural segmentation of unified customers, with profiles people can act on.

Three steps, each usable on its own:

1. :func:`customer_features` -- one row per customer from the unified ``touchpoints`` (and ``customers``,
   and ``customer_stages`` when the journeys step has written it), computed in the engine with Ibis, so
   the same code runs on DuckDB and on Spark. Every feature is described in :data:`FEATURES`.
2. :class:`PersonaModel` -- a scikit-learn estimator: signed-log transform of skewed columns, standard
   scaling, then k-means (or a diagonal Gaussian mixture); the number of personas is chosen over a range
   by a stated criterion (:attr:`PersonaModel.selection_` holds the curve). ``profiles_`` describes each
   persona: size, value, the features that set it apart (effect sizes) and a generated name.
3. :func:`assign` -- the fitted model as an Ibis expression (nearest centroid), so a model fitted on a
   sample labels every customer in the engine; :func:`write_personas` stores the ``personas`` table.

:func:`value_tiers` splits high-value customers from the rest, by observed revenue or by a predicted
12-month value (BG/NBD + Gamma-Gamma, fitted here with scipy).

Examples
--------
>>> import pandas as pd
>>> from cxlib import personas
>>> tp = pd.DataFrame({
...     "customer_id": ["a", "a", "b"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-15"]),
...     "table_name": ["orders", "events", "events"],
...     "channel": ["app", "app", "web"],
...     "event": ["order", "app_open", "page_view"],
...     "amount": [20.0, None, None], "revenue": [20.0, None, None], "status": ["completed", None, None],
... })
>>> f = personas.customer_features(tp, as_of="2024-03-01")
>>> f.set_index("customer_id").loc["a", ["frequency", "monetary", "share_app"]].tolist()
[1.0, 20.0, 1.0]
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlib.engine import Workspace, connect

try:
    from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
except ImportError as e:  # pragma: no cover - scikit-learn ships with the notebooks extra
    raise ImportError("cxlib.personas needs scikit-learn: pip install -e .[notebooks]") from e
from cxlib.schema import DataError

__all__ = [
    "FEATURES",
    "MODEL_FEATURES",
    "PROSPECTS",
    "PersonaModel",
    "assign",
    "compare_personas",
    "customer_features",
    "persona_map",
    "persona_value_crosstab",
    "predicted_value",
    "profile_heatmap",
    "value_tiers",
    "write_personas",
]

_DAY = 86_400.0
_MONTH_DAYS = 30.4375

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

#: The behavioural features :class:`PersonaModel` clusters on by default: one per way customers differ
#: (basket size, cadence, e-mail, app, support, web browsing). They are rates, which do not grow with
#: tenure, so a persona does not depend on when someone arrived. Adding more (channel shares, returns,
#: CSAT) dilutes the distances with noise: on the generated company the ARI against the true personas
#: drops from about 0.8 to 0.6 with all of them (docs/personas.md).
MODEL_FEATURES: tuple[str, ...] = (
    "avg_order_value",
    "orders_per_month",
    "email_opens_per_month",
    "app_opens_per_month",
    "tickets_per_month",
    "web_views_per_month",
)

#: Persona name of customers without a completed order when :func:`write_personas` keeps them apart.
PROSPECTS = "Prospects (no order yet)"

_ENRICHMENT = ("country", "income_band", "age_band", "interest", "geo_segment")


# --- features ---------------------------------------------------------------------------------------------------------


def _as_table(obj: Workspace | str | Path | ibis.Table | pd.DataFrame) -> tuple[ibis.Table, Workspace | None, bool]:
    """The touchpoints as an Ibis table, and the workspace they came from (if any, and whether we opened it)."""
    if isinstance(obj, ibis.Table):
        return obj, None, False
    if isinstance(obj, pd.DataFrame):
        return ibis.memtable(obj), None, False
    if isinstance(obj, Workspace):
        return obj.table("touchpoints"), obj, False
    ws = connect(obj, read_only=True)
    return ws.table("touchpoints"), ws, True


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
        Return the Ibis expression instead of a pandas frame (for :func:`assign` on large data). Pass an
        open :class:`Workspace` then: opened from a folder, the workspace stays open for the expression.

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
    tp, ws, opened = _as_table(workspace_or_touchpoints)
    try:
        out = _features(tp, ws, as_of, anonymous)
        return out if lazy else _to_pandas(out)
    finally:
        if opened and not lazy:
            ws.close()


def _features(tp: ibis.Table, ws: Workspace | None, as_of: Any, anonymous: bool) -> ibis.Table:
    missing = [c for c in ("customer_id", "ts", "table_name", "channel", "event") if c not in tp.columns]
    if missing:
        raise DataError(f"touchpoints lack column(s) {', '.join(missing)}; run `cx unify` to build them")
    opt = {"amount": "float64", "revenue": "float64", "status": "string", "resolved": "boolean"}
    opt |= {"csat": "float64", "nps": "float64"}
    tp = tp.mutate(**{c: ibis.null(t) for c, t in opt.items() if c not in tp.columns})
    # a frame copied through pandas may carry NaN where the warehouse has null (Spark keeps NaN apart)
    tp = tp.mutate(**{c: _nan_to_null(tp[c].cast("float64")) for c in ("amount", "revenue", "csat", "nps")})
    if as_of is None:
        as_of_ts = pd.Timestamp(tp.ts.max().execute())
    else:
        as_of_ts = pd.Timestamp(as_of)
    if as_of_ts is pd.NaT or pd.isna(as_of_ts):
        as_of_ts = pd.Timestamp("1970-01-01")
    as_of_ts = as_of_ts.tz_localize(None) if as_of_ts.tzinfo else as_of_ts
    as_of_epoch = float((as_of_ts - pd.Timestamp("1970-01-01")) / pd.Timedelta(seconds=1))
    tp = tp.filter(tp.ts <= ibis.literal(as_of_ts.to_pydatetime(), "timestamp"))

    t = tp.table_name
    ch = tp.channel
    ev = tp.event
    is_order = t == "orders"
    is_ticket = t == "tickets"
    is_event = t == "events"
    completed = is_order & (tp.status == "completed")
    web_view = is_event & ev.isin(["page_view", "product_view", "add_to_cart", "login"])
    email_mkt = is_event & (ch == "email")
    agg = tp.group_by("customer_id").aggregate(
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
        n_web=_count(
            (
                is_event
                & ev.isin(
                    ["page_view", "product_view", "add_to_cart", "login", "checkout_start", "purchase", "referral"]
                )
                & (ch == "web")
            )
            | (is_order & (ch == "web"))
        ),
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
    if ws is not None and ws.has("customers"):
        cust = ws.table("customers")
        if not anonymous:
            cust = cust.filter(~cust.is_anonymous)
        keep = ["customer_id", "is_anonymous", "first_seen"] + [c for c in _ENRICHMENT if c in cust.columns]
        cust = cust.select(*keep).mutate(first_seen=_epoch(cust.first_seen))
        base = cust.left_join(agg, "customer_id").pipe(_drop_right)
        first = ibis.least(base.first_ts.fill_null(base.first_seen), base.first_seen)
    else:
        base = agg.mutate(is_anonymous=agg.customer_id.startswith("A"))
        first = base.first_ts
    zero = [
        c
        for c in agg.columns
        if c
        not in (
            "customer_id",
            "first_ts",
            "last_ts",
            "last_order",
            "first_order",
            "avg_order_value",
            "csat_mean",
            "nps_mean",
        )
    ]
    base = base.mutate(**{c: base[c].fill_null(0.0) for c in zero})
    tenure = ((as_of_epoch - first) / _DAY).clip(lower=0.0)
    months = ibis.greatest(tenure / _MONTH_DAYS, 1.0)
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
    out = base.select(**cols, **{c: base[c] for c in _ENRICHMENT if c in base.columns})
    if ws is not None and ws.has("customer_stages"):
        st = ws.table("customer_stages")
        if {"customer_id", "stage"} <= set(st.columns):
            st = st.select("customer_id", stage=st.stage.cast("string")).distinct(on="customer_id", keep="first")
            out = out.left_join(st, "customer_id").pipe(_drop_right)
    return out


def _drop_right(t: ibis.Table) -> ibis.Table:
    return t.drop(*[c for c in t.columns if c.endswith("_right")])


def _to_pandas(t: ibis.Table) -> pd.DataFrame:
    df = t.order_by("customer_id").to_pandas()
    for c in df.columns:
        if c in ("customer_id", "stage", *_ENRICHMENT):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
        elif c == "is_anonymous":
            df[c] = df[c].astype(bool)
        else:
            df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df.reset_index(drop=True)


# --- the model --------------------------------------------------------------------------------------------------------


def _numeric_columns(X: pd.DataFrame) -> list[str]:
    return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]


_SILHOUETTE_N = 4_000  # customers the silhouette is computed on (it is quadratic in their number)


def _silhouette(Z: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator) -> tuple[float, float]:
    """Mean silhouette on a sample of ``n`` rows, and its standard error."""
    from sklearn.metrics import silhouette_samples

    nan = (float("nan"), float("nan"))
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(Z):
        return nan
    idx = rng.choice(len(Z), size=min(n, len(Z)), replace=False)
    if len(np.unique(labels[idx])) < 2 or len(np.unique(labels[idx])) >= len(idx):
        return nan
    s = silhouette_samples(Z[idx], labels[idx])
    return float(s.mean()), float(s.std() / np.sqrt(len(s)))


class PersonaModel(ClusterMixin, TransformerMixin, BaseEstimator):
    """Personas by clustering behavioural features, with the number of personas chosen from the data.

    A scikit-learn estimator (``fit``, ``predict``, ``fit_predict``, ``transform``). ``fit`` accepts any
    frame (or array) of numeric features. Preprocessing suits skewed behavioural data: missing values take
    the column's median, columns skewed to the right (skewness above 1 at fit) go through a signed
    ``log1p``, and every column is standardised. Then k-means (default) or a Gaussian mixture with
    diagonal covariances clusters the customers.

    With ``n_personas="auto"`` every k in ``k_range`` is fitted (on a random subsample of at most
    ``selection_sample`` customers) and scored by its **mean silhouette** (on 4,000 of them): how much
    closer each customer is to their own persona than to the next. The choice is the smallest k whose
    silhouette is within one standard error of the highest (the one-standard-error rule: near-ties go to
    fewer, easier-to-act-on personas). The chosen k is then refitted on all customers, starting from the
    subsample's centres. The curve is in ``selection_`` (with k-means' inertia and, for ``method="gmm"``,
    the BIC).

    Parameters
    ----------
    n_personas : int or "auto"
        Number of personas, or ``"auto"`` to choose over ``k_range``.
    method : {"kmeans", "gmm"}
        Clustering algorithm.
    features : sequence of str, optional
        Columns to cluster on. Default: :data:`MODEL_FEATURES` when a frame has them all (the output of
        :func:`customer_features`), otherwise every numeric column. Other columns of a frame are kept
        for the profiles only.
    k_range : tuple of int
        Smallest and largest number of personas tried with ``"auto"`` (inclusive).
    log_skewed : bool
        Apply the signed ``log1p`` to right-skewed columns.
    n_init : int
        Restarts of the clustering algorithm (the best is kept).
    selection_sample : int
        Customers the sweep over ``k_range`` is fitted on (a random subsample when there are more).
    value_column : str
        Column holding each customer's value (revenue), for the profiles' value and revenue share.
    random_state : int, optional
        Seed of the clustering and of the silhouette sample.

    Attributes
    ----------
    n_personas_ : int
        The number of personas found.
    labels_ : ndarray
        Persona of each customer the model was fitted on (0 .. n_personas_ - 1, ordered by size).
    cluster_centers_ : ndarray
        Persona centres in the transformed space (what :func:`assign` measures distances to).
    selection_ : DataFrame
        ``k, silhouette, silhouette_se, inertia`` (and ``bic`` for the Gaussian mixture): the curve over
        ``k_range``.
    profiles_ : DataFrame
        One row per persona: see :meth:`profile`.
    names_ : list of str
        Short names of the personas.
    feature_names_in_ : ndarray
        Columns clustered on (when fitted on a frame).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"orders_per_month": np.r_[rng.gamma(2, 0.1, 60), rng.gamma(20, 0.1, 60)],
    ...                   "tickets_per_month": np.r_[rng.gamma(20, 0.05, 60), rng.gamma(1, 0.05, 60)]})
    >>> model = PersonaModel(k_range=(2, 4), random_state=0).fit(X)
    >>> model.n_personas_, model.selection_["k"].tolist()
    (2, [2, 3, 4])
    >>> model.profiles_["size"].tolist()
    [60, 60]
    >>> bool((model.predict(X) == model.labels_).all())
    True
    """

    def __init__(
        self,
        n_personas: int | str = "auto",
        method: str = "kmeans",
        features: Sequence[str] | None = None,
        k_range: tuple[int, int] = (2, 10),
        log_skewed: bool = True,
        n_init: int = 10,
        selection_sample: int = 20_000,
        value_column: str = "monetary",
        random_state: int | None = None,
    ) -> None:
        self.n_personas = n_personas
        self.method = method
        self.features = features
        self.k_range = k_range
        self.log_skewed = log_skewed
        self.n_init = n_init
        self.selection_sample = selection_sample
        self.value_column = value_column
        self.random_state = random_state

    def __sklearn_tags__(self):  # noqa: D105 - missing values are imputed
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- preprocessing

    def _columns(self, X: pd.DataFrame) -> list[str]:
        if self.features is not None:
            missing = [c for c in self.features if c not in X.columns]
            if missing:
                raise DataError(f"the features frame lacks column(s) {', '.join(map(str, missing))}")
            return list(self.features)
        if all(c in X.columns for c in MODEL_FEATURES):
            return list(MODEL_FEATURES)
        return _numeric_columns(X)

    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        from sklearn.utils.validation import check_array

        if isinstance(X, pd.DataFrame):
            if fitting:
                cols = self._columns(X)
                self.feature_names_in_ = np.asarray(cols, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                missing = [c for c in self.feature_names_in_ if c not in X.columns]
                if missing:
                    raise ValueError(f"X lacks the feature(s) the model was fitted on: {', '.join(missing)}")
                cols = list(self.feature_names_in_)
            else:
                cols = list(X.columns)
            X = X[cols].astype("float64")
        elif fitting and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        A = check_array(X, dtype="float64", ensure_all_finite="allow-nan", ensure_min_samples=2 if fitting else 1)
        if fitting:
            self.n_features_in_ = A.shape[1]
        elif A.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {A.shape[1]} features, but PersonaModel is expecting {self.n_features_in_} features as input."
            )
        if not np.isfinite(A[~np.isnan(A)]).all():
            raise ValueError("Input X contains infinity or a value too large.")
        return A

    def _fit_transform_params(self, A: np.ndarray) -> None:
        med = np.nanmedian(np.where(np.isnan(A), np.nan, A), axis=0) if len(A) else np.zeros(A.shape[1])
        self.impute_ = np.where(np.isnan(med), 0.0, med)
        B = np.where(np.isnan(A), self.impute_, A)
        if self.log_skewed:
            from scipy.stats import skew

            with np.errstate(all="ignore"):
                sk = np.nan_to_num(skew(B, axis=0), nan=0.0)
            self.log_columns_ = sk > 1.0
        else:
            self.log_columns_ = np.zeros(A.shape[1], dtype=bool)
        B = self._log(B)
        self.mean_ = B.mean(axis=0)
        sd = B.std(axis=0)
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)

    def _log(self, B: np.ndarray) -> np.ndarray:
        B = B.copy()
        m = self.log_columns_
        B[:, m] = np.sign(B[:, m]) * np.log1p(np.abs(B[:, m]))
        return B

    def transform(self, X: Any) -> np.ndarray:
        """The features as the clustering sees them: imputed, signed-log where skewed, standardised."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "cluster_centers_")
        A = self._matrix(X, fitting=False)
        return self._scaled(A)

    def _scaled(self, A: np.ndarray) -> np.ndarray:
        B = np.where(np.isnan(A), self.impute_, A)
        return (self._log(B) - self.mean_) / self.scale_

    # -- clustering

    def _cluster(self, Z: np.ndarray, k: int, seed: int, start: Any = None) -> Any:
        """Fit k clusters; ``start`` (a fitted estimator) gives the initial centres and a single run."""
        if self.method == "kmeans":
            from sklearn.cluster import KMeans

            if start is not None:
                return KMeans(n_clusters=k, init=start.cluster_centers_, n_init=1, random_state=seed).fit(Z)
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(Z)
        if self.method == "gmm":
            from sklearn.mixture import GaussianMixture

            n_init = 1 if start is not None else max(1, min(self.n_init, 3))
            means = start.means_ if start is not None else None
            return GaussianMixture(
                k, covariance_type="diag", n_init=n_init, random_state=seed, reg_covar=1e-4, means_init=means
            ).fit(Z)
        raise ValueError(f"method must be 'kmeans' or 'gmm', not {self.method!r}")

    def fit(self, X: Any, y: Any = None) -> PersonaModel:
        """Fit the preprocessing and the personas on ``X`` (customers x features); ``y`` is ignored."""
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: the many short k-means runs of the sweep gain little from threads, and on a
        # busy 2-core machine thread contention made a 41,000-customer fit take 41 s instead of 2.7 s.
        with threadpool_limits(limits=1, user_api="openmp"):
            return self._fit(X)

    def _fit(self, X: Any) -> PersonaModel:
        frame = X if isinstance(X, pd.DataFrame) else None
        A = self._matrix(X, fitting=True)
        self._fit_transform_params(A)
        Z = self._scaled(A)
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        n_distinct = len(np.unique(Z, axis=0))
        if self.n_personas == "auto":
            lo, hi = self.k_range
            ks = [k for k in range(max(2, lo), hi + 1) if k < n_distinct]
            if not ks:
                ks = [max(1, min(lo, n_distinct))]
        elif isinstance(self.n_personas, int | np.integer) and self.n_personas >= 1:
            ks = [int(min(self.n_personas, len(Z)))]
        else:
            raise ValueError(f"n_personas must be a positive int or 'auto', not {self.n_personas!r}")
        # the sweep over k runs on a subsample (the choice needs shape, not every customer); the chosen k is
        # then refitted on everything
        sweep = Z
        if len(ks) > 1 and len(Z) > self.selection_sample:
            sweep = Z[np.random.default_rng(seed).choice(len(Z), size=self.selection_sample, replace=False)]
        rows, fits = [], {}
        for k in ks:
            est = self._cluster(sweep, k, seed)
            labels = est.predict(sweep)
            fits[k] = est
            sil, se = _silhouette(sweep, labels, _SILHOUETTE_N, np.random.default_rng(seed))
            row = {"k": k, "silhouette": sil, "silhouette_se": se}
            row["inertia"] = float(getattr(est, "inertia_", np.nan))
            if self.method == "gmm":
                row["bic"] = float(est.bic(sweep))
            rows.append(row)
        self.selection_ = pd.DataFrame(rows)
        if len(ks) == 1 or self.selection_["silhouette"].isna().all():
            best = ks[0]
        else:
            # one-standard-error rule: the fewest personas whose silhouette is within one standard error of
            # the best -- k = 5 and k = 6 were within 0.001 of each other on generated companies, and the
            # smaller set of personas is the one people can act on
            sel = self.selection_
            top = sel.loc[sel["silhouette"].idxmax()]
            best = int(sel.loc[sel["silhouette"] >= top["silhouette"] - top["silhouette_se"], "k"].min())
        # refit on everyone from the sweep's centres: one run, converges in a few iterations
        est = fits[best] if sweep is Z else self._cluster(Z, best, seed, start=fits[best])
        self._set_centres(est, Z)
        self.labels_ = self._predict_scaled(Z)
        self.n_personas_ = len(self.cluster_centers_)
        prof_frame = frame if frame is not None else pd.DataFrame(A, columns=[f"x{i}" for i in range(A.shape[1])])
        self.profiles_ = self.profile(prof_frame, self.labels_)
        self.names_ = self.profiles_["name"].tolist()
        return self

    def _set_centres(self, est: Any, Z: np.ndarray) -> None:
        """Store the centres (and, for a mixture, variances and weights), personas numbered by size."""
        labels = est.predict(Z)
        k = est.n_components if self.method == "gmm" else est.n_clusters
        counts = np.bincount(labels, minlength=k)
        order = np.argsort(-counts, kind="stable")
        if self.method == "gmm":
            self.cluster_centers_ = est.means_[order]
            self.variances_ = est.covariances_[order]
            self.weights_ = est.weights_[order]
        else:
            self.cluster_centers_ = est.cluster_centers_[order]

    def _scores(self, Z: np.ndarray) -> np.ndarray:
        """Per persona, a score to minimise: squared distance (k-means) or minus the log density (mixture)."""
        diff = Z[:, None, :] - self.cluster_centers_[None, :, :]
        if self.method == "gmm":
            v = self.variances_[None, :, :]
            return 0.5 * (np.log(v) + diff**2 / v).sum(axis=2) - np.log(self.weights_)[None, :]
        return (diff**2).sum(axis=2)

    def _predict_scaled(self, Z: np.ndarray) -> np.ndarray:
        return np.argmin(self._scores(Z), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The persona (0 .. n_personas_ - 1) of each row of ``X``."""
        return self._predict_scaled(self.transform(X))

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and return ``labels_``."""
        return self.fit(X).labels_

    # -- profiles

    def profile(self, X: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
        """Describe personas: size, share, value, revenue share, what sets each apart, stage mix, name.

        ``X`` is any frame of customers (its numeric columns are compared; ``stage`` and ``share_*``
        columns give the stage mix and main channels) and ``labels`` their personas. Effect sizes are
        Cohen's d of each numeric column, persona versus the rest (difference of means over the pooled
        standard deviation); ``|d| >= 0.5`` is a medium effect, ``0.8`` a large one.

        Returns ``persona, name, description, size, share, value, revenue_share, distinguishing,
        main_channels, stage_mix`` and one ``d_<feature>`` column per numeric feature.
        """
        labels = np.asarray(labels)
        num = [c for c in _numeric_columns(X) if c != "is_anonymous"]
        V = X[num].astype("float64")
        value = X[self.value_column].astype("float64") if self.value_column in X.columns else None
        total = float(value.sum()) if value is not None else float("nan")
        rows = []
        effects = _effect_sizes(V, labels, self.n_personas_ if hasattr(self, "n_personas_") else labels.max() + 1)
        value_rank = {}
        if value is not None:
            means = pd.Series(value.to_numpy()).groupby(labels).mean()
            value_rank = {p: r for r, p in enumerate(means.sort_values(ascending=False).index)}
        k = effects.shape[0]
        for p in range(k):
            mask = labels == p
            d = effects.loc[p]
            row: dict[str, Any] = {"persona": p, "size": int(mask.sum()), "share": float(mask.mean())}
            row["value"] = float(value[mask].mean()) if value is not None and mask.any() else float("nan")
            row["revenue_share"] = float(value[mask].sum() / total) if value is not None and total else float("nan")
            top = d.dropna().reindex(d.dropna().abs().sort_values(ascending=False).index)
            top = top[top.abs() >= 0.3].head(4)
            row["distinguishing"] = ", ".join(f"{c} {'+' if v > 0 else '-'}{abs(v):.1f}" for c, v in top.items())
            shares = [c for c in X.columns if c.startswith("share_")]
            if shares and mask.any():
                m = X.loc[mask, shares].mean().sort_values(ascending=False)
                row["main_channels"] = ", ".join(f"{c.removeprefix('share_')} {v:.0%}" for c, v in m.head(2).items())
            else:
                row["main_channels"] = ""
            if "stage" in X.columns and mask.any():
                mix = X.loc[mask, "stage"].fillna("unknown").value_counts(normalize=True)
                row["stage_mix"] = ", ".join(f"{s} {v:.0%}" for s, v in mix.head(3).items())
            else:
                row["stage_mix"] = ""
            name, desc = _name(d, value_rank.get(p), k)
            row["name"], row["description"] = name, desc
            row.update({f"d_{c}": float(d[c]) for c in num})
            rows.append(row)
        out = pd.DataFrame(rows)
        out["name"] = _unique(out["name"].tolist())
        first = [
            "persona",
            "name",
            "description",
            "size",
            "share",
            "value",
            "revenue_share",
            "distinguishing",
            "main_channels",
            "stage_mix",
        ]
        return out[first + [c for c in out.columns if c not in first]]


def _effect_sizes(V: pd.DataFrame, labels: np.ndarray, k: int) -> pd.DataFrame:
    """Cohen's d of every column, each persona versus the rest (nulls ignored)."""
    out = {}
    for p in range(int(k)):
        mask = labels == p
        a, b = V[mask], V[~mask]
        na, nb = a.notna().sum(), b.notna().sum()
        pooled = np.sqrt(((na - 1).clip(lower=0) * a.var() + (nb - 1).clip(lower=0) * b.var()) / (na + nb - 2))
        d = (a.mean() - b.mean()) / pooled.where(pooled > 1e-12)
        out[p] = d
    return pd.DataFrame(out).T.reindex(columns=V.columns)


# phrase for a feature that is high / low in a persona, and a noun when it is the persona's main trait
_PHRASES: dict[str, tuple[str, str, str]] = {
    "avg_order_value": ("big baskets", "small baskets", "big spenders"),
    "orders_per_month": ("buy often", "buy rarely", "regulars"),
    "frequency": ("many orders", "few orders", "regulars"),
    "monetary": ("spend a lot", "spend little", "big spenders"),
    "app_opens_per_month": ("mostly app", "rarely use the app", "app loyalists"),
    "share_app": ("mostly app", "little app", "app loyalists"),
    "email_opens_per_month": ("open e-mails", "ignore e-mails", "deal seekers"),
    "email_open_rate": ("open e-mails", "ignore e-mails", "deal seekers"),
    "share_email": ("e-mail driven", "little e-mail", "deal seekers"),
    "email_clicks_per_month": ("click e-mails", "never click e-mails", "deal seekers"),
    "order_share_app": ("order in the app", "never order in the app", "app loyalists"),
    "tickets": ("many tickets", "few tickets", "service-reliant customers"),
    "touchpoints": ("very engaged", "seldom seen", "engaged customers"),
    "tickets_per_month": ("contact support often", "rarely contact support", "service-reliant customers"),
    "share_support": ("contact support often", "rarely contact support", "service-reliant customers"),
    "web_views_per_month": ("browse the web a lot", "browse little", "browsers"),
    "share_web": ("mostly web", "little web", "browsers"),
    "share_store": ("mostly in store", "rarely in store", "store shoppers"),
    "order_share_store": ("buy in store", "buy online", "store shoppers"),
    "return_rate": ("return often", "rarely return", "returners"),
    "recency_days": ("lapsing", "recently active", "lapsing customers"),
    "tenure_days": ("long-standing", "new", "long-standing customers"),
    "nps_mean": ("promoters", "detractors", "promoters"),
    "csat_mean": ("satisfied with service", "unhappy with service", "satisfied customers"),
    "referrals": ("refer friends", "never refer", "advocates"),
}


def _name(d: pd.Series, value_rank: int | None, k: int) -> tuple[str, str]:
    """A short name and a one-line description from a persona's effect sizes (largest first)."""
    d = d.dropna()
    d = d.reindex(d.abs().sort_values(ascending=False).index)
    d = d[d.abs() >= 0.3]
    phrases, noun = [], None
    for col, v in d.items():
        hi, lo, n = _PHRASES.get(col, (f"high {col}", f"low {col}", None))
        if noun is None and v > 0 and n is not None:
            noun = n
        phrase = hi if v > 0 else lo
        if phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == 3:
            break
    if noun is None:
        noun = "customers"
    tier = ""
    if value_rank is not None and k > 1:
        tier = "High-value " if value_rank == 0 else ("Low-value " if value_rank == k - 1 else "")
    name = (tier + noun) if tier else noun[:1].upper() + noun[1:]
    desc = ", ".join(phrases) if phrases else "close to the average customer"
    return name, f"{name} — {desc}"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


def compare_personas(features: pd.DataFrame, model: PersonaModel, a: int | str, b: int | str) -> pd.DataFrame:
    """Two personas side by side: the mean of every numeric feature in each, and the effect size between them.

    ``a`` and ``b`` are persona numbers or names. Returns ``feature, <name a>, <name b>, effect_size`` (Cohen's
    d of a versus b), largest differences first.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 0.2, 5.0, 5.2], "y": [1.0, 1.5, 1.2, 1.3]})
    >>> model = PersonaModel(n_personas=2, random_state=0).fit(X)
    >>> compare_personas(X, model, 0, 1)["feature"].tolist()
    ['x', 'y']
    """
    names = list(model.names_)
    ia, ib = (names.index(p) if isinstance(p, str) else int(p) for p in (a, b))
    labels = model.predict(features)
    num = [c for c in _numeric_columns(features) if c != "is_anonymous"]
    A = features.loc[labels == ia, num].astype("float64")
    B = features.loc[labels == ib, num].astype("float64")
    na, nb = A.notna().sum(), B.notna().sum()
    pooled = np.sqrt(((na - 1).clip(lower=0) * A.var() + (nb - 1).clip(lower=0) * B.var()) / (na + nb - 2))
    d = (A.mean() - B.mean()) / pooled.where(pooled > 1e-12)
    out = pd.DataFrame(
        {"feature": num, names[ia]: A.mean().to_numpy(), names[ib]: B.mean().to_numpy(), "effect_size": d.to_numpy()}
    )
    order = out["effect_size"].abs().fillna(-1).sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)


# --- charts -----------------------------------------------------------------------------------------------------------


def profile_heatmap(model: PersonaModel, features: Sequence[str] | None = None) -> go.Figure:
    """Personas x features, coloured by effect size (Cohen's d versus the rest of the customers).

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 0.0, 0.1]})
    >>> fig = profile_heatmap(PersonaModel(n_personas=2, random_state=0).fit(X))
    >>> fig.data[0].type, list(fig.data[0].x)
    ('heatmap', ['a', 'b'])
    """
    prof = model.profiles_
    cols = [c.removeprefix("d_") for c in prof.columns if c.startswith("d_")]
    if features is not None:
        cols = [c for c in features if c in cols]
    z = prof[[f"d_{c}" for c in cols]].to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=cols,
            y=prof["name"].tolist(),
            zmid=0,
            colorscale="RdBu_r",
            text=np.round(z, 1),
            texttemplate="%{text}",
            colorbar={"title": "effect size (d)"},
        )
    )
    fig.update_layout(title="What sets each persona apart (Cohen's d versus the rest)", yaxis={"autorange": "reversed"})
    return fig


def persona_map(
    features: pd.DataFrame, model: PersonaModel, max_points: int = 5_000, random_state: int = 0
) -> go.Figure:
    """Customers on a 2-D map (the first two principal components of the model's space), by persona.

    Examples
    --------
    >>> X = pd.DataFrame({"a": [0.0, 0.1, 5.0, 5.1], "b": [1.0, 1.1, 0.0, 0.1], "c": [0.0, 1, 0, 1]})
    >>> fig = persona_map(X, PersonaModel(n_personas=2, random_state=0).fit(X))
    >>> sum(len(t.x) for t in fig.data)
    4
    """
    from sklearn.decomposition import PCA

    if len(features) > max_points:
        features = features.sample(max_points, random_state=random_state)
    Z = model.transform(features)
    labels = model.predict(features)
    pca = PCA(n_components=min(2, Z.shape[1]), random_state=random_state).fit(Z)
    P = pca.transform(Z)
    if P.shape[1] == 1:
        P = np.column_stack([P[:, 0], np.zeros(len(P))])
    names = model.names_
    ids = features["customer_id"].astype(str).to_numpy() if "customer_id" in features else None
    fig = go.Figure()
    for p, name in enumerate(names):
        m = labels == p
        fig.add_trace(
            go.Scattergl(
                x=P[m, 0],
                y=P[m, 1],
                mode="markers",
                name=name,
                marker={"size": 4, "opacity": 0.6},
                text=ids[m] if ids is not None else None,
            )
        )
    ev = pca.explained_variance_ratio_
    fig.update_layout(
        title="Customers by persona (principal components of the model's features)",
        xaxis_title=f"PC1 ({ev[0]:.0%} of variance)",
        yaxis_title=f"PC2 ({ev[1]:.0%} of variance)" if len(ev) > 1 else "PC2",
    )
    return fig


# --- assignment in the engine -----------------------------------------------------------------------------------------


def assign(model: PersonaModel, features_table: ibis.Table, id_column: str = "customer_id") -> ibis.Table:
    """Label every customer in the engine: the fitted model as an Ibis expression (nearest centre).

    ``features_table (customer_id, <model features>) -> customer_id, persona, persona_name, distance``. The
    preprocessing (median imputation, signed log, standardisation) and the distances to each persona's
    centre are column arithmetic, so a model fitted on a sample labels millions of customers on DuckDB or
    Spark without leaving the engine. For ``method="gmm"`` the score is the diagonal Gaussian log density,
    so the result equals :meth:`PersonaModel.predict` for both methods. ``distance`` is the Euclidean
    distance to the centre in the standardised space (k-means) or the negative log density (mixture).

    Examples
    --------
    >>> X = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [0.0, 0.2, 5.0, 5.2]})
    >>> model = PersonaModel(n_personas=2, features=["x"], random_state=0).fit(X)
    >>> out = assign(model, ibis.memtable(X)).order_by("customer_id").to_pandas()
    >>> out["persona"].tolist() == model.predict(X).tolist()
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "cluster_centers_")
    if not hasattr(model, "feature_names_in_"):
        raise ValueError("assign needs a model fitted on a frame with column names")
    t = features_table
    z = []
    for j, c in enumerate(model.feature_names_in_):
        x = t[c].cast("float64").fill_null(float(model.impute_[j]))
        if model.log_columns_[j]:
            x = x.sign() * (x.abs() + 1.0).ln()
        z.append((x - float(model.mean_[j])) / float(model.scale_[j]))
    scores = []
    for p, centre in enumerate(model.cluster_centers_):
        if model.method == "gmm":
            var = model.variances_[p]
            s = sum((zj - float(cj)) ** 2 / float(v) for zj, cj, v in zip(z, centre, var, strict=True))
            s = 0.5 * s + float(0.5 * np.log(var).sum() - np.log(model.weights_[p]))
        else:
            s = sum((zj - float(cj)) ** 2 for zj, cj in zip(z, centre, strict=True))
        scores.append(s.name(f"_s{p}"))
    t = t.select(t[id_column], *scores)
    cols = [t[f"_s{p}"] for p in range(len(scores))]
    best = ibis.least(*cols) if len(cols) > 1 else cols[0]
    persona = ibis.cases(*[(cols[p] == best, p) for p in range(len(cols) - 1)], else_=len(cols) - 1)
    names = dict(enumerate(model.names_))
    persona = persona.cast("int64")
    distance = best.sqrt() if model.method == "kmeans" else best
    return t.select(
        t[id_column],
        persona=persona,
        persona_name=persona.substitute(names, else_=ibis.null("string")),
        distance=distance,
    )


# --- value tiers ------------------------------------------------------------------------------------------------------


def _bgnbd_ll(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> float:
    from scipy.special import betaln, gammaln

    r, alpha, a, b = np.exp(params)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    return -float(np.sum(base + np.logaddexp(A, B)))


def _gg_ll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    from scipy.special import gammaln

    p, q, v = np.exp(params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )
    return -float(np.sum(ll))


def predicted_value(features: pd.DataFrame, horizon_months: float = 12.0) -> pd.DataFrame:
    """Expected purchases and revenue over the next ``horizon_months``: BG/NBD + Gamma-Gamma.

    ``customer_id, frequency, monetary, days_since_order, days_since_first_order -> customer_id,
    expected_orders, expected_order_value, predicted_value``. BG/NBD (Fader, Hardie & Lee, 2005) models
    repeat purchases (``x = frequency - 1``) while a customer is alive, with time of the last purchase
    ``t_x`` and age ``T`` since the first, in months; Gamma-Gamma (Fader, Hardie & Lee, 2005) the mean spend
    of customers with repeat purchases. Both are fitted by maximum likelihood with scipy. Customers
    without a completed order are predicted 0 (they are prospects, not customers, for this model). The
    fitted parameters are in ``result.attrs["params"]``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> n = 300
    >>> first = rng.uniform(60, 700, n)
    >>> freq = rng.poisson(first / 60) + 1
    >>> f = pd.DataFrame({"customer_id": [str(i) for i in range(n)], "frequency": freq.astype(float),
    ...                   "monetary": freq * rng.gamma(5, 10, n), "days_since_first_order": first,
    ...                   "days_since_order": first * rng.uniform(0, 0.5, n)})
    >>> pv = predicted_value(f)
    >>> bool((pv["predicted_value"] >= 0).all()), sorted(pv.attrs["params"])
    (True, ['a', 'alpha', 'b', 'p', 'q', 'r', 'v'])
    """
    from scipy.optimize import minimize
    from scipy.special import hyp2f1

    need = ["customer_id", "frequency", "monetary", "days_since_order", "days_since_first_order"]
    missing = [c for c in need if c not in features.columns]
    if missing:
        raise DataError(f"predicted_value needs column(s) {', '.join(missing)} (from customer_features)")
    f = features[need].copy()
    buyer = (f["frequency"] > 0) & f["days_since_first_order"].notna()
    b = f[buyer]
    x = (b["frequency"].to_numpy() - 1).clip(0)
    T = (b["days_since_first_order"].to_numpy() / _MONTH_DAYS).clip(1e-3)
    tx = (T - b["days_since_order"].to_numpy() / _MONTH_DAYS).clip(0)
    out = pd.DataFrame({"customer_id": f["customer_id"], "expected_orders": 0.0, "expected_order_value": 0.0})
    if len(b) < 5:
        out["predicted_value"] = 0.0
        out.attrs["params"] = {}
        return out
    # Bounded log-parameters: far out (a, b > 1e5) the Beta-function differences cancel catastrophically
    # and the likelihood looks spuriously high.
    bounds = [(-6.0, 6.0)] * 4
    res = minimize(_bgnbd_ll, np.log([1.0, 1.0, 1.5, 3.0]), args=(x, tx, T), method="L-BFGS-B", bounds=bounds)
    r, alpha, a, bb = np.exp(res.x)
    t = horizon_months
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        num = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, bb + x, a + bb + x - 1, z)
        num *= (a + bb + x - 1) / (a - 1)
        den = 1 + (x > 0) * (a / (bb + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    exp_orders = np.nan_to_num(num / den, nan=0.0, posinf=0.0).clip(0)
    mean_spend = (b["monetary"].to_numpy() / b["frequency"].to_numpy()).clip(1e-6)
    rep = x > 0
    gg = minimize(
        _gg_ll, np.log([2.0, 3.0, 20.0]), args=(x[rep], mean_spend[rep]), method="L-BFGS-B", bounds=[(-6.0, 9.0)] * 3
    )
    p, q, v = np.exp(gg.x)
    spend = np.where(rep, p * (v + x * mean_spend) / (p * x + q - 1), p * v / (q - 1) if q > 1 else mean_spend)
    out.loc[buyer.to_numpy(), "expected_orders"] = exp_orders
    out.loc[buyer.to_numpy(), "expected_order_value"] = spend
    out["predicted_value"] = out["expected_orders"] * out["expected_order_value"]
    out.attrs["params"] = {"r": r, "alpha": alpha, "a": a, "b": bb, "p": p, "q": q, "v": v}
    return out


def value_tiers(
    features: pd.DataFrame, method: str = "observed", top: float = 0.2, horizon_months: float = 12.0
) -> pd.DataFrame:
    """High-value customers versus the rest.

    ``method="observed"`` ranks by revenue to date (``monetary``); ``"predicted"`` by the expected revenue
    over the next ``horizon_months`` (:func:`predicted_value`). The ``top`` share of customers *with
    value* are ``high``; everyone else is ``rest``. Returns ``customer_id, value, tier``.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": list("abcde"), "monetary": [500.0, 10, 0, 20, 30]})
    >>> value_tiers(f, top=0.25)["tier"].tolist()
    ['high', 'rest', 'rest', 'rest', 'rest']
    """
    if method == "observed":
        if "monetary" not in features.columns:
            raise DataError("value_tiers(method='observed') needs the column monetary (from customer_features)")
        value = features["monetary"].astype("float64").fillna(0.0).to_numpy()
    elif method == "predicted":
        value = predicted_value(features, horizon_months)["predicted_value"].to_numpy()
    else:
        raise ValueError(f"method must be 'observed' or 'predicted', not {method!r}")
    out = pd.DataFrame({"customer_id": features["customer_id"].to_numpy(), "value": value})
    pos = value[value > 0]
    cut = np.quantile(pos, 1 - top) if len(pos) else np.inf
    out["tier"] = np.where((value > 0) & (value >= cut), "high", "rest")
    return out


def persona_value_crosstab(personas: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers per persona and value tier, with each persona's share of the high tier and of value.

    ``personas (customer_id, persona_name)`` and ``tiers (customer_id, value, tier)`` -> one row per
    persona: ``persona_name, high, rest, high_share, value, value_share``.

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": list("abc"), "persona_name": ["X", "X", "Y"]})
    >>> t = pd.DataFrame({"customer_id": list("abc"), "value": [10.0, 0, 30], "tier": ["rest", "rest", "high"]})
    >>> persona_value_crosstab(p, t)[["persona_name", "high", "rest", "value_share"]].values.tolist()
    [['X', 0, 2, 0.25], ['Y', 1, 0, 0.75]]
    """
    m = personas[["customer_id", "persona_name"]].merge(tiers, on="customer_id")
    ct = pd.crosstab(m["persona_name"], m["tier"]).reindex(columns=["high", "rest"], fill_value=0)
    out = ct.reset_index()
    out.columns.name = None
    out["high_share"] = out["high"] / (out["high"] + out["rest"])
    val = m.groupby("persona_name")["value"].sum()
    out["value"] = out["persona_name"].map(val).astype("float64")
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total else np.nan
    return out


# --- the workspace table ----------------------------------------------------------------------------------------------


def write_personas(
    workspace: Workspace | str | Path,
    model: PersonaModel | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    fit_on: str = "buyers",
    prospects: str = "separate",
    sample: int = 200_000,
    anonymous: bool = False,
    random_state: int = 0,
) -> tuple[PersonaModel, pd.DataFrame]:
    """Fit personas on a sample of customers and write every customer's persona to table ``personas``.

    The features are computed and kept in the engine (:func:`customer_features`); at most ``sample``
    customers come back to Python to fit the model (customer ids are hashes, so the first ``sample`` by
    id are a random sample), and :func:`assign` labels all of them in the engine. ``fit_on="buyers"``
    fits on customers with at least one completed order -- behaviour before a first purchase says little
    about a persona -- and ``"all"`` fits on everyone. Customers without a completed order (prospects)
    get persona ``-1``, :data:`PROSPECTS`, with ``prospects="separate"`` (default; on the generated
    company, even a supervised classifier tells the true persona of only about half of them), or their
    nearest persona with ``prospects="assign"``. Anonymous customers (cookie or device only) are left
    out unless ``anonymous=True``.

    Writes ``personas``: ``customer_id, persona, persona_name, distance, is_buyer, value, value_tier``
    (observed revenue tier). Returns the fitted model and the profiles.
    """
    ws, close = (workspace, False) if isinstance(workspace, Workspace) else (connect(workspace), True)
    try:
        feats = customer_features(ws, as_of, anonymous=anonymous, lazy=True)
        feats = ws.scratch("_personas_features", feats)
        pool = feats.filter(feats.frequency > 0) if fit_on == "buyers" else feats
        if fit_on not in ("buyers", "all"):
            raise ValueError(f"fit_on must be 'buyers' or 'all', not {fit_on!r}")
        if prospects not in ("separate", "assign"):
            raise ValueError(f"prospects must be 'separate' or 'assign', not {prospects!r}")
        fit_frame = _to_pandas(pool.order_by("customer_id").limit(sample))
        if len(fit_frame) < 2:
            raise DataError("too few customers to find personas; run `cx unify` on a workspace with orders")
        if model is None:
            model = PersonaModel(random_state=random_state)
        model.fit(fit_frame)
        labelled = assign(model, feats)
        cut = value_tiers(fit_frame, "observed")
        high = cut.loc[cut["tier"] == "high", "value"]
        threshold = float(high.min()) if len(high) else float("inf")
        out = labelled.join(feats.select("customer_id", "frequency", "monetary"), "customer_id")
        prospect = (out.frequency <= 0) & ibis.literal(prospects == "separate")
        out = out.select(
            "customer_id",
            persona=ibis.cases((prospect, -1), else_=out.persona).cast("int64"),
            persona_name=ibis.cases((prospect, PROSPECTS), else_=out.persona_name),
            distance=ibis.cases((prospect, ibis.null("float64")), else_=out.distance),
            is_buyer=out.frequency > 0,
            value=out.monetary,
            value_tier=ibis.cases((out.monetary >= threshold, "high"), else_="rest"),
        )
        ws.write("personas", out.order_by("customer_id"))
        ws.drop_scratch()
        return model, model.profiles_
    finally:
        if close:
            ws.close()
