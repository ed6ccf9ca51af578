"""Reading text values as typed values, as SQL expressions over a raw text column.

Each function returns SQL text over a column expression the caller made (a checked identifier);
a per-file setting that came from ``sources.yml`` (the time zone) is a bound parameter of ``bind``.

Examples
--------
>>> from cxlib.io.sources import SourceFile
>>> from cxlib.io.sql import Params
>>> p = Params()
>>> sql = parse_expr('"_r_ts"', "timestamp", SourceFile("orders", None, timezone="Europe/London"), p)
>>> "timezone($p0" in sql, p.values
(True, {'p0': 'Europe/London'})
"""

from __future__ import annotations

from cxlib.io.epoch import epoch_condition, epoch_expr
from cxlib.io.numbers import number_expr
from cxlib.io.sources import SourceFile
from cxlib.io.sql import Params, literal

NULL_TOKENS = ("", "nan", "NaN", "NULL", "null", "None", "NaT")
#: A value that ends in a UTC offset: ``Z``, or ``+hh[:mm]`` / ``-hh[:mm]`` after a time of day. Not after a date
#: alone: ``2024-07-10`` ends in ``-10``, and was read as an offset (its file's ``timezone:`` ignored).
OFFSET_RE = r"(\d:\d\d(:\d\d(\.\d+)?)?\s*([+-]\d\d:?\d\d|[+-]\d\d)|Z|z)$"
_SPACED_OFFSET = r"\s+([+-]\d\d(:?\d\d)?)$"  # the engine reads '10:00:00-0500', not '10:00:00 -0500'

#: The engine type of each canonical dtype.
SQL_TYPES = {
    "string": "VARCHAR",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "float": "DOUBLE",
    "int": "BIGINT",
    "bool": "BOOLEAN",
}


def text_expr(raw: str) -> str:
    """``raw`` trimmed, with the usual spellings of nothing (``''``, ``NULL``, ``nan``...) as NULL."""
    # list_contains, not IN: the engine turns an IN list into a join per column (twice the time)
    tokens = ", ".join(literal(t) for t in NULL_TOKENS)
    t = f"trim(CAST({raw} AS VARCHAR))"
    return f"CASE WHEN list_contains([{tokens}], {t}) THEN NULL ELSE {t} END"


def ts_expr(v: str, f: SourceFile, bind: Params) -> str:
    """A timestamp in UTC: offsets honoured, naive values read in ``f.timezone``."""
    fmts = ["%Y%m%d", "%Y%m%d%H%M%S", "%Y%m%d %H%M%S"]
    if f.dayfirst:
        fmts += ["%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d-%m-%Y"]
    if f.monthfirst:  # US exports: 12/1/2010 8:26, 3/1/2024 10:00 AM
        fmts += ["%m/%d/%Y", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %I:%M %p", "%m/%d/%Y %I:%M:%S %p"]
    naive = (
        f"COALESCE(TRY_CAST(TRY_CAST({v} AS TIMESTAMP) AS TIMESTAMP), "
        f"TRY_STRPTIME({v}, [{', '.join(literal(x) for x in fmts)}]))"
    )
    epoch = epoch_expr(v, f.ts_unit)  # epoch numbers are UTC; Excel serial dates are local like naive text
    local = f.timezone and f.timezone.upper() != "UTC"
    if local:
        naive = f"CAST(timezone({bind(f.timezone)}, {naive}) AS TIMESTAMP)"
    if local and f.ts_unit == "excel":
        epoch = f"CAST(timezone({bind(f.timezone)}, {epoch}) AS TIMESTAMP)"
    return (
        f"CASE WHEN {epoch_condition(v, f.ts_unit)} THEN {epoch} "
        f"WHEN regexp_matches({v}, {literal(OFFSET_RE)}) THEN CAST(TRY_CAST("  # Shopify: '10:00:00 -0500'
        f"regexp_replace({v}, {literal(_SPACED_OFFSET)}, '\\1') AS TIMESTAMPTZ) AS TIMESTAMP) "
        f"ELSE {naive} END"
    )


def parse_expr(col: str, dtype: str, f: SourceFile, bind: Params) -> str:
    """The value of raw text column ``col`` as ``dtype``, NULL where it cannot be read."""
    v = col
    if dtype == "string":
        return v
    if dtype == "timestamp":
        return ts_expr(v, f, bind)
    if dtype == "date":
        return f"CAST({ts_expr(v, f, bind)} AS DATE)"
    if dtype in ("float", "int"):
        num = number_expr(v, f)  # the file's decimal and thousands separators (cxlib.io.numbers)
        num = f"CASE WHEN isfinite({num}) THEN {num} END"
        # TRY_CAST: a whole number past the 64-bit range (-1e300) cannot be read, like any other bad value (a CAST
        # stopped the whole load with the engine's conversion error)
        return num if dtype == "float" else f"CASE WHEN {num} = round({num}) THEN TRY_CAST({num} AS BIGINT) END"
    if dtype == "bool":
        return (
            f"CASE WHEN lower({v}) IN ('true','t','yes','y','1') THEN TRUE "
            f"WHEN lower({v}) IN ('false','f','no','n','0') THEN FALSE END"
        )
    raise ValueError(dtype)
