"""Paths: transitions, the step matrix and Sankey links on hand-made paths with known answers."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlib
from cxlib import journeys as j
from tests.journeys.paths import PATHS, _ev


def test_transitions_known_paths():
    got = {(r.source, r.target): r.count for r in j.transitions(PATHS).itertuples()}
    assert got == {
        ("path_start", "view"): 2,
        ("path_start", "cart"): 1,
        ("view", "cart"): 1,
        ("cart", "buy"): 2,
        ("buy", "path_end"): 2,
        ("view", "view"): 1,  # self-loops count
        ("view", "help"): 1,
        ("help", "path_end"): 1,
    }


def test_transitions_ties_use_the_stated_key():
    # same timestamp: without record keys, ties break by the event's value (alphabetical)
    ev = _ev([("a", "2024-01-01", "zeta"), ("a", "2024-01-01", "alpha")])
    got = j.transitions(ev)
    assert ("alpha", "zeta") in set(zip(got.source, got.target, strict=True))
    # with the unified stream's keys, ties break by table_name, source, record_key
    ev["table_name"], ev["source"], ev["record_key"] = "events", "web", ["E1", "E2"]
    got = j.transitions(ev)
    assert ("zeta", "alpha") in set(zip(got.source, got.target, strict=True))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from("abc"), st.integers(1, 5), st.sampled_from(["x", "y", "z"])), min_size=1, max_size=25
    ),
    seed=st.integers(0, 1000),
)
def test_transitions_conserve_counts_and_ignore_row_order(rows, seed):
    ev = _ev([(c, f"2024-01-0{d}", e) for c, d, e in rows])
    ev["record_key"] = [f"K{i:03d}" for i in range(len(ev))]
    got = j.transitions(ev)
    assert got["count"].sum() == len(ev) + ev["customer_id"].nunique()
    shuffled = j.transitions(ev.sample(frac=1, random_state=seed))
    pd.testing.assert_frame_equal(got, shuffled)
    sm = j.step_matrix(ev, max_steps=6)
    assert (sm.sum(axis=0) == ev["customer_id"].nunique()).all()


def test_step_matrix_known_paths():
    sm = j.step_matrix(PATHS, max_steps=4)
    assert sm.loc["view"].tolist() == [2, 1, 0, 0]
    assert sm.loc["cart"].tolist() == [1, 1, 0, 0]
    assert sm.loc["buy"].tolist() == [0, 1, 1, 0]
    assert sm.loc["path_end"].tolist() == [0, 0, 1, 3]


def test_sankey_links_and_figure():
    links = j.sankey_links(PATHS, max_steps=3)
    start = links[links.step == 0].set_index("target")["value"].to_dict()
    assert start == {"view": 2, "cart": 1}
    # every path at step 1 flows somewhere at step 2
    assert links[links.step == 1]["value"].sum() == 3
    other = j.sankey_links(PATHS, max_steps=3, top_n=1)
    assert "other" in set(other.target)
    fig = j.sankey(PATHS, max_steps=3)
    assert sum(fig.data[0].link.value) == links["value"].sum()
    both = j.sankey(PATHS.assign(seg=["s", "s", "s", "t", "t", "t", "s", "s"]), compare=("seg", "s", "t"))
    assert len(both.data) == 2


def test_stage_aligned_sankey_places_stages_in_journey_order():
    ev = _ev(
        [
            ("a", "2024-01-01", "repeat"),
            ("a", "2024-03-01", "at_risk"),
            ("a", "2024-04-01", "repeat"),
            ("b", "2024-01-01", "awareness"),
            ("b", "2024-01-02", "consideration"),
        ]
    ).rename(columns={"event": "stage"})
    fig = j.sankey(ev, on="stage", align="stage")
    sk = fig.data[0]
    assert list(sk.node.label) == ["Awareness", "Consideration", "Repeat", "At risk"]  # in journey order, in words
    links = {
        (sk.node.label[a], sk.node.label[b]): v
        for a, b, v in zip(sk.link.source, sk.link.target, sk.link.value, strict=True)
    }
    assert links == {("Repeat", "At risk"): 1, ("At risk", "Repeat"): 1, ("Awareness", "Consideration"): 1}
    with pytest.raises(ValueError, match="align"):
        j.sankey(ev, on="stage", align="diagonal")


def test_collapse_folds_repeats():
    links = j.sankey_links(PATHS, max_steps=3, collapse=True)
    assert not ((links.source == "view") & (links.target == "view")).any()


def test_sankey_and_funnel_reconcile(workspace):
    """Over the funnel's own steps (the buyer-journey stages), the funnel's step counts equal the Sankey's flows."""
    steps = ["awareness", "consideration", "purchase"]
    with cxlib.connect(workspace, read_only=True) as ws:
        staged = j.assign_stages(j.analysis_touchpoints(ws))
        staged = staged.filter(staged.stage.isin(steps))
        links = j.sankey_links(staged, on="stage", collapse=True, max_steps=4, top_n=20)
        f = j.funnel(staged, ["awareness", "consideration", "purchase"], on="stage")
    into = links[links.step == 0].set_index("target")["value"]
    assert f.loc[0, "customers"] == into["awareness"]
    step1 = links[(links.step == 1) & (links.source == "awareness")].set_index("target")["value"]
    assert f.loc[1, "customers"] == step1["consideration"]
    step2 = links[(links.step == 2) & (links.source == "consideration")].set_index("target")["value"]
    assert f.loc[2, "customers"] == step2["purchase"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([1, 2, 30]), st.integers(0, 3), st.sampled_from(["x", "y", "é", "path_end", "Y"])),
        min_size=1, max_size=30,
    ),
    seed=st.integers(0, 1000),
    tz=st.sampled_from([None, "Europe/Paris"]),
    order=st.sampled_from(["shuffled", "in order", "paths and times in order, ties not"]),
)
def test_a_frame_counted_in_memory_gives_the_engines_numbers(rows, seed, tz, order):
    """A plain pandas frame is counted in numpy (journeys.inmemory): the same rows as the engine's window over the
    same frame, whatever the row order, with ties at the engine's microsecond (500 ns apart is a tie there)."""
    from cxlib.journeys.inmemory import plain_paths

    base = pd.Timestamp("2024-01-01", tz=tz)
    ev = pd.DataFrame({"customer_id": [c for c, _, _ in rows],
                       "ts": [base + pd.Timedelta(nanoseconds=500 * k) for _, k, _ in rows],
                       "event": pd.array([e for _, _, e in rows], dtype="string")})
    ev = ev.sample(frac=1, random_state=seed)
    if order == "in order":
        ev = ev.sort_values(["customer_id", "ts", "event"])
    elif order != "shuffled":  # as an export lists them: each path together and in time, ties as they came
        ev = ev.sort_values(["customer_id", "ts"], kind="stable")
    assert plain_paths(ev, "event", "customer_id")
    in_memory = j.transitions(ev)
    in_engine = j.transitions(j.as_table(ev))  # an Ibis table: the engine's window
    pd.testing.assert_frame_equal(in_memory, in_engine)
    assert not plain_paths(ev.assign(record_key="K"), "event", "customer_id")  # a tie column: the engine decides
