"""The backtest's personas are those customers had at its cutoff: nothing after the cutoff reaches the fit."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import simulate as sim
from cxlib.personas import assign, customer_features
from cxlib.personas.stored import MODEL_TABLE, personas_as_of, stored_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def staged(tmp_path_factory, workspace):
    """The small company with journeys and personas (cx journeys, cx personas)."""
    from cxlib import journeys, personas

    folder = tmp_path_factory.mktemp("asof") / "ws"
    shutil.copytree(workspace, folder)
    journeys.build(folder)
    personas.write_personas(folder)
    return folder


def _cutoff_end(folder) -> pd.Timestamp:
    """The last instant of the cutoff month of a 12-month backtest."""
    h = sim.complete_history(folder, by=None, channel=False)
    cut = pd.Timestamp(h["month"].max()) - pd.DateOffset(months=12)
    return cut + pd.DateOffset(months=1) - pd.Timedelta(microseconds=1)


def _tamper_after(folder, end: pd.Timestamp) -> None:
    """Every order after ``end`` made completed and five times as large: later behaviour that would move the
    personas of the whole workspace, with the time range of the data unchanged."""
    with cxlib.connect(folder) as ws:
        ws.backend.raw_sql(
            "UPDATE touchpoints SET status = 'completed', amount = amount * 5, revenue = revenue * 5 "
            f"WHERE table_name = 'orders' AND ts > TIMESTAMP '{end:%Y-%m-%d %H:%M:%S.%f}'"
        )


def _journey(bt: pd.DataFrame, column: str) -> pd.Series:
    return bt.loc[bt["model"] == "journey model", column].reset_index(drop=True)


def test_backtest_personas_do_not_depend_on_data_after_the_cutoff(tmp_path, staged):
    folder = tmp_path / "ws"
    shutil.copytree(staged, folder)
    end = _cutoff_end(folder)
    with cxlib.connect(folder, read_only=True) as ws:
        model, _ = stored_model(ws)
        before = personas_as_of(ws, end).order_by("customer_id").to_pandas()
        whole = ws.table("personas").to_pandas().set_index("customer_id")
        refit_before = personas_as_of(ws, end, refit=True, match=False).order_by("customer_id").to_pandas()
        first = ws.table("touchpoints").group_by("customer_id").aggregate(t=lambda t: t.ts.min()).to_pandas()
        anonymous = set(ws.table("customers").filter(lambda c: c.is_anonymous).customer_id.to_pandas())
    bt_before = sim.backtest(folder, months=12, draws=20, personas="kept")
    # the backtest of a workspace fits on these personas, not on those of table personas
    whole_panel = sim.complete_history(folder, channel=False)
    at_cutoff = whole_panel.drop(columns="persona").merge(
        before[["customer_id", "persona_name"]].rename(columns={"persona_name": "persona"}), "left", "customer_id"
    )
    at_cutoff["persona"] = at_cutoff["persona"].fillna("unassigned")
    same = sim.backtest(at_cutoff, months=12, draws=20)
    pd.testing.assert_series_equal(_journey(same, "forecast"), _journey(bt_before, "forecast"))
    looking_ahead = sim.backtest(whole_panel, months=12, draws=20)
    assert not _journey(looking_ahead, "forecast").equals(_journey(bt_before, "forecast"))
    # the workspace's own persona model labels them (same numbers and names as table personas)
    assert set(before["persona_name"]) <= set(whole["persona_name"])
    # a customer first seen after the cutoff has no persona at the cutoff (an arrival); anonymous ones none at all
    assert set(before["customer_id"]) == set(first.loc[first["t"] <= end, "customer_id"]) - anonymous
    # the whole workspace's personas know what came after: many customers are in another persona at the cutoff
    moved = (before.set_index("customer_id")["persona"] != whole["persona"].reindex(before["customer_id"])).mean()
    assert moved > 0.05, moved

    _tamper_after(folder, end)
    with cxlib.connect(folder, read_only=True) as ws:
        after = personas_as_of(ws, end).order_by("customer_id").to_pandas()
        # labelled on the features up to the last day, the same model would now put customers elsewhere
        late = assign(model, customer_features(ws, anonymous=False, lazy=True)).to_pandas().set_index("customer_id")
    pd.testing.assert_frame_equal(after, before)
    assert (late["persona"] != whole["persona"].reindex(late.index)).any()
    bt_after = sim.backtest(folder, months=12, draws=20, personas="kept")
    pd.testing.assert_series_equal(_journey(bt_after, "forecast"), _journey(bt_before, "forecast"))
    assert (_journey(bt_after, "actual") > _journey(bt_before, "actual")).all()

    # refitted at the cutoff, even cx personas run again on the changed data leaves them as they were
    from cxlib import personas

    personas.write_personas(folder)
    with cxlib.connect(folder, read_only=True) as ws:
        refit_after = personas_as_of(ws, end, refit=True, match=False).order_by("customer_id").to_pandas()
    pd.testing.assert_frame_equal(refit_after, refit_before)


def _fitted_panel(folder, end: pd.Timestamp) -> pd.DataFrame:
    """What a default backtest of ``folder`` fits on: the panel up to the cutoff, personas refitted then."""
    h = sim.complete_history(folder, channel=False, personas_as_of=end, refit_personas=True)
    return h[h["month"] <= end].reset_index(drop=True)


def test_the_default_backtest_sees_nothing_after_the_cutoff_not_even_the_persona_model(tmp_path, staged):
    """Orders after the cutoff made larger and completed, then cx journeys and cx personas run again: the kept
    persona model (centres, scaling, here the number of personas too) changes and with it the backtest by the
    kept model, but the default backtest (stages and personas as of the cutoff, the personas refitted then) fits
    on the same panel, the same personas, and forecasts the same."""
    from cxlib import journeys, personas

    folder = tmp_path / "ws"
    shutil.copytree(staged, folder)
    end = _cutoff_end(folder)
    with cxlib.connect(folder, read_only=True) as ws:
        kept, settings = stored_model(ws)
        refit = personas_as_of(ws, end, refit=True, match=False).order_by("customer_id").to_pandas()
        named = personas_as_of(ws, end, refit=True).order_by("customer_id").to_pandas()
    assert (settings["fit_on"], settings["random_state"], settings["n_personas"]) == ("buyers", 0, "auto")
    # matched, the refit's personas are the same groups of customers under the workspace's names
    pairs = refit.merge(named, on="customer_id")[["persona_x", "persona_y"]].drop_duplicates()
    assert pairs["persona_x"].is_unique and pairs["persona_y"].is_unique
    buyers = named[named["persona"] >= 0]
    shared = min(kept.n_personas_, buyers["persona"].nunique())
    assert len(set(buyers["persona_name"]) & set(kept.names_)) == shared
    panel = _fitted_panel(folder, end)
    bt = sim.backtest(folder, months=12, draws=20)
    bt_kept = sim.backtest(folder, months=12, draws=20, personas="kept")

    _tamper_after(folder, end)
    journeys.build(folder)  # the stages too: orders completed after the cutoff must not restage the months before
    personas.write_personas(folder)
    with cxlib.connect(folder, read_only=True) as ws:
        kept_after, _ = stored_model(ws)
        refit_after = personas_as_of(ws, end, refit=True, match=False).order_by("customer_id").to_pandas()
    assert not np.allclose(kept_after.mean_, kept.mean_)  # what came after moved the whole workspace's model
    pd.testing.assert_frame_equal(refit_after, refit)
    pd.testing.assert_frame_equal(_fitted_panel(folder, end), panel)
    after = sim.backtest(folder, months=12, draws=20)
    pd.testing.assert_series_equal(_journey(after, "forecast"), _journey(bt, "forecast"))
    assert (_journey(after, "actual") > _journey(bt, "actual")).all()
    # the kept model's backtest is not: its personas' definitions came from after the cutoff
    kept_after_bt = sim.backtest(folder, months=12, draws=20, personas="kept")
    assert not _journey(kept_after_bt, "forecast").equals(_journey(bt_kept, "forecast"))
    with pytest.raises(ValueError, match="personas must be"):
        sim.backtest(folder, months=12, personas="table")


def test_match_personas_names_a_refit_as_the_nearest_kept_persona():
    """Refitted on other customers, the personas come back in another order; matched, each takes the number and
    name of the kept persona nearest to it, and a table kept before the seed was stored still reads back."""
    from cxlib.personas import PersonaModel
    from cxlib.personas.stored import match_personas, model_table

    rng = np.random.default_rng(3)
    centres = np.array([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]])

    def blobs(sizes: list[int]) -> pd.DataFrame:
        parts = [c + rng.normal(0, 0.5, (n, 2)) for c, n in zip(centres, sizes, strict=True)]
        return pd.DataFrame(np.vstack(parts), columns=["a", "b"])

    X = blobs([50, 120, 80])
    kept = PersonaModel(n_personas=3, random_state=0).fit(X)
    Y = blobs([150, 30, 60])  # the persona numbers follow size: the refit numbers them differently
    later = PersonaModel(n_personas=3, random_state=0).fit(Y)
    probe = pd.DataFrame(centres, columns=["a", "b"])
    assert later.predict(probe).tolist() != kept.predict(probe).tolist()
    match_personas(later, kept)
    assert later.predict(probe).tolist() == kept.predict(probe).tolist()
    assert later.names_ == kept.names_ and later.profiles_["name"].tolist() == kept.names_
    assert (later.labels_ == later.predict(Y)).all()

    ws = cxlib.connect()
    old = model_table(kept, prospects="separate", anonymous=False, threshold=1.0)
    ws.write(MODEL_TABLE, old.drop(columns=["fit_on", "sample", "random_state", "n_personas", "k_min", "k_max"]))
    _, settings = stored_model(ws)
    assert (settings["fit_on"], settings["sample"], settings["random_state"]) == ("buyers", 200_000, 0)
    assert (settings["n_personas"], settings["k_range"]) == (3, (2, 10))


def test_the_persona_model_is_kept_and_gives_the_personas_table_back(staged):
    with cxlib.connect(staged, read_only=True) as ws:
        assert ws.has(MODEL_TABLE)
        _, settings = stored_model(ws)
        last = pd.Timestamp(ws.table("touchpoints").ts.max().to_pandas())
        now = personas_as_of(ws, last).order_by("customer_id").to_pandas()
        table = ws.table("personas").order_by("customer_id").to_pandas()
    assert settings["prospects"] == "separate" and not settings["anonymous"]
    # as of the last touchpoint, the kept model labels every customer seen as table personas does
    both = table.merge(now, on="customer_id", suffixes=("", "_now"))
    assert len(both) == len(now) > 0
    for c in ("persona", "persona_name", "is_buyer", "value_tier"):
        assert (both[c] == both[f"{c}_now"]).all(), c


def test_personas_as_of_two_instants_each_keep_their_own_features(staged):
    """Each call computes its instant's features once and keeps them apart: a second instant's labels, asked
    for before the first's are read, leave the first's as they are."""
    end = _cutoff_end(staged)
    with cxlib.connect(staged, read_only=True) as ws:
        early = personas_as_of(ws, end, refit=True, match=False)
        late = personas_as_of(ws, end + pd.DateOffset(months=6), refit=True, match=False)
        early_df, late_df = early.to_pandas(), late.to_pandas()
        again = personas_as_of(ws, end, refit=True, match=False).to_pandas()
    assert len(late_df) > len(early_df) > 0  # later, more customers have come
    by = "customer_id"
    pd.testing.assert_frame_equal(early_df.sort_values(by, ignore_index=True), again.sort_values(by, ignore_index=True))


def test_personas_as_of_in_the_engine_the_same_on_spark(engine, engine_workspace):
    """The kept model (a mixture here: variances and weights too) labels customers as of an instant in the
    engine: Spark gives DuckDB's personas."""
    from cxlib.personas import PersonaModel
    from cxlib.personas.stored import model_table

    as_of = pd.Timestamp("2024-12-31 23:59:59.999999")
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        feats = customer_features(ref, as_of, anonymous=False)
        model = PersonaModel(n_personas=4, method="gmm", random_state=0).fit(feats[feats["frequency"] > 0])
        kept = model_table(model, prospects="separate", anonymous=False, threshold=300.0)
        ref.scratch(MODEL_TABLE, kept)
        expected = personas_as_of(ref, as_of).order_by("customer_id").to_pandas()
        back, _ = stored_model(ref)
        ref.drop_scratch()
    assert (back.predict(feats) == model.predict(feats)).all()
    engine.scratch(MODEL_TABLE, kept)
    try:
        got = personas_as_of(engine, as_of).order_by("customer_id").to_pandas()
    finally:
        engine.drop_scratch()
    seen = feats.loc[(feats["touchpoints"] > 0) & ~feats["is_anonymous"], "customer_id"]
    assert expected["customer_id"].tolist() == sorted(seen) and (expected["persona"] == -1).any()
    pd.testing.assert_frame_equal(got, expected, check_dtype=False, rtol=1e-9)


@pytest.mark.slow
def test_a_backtest_whose_cutoff_has_no_buyers_runs_as_one_segment(tmp_path, caplog):
    """Personas found in the data, but every first purchase after the backtest's cutoff: the refit as of the
    cutoff has no buyer to fit on. scikit-learn's "Found array with 0 sample(s)" stopped `cx simulate`; now the
    backtest labels everyone 'unassigned' then (one segment), says why, and the forecast is written."""
    import logging

    from cxlib import journeys, personas
    from cxlib.simulate.workspace import build

    people = [f"p{i}@x.com" for i in range(40)]
    contacts = ["source,record_id,email,country,updated_at"]
    contacts += [f"crm,{i},{e},GB,2024-01-01" for i, e in enumerate(people)]
    events = ["source,event_id,email,ts,event,channel"]
    orders = ["source,order_id,email,ts,amount,status"]
    for i, e in enumerate(people):
        for m in range(1, 9):
            events.append(f"web,e{i}-{m},{e},2024-0{m}-0{1 + i % 9} 10:00:00,page_view,web")
        for m in (7, 8):  # everyone buys in the last two months only
            orders.append(f"shop,o{i}-{m},{e},2024-0{m}-1{i % 9} 12:00:00,{20 + i % 7}.5,completed")
    for name, lines in [("contacts", contacts), ("events", events), ("orders", orders)]:
        (tmp_path / f"{name}.csv").write_text("\n".join(lines) + "\n")
    cxlib.load(tmp_path)
    cxlib.unify.unify(tmp_path)
    journeys.build(tmp_path)
    personas.write_personas(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cxlib.simulate"):
        build(tmp_path)
    assert "0 buyers by then" in caplog.text and "'unassigned'" in caplog.text
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert ws.has("simulate_backtest") and ws.table("scenarios").count().to_pandas() > 0
