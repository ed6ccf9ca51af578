"""Writing a large table in key order without one sort of all its rows.

``cx load`` writes each workspace table sorted by its key, so that its order never depends on the input's.
One ``ORDER BY`` over tens of millions of wide rows spills most of them to disk (at a million customers,
gigabytes of DuckDB's temporary files). A table with more rows than :func:`rows_per_sort` allows under the
connection's memory limit is written by key range instead: the bounds of the ranges come from a sample of
the keys, the rows go once to a Parquet file per range in the load's scratch folder (compressed), and each
range is sorted in memory and appended in order. The table that results is the same, row for row and in the
same order, as one ``ORDER BY`` gives: the ranges do not overlap and are appended in key order, so the
sample only decides how the work is cut.

Key values are data: they reach the engine as bound parameters, never through SQL text.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb

from cxlib.io.sql import Params, glob_escaped, ident, literal
from cxlib.memory import memory_limit_bytes
from cxlib.schema import Table

__all__ = ["SORT_ROWS", "rows_per_sort", "write_in_key_order"]

#: The most rows written with one sort when the memory limit cannot be read.
SORT_ROWS = 2_000_000

#: Memory allowed a row in one sort; the memory limit over this is the most rows sorted at once. 6.5M
#: canonical events (12 columns) sorted in one go: the load's peak 1.9 GB; the export style's 6.5M events
#: (GA4's nested columns beside them) 4.4 GB, within the engine's 4 GB cap and what it holds besides.
ROW_BYTES = 500

#: Sampled keys per range (the ranges' sizes vary by about 1/sqrt of it).
_SAMPLE_PER_RANGE = 200


def write_in_key_order(
    con: duckdb.DuckDBPyConnection, t: Table, out: str, rows: str, n: int, scratch: Path | None,
    sort_rows: int | None = None,
) -> None:
    """Create table ``out`` with the rows of relation ``rows`` (about ``n`` of them) sorted by ``t.key``.

    Cut into key ranges when ``n`` is over ``sort_rows``, the key is ``(source, <id>)`` and there is a
    ``scratch`` folder; else one ``ORDER BY``.

    Examples
    --------
    >>> import duckdb
    >>> from cxlib.schema import TABLES
    >>> con = duckdb.connect()
    >>> _ = con.execute("CREATE TABLE r AS SELECT 's' || (i % 3) AS source, 'o' || i AS order_id, "
    ...                 "'1' AS amount FROM range(50) t(i)")
    >>> write_in_key_order(con, TABLES["orders"], "w", "r", 50, None)
    >>> con.execute("SELECT source, order_id FROM w LIMIT 2").fetchall()
    [('s0', 'o0'), ('s0', 'o12')]
    """
    order = ", ".join(ident(k) for k in t.key)
    sort_rows = sort_rows or rows_per_sort(con)
    if n <= sort_rows or scratch is None or len(t.key) != 2 or t.key[0] != "source":
        con.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT * FROM {rows} ORDER BY {order}")
        return
    ranges = _bounds(con, t, rows, math.ceil(n / sort_rows))
    folder = scratch / f"ranges-{t.name}"
    src, key = ident(t.key[0]), ident(t.key[1])
    rng, bind = _range_expr(con, src, key)
    con.execute("SET preserve_insertion_order = false")
    try:
        con.execute(
            f"COPY (SELECT *, {rng} AS _b FROM {rows}) "
            f"TO {literal(str(folder))} (FORMAT parquet, COMPRESSION zstd, PARTITION_BY (_b))",
            bind.values,
        )
    finally:
        con.execute("RESET preserve_insertion_order")
    con.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT * FROM {rows} WITH NO DATA")
    for b in range(1, ranges + 1):
        part = folder / f"_b={b}"
        if not part.exists():  # no row fell in this range
            continue
        files = literal(glob_escaped(str(part)) + "/*.parquet")  # the temp folder's name may hold [ or *
        con.execute(f"INSERT INTO {out} SELECT * FROM read_parquet({files}, hive_partitioning=false) ORDER BY {order}")
    shutil.rmtree(folder, ignore_errors=True)  # the next table's ranges take the disk it held


def rows_per_sort(con: duckdb.DuckDBPyConnection) -> int:
    """The most rows written with one sort: the connection's memory limit over :data:`ROW_BYTES` (at least
    100,000; :data:`SORT_ROWS` when the limit does not read). One sort of a table that fits costs less than
    the ranges (6.5M events: 15 against 25 CPU s), which write every row once more.

    Examples
    --------
    >>> import duckdb
    >>> rows_per_sort(duckdb.connect(config={"memory_limit": "4GB"}))  # shown by DuckDB as 3.7 GiB
    7945689
    """
    limit = memory_limit_bytes(con)
    return SORT_ROWS if limit is None else max(100_000, int(limit / ROW_BYTES))


def _range_expr(con: duckdb.DuckDBPyConnection, src: str, key: str) -> tuple[str, Params]:
    """SQL: a row's range, the number of bounds of ``_cx_bounds`` at or below its key, and the bounds as
    bound parameters.

    Being at or below a key holds for a first run of the bounds in their order (they are numbered in key
    order, a missing value last), so the count is the number of the last bound that holds: a ``CASE`` from
    the last bound down stops at the first that holds (a few comparisons a row, where counting over a list
    of the bounds ran a lambda on each of them for every row).
    """
    bind = Params()
    bounds = con.execute("SELECT s, v, _b FROM _cx_bounds ORDER BY _b DESC").fetchall()
    whens = []
    for s, v, b in bounds:
        ps, pv = bind(s), bind(v)
        cond = f"{src} IS NULL OR {ps} < {src} OR ({ps} = {src} AND ({key} IS NULL OR {pv} <= {key}))"
        whens.append(f"WHEN COALESCE({cond}, FALSE) THEN {int(b)}")
    return f"CASE {' '.join(whens)} ELSE 0 END", bind


def _bounds(con: duckdb.DuckDBPyConnection, t: Table, rows: str, ranges: int) -> int:
    """Temp table ``_cx_bounds (s, v, _b)``: the first key of each range, numbered in key order; every
    ``source`` starts a range at ``''``. A row's range is the number of bounds at or below its key (the
    last bound's when they are equal); a missing value sorts last, as ``ORDER BY`` puts it, so a row with
    one falls in the last range of its source (no source: the last range). Returns the number of ranges."""
    src, key = ident(t.key[0]), ident(t.key[1])
    sample = int(ranges * _SAMPLE_PER_RANGE)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cx_bounds AS
        WITH s AS (SELECT {src} AS s, {key} AS v FROM {rows} USING SAMPLE reservoir({sample} ROWS) REPEATABLE (7)),
        cut AS (SELECT s, v FROM (SELECT s, v, row_number() OVER (ORDER BY s, v) AS i FROM s)
                WHERE i % {_SAMPLE_PER_RANGE} = 0),
        starts AS (SELECT DISTINCT {src} AS s, '' AS v FROM {rows})
        SELECT s, v, CAST(row_number() OVER (ORDER BY s, v) AS INTEGER) AS _b
        FROM (SELECT * FROM cut UNION SELECT * FROM starts)""")
    return con.execute("SELECT count(*) FROM _cx_bounds").fetchone()[0]
