"""Households: two records with the same surname at the same address are less often one person than the model
thinks.

Fellegi-Sunter multiplies the evidence of the comparisons as if they were independent. Among random pairs a
shared surname and a shared address are rare and unrelated, so together they weigh as much as a birth date;
but the members of one household share both. A record with a surname and an address and no first name or
birth date then scores about 0.95 with every member of its household, and the pairs of two members with
loosely similar first names more. How often such pairs are one person is a property of the data: always in
FEBRL (no households), about four in five on the generator's company.

:func:`household_share` estimates it from the data -- among pairs of records in different components with the
same surname, street number, street and postcode, the share whose birth dates agree (up to typos), over the
share among those that also agree on the first name (the birth dates of one person agree that often) -- and
:func:`household_scores` caps every pair's score by what that prior and only the evidence a household does
not share (first name, birth date: every comparison but :data:`SHARED`) give: no pair is more likely one
person than a pair of the same surname at the same address with the same first name and birth date evidence.
Pairs that do not share surname and address scored lower than the cap already, unless their person evidence
is weak; with a share of 1 (no households) nothing changes.

Examples
--------
>>> [round(float(p), 3) for p in _posterior(0.8, np.array([0.0, 5.0]))]  # no evidence of the person; a first name
[0.8, 0.992]
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from cxlib.unify.clusters import compatible_many

__all__ = ["HOUSEHOLD_KEY", "SHARED", "household_scores", "household_share"]

#: The fields that make two records "the same surname at the same address".
HOUSEHOLD_KEY = ("last_name", "street_number", "street", "postcode")
#: Comparisons whose agreement the members of a household share: they say nothing more once the key agrees.
SHARED = ("last_name", "address", "street_number", "street", "postcode", "city")


def _same_household(records: pd.DataFrame) -> pd.DataFrame:
    """Pairs of records (``_x``, ``_y``) in different components that agree on :data:`HOUSEHOLD_KEY`."""
    r = records.dropna(subset=list(HOUSEHOLD_KEY))[["record", "component", "first_name", "birth_date", *HOUSEHOLD_KEY]]
    p = r.merge(r, on=list(HOUSEHOLD_KEY))
    return p[(p["record_x"] < p["record_y"]) & (p["component_x"] != p["component_y"])]


def household_share(records: pd.DataFrame) -> float:
    """The share of pairs of records in different components with the same surname and address that are one
    person, from ``record, component, first_name, birth_date`` and the :data:`HOUSEHOLD_KEY` fields.

    The birth dates of such a pair agree (:func:`cxlib.unify.clusters.compatible_many`) when it is one
    person, as often as among the pairs that also share the first name (nearly all one person), and by
    chance almost never otherwise: the share is ``agree / agree among same first names``, at most 1. 1 when
    too few pairs have birth dates on both sides to say (under 20): no correction.
    """
    p = _same_household(records).dropna(subset=["birth_date_x", "birth_date_y"])
    if len(p) < 20:
        return 1.0
    agree = compatible_many(p["birth_date_x"].astype(str), p["birth_date_y"].astype(str))
    same_first = (p["first_name_x"] == p["first_name_y"]).to_numpy()
    m = agree[same_first].mean() if same_first.sum() >= 20 else 1.0
    # the upper end of the share's 95 % interval: no correction unless the data clearly hold households
    share = agree.mean() + 2 * np.sqrt(agree.mean() * (1 - agree.mean()) / len(agree))
    return float(min(1.0, share / m)) if m > 0 else 1.0


def _posterior(share: float, weight: float | np.ndarray | pd.Series) -> float | np.ndarray | pd.Series:
    """The match probability of prior ``share`` (below 1) and evidence ``weight`` (log2 Bayes factor)."""
    odds = share / (1 - share) * np.exp2(weight)
    return odds / (1 + odds)


def _level_weights(model: dict) -> dict[str, dict[int, float]]:
    """``comparison -> gamma -> match weight`` (log2 m/u) of the comparisons not in :data:`SHARED`."""
    out = {}
    for comp in model.get("comparisons", []):
        name = comp.get("output_column_name")
        if name in SHARED:
            continue
        levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
        weights = {}
        for gamma, lvl in zip(range(len(levels) - 1, -1, -1), levels, strict=True):
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            weights[gamma] = math.log2(m / u) if m and u else 0.0
        out[name] = weights
    return out


def household_scores(pred: pd.DataFrame, model: str, share: float) -> pd.Series:
    """The match probabilities of splink's predictions ``pred`` (``match_probability`` and the ``gamma_``
    columns), each capped by the probability of household prior ``share`` and the evidence a household does
    not share (the levels' weights of the comparisons of the saved ``model`` not in :data:`SHARED`)."""
    p = pred["match_probability"].astype("float64")
    if share >= 1.0 or pred.empty:
        return p
    weight = pd.Series(0.0, index=pred.index)
    for name, weights in _level_weights(json.loads(model)).items():
        weight += pred[f"gamma_{name}"].map(weights).fillna(0.0).astype("float64")
    return np.minimum(p, _posterior(share, weight))
