"""Funnels: counts, order and conversion windows on hand-made paths."""

from __future__ import annotations

import pytest

from cxlib import journeys as j
from tests.journeys.paths import PATHS, _ev


def test_funnel_counts_order_and_windows():
    f = j.funnel(PATHS, ["view", "cart", "buy"])
    assert f["customers"].tolist() == [2, 1, 1]
    assert f.loc[0, "dropped_to"] == "view (1)"  # b went view -> view (then help)
    assert f.loc[1, "median_days_from_previous"] == pytest.approx(1.0)
    # c enters at cart and buys 60 days later: a 30-day window drops it
    f2 = j.funnel(PATHS, ["cart", "buy"], within="30D")
    assert f2["customers"].tolist() == [2, 1]
    assert j.funnel(PATHS, ["cart", "buy"])["customers"].tolist() == [2, 2]
    # a step must come after the previous one: buy before cart never counts
    ev = _ev([("d", "2024-01-01", "buy"), ("d", "2024-01-02", "cart")])
    assert j.funnel(ev, ["cart", "buy"])["customers"].tolist() == [1, 0]
