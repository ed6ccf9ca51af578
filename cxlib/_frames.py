"""Relational shapes used by more than one step, written once.

Every step needs a few of the same moves on Ibis tables: keep the first row of each group by a
documented order, drop the ``*_right`` copies that a join keeps of its keys, and stack tables whose
columns differ. They live here so that each has one definition (and one tie rule).

Examples
--------
>>> import ibis, pandas as pd
>>> t = ibis.memtable(pd.DataFrame({"g": [1, 1, 2], "v": [3, 1, 2]}))
>>> first_per_group(t, "g", ["v"]).order_by("g").to_pandas().to_dict("list")
{'g': [1, 2], 'v': [1, 2]}
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import ibis
import pandas as pd

__all__ = ["drop_join_copies", "empty_frame", "first_per_group", "has_formulas", "spreadsheet_safe"]


def empty_frame(columns: dict[str, str]) -> pd.DataFrame:
    """A frame of no rows with ``columns``' names and pandas dtypes: an output that found nothing keeps its shape,
    and the workspace can store it (a frame of untyped, empty columns is one it cannot).

    >>> empty_frame({"step": "string", "rows": "int64"}).dtypes.astype(str).tolist()
    ['string', 'int64']
    """
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def first_per_group(t: ibis.Table, by: str | Sequence[str], order: Sequence[ibis.Value | str]) -> ibis.Table:
    """The first row of each group of ``by`` in the order ``order`` (ascending unless a key says ``desc``).

    ``order`` must break every tie (end it with a key column) for the result to be deterministic.
    """
    keys = [by] if isinstance(by, str) else list(by)
    w = ibis.window(group_by=keys, order_by=list(order))
    return t.mutate(_cx_rn=ibis.row_number().over(w)).filter(ibis._._cx_rn == 0).drop("_cx_rn")


def drop_join_copies(t: ibis.Table) -> ibis.Table:
    """Drop the ``*_right`` copies of join keys that Ibis keeps after some joins."""
    extra = [c for c in t.columns if c.endswith("_right")]
    return t.drop(*extra) if extra else t


#: A text a spreadsheet would read as a formula: one that starts with ``=``, ``@``, a tab or a carriage return, or
#: with ``+``/``-`` followed by more than a number or a phone number (``+44 7700 900123``, ``-1,234.56``, ``-5%``,
#: ``-£12.50``, ``-1.5e3`` and ``+1-555-010-0199`` stay: no name to call).
_FORMULA = re.compile(r"[=@\t\r]|[+-](?![\d\s().,%£$€eE+-]*$)")


def spreadsheet_safe(df: pd.DataFrame) -> pd.DataFrame:
    r"""``df`` with every text cell a spreadsheet would run as a formula made text: a ``'`` before it.

    Customers write what they like in a survey comment or a name field; ``=HYPERLINK("http://…","click")`` in
    a CSV opened in Excel is a live link (and ``=cmd|…`` worse). Every CSV or table download made for people to
    open (the follow-up list, a page's customer list, a page's tables) goes through this (OWASP's rule).

    >>> spreadsheet_safe(pd.DataFrame({"t": ['=HYPERLINK("x")', "+44 7700 900123", "-2+3+cmd|' /C calc'!A0", "ok"],
    ...                                "n": [1, 2, 3, 4]}))["t"].tolist()
    ['\'=HYPERLINK("x")', '+44 7700 900123', "'-2+3+cmd|' /C calc'!A0", 'ok']
    """
    out = df.copy(deep=False)
    for c, risky in _formula_cells(df).items():
        out[c] = out[c].astype(object).where(~risky, "'" + out[c].astype(str))
    return out


def has_formulas(df: pd.DataFrame) -> bool:
    """Whether a text cell of ``df`` is one :func:`spreadsheet_safe` would change.

    >>> numbers = pd.DataFrame({"t": ["-1,234.56", "+1-555-010-0199", "-5%", "-£12.50", "-1.5e3"]})
    >>> has_formulas(numbers), has_formulas(pd.DataFrame({"t": ["@support never replied"]}))
    (False, True)
    """
    return bool(_formula_cells(df))


def _formula_cells(df: pd.DataFrame) -> dict:
    """``{column: mask}`` of the text cells a spreadsheet would read as formulas (columns without any left out)."""
    out = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_datetime64_any_dtype(s):
            continue
        risky = s.map(lambda v: isinstance(v, str) and _FORMULA.match(v) is not None).astype(bool)
        if risky.any():
            out[c] = risky
    return out
