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

The share is estimated twice (:func:`household_shares`): over all such pairs, and over those whose
components both hold an e-mail or both a phone (after the over-merge guard; :func:`component_contacts`).
Components never share one, so such a pair's customers each have their own, and one person's seldom do: on
the generator's companies (4,000 people, seeds 3-23) about 0.02 of those pairs are one person against 0.8 of
the others. The model's e-mail and phone comparisons weigh "different" by how often all matching pairs
differ (one in seven), and only where both records hold one; that left namesakes of one household -- same
first name, surname and address, each their own e-mail -- at 0.96-0.99. Such a pair is capped by the second
share.

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

__all__ = ["CONTACT", "HOUSEHOLD_KEY", "SHARED", "component_contacts", "component_kinds", "contact_pairs",
           "household_scores", "household_share", "household_shares"]

#: The fields that make two records "the same surname at the same address".
HOUSEHOLD_KEY = ("last_name", "street_number", "street", "postcode")
#: Comparisons whose agreement the members of a household share: they say nothing more once the key agrees.
SHARED = ("last_name", "address", "street_number", "street", "postcode", "city")
#: Contact points: two components that both hold one (a different one: components share none) are a stratum.
CONTACT = ("email", "phone")


def _same_household(records: pd.DataFrame, held: pd.DataFrame | None = None) -> pd.DataFrame:
    """Pairs of records (``_x``, ``_y``) in different components that agree on :data:`HOUSEHOLD_KEY`, with
    whether both components hold a contact point (``both_reach``, :func:`component_contacts`, or ``held``)."""
    held = component_contacts(records) if held is None else held
    cols = ["record", "component", "first_name", "birth_date", *HOUSEHOLD_KEY]
    r = records.dropna(subset=list(HOUSEHOLD_KEY))[cols]
    p = r.merge(r, on=list(HOUSEHOLD_KEY))
    p = p[(p["record_x"] < p["record_y"]) & (p["component_x"] != p["component_y"])]
    return p.assign(both_reach=_both_reach(held, p["record_x"], p["record_y"]))


def component_contacts(records: pd.DataFrame) -> pd.DataFrame:
    """Per record (the index), whether its component holds each :data:`CONTACT` column ``records`` has
    (``record, component`` and those columns, demoted values blanked): one boolean column each.

    Examples
    --------
    >>> recs = pd.DataFrame({"record": ["a", "b", "c"], "component": ["x", "x", "y"],
    ...                      "email": [None, "ann@mail.example", None], "phone": [None, None, "123"]})
    >>> component_contacts(recs).to_dict("index")
    {'a': {'email': True, 'phone': False}, 'b': {'email': True, 'phone': False}, 'c': {'email': False, 'phone': True}}
    """
    cols = [c for c in CONTACT if c in records.columns]
    held = records.groupby("component")[cols].transform("count") > 0 if cols else pd.DataFrame(index=records.index)
    return held.set_axis(records["record"].to_numpy())


def component_kinds(records: pd.DataFrame) -> pd.Series:
    """``component -> the kinds of contact point it holds``, comma-separated (``"email,phone"``), from
    ``record, component`` and the :data:`CONTACT` columns of ``records`` (demoted values blanked); only the
    components that hold one.

    Examples
    --------
    >>> recs = pd.DataFrame({"record": ["a", "b", "c", "d"], "component": ["x", "x", "y", "z"],
    ...                      "email": [None, "ann@mail.example", None, None], "phone": ["1", None, "2", None]})
    >>> component_kinds(recs).to_dict()
    {'x': 'email,phone', 'y': 'phone'}
    """
    cols = [c for c in CONTACT if c in records.columns]
    if not cols:
        return pd.Series(dtype=object)
    held = records.groupby("component")[cols].count() > 0
    kinds = pd.Series("", index=held.index, dtype=object)
    for c in cols:
        kinds = kinds + np.where(held[c].to_numpy(), c + ",", "")
    kinds = kinds.str.rstrip(",")
    return kinds[kinds != ""].astype(object)


def _both_reach(held: pd.DataFrame, a: pd.Series, b: pd.Series) -> np.ndarray:
    """Whether the components of records ``a`` and ``b`` (pairwise) both hold an e-mail or both a phone,
    from :func:`component_contacts` ``held``."""
    both = np.zeros(len(a), dtype=bool)
    if held.empty or not len(a):
        return both
    held = held[~held.index.duplicated()]
    ia, ib = held.index.get_indexer(a), held.index.get_indexer(b)  # -1: a record it does not know
    known = (ia >= 0) & (ib >= 0)
    for c in held.columns:
        has = held[c].to_numpy(dtype=bool)
        both |= known & has[ia] & has[ib]
    return both


def _wilson_upper(agree: np.ndarray, z: float = 2.0) -> float:
    """The upper end of the Wilson interval (``z`` = 2, about 95 %) of the share of ``agree`` that is true:
    above 0 even when none is (a few pairs do not show that no pair can be one person)."""
    n, p = len(agree), float(np.mean(agree))
    c = z * z / n
    return (p + c / 2 + z * np.sqrt(p * (1 - p) / n + c / (4 * n))) / (1 + c)


def household_share(records: pd.DataFrame) -> float:
    """The share of pairs of records in different components with the same surname and address that are one
    person, from ``record, component, first_name, birth_date`` and the :data:`HOUSEHOLD_KEY` fields.

    The birth dates of such a pair agree (:func:`cxlib.unify.clusters.compatible_many`) when it is one
    person, as often as among the pairs that also share the first name (nearly all one person), and by
    chance almost never otherwise: the share is ``agree / agree among same first names``, at most 1. 1 when
    too few pairs have birth dates on both sides to say (under 20): no correction.
    """
    return household_shares(records)[0]


def household_shares(records: pd.DataFrame, held: pd.DataFrame | None = None) -> tuple[float, float]:
    """:func:`household_share`, and the same share among the pairs whose components both hold an e-mail or
    both a phone (:data:`CONTACT` columns of ``records``, blanked where the over-merge guard demoted the value;
    ``held``: their :func:`component_contacts` when the caller has them).

    The second is the upper end of the Wilson interval of its pairs' birth-date agreement (a stratum of a
    few dozen pairs on a small company, where none may agree), over the agreement of one person's dates, at
    most the first; the first when fewer than 10 of its pairs have birth dates on both sides.

    Examples
    --------
    >>> recs = pd.DataFrame({"record": list("abcd"), "component": list("abcd"), "first_name": list("wxyz"),
    ...                      "birth_date": ["19800101"] * 4, "last_name": "smith", "street_number": "1",
    ...                      "street": "highst", "postcode": "AB1"})
    >>> household_shares(recs)  # too few pairs to say
    (1.0, 1.0)
    """
    p = _same_household(records, held).dropna(subset=["birth_date_x", "birth_date_y"])
    if len(p) < 20:
        return 1.0, 1.0
    agree = compatible_many(p["birth_date_x"].astype(str), p["birth_date_y"].astype(str))
    same_first = (p["first_name_x"] == p["first_name_y"]).to_numpy()
    m = agree[same_first].mean() if same_first.sum() >= 20 else 1.0
    if m <= 0:
        return 1.0, 1.0
    # the upper end of the share's 95 % interval: no correction unless the data clearly hold households
    share = float(min(1.0, (agree.mean() + 2 * np.sqrt(agree.mean() * (1 - agree.mean()) / len(agree))) / m))
    both = p["both_reach"].to_numpy()
    if both.sum() < 10:
        return share, share
    return share, float(min(share, _wilson_upper(agree[both]) / m))


def _posterior(share: float | np.ndarray, weight: float | np.ndarray) -> np.ndarray:
    """The match probability of prior ``share`` and evidence ``weight`` (log2 Bayes factor); 1 where the
    share is 1."""
    share = np.asarray(share, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        odds = share / (1 - share) * np.exp2(weight)
        return np.where(share >= 1.0, 1.0, odds / (1 + odds))


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


def contact_pairs(pred: pd.DataFrame, held: pd.DataFrame | None = None) -> np.ndarray:
    """Which scored pairs ``pred`` have components that both hold an e-mail or both a phone: by
    :func:`component_contacts` ``held`` (the pair's ``record_a`` and ``record_b``, else ``unique_id_l`` and
    ``unique_id_r``), or where the two records themselves do (a non-null ``gamma_email`` or ``gamma_phone``)."""
    both = np.zeros(len(pred), dtype=bool)
    for c in CONTACT:
        if f"gamma_{c}" in pred.columns:
            both |= (pd.to_numeric(pred[f"gamma_{c}"], errors="coerce").fillna(-1) >= 0).to_numpy()
    if held is not None:
        a, b = ("record_a", "record_b") if "record_a" in pred.columns else ("unique_id_l", "unique_id_r")
        both |= _both_reach(held, pred[a].astype(str), pred[b].astype(str))
    return both


def household_scores(
    pred: pd.DataFrame,
    model: str,
    share: float,
    contact_share: float | None = None,
    held: pd.DataFrame | None = None,
) -> pd.Series:
    """The match probabilities of splink's predictions ``pred`` (``match_probability`` and the ``gamma_``
    columns), each capped by the probability of household prior ``share`` and the evidence a household does
    not share (the levels' weights of the comparisons of the saved ``model`` not in :data:`SHARED`).

    A pair whose components both hold an e-mail or both a phone (:func:`contact_pairs`) takes ``contact_share``
    as its prior instead (default: ``share``; :func:`household_shares`).
    """
    p = pred["match_probability"].astype("float64")
    contact_share = share if contact_share is None else contact_share
    if min(share, contact_share) >= 1.0 or pred.empty:
        return p
    weight = pd.Series(0.0, index=pred.index)
    for name, weights in _level_weights(json.loads(model)).items():
        weight += pred[f"gamma_{name}"].map(weights).fillna(0.0).astype("float64")
    prior = np.where(contact_pairs(pred, held), contact_share, share)
    return np.minimum(p, pd.Series(_posterior(prior, weight.to_numpy()), index=pred.index))
