"""A synthetic company with known truth: people first, systems second.

:func:`generate` simulates a population month by month -- each person has a
latent persona and moves through journey stages by a known monthly Markov
chain per persona -- and then writes what the company's systems would have
recorded about them, each with its own identity noise. The truth (who is who,
personas, stage histories, transition matrices, planted effects) is kept apart
from the data so that every later step can be scored against it.

Random numbers come from one stream per block of :data:`BLOCK_SIZE` people
(``SeedSequence((seed, block))``), consumed in a fixed order: the same
arguments give the same bytes, and a counterfactual (:class:`Counterfactual`)
replays the same people with common random numbers, so that its difference to
the baseline is the lever's effect and not noise.

Examples
--------
>>> from cxlib import synth
>>> company = synth.generate(n_customers=300, seed=1, months=12)
>>> sorted(company.tables)
['contacts', 'enrichment', 'events', 'orders', 'surveys', 'tickets']
>>> bool(company.truth.people["persona"].isin(synth.PERSONAS).all())
True
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from scipy import stats

from cxlib.schema import STAGES

__all__ = [
    "BLOCK_SIZE",
    "Counterfactual",
    "IdentityNoise",
    "PERSONAS",
    "PlantedEffects",
    "STAGES",
    "SyntheticCompany",
    "Truth",
    "generate",
    "transition_matrices",
    "write_company",
]

#: People per random-number block. Changing it changes every generated company.
BLOCK_SIZE = 2_000

_S = {s: i for i, s in enumerate(STAGES)}
AW, CONS, PUR, ONB, REP, ADV, RISK, CHURN, WB, LOST = range(len(STAGES))
_CUSTOMER_STAGES = np.array([ONB, REP, ADV, WB])

# --- personas -----------------------------------------------------------------------------------------------
# Transition keys: (from, to) -> monthly probability; the rest of each row stays in the same stage.
_PERSONA_SPECS: dict[str, dict] = {
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
PERSONAS: tuple[str, ...] = tuple(_PERSONA_SPECS)
_SHARES = np.array([_PERSONA_SPECS[p]["share"] for p in PERSONAS])

# Planted effects (documented in the truth's ``planted`` record).
_PRESALE_UNRESOLVED_P = 0.45  # share of pre-sale tickets the service team fails to resolve
_PRESALE_PENALTY = 0.2  # an unresolved pre-sale ticket multiplies consideration -> purchase by this
_BLITZ_SHARE = 0.12  # share of arrivals acquired by the "social_blitz" campaign
_BLITZ_FACTOR = 0.15  # their awareness -> consideration is multiplied by this (traffic that never converts)
_WINBACK_UPLIFT = 0.15  # absolute lift of at_risk -> repeat in the month a treated customer gets the offer
_WINBACK_HOLDOUT = 0.2
_CHANNELS = ("web", "app", "email", "store")

# --- identity material --------------------------------------------------------------------------------------
_FIRST = [
    "Robert",
    "William",
    "James",
    "Elizabeth",
    "Katherine",
    "Margaret",
    "Thomas",
    "Michael",
    "Jennifer",
    "Alexander",
    "Christopher",
    "Daniel",
    "Samuel",
    "Joseph",
    "Victoria",
    "Rebecca",
    "Jessica",
    "Nicholas",
    "Matthew",
    "Anthony",
    "Benjamin",
    "Charlotte",
    "Olivia",
    "Amelia",
    "Sophie",
    "Emily",
    "Grace",
    "Hannah",
    "Lucy",
    "Chloe",
    "Oliver",
    "Harry",
    "George",
    "Jack",
    "Noah",
    "Leo",
    "Oscar",
    "Freya",
    "Isla",
    "Ava",
    "Mia",
    "Ella",
    "Ruby",
    "Lily",
    "Evie",
    "Aisha",
    "Mohammed",
    "Priya",
    "Arjun",
    "Fatima",
    "Lukas",
    "Anna",
    "Marie",
    "Jean",
    "Camille",
    "Hugo",
    "Sean",
    "Niamh",
    "Ciaran",
    "Aoife",
]
_NICK = {
    "Robert": "Bob",
    "William": "Bill",
    "James": "Jim",
    "Elizabeth": "Liz",
    "Katherine": "Kate",
    "Margaret": "Maggie",
    "Thomas": "Tom",
    "Michael": "Mike",
    "Jennifer": "Jen",
    "Alexander": "Alex",
    "Christopher": "Chris",
    "Daniel": "Dan",
    "Samuel": "Sam",
    "Joseph": "Joe",
    "Victoria": "Vicky",
    "Rebecca": "Becky",
    "Jessica": "Jess",
    "Nicholas": "Nick",
    "Matthew": "Matt",
    "Anthony": "Tony",
    "Benjamin": "Ben",
    "Charlotte": "Lottie",
    "Olivia": "Liv",
    "Amelia": "Millie",
    "Sophie": "Soph",
}
_LAST = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Lewis",
    "Harris",
    "Clarke",
    "Patel",
    "Jackson",
    "Wood",
    "Turner",
    "Martin",
    "Cooper",
    "Hill",
    "Ward",
    "Morris",
    "Moore",
    "Clark",
    "Lee",
    "King",
    "Baker",
    "Harrison",
    "Morgan",
    "Allen",
    "James",
    "Scott",
    "Phillips",
    "Watson",
    "Davis",
    "Parker",
    "Price",
    "Bennett",
    "Young",
    "Griffiths",
    "Mitchell",
    "Kelly",
    "Cook",
    "Carter",
    "Richardson",
    "Bailey",
    "Collins",
    "Bell",
    "Shaw",
    "Murphy",
    "Miller",
    "Cox",
    "Khan",
    "Ali",
    "Singh",
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Martin",
    "Bernard",
    "Dubois",
    "Durand",
    "Byrne",
    "Ryan",
    "O'Brien",
    "Walsh",
    "Nowak",
    "Kowalski",
    "Chen",
    "Wang",
    "Nguyen",
    "Rossi",
]
_STREETS = [
    "High Street",
    "Station Road",
    "Church Lane",
    "Park Avenue",
    "Mill Road",
    "Victoria Road",
    "Green Lane",
    "Manor Road",
    "Kings Road",
    "Queens Road",
    "The Crescent",
    "New Street",
    "School Lane",
    "Main Street",
]
_COUNTRIES = {
    # country: (share, currency, dialling code, mobile prefix, cities)
    "GB": (0.70, "GBP", "44", "7", ["London", "Leeds", "Manchester", "Bristol", "Glasgow", "Cardiff", "York"]),
    "IE": (0.10, "EUR", "353", "8", ["Dublin", "Cork", "Galway", "Limerick"]),
    "DE": (0.10, "EUR", "49", "15", ["Berlin", "Hamburg", "München", "Köln"]),
    "FR": (0.10, "EUR", "33", "6", ["Paris", "Lyon", "Marseille", "Lille"]),
}
_COUNTRY_CODES = list(_COUNTRIES)
_COUNTRY_CDF = np.cumsum([v[0] for v in _COUNTRIES.values()])
_DOMAINS = [
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "outlook.com",
    "yahoo.co.uk",
    "hotmail.com",
    "icloud.com",
    "proton.me",
    "web.de",
    "orange.fr",
]
JUNK_EMAILS = ("test@example.com", "noemail@none.com", "na@na.com")
CALL_CENTRE_PHONE = "+44 20 7946 0000"
_KIOSK_COOKIES = tuple(f"ck_kiosk_{i:02d}" for i in range(5))
_INCOME = ["<20k", "20-40k", "40-60k", "60-100k", "100k+"]
_INTERESTS = ["outdoors", "fashion", "home", "tech", "travel", "fitness", "cooking"]
_GEO = ["urban professionals", "suburban families", "rural communities", "students", "affluent retirees"]
_RETURN_EXPECTATION = ("not as described", "wrong size", "changed my mind", "colour differs from photos")
_RETURN_FULFILMENT = ("arrived damaged", "wrong item sent", "arrived too late", "missing parts")


@dataclass(frozen=True)
class IdentityNoise:
    """Rates of the identity mess written into the systems' records (each a probability per record)."""

    typo: float = 0.06
    nickname: float = 0.10
    swapped_names: float = 0.02
    email_case: float = 0.15
    email_variant: float = 0.15  # gmail dots / plus-tags
    second_email: float = 0.12  # person has a second (work) address used by some systems
    missing_email: float = 0.10
    missing_phone: float = 0.30
    moved: float = 0.10  # share of people who move house during the horizon
    household: float = 0.15  # share of people who share an address and surname with another person
    duplicate_account: float = 0.05  # a second shop account for the same person
    junk_email: float = 0.01
    junk_phone: float = 0.05  # helpdesk tickets logged with the call-centre number
    kiosk_cookie: float = 0.01  # web events from a shared in-store kiosk
    defects: float = 0.002  # malformed rows and values (the loader must quarantine or null them)
    legacy_crm: float = 0.2  # share of buyers also in an acquired company's CRM (no email or phone there)


_CHURN_MOVES = ((ONB, RISK), (REP, RISK), (ADV, RISK), (RISK, CHURN), (WB, CHURN))


@dataclass(frozen=True)
class PlantedEffects:
    """The sizes of the planted findings, and the persona mix: the world a company is generated in.

    The defaults are the demo company's; every other choice is a different company (the hiring case varies
    them per candidate). Changing them changes the transition rows, not the random numbers: the same seed
    gives the same people with the same uniforms, so two sets of effects replay the same lives with common
    random numbers (a lever's true effect is the difference).

    Parameters
    ----------
    presale_unresolved : float
        Share of pre-sale questions the service team leaves unresolved.
    presale_penalty : float
        An unresolved pre-sale question multiplies that month's consideration -> purchase probability by this.
    presale_rate_factor : float
        Multiplies every persona's monthly chance of asking a pre-sale question in consideration.
    blitz_share : float
        Share of arrivals acquired by the paid-social campaign ``social_blitz``.
    blitz_factor : float
        Their progression out of ``blitz_stage`` (to the next buyer stage) is multiplied by this.
    blitz_stage : str
        ``"awareness"`` (the campaign's traffic never considers) or ``"consideration"`` (it considers but
        never buys).
    winback_uplift : float
        Absolute lift of at_risk -> repeat in the month a customer gets the win-back offer.
    winback_holdout : float
        Share of the win-back campaign's eligible customers held out at random.
    winback_rollout : bool
        Instead of the one-off randomised campaign, send the offer to every at-risk customer every month
        (no holdout): the world in which the win-back programme is rolled out.
    persona_shares : tuple of float, optional
        Persona mix in :data:`PERSONAS` order (normalised); default: each persona's ``share``.
    churn : tuple of (persona, factor)
        Multiply that persona's monthly moves into at_risk and churned (onboarding, repeat and advocate ->
        at_risk; at_risk and win_back -> churned) by ``factor`` (capped at 1; the rest of each row shrinks in
        proportion, as :class:`Counterfactual` ``scale`` does).

    Examples
    --------
    >>> PlantedEffects() == PlantedEffects(presale_unresolved=0.45)
    True
    >>> PlantedEffects(blitz_stage="consideration").blitz_stage
    'consideration'
    """

    presale_unresolved: float = _PRESALE_UNRESOLVED_P
    presale_penalty: float = _PRESALE_PENALTY
    presale_rate_factor: float = 1.0
    blitz_share: float = _BLITZ_SHARE
    blitz_factor: float = _BLITZ_FACTOR
    blitz_stage: str = "awareness"
    winback_uplift: float = _WINBACK_UPLIFT
    winback_holdout: float = _WINBACK_HOLDOUT
    winback_rollout: bool = False
    persona_shares: tuple[float, ...] | None = None
    churn: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Counterfactual:
    """One lever changed, for replaying the same population with common random numbers.

    Parameters
    ----------
    name : str
        Label for the scenario.
    scale : tuple of (from_stage, to_stage, factor)
        Multiply a monthly transition probability by ``factor``; the rest of that row is rescaled so it
        still sums to one.
    personas : tuple of str, optional
        Apply ``scale`` only to these personas (default: all).
    fix_service_failure : bool
        Resolve every pre-sale ticket, removing the planted service failure.

    Examples
    --------
    >>> Counterfactual("more conversion", scale=(("consideration", "purchase", 1.1),)).name
    'more conversion'
    """

    name: str = "baseline"
    scale: tuple[tuple[str, str, float], ...] = ()
    personas: tuple[str, ...] | None = None
    fix_service_failure: bool = False


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
    """

    people: pd.DataFrame
    stage_history: pd.DataFrame
    record_map: pd.DataFrame
    transitions: pd.DataFrame
    planted: dict
    params: dict


@dataclass
class SyntheticCompany:
    """The generated source tables (canonical names) and their :class:`Truth`."""

    tables: dict[str, pd.DataFrame]
    truth: Truth

    def write(self, out: str | Path) -> Path:
        """Write the source files to ``out`` and the truth to ``out/truth``; return ``out``."""
        out = Path(out)
        _FileSink(out).write_all(self.tables, self.truth)
        return out


@dataclass
class _Config:
    n_customers: int
    seed: int
    start: pd.Timestamp
    months: int
    scenario: Counterfactual
    noise: IdentityNoise
    T: np.ndarray = field(repr=False, default=None)  # (persona, from, to) after the scenario
    month_starts: np.ndarray = field(repr=False, default=None)  # datetime64[s], months + 1 edges
    effects: PlantedEffects = field(default_factory=PlantedEffects)


def transition_matrices(scenario: Counterfactual | None = None, effects: PlantedEffects | None = None) -> np.ndarray:
    """The true monthly transition matrices, shape ``(persona, from_stage, to_stage)``.

    ``effects.churn`` scales personas' moves into at_risk and churned before ``scenario`` applies.

    Examples
    --------
    >>> T = transition_matrices()
    >>> T.shape, bool(np.allclose(T.sum(axis=2), 1))
    ((5, 10, 10), True)
    """
    T = np.zeros((len(PERSONAS), len(STAGES), len(STAGES)))
    for p, name in enumerate(PERSONAS):
        for (i, j), prob in _PERSONA_SPECS[name]["move"].items():
            T[p, i, j] = prob
        T[p, PUR, ONB] = 1.0
        T[p, LOST, LOST] = 1.0
        for i in range(len(STAGES)):
            T[p, i, i] += 1.0 - T[p, i].sum()
    for name, factor in effects.churn if effects is not None else ():
        p = PERSONAS.index(name)
        for i, j in _CHURN_MOVES:
            T[p, i] = _scale_row(T[p, i][None, :], j, np.array([factor]))[0]
    if scenario is not None:
        for src, dst, factor in scenario.scale:
            rows = [PERSONAS.index(x) for x in (scenario.personas or PERSONAS)]
            for p in rows:
                T[p, _S[src]] = _scale_row(T[p, _S[src]][None, :], _S[dst], np.array([factor]))[0]
    return T


def _scale_row(rows: np.ndarray, j: int, factor: np.ndarray) -> np.ndarray:
    """Multiply column ``j`` of each row by ``factor`` (capped at 1) and rescale the rest to keep sum 1."""
    rows = rows.copy()
    old = rows[:, j].copy()
    new = np.minimum(old * factor, 1.0)
    rest = 1.0 - old
    ratio = np.divide(1.0 - new, rest, out=np.zeros_like(rest), where=rest > 0)
    rows *= ratio[:, None]
    rows[:, j] = new
    return rows


def _add_to(rows: np.ndarray, j: int, delta: float) -> np.ndarray:
    """Add ``delta`` to column ``j`` of each row, taking it proportionally from the others."""
    old = rows[:, j]
    factor = np.divide(np.minimum(old + delta, 1.0), old, out=np.ones_like(old), where=old > 0)
    return _scale_row(rows, j, factor)


def _draw(rows: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Inverse-CDF draw of one category per row (common random numbers: one uniform per draw)."""
    cdf = np.cumsum(rows, axis=1)
    return np.minimum((u[:, None] > cdf).sum(axis=1), rows.shape[1] - 1)


# --- the simulation of one block ----------------------------------------------------------------------------


@dataclass
class _Block:
    tables: dict[str, pa.Table]
    people: pd.DataFrame
    stage_history: pd.DataFrame
    record_map: pa.Table
    counters: dict[str, float]


def _simulate_block(cfg: _Config, block: int) -> _Block:
    start_person = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, cfg.n_customers - start_person)
    attr_ss, dyn_ss, emit_ss = np.random.SeedSequence([cfg.seed, block]).spawn(3)
    rng_attr = np.random.default_rng(attr_ss)
    rng_dyn = np.random.default_rng(dyn_ss)
    rng = np.random.default_rng(emit_ss)
    months = cfg.months
    # Person attributes: a fixed number of uniforms per person, so that every scenario sees the same people.
    A = rng_attr.random((n, 16))
    fx = cfg.effects
    shares = _SHARES if fx.persona_shares is None else np.asarray(fx.persona_shares, dtype=float)
    persona = np.minimum(np.searchsorted(np.cumsum(shares), A[:, 0] * shares.sum(), side="right"), len(PERSONAS) - 1)
    arrival = np.floor(A[:, 1] * max(1, int(months * 0.75))).astype(int)
    blitz = A[:, 2] < fx.blitz_share
    spec = [_PERSONA_SPECS[p] for p in PERSONAS]
    app_user = A[:, 3] < np.array([s["app_p"] for s in spec])[persona]
    subscriber = A[:, 4] < np.array([s["subscribe_p"] for s in spec])[persona]
    country_idx = np.searchsorted(_COUNTRY_CDF, A[:, 5] * _COUNTRY_CDF[-1], side="right").clip(0, 3)
    U = rng_dyn.random((n, months, 11))

    stage_hist = np.full((n, months), -1, dtype=np.int8)
    orders_n = np.zeros((n, months), dtype=np.int8)
    presale = np.zeros((n, months), dtype=bool)
    unresolved = np.zeros((n, months), dtype=bool)
    treated = np.zeros((n, months), dtype=bool)
    holdout = np.zeros((n, months), dtype=bool)
    campaign_done = np.zeros(n, dtype=bool)
    win_lo, win_hi = int(months * 0.5), int(months * 0.5) + 3
    presale_rate = np.array([s["presale_rate"] for s in spec])[persona] * fx.presale_rate_factor
    order_rate = np.array([s["order_rate"] for s in spec])[persona]
    counters = dict(
        presale_unresolved=0,
        abandonments_caused=0.0,
        winback_treated=0,
        winback_holdout=0,
        winback_uplift_realised=0.0,
        blitz_arrivals=0,
        blitz_lost_caused=0.0,
    )
    stage = np.full(n, -1)
    T = cfg.T
    blitz_from, blitz_to = (AW, CONS) if fx.blitz_stage == "awareness" else (CONS, PUR)
    for m in range(months):
        stage = np.where(arrival == m, AW, stage)
        active = stage >= 0
        stage_hist[:, m] = stage
        u = U[:, m]
        presale[:, m] = active & (stage == CONS) & (u[:, 1] < presale_rate)
        unresolved[:, m] = presale[:, m] & (u[:, 2] < fx.presale_unresolved)
        counters["presale_unresolved"] += int(unresolved[:, m].sum())
        if fx.winback_rollout:  # the offer as a standing programme: every at-risk customer, every month
            eligible = stage == RISK
            treated[:, m], holdout[:, m] = eligible, False
        else:
            eligible = (stage == RISK) & (win_lo <= m < win_hi) & ~campaign_done
            treated[:, m] = eligible & (u[:, 3] >= fx.winback_holdout)
            holdout[:, m] = eligible & (u[:, 3] < fx.winback_holdout)
        campaign_done |= eligible
        # orders this month follow the stage this month
        lam = np.where(np.isin(stage, _CUSTOMER_STAGES), order_rate, np.where(stage == RISK, order_rate * 0.2, 0.0))
        k = np.where(lam > 0, stats.poisson.ppf(u[:, 4], np.maximum(lam, 1e-12)), 0).astype(int)
        orders_n[:, m] = np.where(stage == PUR, 1, np.minimum(k, 3))
        if m == months - 1:
            break
        rows = T[persona, stage.clip(0)]
        base = rows
        bl = active & blitz & (stage == blitz_from)
        if bl.any():
            rows = rows.copy()
            rows[bl] = _scale_row(rows[bl], blitz_to, np.full(bl.sum(), fx.blitz_factor))
        pen = unresolved[:, m] & (not cfg.scenario.fix_service_failure)
        if pen.any():
            rows = rows.copy()
            rows[pen] = _scale_row(rows[pen], PUR, np.full(pen.sum(), fx.presale_penalty))
        tr = treated[:, m]
        if tr.any():
            rows = rows.copy()
            rows[tr] = _add_to(rows[tr], REP, fx.winback_uplift)
        nxt = _draw(rows, u[:, 0])
        counterfactual = _draw(base, u[:, 0])
        counters["abandonments_caused"] += float(((nxt != PUR) & (counterfactual == PUR) & pen).sum())
        counters["blitz_arrivals"] += int((blitz & (arrival == m)).sum())
        counters["blitz_lost_caused"] += float(((nxt != blitz_to) & (counterfactual == blitz_to) & bl).sum())
        counters["winback_treated"] += int(tr.sum())
        counters["winback_holdout"] += int(holdout[:, m].sum())
        counters["winback_uplift_realised"] += float(((nxt == REP) & (counterfactual != REP) & tr).sum())
        stage = np.where(active, nxt, stage)

    # Order amounts and statuses from the dynamics stream (revenue is part of the common random numbers).
    aov_mu = np.array([s["aov"][0] for s in spec])[persona]
    aov_sd = np.array([s["aov"][1] for s in spec])[persona]
    ret_p = np.array([s["return_p"] for s in spec])[persona]
    amounts = np.exp(aov_mu[:, None, None] + aov_sd[:, None, None] * stats.norm.ppf(U[:, :, 5:8].clip(1e-9, 1 - 1e-9)))
    amounts = np.round(amounts, 2)
    status = np.where(U[:, :, 8:11] < 0.02, 2, np.where(U[:, :, 8:11] < 0.02 + ret_p[:, None, None], 1, 0))
    has_order = np.arange(3)[None, None, :] < orders_n[:, :, None]
    revenue = np.where(has_order & (status == 0), amounts, 0.0).sum(axis=2)

    people_ids = np.array([f"P{start_person + i:07d}" for i in range(n)], dtype=object)
    ident = _identities(cfg, rng_attr, A, n, persona, country_idx, people_ids)
    hist = pd.DataFrame(
        {
            "person_id": np.repeat(people_ids, months),
            "month": np.tile(cfg.month_starts[:-1].astype("datetime64[s]"), n),
            "stage": stage_hist.reshape(-1),
            "orders": orders_n.reshape(-1),
            "revenue": np.round(revenue.reshape(-1), 2),
        }
    )
    hist = hist[hist["stage"] >= 0].reset_index(drop=True)
    hist["stage"] = pd.Categorical.from_codes(hist["stage"].astype(int), categories=list(STAGES))
    people = pd.DataFrame(
        {
            "person_id": people_ids,
            "persona": np.array(PERSONAS, dtype=object)[persona],
            "arrival_month": cfg.month_starts[arrival].astype("datetime64[s]"),
            "acquired_by_blitz": blitz,
            "app_user": app_user,
            "email_subscriber": subscriber,
            **{k: v for k, v in ident.items() if not k.startswith("_")},
        }
    )
    lives = _Lives(
        block=block,
        n=n,
        people_ids=people_ids,
        persona=persona,
        ident=ident,
        stage_hist=stage_hist,
        orders_n=orders_n,
        amounts=amounts,
        status=status,
        presale=presale,
        unresolved=unresolved,
        treated=treated,
        holdout=holdout,
        blitz=blitz,
        app_user=app_user,
        subscriber=subscriber,
        country_idx=country_idx,
    )
    emitter = _Emitter(cfg, rng, lives)
    tables, record_map = emitter.run()
    # observable truths: what a drop-off or returns analysis of the data should find
    reached = (stage_hist == CONS).any(axis=1)
    bought = (stage_hist == PUR).any(axis=1)
    dropped = reached & ~bought
    counters["considered_not_bought"] = int(dropped.sum())
    counters["considered_not_bought_presale_failure"] = int((dropped & unresolved.any(axis=1)).sum())
    counters["checkout_abandoners"] = emitter.checkout_abandoners
    counters["checkout_abandoners_presale_failure"] = emitter.checkout_abandoners_failure
    counters["returned_orders"] = int(emitter.returned_orders)
    counters["returned_orders_fulfilment"] = int(emitter.returns_fulfilment.sum())
    return _Block(tables, people, hist, record_map, counters)


def _identities(
    cfg: _Config,
    rng: np.random.Generator,
    A: np.ndarray,
    n: int,
    persona: np.ndarray,
    country_idx: np.ndarray,
    people_ids: np.ndarray,
) -> dict[str, np.ndarray]:
    """True identity of each person: names, emails, phones, addresses, devices."""
    noise = cfg.noise
    first = np.array(_FIRST, dtype=object)[rng.integers(0, len(_FIRST), n)]
    last = np.array(_LAST, dtype=object)[rng.integers(0, len(_LAST), n)]
    countries = np.array(_COUNTRY_CODES, dtype=object)[country_idx]
    digits = rng.integers(0, 10, (n, 9))
    house = rng.integers(1, 200, n)
    street_i = rng.integers(0, len(_STREETS), n)
    new_house = rng.integers(1, 200, n)
    new_street_i = rng.integers(0, len(_STREETS), n)
    city_u = rng.random(n)
    pc_letters = rng.integers(0, 26, (n, 4))
    pc_digits = rng.integers(1, 10, (n, 2))
    birth = np.datetime64("1950-01-01") + rng.integers(0, 365 * 52, n).astype("timedelta64[D]")
    domain = np.array(_DOMAINS, dtype=object)[rng.integers(0, len(_DOMAINS), n)]
    n_cookies = rng.integers(1, 4, n)
    cookie_bits = rng.integers(0, 2**62, (n, 3))
    device_bits = rng.integers(0, 2**62, n)
    household_u = A[:, 6]
    moved_month = np.where(A[:, 7] < noise.moved, np.floor(A[:, 8] * cfg.months).astype(int), -1)
    second_email = A[:, 9] < noise.second_email
    sep = np.where(A[:, 10] < 0.5, ".", "")
    year2 = birth.astype("datetime64[Y]").astype(int) % 100
    phone, email, work_email, street, new_street, city, postcode = ([None] * n for _ in range(7))
    for i in range(n):
        c = countries[i]
        _, _, code, prefix, cities = _COUNTRIES[c]
        nsn = prefix + "".join(map(str, digits[i, : 10 - len(prefix)]))
        phone[i] = f"+{code}{nsn}"
        local = f"{first[i]}{sep[i]}{last[i]}".lower().replace("'", "").replace("ü", "u")
        # the person's number keeps addresses unique: two people never share a real mailbox
        number = int(people_ids[i][1:])
        email[i] = f"{local}{year2[i]:02d}{number}@{domain[i]}" if A[i, 11] < 0.5 else f"{local}{number}@{domain[i]}"
        surname = last[i].lower().replace("'", "").replace("ü", "u")
        work_email[i] = f"{first[i][0].lower()}.{surname}{number}@work-{number % 97}.com"
        street[i] = f"{house[i]} {_STREETS[street_i[i]]}"
        new_street[i] = f"{new_house[i]} {_STREETS[new_street_i[i]]}"
        city[i] = cities[int(city_u[i] * len(cities))]
        L = pc_letters[i]
        postcode[i] = (
            f"{chr(65 + L[0])}{chr(65 + L[1])}{pc_digits[i, 0]} {pc_digits[i, 1]}{chr(65 + L[2])}{chr(65 + L[3])}"
            if c == "GB"
            else f"{''.join(map(str, digits[i, :5]))}"
        )
    street, city, postcode, last = (np.array(x, dtype=object) for x in (street, city, postcode, last))
    # Households: a person shares the address and surname of the previous person in the block.
    hh = np.where((household_u < noise.household) & (np.arange(n) > 0))[0]
    household_id = np.array([f"H{p}" for p in people_ids], dtype=object)
    for i in hh:
        street[i], city[i], postcode[i], last[i] = street[i - 1], city[i - 1], postcode[i - 1], last[i - 1]
        countries[i] = countries[i - 1]
        household_id[i] = household_id[i - 1]
    return {
        "first_name": first,
        "last_name": last,
        "email": np.array(email, dtype=object),
        "work_email": np.where(second_email, np.array(work_email, dtype=object), None),
        "phone": np.array(phone, dtype=object),
        "street": street,
        "city": city,
        "postcode": postcode,
        "new_street": np.where(moved_month >= 0, np.array(new_street, dtype=object), None),
        "moved_month": moved_month,
        "country": countries,
        "birth_date": birth.astype("datetime64[s]"),
        "household_id": household_id,
        "_cookies": np.array([[f"ck_{b:016x}" for b in row] for row in cookie_bits], dtype=object),
        "_n_cookies": n_cookies,
        "_device": np.array([f"dev_{b:016x}" for b in device_bits], dtype=object),
    }


@dataclass
class _Lives:
    """One block's simulated lives: what the systems then record (arrays are per person, or person x month)."""

    block: object
    n: object
    people_ids: object
    persona: object
    ident: object
    stage_hist: object
    orders_n: object
    amounts: object
    status: object
    presale: object
    unresolved: object
    treated: object
    holdout: object
    blitz: object
    app_user: object
    subscriber: object
    country_idx: object


class _Emitter:
    """Writes what each system recorded, given the simulated lives of one block of people."""

    def __init__(self, cfg: _Config, rng: np.random.Generator, lives: _Lives):
        self.cfg, self.rng = cfg, rng
        self.__dict__.update(vars(lives))  # the simulated lives, read as self.stage_hist etc.
        self.spec = [_PERSONA_SPECS[p] for p in PERSONAS]
        self.rows: dict[str, list[dict]] = {}
        self.counter = 0
        self.contact_ids: dict[str, np.ndarray] = {}
        self.months = cfg.months

    # -- helpers --
    def _ids(self, prefix: str, k: int) -> np.ndarray:
        base = self.block * 10_000_000 + self.counter
        self.counter += k
        return np.array([f"{prefix}{base + i:011d}" for i in range(k)], dtype=object)

    def _ts(self, month: np.ndarray) -> np.ndarray:
        ms = self.cfg.month_starts
        span = (ms[month + 1] - ms[month]).astype("int64")
        off = (self.rng.random(len(month)) * span).astype("int64")
        return (ms[month] + off.astype("timedelta64[s]")).astype("datetime64[s]")

    def _person_month(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p, m = np.nonzero(mask)
        return p, m

    def _email_variant(self, emails: np.ndarray, source_rate: float = 1.0) -> np.ndarray:
        noise = self.cfg.noise
        out = emails.copy()
        k = len(out)
        u = self.rng.random((k, 3))
        for i in range(k):
            e = out[i]
            if e is None:
                continue
            local, _, dom = e.partition("@")
            if u[i, 0] < noise.email_variant * source_rate:
                if dom == "gmail.com" and "." not in local:
                    local = local[: len(local) // 2] + "." + local[len(local) // 2 :]
                else:
                    local = f"{local}+{'shop' if u[i, 2] < 0.5 else 'news'}"
            e = f"{local}@{dom}"
            if u[i, 1] < noise.email_case * source_rate:
                e = e.title() if u[i, 2] < 0.5 else e.upper()
            out[i] = e
        return out

    def _phone_format(self, phones: np.ndarray) -> np.ndarray:
        out = phones.copy()
        u = self.rng.random(len(out))
        for i, ph in enumerate(out):
            if ph is None:
                continue
            code = next(v[2] for v in _COUNTRIES.values() if ph.startswith("+" + v[2]))
            nsn = ph[1 + len(code) :]
            f = int(u[i] * 5)
            out[i] = (
                ph,
                f"+{code} {nsn[:4]} {nsn[4:]}",
                f"0{nsn[:4]} {nsn[4:]}",
                f"0{nsn[:4]}-{nsn[4:7]}-{nsn[7:]}",
                f"00{code}{nsn}",
            )[f]
        return out

    def _typo(self, names: np.ndarray, rate: float) -> np.ndarray:
        out = names.copy()
        u = self.rng.random((len(out), 2))
        for i, s in enumerate(out):
            if s is None or u[i, 0] >= rate or len(s) < 3:
                continue
            j = 1 + int(u[i, 1] * (len(s) - 2))
            out[i] = s[:j] + s[j + 1] + s[j] + s[j + 2 :] if j + 1 < len(s) else s[:j]
        return out

    # -- contacts --
    def _contacts(
        self,
        source: str,
        prefix: str,
        who: np.ndarray,
        month: np.ndarray,
        *,
        typo_rate: float,
        use_work: bool = False,
        phone_p: float = 0.7,
        birth_p: float = 0.0,
        address_p: float = 0.8,
        birth_fmt: str = "iso",
        email_p: float = 1.0,
    ) -> np.ndarray:
        I, noise, k = self.ident, self.cfg.noise, len(who)
        ids = self._ids(prefix, k)
        u = self.rng.random((k, 10))
        has_email = self.rng.random(k) < email_p
        first = I["first_name"][who].copy()
        nick = np.array([_NICK.get(f, f) for f in first], dtype=object)
        first = np.where(u[:, 0] < noise.nickname, nick, first)
        first = self._typo(first, typo_rate)
        last = self._typo(I["last_name"][who], typo_rate)
        swap = u[:, 1] < noise.swapped_names
        first, last = np.where(swap, last, first), np.where(swap, first, last)
        email = I["email"][who]
        if use_work:
            email = np.where(I["work_email"][who] != None, I["work_email"][who], email)  # noqa: E711
        email = self._email_variant(email)
        email = np.where((u[:, 2] < noise.missing_email) | ~has_email, None, email)
        email = np.where(
            (u[:, 3] < noise.junk_email) & has_email,
            np.array(JUNK_EMAILS, dtype=object)[(u[:, 4] * 3).astype(int)],
            email,
        )
        phone = np.where(u[:, 5] < phone_p, self._phone_format(I["phone"][who]), None)
        moved = (I["moved_month"][who] >= 0) & (month >= I["moved_month"][who])
        street = np.where(moved, I["new_street"][who], I["street"][who])
        has_addr = u[:, 6] < address_p
        created = self._ts(month)
        upd = created + (self.rng.random(k) * 86400 * 90).astype("timedelta64[s]")
        upd = np.minimum(upd, self.cfg.month_starts[-1] - np.timedelta64(1, "s"))
        birth = I["birth_date"][who].astype("datetime64[D]")
        if birth_fmt == "yyyymmdd":
            birth_s = np.array([str(b).replace("-", "") for b in birth], dtype=object)
        else:
            birth_s = birth.astype(str).astype(object)
        birth_s = np.where(u[:, 7] < birth_p, birth_s, None)
        d = u[:, 9] / max(noise.defects, 1e-12)
        defect = np.select([d < 1, d < 2, d < 3], ["malformed phone", "impossible birth date", "malformed email"], "")
        phone = np.where(defect == "malformed phone", "n/a", phone)
        birth_s = np.where(
            defect == "impossible birth date", "2091-02-30" if birth_fmt == "iso" else "20910230", birth_s
        )
        email = np.where(
            (defect == "malformed email") & (email != None),  # noqa: E711
            np.array([str(e).replace("@", "[at]") for e in email], dtype=object),
            email,
        )
        defect = np.where((defect == "") | ((defect == "malformed email") & (email == None)), None, defect)  # noqa: E711
        defect = defect.astype(object)
        rows = {
            "source": np.full(k, source, dtype=object),
            "record_id": ids,
            "first_name": first,
            "last_name": last,
            "email": email,
            "phone": phone,
            "street": np.where(has_addr, street, None),
            "city": np.where(has_addr, I["city"][who], None),
            "postcode": np.where(has_addr, I["postcode"][who], None),
            "country": np.where(u[:, 8] < 0.9, I["country"][who], None),
            "birth_date": birth_s,
            "created_at": _iso(created),
            "updated_at": _iso(upd),
        }
        self._add("contacts", rows, who, defect)
        return ids

    def _add(self, table: str, cols: dict[str, np.ndarray], who: np.ndarray, defect: np.ndarray | None = None):
        cols = dict(cols)
        cols["_person"] = self.people_ids[who] if len(who) else np.array([], dtype=object)
        cols["_defect"] = defect if defect is not None else np.full(len(who), None, dtype=object)
        self.rows.setdefault(table, []).append(cols)

    def _first_month(self, mask: np.ndarray) -> np.ndarray:
        """First month where ``mask`` holds per person (-1 if never)."""
        has = mask.any(axis=1)
        return np.where(has, mask.argmax(axis=1), -1)

    def run(self) -> tuple[dict[str, pa.Table], pa.Table]:
        sh, rng, n, months = self.stage_hist, self.rng, self.n, self.months
        ch = np.array([[s["channels"][c] for c in _CHANNELS] for s in self.spec])[self.persona]  # (n, 4)
        # --- who has which record, created when
        first_cons = self._first_month(sh == CONS)
        first_pur = self._first_month(sh == PUR)
        shop_early = rng.random(n) < 0.4
        shop_month = np.where((first_cons >= 0) & shop_early, first_cons, first_pur)
        tickets_pm = self._ticket_plan()
        first_ticket = self._first_month(tickets_pm > 0)
        sub_month = np.where(self.subscriber, np.where(first_cons >= 0, first_cons, -1), -1)
        loyalty_month = np.where(self.app_user, first_pur, -1)

        def make(source, prefix, month_arr, **kw):
            who = np.nonzero(month_arr >= 0)[0]
            ids = np.full(n, None, dtype=object)
            ids[who] = self._contacts(source, prefix, who, month_arr[who], **kw)
            return ids

        shop_id = make("shop", "SHOP-", shop_month, typo_rate=0.01, phone_p=0.5, address_p=0.9)
        crm_id = make(
            "crm", "CRM-", first_pur, typo_rate=self.cfg.noise.typo, phone_p=0.8, birth_p=0.6, birth_fmt="yyyymmdd"
        )
        hd_id = make("helpdesk", "HD-", first_ticket, typo_rate=self.cfg.noise.typo, phone_p=0.6, address_p=0.1)
        esp_id = make("email_platform", "ESP-", sub_month, typo_rate=0.01, phone_p=0.0, address_p=0.0)
        loy_id = make("loyalty", "LOY-", loyalty_month, typo_rate=0.02, use_work=False, phone_p=0.9, birth_p=0.9)
        dup = (shop_month >= 0) & (rng.random(n) < self.cfg.noise.duplicate_account)
        dup_month = np.where(dup, np.minimum(shop_month + 1 + (rng.random(n) * 6).astype(int), months - 1), -1)
        make("shop", "SHOP-", dup_month, typo_rate=0.05, use_work=True, phone_p=0.3, address_p=0.9)
        # An acquired company's CRM: names, addresses and birth dates only (links only probabilistically).
        legacy = (first_pur >= 0) & (rng.random(n) < self.cfg.noise.legacy_crm)
        legacy_month = np.where(legacy, (rng.random(n) * months).astype(int), -1)
        make(
            "legacy_crm",
            "LEG-",
            legacy_month,
            typo_rate=self.cfg.noise.typo,
            phone_p=0.0,
            address_p=1.0,
            birth_p=1.0,
            email_p=0.0,
        )
        pre_p, pre_m = np.nonzero(self.presale)
        self._presale_opened_all = self._ts(pre_m)
        self._presale_opened = self._presale_opened_all[self.unresolved[pre_p, pre_m]]
        self._events(ch, shop_id, loy_id, esp_id, shop_month, loyalty_month, sub_month)
        self._orders(ch, shop_id, loy_id)
        self._tickets(tickets_pm, hd_id)
        self._surveys(crm_id)
        self._enrichment()
        return self._finish()

    def _ticket_plan(self) -> np.ndarray:
        sh = self.stage_hist
        rate = np.array([s["ticket_rate"] for s in self.spec])[self.persona]
        lam = np.where(
            np.isin(sh, [ONB, REP, ADV, WB, PUR]), rate[:, None], np.where(sh == RISK, rate[:, None] * 1.5, 0)
        )
        k = self.rng.poisson(lam)
        return k + self.presale.astype(int)

    def _events(self, ch, shop_id, loy_id, esp_id, shop_month, loyalty_month, sub_month):
        rng, sh = self.rng, self.stage_hist
        web, app, email_w, store = (ch[:, i][:, None] for i in range(4))
        active = sh >= 0
        post = np.isin(sh, [ONB, REP, ADV, WB])
        browse = np.isin(sh, [CONS, PUR])
        rates = {
            "ad_click": np.where(sh == AW, 1.0, 0.0) + np.where(browse, 0.3, 0.0),
            "page_view": web
            * (
                np.where(sh == AW, 1.2, 0)
                + np.where(browse, 3.0, 0)
                + np.where(post, 1.5, 0)
                + np.where(sh == RISK, 0.5, 0)
                + np.where(sh == CHURN, 0.05, 0)
            ),
            "product_view": web * (np.where(browse, 2.0, 0) + np.where(post, 1.0, 0) + np.where(sh == RISK, 0.2, 0)),
            "add_to_cart": web * (np.where(browse, 0.6, 0) + np.where(post, 0.4, 0)),
            "checkout_start": web * (np.where(browse, 0.15, 0) + np.where(post, 0.1, 0)),
            "app_open": np.where(
                self.app_user[:, None],
                app * (np.where(browse, 1.0, 0) + np.where(post, 3.0, 0) + np.where(sh == RISK, 0.5, 0)),
                0,
            ),
            "store_visit": store * (np.where(browse, 0.3, 0) + np.where(post, 0.4, 0)),
            "referral": np.where(sh == ADV, 0.4, 0.0),
        }
        subscribed = (sub_month[:, None] >= 0) & (np.arange(self.months)[None, :] >= sub_month[:, None]) & active
        subscribed &= ~np.isin(sh, [LOST])
        rates["email_sent"] = np.where(subscribed, 4.0, 0.0)
        rates["email_open"] = np.where(subscribed, 1.2 * email_w * np.where(sh == CHURN, 0.2, 1.0), 0.0)
        rates["email_click"] = np.where(subscribed & (post | browse | (sh == RISK)), 0.3 * email_w, 0.0)
        parts = []
        for ev, lam in rates.items():
            k = rng.poisson(np.broadcast_to(lam, sh.shape) * active)
            p = np.repeat(np.arange(self.n), k.sum(axis=1))
            m = np.repeat(np.tile(np.arange(self.months), self.n), k.reshape(-1))
            parts.append((ev, p, m, self._ts(m)))
        # checkout abandonment after an unresolved pre-sale ticket (the planted service failure)
        p, m = np.nonzero(self.unresolved)
        if len(p):
            opened = self._presale_opened
            ts = opened + (3600 * (1 + rng.random(len(p)) * 47)).astype("timedelta64[s]")
            ts = np.minimum(ts, self.cfg.month_starts[m + 1] - np.timedelta64(1, "s"))
            for ev, shift in (("add_to_cart", -60), ("checkout_start", 0)):
                parts.append((ev, p, m, ts + np.timedelta64(shift, "s")))
        # win-back campaign sends and holdout markers
        for ev, mask in (("email_sent", self.treated), ("email_holdout", self.holdout)):
            p, m = np.nonzero(mask)
            parts.append((ev + "|winback_offer", p, m, self._ts(m)))
        # orders seen by analytics: checkout_start + purchase for online orders
        self._order_plan()
        op = self._op
        online = op["channel"] != "store"
        parts.append(("checkout_start", op["p"][online], op["m"][online], op["ts"][online] - np.timedelta64(240, "s")))
        parts.append(("purchase", op["p"][online], op["m"][online], op["ts"][online]))
        ev_all = np.concatenate([np.full(len(x[1]), x[0], dtype=object) for x in parts])
        p_all = np.concatenate([x[1] for x in parts]).astype(int)
        m_all = np.concatenate([x[2] for x in parts]).astype(int)
        ts_all = np.concatenate([x[3] for x in parts])
        k = len(ev_all)
        campaign = np.full(k, None, dtype=object)
        wb = np.char.endswith(ev_all.astype(str), "|winback_offer")
        ev_all = np.where(wb, np.char.replace(ev_all.astype(str), "|winback_offer", ""), ev_all).astype(object)
        campaign[wb] = "winback_offer"
        revenue = np.full(k, np.nan)
        n_online = int(online.sum())
        revenue[-n_online:] = op["amount"][online] if n_online else revenue[-n_online:]
        # channels and sources
        channel = np.full(k, "web", dtype=object)
        source = np.full(k, "web_analytics", dtype=object)
        is_email = np.char.startswith(ev_all.astype(str), "email_")
        channel[is_email], source[is_email] = "email", "email_platform"
        is_app = ev_all == "app_open"
        channel[is_app], source[is_app] = "app", "app_analytics"
        if n_online:
            app_order = np.zeros(k, dtype=bool)
            app_order[-2 * n_online :] = np.concatenate([op["channel"][online] == "app"] * 2)
            channel[app_order], source[app_order] = "app", "app_analytics"
        is_store = ev_all == "store_visit"
        channel[is_store], source[is_store] = "store", "pos"
        is_ad = ev_all == "ad_click"
        ad_u = rng.random(k)
        blitz_ev = is_ad & self.blitz[p_all] & (self.stage_hist[p_all, m_all] == AW)
        ad_ch = np.array(["paid_search", "paid_social", "display"], dtype=object)[(ad_u * 3).astype(int)]
        ad_camp = np.array(["brand_search", "social_prospecting", "always_on_display"], dtype=object)[
            (ad_u * 3).astype(int)
        ]
        channel[is_ad], source[is_ad] = ad_ch[is_ad], "ads"
        campaign[is_ad] = ad_camp[is_ad]
        channel[blitz_ev], campaign[blitz_ev] = "paid_social", "social_blitz"
        campaign[is_email & (campaign == None) & (rng.random(k) < 0.5)] = "newsletter"  # noqa: E711
        # identifiers
        I = self.ident
        # Until a person has a shop account they browse on their first device only; after it, on any of them
        # (and logging in links each device to the account).
        device = (rng.random(k) * I["_n_cookies"][p_all]).astype(int)
        device = np.where((shop_month[p_all] >= 0) & (m_all >= shop_month[p_all]), device, 0)
        cookie = I["_cookies"][p_all, device]
        kiosk = rng.random(k) < self.cfg.noise.kiosk_cookie
        cookie = np.where(kiosk, np.array(_KIOSK_COOKIES, dtype=object)[(rng.random(k) * 5).astype(int)], cookie)
        anon = np.where(source == "app_analytics", I["_device"][p_all], cookie)
        anon = np.where((source == "email_platform") | (source == "pos"), None, anon)
        logged = (m_all >= shop_month[p_all]) & (shop_month[p_all] >= 0) & (rng.random(k) < 0.5)
        ref = np.where((source == "web_analytics") & logged, shop_id[p_all], None)
        ref = np.where(
            (source == "app_analytics") & (m_all >= loyalty_month[p_all]) & (loyalty_month[p_all] >= 0),
            loy_id[p_all],
            ref,
        )
        ref = np.where((source == "pos") & (rng.random(k) < 0.4), loy_id[p_all], ref)
        ref = np.where(source == "email_platform", esp_id[p_all], ref)
        email = np.where(source == "email_platform", I["email"][p_all], None)
        # the checkout form asks for an email address, so analytics records it with checkout_start
        email = np.where(ev_all == "checkout_start", I["email"][p_all], email)
        # winback emails also go to non-subscribers (sent to the CRM address): no ESP record
        email = np.where((campaign == "winback_offer") & (ref == None), I["email"][p_all], email)  # noqa: E711
        # a login event each month a web-logged-in person is active links cookie and account
        order = np.lexsort((ev_all.astype(str), ts_all, p_all))
        cols = {
            "source": source,
            "event_id": None,
            "ts": ts_all,
            "anonymous_id": anon,
            "contact_ref": ref,
            "email": email,
            "channel": channel,
            "event": ev_all,
            "campaign": campaign,
            "revenue": revenue,
        }
        cols = {c: (v[order] if v is not None else None) for c, v in cols.items()}
        self._checkout_truth(ev_all, p_all, ts_all)
        p_sorted = p_all[order]
        login = (cols["contact_ref"] != None) & (cols["event"] == "page_view")  # noqa: E711
        first_login = login & ~pd.Series(p_sorted).where(login).duplicated().to_numpy()
        cols["event"] = np.where(first_login, "login", cols["event"]).astype(object)
        cols["event_id"] = self._ids("E", k)
        defect = np.where(rng.random(k) < self.cfg.noise.defects / 4, "missing event_id", None)
        cols["event_id"] = np.where(defect != None, None, cols["event_id"])  # noqa: E711
        self._add("events", cols, p_sorted, defect)

    def _checkout_truth(self, ev_all: np.ndarray, p_all: np.ndarray, ts_all: np.ndarray) -> None:
        """Who abandoned checkout without ever buying, and whether an unresolved pre-sale ticket came first."""
        sec = ts_all.astype("datetime64[s]").astype(np.int64)
        co = ev_all == "checkout_start"
        last = np.full(self.n, np.iinfo(np.int64).min)
        np.maximum.at(last, p_all[co], sec[co])
        up, _ = np.nonzero(self.unresolved)
        first_fail = np.full(self.n, np.iinfo(np.int64).max)
        np.minimum.at(first_fail, up, self._presale_opened.astype("datetime64[s]").astype(np.int64))
        abandoner = (last > np.iinfo(np.int64).min) & (self.orders_n.sum(axis=1) == 0)
        self.checkout_abandoners = int(abandoner.sum())
        self.checkout_abandoners_failure = int((abandoner & (first_fail <= last)).sum())

    def _order_plan(self):
        rng = self.rng
        p, m, j = np.nonzero(np.arange(3)[None, None, :] < self.orders_n[:, :, None])
        chw = np.array([[s["channels"][c] for c in ("web", "app", "store")] for s in self.spec])[self.persona[p]]
        chw = chw * np.column_stack([np.ones(len(p)), self.app_user[p], np.ones(len(p))])
        chw = chw / chw.sum(axis=1, keepdims=True)
        c = _draw(chw, rng.random(len(p)))
        ts = self._ts(m)
        self._op = dict(
            p=p,
            m=m,
            amount=self.amounts[p, m, j],
            status=self.status[p, m, j],
            channel=np.array(["web", "app", "store"], dtype=object)[c],
            ts=ts,
        )

    def _orders(self, ch, shop_id, loy_id):
        rng, op, I = self.rng, self._op, self.ident
        k = len(op["p"])
        p = op["p"]
        store = op["channel"] == "store"
        ids = self._ids("O", k)
        ref = np.where(store, np.where(rng.random(k) < 0.5, loy_id[p], None), shop_id[p])
        email = np.where(store, np.where(rng.random(k) < 0.3, I["email"][p], None), I["email"][p])
        email = self._email_variant(email, 0.5)
        cur = np.array([_COUNTRIES[c][1] for c in I["country"][p]], dtype=object)
        status = np.array(["completed", "returned", "cancelled"], dtype=object)[op["status"]]
        fulfil = rng.random(k) < 0.4
        reason = np.where(
            fulfil,
            np.array(_RETURN_FULFILMENT, dtype=object)[(rng.random(k) * 4).astype(int)],
            np.array(_RETURN_EXPECTATION, dtype=object)[(rng.random(k) * 4).astype(int)],
        )
        reason = np.where(status == "returned", reason, None)
        amount = np.where(
            store,
            np.array([f"{a:,.2f}" for a in op["amount"]], dtype=object),
            np.array([f"{a:.2f}" for a in op["amount"]], dtype=object),
        )
        status_txt = np.where(store & (status == "completed"), "Completed", status)
        d = rng.random(k)
        rate = self.cfg.noise.defects
        defect = np.where(d < rate, "negative amount", np.where(d < 2 * rate, "unknown status", None))
        amount = np.where(defect == "negative amount", np.char.add("-", amount.astype(str)).astype(object), amount)
        status_txt = np.where(defect == "unknown status", "pending", status_txt)
        self.returns_fulfilment = (status == "returned") & fulfil
        self.returned_orders = int((status == "returned").sum())
        self._add(
            "orders",
            {
                "source": np.where(store, "pos", "shop").astype(object),
                "order_id": ids,
                "ts": _iso(op["ts"], sep=" "),
                "contact_ref": ref,
                "email": email,
                "amount": amount,
                "currency": cur,
                "status": status_txt,
                "channel": op["channel"],
                "return_reason": reason,
            },
            p,
            defect,
        )
        # an exact duplicate of a few rows (a re-sent export)
        dup = np.nonzero(rng.random(k) < rate)[0]
        if len(dup):
            last = self.rows["orders"][-1]
            self._add(
                "orders",
                {c: v[dup] for c, v in last.items() if not c.startswith("_")},
                p[dup],
                np.full(len(dup), "duplicate key", dtype=object),
            )

    def _tickets(self, tickets_pm, hd_id):
        rng, I = self.rng, self.ident
        pre_p, pre_m = np.nonzero(self.presale)
        opened_pre = self._presale_opened_all
        other = tickets_pm - self.presale.astype(int)
        p = np.repeat(np.arange(self.n), other.sum(axis=1))
        m = np.repeat(np.tile(np.arange(self.months), self.n), other.reshape(-1))
        k2 = len(p)
        topic = np.array(["delivery", "return", "billing", "technical", "account"], dtype=object)[
            (rng.random(k2) * 5).astype(int)
        ]
        allp = np.concatenate([pre_p, p])
        topics = np.concatenate([np.full(len(pre_p), "pre_sale_question", dtype=object), topic])
        opened = np.concatenate([opened_pre, self._ts(m)])
        resolved = np.concatenate([~self.unresolved[pre_p, pre_m], rng.random(k2) < 0.85])
        k = len(allp)
        close = opened + (3600 * (1 + rng.exponential(30, k))).astype("timedelta64[s]")
        close = np.where(resolved | (rng.random(k) < 0.5), close, np.datetime64("NaT"))
        close = np.where(close >= self.cfg.month_starts[-1], np.datetime64("NaT"), close)
        csat_u = rng.random(k)
        csat = np.where(resolved, 3 + (csat_u * 3).astype(int), 1 + (csat_u * 2.5).astype(int)).astype(float)
        csat = np.where(rng.random(k) < 0.6, csat, np.nan)
        channel = np.array(["email", "phone", "chat", "web_form"], dtype=object)[(rng.random(k) * 4).astype(int)]
        phone = np.where(channel == "phone", self._phone_format(I["phone"][allp]), None)
        phone = np.where((channel == "phone") & (rng.random(k) < self.cfg.noise.junk_phone), CALL_CENTRE_PHONE, phone)
        email = np.where(channel != "phone", self._email_variant(I["email"][allp], 0.5), None)
        d = rng.random(k)
        defect = np.where(d < self.cfg.noise.defects, "csat out of range", None)
        csat_txt = np.where(np.isnan(csat), None, np.array([f"{c:.0f}" for c in np.nan_to_num(csat)], dtype=object))
        csat_txt = np.where(defect != None, "7", csat_txt)  # noqa: E711
        self._add(
            "tickets",
            {
                "source": np.full(k, "helpdesk", dtype=object),
                "ticket_id": self._ids("T", k),
                "opened_at": _iso_offset(opened),
                "closed_at": _iso_offset(close),
                "contact_ref": hd_id[allp],
                "email": email,
                "phone": phone,
                "channel": channel,
                "topic": topics,
                "resolved": np.where(resolved, "true", "false").astype(object),
                "csat": csat_txt,
            },
            allp,
            defect,
        )

    def _surveys(self, crm_id):
        rng, I, sh = self.rng, self.ident, self.stage_hist
        eligible = (self.orders_n > 0) & (rng.random(sh.shape) < 0.15)
        p, m = np.nonzero(eligible)
        k = len(p)
        base = np.array([s["nps"] for s in self.spec])[self.persona[p]]
        adj = np.select([sh[p, m] == ADV, sh[p, m] == RISK, sh[p, m] == WB], [1.5, -2.5, -1.0], 0.0)
        nps = np.clip(np.round(base + adj + rng.normal(0, 1.5, k)), 0, 10).astype(int)
        defect = np.where(rng.random(k) < self.cfg.noise.defects, "nps out of range", None)
        nps_txt = np.where(defect != None, "11", nps.astype(str).astype(object))  # noqa: E711
        comments = np.array(
            [
                "",
                "Quick delivery",
                "Helpful staff",
                "Too expensive",
                "Website is slow",
                "Love the app",
                "Support never answered",
            ],
            dtype=object,
        )
        self._add(
            "surveys",
            {
                "source": np.full(k, "survey_tool", dtype=object),
                "response_id": self._ids("R", k),
                "ts": _iso(self._ts(m)),
                "contact_ref": crm_id[p],
                "email": np.where(crm_id[p] == None, I["email"][p], None),  # noqa: E711
                "nps": nps_txt,
                "comment": comments[(rng.random(k) * len(comments)).astype(int)],
            },
            p,
            defect,
        )

    def _enrichment(self):
        rng, I = self.rng, self.ident
        who = np.nonzero(rng.random(self.n) < 0.5)[0]
        k = len(who)
        sha = np.array([hashlib.sha256(e.strip().lower().encode()).hexdigest() for e in I["email"][who]], dtype=object)
        self._add(
            "enrichment",
            {
                "source": np.full(k, "partner_data", dtype=object),
                "email_sha256": sha,
                "postcode": np.full(k, None, dtype=object),
                "income_band": np.array(_INCOME, dtype=object)[(rng.random(k) * 5).astype(int)],
                "age_band": np.array(["18-24", "25-34", "35-44", "45-54", "55-64", "65+"], dtype=object)[
                    (rng.random(k) * 6).astype(int)
                ],
                "interest": np.array(_INTERESTS, dtype=object)[(rng.random(k) * len(_INTERESTS)).astype(int)],
                "geo_segment": np.full(k, None, dtype=object),
            },
            who,
        )
        # one geo-demographic row per person's postcode (deduplicated across blocks by the postcode's hash)
        pcs, first_idx = np.unique(I["postcode"].astype(str), return_index=True)
        k = len(pcs)
        seg = np.array([_GEO[int(hashlib.md5(x.encode()).hexdigest()[:6], 16) % len(_GEO)] for x in pcs], dtype=object)
        self._add(
            "enrichment",
            {
                "source": np.full(k, "geo_demographics", dtype=object),
                "email_sha256": np.full(k, None, dtype=object),
                "postcode": pcs.astype(object),
                "income_band": np.full(k, None, dtype=object),
                "age_band": np.full(k, None, dtype=object),
                "interest": np.full(k, None, dtype=object),
                "geo_segment": seg,
            },
            np.array([], dtype=int) if k == 0 else first_idx,
            np.full(k, "postcode row", dtype=object),
        )

    def _finish(self) -> tuple[dict[str, pa.Table], pa.Table]:
        tables, maps = {}, []
        for name, parts in self.rows.items():
            cols = {c: np.concatenate([p[c] for p in parts]) for c in parts[0]}
            person, defect = cols.pop("_person"), cols.pop("_defect")
            arrays = {c: _arrow(v, c) for c, v in cols.items()}
            tables[name] = pa.table(arrays)
            key = {
                "contacts": "record_id",
                "events": "event_id",
                "orders": "order_id",
                "tickets": "ticket_id",
                "surveys": "response_id",
            }.get(name)
            rk = arrays[key] if key else pc.coalesce(arrays["email_sha256"], arrays["postcode"])
            pid = pa.array(person, pa.string())
            if name == "enrichment":  # a postcode describes a place, not a person
                pid = pc.if_else(pc.is_null(arrays["postcode"]), pid, pa.scalar(None, pa.string()))
                defect = np.full(len(defect), None, dtype=object)
            maps.append(
                pa.table(
                    {
                        "table_name": pa.array([name] * len(person), pa.string()),
                        "source": arrays["source"],
                        "record_key": rk,
                        "person_id": pid,
                        "defect": pa.array(defect, pa.string()),
                    }
                )
            )
        return tables, pa.concat_tables(maps)


def _arrow(v: np.ndarray, name: str) -> pa.Array:
    if name == "ts" and np.issubdtype(v.dtype, np.datetime64):
        return pa.array(v.astype("datetime64[us]"), pa.timestamp("us"))
    if name == "revenue":
        return pa.array(np.round(v.astype(float), 2), pa.float64(), from_pandas=True)
    return pa.array(v, pa.string(), from_pandas=True)


def _iso(ts: np.ndarray, sep: str = "T") -> np.ndarray:
    s = np.datetime_as_string(ts.astype("datetime64[s]"), unit="s").astype(object)
    return s if sep == "T" else np.array([x.replace("T", sep) for x in s], dtype=object)


def _iso_offset(ts: np.ndarray) -> np.ndarray:
    """Helpdesk exports: local UK time with its offset (BST, +01:00, from the last Sunday of March)."""
    out = np.full(len(ts), None, dtype=object)
    ok = ~np.isnat(ts)
    t = pd.DatetimeIndex(ts[ok]).tz_localize("UTC").tz_convert("Europe/London")
    out[ok] = np.array(t.strftime("%Y-%m-%dT%H:%M:%S%z"), dtype=object)
    out[ok] = np.array([x[:-2] + ":" + x[-2:] for x in out[ok]], dtype=object)
    return out


# --- the public entry points --------------------------------------------------------------------------------


def _check_effects(fx: PlantedEffects) -> None:
    for name in ("presale_unresolved", "presale_penalty", "blitz_share", "blitz_factor", "winback_uplift"):
        if not 0 <= getattr(fx, name) <= 1:
            raise ValueError(f"effects.{name} must be between 0 and 1, got {getattr(fx, name)}")
    if not 0 < fx.winback_holdout < 1:
        raise ValueError(f"effects.winback_holdout must be between 0 and 1 (exclusive), got {fx.winback_holdout}")
    if fx.presale_rate_factor < 0:
        raise ValueError(f"effects.presale_rate_factor must not be negative, got {fx.presale_rate_factor}")
    if fx.blitz_stage not in ("awareness", "consideration"):
        raise ValueError(f"effects.blitz_stage must be 'awareness' or 'consideration', got {fx.blitz_stage!r}")
    if fx.persona_shares is not None and (
        len(fx.persona_shares) != len(PERSONAS) or min(fx.persona_shares) < 0 or sum(fx.persona_shares) <= 0
    ):
        raise ValueError(f"effects.persona_shares needs {len(PERSONAS)} non-negative shares ({', '.join(PERSONAS)})")
    for name, factor in fx.churn:
        if name not in PERSONAS:
            raise ValueError(f"effects.churn: unknown persona {name!r}; personas are {', '.join(PERSONAS)}")
        if factor < 0:
            raise ValueError(f"effects.churn: factor must not be negative, got {factor}")


def _config(
    n_customers: int,
    seed: int,
    start: str,
    months: int,
    scenario: Counterfactual | None,
    noise: IdentityNoise | None,
    effects: PlantedEffects | None = None,
) -> _Config:
    if n_customers < 1:
        raise ValueError(f"n_customers must be at least 1, got {n_customers}")
    if months < 2:
        raise ValueError(f"months must be at least 2, got {months}")
    scenario = scenario or Counterfactual()
    for src, dst, factor in scenario.scale:
        for s in (src, dst):
            if s not in _S:
                raise ValueError(f"unknown stage {s!r} in scenario {scenario.name!r}; stages are {', '.join(STAGES)}")
        if factor < 0:
            raise ValueError(f"scale factor must not be negative, got {factor}")
    for p in scenario.personas or ():
        if p not in PERSONAS:
            raise ValueError(f"unknown persona {p!r}; personas are {', '.join(PERSONAS)}")
    effects = effects or PlantedEffects()
    _check_effects(effects)
    T = transition_matrices(scenario, effects)
    t0 = pd.Timestamp(start).normalize().replace(day=1)
    edges = pd.date_range(t0, periods=months + 1, freq="MS").to_numpy().astype("datetime64[s]")
    return _Config(n_customers, seed, t0, months, scenario, noise or IdentityNoise(), T, edges, effects)


def _blocks(cfg: _Config, progress: bool) -> Iterator[_Block]:
    n_blocks = -(-cfg.n_customers // BLOCK_SIZE)
    it = range(n_blocks)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"generating {cfg.n_customers:,} customers", unit="block")
    for b in it:
        yield _simulate_block(cfg, b)


def _planted(cfg: _Config, counters: dict[str, float]) -> dict:
    c, fx = counters, cfg.effects
    blitz_stages = ["awareness", "consideration"] if fx.blitz_stage == "awareness" else ["consideration", "purchase"]
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
        **({"effects": asdict(cfg.effects)} if cfg.effects != PlantedEffects() else {}),
    }


def generate(
    n_customers: int = 20_000,
    seed: int = 7,
    start: str = "2024-01-01",
    months: int = 24,
    scenario: Counterfactual | None = None,
    noise: IdentityNoise | None = None,
    progress: bool = False,
    effects: PlantedEffects | None = None,
) -> SyntheticCompany:
    """Simulate a company in memory and return its source tables and truth.

    For large populations use :func:`write_company`, which streams blocks to disk.

    Parameters
    ----------
    n_customers : int
        People to simulate (prospects included: not all of them ever buy).
    seed : int
        Seed; the same arguments give the same data.
    start : str
        First month (``YYYY-MM-DD``; the day is ignored).
    months : int
        Months simulated.
    scenario : Counterfactual, optional
        Replay the same people with one lever changed.
    noise : IdentityNoise, optional
        Identity-mess rates.
    progress : bool
        Show a progress bar.
    effects : PlantedEffects, optional
        Sizes of the planted findings and the persona mix (default: the demo company's).

    Returns
    -------
    SyntheticCompany
        ``tables`` (contacts, events, orders, tickets, surveys, enrichment as text/typed columns the way the
        systems export them) and ``truth``.

    Examples
    --------
    >>> c = generate(n_customers=200, seed=3, months=6)
    >>> int(c.truth.record_map["table_name"].eq("orders").sum()) == len(c.tables["orders"])
    True
    """
    cfg = _config(n_customers, seed, start, months, scenario, noise, effects)
    tables: dict[str, list[pa.Table]] = {}
    people, hist, maps = [], [], []
    counters: dict[str, float] = {}
    for b in _blocks(cfg, progress):
        for name, t in b.tables.items():
            tables.setdefault(name, []).append(t)
        people.append(b.people)
        hist.append(b.stage_history)
        maps.append(b.record_map)
        for k, v in b.counters.items():
            counters[k] = counters.get(k, 0) + v
    frames = {name: _finalise(name, pa.concat_tables(ts)).to_pandas() for name, ts in tables.items()}
    truth = Truth(
        people=pd.concat(people, ignore_index=True),
        stage_history=pd.concat(hist, ignore_index=True),
        record_map=pa.concat_tables(maps).to_pandas(),
        transitions=_transitions_frame(cfg.T),
        planted=_planted(cfg, counters),
        params=_params(cfg),
    )
    truth.record_map = _dedupe_postcodes(truth.record_map)
    return SyntheticCompany(frames, truth)


def _finalise(name: str, t: pa.Table) -> pa.Table:
    if name == "enrichment":  # postcode rows from several blocks describe the same place: keep one
        df = t.to_pandas()
        geo = df["postcode"].notna()
        df = pd.concat([df[~geo], df[geo].drop_duplicates("postcode").sort_values("postcode")], ignore_index=True)
        return pa.Table.from_pandas(df, preserve_index=False)
    return t


def _dedupe_postcodes(m: pd.DataFrame) -> pd.DataFrame:
    geo = (m["table_name"] == "enrichment") & (m["source"] == "geo_demographics")
    keep = m[geo].drop_duplicates("record_key").sort_values("record_key")
    return pd.concat([m[~geo], keep], ignore_index=True)


# --- writing to disk ----------------------------------------------------------------------------------------

_PARQUET_TABLES = {"events"}
_TABLE_NAMES = ("contacts", "events", "orders", "tickets", "surveys", "enrichment")


class _FileSink:
    """Writes tables block by block: events as Parquet, the rest as CSV (as systems usually export them)."""

    def __init__(self, out: Path, file_format: str = "mixed"):
        if file_format not in ("mixed", "parquet"):
            raise ValueError(f"file_format must be 'mixed' or 'parquet', got {file_format!r}")
        self.parquet = set(_TABLE_NAMES) if file_format == "parquet" else _PARQUET_TABLES
        self.out = Path(out)
        self.truth_dir = self.out / "truth"
        self.out.mkdir(parents=True, exist_ok=True)
        self.truth_dir.mkdir(exist_ok=True)
        self.writers: dict[str, object] = {}

    def path(self, name: str) -> Path:
        return self.out / f"{name}.{'parquet' if name in self.parquet else 'csv'}"

    def append(self, name: str, t: pa.Table, truth: bool = False) -> None:
        # one schema whatever the route (pandas 3 gives large_string): plain strings, no pandas metadata
        t = t.cast(
            pa.schema([pa.field(f.name, pa.string() if pa.types.is_large_string(f.type) else f.type) for f in t.schema])
        )
        key = ("truth/" if truth else "") + name
        if key not in self.writers:
            path = (self.truth_dir / f"{name}.parquet") if truth else self.path(name)
            if truth or name in self.parquet:
                self.writers[key] = pq.ParquetWriter(path, t.schema, compression="zstd")
            else:
                self.writers[key] = pacsv.CSVWriter(path, t.schema)
        self.writers[key].write_table(t)

    def close(self) -> None:
        for w in self.writers.values():
            w.close()
        self.writers.clear()

    def write_all(self, tables: dict[str, pd.DataFrame], truth: Truth) -> None:
        for name, df in tables.items():
            self.append(name, pa.Table.from_pandas(df, preserve_index=False))
        for name in ("people", "stage_history", "record_map"):
            df = getattr(truth, name).copy()
            if "stage" in df:
                df["stage"] = df["stage"].astype(str)
            self.append(name, pa.Table.from_pandas(df, preserve_index=False), truth=True)
        self.close()
        self.write_meta(truth)

    def write_meta(self, truth: Truth) -> None:
        truth.transitions.to_csv(self.truth_dir / "transitions.csv", index=False, float_format="%.6f")
        (self.truth_dir / "planted.json").write_text(json.dumps(truth.planted, indent=2) + "\n")
        (self.truth_dir / "params.json").write_text(json.dumps(truth.params, indent=2) + "\n")
        (self.truth_dir / "README.md").write_text(
            "# Truth\n\nWhat really happened in this synthetic company. Tests score against it; "
            "the workspace never reads it.\n\n- `people.parquet`: person, persona, identity\n"
            "- `stage_history.parquet`: stage, orders and revenue per person and month\n"
            "- `record_map.parquet`: the true person of every source row, and planted defects\n"
            "- `transitions.csv`: the monthly transition matrix per persona\n"
            "- `planted.json`: the planted findings\n- `params.json`: the arguments\n"
        )


def write_company(
    out: str | Path,
    n_customers: int = 20_000,
    seed: int = 7,
    start: str = "2024-01-01",
    months: int = 24,
    scenario: Counterfactual | None = None,
    noise: IdentityNoise | None = None,
    progress: bool = True,
    file_format: str = "mixed",
    effects: PlantedEffects | None = None,
) -> dict[str, int]:
    """Generate a company straight to disk in blocks (bounded memory) and return rows written per table.

    Source files go to ``out`` and the truth to ``out/truth``. ``file_format="mixed"`` writes
    ``events.parquet`` and the other tables as CSV, the way such systems usually export them;
    ``"parquet"`` writes every table as Parquet (smaller and faster to load at scale). ``effects`` sizes the
    planted findings (:class:`PlantedEffects`; default: the demo company's).
    The bytes are the same as :meth:`SyntheticCompany.write` of :func:`generate` with the same arguments
    apart from Parquet row-group boundaries.

    Examples
    --------
    >>> import tempfile
    >>> rows = write_company(tempfile.mkdtemp(), n_customers=100, seed=1, months=6, progress=False)
    >>> rows["contacts"] > 0
    True
    """
    cfg = _config(n_customers, seed, start, months, scenario, noise, effects)
    sink = _FileSink(Path(out), file_format)
    for stale in list(sink.out.glob("*.csv")) + list(sink.out.glob("*.parquet")):
        if stale.stem in _TABLE_NAMES:
            stale.unlink()
    counts: dict[str, int] = {}
    counters: dict[str, float] = {}
    geo_rows: list[pa.Table] = []
    geo_map: list[pa.Table] = []
    for b in _blocks(cfg, progress):
        for name, t in b.tables.items():
            if name == "enrichment":
                geo = pc.is_valid(t["postcode"])
                geo_rows.append(t.filter(geo))
                t = t.filter(pc.invert(geo))
            sink.append(name, t)
            counts[name] = counts.get(name, 0) + t.num_rows
        m = b.record_map
        is_geo = pc.and_(pc.equal(m["table_name"], "enrichment"), pc.equal(m["source"], "geo_demographics"))
        geo_map.append(m.filter(is_geo))
        sink.append("record_map", m.filter(pc.invert(is_geo)), truth=True)
        people = b.people
        sink.append("people", pa.Table.from_pandas(people, preserve_index=False), truth=True)
        h = b.stage_history.copy()
        h["stage"] = h["stage"].astype(str)
        sink.append("stage_history", pa.Table.from_pandas(h, preserve_index=False), truth=True)
        for k, v in b.counters.items():
            counters[k] = counters.get(k, 0) + v
    geo = _finalise("enrichment", pa.concat_tables(geo_rows))
    sink.append("enrichment", geo)
    counts["enrichment"] = counts.get("enrichment", 0) + geo.num_rows
    gm = _dedupe_postcodes(pa.concat_tables(geo_map).to_pandas())
    sink.append("record_map", pa.Table.from_pandas(gm, preserve_index=False), truth=True)
    sink.close()
    truth = Truth(
        pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), _transitions_frame(cfg.T), _planted(cfg, counters), _params(cfg)
    )
    sink.write_meta(truth)
    return counts


def load_truth(folder: str | Path) -> Truth:
    """Read the truth that :func:`write_company` wrote to ``folder/truth``.

    Examples
    --------
    >>> import tempfile
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
    )
