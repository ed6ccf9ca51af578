"""The generator's data has the properties it claims, scored against its own truth."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
import pytest

from cxlib import synth
from cxlib.synth import PERSONAS, STAGES, Counterfactual


def digest(folder):
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_same_arguments_same_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    synth.write_company(a, n_customers=2_500, seed=3, months=8, progress=False)
    synth.write_company(b, n_customers=2_500, seed=3, months=8, progress=False)
    assert digest(a) == digest(b)
    c = tmp_path / "c"
    synth.write_company(c, n_customers=2_500, seed=4, months=8, progress=False)
    assert digest(a)["contacts.csv"] != digest(c)["contacts.csv"]


@pytest.mark.slow
def test_in_memory_and_streamed_generation_agree(tmp_path):
    streamed = tmp_path / "s"
    synth.write_company(streamed, n_customers=2_100, seed=5, months=6, progress=False)
    mem = synth.generate(n_customers=2_100, seed=5, months=6)
    mem.write(tmp_path / "m")
    for name in ("contacts.csv", "orders.csv", "tickets.csv", "surveys.csv", "enrichment.csv"):
        assert (streamed / name).read_bytes() == (tmp_path / "m" / name).read_bytes(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(streamed / "events.parquet"), pd.read_parquet(tmp_path / "m" / "events.parquet")
    )
    truth = synth.load_truth(streamed)
    pd.testing.assert_frame_equal(truth.record_map, mem.truth.record_map.astype(truth.record_map.dtypes))


def test_persona_shares(company):
    shares = company.truth.people["persona"].value_counts(normalize=True)
    n = len(company.truth.people)
    for p in PERSONAS:
        expected = synth._PERSONA_SPECS[p]["share"]
        se = np.sqrt(expected * (1 - expected) / n)
        assert abs(shares[p] - expected) < 4 * se, (p, shares[p], expected)  # 4 standard errors


def test_persona_specs_are_public():
    assert "PERSONA_SPECS" in synth.__all__
    assert synth._PERSONA_SPECS is synth.PERSONA_SPECS  # the old private name still works
    assert tuple(synth.PERSONA_SPECS) == PERSONAS


def test_record_keys_are_the_schema_keys(company):
    from cxlib.schema import TABLES

    m = company.truth.record_map
    for name, df in company.tables.items():
        cols = [c for c in TABLES[name].key if c != "source"]
        key = df[cols[0]]
        for c in cols[1:]:  # the first key column that is not null
            key = key.combine_first(df[c])
        got = m.loc[m["table_name"] == name, "record_key"].reset_index(drop=True)
        pd.testing.assert_series_equal(got, key.reset_index(drop=True), check_names=False, check_dtype=False)


def test_transition_frequencies_recover_the_true_matrices(company):
    h = company.truth.stage_history.merge(company.truth.people[["person_id", "persona"]], on="person_id")
    h = h.sort_values(["person_id", "month"])
    h["next"] = h.groupby("person_id")["stage"].shift(-1)
    pairs = h.dropna(subset=["next"])
    T = synth.transition_matrices()
    checked = 0
    for (persona, src), g in pairs.groupby(["persona", "stage"], observed=True):
        # blitz arrivals, unresolved pre-sale tickets and the win-back offer change these rows on purpose
        if src in ("awareness", "consideration", "at_risk") or len(g) < 200:
            continue
        p, i = PERSONAS.index(persona), STAGES.index(src)
        freq = g["next"].value_counts(normalize=True).reindex(STAGES, fill_value=0).to_numpy()
        se = np.sqrt(T[p, i] * (1 - T[p, i]) / len(g)) + 1e-9
        assert np.all(np.abs(freq - T[p, i]) < 4 * se + 0.005), (persona, src, freq.round(3), T[p, i].round(3))
        checked += 1
    assert checked >= 10


def test_orders_in_the_data_match_the_truth(company):
    om = company.truth.record_map.query("table_name == 'orders' and defect != 'duplicate key'")
    assert om["person_id"].notna().all()
    per_person = om.groupby("person_id").size()
    truth = company.truth.stage_history.groupby("person_id")["orders"].sum()
    truth = truth[truth > 0]
    pd.testing.assert_series_equal(
        per_person.sort_index(), truth.sort_index().astype(per_person.dtype), check_names=False
    )
    # everyone who reached the purchase stage has an order in that month
    buyers = set(company.truth.stage_history.query("stage == 'purchase'")["person_id"])
    assert buyers <= set(om["person_id"])


def test_every_source_row_has_its_true_person(company):
    m = company.truth.record_map
    for name, df in company.tables.items():
        assert (m["table_name"] == name).sum() == len(df), name
    person_rows = m[m["table_name"] != "enrichment"]
    assert person_rows["person_id"].notna().all()
    assert set(person_rows["person_id"]) <= set(company.truth.people["person_id"])


def test_identity_mess_rates(company):
    c = company.tables["contacts"]
    m = company.truth.record_map.query("table_name == 'contacts'")
    assert len(m) == len(c)
    people = company.truth.people.set_index("person_id")
    truth = people.loc[m["person_id"].to_numpy()]
    emails = c["email"].fillna("")
    junk = emails.isin(synth.JUNK_EMAILS).mean()
    assert 0.003 < junk < 0.03  # IdentityNoise.junk_email = 0.01
    same = (emails.str.lower().to_numpy() == truth["email"].str.lower().to_numpy()).mean()
    assert 0.5 < same < 0.95  # variants, work addresses, missing and junk make up the rest
    upper = (emails != emails.str.lower()).mean()
    assert 0.05 < upper < 0.3
    exact_name = (c["first_name"].to_numpy() == truth["first_name"].to_numpy()).mean()
    assert 0.7 < exact_name < 0.95  # nicknames, typos, swaps
    # several records per buyer, across systems
    per_person = m.groupby("person_id")["source"].nunique()
    assert per_person.max() >= 4 and per_person.mean() > 1.5
    # households share an address with another person
    assert people["household_id"].duplicated().mean() > 0.05
    # junk identifiers shared by many people
    assert company.tables["tickets"]["phone"].eq(synth.CALL_CENTRE_PHONE).sum() > 5
    assert company.tables["events"]["anonymous_id"].fillna("").str.startswith("ck_kiosk").sum() > 50


def test_anonymous_sessions_are_identified_later_by_a_login(company):
    e = company.tables["events"]
    web = e[e["source"] == "web_analytics"]
    cookies_known = set(web.loc[web["contact_ref"].notna(), "anonymous_id"])
    anon_only = web[web["contact_ref"].isna() & web["anonymous_id"].isin(cookies_known)]
    assert len(anon_only) > 100  # anonymous events on cookies that a login later links
    assert (e["event"] == "login").sum() > 100


def test_planted_service_failure_is_observable(company):
    t = company.tables["tickets"]
    pre = t[t["topic"] == "pre_sale_question"]
    planted = company.truth.planted["service_failure"]
    assert planted["unresolved_presale_tickets"] == (pre["resolved"] == "false").sum()
    unresolved_share = (pre["resolved"] == "false").mean()
    assert abs(unresolved_share - planted["unresolved_probability"]) < 0.06
    assert planted["purchases_prevented_that_month"] > 0


def test_planted_marketing_failure_converts_worse(company):
    e = company.tables["events"]
    people = company.truth.people
    blitz_share = people["acquired_by_blitz"].mean()
    assert abs(blitz_share - 0.12) < 0.03
    h = company.truth.stage_history
    reached = h[h["stage"] == "consideration"]["person_id"].unique()
    conv = people.assign(considered=people["person_id"].isin(reached)).groupby("acquired_by_blitz")["considered"].mean()
    assert conv[True] < 0.5 * conv[False]
    assert (e["campaign"] == "social_blitz").sum() > 0


def test_winback_campaign_has_a_holdout(company):
    e = company.tables["events"]
    wb = e[e["campaign"] == "winback_offer"]
    holdout = (wb["event"] == "email_holdout").mean()
    assert 0.1 < holdout < 0.3
    assert company.truth.planted["winback_campaign"]["true_uplift_at_risk_to_repeat"] == 0.15


def test_returns_split_between_expectation_and_fulfilment(company):
    o = company.tables["orders"]
    reasons = o.loc[o["status"] == "returned", "return_reason"]
    fulfil = reasons.isin(company.truth.planted["returns"]["fulfilment_reasons"]).mean()
    assert abs(fulfil - 0.4) < 0.05


@pytest.mark.slow
def test_noop_counterfactual_reproduces_the_baseline_bit_for_bit():
    base = synth.generate(n_customers=1_500, seed=9, months=12)
    same = synth.generate(n_customers=1_500, seed=9, months=12, scenario=Counterfactual("no-op"))
    for name in base.tables:
        pd.testing.assert_frame_equal(base.tables[name], same.tables[name])


@pytest.mark.slow
def test_fixing_the_service_failure_only_changes_people_it_touches():
    base = synth.generate(n_customers=4_000, seed=9, months=18)
    fixed = synth.generate(
        n_customers=4_000, seed=9, months=18, scenario=Counterfactual("fix", fix_service_failure=True)
    )
    hb, hf = base.truth.stage_history, fixed.truth.stage_history
    merged = hb.merge(hf, on=["person_id", "month"], suffixes=("_b", "_f"))
    changed = set(merged.loc[merged["stage_b"] != merged["stage_f"], "person_id"])
    pre = base.tables["tickets"].query("topic == 'pre_sale_question' and resolved == 'false'")
    rm = base.truth.record_map.query("table_name == 'tickets'").set_index("record_key")["person_id"]
    touched = set(rm.loc[pre["ticket_id"]])
    assert changed and changed <= touched
    assert fixed.truth.stage_history["revenue"].sum() > base.truth.stage_history["revenue"].sum()
    buyers = lambda h: h.loc[h["stage"] == "purchase", "person_id"].nunique()  # noqa: E731
    # some of those who were prevented from buying that month buy later anyway
    assert 0 < buyers(hf) - buyers(hb) <= base.truth.planted["service_failure"]["purchases_prevented_that_month"]


@pytest.mark.slow
def test_scaling_a_transition_changes_conversion_in_that_direction():
    up = Counterfactual("more conversion", scale=(("consideration", "purchase", 1.5),))
    T0, T1 = synth.transition_matrices(), synth.transition_matrices(up)
    i, j = STAGES.index("consideration"), STAGES.index("purchase")
    assert np.allclose(T1[:, i, j], np.minimum(T0[:, i, j] * 1.5, 1)) and np.allclose(T1.sum(axis=2), 1)
    base = synth.generate(n_customers=2_000, seed=2, months=12)
    more = synth.generate(n_customers=2_000, seed=2, months=12, scenario=up)
    n = lambda c: c.truth.stage_history.query("stage == 'purchase'")["person_id"].nunique()  # noqa: E731
    assert n(more) > n(base)


def test_bad_arguments_are_clear():
    with pytest.raises(ValueError, match="unknown stage 'purchse'"):
        synth.generate(10, scenario=Counterfactual(scale=(("consideration", "purchse", 2.0),)))
    with pytest.raises(ValueError, match="n_customers must be at least 1"):
        synth.generate(0)


@pytest.mark.slow
def test_all_parquet_output_loads_the_same(tmp_path):
    from cxlib import io

    synth.write_company(tmp_path / "m", n_customers=400, seed=6, months=6, progress=False)
    synth.write_company(tmp_path / "p", n_customers=400, seed=6, months=6, progress=False, file_format="parquet")
    assert sorted(p.name for p in (tmp_path / "p").glob("*.parquet")) == [
        "contacts.parquet",
        "enrichment.parquet",
        "events.parquet",
        "orders.parquet",
        "surveys.parquet",
        "tickets.parquet",
    ]
    a, b = io.validate(tmp_path / "m").summary, io.validate(tmp_path / "p").summary
    cols = ["table_name", "rows_in", "rows_loaded", "rows_quarantined", "values_nulled"]
    pd.testing.assert_frame_equal(a[cols], b[cols])


# --- planted effects (the hiring case varies them per candidate) ----------------------------------------------


def test_default_effects_are_todays_company(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    synth.write_company(a, n_customers=600, seed=8, months=6, progress=False)
    synth.write_company(b, n_customers=600, seed=8, months=6, progress=False, effects=synth.PlantedEffects())
    assert digest(a) == digest(b)
    import json

    params = json.loads((a / "truth" / "params.json").read_text())
    assert "effects" not in params  # the demo company's params.json is unchanged
    planted = json.loads((a / "truth" / "planted.json").read_text())
    assert planted["service_failure"]["unresolved_probability"] == synth._PRESALE_UNRESOLVED_P
    assert planted["marketing_failure"]["stage"] == ["awareness", "consideration"]
    assert planted["winback_campaign"]["true_uplift_at_risk_to_repeat"] == synth._WINBACK_UPLIFT


@pytest.mark.slow
def test_effects_replay_the_same_people_with_other_mechanisms():
    fx = synth.PlantedEffects(blitz_share=0.3, blitz_factor=0.1, blitz_stage="consideration", presale_unresolved=0.1)
    base = synth.generate(n_customers=1_500, seed=4, months=12, effects=fx)
    assert base.truth.planted["marketing_failure"]["stage"] == ["consideration", "purchase"]
    assert base.truth.planted["marketing_failure"]["share_of_arrivals"] == 0.3
    assert base.truth.params["effects"]["blitz_stage"] == "consideration"
    blitz = base.truth.people.set_index("person_id")["acquired_by_blitz"]
    assert 0.25 < blitz.mean() < 0.35
    # the campaign's traffic considers like everyone else but rarely buys
    h = base.truth.stage_history
    cons = h[h["stage"] == "consideration"]["person_id"].unique()
    bought = set(h[h["stage"] == "purchase"]["person_id"])
    conv = pd.Series([p in bought for p in cons], index=cons).groupby(blitz.loc[cons].to_numpy()).mean()
    assert conv[True] < 0.5 * conv[False]
    # the same seed with the targeting fixed: the same people, and only the campaign's people change
    fixed = synth.generate(n_customers=1_500, seed=4, months=12, effects=dataclasses.replace(fx, blitz_factor=1.0))
    pd.testing.assert_frame_equal(base.truth.people, fixed.truth.people)
    m = base.truth.stage_history.merge(fixed.truth.stage_history, on=["person_id", "month"], suffixes=("_b", "_f"))
    changed = set(m.loc[m["stage_b"] != m["stage_f"], "person_id"])
    assert changed and changed <= set(blitz[blitz].index)
    assert fixed.truth.stage_history["revenue"].sum() > h["revenue"].sum()


def test_persona_mix_churn_and_rollout():
    shares = (0.05, 0.05, 0.05, 0.80, 0.05)
    fx = synth.PlantedEffects(persona_shares=shares, churn=(("big_ticket", 2.0),))
    c = synth.generate(n_customers=1_000, seed=5, months=8, effects=fx)
    assert c.truth.people["persona"].value_counts(normalize=True)["big_ticket"] > 0.7
    T0, T1 = synth.transition_matrices(), synth.transition_matrices(effects=fx)
    b, rep, risk = PERSONAS.index("big_ticket"), STAGES.index("repeat"), STAGES.index("at_risk")
    assert T1[b, rep, risk] == pytest.approx(2 * T0[b, rep, risk]) and np.allclose(T1.sum(axis=2), 1)
    assert np.array_equal(np.delete(T1, b, axis=0), np.delete(T0, b, axis=0))
    rolled = synth.generate(n_customers=1_000, seed=5, months=8, effects=synth.PlantedEffects(winback_rollout=True))
    ev = rolled.tables["events"]
    assert not (ev["event"] == "email_holdout").any()
    offers = ev[ev["campaign"] == "winback_offer"]
    assert offers["ts"].dt.month.nunique() > 3  # every month, not the campaign's three


def test_bad_effects_are_clear():
    with pytest.raises(ValueError, match="blitz_stage must be 'awareness' or 'consideration'"):
        synth.generate(10, effects=synth.PlantedEffects(blitz_stage="purchase"))
    with pytest.raises(ValueError, match="unknown persona 'loyal'"):
        synth.generate(10, effects=synth.PlantedEffects(churn=(("loyal", 2.0),)))
    with pytest.raises(ValueError, match="persona_shares needs 5"):
        synth.generate(10, effects=synth.PlantedEffects(persona_shares=(1.0, 2.0)))
    with pytest.raises(ValueError, match="presale_unresolved must be between 0 and 1"):
        synth.generate(10, effects=synth.PlantedEffects(presale_unresolved=1.5))


def test_record_ids_and_row_order_do_not_say_who_is_who(company):
    """Two systems' records of the same people stand in no common order, by row or by id, and an id does not
    say which block of people it was made in (the hiring case's candidates could otherwise line them up).
    The rows are written block by block (2,000 people each): the rows, not the ids, still say which block."""
    m = company.truth.record_map
    c = company.tables["contacts"].reset_index(drop=True)
    keyed = m[m["table_name"] == "contacts"].set_index(["source", "record_key"])["person_id"]
    c["person"] = keyed.reindex(pd.MultiIndex.from_frame(c[["source", "record_id"]])).to_numpy()
    c["row"] = np.arange(len(c))
    c["first_block"] = c["person"].str[1:].astype(int) < synth.BLOCK_SIZE
    first = c[c["first_block"]].groupby(["source", "person"]).agg(row=("row", "min"), rid=("record_id", "min"))
    first = first.reset_index()
    shop, crm = (first[first["source"] == s].set_index("person") for s in ("shop", "crm"))
    both = shop.merge(crm, left_index=True, right_index=True, suffixes=("_shop", "_crm"))
    assert len(both) > 300
    for col in ("row", "rid"):
        r = both[f"{col}_shop"].rank().corr(both[f"{col}_crm"].rank())
        assert abs(r) < 0.15, (col, r)
    # the people of the first block and of the rest: their ids interleave
    rank = c["record_id"].str[-11:].astype("int64").rank()
    auc = (rank[c["first_block"]].mean() - (c["first_block"].sum() + 1) / 2) / (~c["first_block"]).sum()
    assert 0.4 < auc < 0.6, auc
