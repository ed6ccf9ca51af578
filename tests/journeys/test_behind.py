"""The customers behind the step Sankey: every node and link lists exactly as many customers as the figure shows.

On the session workspace (4,000 generated people, journeys built), for the stage view and the event view.
"""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib import journeys
from cxlib.journeys.inputs import release
from cxlib.journeys.paths import _customers_at, _step_rows

VIEWS = {"stages": {"on": "stage", "collapse": True, "max_steps": 4}, "events": {"on": "event", "max_steps": 3}}


@pytest.fixture(scope="module")
def staged(custom_map_workspace):
    return journeys.staged_touchpoints(custom_map_workspace)


def _counts(staged, choices: pd.DataFrame, kw: dict) -> list[int]:
    """How many customers :func:`sankey_customers` lists for each choice (its rows computed once)."""
    on, steps, collapse = kw["on"], kw["max_steps"], kw.get("collapse", False)
    t, kept = _step_rows(staged, on, "customer_id", steps, 8, collapse, None, None, None)
    try:
        return [len(_customers_at(t, "customer_id", a["step"], a.get("node"), a.get("link"))) for a in choices["args"]]
    finally:
        release(kept)


@pytest.mark.parametrize("view", VIEWS)
def test_every_node_and_link_lists_the_figures_count(staged, view):
    kw = VIEWS[view]
    sk = journeys.sankey(staged, **kw).data[0]  # the figure, computed on its own
    links = journeys.sankey_links(staged, **kw)
    assert list(sk.link.value) == links["value"].tolist()  # link i of the figure is row i of the flows
    choices = journeys.sankey_choices(links)
    assert choices["customers"].tolist() == _counts(staged, choices, kw)
    # every link of the figure is a choice with its value (those out of the start: the step-1 nodes)
    listed = {(r.step, r.source, r.target): r.customers for r in choices.itertuples() if r.kind == "link"}
    nodes = {(r.step, r.source): r.customers for r in choices.itertuples() if r.kind == "node"}
    starts = links[links.step == 0]
    assert all(nodes[(1, b)] == v for b, v in zip(starts.target, starts.value, strict=True))
    rest = links[links.step > 0]
    assert [listed[k] for k in zip(rest.step, rest.source, rest.target, strict=True)] == rest["value"].tolist()
    # and every node of the figure (its hover counts people) is a choice with that count
    people = [int(h.split("<br>")[1].split(" customer")[0].replace(",", "")) for h in sk.node.customdata[1:]]
    assert sorted(people) == sorted(choices.loc[choices.kind == "node", "customers"])


def test_public_call_with_filters_and_details(staged, custom_map_workspace):
    kw = {"on": "stage", "collapse": True, "max_steps": 3, "filters": {"channel": ["web", "email"]},
          "start": "2024-03-01", "end": "2024-12-31 23:59:59"}  # fmt: skip
    choices = journeys.sankey_choices(journeys.sankey_links(staged, **kw))
    for pick in (choices.iloc[0], choices[choices.kind == "link"].iloc[0], choices.iloc[-1]):
        ids = journeys.sankey_customers(staged, **pick["args"], **kw)
        assert len(ids) == pick["customers"]
    who = journeys.customer_details(staged, ids, workspace=custom_map_workspace)
    assert list(who.columns) == ["customer_id", "stage_now", "revenue", "touchpoints", "last_touch"]
    assert sorted(who["customer_id"]) == ids["customer_id"].tolist() and who["stage_now"].notna().all()
    assert who["revenue"].is_monotonic_decreasing
    assert (who["touchpoints"] > 0).all() and (who["revenue"] >= 0).all()
    with cxlib.connect(custom_map_workspace, read_only=True) as ws:  # stage now: what `cx journeys` wrote
        now = ws.table("customer_stages").to_pandas().set_index("customer_id")["stage"]
    assert who["stage_now"].tolist() == now.loc[who["customer_id"]].tolist()


def test_links_given_are_drawn_as_they_are(staged):
    kw = VIEWS["events"]
    links = journeys.sankey_links(staged, **kw)
    assert journeys.sankey(staged, links=links, **kw).to_dict() == journeys.sankey(staged, **kw).to_dict()
    with pytest.raises(ValueError, match="compare"):
        journeys.sankey(staged, links=links, compare=("channel", "web", "email"), **kw)


def test_the_kept_stage_sankey_is_what_the_rows_give(staged, custom_map_workspace):
    """`cx journeys` keeps the stage Sankey (journey_sankey); the explorer reads it for the whole table and
    gets exactly what a pass over the rows gives, for every step count up to the kept one."""
    from cxlib.journeys import paths

    with cxlib.connect(custom_map_workspace, read_only=True) as ws:
        assert ws.has("journey_sankey")
    assert staged.op() in paths._KEPT
    whole = {"on": "stage", "collapse": True, "start": "2000-01-01", "end": "2100-01-01"}
    kept = {k: journeys.sankey_links(staged, max_steps=k, **whole) for k in range(3, paths.KEPT_STEPS + 1)}
    fresh = staged.select(*staged.columns)  # the same rows, not the kept table: computed from the rows
    for k, flows in kept.items():
        pd.testing.assert_frame_equal(flows, journeys.sankey_links(fresh, max_steps=k, **whole))
    # a part of the rows (a later start) is computed, not read
    later = journeys.sankey_links(staged, on="stage", collapse=True, max_steps=3, start="2024-06-01")
    assert later["value"].sum() < kept[3]["value"].sum()
