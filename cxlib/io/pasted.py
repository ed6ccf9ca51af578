"""Exports pasted together: the column names again, inside the rows.

A month's exports joined into one file (``cat jan.csv feb.csv``, or pasted in a spreadsheet) repeat the header
line where the second begins. That line is not a row of data: it is quarantined once, with a reason that says
what it is and what to do, not with one reason per column that fails its check, and the rows around it load.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TEMP TABLE raw AS SELECT * FROM (VALUES ('O1', '10', 1), ('order_id', 'amount', 2), "
...                 "('O2', '20', 3)) v(order_id, amount, _row)")
>>> [r["row"] for r in drop_repeated_headers(con, "raw", ["order_id", "amount"])]
[2]
>>> con.execute("SELECT order_id FROM raw ORDER BY _row").fetchall()
[('O1',), ('O2',)]
"""

from __future__ import annotations

import duckdb

from cxlib.io.sql import Params, ident

__all__ = ["drop_repeated_headers"]

#: The share of columns whose value is the column's own name that makes a line a repeated header.
HEADER_SHARE = 0.8


def drop_repeated_headers(con: duckdb.DuckDBPyConnection, name: str, cols: list[str]) -> list[dict]:
    """Take the lines of ``name`` (a file's rows as text, with ``_row``) that repeat the column names out of it
    (``name`` becomes a view of the others; the rows keep their numbers) and return them as rejects. The first
    column's value must be its name, and at least :data:`HEADER_SHARE` of all; a file of one column has none."""
    if len(cols) < 2:
        return []
    p = Params()
    rest = " + ".join(f"CAST({ident(c)} = {p(c)} AS INTEGER)" for c in cols[1:])
    need = max(1, round(HEADER_SHARE * len(cols)) - 1)
    where = f"{ident(cols[0])} = {p(cols[0])} AND ({rest}) >= {int(need)}"
    found = con.execute(f"SELECT _row FROM {ident(name)} WHERE {where} ORDER BY _row", p.values).fetchall()
    rows = [int(r[0]) for r in found]
    if not rows:
        return []
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_name = ? AND table_schema = 'main' "
        "AND table_catalog = 'temp'",
        [name],
    ).fetchone()
    kept = f"{name}_pasted"
    con.execute(f"ALTER {'VIEW' if kind and kind[0] == 'VIEW' else 'TABLE'} {ident(name)} RENAME TO {ident(kept)}")
    listed = ", ".join(str(r) for r in rows)  # whole numbers the engine returned, not a user's text
    con.execute(f"CREATE TEMP VIEW {ident(name)} AS SELECT * FROM {ident(kept)} WHERE _row NOT IN ({listed})")
    value = ",".join(cols)
    return [
        {
            "row": r,
            "value": value,
            "reason": "the column names again: exports pasted together into one file; the line is left out and "
            "the rows around it load. Remove the repeated header line, or give each export its own file",
        }
        for r in rows
    ]
