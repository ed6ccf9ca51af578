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

Layout
------
- :mod:`~cxlib.synth.specs` -- the personas (:data:`PERSONA_SPECS`) and stage indices;
- :mod:`~cxlib.synth.material` -- names, streets, countries, junk identifiers;
- :mod:`~cxlib.synth.config` -- :class:`IdentityNoise`, :class:`PlantedEffects`, :class:`Counterfactual`;
- :mod:`~cxlib.synth.chain` -- :func:`transition_matrices` and the row arithmetic of the Markov chain;
- :mod:`~cxlib.synth.population` -- one block of people and their lives; :mod:`~cxlib.synth.identities`;
- :mod:`~cxlib.synth.emit` -- what each system recorded, one module per source table;
- :mod:`~cxlib.synth.truth` -- :class:`Truth`, the planted record, :func:`load_truth`;
- :mod:`~cxlib.synth.sinks` -- writing files; :mod:`~cxlib.synth.company` -- :func:`generate`,
  :func:`write_company`.
"""

from __future__ import annotations

# The public API, and the private names other modules and tests use (kept importable from here).
from cxlib.synth.chain import _add_to, _draw, _scale_row, transition_matrices  # noqa: F401
from cxlib.synth.company import (  # noqa: F401
    SyntheticCompany,
    _dedupe_postcodes,
    _finalise,
    generate,
    stage_history,
    write_company,
)
from cxlib.synth.config import (  # noqa: F401
    _BLITZ_FACTOR,
    _BLITZ_SHARE,
    _PRESALE_PENALTY,
    _PRESALE_UNRESOLVED_P,
    _WINBACK_HOLDOUT,
    _WINBACK_UPLIFT,
    Counterfactual,
    IdentityNoise,
    PlantedEffects,
    _check_effects,
    _Config,
    _config,
)
from cxlib.synth.material import CALL_CENTRE_PHONE, JUNK_EMAILS  # noqa: F401
from cxlib.synth.population import BLOCK_SIZE, _Block, _blocks, _Lives, _simulate_block  # noqa: F401
from cxlib.synth.sinks import _FileSink  # noqa: F401
from cxlib.synth.specs import (  # noqa: F401
    _CHANNELS,
    _CUSTOMER_STAGES,
    _PERSONA_SPECS,
    _S,
    _SHARES,
    ADV,
    AW,
    CHURN,
    CONS,
    LOST,
    ONB,
    PERSONA_SPECS,
    PERSONAS,
    PUR,
    REP,
    RISK,
    STAGES,
    WB,
)
from cxlib.synth.truth import Truth, load_truth  # noqa: F401

__all__ = [
    "BLOCK_SIZE",
    "Counterfactual",
    "IdentityNoise",
    "PERSONAS",
    "PERSONA_SPECS",
    "PlantedEffects",
    "STAGES",
    "SyntheticCompany",
    "Truth",
    "generate",
    "stage_history",
    "transition_matrices",
    "write_company",
]
