"""The validation rules, as SQL over the staged rows, and the ``quarantine`` rows they produce.

Each rule is a condition on a raw text column ``_r_<col>`` and its parsed value ``_p_<col>`` with a
reason. Rows failing a rule on a required column are quarantined; a failing optional value is set
to null and logged. Reasons (which can quote a user's ``values:`` map) are bound parameters.

Examples
--------
>>> from cxlib.schema import TABLES
>>> from cxlib.io.sources import SourceFile
>>> f = SourceFile("orders", None)
>>> reasons = [reason for _, reason in column_checks(TABLES["orders"], "amount", f, status_map(f))]
>>> reasons[0], reasons[1][:36], reasons[-2:]
('required value missing', 'cannot read as a number (it has a de', ['cannot read as a number', 'negative value'])
"""

from __future__ import annotations

import duckdb

from cxlib.io.numbers import HINTS, looks_like
from cxlib.io.read import unordered
from cxlib.io.sources import SourceFile
from cxlib.io.sql import Params, ident, literal
from cxlib.schema import STATUS_SYNONYMS, Table

FIRST_PLAUSIBLE = "1990-01-01"
#: SQL bounds of a plausible event time, for a parsed timestamp expression: the checks quarantine a value
#: outside them (each bound with its own reason), the invoice lines' dates are read within them.
_EARLIEST, _LATEST = f"TIMESTAMP '{FIRST_PLAUSIBLE}'", "now()::TIMESTAMP + INTERVAL 1 DAY"


def plausible_time(p: str) -> str:
    """SQL: parsed timestamp ``p`` lies from :data:`FIRST_PLAUSIBLE` to a day from now (what the ``past``
    checks let through).

    >>> plausible_time("ts")
    "(ts >= TIMESTAMP '1990-01-01' AND ts <= now()::TIMESTAMP + INTERVAL 1 DAY)"
    """
    return f"({p} >= {_EARLIEST} AND {p} <= {_LATEST})"

_TYPE_WORD = {
    "timestamp": "a timestamp",
    "date": "a date",
    "float": "a number",
    "int": "a whole number",
    "bool": "true/false",
}


def column_checks(t: Table, col: str, f: SourceFile, status_map: dict[str, str]) -> list[tuple[str, str]]:
    """(condition on raw ``r`` and parsed ``p``, reason) pairs flagging a bad value of ``col``."""
    c = t.column(col)
    r, p = ident(f"_r_{col}"), ident(f"_p_{col}")
    # a typed column's stored text ``_s_``: null where the file's own value was taken as it is (its text, ``_r_``,
    # is made from the value where a reader asks): so a check of every row reads no text it need not make
    s = r if c.dtype == "string" else ident(f"_s_{col}")
    out: list[tuple[str, str]] = []
    if c.required:
        out.append((f"{r} IS NULL" if s == r else f"{s} IS NULL AND {p} IS NULL", "required value missing"))
    if c.dtype != "string" and c.check != "status":
        cond = f"{s} IS NOT NULL AND {p} IS NULL"  # where nothing was read, the text is the stored text
        if c.dtype in ("float", "int"):  # say when it reads in the other decimal convention, never guess
            for dec, why in HINTS.items():
                out.append((f"{cond} AND {looks_like(s, dec)}", f"cannot read as {_TYPE_WORD[c.dtype]} ({why})"))
            cond += " AND NOT (" + " OR ".join(looks_like(s, dec) for dec in HINTS) + ")"
        if c.dtype in ("timestamp", "date"):  # the hint the value's shape calls for
            shapes = {f"regexp_matches({s}, {literal(shape)})": why for shape, why in time_hints(f).items()}
            for shape, why in shapes.items():
                out.append((f"{cond} AND {shape}", f"cannot read as {_TYPE_WORD[c.dtype]} ({why})"))
            cond += " AND NOT (" + " OR ".join(shapes) + ")"
            out.append((cond, f"cannot read as {_TYPE_WORD[c.dtype]} ({TEXT_NOT_A_DATE})"))
        else:
            out.append((cond, f"cannot read as {_TYPE_WORD[c.dtype]}"))
    out += _value_checks(c.check, r, p, status_map)
    return out


#: A whole or decimal number of five digits: an Excel serial date (days since 1899-12-30: 1954 to 2119).
EXCEL_SERIAL = r"^\s*\d{5}(\.\d+)?\s*$"
SLASH_HINT = "dates like 31/12/2024 need `dayfirst: true` in sources.yml, 12/31/2024 `monthfirst: true`"
#: The hint for a time value that is text with no date shape.
TEXT_NOT_A_DATE = "not a date: write it as 2024-12-31 or 2024-12-31 10:00, with or without an offset"


def time_hints(f: SourceFile) -> dict[str, str]:
    """Regex of a time value's shape -> why it does not read, for a file read with ``f``'s options.

    >>> list(time_hints(SourceFile("orders", None)).values())[0]
    'dates like 31/12/2024 need `dayfirst: true` in sources.yml, 12/31/2024 `monthfirst: true`'
    """
    order = "dayfirst" if f.dayfirst else "monthfirst" if f.monthfirst else None
    slash: str = (
        f"not a real date read {'day' if f.dayfirst else 'month'}-first, as `{order}` says"
        if order
        else SLASH_HINT
    )
    return {
        r"^\s*\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}": slash,
        r"^\s*-?\d+(\.\d+)?\s*$": "a number, but not epoch seconds, ms, us or ns by its size, nor YYYYMMDD: "
        "set `ts_unit:` (s, ms, us, ns, excel)",
        r"^\s*\d{4}-\d{1,2}-\d{1,2}": "not a real date or time: a month over 12, a day past the month's end, "
        "or an hour over 23",
    }


def _value_checks(check: str | None, r: str, p: str, status_map: dict[str, str]) -> list[tuple[str, str]]:
    if check == "past":
        serial = f"COALESCE(regexp_matches({r}, {literal(EXCEL_SERIAL)}), FALSE)"  # read as epoch seconds: 1970
        return [
            (f"{p} > {_LATEST}", "date in the future"),
            (f"{p} < {_EARLIEST} AND {serial}", f"implausible date (before {FIRST_PLAUSIBLE}; "
             "a number like 45292 is an Excel serial date: set `ts_unit: excel`)"),
            (f"{p} < {_EARLIEST} AND NOT {serial}", f"implausible date (before {FIRST_PLAUSIBLE})"),
        ]
    if check == "birth_date":
        return [(f"{p} > current_date OR {p} < DATE '1900-01-01'", "impossible birth date")]
    if check == "nonnegative":
        return [(f"{p} < 0", "negative value")]
    if check == "nps":
        return [(f"{p} NOT BETWEEN 0 AND 10", "NPS outside 0-10")]
    if check == "csat":
        return [(f"{p} NOT BETWEEN 1 AND 5", "CSAT outside 1-5")]
    if check == "email":
        # an address, or one with a display name as mail clients and helpdesks write it (Ann Lee <ann@x.com>)
        address = f"regexp_matches({r}, '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$|<[^<>@\\s]+@[^<>@\\s]+\\.[^<>@\\s]+>\\s*$')"
        return [(f"{r} IS NOT NULL AND NOT {address}", "malformed email")]
    if check == "phone":
        digits = f"length(regexp_replace({r}, '[^0-9]', '', 'g'))"
        cond = f"{r} IS NOT NULL AND ({digits} NOT BETWEEN 6 AND 15 OR regexp_matches({r}, '[A-Za-z]'))"
        return [(cond, "malformed phone")]
    if check == "status":
        allowed = ", ".join(sorted(set(status_map.values())))
        reason = f"unknown status (allowed: {allowed}; map other values under `values: status:` in sources.yml)"
        return [(f"{r} IS NOT NULL AND {p} IS NULL", reason)]
    return []


def status_map(f: SourceFile) -> dict[str, str]:
    """Lower-cased status spelling -> canonical status, the file's ``values: status:`` over the synonyms."""
    m = dict(STATUS_SYNONYMS)
    m.update({k.strip().lower(): v for k, v in f.values.get("status", {}).items()})
    return m


ADJUSTMENT_REASON = (
    "adjustment, not a sale: an order numbered with `adjustment_prefix`, or not a credit note and with a line of "
    "negative unit price (a bad-debt write-off) or only negative quantities at no value (a stock write-off); left "
    "out of revenue, its lines kept in order_lines"
)


def find_problems(
    con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile], status_maps: dict[int, dict[str, str]]
) -> list[str]:
    """Fill temp table ``_cx_problems`` from ``_cx_parsed``; return the optional columns a check can null (the
    rows to null are those the table records with action ``nulled``)."""
    bind = Params()
    key_expr = record_key_expr(t)
    unions = []
    nulled_cols: list[str] = []
    # the files read day and month in different orders: the hint's words (from the first file) may not fit a row
    mixed = len({(f.dayfirst, f.monthfirst) for f in files}) > 1
    for c in t.columns:
        for cond, reason in column_checks(t, c.name, files[0], status_maps[0]):
            if c.dtype in ("timestamp", "date") and mixed and (SLASH_HINT in reason or "-first, as `" in reason):
                reason = "cannot read as a date"
            if t.name == "orders" and c.name == "amount" and reason == "negative value" and any(f.lines for f in files):
                reason = ADJUSTMENT_REASON
            action = "quarantined" if c.required else "nulled"
            if not c.required and c.name not in nulled_cols:
                nulled_cols.append(c.name)
            unions.append(
                f'SELECT _file, _row, {key_expr} AS record_key, {literal(c.name)} AS "column", '
                f"{ident('_r_' + c.name)} AS value, {bind(reason)} AS reason, {literal(action)} AS action, "
                "CAST(NULL AS VARCHAR) AS raw_row "
                f"FROM _cx_parsed WHERE {cond}"
            )
    conv = files[0].conversion if t.name == "orders" else None
    if conv is not None:  # an amount in a currency without a rate cannot be counted in the workspace's currency
        unions.append(
            f"SELECT _file, _row, {key_expr}, 'currency', _r_currency, {bind(conv.reason())}, 'quarantined', "
            f"CAST(NULL AS VARCHAR) FROM _cx_parsed WHERE {conv.unknown_sql('_r_currency')}"
        )
    if t.name == "enrichment":
        unions.append(
            "SELECT _file, _row, NULL, 'email_sha256', NULL, 'no key: needs email_sha256 or postcode', "
            "'quarantined', CAST(NULL AS VARCHAR) FROM _cx_parsed WHERE _r_email_sha256 IS NULL AND _r_postcode IS NULL"
        )
    with unordered(con):  # in order, DuckDB ran the checks' scans one after another (reads order the rows)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_problems AS {' UNION ALL '.join(unions)}", bind.values)
    return nulled_cols


def record_key_expr(t: Table) -> str:
    """The key of a staged row as text (``record_key`` in the quarantine table)."""
    key_cols = [k for k in t.key if k != "source"]
    if not key_cols:
        return "NULL"
    return " || '/' || ".join(f"COALESCE({ident('_r_' + k)}, '')" for k in key_cols)


def find_duplicates(con: duckdb.DuckDBPyConnection, t: Table) -> None:
    """Add to ``_cx_problems`` the duplicate keys among the rows that survive the checks.

    The most recent copy is kept (ties: by content, not order). Only the rows whose key occurs more than
    once are ranked: a hash aggregate on the keys' hash finds them, so the window (a sort, and a hash of
    each row's text) runs over the duplicates alone, not over every row.
    """
    key_expr = record_key_expr(t)
    key_cols = [k for k in t.key if k != "source"]
    order_col = ident("_p_" + t.time_column) if t.time_column else "NULL"
    keys = [f"COALESCE({ident('_r_' + k)}, '') AS {ident('_k_' + k)}" for k in t.key]
    key_names = ", ".join(ident("_k_" + k) for k in t.key)
    raw_cols = ", ".join(ident("_r_" + c) for c in t.names)
    reason = "duplicate key: another row has the same " + ", ".join(t.key) + "; the most recent copy was kept"
    with unordered(con):  # the duplicates are few; written as they come
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE _cx_dups AS
            WITH kept AS NOT MATERIALIZED (  -- read twice, never copied: it holds every column
                SELECT p.*, {", ".join(keys)} FROM _cx_parsed p
                ANTI JOIN (SELECT DISTINCT _file, _row FROM _cx_problems WHERE action = 'quarantined') q
                ON q._file = p._file AND q._row = p._row
            ), twice AS (  -- grouped by the keys' hash (8 bytes, not the strings); a collision only adds candidates
                SELECT hash({key_names}) AS _h FROM kept GROUP BY _h HAVING count(*) > 1
            )
            SELECT _file, _row, {key_expr} AS record_key, {literal(key_cols[0] if key_cols else "key")} AS "column",
                   {key_expr} || ' (kept: row ' || kept_row || ' of ' || kept_file || ')' AS value,
                   {literal(reason)} AS reason,
                   'quarantined' AS action, CAST(NULL AS VARCHAR) AS raw_row
            FROM (
                SELECT *, row_number() OVER w AS rn, first_value(_row) OVER w AS kept_row,
                       first_value(_file) OVER w AS kept_file
                FROM kept SEMI JOIN twice ON hash({key_names}) = twice._h
                WINDOW w AS (PARTITION BY {key_names} ORDER BY {order_col} DESC NULLS LAST,
                             md5(concat_ws('|', {raw_cols})), _file, _row)
            ) WHERE rn > 1""")
        con.execute("INSERT INTO _cx_problems SELECT * FROM _cx_dups")


def attach_raw_rows(con: duckdb.DuckDBPyConnection, raws: list[tuple[str, SourceFile]]) -> None:
    """Store the whole original row, as JSON, for quarantined rows only (never every row: tens of millions)."""
    for raw, f in raws:
        held = "SELECT 1 FROM _cx_problems WHERE _file = $file AND action = 'quarantined' LIMIT 1"
        if con.execute(held, {"file": f.label}).fetchone() is None:  # nothing to attach: no pass over the file
            continue
        con.execute(
            f"""
            UPDATE _cx_problems SET raw_row = r.j
            FROM (SELECT x._row, to_json(x) AS j FROM {ident(raw)} x WHERE x._row IN (
                  SELECT _row FROM _cx_problems WHERE _file = $file AND action = 'quarantined')) r
            WHERE _cx_problems._file = $file AND _cx_problems.action = 'quarantined'
              AND _cx_problems._row = r._row""",
            {"file": f.label},
        )
