"""Measured impact: published interval values, campaign groups by hand, the planted win-back uplift recovered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import impact, synth
from cxlib.impact import _newcombe, _wilson

Z95 = 1.959964

# --- intervals ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2", "lower", "upper"),
    [  # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
    ],
)
def test_newcombe_matches_the_published_values(k1, n1, k2, n2, lower, upper):
    lo, hi = _newcombe(k1, n1, k2, n2, Z95)
    assert (round(lo, 4), round(hi, 4)) == (lower, upper)


def test_wilson_matches_the_published_values():
    # Newcombe (1998), Statistics in Medicine 17:857-872, Table I: 81/263 and 15/148
    assert tuple(round(x, 4) for x in _wilson(81, 263, Z95)) == (0.2553, 0.3662)
    assert tuple(round(x, 4) for x in _wilson(15, 148, Z95)) == (0.0624, 0.1605)


def test_uplift_by_hand():
    g = pd.DataFrame(
        {
            "group": ["treated"] * 4 + ["holdout"] * 4,
            "converted": [1, 1, 1, 0, 1, 0, 0, 0],
            "revenue": [10.0, 20.0, 30.0, 0.0, 10.0, 0.0, 0.0, 0.0],
        }
    )
    u = impact.uplift(g).set_index("metric")
    assert u.loc["conversion_rate", ["treated", "holdout", "uplift"]].tolist() == [0.75, 0.25, 0.5]
    assert u.loc["conversion_rate", "incremental"] == 2.0  # 0.5 x 4 treated
    assert u.loc["revenue_per_customer", "uplift"] == 12.5  # 15 - 2.5
    # Welch: var 166.67/4 + 25/4 = 47.92 -> se 6.922
    se = np.sqrt(np.var([10, 20, 30, 0], ddof=1) / 4 + np.var([10, 0, 0, 0], ddof=1) / 4)
    assert u.loc["revenue_per_customer", "upper"] == pytest.approx(12.5 + Z95 * se, abs=1e-5)
    assert set(u["treated_n"]) == {4} and set(u["holdout_n"]) == {4}


def test_the_uplift_verdict_says_in_words_what_the_interval_says():
    """Worked (interval above 0), backfired (below), no measurable effect (across 0), too small to tell (across 0
    from a small group); revenue likewise."""
    g = pd.DataFrame({"group": ["treated"] * 400 + ["holdout"] * 400,
                      "converted": [1] * 120 + [0] * 280 + [1] * 40 + [0] * 360, "revenue": [10.0] * 800})  # fmt: skip
    said = impact.uplift_verdict(impact.uplift(g), "EUR")
    assert said.startswith("The campaign worked: 30.0% of the 400 who got it converted against 10.0% of the 400")
    assert "+20.0 points" in said and "extra conversions among them +80" in said
    assert "Revenue per customer: +0.00 EUR" in said and "includes no change" in said
    flipped = g.assign(group=g["group"].map({"treated": "holdout", "holdout": "treated"}))
    assert impact.uplift_verdict(impact.uplift(flipped, value=None)).startswith("The campaign backfired")
    even = g.assign(converted=[1, 0] * 400)
    assert impact.uplift_verdict(impact.uplift(even, value=None)).startswith("The campaign had no measurable effect")
    # 2 held out: an interval across 0 from groups this small is not "no effect" (the strategy page said so)
    few = pd.DataFrame({"group": ["treated"] * 21 + ["holdout"] * 2, "converted": [1] * 3 + [0] * 18 + [1, 0]})
    said = impact.uplift_verdict(impact.uplift(few, value=None))
    assert said.startswith("The campaign's effect cannot be told from groups this small: 14.3% of the 21")
    assert "hold out about" in said and "(here 2 were held out)" in said and "no measurable" not in said
    one = pd.DataFrame({"group": ["treated", "holdout"], "converted": [1, 0], "revenue": [5.0, 0.0]})
    said = impact.uplift_verdict(impact.uplift(one))  # one customer a group: no revenue interval, no "nan"
    assert "Revenue per customer: too few customers in a group to say" in said and "nan" not in said


def test_uplift_rejects_bad_input():
    with pytest.raises(ValueError, match="missing column"):
        impact.uplift(pd.DataFrame({"group": ["treated"]}))
    with pytest.raises(ValueError, match="holdout"):
        impact.uplift(pd.DataFrame({"group": ["treated"], "converted": [True]}), value=None)


# --- campaign groups ------------------------------------------------------------------------------------------


def _tp(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, ts, table_name, record_key, event, campaign, status, revenue) rows."""
    cols = ["customer_id", "ts", "table_name", "record_key", "event", "campaign", "status", "revenue"]
    df = pd.DataFrame(rows, columns=cols)
    df["ts"] = pd.to_datetime(df["ts"], format="ISO8601")
    df["source"] = "src"
    df["revenue"] = df["revenue"].astype("float64")
    return df


CAMPAIGN = _tp(
    [
        # a: treated 03-01; an order at the send's own second does not count, one on day 30 does (20)
        ("a", "2024-03-01", "events", "e1", "email_sent", "winback_offer", None, None),
        ("a", "2024-03-01", "orders", "o1", "order", None, "completed", 99.0),
        ("a", "2024-03-31", "orders", "o2", "order", None, "completed", 20.0),
        ("a", "2024-04-01", "orders", "o3", "order", None, "completed", 50.0),  # day 31: outside
        # b: held out; a returned order counts as a conversion worth 0
        ("b", "2024-03-02", "events", "e2", "email_holdout", "winback_offer", None, None),
        ("b", "2024-03-05", "orders", "o4", "order", None, "returned", 0.0),
        # c: two sends, the first counts; a cancelled order is no conversion
        ("c", "2024-03-03", "events", "e3", "email_sent", "winback_offer", None, None),
        ("c", "2024-03-20", "events", "e4", "email_sent", "winback_offer", None, None),
        ("c", "2024-03-10", "orders", "o5", "order", None, "cancelled", 0.0),
        # d: in both groups (two people merged): left out
        ("d", "2024-03-01", "events", "e5", "email_sent", "winback_offer", None, None),
        ("d", "2024-03-01", "events", "e6", "email_holdout", "winback_offer", None, None),
        # e: another campaign's email: not a member
        ("e", "2024-03-01", "events", "e7", "email_sent", "newsletter", None, None),
        ("e", "2024-03-02", "orders", "o6", "order", None, "completed", 10.0),
    ]
)


def test_campaign_groups_by_hand():
    g = impact.campaign_groups(CAMPAIGN)
    assert g.drop(columns="sent_ts").to_dict("records") == [
        {"customer_id": "a", "group": "treated", "converted": True, "conversions": 1, "revenue": 20.0},
        {"customer_id": "b", "group": "holdout", "converted": True, "conversions": 1, "revenue": 0.0},
        {"customer_id": "c", "group": "treated", "converted": False, "conversions": 0, "revenue": 0.0},
    ]
    assert g.sent_ts.tolist() == list(pd.to_datetime(["2024-03-01", "2024-03-02", "2024-03-03"]))
    assert g.attrs["in_both_groups"] == 1
    assert impact.campaign_groups(CAMPAIGN, window_days=31).revenue.tolist() == [70.0, 0.0, 0.0]


def test_campaign_groups_are_deterministic_and_ignore_row_order():
    expected = impact.campaign_groups(CAMPAIGN)
    for seed in range(3):
        shuffled = CAMPAIGN.sample(frac=1, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(impact.campaign_groups(shuffled), expected)


# --- the planted win-back campaign ----------------------------------------------------------------------------
#
# The generator randomises customers at risk in months 12-14 once: 80% get the 'winback_offer' email, 20% are
# held out, and the offer adds 0.15 to that month's at_risk -> repeat probability (cxlib.synth, _add_to: the
# extra 0.15 is taken proportionally from the row's other destinations). The estimand that maps one to one onto
# it: P(stage is repeat in the month after the send | treated) - P(same | held out). Its true value is 0.15 in
# expectation, by construction (no persona's at_risk -> repeat probability exceeds 0.85). The groups come from
# the observable data (the campaign's send and holdout events, each row's true person from the record map); the
# outcome comes from the truth's stage panel, because the generator's stage is not itself observable.


def _person_touchpoints(company: synth.SyntheticCompany) -> pd.DataFrame:
    """The campaign's events and all orders as touchpoints whose customer is the true person."""
    rm = company.truth.record_map.dropna(subset=["record_key"])[["table_name", "source", "record_key", "person_id"]]
    ev = company.tables["events"]
    ev = ev[(ev.campaign == "winback_offer") & ev.event_id.notna()]
    ev = ev.merge(rm[rm.table_name == "events"], left_on=["source", "event_id"], right_on=["source", "record_key"])
    ev = ev.assign(status=None, revenue=np.nan)
    od = company.tables["orders"].dropna(subset=["order_id"])
    od = od.merge(rm[rm.table_name == "orders"], left_on=["source", "order_id"], right_on=["source", "record_key"])
    od = od.assign(
        event="order",
        campaign=None,
        revenue=np.where(od.status == "completed", od.amount, 0.0),
        ts=pd.to_datetime(od.ts, format="ISO8601", utc=True).dt.tz_localize(None),
    )
    cols = ["person_id", "ts", "table_name", "source", "record_key", "event", "campaign", "status", "revenue"]
    out = pd.concat([ev[cols], od[cols]], ignore_index=True).rename(columns={"person_id": "customer_id"})
    out["revenue"] = pd.to_numeric(out["revenue"]).astype("float64")
    out["ts"] = out["ts"].astype("datetime64[us]")
    return out


def _repeat_next_month(groups: pd.DataFrame, truth: synth.Truth) -> pd.DataFrame:
    """Add the truth's outcome: the person's stage in the calendar month after the send is ``repeat``."""
    sh = truth.stage_history[["person_id", "month", "stage"]].copy()
    sh["month"] = sh["month"].astype("datetime64[us]")
    month = groups.sent_ts.dt.to_period("M").dt.start_time.astype("datetime64[us]")
    keys = pd.DataFrame({"person_id": groups.customer_id, "month": month})
    at_send = keys.merge(sh, on=["person_id", "month"], how="left")["stage"]
    nxt = keys.assign(month=(month + pd.DateOffset(months=1)).astype("datetime64[us]"))
    after = nxt.merge(sh, on=["person_id", "month"], how="left")["stage"]
    return groups.assign(stage_at_send=at_send.astype(str).to_numpy(), repeat_next_month=(after == "repeat").to_numpy())


def _recovery(company: synth.SyntheticCompany) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups = _repeat_next_month(impact.campaign_groups(_person_touchpoints(company)), company.truth)
    return groups, impact.uplift(groups, outcome="repeat_next_month", value=None)


def test_uplift_recovers_the_planted_winback_effect(company):
    planted = company.truth.planted["winback_campaign"]
    groups, u = _recovery(company)
    counts = groups.group.value_counts()
    # every member found (a send whose event_id the loader would quarantine can be missing)
    assert planted["treated"] - 3 <= counts["treated"] <= planted["treated"]
    assert planted["holdout"] - 3 <= counts["holdout"] <= planted["holdout"]
    assert (groups.stage_at_send == "at_risk").all()
    row = u.iloc[0]
    assert row.lower <= planted["true_uplift_at_risk_to_repeat"] <= row.upper
    # the realised effect on these treated customers (the generator's common-random-number counterfactual)
    assert row.lower <= planted["realised_extra_recoveries"] / planted["treated"] <= row.upper


@pytest.fixture(scope="module")
def big_company() -> synth.SyntheticCompany:
    """25,000 people (generated in memory in about 8 s on 2 cores): about 1,000 treated and 270 held out."""
    return synth.generate(n_customers=25_000, seed=11, months=24)


@pytest.mark.slow
def test_uplift_recovers_the_planted_winback_effect_on_a_larger_company(big_company):
    # 4,000 people give about 180 treated and 40 held out: an interval +-0.14 wide; 25,000 give +-0.06.
    big = big_company
    planted = big.truth.planted["winback_campaign"]
    groups, u = _recovery(big)
    row = u.iloc[0]
    assert row.treated_n >= 900 and row.holdout_n >= 200
    assert row.lower <= planted["true_uplift_at_risk_to_repeat"] <= row.upper
    assert row.upper - row.lower < 0.15
    assert row.lower > 0  # the offer works, and the interval says so


# An observable outcome as well: did the customer place an order (completed or returned) in the calendar month
# after the send? Its true effect follows from the generator's mechanism, not from the data: the offer moves
# 0.15 of next month's probability to `repeat` (from at_risk and churned, proportionally), and a month's orders
# are min(Poisson(rate), 3) with rate = the persona's order rate in a customer stage, a fifth of it at risk and
# none once churned; each order is cancelled with probability 0.02. Averaged over the members' personas.


def _true_next_month_order_uplift(company: synth.SyntheticCompany, members: pd.Series) -> float:
    from scipy import stats

    from cxlib.synth import _CUSTOMER_STAGES, _PERSONA_SPECS, _WINBACK_UPLIFT, PERSONAS, STAGES, _add_to

    T = synth.transition_matrices()
    risk, rep = STAGES.index("at_risk"), STAGES.index("repeat")
    effect = {}
    for i, name in enumerate(PERSONAS):
        rate = _PERSONA_SPECS[name]["order_rate"]
        q = np.zeros(len(STAGES))
        for j in range(len(STAGES)):
            lam = rate if j in _CUSTOMER_STAGES else rate * 0.2 if j == risk else 0.0
            if lam > 0:  # P(at least one of min(K, 3) orders is not cancelled)
                pk = [stats.poisson.pmf(k, lam) for k in range(3)] + [stats.poisson.sf(2, lam)]
                q[j] = 1 - sum(p * 0.02**k for k, p in enumerate(pk))
        base = T[i, risk]
        effect[name] = float((_add_to(base[None, :], rep, _WINBACK_UPLIFT)[0] - base) @ q)
    personas = company.truth.people.set_index("person_id").loc[members, "persona"]
    return float(personas.map(effect).mean())


def _ordered_next_month(groups: pd.DataFrame, tp: pd.DataFrame) -> pd.DataFrame:
    od = tp[(tp.table_name == "orders") & tp.status.isin(["completed", "returned"])]
    months = pd.MultiIndex.from_arrays([od.customer_id, od.ts.dt.to_period("M")])
    target = pd.MultiIndex.from_arrays([groups.customer_id, groups.sent_ts.dt.to_period("M") + 1])
    return groups.assign(ordered_next_month=target.isin(months))


@pytest.mark.slow
def test_uplift_recovers_the_true_effect_on_next_month_orders(big_company):
    # The effect on orders is smaller (about 0.05) than on the stage: the interval is wide and includes 0 too.
    big = big_company
    tp = _person_touchpoints(big)
    groups = _ordered_next_month(impact.campaign_groups(tp), tp)
    truth = _true_next_month_order_uplift(big, groups.customer_id)
    assert 0.03 < truth < 0.08
    row = impact.uplift(groups, outcome="ordered_next_month", value=None).iloc[0]
    assert row.lower <= truth <= row.upper


def test_campaign_groups_on_the_unified_workspace(workspace, company):
    planted = company.truth.planted["winback_campaign"]
    with cxlib.connect(workspace, read_only=True) as ws:
        g = impact.campaign_groups(ws.table("touchpoints"), window_days=60)
    counts = g.group.value_counts()
    # identity resolution can split a person (one send each side) or merge two: allow a few either way
    assert abs(counts["treated"] - planted["treated"]) <= 0.05 * planted["treated"]
    assert abs(counts["holdout"] - planted["holdout"]) <= 0.1 * planted["holdout"] + 2
    u = impact.uplift(g)
    assert u.metric.tolist() == ["conversion_rate", "revenue_per_customer"]
    assert (u.lower <= u.uplift).all() and (u.uplift <= u.upper).all()


def test_campaign_groups_engine_parity(engine, engine_workspace):
    with cxlib.connect(engine_workspace, read_only=True) as ws:
        expected = impact.campaign_groups(ws.table("touchpoints"))
    got = impact.campaign_groups(engine.table("touchpoints"))
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


# --- before/after without a holdout ----------------------------------------------------------------------------


def test_before_after_by_hand(capsys):
    # t1, t2 treated; c1, c2 controls in t1's stratum (1 order before, 1-5 touches, revenue 1-100); c3 in none.
    rows = []
    for cid, before, after in [("t1", 1, 2), ("c1", 1, 1), ("c2", 1, 0), ("c3", 0, 0), ("t2", 3, 3)]:
        rows.append((cid, "2024-01-05", "events", f"{cid}-e", "page_view", None, None, None))
        rows += [(cid, "2024-01-10", "orders", f"{cid}-b{i}", "order", None, "completed", 10.0) for i in range(before)]
        rows += [(cid, "2024-02-10", "orders", f"{cid}-a{i}", "order", None, "completed", 10.0) for i in range(after)]
    ba = impact.before_after(_tp(rows), ["t1", "t2"], "2024-02-01", days=30)
    out = capsys.readouterr().out
    assert "Caveats" in out and "Parallel trends" in out
    conv = ba.set_index("metric").loc["conversions_per_customer"]
    # t2 (3 orders before) has no control in its stratum: left out
    assert (conv.treated_n, conv.control_n, ba.attrs["unmatched_treated"]) == (1, 2, 1)
    # t1: +1; matched controls: (0 + -1) / 2 = -0.5; effect 1.5
    assert conv.effect == pytest.approx(1.5)
    assert conv.control_before == 1.0 and conv.control_after == 0.5
    assert ba.set_index("metric").loc["revenue_per_customer", "effect"] == pytest.approx(15.0)
    assert ba.attrs["caveats"] == list(impact.BEFORE_AFTER_CAVEATS)
    impact.before_after(_tp(rows), ["t1"], "2024-02-01", days=30, verbose=False)
    assert capsys.readouterr().out == ""


def test_before_after_on_the_workspace(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = ws.table("touchpoints")
        g = impact.campaign_groups(tp)
        start = g.sent_ts.min().normalize()
        ba = impact.before_after(tp, g[g.group == "treated"], start, days=60, verbose=False)
    assert ba.metric.tolist() == ["conversions_per_customer", "revenue_per_customer"]
    assert (ba.treated_n > 0).all() and (ba.control_n > ba.treated_n).all()
    assert np.isfinite(ba[["effect", "lower", "upper"]].to_numpy()).all()
    assert "not randomised" in ba.method.iloc[0]
