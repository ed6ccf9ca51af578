"""Loading a workspace: every table's files staged, parsed, checked and written, in one transaction.

:func:`load` writes ``workspace.duckdb``; :func:`validate` does the same work in memory and writes
nothing. Each table goes through named steps (:func:`_stage_files`, :func:`_stage_view`,
:func:`_parse_table`, the checks of :mod:`cxlib.io.checks`, :func:`_final_view`, :func:`_table_result`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb
import pandas as pd

from cxlib import lineage
from cxlib.io.checks import attach_raw_rows, find_duplicates, find_problems, status_map
from cxlib.io.extras import extra_expr, extra_plan
from cxlib.io.files import file_kind, text_of
from cxlib.io.ga4 import NUMERIC_COLUMNS as GA4_NUMBERS
from cxlib.io.ga4 import daily_days, ga4_files, read_ga4
from cxlib.io.inputs import fingerprint
from cxlib.io.keys import derived_key_expr, derived_keys, fill_defaults, identifier_notes, key_notes
from cxlib.io.lines import collapse_lines, line_mapping, stage_order_lines
from cxlib.io.money import Conversion, currencies_warning
from cxlib.io.numbers import convention_warnings
from cxlib.io.options import DERIVED_TABLES
from cxlib.io.outcome import LoadReport
from cxlib.io.parse import SQL_TYPES, parse_expr, text_expr
from cxlib.io.read import (
    check_timezone,
    drop_temporaries,
    map_columns,
    materialize,
    read_raw,
    scratch_folder,
    timezone_warnings,
    write_table,
)
from cxlib.io.sources import SourceFile, _norm, find_sources
from cxlib.io.sql import Params, ident, literal
from cxlib.io.typed import typed_columns, typed_text, typed_value
from cxlib.io.vocabulary import unknown_events
from cxlib.memory import duckdb_config, no_space, no_space_message
from cxlib.schema import QUARANTINE_COLUMNS, TABLES, DataError, Table

__all__ = ["DATABASE_NAME", "LoadReport", "has_workspace", "load", "validate"]

DATABASE_NAME = "workspace.duckdb"


def has_workspace(folder: str | Path) -> bool:
    """Whether ``folder`` holds a workspace (its :data:`DATABASE_NAME`): what a reader asks before opening it.

    >>> has_workspace("no/such/folder")
    False
    """
    return (Path(folder) / DATABASE_NAME).is_file()


# --- loading one table ------------------------------------------------------------------------------------------------


@dataclass
class _TableResult:
    table: str
    files: list[str]
    rows_in: int
    rows_loaded: int
    rows_quarantined: int
    values_nulled: int
    first_ts: object
    last_ts: object
    problems: pd.DataFrame
    warnings: list[str]


@dataclass
class _Part:
    """One file of a table once read: its index, its temp table, its column mapping and its other columns."""

    i: int
    f: SourceFile
    raw: str
    mapping: dict[str, str]
    extras: list[str]
    cols: list[str] = field(default_factory=list)
    derived: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    typed: list[str] = field(default_factory=list)


def _stage_files(
    con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile], scratch: Path | None = None
) -> tuple[list[_Part], list[dict], list[str]]:
    """Read every file of ``t``; return the parts, the unreadable lines as quarantine rows, and the extra columns."""
    parts, problems = [], []
    extra_cols: list[str] = []
    # a day's daily GA4 table replaces its intraday one in any entry of the table (two folders, two entries)
    daily = frozenset(d for f in files if f.format == "ga4" for d in daily_days(f))
    skipped: list[str] = []
    for i, f in enumerate(files):
        check_timezone(con, f)
        raw = f"_cx_raw{i}"
        if f.format == "ga4":  # the GA4 BigQuery export: its own reader, canonical columns out
            f = replace(f, ts_unit="us", ga4_daily=daily)
            if daily and not ga4_files(f, daily):
                skipped.append(f"{t.name}: {f.label}: every day of it is in the daily GA4 tables of another entry: "
                               "skipped")
                continue
            cols, rejects = read_ga4(con, f, raw, t.name, scratch), []
        else:
            cols, rejects = read_raw(con, f, raw, scratch)
        f, notes = fill_defaults(f, t, cols)
        mapping = map_columns(f, t, cols)
        derived = derived_keys(f, t, mapping)
        problems += [
            {
                "table_name": t.name,
                "source_file": f.label,
                "row": rj["row"],
                "record_key": None,
                "column": None,
                "value": rj["value"],
                "reason": rj["reason"],
                "action": "quarantined",
                "raw_row": rj["value"],
            }
            for rj in rejects
        ]
        extras = [c for c in cols if c not in mapping.values()]
        if f.lines:
            mapping = line_mapping(f, cols, mapping)
            cols, mapping, extras = collapse_lines(con, f, raw, mapping, extras, f"_cx_orders{i}", f"_cx_lines{i}")
            raw = f"_cx_orders{i}"
        extra_cols += [_norm(c) for c in extras if _norm(c) not in extra_cols and _norm(c) not in t.names]
        notes += key_notes(f, derived) + identifier_notes(f, t.name, mapping, cols)
        parts.append(_Part(i, f, raw, mapping, extras, cols, derived, notes))
    if not parts:
        raise ValueError("no files")
    parts[0].notes += skipped
    return parts, problems, extra_cols


def _stage_select(t: Table, part: _Part, extra_cols: list[str], final: dict[str, str], types: dict[str, str]) -> str:
    """One file's rows as text columns ``_r_<col>``, and its extra columns ``_x_<extra>`` typed as ``final``.

    This SQL becomes a view's text, where DuckDB cannot bind parameters: the file name, ``source`` and
    ``values`` maps are validated literals, column names checked identifiers.
    """
    f, mapping = part.f, part.mapping
    sel = [f"{literal(f.label)} AS _file", f"{part.i} AS _fi", "_row"]
    for c in t.names:
        if c in mapping:  # nested values as JSON text (types: the file's column types)
            expr = text_expr(text_of(ident(mapping[c]), types.get(mapping[c], "VARCHAR")))
        elif c == "source" and f.source:
            expr = literal(f.source)
        elif c in f.constants:
            expr = literal(f.constants[c])
        elif c in part.derived:
            expr = derived_key_expr(part.cols)
        else:
            expr = "NULL"
        if c == "source" and f.source and "source" in mapping:
            expr = f"COALESCE({expr}, {literal(f.source)})"
        if c in f.constants and c in mapping:
            expr = f"COALESCE({expr}, {literal(f.constants[c])})"
        values = f.values.get(c)
        if values and c != "status":  # matched as the status map is: case and surrounding spaces ignored
            folded = {}
            for a, b in values.items():
                folded.setdefault(str(a).strip().lower(), b)
            # a value mapped to nothing ('' or null: Zendesk's `offered`, a rating never given) is empty, as a blank
            # cell is -- not a value that fails to read as the column's type
            cases = " ".join(f"WHEN {literal(a)} THEN {literal(b) if b != '' else 'NULL'}" for a, b in folded.items())
            expr = f"CASE lower(trim(CAST({expr} AS VARCHAR))) {cases} ELSE {expr} END"
        if c in part.typed:  # taken as it is (``_t_<col>``): its text only where it is not (typed_value)
            expr = f"CASE WHEN {typed_value(t.column(c).dtype, ident(mapping[c]))[0]} THEN NULL ELSE {expr} END"
        sel.append(f"CAST({expr} AS VARCHAR) AS {ident('_r_' + c)}")
    for c in extra_cols:
        col = next((e for e in part.extras if _norm(e) == c), None)
        sel.append(f"{extra_expr(col, types.get(col) if col else None, final[c])} AS {ident('_x_' + c)}")
    sel += [f"{ident(mapping[c])} AS {ident('_t_' + c)}" for c in part.typed]
    return f"SELECT {', '.join(sel)} FROM {ident(part.raw)}"


def _stage_view(con: duckdb.DuckDBPyConnection, t: Table, parts: list[_Part], extra_cols: list[str]) -> None:
    """Temp view ``_cx_stage``: every file's rows under the canonical names (as text; extra columns typed)."""
    sniff = [GA4_NUMBERS if p.f.format == "ga4" else file_kind(p.f.path) == "csv" or p.f.lines for p in parts]
    final, types = extra_plan(con, [(p.raw, p.extras, s) for p, s in zip(parts, sniff, strict=True)])
    for p, ty in zip(parts, types, strict=True):
        p.typed = typed_columns(t, p.f, p.mapping, ty)
    selects = [_stage_select(t, part, extra_cols, final, ty) for part, ty in zip(parts, types, strict=True)]
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cx_stage AS {' UNION ALL BY NAME '.join(selects)}")


def _parse_table(
    con: duckdb.DuckDBPyConnection,
    t: Table,
    parts: list[_Part],
    status_maps: dict[int, dict[str, str]],
    scratch: Path | None = None,
) -> None:
    """Temp view ``_cx_parsed``: the staged rows plus each column parsed, ``_p_<col>`` (per-file rules bound).

    The rows are stored once (:func:`~cxlib.io.read.materialize`: a Parquet file in ``scratch``, else temp
    table ``_cx_parsed_t``); a text column's parsed value is its text, so the view names it twice rather than
    storing a second copy of every string.
    """
    bind = Params()
    parsed, aliases = [], []
    for c in t.columns:
        r = ident("_r_" + c.name)
        if c.check == "status":
            cases = " ".join(
                f"WHEN {literal(fi)} THEN (CASE lower(trim({r})) "
                + " ".join(f"WHEN {bind(a)} THEN {bind(b)}" for a, b in sm.items())
                + " END)"
                for fi, sm in status_maps.items()
            )
            expr = f"CASE CAST(_fi AS VARCHAR) {cases} END"
        elif c.dtype == "string":  # parse_expr of text is the text itself
            aliases.append(f"{r} AS {ident('_p_' + c.name)}")
            continue
        else:
            # the time zone and day-first rules are per file
            exprs = {p.i: parse_expr(r, c.dtype, p.f, bind) for p in parts}
            for p in parts:  # a typed value as it is, where its text would read back the same (typed_value)
                if c.name in p.typed:
                    ok, value = typed_value(c.dtype, ident("_t_" + c.name))
                    exprs[p.i] = f"CASE WHEN {ok} THEN {value} ELSE {exprs[p.i]} END"
            if len(set(exprs.values())) == 1:
                expr = next(iter(exprs.values()))
            else:
                expr = "CASE _fi " + " ".join(f"WHEN {fi} THEN {e}" for fi, e in exprs.items()) + " END"
        parsed.append(f"{expr} AS {ident('_p_' + c.name)}")
    typed = sorted({c for p in parts for c in p.typed})
    star = f"* EXCLUDE ({', '.join(ident('_t_' + c) for c in typed)})" if typed else "*"
    rows = materialize(con, "_cx_parsed_t", f"SELECT {', '.join([star, *parsed])} FROM _cx_stage", bind.values, scratch)
    # a typed value's text, only where a reader asks for it (a quarantine row's value, a key); the checks that
    # read every row read the stored text ``_s_<col>`` (null for a value taken as it is) and the parsed value
    full = [
        f"COALESCE({ident('_r_' + c)}, {typed_text(t.column(c).dtype, ident('_p_' + c))}) AS {ident('_r_' + c)}"
        for c in typed
    ]
    star = f"* REPLACE ({', '.join(full)})" if full else "*"
    stored = [f"{ident('_r_' + c.name)} AS {ident('_s_' + c.name)}" for c in t.columns if c.dtype != "string"]
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cx_parsed AS SELECT {', '.join([star, *aliases, *stored])} FROM {rows}")


KEEP_RAW: dict[str, tuple[str, ...]] = {"contacts": ("birth_date",)}
"""Columns whose raw text survives a failed parse as ``<column>_raw`` (unify compares a typo'd birth date)."""


def _final_view(
    con: duckdb.DuckDBPyConnection, t: Table, nulled: list[str], extra: list[str], conv: Conversion | None
) -> None:
    """Temp view ``_cx_final``: the clean rows, typed, bad optional values nulled, quarantined rows left out;
    with ``conv`` (orders) the amounts in the workspace's currency, the recorded ones beside them.

    A view: the workspace table is written from it once (:func:`~cxlib.io.read.write_table`). Which values to
    null and which rows to leave out are read from ``_cx_problems`` (the checks ran once, there: a malformed-email
    check read 26M e-mails again here at 1M customers), joined by file and row; ``nulled`` names the columns.
    """
    final_cols, recorded = [], []
    for c in t.columns:
        p = ident("_p_" + c.name)
        expr = f"CASE WHEN x.{ident('_n_' + c.name)} THEN NULL ELSE {p} END" if c.name in nulled else p
        if conv is not None and c.name in ("amount", "currency"):
            expr, kept = conv.column(c.name, expr, SQL_TYPES[c.dtype])
            recorded.append(kept)
        final_cols.append(f"CAST({expr} AS {SQL_TYPES[c.dtype]}) AS {ident(c.name)}")
        if c.name in KEEP_RAW.get(t.name, ()) and f"{c.name}_raw" not in extra:
            # evidence for matching: the text of a value that did not parse (or was nulled) is kept beside it
            final_cols.append(
                f"CASE WHEN ({expr}) IS NULL THEN nullif(trim({ident('_r_' + c.name)}), '') END "
                f"AS {ident(c.name + '_raw')}"
            )
    final_cols += [f"{ident('_x_' + c)} AS {ident(c)}" for c in extra]
    final_cols += [f"{sql} AS {ident(name)}" for name, sql in recorded if name not in extra]
    marks = "".join(
        f""", bool_or(action = 'nulled' AND "column" = {literal(c)}) AS {ident('_n_' + c)}""" for c in sorted(nulled)
    )
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _cx_final AS
        SELECT {", ".join(final_cols)} FROM _cx_parsed p
        LEFT JOIN (SELECT _file, _row, bool_or(action = 'quarantined') AS _q{marks}
                   FROM _cx_problems GROUP BY _file, _row) x
        ON x._file = p._file AND x._row = p._row
        WHERE x._q IS NOT TRUE""")


def _table_result(
    con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile], problems: list[dict], out: str
) -> _TableResult:
    """Count what went in, was loaded (into ``out``) and was quarantined (they must add up), and collect the
    problems."""
    rows_staged = con.execute("SELECT count(*) FROM _cx_parsed").fetchone()[0]
    rows_loaded = con.execute(f"SELECT count(*) FROM {out}").fetchone()[0]
    q = con.execute(
        'SELECT $table AS table_name, _file AS source_file, _row AS row, record_key, "column", '
        'value, reason, action, raw_row FROM _cx_problems '
        'ORDER BY _file, _row, "column", reason, action, value, record_key, raw_row',
        {"table": t.name},
    ).df()
    extra = pd.DataFrame(problems, columns=[c for c, _ in QUARANTINE_COLUMNS])
    q = pd.concat([df for df in (extra, q) if not df.empty], ignore_index=True) if len(extra) or len(q) else q
    quarantined_rows = q.loc[q["action"] == "quarantined", ["source_file", "row"]].drop_duplicates()
    rows_in = rows_staged + len(extra)
    if rows_in != rows_loaded + len(quarantined_rows):  # pragma: no cover - a bug, never bad data
        raise AssertionError(
            f"{t.name}: {rows_in} rows in but {rows_loaded} loaded + {len(quarantined_rows)} quarantined"
        )
    first_ts = last_ts = None
    if t.time_column:
        tc = ident(t.time_column)
        first_ts, last_ts = con.execute(f"SELECT min({tc}), max({tc}) FROM {out}").fetchone()
    nulled = int((q["action"] == "nulled").sum()) if len(q) else 0
    return _TableResult(
        t.name,
        [f.label for f in files],
        rows_in,
        rows_loaded,
        len(quarantined_rows),
        nulled,
        first_ts,
        last_ts,
        q,
        timezone_warnings(con, t, files),
    )


def _load_table(
    con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile], write: bool, scratch: Path | None = None
) -> tuple[_TableResult, str]:
    """Stage, parse and check every file of ``t``; write the clean rows to ``main.<table>`` when ``write``.

    Returns the result and the relation holding the clean rows: the written table (read back, counted
    once), else the temp view ``_cx_final``.
    """
    parts, problems, extra_cols = _stage_files(con, t, files, scratch)
    status_maps = {p.i: status_map(p.f) for p in parts}
    _stage_view(con, t, parts, extra_cols)
    _parse_table(con, t, parts, status_maps, scratch)
    nulled_cols = find_problems(con, t, [p.f for p in parts], status_maps)
    find_duplicates(con, t)
    attach_raw_rows(con, [(p.raw, p.f) for p in parts])
    _final_view(con, t, nulled_cols, extra_cols, parts[0].f.conversion if t.name == "orders" else None)
    out = "_cx_final"
    if write:
        out = f"main.{ident(t.name)}"
        write_table(con, out, "_cx_final")
    result = _table_result(con, t, [p.f for p in parts], problems, out)
    result.warnings = [n for p in parts for n in p.notes] + result.warnings
    result.warnings += convention_warnings(con, t, [p.f for p in parts])
    return result, out


def _order_lines(con: duckdb.DuckDBPyConnection, files: list[SourceFile], write: bool) -> list[_TableResult]:
    """The ``order_lines`` of the table's ``lines: true`` files, written when ``write`` (every line is kept)."""
    n = stage_order_lines(con, files)
    if n is None:
        return []
    if write:
        write_table(con, "main.order_lines", "_cx_order_lines")
    first, last = con.execute("SELECT min(ts), max(ts) FROM _cx_order_lines").fetchone()
    labels = [f.label for f in files if f.lines]
    return [_TableResult("order_lines", labels, n, n, 0, 0, first, last, pd.DataFrame(), [])]


def _group_sources(ws: Path) -> dict[str, list[SourceFile]]:
    by_table: dict[str, list[SourceFile]] = {}
    for s in find_sources(ws):
        by_table.setdefault(s.table, []).append(s)
    # GA4 purchases with a transaction id are orders too -- unless the shop's own orders are loaded (the system
    # of record: the same orders would count twice), or the entry says `orders:`
    shop_orders = bool(by_table.get("orders"))
    for s in by_table.get("events", []):
        if s.format == "ga4" and (s.orders if s.orders is not None else not shop_orders):
            by_table.setdefault("orders", []).append(replace(s, table="orders"))
    if not by_table:
        raise DataError(
            f"{ws}: no source files found; put files named after the tables "
            f"({', '.join(n + '.csv' for n in TABLES)}, or .parquet, .xlsx, .ndjson, ...) in the folder, or map "
            "yours in sources.yml (see docs/sources.md)"
        )
    return by_table


def _summary(results: list[_TableResult]) -> pd.DataFrame:
    summary = pd.DataFrame(
        [
            {
                "table_name": r.table,
                "files": ", ".join(r.files),
                "rows_in": r.rows_in,
                "rows_loaded": r.rows_loaded,
                "rows_quarantined": r.rows_quarantined,
                "values_nulled": r.values_nulled,
                "first_ts": r.first_ts,
                "last_ts": r.last_ts,
            }
            for r in results
        ]
    )
    for col in ("rows_in", "rows_loaded", "rows_quarantined", "values_nulled"):
        summary[col] = summary[col].astype("int64")
    return summary


def _quarantine(results: list[_TableResult]) -> pd.DataFrame:
    frames = [r.problems for r in results if len(r.problems)]
    quarantine = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame({c: pd.Series(dtype="string") for c, _ in QUARANTINE_COLUMNS})
    )
    quarantine["row"] = quarantine["row"].astype("int64")
    for c, _ in QUARANTINE_COLUMNS:  # text whatever it holds, so that an all-empty column is not typed a number
        if c != "row":
            quarantine[c] = quarantine[c].astype("string")
    return quarantine


def _write_logs(
    con: duckdb.DuckDBPyConnection, present: set[str], summary: pd.DataFrame, quarantine: pd.DataFrame
) -> None:
    """Drop the tables that have no file any more; write ``quarantine`` and ``load_log``."""
    for name in TABLES:
        if name not in present:
            con.execute(f"DROP TABLE IF EXISTS main.{ident(name)}")
    con.register("_cx_q", quarantine)
    con.execute("CREATE OR REPLACE TABLE main.quarantine AS SELECT * FROM _cx_q")
    con.unregister("_cx_q")
    con.register("_cx_s", summary)
    con.execute("CREATE OR REPLACE TABLE main.load_log AS SELECT *, now()::TIMESTAMP AS loaded_at FROM _cx_s")
    con.unregister("_cx_s")


def _run(
    workspace: str | Path, con: duckdb.DuckDBPyConnection, write: bool, progress: bool, scratch: Path | None = None
) -> LoadReport:
    ws = Path(workspace)
    by_table = _group_sources(ws)
    con.execute("SET TimeZone = 'UTC'")
    warnings = [f"no file for table {name}" for name in TABLES if name not in by_table and name not in DERIVED_TABLES]
    results = []
    items = list(by_table.items())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(items, desc="loading", unit="table")
    for name, files in bar if bar is not None else items:
        if bar is not None:
            bar.set_postfix_str(name)
        res, out = _load_table(con, TABLES[name], files, write, scratch)
        if name == "events":  # names no stage-map rule places: said, not silently counted as awareness
            sm = ws / "stage_map.yml"
            note = unknown_events(con, "events" if write else "_cx_final", sm if sm.exists() else None)
            warnings += [note] if note else []
        if name == "orders" and files[0].conversion is None:
            warnings += currencies_warning(con, "orders" if write else "_cx_final")
        lines = _order_lines(con, files, write)
        drop_temporaries(con, scratch)  # free the temporary copies before the next table
        results += [res, *lines]
        warnings += res.warnings
    summary, quarantine = _summary(results), _quarantine(results)
    if write:
        _write_logs(con, set(by_table) | {r.table for r in results}, summary, quarantine)
    limits = {
        name: max(f.max_quarantine for f in files if f.max_quarantine is not None)
        for name, files in by_table.items()
        if any(f.max_quarantine is not None for f in files)
    }
    return LoadReport(ws, summary, quarantine, warnings, limits)


def load(workspace: str | Path, *, progress: bool = False) -> LoadReport:
    """Validate the workspace's source files and load them into ``workspace/workspace.duckdb``.

    Writes one table per canonical table present, plus ``quarantine`` (every problem found, with the
    original values) and ``load_log`` (the summary). Re-running replaces them; raw files are not touched.

    Parameters
    ----------
    workspace : str or Path
        The workspace folder.
    progress : bool
        Show a progress bar over the tables.

    Returns
    -------
    LoadReport

    Raises
    ------
    DataError
        For structural problems, naming the file, the column and the fix.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ws = pathlib.Path(tempfile.mkdtemp())
    >>> csv = "source,response_id,ts,nps\\nsurvey,1,20240301,9\\nsurvey,2,2024-03-02,11\\n"
    >>> _ = (ws / "surveys.csv").write_text(csv)
    >>> r = load(ws)
    >>> int(r.summary.loc[0, "rows_loaded"]), r.quarantine[["column", "action"]].values.tolist()
    (2, [['nps', 'nulled']])
    """
    ws = Path(workspace)
    find_sources(ws)  # fail before creating a database in a wrong folder
    try:
        con = duckdb.connect(str(ws / DATABASE_NAME), config=duckdb_config())
    except duckdb.Error as e:
        raise DataError(
            f"{ws / DATABASE_NAME} cannot be opened ({str(e).splitlines()[0]}). It is derived from the "
            "source files: close other programs using it, or delete it and run `cx load` again"
        ) from None
    try:
        started = dt.datetime.now(dt.UTC)
        con.execute("BEGIN TRANSACTION")
        read = fingerprint(ws)  # the files as the load reads them (a change during it makes it stale)
        with scratch_folder(con) as scratch:
            report = _run(ws, con, write=True, progress=progress, scratch=scratch)
        lineage.record_on_connection(con, "load", started, [*report.summary["table_name"], "quarantine", "load_log"],
                                     read)
        con.execute("COMMIT")
    except BaseException as e:
        with contextlib.suppress(duckdb.Error):  # a failed commit has no transaction left to roll back
            con.execute("ROLLBACK")
        if no_space(e):
            raise DataError(no_space_message(ws, "load")) from None
        raise
    finally:
        con.close()
    return report


def validate(workspace: str | Path) -> LoadReport:
    """Check the workspace's source files as :func:`load` would, without writing anything.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ws = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (ws / "contacts.csv").write_text("source,record_id,phone\\ncrm,1,n/a\\n")
    >>> validate(ws).quarantine[["column", "reason", "action"]].values.tolist()
    [['phone', 'malformed phone', 'nulled']]
    """
    con = duckdb.connect(config=duckdb_config())
    try:
        return _run(Path(workspace), con, write=False, progress=False)
    finally:
        con.close()
