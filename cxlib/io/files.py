"""Files other than CSV and Parquet: Excel workbooks, JSON and NDJSON; and ``files:`` patterns.

* ``.xlsx`` (and ``.xlsm``): the first sheet, or the one named by ``sheet:``, read with calamine (a compiled
  reader, about 20 times faster than openpyxl). The first non-empty row holds the column names; each column
  keeps the type of its cells (whole numbers are integers, other numbers floats, dates, booleans; a column of
  mixed cells is text). Cells formatted as dates are timestamps. ``_row`` is the row's number in the sheet
  minus one, so quarantined rows can be found in Excel. Wholly empty rows and columns are skipped.
* ``.json``, ``.ndjson``, ``.jsonl`` (each also gzipped, ``.json.gz``): an array of objects or one object
  per line, read by the engine's JSON reader. Numbers stay numbers, nested objects stay structs and
  arrays lists; text stays text (dates written as text are left for the loader's rules, never guessed
  here). A line that is not valid JSON is a :class:`cxlib.DataError` naming the file and the line.
* ``files: exports/orders_*.csv`` in ``sources.yml``: a pattern matched inside the workspace folder
  (:func:`glob_files`); every file it matches is one entry with the same options.

Examples
--------
>>> import tempfile, pathlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> for n in ("orders_2024.csv", "orders_2023.csv", "notes.txt"):
...     _ = (ws / n).write_text("x\\n")
>>> glob_files(ws, "orders_*.csv", "sources.yml: tables.orders")
['orders_2023.csv', 'orders_2024.csv']
>>> file_kind(pathlib.Path("a/events.jsonl.gz")), file_kind(pathlib.Path("Orders.XLSX"))
('json', 'xlsx')
"""

from __future__ import annotations

import datetime as dt
import glob
import gzip
import json
import os
import zlib
from collections.abc import Callable
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa

from cxlib.io.jsondepth import MAX_NESTING, one_per_line, too_deep
from cxlib.io.pasted import repeats_names
from cxlib.io.sql import Params, glob_escaped, ident
from cxlib.io.workbook import check_sheet, check_unpacked
from cxlib.schema import DataError

if TYPE_CHECKING:
    from cxlib.io.sources import SourceFile

__all__ = [
    "JSON_SUFFIXES",
    "XLSX_SUFFIXES",
    "file_kind",
    "glob_files",
    "read_json_file",
    "refuse_deep_json",
    "read_xlsx",
    "sheet_head",
    "text_of",
]

XLSX_SUFFIXES = (".xlsx", ".xlsm")
JSON_SUFFIXES = (".json", ".ndjson", ".jsonl")
_NDJSON = (".ndjson", ".jsonl")
#: The largest JSON object (one row) the reader accepts, as for a CSV line.
MAX_OBJECT_BYTES = 128 << 20

#: SQL after ``SELECT *`` of a file's rows: a column of the file called ``_row`` (Fivetran's Google Sheets
#: connector writes one) is kept as ``_row_1``, as a repeated name is; ``_row`` is the loader's row number. (A
#: file's ``_row`` broke every reader: a CSV's was a binder error, a sheet's an Arrow one, and a Parquet or JSON
#: file's numbered its rows, so a quarantined row took out every row of the same number.)
KEEP_ROW = "RENAME (_row AS _row_1)"
#: A date format no value has: the JSON reader then leaves text as text (the loader reads dates itself).
_NO_DATES = "cx-text-not-a-date %Y"


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return name[: -len(".gz")].rsplit(".", 1)[-1] if name.endswith(".gz") else path.suffix.lower().lstrip(".")


def file_kind(path: Path) -> str:
    """How a file is read, from its name: ``parquet``, ``xlsx``, ``json`` or ``csv`` (any other name)."""
    s = "." + _suffix(path)
    if s == ".parquet":
        return "parquet"
    if s in XLSX_SUFFIXES and not path.name.lower().endswith(".gz"):
        return "xlsx"
    if s in JSON_SUFFIXES:
        return "json"
    return "csv"


# --- files: patterns -------------------------------------------------------------------------------------------------


def glob_files(ws: Path, pattern: str, where: str) -> list[str]:
    """The files inside ``ws`` that ``pattern`` matches (``*``, ``?``, ``[ab]``, ``**``), sorted, as paths in it.

    A pattern that is absolute, has a ``..`` part, or matches nothing is a DataError; so is a match that
    leads out of the folder through a link.
    """
    norm = pattern.replace("\\", "/")
    if os.path.isabs(norm) or PureWindowsPath(pattern).drive or ".." in norm.split("/"):
        raise DataError(
            f"{where}: option `files` must be a pattern inside the workspace folder, without `..` or an absolute "
            f"path ({pattern!r:.80}); copy the files into the folder and give their pattern there"
        )
    root = ws.resolve()
    found = []
    for rel in sorted(glob.glob(norm, root_dir=ws, recursive=True)):
        p = ws / rel
        if not p.is_file():
            continue
        if not p.resolve().is_relative_to(root):
            raise DataError(f"{where}: {rel!r:.80} (matched by option `files`) links outside the workspace folder")
        found.append(Path(rel).as_posix())
    if not found:
        raise DataError(
            f"{where}: no file in the workspace folder matches option `files` ({pattern!r:.80}); check the pattern "
            "(`*` matches within a folder, `**/` any folders; the pattern is relative to the workspace folder)"
        )
    return found


# --- Excel ------------------------------------------------------------------------------------------------------------


def _sheet_index(wb: object, f: SourceFile) -> int:
    """The position of the worksheet ``f.sheet`` names (a name, else a 1-based position), or 0: the first."""
    names = list(wb.sheet_names)  # type: ignore[attr-defined]
    if not names:
        raise DataError(f"{f.label}: the workbook has no sheet; save it again from Excel")
    if f.sheet is None:
        return 0
    if f.sheet in names:
        return names.index(f.sheet)
    if f.sheet.isdigit() and 1 <= int(f.sheet) <= len(names):
        return int(f.sheet) - 1
    raise DataError(
        f"{f.label}: the workbook has no sheet {f.sheet!r:.60} (option `sheet`); its sheets are "
        f"{', '.join(repr(n) for n in names[:20])}"
    )


def _header(row: list) -> list[str]:
    """Column names from the first row: empty ones are ``column<n>``, repeated ones get ``_1``, ``_2``, …"""
    out: list[str] = []
    for i, v in enumerate(row):
        name = f"column{i + 1}" if v is None or str(v).strip() == "" else _cell_text(v)
        base, n = name, 0
        while name in out:
            n += 1
            name = f"{base}_{n}"
        out.append(name)
    return out


def _cell_text(v: object) -> str | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return str(int(v))  # the reader gives every number as a float: 536365, not 536365.0
    if isinstance(v, (dt.datetime, dt.date, dt.time)):
        return v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v.isoformat()
    return str(v)


def _column(values: list) -> pa.Array:
    """One sheet column as an Arrow array of the type its cells share; text when they do not share one."""
    kinds = {type(v) for v in values if v is not None}
    if kinds == {bool}:
        return pa.array(values, pa.bool_())
    if kinds and kinds <= {int, float}:
        if all(v is None or (float(v).is_integer() and abs(v) < 2**53) for v in values):
            return pa.array([None if v is None else int(v) for v in values], pa.int64())
        return pa.array([None if v is None else float(v) for v in values], pa.float64())
    if kinds and kinds <= {dt.datetime, dt.date}:
        return pa.array(
            [v if v is None or isinstance(v, dt.datetime) else dt.datetime(v.year, v.month, v.day) for v in values],
            pa.timestamp("us"),
        )
    return pa.array([_cell_text(v) for v in values], pa.string())


def _read_workbook(path: Path, label: str, read: Callable[[object], object]) -> object:
    """``read(workbook)`` of the workbook at ``path`` (read with calamine, closed after); a damaged, encrypted
    or foreign file is a :class:`DataError` naming ``label``."""
    from python_calamine import CalamineWorkbook  # imported here: only workbooks need it

    check_unpacked(path, label)  # calamine reads every shared string on opening: a zip bomb ends the process
    try:
        wb = CalamineWorkbook.from_path(str(path))
        try:
            return read(wb)
        finally:
            wb.close()
    except DataError:
        raise
    except Exception as e:  # the reader raises its own error types for a damaged, encrypted or foreign file
        cause = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
        raise DataError(
            f"{label}: cannot be read as an Excel workbook ({cause}); open it in Excel and save it again as "
            ".xlsx (without a password), or export the sheet as CSV"
        ) from None


def sheet_names(path: Path) -> list[str]:
    """The names of the sheets of workbook ``path``, in their order.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "not-a-workbook.xlsx"
    >>> _ = p.write_text("a,b")
    >>> sheet_names(p)
    Traceback (most recent call last):
    ...
    cxlib.schema.DataError: not-a-workbook.xlsx: cannot be read as an Excel workbook ...
    """
    return list(_read_workbook(path, path.name, lambda wb: wb.sheet_names))  # type: ignore[attr-defined]


def _sheet_rows(f: SourceFile) -> list[list]:
    """The sheet's cells from A1 (empty cells None), read with calamine."""

    def read(wb: object) -> list:
        i = _sheet_index(wb, f)
        check_sheet(f.path, f.label, i)  # before calamine makes the grid: a stray far cell asks it for GBs
        return wb.get_sheet_by_index(i).to_python(skip_empty_area=False)  # type: ignore[attr-defined]

    rows = _read_workbook(f.path, f.label, read)
    return [[None if v == "" else v for v in row] for row in rows]  # type: ignore[attr-defined]


def _xlsx_table(f: SourceFile) -> tuple[pa.Table, list[int]]:
    """The sheet's data rows (``_row``: the row in the sheet - 1), and the rows left out that repeat the column
    names (sheets pasted together: :func:`cxlib.io.pasted.repeats_names`), so that the columns keep their types."""
    rows = _sheet_rows(f)
    # the column names: the first row with a value, below the ``skip_lines`` rows of a report's title
    first = next((i for i, r in enumerate(rows) if i >= f.skip_lines and any(v is not None for v in r)), None)
    if first is None:
        raise DataError(
            f"{f.label}: the sheet{f' {f.sheet!r}' if f.sheet else ''} is empty; put the column names in its "
            "first row and the data below"
        )
    names = _header(rows[first])
    head = [_cell_text(v) for v in rows[first]]
    data, numbers, again = [], [], []
    for i in range(first + 1, len(rows)):
        if any(v is not None for v in rows[i]):
            if i - first >= f.header_rows and _repeats_header(rows[i], head):
                again.append(i)
                continue
            data.append(rows[i] + [None] * (len(names) - len(rows[i])))
            numbers.append(i)  # its row in the sheet (i + 1) minus one
    columns = [list(c) for c in zip(*data, strict=True)] if data else [[] for _ in names]
    keep = [j for j, n in enumerate(names) if rows[first][j] is not None or any(v is not None for v in columns[j])]
    arrays = [_column(columns[j]) for j in keep]
    kept = ["_row_1" if names[j] == "_row" else names[j] for j in keep]  # the file's own _row: as KEEP_ROW says
    table = pa.table([*arrays, pa.array(numbers, pa.int64())], names=[*kept, "_row"])
    return table, again


def _repeats_header(row: list, head: list[str | None]) -> bool:
    """Whether a sheet's row repeats its header ``head`` (:func:`cxlib.io.pasted.repeats_names`); the first cell
    alone is read as text for the rows that do not (nearly all)."""
    if not row or head[0] is None or _cell_text(row[0]) != head[0]:
        return False
    return repeats_names([_cell_text(v) for v in row], head)


def sheet_head(f: SourceFile, lines: int) -> list[list[str]]:
    """The first ``lines`` rows of workbook ``f``'s sheet, each its non-empty cells as text."""
    return [[str(v) for v in row if v is not None] for row in _sheet_rows(f)[:lines]]


def read_xlsx(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str) -> list[int]:
    """Read a sheet of workbook ``f`` into temp table ``name`` with a ``_row`` column (its row in the sheet - 1);
    returns the rows left out because they repeat the column names (sheets pasted together)."""
    table, again = _xlsx_table(f)
    view = f"{name}_arrow"
    con.register(view, table)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM {ident(view)}")
    finally:
        con.unregister(view)
    return again


# --- JSON -------------------------------------------------------------------------------------------------------------


#: How deep the engine looks into a JSON value for its type; deeper parts stay JSON text.
MAX_JSON_DEPTH = 10


def _json_format(f: SourceFile) -> str:
    """How the reader is told to read ``f``: one object per line for ``.ndjson``/``.jsonl`` and for a ``.json``
    whose first line is a whole object (:func:`~cxlib.io.jsondepth.one_per_line`), else ``auto`` (an array, or
    one document over many lines). Decided here, so that the depth scan reads the file as the reader will."""
    lines = "." + _suffix(f.path) in _NDJSON or one_per_line(f.path)
    return "newline_delimited" if lines else "auto"


def _json_sql(f: SourceFile, name: str, scan_all: bool, fmt: str, limit: int | None = None) -> tuple[str, dict]:
    p = Params()
    opts = [
        f"format={p(fmt)}",
        f"maximum_object_size={MAX_OBJECT_BYTES}",
        f"dateformat={p(_NO_DATES)}",
        f"timestampformat={p(_NO_DATES)}",
        # deeper values are JSON text (they are kept as text anyway): a line nested 1,000 deep took the
        # engine's type detection over a minute, 2,000 deep past two (20,000 deep: under a second with this)
        f"maximum_depth={MAX_JSON_DEPTH}",
    ]
    if f.path.name.lower().endswith(".gz"):  # said, not guessed from a (glob-escaped) name
        opts.append("compression='gzip'")
    if scan_all:
        opts.append("sample_size=-1")
    sql = (
        f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * {KEEP_ROW} FROM "
        f"read_json({p(glob_escaped(str(f.path)))}, {', '.join(opts)})"
    )
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, p.values


def read_json_file(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, limit: int | None = None) -> None:
    """Read JSON or NDJSON file ``f`` into temp table ``name`` (typed columns; the caller numbers the rows);
    only its first ``limit`` rows when given (``cx sources``)."""
    fmt = _json_format(f)
    refuse_deep_json(f.label, f.path, lines=fmt == "newline_delimited")
    error: duckdb.Error | None = None
    for scan_all in (False, True):  # types guessed from the first rows, else from every row
        sql, values = _json_sql(f, name, scan_all, fmt, limit)
        try:
            con.execute(sql, values)
            return
        except duckdb.Error as e:
            error = e
    raise _json_error(f, error)


def refuse_deep_json(label: str, path: Path, lines: bool) -> None:
    """Raise a :class:`DataError` naming the line if the JSON at ``path`` nests deeper than the engine can read
    (:mod:`cxlib.io.jsondepth`: DuckDB's reader crashes the process on such a line, it does not fail)."""
    line = too_deep(path, lines=lines)
    if line is not None:
        raise DataError(
            f"{label}: cannot be read as JSON (line {line}: a value nested too deep to read, more than "
            f"{MAX_NESTING:,} levels); fix or remove that line, or export the file again"
        )


def _json_error(f: SourceFile, error: Exception | None) -> DataError:
    where = _bad_json(f)
    if where is None:
        head = str(error).splitlines()[0] if error else "unreadable"
        where = head.replace(str(f.path), f.label)[:300]
    return DataError(
        f"{f.label}: cannot be read as JSON ({where}); fix or remove that part, or export the file again as an "
        "array of objects or one JSON object per line (.ndjson)"
    )


def _bad_json(f: SourceFile) -> str | None:
    """``line N: cause`` for the first invalid JSON in ``f`` (one object per line, or one document), else None."""
    try:
        gz = f.path.name.lower().endswith(".gz")
        with (gzip.open(f.path, "rt", encoding="utf-8") if gz else open(f.path, encoding="utf-8")) as fh:  # noqa: SIM115
            text = fh.read()
    except (OSError, EOFError, zlib.error, UnicodeDecodeError) as e:
        return f"the file cannot be read: {str(e)[:120]}"
    try:
        json.loads(text)
        return None
    except RecursionError:
        return "a value nested too deep to read (thousands of levels)"
    except json.JSONDecodeError as whole:
        document = whole
    first = next((i for i, line in enumerate(text.splitlines(), 1) if line.strip()), None)
    if text.lstrip().startswith("["):
        return f"line {document.lineno}: {document.msg}"
    for i, line in enumerate(text.splitlines(), 1):
        if line.strip():
            try:
                json.loads(line)
            except RecursionError:
                return f"line {i}: a value nested too deep to read (thousands of levels)"
            except json.JSONDecodeError as e:
                if i == first and document.msg != "Extra data":
                    return f"line {document.lineno}: {document.msg}"
                return f"line {i}: {e.msg}"
    return None


def text_of(col: str, dtype: str) -> str:
    """SQL: column ``col`` (of engine type ``dtype``) as text; nested values as JSON text, never a repr;
    whole numbers stored as floats without ``.0``.

    >>> text_of('"b"', "STRUCT(x BIGINT)"), text_of('"a"', "JSON"), text_of('"c"', "BIGINT")
    ('CAST(to_json("b") AS VARCHAR)', 'json_extract_string("a", \\'$\\')', '"c"')
    """
    if dtype in ("DOUBLE", "FLOAT"):  # 17850.0 (a customer id in a spreadsheet) is 17850
        return (
            f"CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e15 THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) "
            f"ELSE CAST({col} AS VARCHAR) END"
        )
    if dtype == "JSON":
        return f"json_extract_string({col}, '$')"
    if dtype.startswith(("STRUCT", "MAP", "UNION")) or dtype.endswith("]"):
        return f"CAST(to_json({col}) AS VARCHAR)"
    return col
