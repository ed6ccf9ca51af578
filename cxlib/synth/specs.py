"""The personas and the journey stages they move through: the generator's fixed world.

Each persona has a share of the population, channel weights, order and ticket rates, and its monthly
moves between journey stages (``(from, to) -> probability``; the rest of each row stays in the same
stage). :func:`cxlib.synth.transition_matrices` turns the moves into matrices.

Examples
--------
>>> from cxlib.synth.specs import PERSONA_SPECS, PERSONAS
>>> PERSONAS[0], PERSONA_SPECS["loyal_app"]["share"]
('loyal_app', 0.18)
>>> round(sum(s["share"] for s in PERSONA_SPECS.values()), 6)
1.0
"""

from __future__ import annotations

import numpy as np

from cxlib.schema import STAGES

__all__ = ["PERSONAS", "PERSONA_SPECS", "STAGES"]

_S = {s: i for i, s in enumerate(STAGES)}
AW, CONS, PUR, ONB, REP, ADV, RISK, CHURN, WB, LOST = range(len(STAGES))
_CUSTOMER_STAGES = np.array([ONB, REP, ADV, WB])

# --- personas -----------------------------------------------------------------------------------------------
# Transition keys: (from, to) -> monthly probability; the rest of each row stays in the same stage.
PERSONA_SPECS: dict[str, dict] = {
    "loyal_app": dict(
        share=0.18,
        channels=dict(web=0.5, app=1.6, email=0.6, store=0.3),
        app_p=0.9,
        subscribe_p=0.6,
        order_rate=1.1,
        aov=(4.0, 0.35),
        ticket_rate=0.05,
        presale_rate=0.10,
        return_p=0.05,
        nps=9.0,
        move={
            (AW, CONS): 0.55,
            (AW, LOST): 0.10,
            (CONS, PUR): 0.50,
            (CONS, LOST): 0.08,
            (ONB, REP): 0.70,
            (ONB, RISK): 0.05,
            (REP, ADV): 0.10,
            (REP, RISK): 0.03,
            (ADV, RISK): 0.02,
            (ADV, REP): 0.05,
            (RISK, REP): 0.40,
            (RISK, CHURN): 0.15,
            (CHURN, WB): 0.05,
            (WB, REP): 0.50,
            (WB, CHURN): 0.20,
        },
    ),
    "deal_seeker": dict(
        share=0.26,
        channels=dict(web=0.9, app=0.3, email=1.8, store=0.2),
        app_p=0.2,
        subscribe_p=0.95,
        order_rate=0.55,
        aov=(3.3, 0.45),
        ticket_rate=0.08,
        presale_rate=0.12,
        return_p=0.10,
        nps=7.0,
        move={
            (AW, CONS): 0.45,
            (AW, LOST): 0.15,
            (CONS, PUR): 0.30,
            (CONS, LOST): 0.12,
            (ONB, REP): 0.50,
            (ONB, RISK): 0.15,
            (REP, ADV): 0.03,
            (REP, RISK): 0.10,
            (ADV, RISK): 0.06,
            (ADV, REP): 0.10,
            (RISK, REP): 0.25,
            (RISK, CHURN): 0.25,
            (CHURN, WB): 0.04,
            (WB, REP): 0.40,
            (WB, CHURN): 0.30,
        },
    ),
    "service_reliant": dict(
        share=0.16,
        channels=dict(web=1.2, app=0.2, email=0.6, store=0.4),
        app_p=0.1,
        subscribe_p=0.5,
        order_rate=0.5,
        aov=(4.2, 0.40),
        ticket_rate=0.45,
        presale_rate=0.55,
        return_p=0.18,
        nps=5.0,
        move={
            (AW, CONS): 0.40,
            (AW, LOST): 0.15,
            (CONS, PUR): 0.35,
            (CONS, LOST): 0.10,
            (ONB, REP): 0.45,
            (ONB, RISK): 0.20,
            (REP, ADV): 0.02,
            (REP, RISK): 0.15,
            (ADV, RISK): 0.10,
            (ADV, REP): 0.10,
            (RISK, REP): 0.20,
            (RISK, CHURN): 0.35,
            (CHURN, WB): 0.02,
            (WB, REP): 0.30,
            (WB, CHURN): 0.40,
        },
    ),
    "big_ticket": dict(
        share=0.15,
        channels=dict(web=0.8, app=0.1, email=0.3, store=1.5),
        app_p=0.05,
        subscribe_p=0.3,
        order_rate=0.18,
        aov=(5.6, 0.50),
        ticket_rate=0.10,
        presale_rate=0.30,
        return_p=0.06,
        nps=8.0,
        move={
            (AW, CONS): 0.35,
            (AW, LOST): 0.12,
            (CONS, PUR): 0.25,
            (CONS, LOST): 0.10,
            (ONB, REP): 0.55,
            (ONB, RISK): 0.08,
            (REP, ADV): 0.06,
            (REP, RISK): 0.05,
            (ADV, RISK): 0.04,
            (ADV, REP): 0.06,
            (RISK, REP): 0.30,
            (RISK, CHURN): 0.15,
            (CHURN, WB): 0.03,
            (WB, REP): 0.45,
            (WB, CHURN): 0.25,
        },
    ),
    "window_shopper": dict(
        share=0.25,
        channels=dict(web=1.8, app=0.4, email=0.5, store=0.2),
        app_p=0.25,
        subscribe_p=0.4,
        order_rate=0.25,
        aov=(3.6, 0.40),
        ticket_rate=0.06,
        presale_rate=0.08,
        return_p=0.15,
        nps=6.5,
        move={
            (AW, CONS): 0.60,
            (AW, LOST): 0.10,
            (CONS, PUR): 0.10,
            (CONS, LOST): 0.18,
            (ONB, REP): 0.35,
            (ONB, RISK): 0.25,
            (REP, ADV): 0.01,
            (REP, RISK): 0.15,
            (ADV, RISK): 0.08,
            (ADV, REP): 0.15,
            (RISK, REP): 0.15,
            (RISK, CHURN): 0.40,
            (CHURN, WB): 0.02,
            (WB, REP): 0.30,
            (WB, CHURN): 0.40,
        },
    ),
}
PERSONAS: tuple[str, ...] = tuple(PERSONA_SPECS)
_PERSONA_SPECS = PERSONA_SPECS  # the old private name (kept for callers that still use it)
_SHARES = np.array([PERSONA_SPECS[p]["share"] for p in PERSONAS])
_CHANNELS = ("web", "app", "email", "store")
#: The moves into at_risk and churned that :attr:`PlantedEffects.churn` scales.
_CHURN_MOVES = ((ONB, RISK), (REP, RISK), (ADV, RISK), (RISK, CHURN), (WB, CHURN))
