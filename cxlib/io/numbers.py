"""Numbers written with a decimal comma or point, and telling the user when a column looks like the other one.

``sources.yml`` may set ``decimal: ","`` (``1.234,56`` is 1234.56) and ``thousands:`` (``","``, ``"."``,
``" "``, ``"'"`` or ``""`` for none; by default the separator that is not the decimal one). Without them a
file is read as before: a decimal point, and commas only where they group thousands (``1,249.00``).
Neither convention is guessed: a value that only reads in the other convention is quarantined with a
reason that says so, and the load report warns about the column (:func:`convention_warnings`).

Both options come from a fixed set of characters (checked in :mod:`cxlib.io.sources`), so the patterns
built from them are validated literals.

Examples
--------
>>> import duckdb
>>> from cxlib.io.sources import SourceFile
>>> f = SourceFile("orders", None, decimal=",")
>>> duckdb.sql(f"SELECT {number_expr(literal('1.234,56'), f)}").fetchone()[0]
1234.56
>>> duckdb.sql(f"SELECT {number_expr(literal('1.234'), f)}").fetchone()[0]
1234.0
"""

from __future__ import annotations

import re

import duckdb

from cxlib.io.sql import ident, literal
from cxlib.schema import Table

__all__ = ["DECIMALS", "HINTS", "THOUSANDS", "convention_warnings", "looks_like", "number_expr"]

DECIMALS = (".", ",")
THOUSANDS = (",", ".", " ", "'", "")

#: values that only read with a decimal comma / a decimal point (after currency symbols and spaces are removed)
_LOOKS = {
    ",": r"^-?(\d{1,3}(\.\d{3})+|\d+),\d+$",
    ".": r"^-?(\d{1,3}(,\d{3})+|\d+)\.\d+$",
}
#: e.g. 1.234 or 1,234: a thousand or one and a bit, depending on the convention
_AMBIGUOUS = r"^-?\d{1,3}[.,]\d{3}$"


def _bare(v: str) -> str:
    return f"regexp_replace({v}, '[£$€\\s]', '', 'g')"


def number_expr(v: str, f) -> str:
    """SQL: text ``v`` as a DOUBLE under ``f``'s ``decimal``/``thousands``, NULL where it does not read."""
    bare = _bare(v)
    dec = getattr(f, "decimal", ".") or "."
    th = getattr(f, "thousands", None)
    if dec == "." and th is None:
        # thousands separators only where they are one (1,249.00); a decimal comma (1.234,50) is not guessed
        return (
            f"CASE WHEN NOT contains({bare}, ',') OR regexp_matches({bare}, '^-?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?$') "
            f"THEN TRY_CAST(replace({bare}, ',', '') AS DOUBLE) END"
        )
    if th is None:
        th = "." if dec == "," else ","
    th = "" if th == " " else th  # spaces are removed with the currency symbols
    grouped = f"|\\d{{1,3}}({re.escape(th)}\\d{{3}})+" if th else ""
    pattern = f"^[-+]?(\\d+{grouped})({re.escape(dec)}\\d+)?$"
    value = f"replace({bare}, {literal(th)}, '')" if th else bare
    value = f"replace({value}, {literal(dec)}, '.')" if dec != "." else value
    return f"CASE WHEN regexp_matches({bare}, {literal(pattern)}) THEN TRY_CAST({value} AS DOUBLE) END"


def looks_like(r: str, decimal: str) -> str:
    """SQL: raw text ``r`` reads only with ``decimal`` as the decimal separator (``1.234,56`` for ``','``)."""
    return f"regexp_matches({_bare(r)}, {literal(_LOOKS[decimal])})"


#: why a number that did not read would read in the other convention, by that convention's decimal separator
HINTS = {
    ",": 'it has a decimal comma, like 1.234,56: set `decimal: ","` for the file in sources.yml',
    ".": 'it has a decimal point, like 1,234.56, but the file is read with `decimal: ","`',
}


def convention_warnings(con: duckdb.DuckDBPyConnection, t: Table, files: list) -> list[str]:
    """A warning per file and number column where values look like the other decimal convention.

    One pass over ``_cx_parsed`` for every column and file: per file (``_fi``) and column, the values that did
    not read but look like either convention, and those read that look like 1.234 (ambiguous)."""
    cols = [c.name for c in t.columns if c.dtype in ("float", "int")]
    if not cols:
        return []
    aggs = []
    for c in cols:
        # the stored text (``_s_``: none for a typed value taken as it is, which has no decimal convention)
        r, p = ident("_s_" + c), ident("_p_" + c)
        aggs += [f"count(*) FILTER (WHERE {p} IS NULL AND {looks_like(r, dec)})" for dec in DECIMALS]
        aggs.append(f"count(*) FILTER (WHERE {p} IS NOT NULL AND regexp_matches({_bare(r)}, {literal(_AMBIGUOUS)}))")
    counts = {
        row[0]: row[1:]
        for row in con.execute(f"SELECT _fi, {', '.join(aggs)} FROM _cx_parsed GROUP BY _fi").fetchall()
    }
    warnings = []
    for i, c in enumerate(cols):
        for fi, f in enumerate(files):
            dec = getattr(f, "decimal", ".") or "."
            other = "," if dec == "." else "."
            row = counts.get(fi)
            if row is None:
                continue
            other_n, ambiguous = row[3 * i + DECIMALS.index(other)], row[3 * i + 2]
            if other_n:
                read_as = "1.234 as 1.234 and 1,234 as 1234" if dec == "." else "1.234 as 1234"
                warnings.append(
                    f"{t.name}.{c} in {f.label}: {other_n:,} values look like numbers with a decimal "
                    f"{'comma' if other == ',' else 'point'} and were quarantined"
                    + (f"; {ambiguous:,} values like 1.234 were read ({read_as})" if ambiguous else "")
                    + f"; if the file writes numbers like {'1.234,56' if other == ',' else '1,234.56'}, set "
                    f'`decimal: "{other}"` for it in sources.yml'
                )
    return warnings
