"""Read a workspace's source files, validate them and load them into ``workspace.duckdb``.

A workspace is a folder. It holds the user's source files -- named after the canonical
tables (``contacts.csv``, ``events.parquet``, ...) or mapped onto them by a
``sources.yml`` -- and the ``workspace.duckdb`` that :func:`load` builds from them.
Raw files are never modified.

Validation runs inside DuckDB, so it scales to tens of millions of rows:

* **Structural problems** (a file that cannot be read, is empty, is not a table, lacks a
  required column, has the wrong encoding) raise :class:`cxlib.DataError` naming the file,
  the column and the fix.
* **Row-level problems** never drop rows silently. A row that cannot be used (no key, an
  unparseable required field, a duplicate key, a negative amount, an unknown status) goes
  to the ``quarantine`` table with its file, row number, column, original value and
  reason. A bad value in an optional field (an impossible birth date, a malformed phone)
  is set to null, the row is kept, and the original value is logged in the same table.
  For every table: rows in = rows loaded + rows quarantined.

Accepted rather than rejected: ISO dates and timestamps, ``YYYYMMDD``, ``dd/mm/yyyy``
when ``dayfirst: true`` is configured, offsets (converted to UTC), thousands separators
and currency symbols in amounts, common spellings of order statuses, column names in any
case or spacing (``First Name`` is ``first_name``).

Examples
--------
>>> import tempfile, pathlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> _ = (ws / "orders.csv").write_text(
...     "source,order_id,ts,amount,status\\n"
...     "shop,1,2024-03-01 10:00,\\"1,250.00\\",Shipped\\n"
...     "shop,2,2024-03-02 11:00,-5,completed\\n")
>>> report = load(ws)
>>> report.summary[["table_name", "rows_in", "rows_loaded", "rows_quarantined"]].to_dict("records")
[{'table_name': 'orders', 'rows_in': 2, 'rows_loaded': 1, 'rows_quarantined': 1}]
>>> report.quarantine["reason"].tolist()
['negative value']
"""

from __future__ import annotations

import codecs
import difflib
import gzip
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd
import yaml

from cxlib.schema import QUARANTINE_COLUMNS, STATUS_SYNONYMS, TABLES, DataError, Table

__all__ = ["DATABASE_NAME", "LoadReport", "SourceFile", "find_sources", "load", "validate"]

DATABASE_NAME = "workspace.duckdb"
_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet")
_NULL_TOKENS = ("", "nan", "NaN", "NULL", "null", "None", "NaT")
_FIRST_PLAUSIBLE = "1990-01-01"


@dataclass
class SourceFile:
    """One file to load into a canonical table, with how to read it.

    ``columns`` maps canonical column names to the file's column names; ``source`` gives a
    constant ``source`` when the file has no such column; ``values`` maps a column's values
    (``{"status": {"Shipped": "completed"}}``).
    """

    table: str
    path: Path
    columns: dict[str, str] = field(default_factory=dict)
    source: str | None = None
    dayfirst: bool = False
    timezone: str = "UTC"
    encoding: str | None = None
    delimiter: str | None = None
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.path.name


@dataclass
class LoadReport:
    """What :func:`load` or :func:`validate` found.

    Attributes
    ----------
    summary : DataFrame
        One row per table: ``table_name, files, rows_in, rows_loaded, rows_quarantined,
        values_nulled, first_ts, last_ts``.
    quarantine : DataFrame
        One row per problem (see ``docs/data-model.md``).
    warnings : list of str
        Things worth knowing that lose no data (mixed time zones, tables with no file).
    """

    workspace: Path
    summary: pd.DataFrame
    quarantine: pd.DataFrame
    warnings: list[str]

    def reasons(self) -> pd.DataFrame:
        """Problems counted by table, column, reason and action."""
        q = self.quarantine
        if q.empty:
            return pd.DataFrame(columns=["table_name", "column", "reason", "action", "rows"])
        return (
            q.groupby(["table_name", "column", "reason", "action"], dropna=False)
            .size()
            .rename("rows")
            .reset_index()
            .sort_values(["table_name", "rows"], ascending=[True, False], ignore_index=True)
        )

    def __str__(self) -> str:
        s = self.summary
        lines = [f"workspace {self.workspace}"]
        if not s.empty:
            lines.append(s.to_string(index=False))
            lines.append(f"date range: {s['first_ts'].min()} .. {s['last_ts'].max()}")
        r = self.reasons()
        if not r.empty:
            lines.append("\nproblems found (rows quarantined or values set to null; see the quarantine table):")
            lines.append(r.to_string(index=False))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --- finding the files ----------------------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def find_sources(workspace: str | Path) -> list[SourceFile]:
    """The files a workspace holds for each canonical table.

    With a ``sources.yml`` in the folder, its mapping is used (see ``docs/sources.md``);
    otherwise files named after the tables (``contacts.csv``, ``events.parquet``, ...).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ws = pathlib.Path(tempfile.mkdtemp()); _ = (ws / "contacts.csv").write_text("source,record_id\\n")
    >>> [(f.table, f.label) for f in find_sources(ws)]
    [('contacts', 'contacts.csv')]
    """
    ws = Path(workspace)
    if not ws.is_dir():
        raise DataError(
            f"workspace folder {ws} does not exist; create it or generate one with `cx generate --out {ws}`"
        )
    cfg_path = ws / "sources.yml"
    if cfg_path.exists():
        return _from_config(ws, cfg_path)
    files = []
    for name in TABLES:
        for suffix in _SUFFIXES:
            p = ws / f"{name}{suffix}"
            if p.exists():
                files.append(SourceFile(name, p, delimiter="\t" if suffix == ".tsv" else None))
    return files


def _from_config(ws: Path, cfg_path: Path) -> list[SourceFile]:
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"sources.yml is not valid YAML: {e}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("tables", {}), dict):
        raise DataError("sources.yml must be a mapping with a `tables:` mapping; see docs/sources.md for an example")
    defaults = {k: cfg[k] for k in ("dayfirst", "timezone", "encoding", "delimiter") if k in cfg}
    out = []
    for table, entries in (cfg.get("tables") or {}).items():
        if table not in TABLES:
            close = difflib.get_close_matches(str(table), TABLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"sources.yml: unknown table {table!r}{hint}; tables are {', '.join(TABLES)}")
        for e in entries if isinstance(entries, list) else [entries]:
            if isinstance(e, str):
                e = {"file": e}
            if not isinstance(e, dict) or "file" not in e:
                raise DataError(f"sources.yml: each entry under tables.{table} needs `file:`")
            opts = {**defaults, **e}
            unknown = set(opts) - {
                "file",
                "columns",
                "source",
                "dayfirst",
                "timezone",
                "encoding",
                "delimiter",
                "values",
            }
            if unknown:
                raise DataError(f"sources.yml: tables.{table}: unknown option(s) {', '.join(sorted(unknown))}")
            columns = {str(k): str(v) for k, v in (opts.get("columns") or {}).items()}
            bad = [c for c in columns if c not in TABLES[table].names]
            if bad and table != "enrichment":
                raise DataError(
                    f"sources.yml: tables.{table}.columns maps {', '.join(bad)}, which "
                    f"{'is not a column' if len(bad) == 1 else 'are not columns'} of {table}; "
                    f"columns are {', '.join(TABLES[table].names)}"
                )
            out.append(
                SourceFile(
                    table,
                    ws / str(opts["file"]),
                    columns,
                    opts.get("source"),
                    bool(opts.get("dayfirst", False)),
                    str(opts.get("timezone", "UTC")),
                    opts.get("encoding"),
                    opts.get("delimiter"),
                    {str(k): {str(a): str(b) for a, b in v.items()} for k, v in (opts.get("values") or {}).items()},
                )
            )
    return out


# --- reading one file into a text staging table ------------------------------------------------------------------


def _check_text(f: SourceFile) -> None:
    """Raise DataError for binary files and files that are not valid in their encoding."""
    encoding = f.encoding or "utf-8"
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise DataError(f"{f.label}: unknown encoding {encoding!r} in sources.yml") from None
    opener = gzip.open if f.path.suffix == ".gz" else open
    with opener(f.path, "rb") as fh:
        first = True
        while chunk := fh.read(1 << 20):
            if first and b"\x00" in chunk[:8192] and not encoding.startswith("utf-16"):
                raise DataError(
                    f"{f.label}: this is not a text table (it contains binary data); export the "
                    f"{f.table} table as CSV or Parquet"
                )
            first = False
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as e:
                raise DataError(
                    f"{f.label}: the file is not valid {encoding} (byte {e.start} of a block: {e.reason}); "
                    f"export it as UTF-8, or declare its encoding in sources.yml, e.g. `encoding: latin-1`"
                ) from None


def _read_raw(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str) -> tuple[list[str], list[dict]]:
    """Read ``f`` as text columns into table ``name`` with a ``_row`` column; return its columns and rejects."""
    if not f.path.exists():
        raise DataError(f"{f.label}: file not found at {f.path}; fix the `file:` entry in sources.yml")
    if f.path.stat().st_size == 0:
        raise DataError(
            f"{f.label}: the file is empty (0 bytes); export the {f.table} table again with a header row, "
            f"or remove the file"
        )
    path = str(f.path).replace("'", "''")
    rejects: list[dict] = []
    if f.path.suffix == ".parquet":
        # a view, not a copy: Parquet is already columnar, and a copy of a 70M-row events file costs gigabytes
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * EXCLUDE (file_row_number), "
                f"CAST(file_row_number + 1 AS BIGINT) AS _row FROM read_parquet('{path}', file_row_number=true)"
            )
            con.execute(f"SELECT count(*) FROM {name}").fetchone()
        except duckdb.Error as e:
            raise DataError(
                f"{f.label}: cannot be read as Parquet ({str(e).splitlines()[0]}); export the table again, or as CSV"
            ) from None
    else:
        _check_text(f)
        opts = [
            "all_varchar=true",
            "header=true",
            "store_rejects=true",
            "rejects_table='_cx_rej'",
            "rejects_scan='_cx_rej_scan'",
        ]
        if f.encoding and f.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
            opts.append(f"encoding='{f.encoding}'")
        if f.delimiter:
            opts.append(f"delim='{f.delimiter}'")
        try:
            con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM read_csv('{path}', {', '.join(opts)})")
        except duckdb.Error as e:
            raise DataError(
                f"{f.label}: cannot be read as a CSV table ({str(e).splitlines()[0]}); check that it is "
                "a delimited text file with a header row (set `delimiter:` in sources.yml if needed)"
            ) from None
        rej = con.execute(
            "SELECT DISTINCT line, csv_line, error_type, error_message FROM _cx_rej ORDER BY line"
        ).fetchall()
        rejects = [{"row": int(r[0]) - 1, "value": r[1], "reason": f"unreadable line: {r[3]}"} for r in rej]
        if rejects:
            # _row must count the rejected lines too, so that row numbers match the file
            con.execute(
                "CREATE OR REPLACE TEMP TABLE _cx_rejrows AS SELECT "
                "row_number() OVER (ORDER BY line) AS k, line - 1 AS r FROM (SELECT DISTINCT line FROM _cx_rej)"
            )
            _number_rows(con, name, "g")
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT s.* EXCLUDE (g), g + (SELECT count(*) "
                f"FROM _cx_rejrows WHERE r - k < g) AS _row FROM {name} s"
            )
        else:
            _number_rows(con, name)
    cols = [r[0] for r in con.execute(f"DESCRIBE {name}").fetchall() if r[0] != "_row"]
    return cols, rejects


def _duckdb_config() -> dict[str, str]:
    from cxlib.engine import duckdb_config  # engine imports io: import here

    return duckdb_config()


def _drop_temporaries(con: duckdb.DuckDBPyConnection) -> None:
    """Drop the loader's temporary views and tables (``_cx_*``) so that the next table starts clean."""
    for kind, col, fn in (("VIEW", "view_name", "duckdb_views"), ("TABLE", "table_name", "duckdb_tables")):
        names = con.execute(f"SELECT {col} FROM {fn}() WHERE temporary AND starts_with({col}, '_cx_')").fetchall()
        for (name,) in names:
            con.execute(f"DROP {kind} IF EXISTS {name}")


def _number_rows(con: duckdb.DuckDBPyConnection, name: str, col: str = "_row") -> None:
    """Add the 1-based position of each row in its file (insertion order; temp-table rowids start high)."""
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT *, "
        f"CAST(rowid - (SELECT min(rowid) FROM {name}) + 1 AS BIGINT) AS {col} FROM {name}"
    )


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(s: str) -> str:
    return "'" + str(s).replace("'", "''") + "'"


def _map_columns(f: SourceFile, t: Table, cols: list[str]) -> dict[str, str]:
    """Canonical column -> the file's column. Raises DataError for missing required columns."""
    by_norm = {_norm(c): c for c in cols}
    mapping: dict[str, str] = {}
    for canon, theirs in f.columns.items():
        if theirs not in cols:
            raise DataError(
                f"{f.label}: sources.yml maps {t.name}.{canon} to column {theirs!r}, which the file "
                f"does not have; its columns are {', '.join(cols)}"
            )
        mapping[canon] = theirs
    for c in t.names:
        if c not in mapping and _norm(c) in by_norm and by_norm[_norm(c)] not in mapping.values():
            mapping[c] = by_norm[_norm(c)]
    missing = [c for c in t.required if c not in mapping and not (c == "source" and f.source)]
    if missing:
        hints = []
        for c in missing:
            close = difflib.get_close_matches(_norm(c), list(by_norm), n=1, cutoff=0.6)
            hints.append(f"'{c}'" + (f" (is it {by_norm[close[0]]!r}?)" if close else ""))
        fix = (
            "add `source: <system name>` for this file in sources.yml"
            if missing == ["source"]
            else f"rename the column in the file, or map it in sources.yml under tables: {t.name}: columns: "
            f"{missing[0]}: <your column name>"
        )
        shape = f"the file has {len(cols)} column{'s' if len(cols) != 1 else ''}: {', '.join(cols[:12])}"
        if not mapping:
            shape += (
                f" -- none is a column of {t.name}, so this does not look like a delimited {t.name} table "
                "(check the file and its delimiter: set `delimiter:` in sources.yml if it is not a comma)"
            )
        raise DataError(
            f"{f.label}: required column{'s' if len(missing) > 1 else ''} {', '.join(hints)} of table "
            f"{t.name} {'are' if len(missing) > 1 else 'is'} missing; {shape}. Fix: {fix}"
        )
    if t.name == "enrichment" and not ({"email_sha256", "postcode"} & set(mapping)):
        raise DataError(
            f"{f.label}: enrichment needs a key column, email_sha256 or postcode; the file has "
            f"{', '.join(cols[:12])}. Fix: rename a column or map it in sources.yml"
        )
    return mapping


# --- per-column parsing and checks, as SQL --------------------------------------------------------------------------

_OFFSET_RE = r"(Z|z|[+-]\d\d:?\d\d|[+-]\d\d)$"


def _text(raw: str) -> str:
    tokens = ", ".join(_lit(t) for t in _NULL_TOKENS)
    return f"CASE WHEN trim(CAST({raw} AS VARCHAR)) IN ({tokens}) THEN NULL ELSE trim(CAST({raw} AS VARCHAR)) END"


def _ts_expr(v: str, f: SourceFile) -> str:
    fmts = ["%Y%m%d", "%Y%m%d%H%M%S", "%Y%m%d %H%M%S"]
    if f.dayfirst:
        fmts += ["%d/%m/%Y", "%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d.%m.%Y", "%d.%m.%Y %H:%M", "%d-%m-%Y"]
    naive = (
        f"COALESCE(TRY_CAST(TRY_CAST({v} AS TIMESTAMP) AS TIMESTAMP), "
        f"TRY_STRPTIME({v}, [{', '.join(_lit(x) for x in fmts)}]))"
    )
    if f.timezone and f.timezone.upper() != "UTC":
        naive = f"CAST(timezone({_lit(f.timezone)}, {naive}) AS TIMESTAMP)"
    return (
        f"CASE WHEN regexp_matches({v}, {_lit(_OFFSET_RE)}) THEN CAST(TRY_CAST({v} AS TIMESTAMPTZ) AS TIMESTAMP) "
        f"ELSE {naive} END"
    )


def _parse(col: str, dtype: str, f: SourceFile) -> str:
    v = col
    if dtype == "string":
        return v
    if dtype == "timestamp":
        return _ts_expr(v, f)
    if dtype == "date":
        return f"CAST({_ts_expr(v, f)} AS DATE)"
    if dtype in ("float", "int"):
        # thousands separators only where they are one (1,249.00); a decimal comma (1.234,50) is not guessed
        bare = f"regexp_replace({v}, '[£$€\\s]', '', 'g')"
        num = (
            f"CASE WHEN NOT contains({bare}, ',') OR regexp_matches({bare}, '^-?\\d{{1,3}}(,\\d{{3}})+(\\.\\d+)?$') "
            f"THEN TRY_CAST(replace({bare}, ',', '') AS DOUBLE) END"
        )
        num = f"CASE WHEN isfinite({num}) THEN {num} END"
        return num if dtype == "float" else f"CASE WHEN {num} = round({num}) THEN CAST({num} AS BIGINT) END"
    if dtype == "bool":
        return (
            f"CASE WHEN lower({v}) IN ('true','t','yes','y','1') THEN TRUE "
            f"WHEN lower({v}) IN ('false','f','no','n','0') THEN FALSE END"
        )
    raise ValueError(dtype)


_TYPE_WORD = {
    "timestamp": "a timestamp",
    "date": "a date",
    "float": "a number",
    "int": "a whole number",
    "bool": "true/false",
}


def _checks(t: Table, col: str, f: SourceFile, status_map: dict[str, str]) -> list[tuple[str, str]]:
    """(condition on raw ``r`` and parsed ``p``, reason) pairs flagging a bad value of ``col``."""
    c = t.column(col)
    r, p = f"_r_{col}", f"_p_{col}"
    out: list[tuple[str, str]] = []
    if c.required:
        out.append((f"{r} IS NULL", "required value missing"))
    if c.dtype != "string" and c.check != "status":
        hint = ""
        if c.dtype in ("timestamp", "date") and not f.dayfirst:
            hint = " (dates like 31/12/2024 need `dayfirst: true` in sources.yml)"
        out.append((f"{r} IS NOT NULL AND {p} IS NULL", f"cannot read as {_TYPE_WORD[c.dtype]}{hint}"))
    check = c.check
    if check == "past":
        out.append((f"{p} > now()::TIMESTAMP + INTERVAL 1 DAY", "date in the future"))
        out.append((f"{p} < TIMESTAMP '{_FIRST_PLAUSIBLE}'", f"implausible date (before {_FIRST_PLAUSIBLE})"))
    elif check == "birth_date":
        out.append((f"{p} > current_date OR {p} < DATE '1900-01-01'", "impossible birth date"))
    elif check == "nonnegative":
        out.append((f"{p} < 0", "negative value"))
    elif check == "nps":
        out.append((f"{p} NOT BETWEEN 0 AND 10", "NPS outside 0-10"))
    elif check == "csat":
        out.append((f"{p} NOT BETWEEN 1 AND 5", "CSAT outside 1-5"))
    elif check == "email":
        out.append(
            (f"{r} IS NOT NULL AND NOT regexp_matches({r}, '^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$')", "malformed email")
        )
    elif check == "phone":
        digits = f"length(regexp_replace({r}, '[^0-9]', '', 'g'))"
        out.append(
            (
                f"{r} IS NOT NULL AND ({digits} NOT BETWEEN 6 AND 15 OR regexp_matches({r}, '[A-Za-z]'))",
                "malformed phone",
            )
        )
    elif check == "status":
        allowed = ", ".join(sorted(set(status_map.values())))
        out.append(
            (
                f"{r} IS NOT NULL AND {p} IS NULL",
                f"unknown status (allowed: {allowed}; map other values under `values: status:` in sources.yml)",
            )
        )
    return out


def _status_map(f: SourceFile) -> dict[str, str]:
    m = dict(STATUS_SYNONYMS)
    m.update({k.strip().lower(): v for k, v in f.values.get("status", {}).items()})
    return m


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


def _load_table(con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile]) -> _TableResult:
    """Stage, parse and check every file of ``t``; leave the clean rows in temp table ``_cx_final``."""
    parts, problems, warnings = [], [], []
    extra_cols: list[str] = []
    for i, f in enumerate(files):
        raw = f"_cx_raw{i}"
        cols, rejects = _read_raw(con, f, raw)
        mapping = _map_columns(f, t, cols)
        for rj in rejects:
            problems.append(
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
            )
        extras = [c for c in cols if c not in mapping.values()]
        extra_cols += [_norm(c) for c in extras if _norm(c) not in extra_cols and _norm(c) not in t.names]
        parts.append((i, f, raw, mapping, extras))
    if not parts:
        raise ValueError("no files")
    status_maps = {}
    selects = []
    for i, f, raw, mapping, extras in parts:
        status_maps[i] = _status_map(f)
        sel = [f"{_lit(f.label)} AS _file", f"{i} AS _fi", "_row"]
        for c in t.names:
            if c in mapping:
                expr = _text(_q(mapping[c]))
            elif c == "source" and f.source:
                expr = _lit(f.source)
            else:
                expr = "NULL"
            if c == "source" and f.source and "source" in mapping:
                expr = f"COALESCE({expr}, {_lit(f.source)})"
            selects_expr = expr
            values = f.values.get(c)
            if values and c != "status":
                cases = " ".join(f"WHEN {selects_expr} = {_lit(a)} THEN {_lit(b)}" for a, b in values.items())
                selects_expr = f"CASE {cases} ELSE {selects_expr} END"
            sel.append(f"CAST({selects_expr} AS VARCHAR) AS {_q('_r_' + c)}")
        for c in extra_cols:
            match = [e for e in extras if _norm(e) == c]
            sel.append(
                f"CAST({_text(_q(match[0]))} AS VARCHAR) AS {_q('_x_' + c)}"
                if match
                else f"CAST(NULL AS VARCHAR) AS {_q('_x_' + c)}"
            )
        selects.append(f"SELECT {', '.join(sel)} FROM {raw}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW _cx_stage AS {' UNION ALL BY NAME '.join(selects)}")

    # parse
    parsed = []
    for c in t.columns:
        r = _q("_r_" + c.name)
        if c.check == "status":
            cases = " ".join(
                f"WHEN {_lit(fi)} THEN (CASE lower({r}) "
                + " ".join(f"WHEN {_lit(a)} THEN {_lit(b)}" for a, b in sm.items())
                + " END)"
                for fi, sm in status_maps.items()
            )
            expr = f"CASE CAST(_fi AS VARCHAR) {cases} END"
        else:
            # the time zone and day-first rules are per file
            exprs = {fi: _parse(r, c.dtype, f) for fi, f, *_ in parts}
            if len(set(exprs.values())) == 1:
                expr = next(iter(exprs.values()))
            else:
                expr = "CASE _fi " + " ".join(f"WHEN {fi} THEN {e}" for fi, e in exprs.items()) + " END"
        parsed.append(f"{expr} AS {_q('_p_' + c.name)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_parsed AS SELECT *, {', '.join(parsed)} FROM _cx_stage")

    # checks: one flag per (column, reason)
    key_cols = [k for k in t.key if k != "source"]
    key_expr = (" || '/' || ".join(f"COALESCE({_q('_r_' + k)}, '')" for k in key_cols)) if key_cols else "NULL"
    unions = []
    nulled_cols: dict[str, list[str]] = {}
    fref = parts[0][1]
    for c in t.columns:
        for cond, reason in _checks(t, c.name, fref, status_maps[0]):
            if c.dtype in ("timestamp", "date") and "cannot read" in reason:
                reason = reason if not any(f.dayfirst for _, f, *_ in parts) else "cannot read as a date"
            action = "quarantined" if c.required else "nulled"
            if not c.required:
                nulled_cols.setdefault(c.name, []).append(f"COALESCE({cond}, FALSE)")
            unions.append(
                f'SELECT _file, _row, {key_expr} AS record_key, {_lit(c.name)} AS "column", '
                f"{_q('_r_' + c.name)} AS value, {_lit(reason)} AS reason, {_lit(action)} AS action, "
                "CAST(NULL AS VARCHAR) AS raw_row "
                f"FROM _cx_parsed WHERE {cond}"
            )
    if t.name == "enrichment":
        unions.append(
            "SELECT _file, _row, NULL, 'email_sha256', NULL, 'no key: needs email_sha256 or postcode', "
            "'quarantined', CAST(NULL AS VARCHAR) FROM _cx_parsed WHERE _r_email_sha256 IS NULL AND _r_postcode IS NULL"
        )
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_problems AS {' UNION ALL '.join(unions)}")

    # duplicates among the rows that survive the checks: keep the most recent copy (ties: by content, not order)
    order_col = _q("_p_" + t.time_column) if t.time_column else "NULL"
    keys = ", ".join(f"COALESCE({_q('_r_' + k)}, '')" for k in t.key)
    raw_cols = ", ".join(_q("_r_" + c) for c in t.names)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE _cx_dups AS
        SELECT _file, _row, {key_expr} AS record_key, {_lit(key_cols[0] if key_cols else "key")} AS "column",
               {key_expr} || ' (kept: row ' || kept_row || ' of ' || kept_file || ')' AS value,
               {_lit("duplicate key: another row has the same " + ", ".join(t.key) + "; the most recent copy was kept")}
               AS reason,
               'quarantined' AS action, CAST(NULL AS VARCHAR) AS raw_row
        FROM (
            SELECT *, row_number() OVER w AS rn, first_value(_row) OVER w AS kept_row,
                   first_value(_file) OVER w AS kept_file
            FROM _cx_parsed p
            WHERE NOT EXISTS (SELECT 1 FROM _cx_problems q WHERE q._file = p._file AND q._row = p._row
                              AND q.action = 'quarantined')
            WINDOW w AS (PARTITION BY {keys} ORDER BY {order_col} DESC NULLS LAST, md5(concat_ws('|', {raw_cols})),
                         _file, _row)
        ) WHERE rn > 1""")
    con.execute("INSERT INTO _cx_problems SELECT * FROM _cx_dups")
    # the whole original row, as JSON, for quarantined rows only (never for every row: tens of millions)
    for _i, f, raw, *_rest in parts:
        con.execute(f"""
            UPDATE _cx_problems SET raw_row = r.j
            FROM (SELECT x._row, to_json(x) AS j FROM {raw} x WHERE x._row IN (
                  SELECT _row FROM _cx_problems WHERE _file = {_lit(f.label)} AND action = 'quarantined')) r
            WHERE _cx_problems._file = {_lit(f.label)} AND _cx_problems.action = 'quarantined'
              AND _cx_problems._row = r._row""")

    # the clean table
    sql_types = {
        "string": "VARCHAR",
        "timestamp": "TIMESTAMP",
        "date": "DATE",
        "float": "DOUBLE",
        "int": "BIGINT",
        "bool": "BOOLEAN",
    }
    final_cols = []
    for c in t.columns:
        p = _q("_p_" + c.name)
        bad = nulled_cols.get(c.name)
        expr = f"CASE WHEN NOT ({' OR '.join(bad)}) OR {p} IS NULL THEN {p} END" if bad else p
        final_cols.append(f"CAST({expr} AS {sql_types[c.dtype]}) AS {_q(c.name)}")
    final_cols += [f"{_q('_x_' + c)} AS {_q(c)}" for c in extra_cols]
    # a view: the workspace table is written from it once, sorted by the key (unique after the duplicate check,
    # so the order never depends on the input's)
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW _cx_final AS
        SELECT {", ".join(final_cols)} FROM _cx_parsed p
        WHERE NOT EXISTS (SELECT 1 FROM _cx_problems q WHERE q._file = p._file AND q._row = p._row
                          AND q.action = 'quarantined')""")

    # counts and warnings
    rows_staged = con.execute("SELECT count(*) FROM _cx_stage").fetchone()[0]
    rows_loaded = con.execute("SELECT count(*) FROM _cx_final").fetchone()[0]
    q = con.execute(
        f'SELECT {_lit(t.name)} AS table_name, _file AS source_file, _row AS row, record_key, "column", '
        'value, reason, action, raw_row FROM _cx_problems ORDER BY _file, _row, "column", reason'
    ).df()
    extra = pd.DataFrame(problems, columns=[c for c, _ in QUARANTINE_COLUMNS])
    q = pd.concat([df for df in (extra, q) if not df.empty], ignore_index=True) if len(extra) or len(q) else q
    quarantined_rows = q.loc[q["action"] == "quarantined", ["source_file", "row"]].drop_duplicates()
    rows_in = rows_staged + len(extra)
    if rows_in != rows_loaded + len(quarantined_rows):  # pragma: no cover - a bug, never bad data
        raise AssertionError(
            f"{t.name}: {rows_in} rows in but {rows_loaded} loaded + {len(quarantined_rows)} quarantined"
        )
    for c in t.columns:
        if c.dtype != "timestamp":
            continue
        r = _q("_r_" + c.name)
        with_off, without = con.execute(
            f"SELECT count(*) FILTER (WHERE regexp_matches({r}, {_lit(_OFFSET_RE)})), "
            f"count(*) FILTER (WHERE {r} IS NOT NULL AND NOT regexp_matches({r}, {_lit(_OFFSET_RE)})) "
            "FROM _cx_stage"
        ).fetchone()
        if with_off and without:
            tz = ", ".join(sorted({f.timezone for _, f, *_ in parts}))
            warnings.append(
                f"{t.name}.{c.name}: mixed time zones: {with_off:,} values carry a UTC offset and "
                f"{without:,} do not; those without were read as {tz} (set `timezone:` in sources.yml "
                "if they are local time)"
            )
    first_ts = last_ts = None
    if t.time_column:
        first_ts, last_ts = con.execute(
            f"SELECT min({_q(t.time_column)}), max({_q(t.time_column)}) FROM _cx_final"
        ).fetchone()
    nulled = int((q["action"] == "nulled").sum()) if len(q) else 0
    return _TableResult(
        t.name,
        [f.label for _, f, *_ in parts],
        rows_in,
        rows_loaded,
        len(quarantined_rows),
        nulled,
        first_ts,
        last_ts,
        q,
        warnings,
    )


def _run(workspace: str | Path, con: duckdb.DuckDBPyConnection, write: bool, progress: bool) -> LoadReport:
    ws = Path(workspace)
    sources = find_sources(ws)
    con.execute("SET TimeZone = 'UTC'")
    by_table: dict[str, list[SourceFile]] = {}
    for s in sources:
        by_table.setdefault(s.table, []).append(s)
    warnings = [f"no file for table {name}" for name in TABLES if name not in by_table]
    if not by_table:
        raise DataError(
            f"{ws}: no source files found; put files named after the tables "
            f"({', '.join(n + '.csv' for n in TABLES)}, or .parquet) in the folder, or map yours in "
            "sources.yml (see docs/sources.md)"
        )
    results = []
    items = list(by_table.items())
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(items, desc="loading", unit="table")
        items_iter = bar
    else:
        items_iter = items
    for name, files in items_iter:
        if bar is not None:
            bar.set_postfix_str(name)
        res = _load_table(con, TABLES[name], files)
        if write:
            order = ", ".join(_q(k) for k in TABLES[name].key)
            con.execute(f"CREATE OR REPLACE TABLE main.{name} AS SELECT * FROM _cx_final ORDER BY {order}")
        _drop_temporaries(con)  # free the temporary copies before the next table
        results.append(res)
        warnings += res.warnings
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
    if write:
        for name in TABLES:
            if name not in by_table:
                con.execute(f"DROP TABLE IF EXISTS main.{name}")
        con.register("_cx_q", quarantine)
        con.execute("CREATE OR REPLACE TABLE main.quarantine AS SELECT * FROM _cx_q")
        con.unregister("_cx_q")
        con.register("_cx_s", summary)
        con.execute("CREATE OR REPLACE TABLE main.load_log AS SELECT *, now()::TIMESTAMP AS loaded_at FROM _cx_s")
        con.unregister("_cx_s")
    return LoadReport(ws, summary, quarantine, warnings)


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
        con = duckdb.connect(str(ws / DATABASE_NAME), config=_duckdb_config())
    except duckdb.Error as e:
        raise DataError(
            f"{ws / DATABASE_NAME} cannot be opened ({str(e).splitlines()[0]}). It is derived from the "
            "source files: close other programs using it, or delete it and run `cx load` again"
        ) from None
    try:
        con.execute("BEGIN TRANSACTION")
        report = _run(ws, con, write=True, progress=progress)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
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
    con = duckdb.connect(config=_duckdb_config())
    try:
        return _run(Path(workspace), con, write=False, progress=False)
    finally:
        con.close()
