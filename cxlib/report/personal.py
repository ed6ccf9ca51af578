"""The workspace's own personal data, found in free text: full names, streets and postcodes its contacts hold.

:func:`~cxlib.report.privacy.redact_text` masks what has a shape (e-mail addresses, phone numbers). A name or a
street has none: ``"Jane Doe"`` is only personal because a contact is called that. :class:`PersonalTerms` holds
those values (normalised, in sets) and masks them wherever they appear in a label or a text of a shared output:
a full name (forename then surname), a street as written in the contacts, a postcode with or without its space.

Examples
--------
>>> terms = PersonalTerms.from_frame(pd.DataFrame({
...     "first_name": ["Jane"], "last_name": ["Doe"], "street": ["12 Mill Lane"], "postcode": ["LS1 4AB"]}))
>>> terms.redact("Jane Doe of 12 mill lane, LS14AB, called about Deal seekers")
'[name] of [street], [postcode], called about Deal seekers'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

__all__ = ["PersonalTerms"]

_WORD = re.compile(r"[^\W\d_][\w'\-]*|\d+[A-Za-z]?", re.UNICODE)
_ALNUM = re.compile(r"[A-Za-z0-9]+")  # a postcode's pieces ("LS1", "4AB"), as the text splits them
_POSTCODE_PIECES = 3  # "LS1 4AB", "D02 X285", "1234 AB": a postcode spans at most this many pieces


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _pc(text: str) -> str:
    """A postcode without its spaces and hyphens, upper-cased (``re.sub(r"[\\s\\-]", "", ...)``: the same
    characters, ``\\s`` being what ``str.split`` splits on; a fourth of the time on a million postcodes)."""
    return "".join(text.upper().split()).replace("-", "")


@dataclass(frozen=True)
class PersonalTerms:
    """Full names, streets and postcodes to mask (see the module docstring). Empty: masks nothing."""

    names: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    streets: frozenset[str] = field(default_factory=frozenset)
    postcodes: frozenset[str] = field(default_factory=frozenset)
    #: the most words a full name has (``("mary ann", "van der berg")``: 5), how far :meth:`_names` looks
    name_words: int = field(init=False, repr=False, compare=False, default=2)

    def __post_init__(self) -> None:
        most = max((len(f.split()) + len(last.split()) for f, last in self.names), default=2)
        object.__setattr__(self, "name_words", max(2, most))

    @classmethod
    def from_frame(cls, contacts: pd.DataFrame) -> PersonalTerms:
        """The terms of a contacts frame (columns ``first_name``, ``last_name``, ``street``, ``postcode``)."""

        def col(c: str) -> pd.Series:
            return contacts[c].dropna().astype(str) if c in contacts else pd.Series([], dtype=str)

        both = contacts[["first_name", "last_name"]].dropna() if {"first_name", "last_name"} <= set(contacts) else None
        names = set() if both is None else {(_norm(a), _norm(b)) for a, b in both.astype(str).itertuples(index=False)}
        streets = {_norm(s) for s in col("street") if len(s.split()) >= 2}
        postcodes = {pc for pc in map(_pc, col("postcode")) if len(pc) >= 5}
        return cls(frozenset(names), frozenset(streets), frozenset(postcodes))

    @classmethod
    def from_workspace(cls, ws) -> PersonalTerms:  # noqa: ANN001 - a cxlib.engine.Workspace
        """The terms of the workspace's ``contacts`` (distinct values, computed in the engine).

        Each kind of term is made distinct on its own (name pairs, streets, postcodes): the distinct
        combinations of all four are nearly one per person, and each is normalised in Python.
        """
        if not ws.has("contacts"):
            return cls()
        t = ws.table("contacts")

        def distinct(*cols: str) -> PersonalTerms:  # the terms of these columns' distinct values
            return cls.from_frame(t.select(*cols).distinct().to_pandas() if set(cols) <= set(t.columns) else
                                  pd.DataFrame())

        names = distinct("first_name", "last_name").names
        return cls(names, distinct("street").streets, distinct("postcode").postcodes)

    def __bool__(self) -> bool:
        return bool(self.names or self.streets or self.postcodes)

    def redact(self, text: str) -> str:
        """``text`` with every full name, street and postcode of the contacts masked."""
        if not self or not text:
            return text
        text = self._streets(text) if self.streets else text
        text = self._names(text) if self.names else text
        return self._postcodes(text) if self.postcodes else text

    def _postcodes(self, text: str) -> str:
        """Each run of 1 to :data:`_POSTCODE_PIECES` alphanumeric pieces, joined by a space or hyphen, that is a
        contact's postcode without them (from every piece on: "in LS1 4AB" finds "LS1 4AB", not "in LS1")."""
        pieces = list(_ALNUM.finditer(text))
        spans, i = [], 0
        while i < len(pieces):
            for n in range(min(_POSTCODE_PIECES, len(pieces) - i), 0, -1):  # the longest first
                run = pieces[i : i + n]
                if all(text[a.end() : b.start()] in (" ", "-") for a, b in zip(run, run[1:], strict=False)) and (
                    "".join(p.group(0).upper() for p in run) in self.postcodes
                ):
                    spans.append((run[0].start(), run[-1].end()))
                    i += n - 1
                    break
            i += 1
        return _replace(text, spans, "[postcode]")

    def _names(self, text: str) -> str:
        """Each run of words, apart only by spaces, that splits into a contact's forename and surname (either of
        several words: "Mary Ann van der Berg"), the longest first; "Jane Doe's" keeps its "'s"."""
        words = list(_WORD.finditer(text))
        spans, i = [], 0
        while i < len(words):
            found = 0
            for n in range(min(self.name_words, len(words) - i), 1, -1):
                run = words[i : i + n]
                if any(text[a.end() : b.start()].strip() for a, b in zip(run, run[1:], strict=False)):
                    continue
                end = self._name_end(text, run)
                if end is not None:
                    spans.append((run[0].start(), end))
                    found = n
                    break
            i += max(found, 1)
        return _replace(text, spans, "[name]")

    def _name_end(self, text: str, run: list[re.Match]) -> int | None:
        """Where the full name the words ``run`` make ends (before a possessive "'s"), or None if they make none."""
        last = run[-1]
        for k in range(1, len(run)):
            first = _norm(text[run[0].start() : run[k - 1].end()])
            surname = _norm(text[run[k].start() : last.end()])
            if (first, surname) in self.names:
                return last.end()
            if surname.endswith(("'s", "’s")) and (first, surname[:-2]) in self.names:
                return last.end() - 2
        return None

    def _streets(self, text: str) -> str:
        words = list(_WORD.finditer(text))
        spans, i = [], 0
        while i < len(words):
            for n in range(6, 1, -1):  # longest street first
                if i + n <= len(words):
                    start, end = words[i].start(), words[i + n - 1].end()
                    if _norm(text[start:end]) in self.streets:
                        spans.append((start, end))
                        i += n - 1
                        break
            i += 1
        return _replace(text, spans, "[street]")


def _replace(text: str, spans: list[tuple[int, int]], mask: str) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + mask + text[end:]
    return text
