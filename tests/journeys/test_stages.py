"""Stages: the rules on hand-made customers, the stage map, and the views over time."""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib import journeys as j
from cxlib.journeys.figures import STAGE_COLORS
from cxlib.schema import DataError
from tests.journeys.paths import _ev


def test_stage_rules_on_a_hand_made_customer():
    tp = pd.DataFrame(
        {
            "customer_id": ["a"] * 8,
            "ts": pd.to_datetime(
                [
                    "2024-01-01",  # ad click
                    "2024-01-02",  # product view
                    "2024-01-03",  # page view: buyer stage never moves back
                    "2024-01-04",  # first purchase
                    "2024-01-10",  # within 30 days
                    "2024-03-01",  # later
                    "2024-03-02",  # referral
                    "2024-12-01",  # back after a long gap
                ]
            ),
            "event": ["ad_click", "product_view", "page_view", "order", "app_open", "page_view", "referral", "order"],
            "table_name": ["events", "events", "events", "orders", "events", "events", "events", "orders"],
            "status": [None, None, None, "completed", None, None, None, "completed"],
        }
    )
    got = j.assign_stages(tp).to_pandas().sort_values("ts")["stage"].tolist()
    assert got == [
        "awareness",
        "consideration",
        "consideration",
        "purchase",
        "onboarding",
        "repeat",
        "advocate",
        "win_back",
    ]


def test_outbound_touches_do_not_keep_a_customer_active():
    tp = _ev([("a", "2024-01-01", "purchase"), ("a", "2024-03-15", "email_sent"), ("a", "2024-06-01", "email_sent")])
    got = j.assign_stages(tp).to_pandas().sort_values("ts")["stage"].tolist()
    assert got == ["purchase", "at_risk", "churned"]


def test_stage_map_from_yaml_and_clear_errors(tmp_path):
    p = tmp_path / "stage_map.yml"
    p.write_text("inactivity:\n  at_risk_days: 10\n")
    assert j.StageMap.from_any(p).inactivity["at_risk_days"] == 10
    with pytest.raises(DataError, match="unknown key"):
        j.StageMap.from_any({"stages": []})
    with pytest.raises(DataError, match="customer journey has"):
        j.StageMap.from_any({"customer": [{"stage": "awareness"}]})
    with pytest.raises(DataError, match="missing column"):
        j.transitions(pd.DataFrame({"customer_id": ["a"], "ts": [pd.Timestamp("2024-01-01")]}))


def test_stage_counts_agree_with_current_stage(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = j.analysis_touchpoints(ws)
        counts = j.stage_counts(tp)
        hist = j.stage_history(tp).to_pandas()
        now = j.current_stage(tp)
    assert counts.iloc[-1].sum() == len(now) == now["customer_id"].nunique()
    assert (counts.sum(axis=1).diff().dropna() >= 0).all()  # nobody leaves the panel
    # the panel's last month is the stage now, except that the month of a first purchase reads "purchase"
    last = hist[hist["month"] == hist["month"].max()].set_index("customer_id")["stage"]
    now = now.set_index("customer_id")["stage"]
    same = last[last != "purchase"]
    assert (same == now[same.index]).all()
    assert now[last[last == "purchase"].index].isin(["onboarding", "repeat", "advocate"]).all()
    fig = j.stage_counts_figure(counts)
    assert len(fig.data) == len(j.STAGES)
    # the legend in words, each stage in the colour it has in the Sankey
    assert [t.name for t in fig.data] == [j.stage_label(s) for s in counts.columns]
    assert [t.line.color for t in fig.data] == [STAGE_COLORS[s] for s in counts.columns]


def test_a_purchase_still_to_come_does_not_turn_a_quiet_prospect_into_a_customer():
    """A prospect quiet for months who buys later is a prospect until then (lost after 120 days), not at risk or
    churned: the stages up to a month are those the data up to that month gives (what a backtest cut there
    must see), row by row and month by month."""
    tp = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a"],
            "event": ["product_view", "email_sent", "purchase"],
            "ts": pd.to_datetime(["2024-01-10", "2024-04-20", "2024-08-02"]),
        }
    )
    months = j.stage_history(tp, end="2024-08-31").to_pandas().sort_values("month")["stage"].tolist()
    assert months == ["consideration"] * 4 + ["lost"] * 3 + ["purchase"]
    before = j.stage_history(tp.head(2), end="2024-07-31").to_pandas().sort_values("month")["stage"].tolist()
    assert before == months[:-1]
    rows = j.assign_stages(tp).to_pandas().sort_values("ts")["stage"].tolist()
    assert rows[:2] == j.assign_stages(tp.head(2)).to_pandas().sort_values("ts")["stage"].tolist()
    assert rows[1] != "at_risk"


def test_after_gap_rules_any_number_of_them():
    """The ``after_gap_days`` moments (a second window over each path): none, the default one, and two -- the first
    that matches wins, each with its own row condition and span."""
    tp = pd.DataFrame(
        {
            "customer_id": ["a"] * 6,
            "ts": pd.to_datetime(
                [
                    "2024-01-01",  # first purchase
                    "2024-01-05",  # within 30 days of it
                    "2024-06-01",  # back after 148 days
                    "2024-07-01",  # 30 days into the win-back
                    "2024-10-15",  # 106 days after the last touch, 136 after the moment: neither
                    "2025-12-01",  # a referral after 412 days
                ]
            ),
            "event": ["order", "page_view", "page_view", "page_view", "page_view", "referral"],
            "table_name": ["orders", "events", "events", "events", "events", "events"],
            "status": ["completed", None, None, None, None, None],
        }
    )
    default = j.StageMap.from_any(None).customer
    win_back = [r for r in default if "after_gap_days" in r]
    referral_back = {"stage": "advocate", "event": ["referral"], "after_gap_days": 300, "for_days": 30}

    def stages(customer: list[dict]) -> list[str]:
        sm = j.StageMap.from_any({"customer": customer})
        return j.assign_stages(tp, sm).to_pandas().sort_values("ts")["stage"].tolist()

    assert stages(default) == ["purchase", "onboarding", "win_back", "win_back", "repeat", "win_back"]
    assert stages([referral_back, *default]) == ["purchase", "onboarding", "win_back", "win_back", "repeat", "advocate"]
    without = [r for r in default if r not in win_back]
    assert stages(without) == ["purchase", "onboarding", "repeat", "repeat", "repeat", "advocate"]
