"""Events that share a timestamp: ``sequence`` orders them; without it the key does, and funnels never depend on it.

GA4 writes many events of one user in the same microsecond (a page load's ``session_start``, ``first_visit``
and ``page_view``). Hand-made case: customer ``a`` views, adds to cart and checks out at the same moment;
``sequence`` says the order the app recorded; the keys (``record_key``) are in the opposite order.
"""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from cxlib import journeys as j

T0 = pd.Timestamp("2024-05-01 10:00:00.123456")


def _same_moment(keys: list[str], sequence: list[int] | None) -> pd.DataFrame:
    df = pd.DataFrame(
        {
            "customer_id": ["a"] * 4,
            "ts": [T0, T0, T0, T0 + pd.Timedelta(days=1)],
            "table_name": "events",
            "source": "ga4",
            "record_key": keys,
            "event": ["product_view", "add_to_cart", "checkout_start", "purchase"],
            "channel": "web",
        }
    )
    if sequence is not None:
        df["sequence"] = pd.array(sequence, dtype="Int64")
    return df


def _pairs(ev: pd.DataFrame) -> set[tuple[str, str]]:
    tr = j.transitions(ev)
    pairs = set(map(tuple, tr[["source", "target"]].values.tolist()))
    return {p for p in pairs if "path_start" not in p and "path_end" not in p}


def test_sequence_orders_events_that_share_a_timestamp():
    ev = _same_moment(["k3", "k2", "k1", "k4"], sequence=[1, 2, 3, 4])  # keys say the opposite
    got = _pairs(ev)
    assert got == {("product_view", "add_to_cart"), ("add_to_cart", "checkout_start"), ("checkout_start", "purchase")}
    # without sequence the documented key decides (k1 < k2 < k3): the reverse order
    got2 = _pairs(ev.drop(columns="sequence"))
    assert ("checkout_start", "add_to_cart") in got2 and ("product_view", "purchase") in got2


def test_rows_without_sequence_come_after_rows_with_one():
    ev = _same_moment(["k1", "k2", "k3", "k4"], sequence=[2, None, 1, 5])
    got = _pairs(ev)
    # checkout_start (1) -> product_view (2) -> add_to_cart (no sequence) -> purchase (next day)
    assert got == {("checkout_start", "product_view"), ("product_view", "add_to_cart"), ("add_to_cart", "purchase")}


@pytest.mark.parametrize("keys", [list(p) + ["k4"] for p in itertools.permutations(["k1", "k2", "k3"])])
def test_funnel_counts_simultaneous_steps_in_either_order(keys):
    """Whatever key the three simultaneous events get, the funnel counts all four steps."""
    ev = _same_moment(keys, sequence=None)
    f = j.funnel(ev, ["product_view", "add_to_cart", "checkout_start", "purchase"])
    assert f["customers"].tolist() == [1, 1, 1, 1]
    assert f["median_days_from_previous"].tolist()[1:] == pytest.approx([0.0, 0.0, 1.0])


def test_a_later_step_still_needs_a_later_or_simultaneous_event():
    ev = _same_moment(["k1", "k2", "k3", "k4"], sequence=None)
    ev.loc[ev.event == "add_to_cart", "ts"] = T0 - pd.Timedelta(seconds=1)  # strictly before the view
    f = j.funnel(ev, ["product_view", "add_to_cart", "checkout_start"])
    assert f["customers"].tolist() == [1, 0, 0]


def test_a_repeated_step_name_never_counts_one_event_twice():
    ev = pd.DataFrame(
        {"customer_id": ["a", "a"], "ts": [T0, T0], "record_key": ["k1", "k2"], "event": ["page_view", "login"]}
    )
    f = j.funnel(ev, ["page_view", "login", "page_view"])
    assert f["customers"].tolist() == [1, 1, 0]
    ev2 = pd.concat([ev, ev.assign(record_key="k3", event="page_view").head(1)], ignore_index=True)
    assert j.funnel(ev2, ["page_view", "login", "page_view"])["customers"].tolist() == [1, 1, 1]
