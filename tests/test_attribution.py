"""Attribution: hand-computed cases for every model, conserved totals, the path builder on both engines."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import cxlib
from cxlib import attribution as A
from cxlib.attribution.models import _shapley_enumerated


def _paths(rows: list[tuple[str, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["path", "conversions", "value", "nulls"])


def _by_channel(df: pd.DataFrame, col: str) -> dict[str, float]:
    return {r.channel: round(float(getattr(r, col)), 9) for r in df.itertuples()}


# --- Markov ---------------------------------------------------------------------------------------------------

# Two channels. Journeys (each path weighted by conversions + nulls):
#   "a > b": 1 conversion        "a": 1 null        "b": 1 conversion, 1 null
# Transition counts: start->a 2, start->b 2; a->b 1, a->null 1; b->conv 2, b->null 1.
# So P(conv | b) = 2/3, P(conv | a) = 1/2 * 2/3 = 1/3, P(conv | start) = 1/2 * 1/3 + 1/2 * 2/3 = 1/2
# (= 2 conversions / 4 journeys, as it must be for an order-1 chain fitted to its own paths).
# Remove a (start->a goes to null): P = 1/2 * 2/3 = 1/3, removal effect 1 - (1/3)/(1/2) = 1/3.
# Remove b: nothing converts, removal effect 1.
# Shares 1/3 : 1 = 1/4 : 3/4 of 2 conversions and 40 of value: a 0.5 and 10, b 1.5 and 30.
TWO = _paths([("a > b", 1, 10.0, 0), ("a", 0, 0.0, 1), ("b", 1, 30.0, 1)])


def test_markov_two_channels_by_hand():
    m = A.markov(TWO)
    assert list(m.columns) == ["channel", "removal_effect", "conversions", "value"]
    assert np.allclose(m.removal_effect, [1 / 3, 1.0])
    assert np.allclose(m.conversions, [0.5, 1.5])
    assert np.allclose(m.value, [10.0, 30.0])


def test_markov_with_thousands_of_states_solves_sparse_and_agrees_with_dense(monkeypatch):
    """Past 2,000 states the chain is a sparse matrix (scipy imported only then): the same removal effects as the
    dense solve of the same paths."""
    rng = np.random.default_rng(0)
    chans = [f"c{i:02d}" for i in range(15)]
    paths = [" > ".join(rng.choice(chans, size=rng.integers(3, 6))) for _ in range(2_000)]
    df = pd.DataFrame({"path": paths, "conversions": rng.integers(0, 3, 2_000), "value": 10.0,
                       "nulls": rng.integers(0, 3, 2_000)}).groupby("path", as_index=False).sum()
    sparse = A.markov(df, order=3)  # 15 channels, order 3: thousands of states
    dense_solve = A.models._absorb
    monkeypatch.setattr(A.models, "_absorb", lambda Q, *a, **k: dense_solve(
        Q if isinstance(Q, np.ndarray) else Q.toarray(), *a, **k))
    dense = A.markov(df, order=3)
    pd.testing.assert_frame_equal(sparse, dense, rtol=1e-9)
    assert sparse["conversions"].sum() == pytest.approx(df["conversions"].sum())


def test_markov_self_loops_do_not_change_order_one():
    # a repeated channel adds a self-loop; absorption probabilities from that state are unchanged
    looped = _paths([("a > a > b", 1, 10.0, 0), ("a > a", 0, 0.0, 1), ("b > b > b", 1, 30.0, 1)])
    assert np.allclose(A.markov(looped).removal_effect, A.markov(TWO).removal_effect)


# Order 2 sees what order 1 cannot: "a > b" always converts (2 of 2), "c > b" never does (0 of 2).
# Order 1: start->a 2, start->c 2, a->b 2, c->b 2, b->conv 2, b->null 2; P = 1/2.
#   Remove a: P = 1/2 * 1/2 = 1/4, effect 1/2; c likewise 1/2; b: 1. Shares 1/4, 1/2, 1/4 of 4 conversions.
# Order 2: states (a), (c), (a,b), (c,b); (a,b)->conv 2, (c,b)->null 2; P = 1/2.
#   Remove a ((a) and (a,b) go to null): P = 0, effect 1. Remove c: P = 1/2, effect 0. Remove b: effect 1.
#   Shares 1/2, 1/2, 0.
ORDER = _paths([("a > b", 2, 20.0, 0), ("c > b", 0, 0.0, 2)])


def test_markov_order_one_and_two_by_hand():
    m1, m2 = A.markov(ORDER, order=1), A.markov(ORDER, order=2)
    assert _by_channel(m1, "removal_effect") == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert _by_channel(m1, "conversions") == {"a": 0.5, "b": 1.0, "c": 0.5}
    assert _by_channel(m2, "removal_effect") == {"a": 1.0, "b": 1.0, "c": 0.0}
    assert _by_channel(m2, "value") == {"a": 10.0, "b": 10.0, "c": 0.0}
    m3 = A.markov(ORDER, order=3)  # paths no longer than the order: same as order 2 here
    assert _by_channel(m3, "removal_effect") == _by_channel(m2, "removal_effect")


def test_markov_one_channel_everywhere_gets_full_removal_effect():
    paths = _paths([("x > web", 3, 30.0, 1), ("web", 1, 10.0, 5), ("email > x > web", 2, 20.0, 0)])
    m = A.markov(paths)
    assert m.set_index("channel").loc["web", "removal_effect"] == pytest.approx(1.0)


def test_markov_keeps_the_value_of_rows_with_no_journeys():
    # a row with value but neither conversions nor nulls carries no transitions; its value is still shared
    paths = pd.concat([TWO, _paths([("a", 0, 5.0, 0)])], ignore_index=True)
    assert np.isclose(A.markov(paths).value.sum(), 45.0)


def test_markov_no_conversions_gives_zeros():
    m = A.markov(_paths([("a > b", 0, 0.0, 3)]))
    assert m.conversions.tolist() == [0.0, 0.0] and m.value.tolist() == [0.0, 0.0]


def test_markov_rejects_bad_input():
    with pytest.raises(ValueError, match="missing column"):
        A.markov(pd.DataFrame({"path": ["a"], "conversions": [1]}))
    with pytest.raises(ValueError, match="order"):
        A.markov(TWO, order=0)


def test_markov_is_deterministic_on_10k_paths():
    # speed is measured in benchmarks/bench_attribution.py, never asserted here
    rng = np.random.default_rng(3)
    channels = np.array(["web", "app", "email", "store", "paid_search", "paid_social", "display"])
    lengths = rng.integers(1, 8, 10_000)
    paths = _paths(
        [
            (" > ".join(rng.choice(channels, k)), int(c), float(c) * 50.0, int(n))
            for k, c, n in zip(lengths, rng.poisson(1.0, 10_000), rng.poisson(2.0, 10_000), strict=True)
        ]
    )
    a = A.markov(paths)
    pd.testing.assert_frame_equal(a, A.markov(paths))
    pd.testing.assert_frame_equal(A.markov(paths, order=2), A.markov(paths, order=2))


# --- Shapley --------------------------------------------------------------------------------------------------

# Channel sets and their conversions: {a, b}: 2, {a}: 1, {b, c}: 3 (order and repeats do not matter).
# Coalition values v(S) = conversions of paths whose set is inside S: v(a)=1, v(b)=0, v(c)=0, v(ab)=3,
# v(ac)=1, v(bc)=3, v(abc)=6. Shapley by hand for a: (1/3)[v(a)] + (1/6)[v(ab)-v(b)] + (1/6)[v(ac)-v(c)]
# + (1/3)[v(abc)-v(bc)] = 1/3 + 3/6 + 1/6 + 3/3 = 2. Likewise b = 2.5, c = 1.5: the closed form
# (each path's conversions shared equally by its distinct channels) gives 2/2 + 1, 2/2 + 3/2, 3/2.
SHAP = _paths([("a > b > a", 2, 20.0, 5), ("a", 1, 10.0, 0), ("b > c", 3, 30.0, 1)])


def test_shapley_by_hand_and_by_enumeration():
    s = A.shapley(SHAP)
    assert list(s.columns) == ["channel", "removal_effect", "conversions", "value"]
    assert s.removal_effect.isna().all()
    assert _by_channel(s, "conversions") == {"a": 2.0, "b": 2.5, "c": 1.5}
    assert _by_channel(s, "value") == {"a": 20.0, "b": 25.0, "c": 15.0}
    assert _shapley_enumerated(SHAP) == pytest.approx({"a": 2.0, "b": 2.5, "c": 1.5})


def test_shapley_with_more_channels_than_a_bit_mask_holds():
    # 70 channels take the sort-based route; path i = "c<i> > c<i+1> > c<i>" worth 2 conversions: 1 each
    names = [f"c{i:02d}" for i in range(71)]
    paths = _paths([(f"{names[i]} > {names[i + 1]} > {names[i]}", 2, 2.0, 0) for i in range(70)])
    s = A.shapley(paths).set_index("channel")
    assert s.loc["c00", "conversions"] == 1.0 and s.loc["c70", "conversions"] == 1.0
    assert (s.loc[names[1:70], "conversions"] == 2.0).all()


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from("abcdef"), min_size=1, max_size=5),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_shapley_closed_form_equals_enumeration(rows):
    paths = _paths([(" > ".join(p), c, 0.0, 0) for p, c in rows])
    closed = _by_channel(A.shapley(paths), "conversions")
    assert closed == pytest.approx(_shapley_enumerated(paths))


# --- heuristics -----------------------------------------------------------------------------------------------

# "a > b > c > a" worth 1 conversion and 100, "b" worth 1 and 10.
# first: a 100, b 10.  last: a 100, b 10.  linear: a 2/4, b 1/4, c 1/4 -> a 50, b 25 + 10, c 25.
# time decay, half-life 1 step: weights 1/8, 1/4, 1/2, 1 (sum 15/8) -> 1/15, 2/15, 4/15, 8/15:
#   a (1 + 8)/15 * 100 = 60, b 2/15 * 100 + 10 = 23.33, c 4/15 * 100 = 26.67.
# position-based 40/20/40: a 40 + 40 = 80, b 10 + 10, c 10.
HEUR = _paths([("a > b > c > a", 1, 100.0, 3), ("b", 1, 10.0, 0)])


def test_heuristics_by_hand():
    h = A.heuristics(HEUR, half_life=1.0)
    assert list(h.columns) == ["model", "channel", "conversions", "value"]
    got = {m: _by_channel(block, "value") for m, block in h.groupby("model")}
    assert got["first_touch"] == {"a": 100.0, "b": 10.0, "c": 0.0}
    assert got["last_touch"] == {"a": 100.0, "b": 10.0, "c": 0.0}
    assert got["linear"] == {"a": 50.0, "b": 35.0, "c": 25.0}
    assert got["time_decay"] == pytest.approx({"a": 60.0, "b": 10 + 200 / 15, "c": 400 / 15})
    assert got["position_based"] == pytest.approx({"a": 80.0, "b": 20.0, "c": 10.0})
    conv = {m: _by_channel(block, "conversions") for m, block in h.groupby("model")}
    assert conv["first_touch"] == {"a": 1.0, "b": 1.0, "c": 0.0}


def test_position_based_short_paths():
    h = A.heuristics(_paths([("a > b", 1, 10.0, 0), ("c", 1, 5.0, 0)]))
    assert _by_channel(h[h.model == "position_based"], "value") == {"a": 5.0, "b": 5.0, "c": 5.0}


# --- totals are conserved --------------------------------------------------------------------------------------

path_rows = st.lists(
    st.tuples(
        st.lists(st.sampled_from(["web", "app", "email", "store", "paid_search"]), min_size=1, max_size=6),
        st.integers(0, 6),
        st.floats(0, 1_000, allow_nan=False),
        st.integers(0, 6),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(path_rows)
def test_every_model_conserves_the_totals(rows):
    paths = _paths([(" > ".join(p), c, v if c else 0.0, n) for p, c, v, n in rows])
    conv, value = paths.conversions.sum(), paths.value.sum()
    frames = {f"markov{k}": A.markov(paths, order=k) for k in (1, 2, 3)}
    frames["shapley"] = A.shapley(paths)
    for model, block in A.heuristics(paths).groupby("model"):
        frames[model] = block
    for model, f in frames.items():
        assert np.isclose(f.conversions.sum(), conv), model
        assert np.isclose(f.value.sum(), value), model
        assert (f.conversions >= -1e-12).all(), model
    m = frames["markov1"]
    assert ((m.removal_effect >= 0) & (m.removal_effect <= 1)).all()


def test_compare_and_figure():
    c = A.compare(SHAP, order=2)
    assert list(c.columns) == ["model", "channel", "removal_effect", "conversions", "value"]
    assert c.model.unique().tolist() == ["markov", "shapley", *A.HEURISTIC_MODELS]
    assert np.allclose(c.groupby("model").value.sum(), SHAP.value.sum())
    figure = A.compare_figure(c, y="conversions")
    fig = figure.to_plotly_json()
    assert [t["name"] for t in fig["data"]] == ["markov", "shapley", *(m.replace("_", " ") for m in A.HEURISTIC_MODELS)]
    assert fig["layout"]["barmode"] == "group"
    markov_bar = figure.data[0]  # the JSON packs numbers as typed arrays: read the trace itself
    got = {x: round(float(y), 9) for x, y in zip(markov_bar.x, markov_bar.y, strict=True)}
    assert got == _by_channel(A.markov(SHAP, order=2), "conversions")
    assert "not causal" in fig["layout"]["annotations"][0]["text"]


# --- paths from touchpoints -----------------------------------------------------------------------------------


def _tp(rows: list[tuple]) -> pd.DataFrame:
    """(customer_id, timestamp, table_name, record_key, channel, event, status, revenue) rows."""
    cols = ["customer_id", "ts", "table_name", "record_key", "channel", "event", "status", "revenue"]
    df = pd.DataFrame(rows, columns=cols)
    df["ts"] = pd.to_datetime(df["ts"], format="ISO8601")
    df["source"] = np.where(df.table_name == "orders", "shop", "web_analytics")
    return df


TP = _tp(
    [
        # a: search, then email, order 1 (60); an old display ad falls outside the 30-day lookback
        ("a", "2024-01-01", "events", "e1", "display", "ad_click", None, None),
        ("a", "2024-03-01", "events", "e2", "paid_search", "ad_click", None, None),
        ("a", "2024-03-02", "events", "e3", "email", "email_click", None, None),
        ("a", "2024-03-03", "orders", "o1", "web", "order", "completed", 60.0),
        ("a", "2024-03-03", "events", "e4", "web", "purchase", None, None),  # the order's echo: not a touch
        # a again: a returned order with no touch in between (value 0), then a tail of web, web
        ("a", "2024-03-10", "orders", "o2", "web", "order", "returned", 0.0),
        ("a", "2024-04-01", "events", "e5", "web", "page_view", None, None),
        ("a", "2024-04-02", "events", "e6", "web", "page_view", None, None),
        # b: two touches at the same second, ordered by record key (the ordering rule), then an order
        ("b", "2024-02-01 10:00", "events", "k2", "app", "app_open", None, None),
        ("b", "2024-02-01 10:00", "events", "k1", "email", "email_open", None, None),
        ("b", "2024-02-02", "orders", "o3", "app", "order", "completed", 40.0),
        # c: a cancelled order is no conversion; a holdout marker is no touch; a ticket is no touch by default
        ("c", "2024-02-01", "events", "e7", "paid_social", "ad_click", None, None),
        ("c", "2024-02-02", "events", "e8", "email", "email_holdout", None, None),
        ("c", "2024-02-03", "tickets", "t1", "phone", "ticket", None, None),
        ("c", "2024-02-04", "orders", "o4", "web", "order", "cancelled", 0.0),
    ]
)


def test_paths_from_touchpoints_by_hand():
    got = A.paths_from_touchpoints(TP)
    assert list(got.columns) == list(A.PATH_COLUMNS)
    assert got.to_dict("records") == [
        {"path": "(none)", "conversions": 1, "value": 0.0, "nulls": 0},
        {"path": "email > app", "conversions": 1, "value": 40.0, "nulls": 0},
        {"path": "paid_search > email", "conversions": 1, "value": 60.0, "nulls": 0},
        {"path": "paid_social", "conversions": 0, "value": 0.0, "nulls": 1},
        {"path": "web > web", "conversions": 0, "value": 0.0, "nulls": 1},
    ]


def test_paths_options():
    longer = A.paths_from_touchpoints(TP, lookback_days=90, collapse_repeats=True, no_touch=None)
    assert longer.to_dict("list") == {
        "path": ["display > paid_search > email", "email > app", "paid_social", "web"],
        "conversions": [1, 1, 0, 0],
        "value": [60.0, 40.0, 0.0, 0.0],
        "nulls": [0, 0, 1, 1],
    }
    every = A.paths_from_touchpoints(TP, touch_tables=None, conversion={"event": ["order"]})
    assert "paid_social > phone" in every.path.tolist()  # the cancelled order converts now, after the ticket


def test_paths_do_not_depend_on_row_order():
    expected = A.paths_from_touchpoints(TP)
    for seed in range(3):
        shuffled = TP.sample(frac=1, random_state=seed).reset_index(drop=True)
        pd.testing.assert_frame_equal(A.paths_from_touchpoints(shuffled), expected)


CHUNK_OPTIONS = [
    {},
    {"lookback_days": 90, "collapse_repeats": True, "no_touch": None},
    {"touch_tables": None, "conversion": {"event": ["order"]}, "collapse_repeats": True},
]


@pytest.mark.parametrize("options", CHUNK_OPTIONS)
def test_paths_in_chunks_equal_one_chunk(monkeypatch, options):
    # TP and a copy of it under other customers' names: conversions with no touch, null tails, ties, repeats
    tp = pd.concat([TP, TP.assign(customer_id=TP.customer_id + "2"), TP.assign(customer_id=TP.customer_id + "3")])
    one = A.paths_from_touchpoints(tp, **options)
    counts = []
    real = A.paths._chunk_count
    monkeypatch.setattr(A.paths, "_chunk_count", lambda c: counts.append(real(c)) or counts[-1])
    monkeypatch.setattr(A.paths, "CHUNK_ROWS", 3)
    pd.testing.assert_frame_equal(A.paths_from_touchpoints(tp, **options), one, check_exact=True)
    assert counts[0] > 5


def test_paths_missing_column_is_named():
    from cxlib.schema import DataError

    with pytest.raises(DataError, match="channel"):
        A.paths_from_touchpoints(TP.drop(columns="channel"))


@pytest.fixture(scope="module")
def workspace_paths(workspace) -> pd.DataFrame:
    with cxlib.connect(workspace, read_only=True) as ws:
        return A.paths_from_touchpoints(ws.table("touchpoints"))


def test_paths_from_the_workspace_reconcile_with_orders(workspace, workspace_paths):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = ws.table("touchpoints")
        orders = tp.filter((tp.table_name == "orders") & tp.status.isin(["completed", "returned"]))
        n, revenue = orders.count().to_pandas(), orders.revenue.sum().to_pandas()
    assert workspace_paths.conversions.sum() == n
    assert workspace_paths.value.sum() == pytest.approx(revenue)
    assert workspace_paths.path.is_unique
    channels = set(" > ".join(workspace_paths.path).split(" > "))
    assert channels <= {"web", "app", "email", "store", "paid_search", "paid_social", "display", "(none)"}
    c = A.compare(workspace_paths)
    assert np.allclose(c.groupby("model").value.sum(), revenue)


def test_paths_shuffled_workspace_sample(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = ws.table("touchpoints")
        ids = tp.select("customer_id").distinct().order_by("customer_id").limit(300)
        sample = tp.semi_join(ids, "customer_id").to_pandas()
    expected = A.paths_from_touchpoints(sample)
    shuffled = sample.sample(frac=1, random_state=5).reset_index(drop=True)
    pd.testing.assert_frame_equal(A.paths_from_touchpoints(shuffled), expected)


def test_paths_engine_parity(engine, engine_workspace):
    with cxlib.connect(engine_workspace, read_only=True) as ws:
        want = A.paths_from_touchpoints(ws.table("touchpoints"))
    got = A.paths_from_touchpoints(engine.table("touchpoints"))
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-9)


def test_paths_in_chunks_engine_parity(monkeypatch, engine, engine_workspace):
    with cxlib.connect(engine_workspace, read_only=True) as ws:
        want = A.paths_from_touchpoints(ws.table("touchpoints"), collapse_repeats=True)
        monkeypatch.setattr(A.paths, "CHUNK_ROWS", ws.table("touchpoints").count().to_pandas() // 4)
    got = A.paths_from_touchpoints(engine.table("touchpoints"), collapse_repeats=True)  # 4 or 5 chunks
    pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)


def test_the_workspace_paths_read_the_staged_rows_and_are_the_same(journeys_workspace):
    """While `cx journeys`' rows are current, the attribution paths read them (each path ordered by its
    path_pos, not by ts and every key): the same table as from the analysis touchpoints."""
    from cxlib import journeys, report

    with cxlib.connect(journeys_workspace, read_only=True) as ws:
        assert journeys.kept_rows(ws) is not None
        expected = A.paths_from_touchpoints(journeys.analysis_touchpoints(ws))
    got = report.attribution_paths(journeys_workspace)
    pd.testing.assert_frame_equal(got, expected)
    assert got["conversions"].sum() > 100


def test_the_staged_rows_paths_in_chunks_read_their_buckets_and_are_the_same(journeys_workspace, monkeypatch):
    """In chunks, the paths of `cx journeys`' kept rows filter each chunk by the rows' stored customer_bucket
    (a range, which skips the other row groups), not by hashing every customer id again: the same table as in
    one chunk, and as chunks of the analysis touchpoints."""
    from cxlib import chunks, journeys

    with cxlib.connect(journeys_workspace, read_only=True) as ws:
        kept = journeys.kept_rows(ws)
        assert chunks.BUCKET_COLUMN in kept.columns
        one = A.paths_from_touchpoints(kept)
        monkeypatch.setattr(A.paths, "CHUNK_ROWS", kept.count().to_pandas() // 4)
        hashed = []
        real = chunks.bucket
        monkeypatch.setattr(chunks, "bucket", lambda key: hashed.append(1) or real(key))
        got = A.paths_from_touchpoints(kept)
        assert hashed == [], "a chunk of the kept rows hashed the customer ids again"
        from_touchpoints = A.paths_from_touchpoints(journeys.analysis_touchpoints(ws))
    assert len(hashed) >= 4  # the analysis touchpoints carry no buckets: hashed, a chunk each
    pd.testing.assert_frame_equal(got, one)
    pd.testing.assert_frame_equal(from_touchpoints, one)
