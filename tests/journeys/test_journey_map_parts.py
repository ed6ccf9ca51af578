"""The journey map of a group of customers drawn from parts computed once equals the map computed from the rows."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from cxlib import journeys as j


@pytest.fixture(scope="module")
def with_groups(workspace):
    """The staged touchpoints of the small company with a ``persona`` in 0..3 by customer, null for some."""
    staged = j.staged_touchpoints(workspace)
    bucket = staged.customer_id.hash().abs() % 5
    staged = staged.mutate(persona=ibis.ifelse(bucket == 4, ibis.null("int64"), bucket.cast("int64")))
    return staged.cache()


@pytest.mark.parametrize("values", [None, [0], [1, 2], [0, 1, 2, 3], [3]])
def test_the_map_from_parts_equals_the_map_from_rows(with_groups, values):
    parts = j.journey_map_parts(with_groups)
    got = j.journey_map_of(parts, values)
    assert got is not None
    want = j.journey_map(with_groups, filters={} if values is None else {"persona": values})
    pd.testing.assert_frame_equal(got, want)


def test_a_group_judged_at_its_own_last_touchpoint():
    """Judged at the group's last ts (Mar 2: d is 57 days quiet), not everyone's (Mar 31: 86 days, at_risk)."""
    tp = pd.DataFrame(
        {
            "customer_id": ["d", "b", "c"],
            "event": ["purchase", "product_view", "product_view"],
            "ts": pd.to_datetime(["2024-01-05", "2024-03-02", "2024-03-31"]),
            "persona": [1, 1, 2],
        }
    )
    parts = j.journey_map_parts(tp)
    for values in ([1], [2], [1, 2], None):
        want = j.journey_map(tp, filters={} if values is None else {"persona": values})
        pd.testing.assert_frame_equal(j.journey_map_of(parts, values), want)


def test_a_group_that_ends_in_an_earlier_month_is_not_drawn_from_parts():
    tp = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "event": ["product_view", "product_view"],
            "ts": pd.to_datetime(["2024-01-20", "2024-03-31"]),
            "persona": [1, 2],
        }
    )
    parts = j.journey_map_parts(tp)
    assert j.journey_map_of(parts, [1]) is None
    assert j.journey_map_of(parts, [7]) is None  # nobody chosen
    pd.testing.assert_frame_equal(j.journey_map_of(parts, [2]), j.journey_map(tp, filters={"persona": [2]}))
