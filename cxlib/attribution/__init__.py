"""Attribution: share conversions and revenue among the channels that touched the converting customers.

**Attribution is association, not causal effect.** Every model here splits the conversions that happened
among the channels seen on the way, by a rule (first touch, last touch, ...) or by how the conversion rate
of the observed paths changes when a channel is left out (Markov removal effect, Shapley value). None of them
says what would have happened without a channel: customers who were going to buy anyway also click ads and
open emails. To measure what a channel or campaign *causes*, run a holdout or a test and use
:mod:`cxlib.impact`.

**Input: paths.** Every model reads the common interchange format: one row per distinct path, columns
``path`` (channels in time order joined by ``" > "``, e.g. ``"paid_search > email > web"``),
``conversions`` (how many journeys along this path ended in a conversion), ``value`` (their revenue) and
``nulls`` (how many ended without one). :func:`paths_from_touchpoints` builds it from the unified
``touchpoints`` stream in the engine (DuckDB or Spark) and returns only the aggregated paths.

**Ordering rule.** Within a customer, touchpoints are ordered by ``ts``; ties are broken by ``sequence``,
``table_name, source, record_key`` when those columns exist (the unified stream has them), then by the channel. Row
order never changes a path.

**Output.** :func:`markov` and :func:`shapley` return one row per channel with ``channel, removal_effect,
conversions, value`` (``removal_effect`` is NaN for Shapley); :func:`heuristics` and :func:`compare` return a
long frame ``model, channel, conversions, value``. Every model's attributed conversions and value add up to
the input totals.

Examples
--------
>>> import pandas as pd
>>> from cxlib import attribution
>>> paths = pd.DataFrame({"path": ["search > email", "search", "email"], "conversions": [2, 1, 0],
...                       "value": [200.0, 50.0, 0.0], "nulls": [1, 3, 2]})
>>> attribution.markov(paths).round(3).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
{'channel': ['email', 'search'], 'removal_effect': [0.667, 0.733], 'conversions': [1.429, 1.571],
 'value': [119.048, 130.952]}
"""

from __future__ import annotations

from cxlib.attribution.figures import NO_TOUCH_WORDS, compare_figure, in_words
from cxlib.attribution.models import compare, heuristics, markov, shapley
from cxlib.attribution.paths import (
    DEFAULT_CONVERSION,
    HEURISTIC_MODELS,
    NO_TOUCH,
    PATH_COLUMNS,
    PATH_SEP,
    matches_rule,
    nothing_to_attribute,
    paths_from_touchpoints,
)

__all__ = [
    "DEFAULT_CONVERSION",
    "HEURISTIC_MODELS",
    "NO_TOUCH",
    "NO_TOUCH_WORDS",
    "PATH_COLUMNS",
    "PATH_SEP",
    "compare",
    "compare_figure",
    "heuristics",
    "in_words",
    "markov",
    "matches_rule",
    "nothing_to_attribute",
    "paths_from_touchpoints",
    "shapley",
]

_rule = matches_rule  # the old private name, kept importable
