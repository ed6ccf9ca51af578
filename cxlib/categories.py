"""Columns of a few repeated values, stored by DuckDB as ``ENUM`` types: a one-byte code per row, not the text.

Most of the time a wide table takes to write is its text columns: DuckDB compresses and keeps statistics for
every value written to the workspace file (100k customers: 0.6 s for each text column of the 7.1M
``touchpoints`` rows, against 0.08 s for the same column stored as an ``ENUM``). The stream's ``event``,
``channel``, ``source``, ``table_name`` and ``rule`` hold a handful of values each, so
:meth:`cxlib.engine.Workspace.write` declares such columns (``categories=``) as ``ENUM`` types of the values
they hold, and the readers' windows and sorts carry the code instead of the text (the journeys' staging: 12%
faster, a third less memory).

What a reader sees does not change: Ibis reads an ``ENUM`` column as text, a comparison with text that is not
among its values is false (not an error), a text column joined with it compares as text, and its values are
declared in code-point order (the order of their UTF-8 bytes, as DuckDB orders text), so a sort, ``min`` or
``max`` over it gives what it gave over the text. Every Ibis result leaves the engine with its ``ENUM`` columns
cast to text (:func:`as_text`): Ibis would otherwise build pandas columns from them one Python object per value.

Values are the user's data, so they reach the type's SQL as :func:`~cxlib.io.sql.literal` (single quotes
doubled; a value with a control character is refused, and its column stays text), and a column of more than
:data:`MAX_CATEGORIES` values stays text. Other backends than DuckDB write text as before.

Examples
--------
>>> enum_type(["web", "app", "it's"])
"ENUM('app', 'it''s', 'web')"
>>> enum_type(["a\\x00"]) is None, enum_type([]) is None
(True, True)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ibis

from cxlib.io.sql import ident, literal

__all__ = ["MAX_CATEGORIES", "Categories", "column_defs", "distinct_values", "enum_type", "enum_values"]

#: Text columns to store as ``ENUM`` types: column -> every value it holds (or ``None``, none).
Categories = Mapping[str, Sequence[str]] | None
#: The most values a column may hold and still be stored as an ``ENUM`` (more and it stays text).
MAX_CATEGORIES = 1000


def enum_type(values: Iterable[str]) -> str | None:
    """``ENUM('a', 'b', ...)`` of ``values`` (without repeats, in code-point order), or ``None`` when there are
    none, more than :data:`MAX_CATEGORIES`, or one that cannot be written as a literal."""
    kept = sorted({str(v) for v in values})  # str's order is the code points', which is the UTF-8 bytes'
    if not kept or len(kept) > MAX_CATEGORIES:
        return None
    try:
        return "ENUM(" + ", ".join(literal(v) for v in kept) + ")"
    except ValueError:  # a control character: the column stays text
        return None


def column_defs(schema: ibis.Schema, dialect: str, categories: Categories) -> str:
    """The column definitions of a ``CREATE TABLE`` for ``schema``: a text column named in ``categories`` as the
    :func:`enum_type` of its values (when there is one), every other column as Ibis declares it."""
    defs = []
    for name, d in zip(schema.names, schema.to_sqlglot_column_defs(dialect), strict=True):
        enum = enum_type(categories[name]) if categories and name in categories and schema[name].is_string() else None
        defs.append(d.sql(dialect) if enum is None else f"{d.this.sql(dialect)} {enum}")
    return ", ".join(defs)


def distinct_values(table: ibis.Table, columns: Sequence[str]) -> dict[str, list[str]]:
    """The distinct values (as text, nulls left out) of each of ``columns`` of ``table`` that holds at most
    :data:`MAX_CATEGORIES` of them: two passes over those columns, the first an approximate count (a
    sketch, in constant memory) so that a column of millions of ids is never collected.

    >>> import pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"event": ["a", "b", "a", None], "id": ["1", "2", "3", "4"]}))
    >>> distinct_values(t, ["event"])
    {'event': ['a', 'b']}
    """
    if not columns:
        return {}
    counts = table.aggregate(**{c: table[c].approx_nunique() for c in columns}).to_pyarrow().to_pylist()[0]
    few = [c for c in columns if (counts[c] or 0) <= MAX_CATEGORIES * 1.5]  # the sketch is within a few %
    if not few:
        return {}
    lists = table.aggregate(**{c: table[c].cast("string").collect(distinct=True) for c in few})
    got = lists.to_pyarrow().to_pylist()[0]
    return {c: sorted(got[c] or []) for c in few if len(got[c] or []) <= MAX_CATEGORIES}


def enum_values(con: Any, table: str) -> dict[str, list[str]]:
    """The values of each ``ENUM`` column of DuckDB table ``table`` in the connection's own database and schema
    (``{}`` for none): what it was declared with, empty table or not.

    >>> import duckdb
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE t (e ENUM('x', 'y'), n INTEGER)")
    >>> _ = con.execute("CREATE TEMP TABLE t (e ENUM('z'))")  # read as t first, but not the workspace's
    >>> enum_values(con, "t")
    {'e': ['x', 'y']}
    """
    catalog, schema = con.execute("SELECT current_database(), current_schema()").fetchone()
    rows = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = $c AND schema_name = $s AND table_name = $t"
        " AND data_type LIKE 'ENUM(%' ORDER BY column_index",
        {"c": catalog, "s": schema, "t": table},
    ).fetchall()
    if not rows:
        return {}
    where = ".".join(ident(p) for p in (catalog, schema, table))
    # every value of the column's type, from its first row or, in an empty table, a null of its type: no scan
    ranges = ", ".join(f"enum_range(r.{ident(c)})" for (c,) in rows)
    got = con.execute(f"SELECT {ranges} FROM (SELECT 1) d LEFT JOIN (SELECT * FROM {where} LIMIT 1) r ON TRUE")
    return {c: list(v) for (c,), v in zip(rows, got.fetchone(), strict=True)}


def as_text(rel: Any) -> Any:
    """DuckDB relation ``rel`` with its ``ENUM`` columns cast to text (``rel`` itself when it has none).

    What every Ibis read of a DuckDB workspace goes through (:func:`_install`): Ibis turns a dictionary-encoded
    Arrow column (DuckDB's export of an ``ENUM``) into pandas through one Python object per value, which made
    ``to_pandas`` of the 277k staged rows of a 4,000-customer company take 7.5 s instead of 0.2 s. Cast by the
    engine, the column reaches Arrow and pandas as the text it holds, which is what Ibis's schema says it is.

    Examples
    --------
    >>> import duckdb
    >>> con = duckdb.connect()
    >>> rel = con.sql("SELECT 'web'::ENUM('app', 'web') AS channel, 1 AS n")
    >>> [str(t) for t in as_text(rel).types]
    ['VARCHAR', 'INTEGER']
    """
    enums = [n for n, t in zip(rel.columns, rel.types, strict=True) if t.id == "enum"]
    if not enums:
        return rel
    return rel.project(f"* REPLACE ({', '.join(f'CAST({ident(n)} AS VARCHAR) AS {ident(n)}' for n in enums)})")


def _install() -> None:
    """Route Ibis's DuckDB backend's results (``execute``, ``to_pandas``, ``to_pyarrow``) through :func:`as_text`:
    they build the result's relation by ``_to_duckdb_relation`` (ibis 12; ``to_pyarrow_batches`` does not, and
    keeps DuckDB's dictionaries)."""
    from ibis.backends.duckdb import Backend

    made = Backend._to_duckdb_relation
    if getattr(made, "_cx_as_text", False):
        return

    def to_relation(self: Backend, *args: Any, **kwargs: Any) -> Any:
        return as_text(made(self, *args, **kwargs))

    to_relation._cx_as_text = True  # type: ignore[attr-defined]
    Backend._to_duckdb_relation = to_relation


_install()
