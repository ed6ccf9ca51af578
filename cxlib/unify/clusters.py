"""Joining the deterministic components by accepted matches, without chaining different people together.

Each accepted pair of contact records says "these two components are one customer", but the pairs are
judged one at a time, and joining them all (connected components) lets a weak record chain people: a record
with no birth date matches records of two people born decades apart, and joins them. :func:`join_components`
takes the matches strongest first and refuses a join that would put **conflicting birth dates** in one
customer -- two dates further apart than the typos the comparison allows for (two edits, or day and month
swapped) -- unless the model scored a pair of records with those very dates as a match (it weighed the
conflict against all the other evidence: a birth date entered wrongly). Which person a record belongs to is then decided
by its strongest match, not by whichever match happens to chain.

Examples
--------
>>> m = pd.DataFrame({"record_a": ["a1", "h1"], "record_b": ["h1", "b1"], "component_a": ["a", "h"],
...                   "component_b": ["h", "b"], "match_probability": [0.97, 0.96]})
>>> dated = {"a": (("a1", "19670409"),), "b": (("b1", "20000330"),)}
>>> join_components(m, dated).tolist()  # h joins a (stronger); b, born 33 years later, stays apart
[True, False]
>>> compatible_dates("19840307", "19840703"), compatible_dates("19840307", "19850307")
(True, True)
>>> compatible_dates("19840307", "19610421")
False
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache

import pandas as pd

__all__ = ["accept", "birth_dates_by_component", "compatible_dates", "join_components"]


@lru_cache(maxsize=65_536)
def _edits(a: str, b: str) -> int:
    """Levenshtein distance (the dates are a few characters: plain dynamic programming)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def compatible_dates(a: str, b: str) -> bool:
    """Whether two ``YYYYMMDD`` birth dates can be one person's: equal, at most two edits apart (the
    comparison's "one typo" and "two typos"), or with day and month swapped."""
    if a == b:
        return True
    if len(a) == len(b) == 8 and a[:4] == b[:4] and a[4:6] == b[6:] and a[6:] == b[4:6]:
        return True
    return _edits(a, b) <= 2


def _conflict(a: Iterable[str], b: Iterable[str], seen: set[tuple[str, str]]) -> bool:
    """Whether birth dates ``a`` and ``b`` hold two that cannot be one person's and that no accepted match
    put side by side (``seen``: ``(smaller, larger)`` dates of the records of a match)."""
    return any(not compatible_dates(x, y) and (min(x, y), max(x, y)) not in seen for x in a for y in b)


def birth_dates_by_component(
    records: pd.DataFrame, components: pd.DataFrame | None = None
) -> dict[str, tuple[tuple[str, str], ...]]:
    """``component -> ((record, birth date), ...)``, from ``record, component, birth_date`` (nulls left out);
    only the components of the pairs ``components`` (``component_a, component_b``) when given."""
    known = records.dropna(subset=["birth_date"])
    if components is not None:
        paired = pd.concat([components["component_a"], components["component_b"]])
        known = known[known["component"].isin(paired)]
    out: dict[str, list[tuple[str, str]]] = {}
    for c, r, d in zip(known["component"], known["record"], known["birth_date"], strict=True):
        out.setdefault(c, []).append((r, d))  # not a groupby: one Python group per component cost 0.6 ms each
    return {c: tuple(v) for c, v in out.items()}


def join_components(matches: pd.DataFrame, dated: Mapping[str, Iterable[tuple[str, str]]]) -> pd.Series:
    """Which of the ``matches`` (``record_a, record_b, component_a, component_b, match_probability``) are
    kept when components are joined strongest match first and a join that would put conflicting birth dates
    in one customer (``dated``: ``component -> ((record, birth date), ...)``) is refused -- unless one of the
    ``matches`` is itself a pair of records with those two dates: the model weighed that conflict against
    the other evidence and found them one person (a birth date entered wrongly).

    Returns a boolean Series aligned with ``matches``: True where the two components end up joined by it
    (or were already), False where the join was refused. Ties in probability are broken by the record ids,
    so the result does not depend on the order of the rows.
    """
    order = matches.sort_values(
        ["match_probability", "record_a", "record_b"], ascending=[False, True, True], kind="stable"
    )
    date_of = {r: d for members in dated.values() for r, d in members}
    pairs = ((date_of.get(a), date_of.get(b)) for a, b in zip(matches["record_a"], matches["record_b"], strict=True))
    seen = {(min(x, y), max(x, y)) for x, y in pairs if x is not None and y is not None}
    parent: dict[str, str] = {}
    dates: dict[str, frozenset[str]] = {}

    def find(x: str) -> str:
        if x not in parent:
            parent[x], dates[x] = x, frozenset(d for _, d in dated.get(x, ()))
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    refused = []
    for pos, ca, cb in zip(order.index, order["component_a"], order["component_b"], strict=True):
        ra, rb = find(ca), find(cb)
        if ra == rb:
            continue
        if _conflict(dates[ra], dates[rb], seen):
            refused.append(pos)
            continue
        root, other = min(ra, rb), max(ra, rb)
        parent[other] = root
        dates[root] = dates[ra] | dates[rb]
    return pd.Series(~matches.index.isin(refused), index=matches.index)


def accept(
    candidates: pd.DataFrame, threshold: float, dated: Mapping[str, Iterable[tuple[str, str]]] | None = None
) -> pd.Series:
    """Which scored pairs of contact records (``record_a, record_b, component_a, component_b,
    match_probability``) join their components: at or above ``threshold`` and -- with ``dated``
    (:func:`birth_dates_by_component`) -- not refused by :func:`join_components`. A boolean Series aligned
    with ``candidates``."""
    ok = candidates["match_probability"] >= threshold
    if dated is not None and ok.any():
        ok[ok] = join_components(candidates[ok], dated)
    return ok
