"""Staged rows carry ``path_pos``, their place in the customer's path; readers order by it instead of sorting again.

Every view read from staged rows must be the same with the column as without it (then they sort by ``ts`` and
the tie keys as before): last rows, where customers are now, the monthly history, transitions, Sankey flows,
funnels. The hand-made company has many events at the same moment (some with ``sequence``, some without) and
keys in no particular order, so that the tie rule decides often.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import journeys as j
from cxlib.journeys.inputs import NEXT_EVENT, PATH_POS, by_path_pos
from cxlib.journeys.stages import last_rows

EVENTS = ["page_view", "product_view", "add_to_cart", "checkout_start", "purchase", "email_open", "ad_click"]


@pytest.fixture(scope="module")
def staged() -> pd.DataFrame:
    rng = np.random.default_rng(11)
    n = 1500
    moments = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 40, n) * 7, unit="D")
    df = pd.DataFrame(
        {
            "customer_id": rng.choice([f"c{i:02d}" for i in range(40)], n),
            "ts": moments + pd.to_timedelta(rng.integers(0, 3, n), unit="h"),  # many rows share a moment
            "table_name": rng.choice(["events", "orders"], n, p=[0.85, 0.15]),
            "source": rng.choice(["ga4", "shop"], n),
            "record_key": [f"k{v}" for v in rng.permutation(n)],
            "event": rng.choice(EVENTS, n),
            "channel": rng.choice(["web", "email", "paid_search"], n),
        }
    )
    df["sequence"] = pd.Series(rng.integers(0, 4, n), dtype="Int64").mask(rng.random(n) >= 0.6)
    return j.assign_stages(df).to_pandas()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    cols = sorted(a.columns)
    a = a[cols].sort_values(cols, ignore_index=True)
    b = b[cols].sort_values(cols, ignore_index=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False)


def test_path_pos_numbers_each_path_in_the_ordering_rule(staged):
    assert by_path_pos(j.inputs.as_table(staged), "customer_id")
    by_rule = staged.assign(_nullseq=staged["sequence"].isna()).sort_values(
        ["customer_id", "ts", "_nullseq", "sequence", "table_name", "source", "record_key"]
    )
    expected = by_rule.groupby("customer_id").cumcount()
    assert (by_rule[PATH_POS].to_numpy() == expected.to_numpy()).all()


@pytest.mark.parametrize("period", [None, "month"])
def test_last_rows_are_the_same_rows_with_or_without_path_pos(staged, period):
    t = staged.assign(month=staged["ts"].dt.month)
    fast = last_rows(j.inputs.as_table(t), period).to_pandas().drop(columns=PATH_POS)
    slow = last_rows(j.inputs.as_table(t.drop(columns=PATH_POS)), period).to_pandas()
    assert len(fast) == (40 if period is None else t.groupby(["customer_id", "month"]).ngroups)
    _same(fast, slow)


def test_every_view_of_staged_rows_is_the_same_with_or_without_path_pos(staged):
    plain = staged.drop(columns=PATH_POS)
    _same(j.current_stage(staged), j.current_stage(plain))
    _same(j.stage_history(staged).to_pandas(), j.stage_history(plain).to_pandas())
    for on in ("stage", "event"):
        _same(j.transitions(j.inputs.as_table(staged), on=on), j.transitions(j.inputs.as_table(plain), on=on))
        _same(
            j.sankey_links(staged, on=on, collapse=True, max_steps=6),
            j.sankey_links(plain, on=on, collapse=True, max_steps=6),
        )
    steps = ["product_view", "add_to_cart", "purchase"]
    _same(j.funnel(staged, steps, within=30), j.funnel(plain, steps, within=30))


def test_path_pos_is_not_used_for_other_paths(staged):
    t = j.inputs.as_table(staged)
    assert not by_path_pos(t, "session_id")
    assert not by_path_pos(t.drop("table_name", "source", "record_key"), "customer_id", on="stage")


def test_next_event_is_the_event_that_follows_in_the_path(staged):
    by_pos = staged.sort_values(["customer_id", PATH_POS])
    expected = by_pos.groupby("customer_id")["event"].shift(-1)
    got = by_pos[NEXT_EVENT].astype(object).where(by_pos[NEXT_EVENT].notna(), None)
    assert got.tolist() == expected.astype(object).where(expected.notna(), None).tolist()


def test_a_funnel_of_a_whole_staged_table_reads_its_order_and_next_events(staged, monkeypatch):
    """A staged table as cxlib keeps it (marked with its stage map, every row of its customers): the funnel takes
    each row's place and what follows from path_pos and next_event, with no window over the rows; the same
    funnel as from the rows without those columns. A filter of it (rows left out) orders its paths again."""
    import importlib

    import ibis

    from cxlib.journeys.stage_map import record_stage_map, resolve_stage_map

    con = ibis.duckdb.connect()
    rows = staged.drop(columns=[c for c in staged.columns if staged[c].isna().all()])  # no all-null columns
    whole = record_stage_map(con.create_table("staged", rows), resolve_stage_map(None))
    fn = importlib.import_module("cxlib.journeys.funnel")  # the module (the package's `funnel` is the function)
    calls = []
    real = fn.ordered
    monkeypatch.setattr(fn, "ordered", lambda *a, **k: calls.append(1) or real(*a, **k))
    steps = ["product_view", "add_to_cart", "purchase"]
    plain = staged.drop(columns=[PATH_POS, NEXT_EVENT])
    want = j.funnel(plain, steps, within=30)
    calls.clear()
    _same(j.funnel(whole, steps, within=30), want)
    assert calls == [], "the whole staged table was ordered again"
    part = whole.filter(whole.channel != "email")
    _same(j.funnel(part, steps, within=30), j.funnel(plain[plain.channel != "email"], steps, within=30))
    assert calls, "a filter of the staged rows read next_event: it names events the filter left out"


def test_stage_moves_from_the_runs_equal_the_transitions_of_every_row(staged):
    """`cx journeys` keeps the stage transitions computed from each path's runs of one stage (a few rows a
    customer): the same table as the transitions of every row, self-loops, starts and ends included."""
    from cxlib.journeys.paths import stage_runs, stage_transitions_of_runs

    t = j.inputs.as_table(staged)
    runs = stage_runs(t)
    assert int(runs.count().to_pandas()) < len(staged)
    pd.testing.assert_frame_equal(stage_transitions_of_runs(runs), j.transitions(t, on="stage"))
    flows = j.sankey_links(runs, on="stage", collapse=False, max_steps=6)
    pd.testing.assert_frame_equal(flows, j.sankey_links(t, on="stage", collapse=True, max_steps=6))
