"""Strategy simulator: hand-computable chains, recovery of the true matrices, and the counterfactual check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import cxlib
from cxlib import simulate as sim
from cxlib import synth


def _chain(rows: list[tuple[str, list[str], list[float]]]) -> pd.DataFrame:
    """Customers' monthly stages and revenue: (customer, stages, revenue)."""
    out = []
    for c, stages, rev in rows:
        for i, (s, r) in enumerate(zip(stages, rev, strict=True)):
            out.append((c, pd.Timestamp("2024-01-01") + pd.DateOffset(months=i), s, r))
    return pd.DataFrame(out, columns=["customer_id", "month", "stage", "revenue"])


TWO = ["repeat", "lost"]


def test_two_state_chain_by_hand():
    # 4 repeat -> repeat, 1 repeat -> lost: p(stay) = 0.8; revenue 10 per repeat month
    h = _chain([("a", ["repeat"] * 5, [10.0] * 5), ("b", ["repeat", "lost"], [10.0, 0.0])])
    m = sim.JourneyModel(stages=TWO, prior=0.0).fit(h)
    assert m.transition_matrix_.loc["repeat", "repeat"] == pytest.approx(0.8)
    assert m.absorbing_ == ["lost"]
    # expected months until lost from repeat: 1 / 0.2 = 5
    assert m.absorption().loc["repeat", "expected_months"] == pytest.approx(5.0)
    # undiscounted lifetime revenue: 10 * 5 = 50; discounted: 10 / (1 - d * 0.8)
    d = 1.1 ** (-1 / 12)
    assert m.clv(0.10)["repeat"] == pytest.approx(10 / (1 - d * 0.8))
    assert m.clv(0.0)["repeat"] == pytest.approx(50.0)
    # forecast from 100 repeat customers, no arrivals: 80, 64 after one and two months
    out = sim.simulate(m, [], months=2, draws=None, start=np.array([[100, 0]]), arrivals=None)
    rep = out[out.metric == "customers:repeat"]["mean"].tolist()
    assert rep == pytest.approx([80.0, 64.0])
    rev = out[out.metric == "cumulative_revenue"]["mean"].tolist()
    assert rev == pytest.approx([800.0, 1440.0])
    # the forecast: from where customers are in the latest month (a: repeat, b: lost), with bands
    f = m.forecast(months=2, draws=200)
    assert set(f.columns) >= {"month", "metric", "mean", "p5", "p95"} and "scenario" not in f
    rep = f[f.metric == "customers:repeat"]
    assert (rep["p5"] <= rep["mean"]).all() and (rep["mean"] <= rep["p95"]).all()


def test_three_state_absorption_by_hand():
    stages = ["at_risk", "churned", "lost"]
    # at_risk: 2 stay, 1 churn, 1 lost; churned: 1 back to at_risk, 1 lost
    h = _chain(
        [
            ("a", ["at_risk", "at_risk", "at_risk", "churned", "at_risk", "lost"], [0.0] * 6),
            ("b", ["at_risk", "lost"], [0.0, 0.0]),
            ("c", ["churned", "lost"], [0.0, 0.0]),
        ]
    )
    m = sim.JourneyModel(stages=stages, prior=0.0).fit(h)
    P = m.matrices()[0]
    # at_risk row from 5 exits: 2 stay, 1 churn, 2 lost (a's last at_risk month and b)
    assert P[0].tolist() == pytest.approx([0.4, 0.2, 0.4])
    assert P[1].tolist() == pytest.approx([0.5, 0.0, 0.5])
    Q = P[:2, :2]
    N = np.linalg.inv(np.eye(2) - Q)
    got = m.absorption()
    assert got["expected_months"].tolist() == pytest.approx(N.sum(axis=1).tolist())
    assert got["lost"].tolist() == pytest.approx([1.0, 1.0])


def test_levers_move_the_right_cells():
    h = _chain(
        [("a", ["consideration", "purchase", "onboarding"], [0.0, 50.0, 0.0])]
        + [(f"x{i}", ["consideration", "lost"], [0.0, 0.0]) for i in range(3)]
    )
    m = sim.JourneyModel(prior=0.0).fit(h)
    x0 = np.zeros((1, len(m.stages)))
    x0[0, m.stages.index("consideration")] = 100
    out = sim.simulate(
        m,
        [
            sim.Scenario("lift", [sim.Scenario.scale("consideration", "purchase", 2.0)]),
            sim.Scenario("aov", [sim.Scenario.aov(1.5)]),
            sim.Scenario("cut", [sim.Scenario.cut("consideration", "lost", 0.25)]),
            sim.Scenario("set", [sim.Scenario.set("consideration", "purchase", 0.6)]),
        ],
        months=1,
        draws=None,
        start=x0,
        arrivals=None,
    )
    got = out[out.metric == "customers:purchase"].set_index("scenario")["mean"]
    assert got["baseline"] == pytest.approx(25.0) and got["lift"] == pytest.approx(50.0)
    assert got["set"] == pytest.approx(60.0)
    rev = out[out.metric == "revenue"].set_index("scenario")["mean"]
    assert rev["aov"] == pytest.approx(1.5 * rev["baseline"])
    stay = out[out.metric == "customers:consideration"].set_index("scenario")["mean"]
    assert stay["cut"] == pytest.approx(25.0)
    ranked = sim.compare(out)
    assert ranked["gain"].is_monotonic_decreasing and ranked.iloc[-1]["scenario"] in ("baseline", "cut")
    assert len(sim.fan_chart(out).data) == 8  # a band and a line per scenario but the baseline
    assert len(sim.future_state_figure(out, "lift").data) == 2


def test_the_fan_chart_gives_each_scenario_its_own_colour_and_its_band_the_same():
    """Seven scenarios, seven colours (plotly's cycle of ten, one per trace, repeated the first at the sixth
    scenario and gave each band another scenario's colour)."""
    rows = [
        {"scenario": s, "month": 1, "metric": "revenue", "mean": 1.0, "p5": 0.0, "p95": 2.0,
         "diff_mean": 1.0, "diff_p5": 0.0, "diff_p95": 2.0}
        for s in ["baseline", *(f"plan {i}" for i in range(7))]
    ]  # fmt: skip
    fig = sim.fan_chart(pd.DataFrame(rows))
    bands, lines = fig.data[0::2], fig.data[1::2]
    assert [t.name for t in lines] == [f"plan {i}" for i in range(7)]
    assert len({t.line.color for t in lines}) == 7
    assert [t.fillcolor for t in bands] == [t.line.color for t in lines]


def test_moving_new_customers_between_channels():
    # paid_social arrivals never convert; paid_search arrivals all do
    h = pd.concat(
        [
            _chain([(f"s{i}", ["consideration", "lost"], [0.0, 0.0]) for i in range(4)]).assign(ch="paid_social"),
            _chain([(f"p{i}", ["consideration", "purchase"], [0.0, 40.0]) for i in range(4)]).assign(ch="paid_search"),
        ]
    )
    m = sim.JourneyModel(by="ch", prior=0.0).fit(h)
    arr = np.zeros((2, 2, len(m.stages)))
    arr[0, m.segments_.index("paid_social"), m.stages.index("consideration")] = 100
    out = sim.simulate(
        m,
        [sim.Scenario("shift", [sim.Scenario.move("paid_social", "paid_search", 0.3)])],
        months=2,
        draws=None,
        start=np.zeros((2, len(m.stages))),
        arrivals=arr,
    )
    got = out[(out.metric == "customers:purchase") & (out.month == 2)].set_index("scenario")["mean"]
    assert got["baseline"] == pytest.approx(0.0) and got["shift"] == pytest.approx(30.0)
    with pytest.raises(ValueError, match="no segment"):
        sim.simulate(m, [sim.Scenario("x", [sim.Scenario.move("tv", "paid_search", 0.3)])], months=1, draws=None)


def test_more_arrivals_scale_every_month_of_the_chosen_segment_and_stage():
    """``Scenario.arrivals`` scales the arrivals of the segments and stage it names in every forecast month,
    with posterior draws and without (the arrivals array is (draws, months, segment, stage))."""
    h = pd.concat(
        [
            _chain([(f"s{i}", ["consideration", "lost"], [0.0, 0.0]) for i in range(4)]).assign(ch="paid_social"),
            _chain([(f"p{i}", ["consideration", "purchase"], [0.0, 40.0]) for i in range(4)]).assign(ch="paid_search"),
        ]
    )
    m = sim.JourneyModel(by="ch", prior=0.0).fit(h)
    arr = np.zeros((3, 2, len(m.stages)))
    arr[:, :, m.stages.index("consideration")] = 100
    more = sim.Scenario("more", [sim.Scenario.arrivals(1.5, "consideration", ["paid_search"])])
    for draws in (None, 20):
        start = np.zeros((2, len(m.stages)))
        out = sim.simulate(m, [more], months=3, draws=draws, start=start, arrivals=arr, random_state=1)
        got = out[out.metric == "customers:purchase"].pivot(index="month", columns="scenario", values="mean")
        assert np.allclose(got["more"], 1.5 * got["baseline"]), (draws, got)
        assert got["baseline"].iloc[-1] > 0


def test_personas_found_among_buyers_share_the_prospect_stages():
    # personas defined by what buyers did: A (big baskets), B (small) and P (never bought)
    rows = []
    for i in range(200):
        persona = "A" if i < 50 else "B" if i < 100 else "P"
        if persona == "P":
            rows.append((f"c{i}", ["consideration", "lost", "lost"], [0.0, 0.0, 0.0], persona))
        else:
            rev = (100.0, 50.0) if persona == "A" else (20.0, 10.0)
            rows.append((f"c{i}", ["consideration", "purchase", "repeat"], [0.0, *rev], persona))
    h = pd.concat([_chain([r[:3]]).assign(persona=r[3]) for r in rows], ignore_index=True)
    lift = [sim.Scenario("lift", [sim.Scenario.scale("consideration", "purchase", 1.1)])]

    def gain(model, start_segment, population=False):
        x0 = np.zeros((len(model.segments_), len(model.stages)))
        x0[model.segments_.index(start_segment), model.stages.index("consideration")] = 100
        out = sim.simulate(
            model,
            lift,
            months=2,
            draws=None if not population else 200,
            start=x0,
            arrivals=None,
            population=population,
            random_state=0,
        )
        last = out[(out.month == 2) & (out.scenario == "lift")]
        cust = last[last.metric.str.startswith("customers:")]["mean"].sum()
        return float(last.loc[last.metric == "cumulative_revenue", "diff_mean"].iloc[0]), cust

    one = sim.JourneyModel(prior=0.0).fit(h)
    naive = sim.JourneyModel(by="persona", prior=0.0).fit(h)
    shared = sim.JourneyModel(by="persona", prior=0.0, shared_stages=sim.PROSPECT_STAGES).fit(h)
    g_one, n_one = gain(one, "all")
    # 100 prospects: 50 buy, 55 with the lever; a buyer is worth 60 + 30 on average
    assert g_one == pytest.approx(5 * (60 + 30))
    # naively per persona, the never-bought persona converts nobody: the lever is worth nothing
    assert gain(naive, "P")[0] == pytest.approx(0.0)
    # shared: the prospects convert at everyone's rate and the new buyers join A and B half and half
    g_shared, n_shared = gain(shared, "P")
    assert g_shared == pytest.approx(g_one) and n_shared == pytest.approx(n_one) == pytest.approx(100)
    # a prospect's lifetime value is what the persona they may join is worth, whatever their segment
    assert naive.clv(segment="P")["consideration"] == pytest.approx(0.0)
    for seg in ("A", "B", "P"):
        assert shared.clv(segment=seg)["consideration"] == pytest.approx(one.clv()["consideration"])
    assert shared.absorption(segment="P").loc["consideration", "lost"] == pytest.approx(0.5)
    # the customer-journey stages keep their persona detail
    assert shared.revenue_.set_index(["segment", "stage"]).loc[("A", "repeat"), "revenue"] == pytest.approx(50)
    # the per-customer Monte Carlo switches segments the same way (200 draws of 100 customers)
    g_pop, _ = gain(shared, "P", population=True)
    assert g_pop == pytest.approx(g_one, rel=0.15)
    with pytest.raises(cxlib.DataError, match="shared_stages"):
        sim.JourneyModel(by="persona", shared_stages=["nowhere"]).fit(h)


def test_estimator_conventions_and_determinism():
    m = sim.JourneyModel(by="persona", random_state=3)
    assert m.get_params()["by"] == "persona"
    with pytest.raises(NotFittedError):
        m.matrices()
    h = _chain([("a", ["repeat", "repeat", "lost"], [5.0, 5.0, 0.0])]).assign(persona="p")
    m.fit(h)
    a = sim.simulate(m, [], months=3, draws=50, random_state=1)
    b = sim.simulate(m, [], months=3, draws=50, random_state=1)
    pd.testing.assert_frame_equal(a, b)
    shuffled = sim.JourneyModel(by="persona", random_state=3).fit(h.sample(frac=1, random_state=0))
    np.testing.assert_array_equal(shuffled.counts_, m.counts_)


def test_draw_blocks_and_the_kept_baseline_change_no_number(monkeypatch):
    """A page's lever propagates its plan alone (the baseline kept with the model's draws), in blocks of draws on
    every core: the numbers are those of one pass over all draws, a second call's those of the first."""
    from cxlib.simulate import run

    h = _chain([("a", ["consideration", "purchase", "repeat", "at_risk"], [0.0, 50.0, 20.0, 0.0]),
                ("b", ["consideration", "lost", "lost", "lost"], [0.0] * 4),
                ("c", ["awareness", "consideration", "purchase", "repeat"], [0.0, 0.0, 40.0, 30.0])])
    m = sim.persona_model(h.assign(persona="p"))
    monkeypatch.setattr(run, "DRAW_BLOCK", 16)  # five blocks of draws
    plan = [sim.Scenario("plan", [sim.Scenario.scale("consideration", "purchase", 1.2)])]
    first = sim.simulate(m, plan, months=4, draws=70, random_state=5)
    assert any(k[0] == "baseline" for k in m.__dict__["_draws"] if isinstance(k[0], str))  # kept
    pd.testing.assert_frame_equal(sim.simulate(m, plan, months=4, draws=70, random_state=5), first)
    monkeypatch.setattr(run, "DRAW_BLOCK", 1000)  # one block, nothing kept
    m.__dict__.pop("_draws")
    whole = sim.simulate(m, plan, months=4, draws=70, random_state=5)
    pd.testing.assert_frame_equal(whole, first, check_exact=False, rtol=1e-12)


def test_a_scenario_on_revenue_alone_shares_the_customers_without_changing_a_number(monkeypatch):
    """A scenario that changes neither the chain nor the arrivals (AOV) is not propagated again: its customers
    are those of the first such scenario (the baseline), its revenue its own -- the numbers to the bit of
    propagating every scenario, with the baseline kept from an earlier call or not."""
    from cxlib.simulate import run

    h = _chain([("a", ["consideration", "purchase", "repeat", "at_risk"], [0.0, 50.0, 20.0, 0.0]),
                ("b", ["consideration", "lost", "lost", "lost"], [0.0] * 4),
                ("c", ["awareness", "consideration", "purchase", "repeat"], [0.0, 0.0, 40.0, 30.0])])
    m = sim.persona_model(h.assign(persona="p"))
    plans = [sim.Scenario("AOV +5%", [sim.Scenario.aov(1.05)]),
             sim.Scenario("conversion", [sim.Scenario.scale("consideration", "purchase", 1.2)]),
             sim.Scenario("AOV +10%", [sim.Scenario.aov(1.1)])]
    shared = sim.simulate(m, plans, months=4, draws=40, random_state=5)
    again = sim.simulate(m, plans, months=4, draws=40, random_state=5)  # the baseline kept: AOV +5% leads
    m.__dict__.pop("_draws")
    plain, moved = (np.array([], dtype=int), np.array([])), (np.array([0]), np.array([1]))
    assert run._same_paths([plain, moved, plain], [(None, 1, "b")] * 3, "b") == [0, 1, 0]
    monkeypatch.setattr(run, "_same_paths", lambda changed, applied, base: list(range(len(changed))))
    each = sim.simulate(m, plans, months=4, draws=40, random_state=5)
    pd.testing.assert_frame_equal(shared, each, check_exact=True)
    pd.testing.assert_frame_equal(again, each, check_exact=True)


def test_persona_model_is_the_cx_simulate_setup():
    """One function fits the model `cx simulate` (and notebook 04) use: per persona, prospect stages shared."""
    h = _chain(
        [
            ("a", ["consideration", "purchase", "onboarding"], [0.0, 50.0, 0.0]),
            ("b", ["consideration", "purchase", "repeat"], [0.0, 40.0, 10.0]),
            ("c", ["awareness", "lost"], [0.0, 0.0]),
        ]
    )
    h["persona"] = h["customer_id"].map({"a": "p", "b": "q", "c": "unassigned"})
    m = sim.persona_model(h)
    by_hand = sim.JourneyModel(by="persona", shared_stages=sim.PROSPECT_STAGES, pool=sim.POOL).fit(h)
    np.testing.assert_array_equal(m.alpha_, by_hand.alpha_)
    assert m.by == "persona" and tuple(m.shared_stages) == sim.PROSPECT_STAGES
    one = sim.persona_model(h.drop(columns="persona"))
    assert one.by is None and one.segments_ == ["all"] and not one.shared_stages


@pytest.mark.slow
def test_workspace_functions_close_what_they_open(tmp_path, workspace):
    """A workspace opened from a path is closed: the same file then opens with another configuration."""
    import shutil

    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copy(workspace / "workspace.duckdb", folder / "workspace.duckdb")
    h = sim.history_from_workspace(folder)  # read-only (stage_history built on the fly)
    cxlib.connect(folder).close()
    sim.build(folder, months=2, draws=20)  # read-write
    cxlib.connect(folder, read_only=True).close()
    assert len(h) and set(h["acquisition_channel"]) - {"unknown"}


@pytest.mark.slow
def test_history_is_built_in_the_engine_the_same_on_spark(engine, engine_workspace):
    """The panel cx simulate fits is joined, filled and sorted in the engine: Spark gives DuckDB's rows, in
    DuckDB's order, and leaving out the acquisition channel leaves the rest as it was."""
    h = sim.history_from_workspace(engine)
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        expected = sim.history_from_workspace(ref)
        lean = sim.history_from_workspace(ref, channel=False)
    assert len(h) and list(h.columns) == list(expected.columns)
    pd.testing.assert_frame_equal(h, expected, check_dtype=False)
    pd.testing.assert_frame_equal(lean, expected.drop(columns="acquisition_channel"))


@pytest.fixture(scope="module")
def truth_company():
    """A company's true history with each row's persona (the source tables are not needed here)."""
    return synth.stage_history(n_customers=20_000, seed=7, months=24, detail=True).drop(columns="presale_failure")


@pytest.mark.slow
def test_fitted_matrices_recover_the_truth(truth_company):
    m = sim.JourneyModel(by="persona", prior=0.0).fit(truth_company.assign(stage=truth_company["stage"].astype(str)))
    true = synth.transition_matrices()[[synth.PERSONAS.index(s) for s in m.segments_]]
    mae = np.abs(m.matrices() - true).mean()
    assert mae <= 0.02, mae  # the tolerance: mean absolute error per cell


def _presale_flags(company, h: pd.DataFrame) -> pd.Series:
    """Which person-months had an unresolved pre-sale ticket (from the tickets and the record map)."""
    tk = company.tables["tickets"]
    rm = company.truth.record_map
    tk = tk.merge(
        rm[rm.table_name == "tickets"][["record_key", "person_id"]], left_on="ticket_id", right_on="record_key"
    )
    bad = tk[(tk.topic == "pre_sale_question") & (tk.resolved.astype(str).str.lower() == "false")]
    months = pd.to_datetime(bad.opened_at.astype(str).str[:10]).dt.to_period("M")
    flagged = set(zip(bad.person_id, months, strict=True))
    hm = pd.to_datetime(h["month"]).dt.to_period("M")
    return pd.Series([(p, m) in flagged for p, m in zip(h["person_id"], hm, strict=True)], index=h.index)


CF = (60_000, 12, 6)  # people, months, seed of the counterfactual check


@pytest.fixture(scope="module")
def cf_base():
    """The counterfactual check's company: its true history with each row's persona and pre-sale failure
    (what :func:`_presale_flags` reads from the tickets, checked equal below), without the source tables."""
    n, months, seed = CF
    return synth.stage_history(n_customers=n, seed=seed, months=months, detail=True)


def test_the_detailed_history_flags_exactly_the_unresolved_presale_tickets():
    """``stage_history(detail=True)`` is the truth's history plus the persona and the flag the tickets carry,
    so the counterfactual check can skip generating the source tables."""
    company = synth.generate(n_customers=3_000, seed=6, months=12)
    got = synth.stage_history(n_customers=3_000, seed=6, months=12, detail=True)
    h = company.truth.stage_history.merge(company.truth.people[["person_id", "persona"]], on="person_id")
    pd.testing.assert_frame_equal(got.drop(columns="presale_failure"), h)
    flags = _presale_flags(company, h)
    assert flags.sum() > 20
    assert got["presale_failure"].tolist() == flags.tolist()


@pytest.mark.slow
@pytest.mark.xdist_group("counterfactual")
@pytest.mark.parametrize(
    ("name", "counterfactual", "levers"),
    [
        (
            "lift conversion 20%",
            synth.Counterfactual("conv", scale=(("consideration", "purchase", 1.2),)),
            [sim.Scenario.scale("consideration", "purchase", 1.2)],
        ),
        (
            "halve at-risk churn",
            synth.Counterfactual("churn", scale=(("at_risk", "churned", 0.5),)),
            [sim.Scenario.scale("at_risk", "churned", 0.5)],
        ),
        ("fix the service failure", synth.Counterfactual("fix", fix_service_failure=True), None),
    ],
)
def test_simulator_predicts_the_counterfactual(name, counterfactual, levers, cf_base):
    """The central check: predicted 12-month revenue change vs the change the generator's counterfactual
    (same seed, same people, common random numbers) really produced: within 15%, and inside the 5-95% band
    of the population simulation."""
    n, months, seed = CF
    alt = synth.stage_history(n_customers=n, seed=seed, months=months, scenario=counterfactual)  # its truth only
    true = alt["revenue"].sum() - cf_base["revenue"].sum()
    h = cf_base.assign(stage=cf_base["stage"].astype(str))
    if levers is None:  # estimated from the data: conversion with and without a failure, per persona
        levers = sim.service_failure_lever(h, by="persona")
    else:
        h = h.drop(columns="presale_failure")
    m = sim.JourneyModel(by="persona", prior=0.0, random_state=0).fit(h)
    out = sim.simulate(
        m,
        [sim.Scenario(name, levers)],
        months=months,
        draws=100,
        start="empty",
        arrivals="history",
        population=True,
        random_state=0,
    )
    got = sim.compare(out).set_index("scenario").loc[name]
    assert got["gain"] == pytest.approx(true, rel=0.15)
    assert got["gain_p5"] <= true <= got["gain_p95"], (true, got.to_dict())


@pytest.mark.slow
def test_lifetime_value_agrees_with_the_personas_value(tmp_path, workspace):
    """CLV per persona from the journey model ranks personas as their observed value does."""
    import shutil

    import cxlib
    from cxlib import journeys, personas

    folder = tmp_path / "ws"
    shutil.copytree(workspace, folder)
    journeys.build(folder)
    personas.write_personas(folder)
    h = sim.history_from_workspace(folder)
    clv = sim.JourneyModel(by="persona").fit(h).clv_table()["repeat"]
    with cxlib.connect(folder, read_only=True) as ws:
        p = ws.table("personas").to_pandas()
    value = p[p["persona"] >= 0].groupby("persona_name")["value"].mean()
    both = pd.DataFrame({"clv": clv, "value": value}).dropna()
    assert len(both) >= 3
    assert both["clv"].rank().corr(both["value"].rank()) >= 0.9, both


def test_service_failure_lever_reads_each_customers_next_month_whatever_the_row_order():
    """The lever compares consideration -> purchase in consecutive months of one customer, flagged or not: the
    same levers from shuffled rows; a move across a gap of months, or between two rows without a customer, is
    none."""
    months = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"])
    rows = []
    for i in range(40):  # 40 customers: consideration, then purchase for every other one
        flagged = i % 4 == 0
        nxt = "purchase" if i % 2 == 0 and not flagged else "consideration"
        for m, stage, flag in zip(months[:2], ["consideration", nxt], [flagged, False], strict=True):
            rows.append(
                {
                    "customer_id": f"c{i:02d}",
                    "month": m,
                    "stage": stage,
                    "presale_failure": flag,
                    "persona": "p" if i < 20 else "q",
                }
            )
    h = pd.DataFrame(rows)
    # two months apart: not a move; two rows with no customer: not one customer's move
    h = pd.concat(
        [
            h,
            pd.DataFrame(
                {
                    "customer_id": ["gap", "gap", None, None],
                    "month": [months[0], months[2], months[0], months[1]],
                    "stage": ["consideration", "purchase", "consideration", "purchase"],
                    "presale_failure": False,
                    "persona": "p",
                }
            ),
        ],
        ignore_index=True,
    )
    levers = sim.service_failure_lever(h, by="persona")
    assert levers == sim.service_failure_lever(h.sample(frac=1.0, random_state=3), by="persona")
    # persona p (customers 0-19): 5 of 20 convert (2, 6, 10, 14, 18), none of the 5 flagged: 5 of the 15 clean
    p = next(lv for lv in levers if lv[4] == ("p",))
    assert p[3] == pytest.approx((5 / 15) / (5 / 20))
