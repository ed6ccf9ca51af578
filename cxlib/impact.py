"""Measured impact: what a campaign or intervention caused, with a confidence interval.

Attribution (:mod:`cxlib.attribution`) shares out conversions that happened; it cannot say what a touch
caused. Measuring that needs a comparison group:

- :func:`uplift` -- a campaign with a **randomised holdout**: the difference between treated and held-out
  customers in conversion rate (Newcombe's hybrid score interval) and revenue per customer (Welch's normal
  interval). Randomisation makes the difference causal. :func:`campaign_groups` finds the two groups and
  their outcome in a window after the send from the ``touchpoints`` stream, in the engine.
- :func:`before_after` -- an intervention **without a holdout**: a difference in differences against a control
  cohort matched on pre-period behaviour. Weaker evidence; its caveats are part of the result and printed.

Examples
--------
>>> import pandas as pd
>>> from cxlib import impact
>>> groups = pd.DataFrame({"group": ["treated"] * 400 + ["holdout"] * 100,
...                        "converted": [True] * 120 + [False] * 280 + [True] * 20 + [False] * 80,
...                        "revenue": [50.0] * 120 + [0.0] * 280 + [50.0] * 20 + [0.0] * 80})
>>> u = impact.uplift(groups)
>>> u[["metric", "treated", "holdout", "uplift", "lower", "upper"]].round(4).values.tolist()
[['conversion_rate', 0.3, 0.2, 0.1, 0.0014, 0.1813], ['revenue_per_customer', 15.0, 10.0, 5.0, 0.464, 9.536]]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from statistics import NormalDist  # the normal quantile: scipy.stats would cost a report 1 s to import

import ibis
import numpy as np
import pandas as pd

from cxlib.attribution import DEFAULT_CONVERSION, matches_rule
from cxlib.engine import Workspace
from cxlib.journeys.inputs import DAY, as_table, require_columns

__all__ = [
    "BEFORE_AFTER_CAVEATS",
    "MAX_WIDTH",
    "MIN_GROUP",
    "before_after",
    "campaign_groups",
    "campaign_uplift",
    "uplift",
    "uplift_verdict",
]


#: What a before/after comparison without a randomised holdout cannot rule out (returned and printed).
BEFORE_AFTER_CAVEATS: tuple[str, ...] = (
    "Not randomised: the control cohort is matched on observed pre-period behaviour only; whatever made these "
    "customers get the intervention and is not in the data (intent, a salesperson's judgement) biases the "
    "estimate.",
    "Parallel trends assumed: without the intervention, treated and matched control customers would have "
    "changed alike from before to after. Check the pre-period trends before believing the number.",
    "Regression to the mean: customers chosen because of an unusually bad (or good) pre-period drift back "
    "towards their usual level anyway; matching on the pre-period reduces but does not remove this.",
    "Anything else that changed at the same time for the treated customers only (another campaign, a price "
    "change in their region) is counted as the intervention's effect.",
    "Treated customers with no control in their stratum are left out, so the estimate is for the matched "
    "treated customers only.",
    "Identity resolution errors move touches between customers and blur both groups.",
)


# --- confidence intervals -------------------------------------------------------------------------------------


def _wilson(k: float, n: float, z: float) -> tuple[float, float]:
    if n == 0:
        return np.nan, np.nan
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return centre - half, centre + half


def _newcombe(k1: float, n1: float, k2: float, n2: float, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (his method 10) for p1 - p2, from the two Wilson intervals."""
    p1, p2 = k1 / n1, k2 / n2
    l1, u1 = _wilson(k1, n1, z)
    l2, u2 = _wilson(k2, n2, z)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _welch(x: np.ndarray, y: np.ndarray, z: float) -> tuple[float, float]:
    """Normal interval for mean(x) - mean(y) with unequal variances."""
    se = np.sqrt(np.var(x, ddof=1) / len(x) + np.var(y, ddof=1) / len(y)) if min(len(x), len(y)) > 1 else np.nan
    d = np.mean(x) - np.mean(y)
    return d - z * se, d + z * se


# --- a campaign with a holdout --------------------------------------------------------------------------------


def campaign_groups(
    touchpoints: pd.DataFrame | ibis.Table | Workspace | str | Path,
    campaign: str = "winback_offer",
    treated_event: str = "email_sent",
    holdout_event: str = "email_holdout",
    outcome: Mapping[str, Sequence] | None = None,
    value: str = "revenue",
    window_days: float = 30,
    path: str = "customer_id",
) -> pd.DataFrame:
    """The members of a campaign and their outcome: ``touchpoints`` → one row per customer in the campaign.

    A customer is *treated* at their first ``treated_event`` of ``campaign`` and *held out* at their first
    ``holdout_event`` of it (the holdout marker: the send that was deliberately not made). The outcome is
    what happened in the ``window_days`` after that moment (strictly after, up to and including the window's
    end): whether an ``outcome`` row occurred (default :data:`cxlib.attribution.DEFAULT_CONVERSION`: an order
    placed), how many, and their ``value``. Customers found in both groups (an identity merge of two people,
    say) are left out and counted in ``attrs["in_both_groups"]``. The per-customer work runs in the engine.

    Returns ``customer_id, group ('treated' or 'holdout'), sent_ts, converted, conversions, revenue``,
    sorted by customer.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "b", "b", "c"],
    ...     "ts": pd.to_datetime(["2024-03-01", "2024-03-10", "2024-03-01", "2024-05-01", "2024-03-02"]),
    ...     "table_name": ["events", "orders", "events", "orders", "events"],
    ...     "event": ["email_sent", "order", "email_holdout", "order", "email_sent"],
    ...     "campaign": ["winback_offer", None, "winback_offer", None, "newsletter"],
    ...     "status": [None, "completed", None, "completed", None],
    ...     "revenue": [None, 25.0, None, 40.0, None],
    ... })
    >>> campaign_groups(tp)[["customer_id", "group", "converted", "revenue"]].values.tolist()
    [['a', 'treated', True, 25.0], ['b', 'holdout', False, 0.0]]
    """
    t = as_table(touchpoints)
    require_columns(t, [path, "ts", "event", "campaign"], "touchpoints")
    rule = dict(DEFAULT_CONVERSION if outcome is None else outcome)
    in_campaign = t.campaign.fill_null("") == campaign
    sends = t.filter(in_campaign & t.event.isin([treated_event, holdout_event]))
    sends = sends.group_by(sends[path]).aggregate(
        _t=sends.ts.min(where=sends.event == treated_event),
        _h=sends.ts.min(where=sends.event == holdout_event),
    )
    sends = sends.select(
        _p=sends[path],
        group=ibis.cases((sends._h.isnull(), "treated"), (sends._t.isnull(), "holdout"), else_="both"),
        sent_ts=ibis.coalesce(sends._t, sends._h),
    )
    v = t[value].cast("float64") if value in t.columns else ibis.literal(0.0)
    v = ibis.ifelse(v.isnan().fill_null(False), ibis.null("float64"), v).fill_null(0.0)
    hits = t.filter(matches_rule(t, rule)).select(_p=t[path], _ts=t.ts, _v=v)
    j = sends.left_join(hits, "_p")
    dt = j._ts.epoch_seconds() - j.sent_ts.epoch_seconds()
    inside = (dt > 0) & (dt <= int(window_days * DAY))
    agg = j.group_by(["_p", "group", "sent_ts"]).aggregate(
        conversions=inside.fill_null(False).cast("int64").sum(),
        revenue=ibis.ifelse(inside.fill_null(False), j._v, 0.0).sum(),
    )
    df = agg.to_pandas().rename(columns={"_p": path})
    both = int((df["group"] == "both").sum())
    df = df[df["group"] != "both"].copy()
    df["sent_ts"] = pd.to_datetime(df["sent_ts"]).astype("datetime64[us]")
    df["conversions"] = df["conversions"].fillna(0).astype("int64")
    df["revenue"] = df["revenue"].fillna(0.0).astype("float64").round(6)
    df["converted"] = df["conversions"] > 0
    df = df.sort_values(path, ignore_index=True)[[path, "group", "sent_ts", "converted", "conversions", "revenue"]]
    df.attrs["in_both_groups"] = both
    df.attrs["window_days"] = window_days
    return df


def uplift(
    groups: pd.DataFrame,
    outcome: str = "converted",
    value: str | None = "revenue",
    group: str = "group",
    treated: str = "treated",
    holdout: str = "holdout",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Incremental conversion and revenue of a randomised campaign: treated vs holdout, with intervals.

    ``groups`` (one row per customer, e.g. from :func:`campaign_groups`) → one row per metric:

    - ``conversion_rate``: the share of customers with ``outcome`` true; the uplift is the difference of
      proportions with **Newcombe's hybrid score interval** (method 10 of Newcombe, 1998; built from the two
      Wilson intervals, well-behaved for small groups and rates near 0 or 1);
    - ``revenue_per_customer`` (when ``value`` is given): the difference of means with **Welch's normal
      interval** (unequal variances; revenue is skewed, so it needs groups of a few hundred).

    Columns: ``metric, treated_n, holdout_n, treated, holdout, uplift, lower, upper, incremental,
    incremental_lower, incremental_upper, method`` -- ``incremental`` is the uplift times the number treated
    (extra conversions, extra revenue caused by the campaign among the treated). Causal only because the
    holdout was randomised.

    Examples
    --------
    >>> import pandas as pd
    >>> g = pd.DataFrame({"group": ["treated"] * 3 + ["holdout"] * 2, "converted": [1, 1, 0, 1, 0]})
    >>> uplift(g, value=None)[["metric", "uplift"]].round(4).values.tolist()
    [['conversion_rate', 0.1667]]
    """
    need = [group, outcome] + ([value] if value else [])
    missing = [c for c in need if c not in groups.columns]
    if missing:
        raise ValueError(f"groups: missing column(s) {missing}; it has {list(groups.columns)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence}")
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    tr, ho = groups[groups[group] == treated], groups[groups[group] == holdout]
    if len(tr) == 0 or len(ho) == 0:
        raise ValueError(f"groups: need both {treated!r} and {holdout!r} rows; found {len(tr)} and {len(ho)}")
    y1 = tr[outcome].astype(bool).to_numpy()
    y0 = ho[outcome].astype(bool).to_numpy()
    lo, hi = _newcombe(y1.sum(), len(y1), y0.sum(), len(y0), z)
    rows = [
        dict(
            metric="conversion_rate",
            treated=y1.mean(),
            holdout=y0.mean(),
            lower=lo,
            upper=hi,
            method=f"difference of proportions, Newcombe hybrid score {confidence:.0%} interval",
        )
    ]
    if value:
        r1, r0 = tr[value].astype(float).fillna(0).to_numpy(), ho[value].astype(float).fillna(0).to_numpy()
        lo, hi = _welch(r1, r0, z)
        rows.append(
            dict(
                metric="revenue_per_customer",
                treated=r1.mean(),
                holdout=r0.mean(),
                lower=lo,
                upper=hi,
                method=f"difference of means, Welch normal {confidence:.0%} interval",
            )
        )
    out = pd.DataFrame(rows)
    out.insert(1, "treated_n", len(tr))
    out.insert(2, "holdout_n", len(ho))
    out.insert(5, "uplift", out["treated"] - out["holdout"])
    for c, src in (("incremental", "uplift"), ("incremental_lower", "lower"), ("incremental_upper", "upper")):
        out[c] = out[src] * len(tr)
    cols = ["metric", "treated_n", "holdout_n", "treated", "holdout", "uplift", "lower", "upper"]
    return out[cols + ["incremental", "incremental_lower", "incremental_upper", "method"]]



def campaign_uplift(touchpoints: pd.DataFrame | ibis.Table | Workspace | str | Path) -> pd.DataFrame | None:
    """:func:`uplift` of the win-back campaign against its random holdout (:func:`campaign_groups`' defaults),
    or ``None`` when the data has no such campaign (no customer in one of the groups: an orders-only shop).

    Examples
    --------
    >>> import pandas as pd
    >>> orders_only = pd.DataFrame({"customer_id": ["a"], "ts": [pd.Timestamp("2024-01-01")], "table_name": ["orders"],
    ...                             "event": ["order"], "status": ["completed"], "campaign": [None], "revenue": [10.0]})
    >>> campaign_uplift(orders_only) is None
    True
    """
    groups = campaign_groups(touchpoints)  # touchpoints without the columns: an error, not "no campaign"
    try:
        return uplift(groups)
    except ValueError:  # a group is empty: no campaign with a holdout
        return None


#: Fewer customers than this in the treated or the held-out group, or an interval wider than :data:`MAX_WIDTH`,
#: and an interval that includes 0 says the groups are too small, not that the campaign has no effect.
MIN_GROUP = 30
MAX_WIDTH = 0.20


def uplift_verdict(table: pd.DataFrame | None, currency: str = "") -> str:
    """:func:`uplift`'s result in words: did the campaign work, by how much, how sure (its interval).

    "Worked" when the conversion interval lies above 0, "backfired" when below, else "no measurable effect" --
    then the extra conversions among the treated and, when given, the revenue per customer the same way. An
    interval that includes 0 from a group under :data:`MIN_GROUP` customers, or wider than :data:`MAX_WIDTH`,
    says the groups are too small to tell (and how many to hold out to tell 5 points apart), not that the
    campaign has no effect.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"metric": ["conversion_rate"], "treated_n": [1000], "holdout_n": [1000],
    ...                   "treated": [0.12], "holdout": [0.08], "uplift": [0.04], "lower": [0.013], "upper": [0.067],
    ...                   "incremental": [40.0], "incremental_lower": [13.0], "incremental_upper": [67.0]})
    >>> print(uplift_verdict(t))  # doctest: +NORMALIZE_WHITESPACE
    The campaign worked: 12.0% of the 1,000 who got it converted against 8.0% of the 1,000 held out,
    +4.0 points (95% interval +1.3 to +6.7); extra conversions among them +40 (+13 to +67).
    >>> uplift_verdict(None)[:47]
    'No win-back campaign with a random holdout in t'
    """
    if table is None:  # campaign_uplift found no campaign
        return (
            "No win-back campaign with a random holdout in this data (e-mails sent and `email_holdout` events): "
            "nothing to measure."
        )
    rows = table.set_index("metric")
    c = rows.loc["conversion_rate"]
    if pd.isna(c["lower"]) or pd.isna(c["upper"]):  # fewer than 2 customers in a group: no interval
        return (
            f"Too few customers to say whether the campaign worked: {int(c['treated_n']):,} got it and "
            f"{int(c['holdout_n']):,} were held out (at least 2 in each are needed, and far more for a clear answer)."
        )
    small = min(int(c["treated_n"]), int(c["holdout_n"])) < MIN_GROUP or c["upper"] - c["lower"] > MAX_WIDTH
    if c["lower"] > 0:
        head = "The campaign worked"
    elif c["upper"] < 0:
        head = "The campaign backfired"
    elif small:  # "no measurable effect" from 2 held out reads as "it does not work"
        head = "The campaign's effect cannot be told from groups this small"
    else:
        head = "The campaign had no measurable effect"
    text = (
        f"{head}: {c['treated']:.1%} of the {int(c['treated_n']):,} who got it converted against "
        f"{c['holdout']:.1%} of the {int(c['holdout_n']):,} held out, {100 * c['uplift']:+.1f} points (95% interval "
        f"{100 * c['lower']:+.1f} to {100 * c['upper']:+.1f}); extra conversions among them {c['incremental']:+,.0f} "
        f"({c['incremental_lower']:+,.0f} to {c['incremental_upper']:+,.0f})."
    )
    if head.startswith("The campaign's effect cannot"):
        text += f" {_holdout_needed(c)}"
    if "revenue_per_customer" in rows.index and pd.isna(rows.loc["revenue_per_customer", "lower"]):
        text += " Revenue per customer: too few customers in a group to say (at least 2 in each)."
    elif "revenue_per_customer" in rows.index:
        r, unit = rows.loc["revenue_per_customer"], f" {currency}" if currency else ""
        sure = "" if r["lower"] > 0 or r["upper"] < 0 else ", an interval that includes no change"
        text += (
            f" Revenue per customer: {r['uplift']:+,.2f}{unit} ({r['lower']:+,.2f} to {r['upper']:+,.2f}{sure})."
        )
    return text


def _holdout_needed(c: pd.Series) -> str:
    """How many customers in each group would tell a change of 5 points apart (95%, the normal approximation):
    ``n = 2 p (1 - p) (1.96 / 0.05)^2`` at the groups' pooled conversion ``p``."""
    n_t, n_h = int(c["treated_n"]), int(c["holdout_n"])
    p = (c["treated"] * n_t + c["holdout"] * n_h) / max(n_t + n_h, 1)
    p = min(max(p, 0.05), 0.95)  # a rate of 0 or 1 in a tiny group says little about the next group's
    need = int(np.ceil(2 * p * (1 - p) * (1.96 / 0.05) ** 2))
    return (f"To tell a change of 5 points apart, hold out about {need:,} customers and send to as many (here "
            f"{n_h:,} were held out).")


# --- an intervention without a holdout ------------------------------------------------------------------------


def _bucket(x: pd.Series, edges: Sequence[float]) -> pd.Series:
    return pd.Series(np.searchsorted(np.asarray(edges, dtype=float), x.to_numpy(dtype=float), side="right"), x.index)


def before_after(
    touchpoints: pd.DataFrame | ibis.Table | Workspace | str | Path,
    treated: Iterable[str] | pd.DataFrame,
    start: str | pd.Timestamp,
    days: float = 90,
    outcome: Mapping[str, Sequence] | None = None,
    value: str = "revenue",
    path: str = "customer_id",
    confidence: float = 0.95,
    verbose: bool = True,
) -> pd.DataFrame:
    """Before/after against a matched control cohort, for an intervention with no holdout (difference in differences).

    For every customer active (any touchpoint) in the ``days`` before ``start``, count the ``outcome`` rows
    (default: orders placed) and their ``value`` in the ``days`` before and the ``days`` from ``start``. The
    control cohort is every active customer not in ``treated``, matched to the treated by coarsened exact
    matching on the pre-period (conversions 0, 1, 2, 3+; touchpoints 1-5, 6-20, 21+; revenue 0, under 100,
    100-500, over 500; days since the last touchpoint under 30, 30-59, 60+): control customers are reweighted
    so that each stratum carries the treated customers' share. The effect is the treated customers' change
    from before to after minus the matched controls' change, with a normal interval (stratified variance).

    Returns ``metric, treated_n, control_n, treated_before, treated_after, control_before, control_after,
    effect, lower, upper, method`` for ``conversions_per_customer`` and ``revenue_per_customer``;
    ``attrs["caveats"]`` holds :data:`BEFORE_AFTER_CAVEATS` and ``attrs["unmatched_treated"]`` the treated
    customers left out for want of a control. The caveats are printed unless ``verbose=False``. This is not
    randomised evidence: prefer :func:`uplift` with a holdout whenever one can be kept.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["t", "t", "t", "c", "c", "c"],
    ...     "ts": pd.to_datetime(["2024-01-10", "2024-01-20", "2024-02-10"] * 2),
    ...     "table_name": ["events", "orders", "orders", "events", "orders", "events"],
    ...     "status": [None, "completed", "completed", None, "completed", None],
    ...     "revenue": [None, 10.0, 30.0, None, 10.0, None],
    ... })
    >>> ba = before_after(tp, ["t"], "2024-02-01", days=30, verbose=False)
    >>> ba[["metric", "treated_before", "treated_after", "control_after", "effect"]].values.tolist()
    [['conversions_per_customer', 1.0, 1.0, 0.0, 1.0], ['revenue_per_customer', 10.0, 30.0, 0.0, 30.0]]
    """
    t = as_table(touchpoints)
    require_columns(t, [path, "ts"], "touchpoints")
    rule = dict(DEFAULT_CONVERSION if outcome is None else outcome)
    s0 = int(pd.Timestamp(start).timestamp())
    per = _pre_post(t, rule, value, path, s0, int(days * DAY))
    ids = set(treated[path] if isinstance(treated, pd.DataFrame) else treated)
    per["_treated"] = per[path].isin(ids)
    per["_stratum"] = _strata(per, s0)
    tr, co = per[per._treated], per[~per._treated]
    matched = tr[tr._stratum.isin(set(co._stratum))]
    unmatched = len(tr) - len(matched)
    rows = [
        _did_row(metric, b, a, matched, co, confidence)
        for metric, b, a in (
            ("conversions_per_customer", "conv_before", "conv_after"),
            ("revenue_per_customer", "rev_before", "rev_after"),
        )
    ]
    out = pd.DataFrame(rows)
    out.attrs["caveats"] = list(BEFORE_AFTER_CAVEATS)
    out.attrs["unmatched_treated"] = unmatched
    if verbose:
        print(f"before/after without a holdout: {len(matched)} treated customers matched, {unmatched} unmatched.")
        print("Caveats:")
        for c in BEFORE_AFTER_CAVEATS:
            print(f"- {c}")
    return out


def _pre_post(t: ibis.Table, rule: Mapping, value: str, path: str, s0: int, span: int) -> pd.DataFrame:
    """Per customer active in the ``span`` seconds before ``s0``: touches, last touch, outcomes and their value
    before and after (computed in the engine)."""
    sec = t.ts.epoch_seconds()
    pre, post = (sec >= s0 - span) & (sec < s0), (sec >= s0) & (sec < s0 + span)
    is_out = matches_rule(t, rule)
    v = t[value].cast("float64") if value in t.columns else ibis.literal(0.0)
    v = ibis.ifelse(v.isnan().fill_null(False), ibis.null("float64"), v).fill_null(0.0)
    w = t.filter(pre | post).mutate(_pre=pre, _out=is_out, _v=v)
    per = w.group_by(w[path]).aggregate(
        touches_before=w._pre.cast("int64").sum(),
        last_before=ibis.ifelse(w._pre, w.ts.epoch_seconds(), ibis.null("int64")).max(),
        conv_before=(w._pre & w._out).cast("int64").sum(),
        conv_after=(~w._pre & w._out).cast("int64").sum(),
        rev_before=ibis.ifelse(w._pre & w._out, w._v, 0.0).sum(),
        rev_after=ibis.ifelse(~w._pre & w._out, w._v, 0.0).sum(),
    )
    return per.filter(per.touches_before > 0).to_pandas()


def _strata(per: pd.DataFrame, s0: int) -> pd.Series:
    """The coarsened-exact-matching stratum of each customer's pre-period."""
    return (
        _bucket(per.conv_before, [1, 2, 3]).astype(str)
        + "|"
        + _bucket(per.touches_before, [6, 21]).astype(str)
        + "|"
        + _bucket(per.rev_before, [1e-9, 100, 500]).astype(str)
        + "|"
        + _bucket((s0 - per.last_before) / DAY, [30, 60]).astype(str)
    )


def _did_row(metric: str, b: str, a: str, matched: pd.DataFrame, co: pd.DataFrame, confidence: float) -> dict:
    """One metric's difference in differences: matched treated vs the controls reweighted to their strata."""
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    share = matched._stratum.value_counts(normalize=True)
    diff_t = (matched[a] - matched[b]).astype(float)
    cs = co[co._stratum.isin(share.index)]
    g = (cs[a] - cs[b]).astype(float).groupby(cs._stratum)
    mean_c = (g.mean() * share).sum() if len(share) else np.nan
    var_c = (share**2 * g.var(ddof=1).fillna(0) / g.size()).sum() if len(share) else np.nan
    var_t = diff_t.var(ddof=1) / len(diff_t) if len(diff_t) > 1 else 0.0
    effect = diff_t.mean() - mean_c if len(diff_t) else np.nan
    se = np.sqrt(var_t + var_c)

    def weighted(col: str) -> float:
        return float((cs.groupby("_stratum")[col].mean() * share).sum()) if len(share) else np.nan

    return dict(
        metric=metric,
        treated_n=len(matched),
        control_n=len(cs),
        treated_before=float(matched[b].mean()) if len(matched) else np.nan,
        treated_after=float(matched[a].mean()) if len(matched) else np.nan,
        control_before=weighted(b),
        control_after=weighted(a),
        effect=effect,
        lower=effect - z * se,
        upper=effect + z * se,
        method=f"difference in differences vs coarsened-exact-matched control, normal {confidence:.0%} "
        "interval; not randomised (see attrs['caveats'])",
    )
