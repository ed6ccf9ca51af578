"""Epoch times: integers counting seconds, milliseconds, microseconds or nanoseconds since 1970 (UTC).

Without ``ts_unit:``, a value that is a whole number (optionally with decimals) is read as an epoch time
by its magnitude, unless it has 8 or 14 digits (``YYYYMMDD``, ``YYYYMMDDhhmmss``):

=====================  ==============  ====================================
absolute value         unit            e.g. 2024-03-01 10:00 UTC
=====================  ==============  ====================================
below 10^11            seconds         1709287200
10^11 to below 10^14   milliseconds    1709287200000
10^14 to below 10^17   microseconds    1709287200000000 (GA4 event_timestamp)
10^17 and above        nanoseconds     1709287200000000000
=====================  ==============  ====================================

``ts_unit: s|ms|us|ns`` in sources.yml reads every number in the file's time columns in that unit (and
then 8- and 14-digit numbers too). Epoch times are UTC: ``timezone:`` does not apply to them.

``ts_unit: excel`` reads numbers as Excel serial dates instead: days since 1899-12-30, the fraction the
time of day (``45292`` is 2024-01-01, ``45292.5`` its noon), to the millisecond (Excel's precision). They
are local times like any time written without an offset: ``timezone:`` applies to them.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> v = "x"
>>> sql = f"SELECT CASE WHEN {epoch_condition(v, None)} THEN {epoch_expr(v, None)} END FROM (VALUES "
>>> sql += "('1709287200'), ('1709287200000'), ('1709287200000000'), ('1709287200000000000'), ('20240301')) t(x)"
>>> [str(r[0]) for r in con.execute(sql).fetchall()]
['2024-03-01 10:00:00', '2024-03-01 10:00:00', '2024-03-01 10:00:00', '2024-03-01 10:00:00', 'None']
>>> con.execute(f"SELECT {epoch_expr(repr('1709287200000'), 'us')}").fetchone()[0].isoformat()
'1970-01-20T18:48:07.200000'
"""

from __future__ import annotations

__all__ = ["epoch_condition", "epoch_expr", "excel_expr"]

_NUMBER = r"^-?\d+(\.\d+)?$"
_MICROS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 0.001}
#: Days from Excel's day 0 (1899-12-30, so that 1900-03-01 and later are right) to 1970-01-01.
EXCEL_DAY_OFFSET = 25569


def epoch_condition(v: str, unit: str | None) -> str:
    """SQL: whether text ``v`` is read as an epoch time."""
    if unit:
        return f"regexp_matches({v}, '{_NUMBER}')"
    return (
        f"(regexp_matches({v}, '{_NUMBER}') AND "
        f"length(regexp_extract(ltrim({v}, '-'), '^\\d+')) NOT IN (8, 14))"
    )


def _micros(v: str, unit: str) -> str:
    """SQL: epoch text ``v`` in ``unit`` as microseconds (BIGINT), NULL out of range.

    Whole numbers (the usual case: GA4's ``event_timestamp``) are read as BIGINT; only a number with decimals
    goes through DECIMAL(38, 6), whose cast from text is about 400 times slower in DuckDB (6 s for 323,000
    GA4 events). Both give the same microseconds (nanoseconds are rounded half to even in integers).
    """
    if unit == "us":
        dec = f"TRY_CAST(TRY_CAST({v} AS DECIMAL(38, 6)) AS BIGINT)"
    elif unit == "ns":
        dec = f"TRY_CAST(TRY_CAST({v} AS DECIMAL(38, 6)) / 1000 AS BIGINT)"
    else:
        dec = f"TRY_CAST(TRY_CAST({v} AS DECIMAL(38, 6)) * {_MICROS[unit]} AS BIGINT)"
    n = f"TRY_CAST({v} AS BIGINT)"
    whole = {  # NULL where the product would overflow: DECIMAL decides those (NULL too, as before)
        "s": f"CASE WHEN {n} BETWEEN -9223372036854 AND 9223372036854 THEN {n} * 1000000 END",
        "ms": f"CASE WHEN {n} BETWEEN -9223372036854775 AND 9223372036854775 THEN {n} * 1000 END",
        "us": n,
        "ns": _ns_to_us(n),
    }[unit]
    return f"COALESCE(CASE WHEN NOT contains({v}, '.') THEN {whole} END, {dec})"


def _ns_to_us(n: str) -> str:
    """SQL: BIGINT nanoseconds ``n`` as microseconds, rounded half to even, exactly (in integers: a DOUBLE
    division is off by a microsecond now and then beyond 2^53 ns, i.e. for any date after April 1970).

    >>> import duckdb
    >>> [duckdb.sql(f"SELECT {_ns_to_us(str(x))}").fetchone()[0] for x in (1500, 2500, -2500, 1499, 1501)]
    [2, 2, -2, 1, 2]
    """
    m = f"((({n}) % 1000 + 1000) % 1000)"
    q = f"((({n}) - {m}) // 1000)"
    rounded = f"{q} + CASE WHEN {m} > 500 OR ({m} = 500 AND {q} % 2 <> 0) THEN 1 ELSE 0 END"
    return f"(CASE WHEN ({n}) BETWEEN -9223372036854774000 AND 9223372036854774000 THEN {rounded} END)"


def excel_expr(v: str) -> str:
    """SQL: text ``v`` (an Excel serial date) as a naive TIMESTAMP, to the millisecond; NULL out of range.

    >>> import duckdb
    >>> [str(duckdb.sql(f"SELECT {excel_expr(repr(x))}").fetchone()[0]) for x in ("45292", "45292.541666666664")]
    ['2024-01-01 00:00:00', '2024-01-01 13:00:00']
    """
    ms = f"TRY_CAST(round((TRY_CAST({v} AS DECIMAL(38, 12)) - {EXCEL_DAY_OFFSET}) * 86400000) AS BIGINT)"
    return f"make_timestamp(TRY_CAST({ms} * 1000 AS BIGINT))"


def epoch_expr(v: str, unit: str | None) -> str:
    """SQL: text ``v`` (an epoch number) as a UTC TIMESTAMP, in ``unit`` or by magnitude; NULL out of range."""
    if unit == "excel":
        return excel_expr(v)
    if unit:
        return f"make_timestamp({_micros(v, unit)})"
    n = f"abs(TRY_CAST({v} AS DOUBLE))"
    return (
        f"make_timestamp(CASE WHEN {n} < 1e11 THEN {_micros(v, 's')} WHEN {n} < 1e14 THEN {_micros(v, 'ms')} "
        f"WHEN {n} < 1e17 THEN {_micros(v, 'us')} ELSE {_micros(v, 'ns')} END)"
    )
