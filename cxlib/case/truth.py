"""The answer key, re-derived: regenerate the company from its seed and measure the answers on its truth.

The key is never written anywhere; :func:`case_truth` measures it on the generator's truth (who the people
are, which stage each is in each month, what the planted failures caused), replays the company with each
lever in place for the levers' true effects, and runs the brief's reference analysis for the simulator's
estimates the candidate's number is scored against.

Examples
--------
>>> from cxlib.case.truth import case_truth, perfect_answers
>>> t = case_truth(3, n_customers=300, months=12, reference=False)
>>> perfect_answers(t)["dropoff_step"] == t["dropoff"]["step"]
True
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cxlib import synth
from cxlib.case.design import _MONTHS, _START, DEFAULT_CUSTOMERS, _fingerprint, _generate, case_design
from cxlib.case.questions import LEVERS
from cxlib.schema import TABLES

#: The levers whose true effect the generator measures (``other`` is the interviewer's).
_TRUE_LEVERS = tuple(k for k in LEVERS if k != "other")


def case_truth(
    seed: int,
    n_customers: int = DEFAULT_CUSTOMERS,
    *,
    months: int = _MONTHS,
    reference: bool = True,
    progress: bool = False,
) -> dict[str, Any]:
    """The answer key of the case a seed makes, re-derived by regenerating the company.

    Regenerates the company (deterministic per seed) and measures, on its truth:

    - ``real_customers``: distinct people with a contact record or an e-mail, phone or contact reference in
      any source row;
    - ``dropoff``: people who reached each buyer step's start and never its end (the biggest is the
      answer) and the planted mechanisms' caused losses there (the larger one is the cause);
    - ``abandoners_share``: checkout abandoners whose unresolved pre-sale question came before their last
      checkout start (the generator's observable count);
    - ``personas``: revenue in the last 12 months and the share of buyers at risk or churned in the last
      month, by true persona;
    - ``levers``: each lever's true effect (the generator replays the same people with the lever in place,
      revenue of the last 12 months) -- the best lever is the answer -- and the simulator's estimate by the
      reference method of the brief (unify, journeys, ``JourneyModel()`` on ``history_from_workspace``,
      12 months), which the candidate's number is scored against.

    Takes about half a minute for a few thousand customers, most of it the reference analysis (it unifies
    the data); ``reference=False`` leaves it out (no ``simulator_*`` entries: grading needs them). The
    result is cached per process.

    Examples
    --------
    >>> t = case_truth(3, n_customers=300, months=12, reference=False)
    >>> t["dropoff"]["step"] in ("awareness_to_consideration", "consideration_to_purchase")
    True
    >>> t["levers"]["best"] in LEVERS
    True
    """
    return copy.deepcopy(_case_truth(int(seed), int(n_customers), int(months), reference, progress))


@functools.lru_cache(maxsize=8)
def _case_truth(seed: int, n_customers: int, months: int, reference: bool, progress: bool) -> dict[str, Any]:
    design = case_design(seed)
    fx = design["effects"]
    with tempfile.TemporaryDirectory(prefix="cxcase-truth-") as tmp:
        folder = _generate(Path(tmp), seed, n_customers, months, _START, progress)
        fingerprint = _fingerprint(folder)
        truth = synth.load_truth(folder)
        real = _real_customers(folder, truth.record_map)
        simulated = _reference(folder, fx, progress) if reference else {}
    hist = truth.stage_history.merge(truth.people[["person_id", "persona"]], on="person_id")
    return {
        "seed": seed,
        "n_customers": n_customers,
        "months": months,
        "company": design["company"],
        "pattern": design["pattern"],
        "fingerprint": fingerprint,
        "real_customers": int(real),
        "dropoff": _dropoff(hist, truth.planted),
        "abandoners_share": float(truth.planted["service_failure"]["abandoners_share_with_presale_failure"]),
        "personas": _personas(hist),
        "levers": {**_true_levers(seed, n_customers, months, fx, hist), **simulated},
        "winback_true_uplift": float(fx.winback_uplift),
    }


def _dropoff(hist: pd.DataFrame, planted: Mapping[str, Any]) -> dict[str, Any]:
    """The step most people reach the start of and never the end (``step``), and what caused it (``cause``)."""
    reached = hist.groupby("person_id")["stage"].agg(lambda s: set(s.astype(str)))
    aw = reached.map(lambda s: "awareness" in s)
    co = reached.map(lambda s: "consideration" in s)
    pu = reached.map(lambda s: "purchase" in s)
    counts = {
        "awareness_to_consideration": int((aw & ~co).sum()),
        "consideration_to_purchase": int((co & ~pu).sum()),
    }
    step = max(counts, key=counts.get)
    caused = {"service": 0, "marketing": 0}
    if step == "consideration_to_purchase":
        caused["service"] = int(planted["service_failure"]["purchases_prevented_that_month"])
    if planted["marketing_failure"]["stage"][0] == ("awareness" if step.startswith("awareness") else "consideration"):
        caused["marketing"] = int(planted["marketing_failure"]["progressions_lost_caused"])
    cause = "service" if caused["service"] > caused["marketing"] else "marketing"
    return {"step": step, "cause": cause, "dropped": counts, "caused": caused}


def _last12_rows(hist: pd.DataFrame) -> pd.DataFrame:
    """The stage-history rows of the last 12 months of data."""
    months = sorted(hist["month"].unique())
    return hist[hist["month"].isin(months[-12:])]


def _personas(hist: pd.DataFrame) -> dict[str, Any]:
    """By true persona: revenue in the last 12 months, and the share of buyers at risk or churned in the last month."""
    revenue = _last12_rows(hist).groupby("persona")["revenue"].sum()
    buyers = set(hist.loc[hist["stage"].astype(str) == "purchase", "person_id"])
    last = hist[(hist["month"] == sorted(hist["month"].unique())[-1]) & hist["person_id"].isin(buyers)]
    at_risk = last.groupby("persona")["stage"].agg(lambda s: float(s.astype(str).isin(["at_risk", "churned"]).mean()))
    return {
        "most_valuable": str(revenue.idxmax()),
        "most_at_risk": str(at_risk.idxmax()),
        "revenue_12m": {k: round(float(v), 2) for k, v in revenue.sort_values(ascending=False).items()},
        "at_risk_share": {k: round(float(v), 4) for k, v in at_risk.sort_values(ascending=False).items()},
    }


def _true_levers(seed: int, n: int, months: int, fx: synth.PlantedEffects, hist: pd.DataFrame) -> dict[str, Any]:
    """Each lever's true 12-month gain: the same people replayed with it in place; the best is the answer."""
    base_rev = float(_last12_rows(hist)["revenue"].sum())
    causal = {
        lever: round(_last12(_counterfactual(seed, n, months, fx, lever)) - base_rev, 2) for lever in _TRUE_LEVERS
    }
    return {"best": max(causal, key=causal.get), "true_gain_12m": causal, "true_baseline_12m": round(base_rev, 2)}


def _last12(company: synth.SyntheticCompany) -> float:
    return float(_last12_rows(company.truth.stage_history)["revenue"].sum())


def _counterfactual(seed: int, n: int, months: int, fx: synth.PlantedEffects, lever: str) -> synth.SyntheticCompany:
    """The same people with the lever in place all along (common random numbers: the difference is its effect)."""
    kw: dict[str, Any] = {"effects": fx}
    if lever == "fix_presale_service":
        kw["scenario"] = synth.Counterfactual(lever, fix_service_failure=True)
    elif lever == "fix_campaign_targeting":
        kw["effects"] = dataclasses.replace(fx, blitz_factor=1.0)
    else:
        kw["effects"] = dataclasses.replace(fx, winback_rollout=True)
    return synth.generate(n_customers=n, seed=seed, months=months, start=_START, **kw)


def _real_customers(folder: Path, record_map: pd.DataFrame) -> int:
    """Distinct people behind a contact record or a row carrying an e-mail, phone or contact reference."""
    keys = {name: TABLES[name].key[-1] for name in ("contacts", "events", "orders", "tickets", "surveys")}
    rm = record_map.dropna(subset=["person_id"])
    people: set[str] = set()
    for name, key in keys.items():
        path = next((p for p in (folder / f"{name}.csv", folder / f"{name}.parquet") if p.exists()), None)
        if path is None:
            continue
        df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
        known = pd.Series(name == "contacts", index=df.index)
        for c in ("email", "phone", "contact_ref"):
            if c in df.columns:
                known |= df[c].notna() & (df[c].astype(str).str.strip() != "")
        rows = set(df.loc[known, key].dropna().astype(str))
        m = rm[(rm["table_name"] == name) & rm["record_key"].isin(rows)]
        people |= set(m["person_id"])
    return len(people)


def _reference(folder: Path, fx: synth.PlantedEffects, progress: bool) -> dict[str, Any]:
    """The simulator's 12-month gain per lever, by the method the brief prescribes, on the case's data."""
    import cxlib
    from cxlib import impact, journeys, unify
    from cxlib import simulate as sim

    cxlib.load(folder, progress=progress)
    unify.unify(folder, progress=progress)
    journeys.build(folder)
    h = sim.history_from_workspace(folder, by=None)
    with cxlib.connect(folder, read_only=True) as ws:
        tp = ws.table("touchpoints")
        campaign = tp.filter(tp.campaign == "social_blitz").select("customer_id").distinct().to_pandas()
        groups = impact.campaign_groups(tp)
    h["campaign_customer"] = h["customer_id"].isin(set(campaign["customer_id"]))
    uplift = impact.uplift(groups, value=None).set_index("metric").loc["conversion_rate", "uplift"]
    src, dst = ("awareness", "consideration") if fx.blitz_stage == "awareness" else ("consideration", "purchase")
    scenarios = [
        sim.Scenario("fix_presale_service", sim.service_failure_lever(h)),
        sim.Scenario("fix_campaign_targeting", sim.service_failure_lever(h, "campaign_customer", src, dst)),
        sim.Scenario("winback_rollout", [sim.Scenario.shift("at_risk", "repeat", float(uplift))]),
    ]
    model = sim.JourneyModel().fit(h)
    ranked = sim.compare(sim.simulate(model, scenarios, months=12, draws=1000, random_state=0))
    gains = ranked.set_index("scenario")["gain"]
    baseline = float(ranked.loc[ranked["scenario"] == "baseline", "revenue"].iloc[0])
    return {
        "simulator_gain_12m": {s.name: round(float(gains[s.name]), 2) for s in scenarios},
        "simulator_baseline_12m": round(baseline, 2),
        "measured_winback_uplift": round(float(uplift), 4),
    }


def perfect_answers(truth: Mapping[str, Any]) -> dict[str, Any]:
    """The answer sheet that scores full marks on the quantitative answers (for tests and for the guide).

    Examples
    --------
    >>> t = {"real_customers": 2000, "dropoff": {"step": "consideration_to_purchase", "cause": "service"},
    ...      "abandoners_share": 0.7, "personas": {"most_valuable": "loyal_app", "most_at_risk": "window_shopper"},
    ...      "levers": {"best": "fix_presale_service", "simulator_gain_12m": {"fix_presale_service": 9000.0}}}
    >>> perfect_answers(t)["revenue_impact_12m"]
    9000.0
    """
    best = truth["levers"]["best"]
    return {
        "real_customers": truth["real_customers"],
        "dropoff_step": truth["dropoff"]["step"],
        "dropoff_cause": truth["dropoff"]["cause"],
        "abandoners_share": truth["abandoners_share"],
        "most_valuable_persona": truth["personas"]["most_valuable"],
        "most_at_risk_persona": truth["personas"]["most_at_risk"],
        "priority": "",
        "lever": best,
        "revenue_impact_12m": truth["levers"].get("simulator_gain_12m", {}).get(best),
        "strategy": "",
        "activation_plan": "",
    }
