"""The journey map, the step Sankey and the funnel of some personas, drawn from what was computed once (parts,
counts, kept places), equal those computed from the rows."""

from __future__ import annotations

import importlib

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
    # judged once when the parts are made, at each group's last ts: d is the one judged otherwise on Mar 2
    assert parts["judged_at"].to_pandas()[["customer_id", "stage"]].values.tolist() == [["d", "repeat"]]
    for values in ([1], [2], [1, 2], None):
        want = j.journey_map(tp, filters={} if values is None else {"persona": values})
        pd.testing.assert_frame_equal(j.journey_map_of(parts, values), want)


@pytest.mark.parametrize("offset", ["-1s", "-0.4s", "0s", "0.6s", "1s"])
def test_a_customer_crossing_a_quiet_days_threshold_between_two_groups_last_touchpoints(offset):
    """d's last purchase 60 days (give or take a second) before group 1's last touchpoint, an hour before
    group 2's: judged by each group's own last moment, to the second, as from the rows."""
    hi = pd.Timestamp("2024-03-30 12:00:00.250")
    tp = pd.DataFrame(
        {
            "customer_id": ["d", "b", "c"],
            "event": ["purchase", "product_view", "product_view"],
            "ts": [hi - pd.Timedelta(days=60) + pd.Timedelta(offset), hi, hi + pd.Timedelta(hours=1)],
            "persona": [1, 1, 2],
        }
    )
    parts = j.journey_map_parts(tp)
    for values in ([1], [2], [1, 2]):
        want = j.journey_map(tp, filters={"persona": values})
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


# each choice of personas and each step count once (paired, not crossed: each case costs a window pass over
# the rows, and the counts are drawn the same way whatever the pair)
@pytest.mark.parametrize(("values", "max_steps"), [([0], 3), ([1, 2], 5), ([0, 1, 2, 3], 8), ([0, 1, 2, 3], 3)])
def test_the_sankey_from_counts_equals_the_sankey_from_rows(with_groups, values, max_steps):
    parts = j.sankey_parts(with_groups)
    args = dict(on="stage", collapse=True, max_steps=max_steps, filters={"persona": values})
    got = j.sankey_links_of(parts, **args)
    assert got is not None
    pd.testing.assert_frame_equal(got, j.sankey_links(with_groups, **args))
    assert j.sankey_links_of(parts, **{**args, "top_n": 3}).equals(j.sankey_links(with_groups, **args, top_n=3))


@pytest.mark.parametrize(("values", "max_steps", "top_n"), [(None, 8, 3), ([0], 3, 8), ([1, 2], 5, 8)])  # paired
def test_the_customers_behind_a_link_from_kept_steps_equal_those_from_rows(with_groups, values, max_steps, top_n):
    """Every node and link of the Sankey (``other``, ``left``, ``start`` too): the same customers, and as many as
    its value."""
    parts = j.sankey_parts(with_groups)
    args = dict(on="stage", collapse=True, max_steps=max_steps, top_n=top_n,
                filters={} if values is None else {"persona": values})  # fmt: skip
    choices = j.sankey_choices(j.sankey_links(with_groups, **args))
    assert len(choices) > 5
    for pick in _every_kind(choices)["args"]:
        got = j.sankey_customers_of(parts, **pick, **args)
        assert got is not None
        pd.testing.assert_frame_equal(got, j.sankey_customers(with_groups, **pick, **args))


def _every_kind(choices: pd.DataFrame) -> pd.DataFrame:
    """Each kind of node and link the figure draws, not all of them (each from rows costs a window pass): the
    largest node and link of each step, the smallest of each kind, the first that is or goes to ``other`` and
    ``left``."""
    by_size = choices.sort_values(["customers", "step"])
    picked = set(by_size.groupby(["kind", "step"]).tail(1).index) | set(by_size.groupby("kind").head(1).index)
    for name in ("other", "path_end"):
        special = choices[(choices["source"] == name) | (choices["target"] == name)]
        picked |= set(special.groupby("kind").head(1).index)
    return choices.loc[sorted(picked)]


def test_the_sankey_counts_do_not_hold_other_calls(with_groups):
    parts = j.sankey_parts(with_groups)
    by_stage = dict(on="stage", collapse=True, filters={"persona": [0]})
    assert j.sankey_links_of(parts, **{**by_stage, "on": "event"}) is None
    assert j.sankey_links_of(parts, **by_stage, max_steps=9) is None
    assert j.sankey_links_of(parts, **{**by_stage, "filters": {"channel": ["web"]}}) is None
    assert j.sankey_links_of(parts, **by_stage, start="2100-01-01") is None
    assert j.sankey_customers_of(parts, step=1, node="x", **{**by_stage, "filters": {"channel": ["web"]}}) is None


FUNNEL_STEPS = ["product_view", "add_to_cart", "checkout_start", "purchase"]


@pytest.mark.parametrize(
    "steps, within, filters",
    [
        (FUNNEL_STEPS, 30, {}),
        (FUNNEL_STEPS, 7, {}),
        (FUNNEL_STEPS, 30, {"persona": [0]}),
        (FUNNEL_STEPS, None, {"persona": [1, 2]}),
        (["product_view", "purchase", "product_view"], 14, {}),
    ],
)
def test_a_funnel_from_kept_places_equals_the_funnel_from_rows(with_groups, steps, within, filters):
    funnel_module = importlib.import_module("cxlib.journeys.funnel")

    kept = j.funnel(j.keep_funnel_order(with_groups), steps, within=within, filters=filters)
    again = j.funnel(with_groups, steps, within=within, filters=filters)  # read from the kept places
    funnel_module._ORDER.pop(with_groups.op())
    fresh = j.funnel(with_groups, steps, within=within, filters=filters)
    pd.testing.assert_frame_equal(kept, fresh)
    pd.testing.assert_frame_equal(again, fresh)


def test_a_funnel_the_kept_places_do_not_hold_is_computed_from_rows(with_groups):
    funnel_module = importlib.import_module("cxlib.journeys.funnel")

    j.keep_funnel_order(with_groups)
    try:
        channel = j.funnel(with_groups, FUNNEL_STEPS, within=30, filters={"channel": ["web"]})
        late = j.funnel(with_groups, FUNNEL_STEPS, within=30, start="2100-01-01")
    finally:
        funnel_module._ORDER.pop(with_groups.op())
    pd.testing.assert_frame_equal(channel, j.funnel(with_groups, FUNNEL_STEPS, within=30, filters={"channel": ["web"]}))
    assert late["customers"].sum() == 0


def test_the_funnel_keeps_the_rows_of_its_last_choices_only(with_groups):
    funnel_module = importlib.import_module("cxlib.journeys.funnel")
    choices = [FUNNEL_STEPS[:k] for k in (2, 3, 4)] + [FUNNEL_STEPS[1:], FUNNEL_STEPS[2:], FUNNEL_STEPS[:2]]
    j.keep_funnel_order(with_groups)
    try:
        got = [j.funnel(with_groups, steps, within=10) for steps in choices]
        assert len(funnel_module._ORDER[with_groups.op()]["steps"]) == funnel_module.KEPT_STEP_EVENTS
    finally:
        funnel_module._ORDER.pop(with_groups.op())
    for steps, kept in zip(choices, got, strict=True):
        pd.testing.assert_frame_equal(kept, j.funnel(with_groups, steps, within=10))
