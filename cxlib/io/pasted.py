"""Exports pasted together: the column names again, inside the rows.

A month's exports joined into one file (``cat jan.csv feb.csv``, or pasted in a spreadsheet) repeat the header
line where the second begins. That line is not a row of data: it is quarantined once, with a reason that says
what it is and what to do, not with one reason per column that fails its check, and the rows around it load
(:func:`cxlib.io.read.read_raw` leaves it out of the file's rows as it leaves out ``header_rows``; a sheet's
is left out as the sheet is read, :func:`cxlib.io.files.read_xlsx`, so that its columns keep their types).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE raw AS SELECT * FROM (VALUES ('O1', '10', 1), ('order_id', 'amount', 2), "
...                 "('O2', '20', 3)) v(order_id, amount, _row)")
>>> repeated_headers(con, "raw", ["order_id", "amount"])
[2]
>>> pasted_rejects([2], ["order_id", "amount"])[0]["reason"][:23]
'the column names again:'
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from cxlib.io.sql import Params, ident

__all__ = ["HEADER_SHARE", "PASTED_REASON", "pasted_rejects", "repeated_headers", "repeats_names"]

#: The share of columns whose value is the column's own name that makes a line a repeated header.
HEADER_SHARE = 0.8

PASTED_REASON = (
    "the column names again: exports pasted together into one file; the line is left out and the rows around it "
    "load. Remove the repeated header line, or give each export its own file"
)


def repeated_headers(con: duckdb.DuckDBPyConnection, rows: str, cols: list[str], first: int = 1) -> list[int]:
    """The ``_row`` numbers (from ``first`` on) of the lines of ``rows`` (a file's rows as text) that repeat the
    column names ``cols``: the first column's value is its name, and at least :data:`HEADER_SHARE` of all are. A
    file of one column has none. One filtered scan (the first column's value first); the names are bound."""
    if len(cols) < 2:
        return []
    p = Params()
    rest = " + ".join(f"CAST({ident(c)} = {p(c)} AS INTEGER)" for c in cols[1:])
    need = _names_needed(len(cols)) - 1  # besides the first
    where = f"_row >= {int(first)} AND {ident(cols[0])} = {p(cols[0])} AND ({rest}) >= {int(need)}"
    found = con.execute(f"SELECT _row FROM {ident(rows)} WHERE {where} ORDER BY _row", p.values).fetchall()
    return [int(r[0]) for r in found]


def repeats_names(values: Sequence[str | None], names: Sequence[str | None]) -> bool:
    """Whether a row's cells ``values`` (as text) repeat the column names ``names``, by the rule of
    :func:`repeated_headers`: the first cell is the first name, and at least :data:`HEADER_SHARE` of all cells are
    their column's name (a sheet's rows, read in Python).

    >>> repeats_names(["order_id", "amount", None], ["order_id", "amount", "status"])
    True
    >>> repeats_names(["O1", "amount", "status"], ["order_id", "amount", "status"])
    False
    """
    if len(names) < 2 or not values or names[0] is None or values[0] != names[0]:
        return False
    same = sum(1 for v, n in zip(values, names, strict=False) if v is not None and v == n)
    return same >= _names_needed(len(names))


def _names_needed(columns: int) -> int:
    """How many of a line's ``columns`` cells must be their column's name, the first among them (both checks)."""
    return max(2, round(HEADER_SHARE * columns))


def pasted_rejects(rows: list[int], cols: list[str]) -> list[dict]:
    """The quarantine's rejects for the repeated header lines ``rows``."""
    return [{"row": r, "value": ",".join(cols), "reason": PASTED_REASON} for r in rows]
