"""What really happened, kept apart from the data: :class:`Truth`, its planted record, and reading it back.

Examples
--------
>>> from cxlib.synth.chain import transition_matrices
>>> frame = _transitions_frame(transition_matrices())
>>> len(frame), list(frame.columns)
(500, ['persona', 'from_stage', 'to_stage', 'probability'])
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.synth import verbatims
from cxlib.synth.config import PlantedEffects, _Config
from cxlib.synth.material import _RETURN_EXPECTATION, _RETURN_FULFILMENT
from cxlib.synth.population import BLOCK_SIZE
from cxlib.synth.specs import PERSONAS, STAGES

__all__ = ["Truth", "load_truth"]


@dataclass
class Truth:
    """What really happened, kept apart from the data (written to ``truth/``).

    Attributes
    ----------
    people : DataFrame
        One row per person: ``person_id``, ``persona``, ``arrival_month``, identity and flags.
    stage_history : DataFrame
        ``person_id, month, stage, orders, revenue`` for every month from arrival.
    record_map : DataFrame
        ``table_name, source, record_key, person_id, defect``: the true person of every source row.
    transitions : DataFrame
        ``persona, from_stage, to_stage, probability``: the monthly transition matrices.
    planted : dict
        The planted effects, each with its mechanism, its observable quantity and its causal size.
    params : dict
        The arguments of the generation.
    verbatims : DataFrame, optional
        ``table_name, source, record_key, topic, language, side``: the planted topic of every piece of customer
        text (:mod:`cxlib.synth.verbatims`).
    """

    people: pd.DataFrame
    stage_history: pd.DataFrame
    record_map: pd.DataFrame
    transitions: pd.DataFrame
    planted: dict
    params: dict
    verbatims: pd.DataFrame | None = None


def _planted(cfg: _Config, counters: dict[str, float]) -> dict:
    c, fx = counters, cfg.effects
    blitz_stages = ["awareness", "consideration"] if fx.blitz_stage == "awareness" else ["consideration", "purchase"]
    return {**_planted_record(cfg, c, fx, blitz_stages), **_planted_calendar(cfg)}


def _planted_calendar(cfg: _Config) -> dict:
    """The seasons and the arrival window, recorded only when set (the default company's record is as it was)."""
    fx, out = cfg.effects, {}
    if fx.seasonality > 0:
        out["seasonality"] = {
            "mechanism": f"Each calendar month multiplies arrivals (their share of the arrival months), the "
            f"consideration -> purchase probability and the order rate of customers by 1 + {fx.seasonality} "
            f"cos(2 pi (month - {fx.season_peak}) / 12): peak in month {fx.season_peak}.",
            "amplitude": fx.seasonality,
            "peak_month": fx.season_peak,
            "multiplier_by_month": [round(float(v), 6) for v in fx.season_multipliers()],
        }
    if fx.arrival_months is not None:
        last = cfg.month_starts[min(fx.arrival_months, cfg.months) - 1]
        out["arrivals"] = {
            "mechanism": f"Everyone arrives within the first {fx.arrival_months} month(s); afterwards nobody new "
            "arrives (a closed cohort), only the customers already there buy again.",
            "arrival_months": fx.arrival_months,
            "last_arrival_month": str(np.datetime_as_string(last, unit="D")),
        }
    return out


def _planted_record(cfg: _Config, c: dict[str, float], fx: PlantedEffects, blitz_stages: list[str]) -> dict:
    return {
        "service_failure": {
            "mechanism": "Pre-sale questions (ticket topic pre_sale_question) opened in the consideration stage are "
            f"left unresolved with probability {fx.presale_unresolved}; an unresolved one multiplies "
            f"that month's consideration -> purchase probability by {fx.presale_penalty}, and the person "
            "adds to cart and starts a checkout after the ticket without ordering.",
            "stage": ["consideration", "purchase"],
            "unresolved_probability": fx.presale_unresolved,
            "conversion_multiplier": fx.presale_penalty,
            "unresolved_presale_tickets": int(c["presale_unresolved"]),
            "purchases_prevented_that_month": int(c["abandonments_caused"]),  # some buy later
            # observable: people who reached consideration and never bought, and the share of them who had an
            # unresolved pre-sale ticket (what a drop-off diagnosis of the data estimates)
            "considered_not_bought": int(c.get("considered_not_bought", 0)),
            "share_with_presale_failure": round(
                c.get("considered_not_bought_presale_failure", 0) / max(c.get("considered_not_bought", 0), 1), 4
            ),
            # observable: people who started a checkout and never bought, and the share of them whose unresolved
            # pre-sale ticket came before their last checkout start
            "checkout_abandoners": int(c.get("checkout_abandoners", 0)),
            "abandoners_share_with_presale_failure": round(
                c.get("checkout_abandoners_presale_failure", 0) / max(c.get("checkout_abandoners", 0), 1), 4
            ),
        },
        "marketing_failure": {
            "mechanism": f"{fx.blitz_share:.0%} of arrivals come from the paid_social campaign 'social_blitz'; their "
            f"{blitz_stages[0]} -> {blitz_stages[1]} probability is multiplied by {fx.blitz_factor}.",
            "stage": blitz_stages,
            "campaign": "social_blitz",
            "channel": "paid_social",
            "share_of_arrivals": fx.blitz_share,
            "conversion_multiplier": fx.blitz_factor,
            "arrivals": int(c["blitz_arrivals"]),
            "progressions_lost_caused": int(c["blitz_lost_caused"]),
        },
        "returns": {
            "mechanism": "Returned orders carry a return_reason: 40% are fulfilment failures, 60% expectation gaps.",
            "fulfilment_reasons": list(_RETURN_FULFILMENT),
            "expectation_reasons": list(_RETURN_EXPECTATION),
            "fulfilment_share": 0.4,
            "returned_orders": int(c.get("returned_orders", 0)),
            "realised_fulfilment_share": round(
                c.get("returned_orders_fulfilment", 0) / max(c.get("returned_orders", 0), 1), 4
            ),
        },
        "winback_campaign": {
            "mechanism": f"Customers in at_risk during months {int(cfg.months * 0.5)}..{int(cfg.months * 0.5) + 2} "
            f"(0-based) are randomised once: {1 - fx.winback_holdout:.0%} get 'winback_offer' "
            f"(event email_sent), {fx.winback_holdout:.0%} are held out (event email_holdout). The offer "
            f"adds {fx.winback_uplift} to that month's at_risk -> repeat probability.",
            "campaign": "winback_offer",
            "holdout_share": fx.winback_holdout,
            "true_uplift_at_risk_to_repeat": fx.winback_uplift,
            "treated": int(c["winback_treated"]),
            "holdout": int(c["winback_holdout"]),
            "realised_extra_recoveries": int(c["winback_uplift_realised"]),
        },
        "voice": verbatims.planted(),
    }


def _transitions_frame(T: np.ndarray) -> pd.DataFrame:
    p, i, j = np.meshgrid(range(len(PERSONAS)), range(len(STAGES)), range(len(STAGES)), indexing="ij")
    return pd.DataFrame(
        {
            "persona": np.array(PERSONAS)[p.ravel()],
            "from_stage": np.array(STAGES)[i.ravel()],
            "to_stage": np.array(STAGES)[j.ravel()],
            "probability": T.ravel(),
        }
    )


def _params(cfg: _Config) -> dict:
    return {
        "n_customers": cfg.n_customers,
        "seed": cfg.seed,
        "start": str(cfg.start.date()),
        "months": cfg.months,
        "scenario": asdict(cfg.scenario),
        "noise": asdict(cfg.noise),
        "block_size": BLOCK_SIZE,
        "stages": list(STAGES),
        "personas": list(PERSONAS),
        # only when they differ from the defaults: the demo company's params.json stays as it was
        **({"effects": _effects_record(cfg.effects)} if cfg.effects != PlantedEffects() else {}),
    }


def _effects_record(fx: PlantedEffects) -> dict:
    """The effects as a dict; the calendar settings only when set (older companies' params stay as they were)."""
    out, default = asdict(fx), PlantedEffects()
    for name in ("seasonality", "season_peak", "arrival_months"):
        if out[name] == getattr(default, name):
            del out[name]
    return out


def load_truth(folder: str | Path) -> Truth:
    """Read the truth that :func:`write_company` wrote to ``folder/truth``.

    Examples
    --------
    >>> import tempfile
    >>> from cxlib.synth import write_company
    >>> d = tempfile.mkdtemp()
    >>> _ = write_company(d, n_customers=50, seed=2, months=4, progress=False)
    >>> bool(load_truth(d).people["persona"].isin(PERSONAS).all())
    True
    """
    t = Path(folder) / "truth"
    if not t.exists():
        raise FileNotFoundError(f"{t} does not exist: the folder was not written by cxlib.synth")
    hist = pd.read_parquet(t / "stage_history.parquet")
    hist["stage"] = pd.Categorical(hist["stage"], categories=list(STAGES))
    return Truth(
        people=pd.read_parquet(t / "people.parquet"),
        stage_history=hist,
        record_map=pd.read_parquet(t / "record_map.parquet"),
        transitions=pd.read_csv(t / "transitions.csv"),
        planted=json.loads((t / "planted.json").read_text()),
        params=json.loads((t / "params.json").read_text()),
        verbatims=pd.read_parquet(t / "verbatims.parquet") if (t / "verbatims.parquet").exists() else None,
    )
