"""Running a large per-customer query in chunks of customers, so that each chunk's sort fits in the engine's memory.

A window over every touchpoint of a million customers holds all its rows at once; past DuckDB's ``memory_limit``
it spills them to disk and slows down (the journeys step: 19 GB of temporary files at 1M customers). The same
query over a fraction of the customers at a time, a customer's rows always together, gives the same rows.

Examples
--------
>>> import ibis
>>> con = ibis.duckdb.connect()
>>> _ = con.raw_sql("SET memory_limit = '4GB'")
>>> t = con.create_table("t", schema={"customer_id": "string"})
>>> chunk_rows(t, bytes_per_row=1000)  # DuckDB reads 4GB back as 3.7 GiB
3972844
>>> chunk_count(t, bytes_per_row=1000)  # an empty table: one chunk
1
"""

from __future__ import annotations

import ibis

from cxlib.memory import memory_limit_bytes

__all__ = [
    "BUCKETS",
    "BUCKET_COLUMN",
    "DEFAULT_CHUNK_ROWS",
    "bucket",
    "bucket_range",
    "chunk",
    "chunk_count",
    "chunk_rows",
    "in_chunk",
]

#: How many buckets the customers fall in (:func:`bucket`); a chunk is a range of them, so at most this many chunks.
BUCKETS = 1024
#: The column of a table written in chunks of buckets (``cx journeys``' ``journey_touchpoints``) that holds each
#: row's customer's :func:`bucket`: a reader in chunks filters a range of it (:func:`in_chunk`'s ``buckets``).
BUCKET_COLUMN = "customer_bucket"
#: Rows per chunk on other engines (Spark), or on DuckDB when its memory limit cannot be read.
DEFAULT_CHUNK_ROWS = 4_000_000


def chunk_rows(t: ibis.Table, bytes_per_row: float, rows: int | None = None) -> int:
    """Rows per chunk: ``rows`` if given, else DuckDB's ``memory_limit`` over ``bytes_per_row`` (what the
    query needs per input row, measured at its peak), else :data:`DEFAULT_CHUNK_ROWS`."""
    if rows is not None:
        return max(1, int(rows))
    con = t.get_backend()
    if getattr(con, "name", "") != "duckdb":
        return DEFAULT_CHUNK_ROWS
    limit = memory_limit_bytes(con)
    return DEFAULT_CHUNK_ROWS if limit is None else max(1, int(limit // bytes_per_row))


def chunk_count(t: ibis.Table, bytes_per_row: float, rows: int | None = None) -> int:
    """How many chunks to run a query over ``t`` in: one per :func:`chunk_rows` rows of ``t`` (one for a
    small input, so that it runs as a single query)."""
    n = int(t.count().to_pandas())
    return min(BUCKETS, max(1, -(-n // chunk_rows(t, bytes_per_row, rows))))


@ibis.udf.scalar.builtin(name="hash")
def _engine_hash(key: str) -> int:  # type: ignore[empty-body]
    """The engine's own ``hash``, as is: ibis' ``.hash()`` wraps DuckDB's in two casts (through ``BIT``) that cost
    more than the hash, and keep DuckDB from pushing the chunk's filter below the analysis set's anti-join."""


def bucket(key: ibis.Value) -> ibis.IntegerValue:
    """A customer ``key``'s bucket, ``0`` to ``BUCKETS - 1``: the engine's deterministic hash of the key as text
    (DuckDB's or Spark's: only the split differs between them, not any result), modulo :data:`BUCKETS`. Spark's
    hash is a signed integer, hence the second modulo; a null key hashes like any other value (its customer's
    rows stay together).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"customer_id": list("abcdefgh")}))
    >>> b = t.select(b=bucket(t.customer_id)).to_pandas()["b"]
    >>> bool(b.between(0, BUCKETS - 1).all())
    True
    """
    h = _engine_hash(key.cast("string"))
    return ((h % BUCKETS) + BUCKETS) % BUCKETS


def bucket_range(i: int, n: int) -> tuple[int, int]:
    """The buckets of chunk ``i`` of ``n``: ``lo <= bucket < hi``. Contiguous, so that a table written in bucket
    order (``journey_touchpoints``' ``customer_bucket``) gives each chunk's rows from its own row groups only.

    Examples
    --------
    >>> [bucket_range(i, 3) for i in range(3)]
    [(0, 342), (342, 683), (683, 1024)]
    """
    return -(-i * BUCKETS // n), -(-(i + 1) * BUCKETS // n)


def in_chunk(key: ibis.Value, i: int, n: int, buckets: ibis.IntegerValue | None = None) -> ibis.BooleanValue:
    """Whether a customer ``key`` falls in chunk ``i`` of ``n``: its :func:`bucket` is in :func:`bucket_range`
    ``(i, n)``. ``buckets``: the keys' buckets when a column holds them (``customer_bucket``): a range of a stored
    column, which the engine checks against each row group's minimum and maximum, and no hashing.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"customer_id": list("abcdefgh")}))
    >>> sum(int(t.filter(in_chunk(t.customer_id, i, 3)).count().execute()) for i in range(3))
    8
    """
    lo, hi = bucket_range(i, n)
    b = bucket(key) if buckets is None else buckets
    return (b >= lo) & (b < hi)


def chunk(
    t: ibis.Table, i: int, n: int, key: ibis.Value | None = None, buckets: ibis.IntegerValue | None = None
) -> ibis.Table:
    """The rows of ``t`` in chunk ``i`` of ``n``: those whose customer ``key`` is :func:`in_chunk` (or whose
    stored ``buckets`` are); ``t`` itself, with no filter, when there is one chunk (a small input runs as the
    single query it would be without chunks).

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> t = ibis.memtable(pd.DataFrame({"customer_id": list("abcdefgh")}))
    >>> chunk(t, 0, 1) is t
    True
    >>> sum(int(chunk(t, i, 3, t.customer_id).count().execute()) for i in range(3))
    8
    """
    return t if n == 1 else t.filter(in_chunk(key, i, n, buckets))
