"""The seed decides the company: its name and planted effects, generating it, the fingerprint of its data.

Examples
--------
>>> from cxlib.case.design import case_design
>>> case_design(1234)["pattern"]
'campaign_consideration'
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxlib import synth
from cxlib.schema import DataError

#: Version of the seed -> company recipe. A case is graded with the recipe it was made with.
CASE_FORMAT = 1
DEFAULT_CUSTOMERS = 3_000
_MONTHS = 24
_START = "2024-01-01"
_SOURCE_SUFFIXES = (".csv", ".parquet")

_COMPANIES = (
    "Northwind Outfitters",
    "Juniper & Oak",
    "Harbour Home",
    "Alder Street Goods",
    "Pebble Lane",
    "Kestrel Supply Co.",
    "Mossgrove",
    "Tidewater Trading",
    "Bramble & Finch",
    "Lumen Living",
    "Fieldstone Market",
    "Copperleaf",
)


#: Seeds below this are few enough to try one by one: a candidate who knows the company's name (in the brief)
#: regenerates each and compares the first rows. ``new_case`` warns about one given explicitly.
GUESSABLE_SEEDS = 100_000_000

def case_design(seed: int) -> dict[str, Any]:
    """The company a seed makes: its name and planted effects (the answer key's design, not the key).

    The key itself is measured on the generated data by :func:`~cxlib.case.truth.case_truth`; the design
    only sets the effects large enough that the intended answers are clear: one of three failure patterns (a service
    failure at consideration -> purchase, a campaign whose traffic never considers, or a campaign whose
    traffic considers but never buys), the most valuable persona (app loyalists or big-ticket buyers, by
    the persona mix), the most at-risk persona (big-ticket buyers -- only when app loyalists are the most
    valuable -- or window shoppers, by their churn), and the win-back offer's true uplift.

    Examples
    --------
    >>> d = case_design(42)
    >>> sorted(d)
    ['biggest_dropoff', 'company', 'effects', 'most_at_risk', 'most_valuable', 'pattern']
    >>> d == case_design(42)
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise DataError(f"a case seed must be a non-negative whole number, got {seed!r}")
    rng = np.random.default_rng([int(seed), CASE_FORMAT, 0xCA5E])
    pattern = ("service", "campaign_awareness", "campaign_consideration")[int(rng.integers(3))]
    valuable = ("loyal_app", "big_ticket")[int(rng.integers(2))]
    # churning big-ticket buyers would no longer be clearly the most valuable: they are at risk only when app
    # loyalists are the most valuable (then mostly, so that each at-risk persona comes up about as often)
    at_risk = "big_ticket" if valuable == "loyal_app" and rng.random() < 0.8 else "window_shopper"
    shares = _persona_shares(rng, valuable)
    churn = _churn(rng, at_risk)
    kw = _failure_effects(rng, pattern)
    effects = synth.PlantedEffects(
        **{k: round(float(v), 3) for k, v in kw.items()},
        blitz_stage="awareness" if pattern != "campaign_consideration" else "consideration",
        winback_uplift=round(float(rng.uniform(0.05, 0.25)), 3),
        winback_holdout=0.25,
        persona_shares=shares,
        churn=churn,
    )
    return {
        "company": _COMPANIES[int(rng.integers(len(_COMPANIES)))],
        "pattern": pattern,
        "biggest_dropoff": "awareness_to_consideration"
        if pattern == "campaign_awareness"
        else "consideration_to_purchase",
        "most_valuable": valuable,
        "most_at_risk": at_risk,
        "effects": effects,
    }


def _persona_shares(rng: np.random.Generator, valuable: str) -> tuple[float, ...]:
    """The persona mix (in :data:`cxlib.synth.PERSONAS` order) that makes ``valuable`` the most valuable."""
    base = {p: synth.PERSONA_SPECS[p]["share"] * rng.uniform(0.85, 1.15) for p in synth.PERSONAS}
    if valuable == "big_ticket":
        base["big_ticket"], base["loyal_app"] = rng.uniform(0.27, 0.31), rng.uniform(0.05, 0.07)
    else:
        base["loyal_app"], base["big_ticket"] = rng.uniform(0.20, 0.24), rng.uniform(0.09, 0.12)
    total = sum(base.values())
    return tuple(round(float(base[p] / total), 4) for p in synth.PERSONAS)


def _churn(rng: np.random.Generator, at_risk: str) -> tuple[tuple[str, float], ...]:
    """The churn factors per persona: ``at_risk`` boosted, the others halved."""
    # big-ticket buyers start from a low churn, window shoppers from a high one: both end up clearly first
    boost = rng.uniform(3.0, 3.5) if at_risk == "big_ticket" else rng.uniform(2.0, 2.4)
    return tuple(
        (p, round(float(boost), 2) if p == at_risk else 0.5)
        for p in ("service_reliant", "deal_seeker", "big_ticket", "window_shopper")
    )


def _failure_effects(rng: np.random.Generator, pattern: str) -> dict[str, float]:
    """The pre-sale service failure and the acquisition campaign's strengths, by the failure pattern."""
    if pattern == "service":
        return dict(
            presale_unresolved=rng.uniform(0.6, 0.75),
            presale_penalty=rng.uniform(0.05, 0.15),
            presale_rate_factor=rng.uniform(1.5, 2.0),
            blitz_share=rng.uniform(0.03, 0.06),
            blitz_factor=rng.uniform(0.1, 0.3),
        )
    return dict(
        presale_unresolved=rng.uniform(0.1, 0.2),
        presale_penalty=rng.uniform(0.3, 0.5),
        presale_rate_factor=1.0,
        blitz_share=rng.uniform(0.30, 0.40) if pattern == "campaign_awareness" else rng.uniform(0.25, 0.35),
        blitz_factor=rng.uniform(0.05, 0.12) if pattern == "campaign_awareness" else rng.uniform(0.05, 0.15),
    )


def _fingerprint(folder: Path) -> str:
    """A hash of the source files' contents (Parquet by its rows, so the writer's version does not matter)."""
    h = hashlib.sha256()
    files = sorted(p for p in folder.iterdir() if p.suffix in _SOURCE_SUFFIXES and p.is_file())
    if not files:
        raise DataError(f"{folder}: no source files (.csv, .parquet) to fingerprint")
    for p in files:
        h.update(p.name.encode())
        if p.suffix == ".parquet":
            df = pd.read_parquet(p)
            h.update(",".join(map(str, df.columns)).encode())
            h.update(pd.util.hash_pandas_object(df, index=False).to_numpy().tobytes())
        else:
            h.update(p.read_bytes())
    return h.hexdigest()


def _generate(folder: Path, seed: int, n_customers: int, months: int, start: str, progress: bool) -> Path:
    """Write the case's company (sources and truth) to ``folder``."""
    synth.write_company(
        folder,
        n_customers=n_customers,
        seed=seed,
        months=months,
        start=start,
        effects=case_design(seed)["effects"],
        progress=progress,
    )
    return folder

