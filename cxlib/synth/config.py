"""What a generation is asked for: identity noise, planted effects, a counterfactual, and the checked config.

:class:`IdentityNoise` sets the identity mess in the systems' records, :class:`PlantedEffects` the sizes of
the planted findings and the persona mix, :class:`Counterfactual` one lever changed for a replay.
``_config`` checks the arguments and fixes the month grid and the transition matrices once per run.

Examples
--------
>>> cfg = _config(100, seed=1, start="2024-03-15", months=3, scenario=None, noise=None)
>>> str(cfg.start.date()), len(cfg.month_starts), cfg.T.shape
('2024-03-01', 4, (5, 10, 10))
>>> _config(100, seed=1, start="2024-01-01", months=1, scenario=None, noise=None)
Traceback (most recent call last):
...
ValueError: months must be at least 2, got 1
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from cxlib.synth.chain import transition_matrices
from cxlib.synth.specs import _S, PERSONAS, STAGES

__all__ = ["HARDER_KINDS", "Counterfactual", "IdentityNoise", "PlantedEffects"]

# Planted effects (documented in the truth's ``planted`` record).
_PRESALE_UNRESOLVED_P = 0.45  # share of pre-sale tickets the service team fails to resolve
_PRESALE_PENALTY = 0.2  # an unresolved pre-sale ticket multiplies consideration -> purchase by this
_BLITZ_SHARE = 0.12  # share of arrivals acquired by the "social_blitz" campaign
_BLITZ_FACTOR = 0.15  # their awareness -> consideration is multiplied by this (traffic that never converts)
_WINBACK_UPLIFT = 0.15  # absolute lift of at_risk -> repeat in the month a treated customer gets the offer
_WINBACK_HOLDOUT = 0.2


@dataclass(frozen=True)
class IdentityNoise:
    """Rates of the identity mess written into the systems' records (each a probability per record or field).

    The default is the harder mess, modelled on the FEBRL / GeCo error model (Christen and Vatsalan, 2013):
    on top of the kinder kinds the generator always had (the first block below, unchanged), every contact
    record's name, address and birth-date fields get keyboard, OCR and phonetic errors, missing values and
    mangled dates, drawn from a random stream of their own (so that the events, orders, stages and the truth
    are the same bytes whatever these rates). :meth:`mild` is the kinder mess alone (every new rate 0): the
    companies generated before the harder default.

    Parameters
    ----------
    typo : float
        Two neighbouring letters swapped, or the last dropped, in a name (CRM, helpdesk and the acquired CRM at
        this rate; the shop 0.01, the e-mail platform 0.01, loyalty 0.02, a duplicate shop account 0.05).
    nickname, swapped_names : float
        A known nickname for the first name (``Robert`` -> ``Bob``); first and last name in each other's field.
    email_case, email_variant, second_email, missing_email, missing_phone : float
        E-mail in title or upper case; gmail dots or a plus-tag; a second (work) address some systems hold;
        no e-mail; no phone.
    moved, household : float
        Share of people who move house during the horizon; share who share an address and surname with the
        person before them (a household).
    duplicate_account, junk_email, junk_phone, kiosk_cookie, defects, legacy_crm : float
        A second shop account; a junk e-mail (``test@example.com``); a ticket logged with the call-centre
        number; web events from an in-store kiosk; malformed values the loader must quarantine or null; share
        of buyers also in an acquired company's CRM (names, address and birth date only).
    keyboard : float
        Per name field (first, last, street name): one keyboard slip -- a letter replaced by or with a
        neighbouring key inserted (QWERTY), a letter dropped, or two letters swapped.
    ocr : float
        Per name field: one OCR confusion (``o``/``0``, ``l``/``1``, ``s``/``5``, ``rn``/``m``, ``cl``/``d``...).
    phonetic : float
        Per name field: one spelling that sounds the same (``ph``/``f``, ``ck``/``k``, ``y``/``i``, a double
        letter single or a single letter doubled...); names without such a pattern are left as they are.
    initial : float
        The first name written as its initial (``R.``).
    missing_field : float
        Per field (first name, last name, street, postcode, city, birth date): the value left blank.
    house_number : float
        The house number with one digit changed, dropped or added.
    postcode_typo : float
        One character of the postcode replaced by a neighbouring key or an OCR look-alike.
    street_abbrev : float
        The street type abbreviated (``Road`` -> ``Rd``, ``Street`` -> ``St``, ``Lane`` -> ``Ln``...).
    date_swap : float
        Day and month of the birth date swapped (a date that no longer exists does not parse).
    date_typo : float
        One digit of the birth date's day or month changed (it may no longer parse).
    date_year : float
        The last digit of the birth year changed.
    date_format : float
        The birth date written in another format: half in one the loader reads (``1984/03/07``,
        ``1984-3-7``), half in one it does not (``07/03/1984``, ``07.03.1984``, the US ``03/07/1984``); the
        loader nulls those (and the truth records each such row's defect as ``unreadable birth date``) and
        keeps the text in ``contacts.birth_date_raw``.

    Examples
    --------
    >>> IdentityNoise().keyboard, IdentityNoise.mild().keyboard, IdentityNoise.mild().typo
    (0.03, 0.0, 0.06)
    """

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
    # the harder mess (FEBRL / GeCo), from a random stream of its own
    keyboard: float = 0.03
    ocr: float = 0.01
    phonetic: float = 0.03
    initial: float = 0.02
    missing_field: float = 0.03
    house_number: float = 0.02
    postcode_typo: float = 0.02
    street_abbrev: float = 0.10
    date_swap: float = 0.01
    date_typo: float = 0.01
    date_year: float = 0.01
    date_format: float = 0.03

    @classmethod
    def mild(cls, **rates: float) -> IdentityNoise:
        """The kinder mess the generator made before the harder default: every FEBRL/GeCo-style rate 0.

        Other rates may be given as keywords. ``generate(..., noise=IdentityNoise.mild())`` gives the same
        tables and truth as the generator before the harder default (only ``params.json``, which records
        every rate, differs).

        Examples
        --------
        >>> IdentityNoise.mild().date_format, IdentityNoise.mild(ocr=0.5).ocr
        (0.0, 0.5)
        """
        harder = dict.fromkeys(HARDER_KINDS, 0.0)
        return cls(**{**harder, **rates})


#: The kinds of the harder mess (:class:`IdentityNoise`), drawn from a random stream of their own.
HARDER_KINDS = (
    "keyboard",
    "ocr",
    "phonetic",
    "initial",
    "missing_field",
    "house_number",
    "postcode_typo",
    "street_abbrev",
    "date_swap",
    "date_typo",
    "date_year",
    "date_format",
)


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
    seasonality : float
        Amplitude ``a`` (0 to below 1) of a month-of-year cycle ``1 + a cos(2 pi (month - season_peak) / 12)``
        that multiplies the arrivals, the consideration -> purchase probability and the order rate of
        customers and at-risk customers in each calendar month (0, the default: no seasons). The truth's
        ``planted["seasonality"]`` records the multiplier of every month of the year.
    season_peak : int
        Calendar month (1-12) where the cycle peaks (default December).
    arrival_months : int, optional
        Everyone arrives within the first ``arrival_months`` months (e.g. 3: a closed cohort of one quarter's
        first buyers, then only repeat buying); default: the first three quarters of the horizon. Recorded in
        ``planted["arrivals"]`` when set.

    Examples
    --------
    >>> PlantedEffects() == PlantedEffects(presale_unresolved=0.45)
    True
    >>> PlantedEffects(blitz_stage="consideration").blitz_stage
    'consideration'
    >>> round(float(PlantedEffects(seasonality=0.5).season_multipliers()[11]), 2)  # December
    1.5
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
    seasonality: float = 0.0
    season_peak: int = 12
    arrival_months: int | None = None

    def season_multipliers(self) -> np.ndarray:
        """The month-of-year multiplier, January to December (all ones without seasonality)."""
        moy = np.arange(1, 13)
        return 1.0 + self.seasonality * np.cos(2 * np.pi * (moy - self.season_peak) / 12)


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
    if not 0 <= fx.seasonality < 1:
        raise ValueError(f"effects.seasonality must be at least 0 and below 1, got {fx.seasonality}")
    if fx.season_peak not in range(1, 13):
        raise ValueError(f"effects.season_peak must be a calendar month 1-12, got {fx.season_peak}")
    if fx.arrival_months is not None and fx.arrival_months < 1:
        raise ValueError(f"effects.arrival_months must be at least 1, got {fx.arrival_months}")
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
    noise = noise or IdentityNoise()
    for name, rate in asdict(noise).items():
        if not 0 <= rate <= 1:
            raise ValueError(f"noise.{name} must be between 0 and 1, got {rate}")
    return _Config(n_customers, seed, t0, months, scenario, noise, T, edges, effects)
