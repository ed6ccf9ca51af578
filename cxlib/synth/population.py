"""The people and their lives: one block of :data:`BLOCK_SIZE` people simulated month by month.

Each block has its own random streams (``SeedSequence((seed, block))`` spawned into attributes, dynamics
and emission), so blocks can be made one at a time in bounded memory, and a counterfactual replays the same
people with the same uniforms (common random numbers): a fixed number of uniforms per person for the
attributes, and 11 per person and month for the dynamics, whatever the scenario.

A block is: who the people are (:func:`_draw_people`), how they move through the stages (:func:`_live`),
what their orders are worth (:func:`_order_values`), who they really are (:func:`_identities`), and what the
company's systems recorded about them (:func:`cxlib.synth.emit._emit`).

Examples
--------
>>> from cxlib.synth.config import _config
>>> cfg = _config(50, seed=1, start="2024-01-01", months=4, scenario=None, noise=None)
>>> b = _simulate_block(cfg, 0)
>>> len(b.people), sorted(b.tables)[:2]
(50, ['contacts', 'enrichment'])
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
from scipy import stats

from cxlib.synth.chain import _add_to, _draw, _scale_row
from cxlib.synth.config import _Config
from cxlib.synth.emit import _emit
from cxlib.synth.identities import _identities
from cxlib.synth.material import _COUNTRY_CDF
from cxlib.synth.specs import _CUSTOMER_STAGES, _SHARES, AW, CONS, PERSONA_SPECS, PERSONAS, PUR, REP, RISK, STAGES

#: People per random-number block. Changing it changes every generated company.
BLOCK_SIZE = 2_000


@dataclass
class _Block:
    tables: dict[str, pa.Table]
    people: pd.DataFrame
    stage_history: pd.DataFrame
    record_map: pa.Table
    counters: dict[str, float]
    voice: pa.Table | None = None


@dataclass
class _People:
    """Who the block's people are: the attribute uniforms ``A`` and what they decide (one value per person)."""

    A: np.ndarray
    persona: np.ndarray
    arrival: np.ndarray
    blitz: np.ndarray
    app_user: np.ndarray
    subscriber: np.ndarray
    country_idx: np.ndarray


@dataclass
class _Months:
    """How the block's people lived, person x month (stage -1 before arrival), and the causal counters."""

    stage_hist: np.ndarray
    orders_n: np.ndarray
    presale: np.ndarray
    unresolved: np.ndarray
    treated: np.ndarray
    holdout: np.ndarray
    counters: dict[str, float]


@dataclass
class _Lives:
    """One block's simulated lives: what the systems then record (arrays are per person, or person x month)."""

    block: int
    n: int
    people_ids: np.ndarray
    persona: np.ndarray
    ident: dict[str, np.ndarray]
    stage_hist: np.ndarray
    orders_n: np.ndarray
    amounts: np.ndarray
    status: np.ndarray
    presale: np.ndarray
    unresolved: np.ndarray
    treated: np.ndarray
    holdout: np.ndarray
    blitz: np.ndarray
    app_user: np.ndarray
    subscriber: np.ndarray
    country_idx: np.ndarray


def _spec_of(attribute: str, persona: np.ndarray) -> np.ndarray:
    """A persona attribute (e.g. ``"order_rate"``) for each person."""
    return np.array([PERSONA_SPECS[p][attribute] for p in PERSONAS])[persona]


def _simulate_block(cfg: _Config, block: int) -> _Block:
    """Simulate block ``block`` of the population: its lives, its source tables and its truth."""
    start_person = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, cfg.n_customers - start_person)
    attr_ss, dyn_ss, emit_ss = np.random.SeedSequence([cfg.seed, block]).spawn(3)
    rng_attr = np.random.default_rng(attr_ss)
    rng_dyn = np.random.default_rng(dyn_ss)
    ppl = _draw_people(cfg, rng_attr, n)
    U = rng_dyn.random((n, cfg.months, 11))
    lived = _live(cfg, ppl, U)
    amounts, status, revenue = _order_values(ppl.persona, U, lived.orders_n)
    people_ids = np.array([f"P{start_person + i:07d}" for i in range(n)], dtype=object)
    ident = _identities(cfg, rng_attr, ppl.A, n, ppl.persona, ppl.country_idx, people_ids)
    lives = _Lives(
        block=block,
        n=n,
        people_ids=people_ids,
        persona=ppl.persona,
        ident=ident,
        stage_hist=lived.stage_hist,
        orders_n=lived.orders_n,
        amounts=amounts,
        status=status,
        presale=lived.presale,
        unresolved=lived.unresolved,
        treated=lived.treated,
        holdout=lived.holdout,
        blitz=ppl.blitz,
        app_user=ppl.app_user,
        subscriber=ppl.subscriber,
        country_idx=ppl.country_idx,
    )
    emitted = _emit(cfg, np.random.default_rng(emit_ss), lives)
    counters = {**lived.counters, **_dropoff_truth(lived), **emitted.observed}
    people = _people_frame(cfg, ppl, people_ids, ident)
    hist = _history_frame(cfg, people_ids, lived, revenue)
    return _Block(emitted.tables, people, hist, emitted.record_map, counters, emitted.voice)


def _history_block(cfg: _Config, block: int, detail: bool = False) -> pd.DataFrame:
    """Block ``block``'s true ``stage_history`` only: the same streams as :func:`_simulate_block` (the source
    tables are drawn from their own stream afterwards, so leaving them out changes nothing here). ``detail``
    adds each person's ``persona`` and ``presale_failure`` (an unresolved pre-sale question that month: the
    tickets' planted failure)."""
    start_person = block * BLOCK_SIZE
    n = min(BLOCK_SIZE, cfg.n_customers - start_person)
    attr_ss, dyn_ss, _emit_ss = np.random.SeedSequence([cfg.seed, block]).spawn(3)
    ppl = _draw_people(cfg, np.random.default_rng(attr_ss), n)
    U = np.random.default_rng(dyn_ss).random((n, cfg.months, 11))
    lived = _live(cfg, ppl, U)
    _amounts, _status, revenue = _order_values(ppl.persona, U, lived.orders_n)
    people_ids = np.array([f"P{start_person + i:07d}" for i in range(n)], dtype=object)
    return _history_frame(cfg, people_ids, lived, revenue, ppl.persona if detail else None)


def _draw_people(cfg: _Config, rng_attr: np.random.Generator, n: int) -> _People:
    """Persona, arrival month, acquisition and flags: a fixed number of uniforms per person, so that every
    scenario sees the same people."""
    A = rng_attr.random((n, 16))
    fx = cfg.effects
    shares = _SHARES if fx.persona_shares is None else np.asarray(fx.persona_shares, dtype=float)
    persona = np.minimum(np.searchsorted(np.cumsum(shares), A[:, 0] * shares.sum(), side="right"), len(PERSONAS) - 1)
    return _People(
        A=A,
        persona=persona,
        arrival=_arrival_month(cfg, A[:, 1]),
        blitz=A[:, 2] < fx.blitz_share,
        app_user=A[:, 3] < _spec_of("app_p", persona),
        subscriber=A[:, 4] < _spec_of("subscribe_p", persona),
        country_idx=np.searchsorted(_COUNTRY_CDF, A[:, 5] * _COUNTRY_CDF[-1], side="right").clip(0, 3),
    )


def _season(cfg: _Config) -> np.ndarray:
    """The planted month-of-year multiplier of each simulated month (ones without seasonality)."""
    moy = cfg.month_starts[:-1].astype("datetime64[M]").astype(int) % 12  # 0 is January
    return cfg.effects.season_multipliers()[moy]


def _arrival_month(cfg: _Config, u: np.ndarray) -> np.ndarray:
    """Each person's arrival month from their one uniform: evenly over the arrival months, or in proportion
    to the season's multiplier (the same uniform either way: random numbers are consumed alike)."""
    fx = cfg.effects
    span = max(1, int(cfg.months * 0.75)) if fx.arrival_months is None else min(fx.arrival_months, cfg.months)
    if fx.seasonality == 0:
        return np.floor(u * span).astype(int)
    cdf = np.cumsum(_season(cfg)[:span])
    return np.minimum(np.searchsorted(cdf / cdf[-1], u, side="right"), span - 1)


def _live(cfg: _Config, ppl: _People, U: np.ndarray) -> _Months:
    """Move everyone through the stages month by month, with the planted effects and the win-back campaign."""
    n, months, fx = len(ppl.persona), cfg.months, cfg.effects
    lived = _Months(
        stage_hist=np.full((n, months), -1, dtype=np.int8),
        orders_n=np.zeros((n, months), dtype=np.int8),
        presale=np.zeros((n, months), dtype=bool),
        unresolved=np.zeros((n, months), dtype=bool),
        treated=np.zeros((n, months), dtype=bool),
        holdout=np.zeros((n, months), dtype=bool),
        counters=dict(
            presale_unresolved=0,
            abandonments_caused=0.0,
            winback_treated=0,
            winback_holdout=0,
            winback_uplift_realised=0.0,
            blitz_arrivals=0,
            blitz_lost_caused=0.0,
        ),
    )
    counters = lived.counters
    campaign_done = np.zeros(n, dtype=bool)
    presale_rate = _spec_of("presale_rate", ppl.persona) * fx.presale_rate_factor
    order_rate = _spec_of("order_rate", ppl.persona)
    stage = np.full(n, -1)
    season = _season(cfg)
    for m in range(months):
        stage = np.where(ppl.arrival == m, AW, stage)
        active = stage >= 0
        lived.stage_hist[:, m] = stage
        u = U[:, m]
        lived.presale[:, m] = active & (stage == CONS) & (u[:, 1] < presale_rate)
        lived.unresolved[:, m] = lived.presale[:, m] & (u[:, 2] < fx.presale_unresolved)
        counters["presale_unresolved"] += int(lived.unresolved[:, m].sum())
        lived.treated[:, m], lived.holdout[:, m], eligible = _winback(cfg, m, stage, u, campaign_done)
        campaign_done |= eligible
        lived.orders_n[:, m] = _orders_this_month(stage, u, order_rate * season[m])
        if m == months - 1:
            break
        nxt, caused = _step(cfg, ppl, stage, u, lived.unresolved[:, m], lived.treated[:, m], season[m])
        counters["abandonments_caused"] += caused["abandonments_caused"]
        counters["blitz_arrivals"] += int((ppl.blitz & (ppl.arrival == m)).sum())
        counters["blitz_lost_caused"] += caused["blitz_lost_caused"]
        counters["winback_treated"] += int(lived.treated[:, m].sum())
        counters["winback_holdout"] += int(lived.holdout[:, m].sum())
        counters["winback_uplift_realised"] += caused["winback_uplift_realised"]
        stage = np.where(active, nxt, stage)
    return lived


def _winback(
    cfg: _Config, m: int, stage: np.ndarray, u: np.ndarray, campaign_done: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Who gets the win-back offer this month, who is held out, and who was eligible."""
    fx = cfg.effects
    if fx.winback_rollout:  # the offer as a standing programme: every at-risk customer, every month
        eligible = stage == RISK
        return eligible, np.zeros_like(eligible), eligible
    win_lo, win_hi = int(cfg.months * 0.5), int(cfg.months * 0.5) + 3
    eligible = (stage == RISK) & (win_lo <= m < win_hi) & ~campaign_done
    return eligible & (u[:, 3] >= fx.winback_holdout), eligible & (u[:, 3] < fx.winback_holdout), eligible


def _orders_this_month(stage: np.ndarray, u: np.ndarray, order_rate: np.ndarray) -> np.ndarray:
    """Orders follow the stage this month: one at purchase, Poisson (at most 3) as a customer or at risk."""
    lam = np.where(np.isin(stage, _CUSTOMER_STAGES), order_rate, np.where(stage == RISK, order_rate * 0.2, 0.0))
    k = np.where(lam > 0, stats.poisson.ppf(u[:, 4], np.maximum(lam, 1e-12)), 0).astype(int)
    return np.where(stage == PUR, 1, np.minimum(k, 3))


def _step(
    cfg: _Config,
    ppl: _People,
    stage: np.ndarray,
    u: np.ndarray,
    unresolved: np.ndarray,
    treated: np.ndarray,
    season: float = 1.0,
) -> tuple[np.ndarray, dict[str, float]]:
    """Next month's stage, and the moves the planted effects caused (against the same draw without them);
    ``season`` multiplies this month's consideration -> purchase (part of the baseline, not an effect)."""
    fx = cfg.effects
    active = stage >= 0
    blitz_from, blitz_to = (AW, CONS) if fx.blitz_stage == "awareness" else (CONS, PUR)
    rows = cfg.T[ppl.persona, stage.clip(0)]
    if fx.seasonality > 0:
        cons = active & (stage == CONS)
        rows[cons] = _scale_row(rows[cons], PUR, np.full(cons.sum(), season))
    base = rows
    bl = active & ppl.blitz & (stage == blitz_from)
    if bl.any():
        rows = rows.copy()
        rows[bl] = _scale_row(rows[bl], blitz_to, np.full(bl.sum(), fx.blitz_factor))
    pen = unresolved & (not cfg.scenario.fix_service_failure)
    if pen.any():
        rows = rows.copy()
        rows[pen] = _scale_row(rows[pen], PUR, np.full(pen.sum(), fx.presale_penalty))
    if treated.any():
        rows = rows.copy()
        rows[treated] = _add_to(rows[treated], REP, fx.winback_uplift)
    nxt = _draw(rows, u[:, 0])
    counterfactual = _draw(base, u[:, 0])
    return nxt, {
        "abandonments_caused": float(((nxt != PUR) & (counterfactual == PUR) & pen).sum()),
        "blitz_lost_caused": float(((nxt != blitz_to) & (counterfactual == blitz_to) & bl).sum()),
        "winback_uplift_realised": float(((nxt == REP) & (counterfactual != REP) & treated).sum()),
    }


def _order_values(
    persona: np.ndarray, U: np.ndarray, orders_n: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Order amounts and statuses (0 completed, 1 returned, 2 cancelled) for up to 3 orders per person and
    month, and each month's revenue; from the dynamics stream (revenue is part of the common random numbers)."""
    aov_mu = np.array([PERSONA_SPECS[p]["aov"][0] for p in PERSONAS])[persona]
    aov_sd = np.array([PERSONA_SPECS[p]["aov"][1] for p in PERSONAS])[persona]
    ret_p = _spec_of("return_p", persona)
    amounts = np.exp(aov_mu[:, None, None] + aov_sd[:, None, None] * stats.norm.ppf(U[:, :, 5:8].clip(1e-9, 1 - 1e-9)))
    amounts = np.round(amounts, 2)
    status = np.where(U[:, :, 8:11] < 0.02, 2, np.where(U[:, :, 8:11] < 0.02 + ret_p[:, None, None], 1, 0))
    has_order = np.arange(3)[None, None, :] < orders_n[:, :, None]
    revenue = np.where(has_order & (status == 0), amounts, 0.0).sum(axis=2)
    return amounts, status, revenue


def _dropoff_truth(lived: _Months) -> dict[str, int]:
    """What a drop-off analysis of the data should find: considered and never bought, and with a failure."""
    reached = (lived.stage_hist == CONS).any(axis=1)
    bought = (lived.stage_hist == PUR).any(axis=1)
    dropped = reached & ~bought
    return {
        "considered_not_bought": int(dropped.sum()),
        "considered_not_bought_presale_failure": int((dropped & lived.unresolved.any(axis=1)).sum()),
    }


def _people_frame(cfg: _Config, ppl: _People, people_ids: np.ndarray, ident: dict[str, np.ndarray]) -> pd.DataFrame:
    """The truth's ``people`` rows of the block."""
    return pd.DataFrame(
        {
            "person_id": people_ids,
            "persona": np.array(PERSONAS, dtype=object)[ppl.persona],
            "arrival_month": cfg.month_starts[ppl.arrival].astype("datetime64[s]"),
            "acquired_by_blitz": ppl.blitz,
            "app_user": ppl.app_user,
            "email_subscriber": ppl.subscriber,
            **{k: v for k, v in ident.items() if not k.startswith("_")},
        }
    )


def _history_frame(
    cfg: _Config, people_ids: np.ndarray, lived: _Months, revenue: np.ndarray, persona: np.ndarray | None = None
) -> pd.DataFrame:
    """The truth's ``stage_history`` rows of the block: every month from arrival (with ``persona``, also each
    row's persona name and ``presale_failure``)."""
    n, months = lived.stage_hist.shape
    cols = {
        "person_id": np.repeat(people_ids, months),
        "month": np.tile(cfg.month_starts[:-1].astype("datetime64[s]"), n),
        "stage": lived.stage_hist.reshape(-1),
        "orders": lived.orders_n.reshape(-1),
        "revenue": np.round(revenue.reshape(-1), 2),
    }
    if persona is not None:
        cols["persona"] = np.repeat(np.array(PERSONAS, dtype=object)[persona], months)
        cols["presale_failure"] = (lived.presale & lived.unresolved).reshape(-1)
    hist = pd.DataFrame(cols)
    hist = hist[hist["stage"] >= 0].reset_index(drop=True)
    hist["stage"] = pd.Categorical.from_codes(hist["stage"].astype(int), categories=list(STAGES))
    return hist


def _blocks(cfg: _Config, progress: bool) -> Iterator[_Block]:
    """The population's blocks, made one at a time (with a progress bar if asked)."""
    n_blocks = -(-cfg.n_customers // BLOCK_SIZE)
    it = range(n_blocks)
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(it, desc=f"generating {cfg.n_customers:,} customers", unit="block")
    for b in it:
        yield _simulate_block(cfg, b)
