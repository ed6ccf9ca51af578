"""Joining the deterministic components by accepted matches, without chaining different people together.

Each accepted pair of contact records says "these two components are one customer", but the pairs are
judged one at a time, and joining them all (connected components) lets a weak record chain people: a record
with no birth date matches records of two people born decades apart, and joins them. :func:`join_components`
takes the matches strongest first and refuses a join that would put **conflicting birth dates** in one
customer -- two dates further apart than the typos the comparison allows for (two edits, or day and month
swapped) -- unless the model scored a pair of records with those very dates as a match (it weighed the
conflict against all the other evidence: a birth date entered wrongly). Which person a record belongs to is then decided
by its strongest match, not by whichever match happens to chain. With the components' contact points
(``held``), a join that would put two components that each hold an e-mail (or each a phone) of their own in
one customer is refused the same way, unless a match between those two components was accepted: a record
with no contact point (an acquired CRM's) matching two namesakes of one household does not join them.

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
>>> compatible_many(["19840307", "19840307", "1984037"], ["19840703", "19610421", "19840307"]).tolist()
[True, False, True]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import lru_cache

import numpy as np
import pandas as pd

__all__ = ["BELOW", "BIRTH_DATES", "CONTACT_POINTS", "MERGED", "DatedComponents", "accept", "birth_dates_by_component",
           "compatible_dates", "compatible_many", "contacts_by_component", "decisions", "join_components",
           "kinds_held", "refusals"]


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


def _codes(dates: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """The characters of ``dates`` as a ``(n, longest)`` array of code points (0 past a date's end), and the
    lengths."""
    text = np.asarray(list(dates) if not isinstance(dates, np.ndarray | pd.Series) else dates, dtype=str)
    width = max(text.dtype.itemsize // 4, 1)
    codes = np.ascontiguousarray(text.astype(f"U{width}")).view(np.uint32).reshape(len(text), width)
    return codes, np.char.str_len(text) if len(text) else np.zeros(0, dtype=int)


def _edits_many(a: np.ndarray, la: np.ndarray, b: np.ndarray, lb: np.ndarray) -> np.ndarray:
    """The Levenshtein distance of each pair of rows of ``a`` and ``b`` (code points, lengths ``la``, ``lb``):
    the dynamic programme of :func:`_edits` run on all pairs at once, one cell at a time (dates are short);
    each pair reads its cell ``[la, lb]``, which depends only on characters within both lengths."""
    n, wa, wb = len(a), a.shape[1], b.shape[1]
    prev = np.tile(np.arange(wb + 1), (n, 1))
    out = np.where(la == 0, lb, 0)
    for i in range(1, wa + 1):
        cur = np.empty_like(prev)
        cur[:, 0] = i
        for j in range(1, wb + 1):
            cost = (a[:, i - 1] != b[:, j - 1]).astype(prev.dtype)
            cur[:, j] = np.minimum(np.minimum(prev[:, j] + 1, cur[:, j - 1] + 1), prev[:, j - 1] + cost)
        at = la == i
        out[at] = cur[at, lb[at]]
        prev = cur
    return out


def compatible_many(a: Iterable[str], b: Iterable[str]) -> np.ndarray:
    """:func:`compatible_dates` of each pair of ``a`` and ``b`` (equal lengths, no nulls), vectorised: a
    boolean array."""
    ca, la = _codes(a)
    cb, lb = _codes(b)
    if len(ca) != len(cb):
        raise ValueError("a and b differ in length")
    if not len(ca):
        return np.zeros(0, dtype=bool)
    w = max(ca.shape[1], cb.shape[1], 8)
    ca, cb = (np.pad(c, ((0, 0), (0, w - c.shape[1]))) for c in (ca, cb))
    same = (la == lb) & (ca == cb).all(axis=1)
    swapped = (la == 8) & (lb == 8) & (ca[:, :4] == cb[:, :4]).all(axis=1)
    swapped &= (ca[:, 4:6] == cb[:, 6:8]).all(axis=1) & (ca[:, 6:8] == cb[:, 4:6]).all(axis=1)
    ok = same | swapped
    todo = ~ok & (np.abs(la - lb) <= 2)  # more than two apart in length: more than two edits
    ok[todo] = _edits_many(ca[todo], la[todo], cb[todo], lb[todo]) <= 2
    return ok


def _conflict(a: frozenset[str], b: frozenset[str], seen: set[tuple[str, str]]) -> bool:
    """Whether birth dates ``a`` and ``b`` (two clusters') hold two that cannot be one person's and that no
    accepted match put side by side (``seen``: ``(smaller, larger)`` dates of the records of a match). A date
    one cluster already holds beside the other's is no new conflict: a record born 2009-12-21 joining a
    cluster whose records (sharing an e-mail) were born 2009-12-21 and 2010-01-20 adds no date to it.

    >>> _conflict(frozenset({"20091221"}), frozenset({"20091221", "20100120"}), set())
    False
    >>> _conflict(frozenset({"19610421"}), frozenset({"20091221", "20100120"}), set())
    True
    """
    return any(
        not compatible_dates(x, y) and (min(x, y), max(x, y)) not in seen and x not in b and y not in a
        for x in a
        for y in b
    )


class DatedComponents(Mapping):
    """``component -> ((record, birth date), ...)`` over arrays sorted by component: made without a Python
    loop over the records (see :func:`birth_dates_by_component`); a component's tuple is made when asked.

    Parameters
    ----------
    component, record, birth_date : array-like
        One dated record each, in any order.

    Examples
    --------
    >>> d = DatedComponents(["c2", "c1", "c1"], ["r3", "r2", "r1"], ["1990-01-02", "1985-05-05", "1985-05-05"])
    >>> list(d), d["c1"]
    (['c1', 'c2'], (('r1', '1985-05-05'), ('r2', '1985-05-05')))
    """

    def __init__(self, component: Iterable[str], record: Iterable[str], birth_date: Iterable[str]) -> None:
        frame = pd.DataFrame({"component": component, "record": record, "birth_date": birth_date})
        frame = frame.astype(object).sort_values(["component", "record"], kind="stable", ignore_index=True)
        self._records, self._dates = frame["record"].to_numpy(), frame["birth_date"].to_numpy()
        comps = frame["component"].to_numpy()
        starts = np.flatnonzero(np.r_[True, comps[1:] != comps[:-1]]) if len(comps) else np.zeros(0, dtype=int)
        self._index = pd.Index(comps[starts])
        self._bounds = np.r_[starts, len(comps)]

    def __getitem__(self, component: str) -> tuple[tuple[str, str], ...]:
        try:
            i = self._index.get_loc(component)
        except (KeyError, TypeError):
            raise KeyError(component) from None
        lo, hi = self._bounds[i], self._bounds[i + 1]
        return tuple(zip(self._records[lo:hi].tolist(), self._dates[lo:hi].tolist(), strict=True))

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def record_dates(self) -> pd.Series:
        """Each dated record's birth date, by record."""
        return pd.Series(self._dates, index=self._records, dtype=object)


def birth_dates_by_component(records: pd.DataFrame, components: pd.DataFrame | None = None) -> DatedComponents:
    """``component -> ((record, birth date), ...)``, from ``record, component, birth_date`` (nulls left out);
    only the components of the pairs ``components`` (``component_a, component_b``) when given."""
    known = records.dropna(subset=["birth_date"])
    if components is not None:
        paired = pd.concat([components["component_a"], components["component_b"]])
        # as objects: pandas 3's isin on its string dtype took 0.1 s here on FEBRL 3 (5,000 records), this 5 ms
        known = known[known["component"].astype(object).isin(paired.astype(object))]
    return DatedComponents(known["component"], known["record"], known["birth_date"])


def _record_dates(dated: Mapping[str, Iterable[tuple[str, str]]]) -> pd.Series:
    """Each record's birth date from ``dated`` (a :class:`DatedComponents` or any such mapping)."""
    if isinstance(dated, DatedComponents):
        return dated.record_dates()
    pairs = [rd for members in dated.values() for rd in members]
    return pd.Series([d for _, d in pairs], index=[r for r, _ in pairs], dtype=object)


def _contact_conflict(a: Iterable[tuple[str, frozenset]], b: Iterable[tuple[str, frozenset]],
                      direct: set[tuple[str, str]]) -> bool:
    """Whether two clusters' components (``(component, contact kinds held)``) both hold a kind of contact
    point -- each their own: components share none -- and no accepted match paired a component of one
    holding that kind with a component of the other holding it (``direct``: ``(smaller, larger)`` components
    of the matches). A cluster is already one customer: a match of its e-mail holder with the other's vouches
    for the join, as a record without an e-mail matching two namesakes does not.

    >>> a, b = (("a1", frozenset({"email"})), ("a2", frozenset({"email"}))), (("b", frozenset({"email"})),)
    >>> _contact_conflict(a, b, {("a2", "b")}), _contact_conflict(a, b, {("a1", "a2")})
    (False, True)
    """
    kinds = {k for _, ka in a for k in ka} & {k for _, kb in b for k in kb}
    return any(
        not any(k in ka and k in kb and (min(x, y), max(x, y)) in direct for x, ka in a for y, kb in b)
        for k in kinds
    )


def join_components(
    matches: pd.DataFrame,
    dated: Mapping[str, Iterable[tuple[str, str]]],
    held: Mapping[str, frozenset] | None = None,
) -> pd.Series:
    """Which of the ``matches`` (``record_a, record_b, component_a, component_b, match_probability``) are
    kept when components are joined strongest match first (see :func:`refusals`, which says why the others
    are not): a boolean Series aligned with ``matches``, True where the two components end up joined by the
    match (or were already)."""
    return refusals(matches, dated, held).isna()


def refusals(
    matches: pd.DataFrame,
    dated: Mapping[str, Iterable[tuple[str, str]]],
    held: Mapping[str, frozenset] | None = None,
) -> pd.Series:
    """Why each of the ``matches`` (``record_a, record_b, component_a, component_b, match_probability``) is
    refused, if it is, when components are joined strongest match first: a join that would put conflicting
    birth dates in one customer (``dated``: ``component -> ((record, birth date), ...)``) is refused -- unless
    one of the ``matches`` is itself a pair of records with those two dates (the model weighed that conflict
    against the other evidence and found them one person: a birth date entered wrongly), or one side already
    holds the date. With ``held`` (``component -> kinds of contact point it holds``, e.g.
    ``frozenset({"email"})``), a join that would put two customers that both hold a kind in one is refused
    too, unless one of the ``matches`` pairs a holder of it on each side.

    Returns a string Series aligned with ``matches``: null where the two components end up joined by it (or
    were already), else why the join was refused -- :data:`BIRTH_DATES` or :data:`CONTACT_POINTS`. Ties in
    probability are broken by the record ids, so the result does not depend on the order of the rows.
    """
    order = matches.sort_values(
        ["match_probability", "record_a", "record_b"], ascending=[False, True, True], kind="stable"
    )
    date_of = _record_dates(dated)
    date_of = date_of[~date_of.index.duplicated()]
    da, db = (matches[c].map(date_of).astype(object).tolist() for c in ("record_a", "record_b"))
    seen = {(min(x, y), max(x, y)) for x, y in zip(da, db, strict=True) if isinstance(x, str) and isinstance(y, str)}
    held = held or {}
    direct = {(min(x, y), max(x, y)) for x, y in zip(matches["component_a"], matches["component_b"], strict=True)}
    parent: dict[str, str] = {}
    dates: dict[str, frozenset[str]] = {}
    contacts: dict[str, tuple[tuple[str, frozenset], ...]] = {}

    def find(x: str) -> str:
        if x not in parent:
            parent[x], dates[x] = x, frozenset(d for _, d in dated.get(x, ()))
            contacts[x] = ((x, held[x]),) if held.get(x) else ()
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    why: dict = {}
    for pos, ca, cb in zip(order.index, order["component_a"], order["component_b"], strict=True):
        ra, rb = find(ca), find(cb)
        if ra == rb:
            continue
        if _conflict(dates[ra], dates[rb], seen):
            why[pos] = BIRTH_DATES
            continue
        if _contact_conflict(contacts[ra], contacts[rb], direct):
            why[pos] = CONTACT_POINTS
            continue
        root, other = min(ra, rb), max(ra, rb)
        parent[other] = root
        dates[root] = dates[ra] | dates[rb]
        contacts[root] = contacts[ra] + contacts[rb]
    return pd.Series(why, index=matches.index, dtype="string")


def accept(
    candidates: pd.DataFrame,
    threshold: float,
    dated: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    held: Mapping[str, frozenset] | None = None,
) -> pd.Series:
    """Which scored pairs of contact records (``record_a, record_b, component_a, component_b,
    match_probability``) join their components: at or above ``threshold`` and -- with ``dated``
    (:func:`birth_dates_by_component`) or ``held`` (the contact points of each component) -- not refused by
    :func:`join_components`. A boolean Series aligned with ``candidates``."""
    return decisions(candidates, threshold, dated, held) == MERGED


#: What :func:`decisions` says of a scored pair: merged, or why not.
MERGED, BELOW = "merged", "below the threshold"
#: A join refused because it would put birth dates that cannot be one person's in one customer.
BIRTH_DATES = "refused: conflicting birth dates"
#: A join refused because both customers hold an e-mail (or a phone) of their own and no match pairs them.
CONTACT_POINTS = "refused: each holds its own e-mail or phone"


def decisions(
    candidates: pd.DataFrame,
    threshold: float,
    dated: Mapping[str, Iterable[tuple[str, str]]] | None = None,
    held: Mapping[str, frozenset] | None = None,
) -> pd.Series:
    """What became of each scored pair (as :func:`accept`): :data:`MERGED`, :data:`BELOW` the threshold, or
    refused by :func:`refusals` (:data:`BIRTH_DATES`, :data:`CONTACT_POINTS`). A string Series aligned with
    ``candidates``; ``unify_matches`` keeps it as ``decision``.

    >>> m = pd.DataFrame({"record_a": ["a1", "h1", "x"], "record_b": ["h1", "b1", "y"], "component_a": ["a", "h", "x"],
    ...                   "component_b": ["h", "b", "y"], "match_probability": [0.97, 0.96, 0.6]})
    >>> dated = {"a": (("a1", "19670409"),), "b": (("b1", "20000330"),)}
    >>> [d.split(":")[0] for d in decisions(m, 0.95, dated)]
    ['merged', 'refused', 'below the threshold']
    """
    out = pd.Series(BELOW, index=candidates.index, dtype="string")
    ok = candidates["match_probability"] >= threshold
    out[ok] = MERGED
    if (dated is not None or held) and ok.any():
        why = refusals(candidates[ok], dated if dated is not None else {}, held)
        out[why.index[why.notna()]] = why[why.notna()]
    return out


def contacts_by_component(records: pd.DataFrame) -> dict[str, frozenset]:
    """``component -> kinds of contact point it holds`` from ``record, component`` and a ``contacts`` column
    (each record's component's kinds, comma-separated, as ``unify_contact_components`` keeps them); only the
    components that hold one."""
    if "contacts" not in records.columns:
        return {}
    kinds = records.dropna(subset=["contacts"]).drop_duplicates("component")
    return kinds_held(pd.Series(kinds["contacts"].to_numpy(), index=kinds["component"].to_numpy()))


def kinds_held(kinds: pd.Series) -> dict[str, frozenset]:
    """``component -> kinds of contact point it holds`` from ``kinds`` (component -> comma-separated kinds,
    :func:`cxlib.unify.households.component_kinds`); only the components that hold one.

    >>> kinds_held(pd.Series({"x": "email,phone", "y": ""})) == {"x": frozenset({"email", "phone"})}
    True
    """
    values = kinds.to_numpy(dtype=object)
    some = pd.notna(values)
    some[some] = values[some] != ""
    values = values[some]
    # one frozenset per spelling ("email", "email,phone", ...), shared, and the dict built from lists: 600k
    # holders 5.0 -> 0.6 s (a frozenset per component, from a loop over the Series)
    kind = {k: frozenset(k.split(",")) for k in set(values)}
    return dict(zip(kinds.index[some].tolist(), map(kind.__getitem__, values), strict=True))
