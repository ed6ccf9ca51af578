"""Reading one source file into a temporary table with a ``_row`` column (its line in the file).

CSV is read as text; Parquet, Excel and JSON keep their types (:mod:`cxlib.io.files`).

The file's path and the reader's options (``delimiter``, ``encoding``) reach ``read_csv`` as bound
parameters; a Parquet file is read through a view, whose text holds its path as a validated literal.
Column names are checked identifiers; a name with a control character is a :class:`DataError`.
"""

from __future__ import annotations

import contextlib
import difflib
import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import duckdb

from cxlib.io.files import KEEP_ROW, file_kind, read_json_file, read_xlsx, sheet_head
from cxlib.io.keys import DERIVABLE_KEYS
from cxlib.io.parse import OFFSET_RE
from cxlib.io.pasted import pasted_rejects, repeated_headers
from cxlib.io.quoting import name_an_open_quote, quoted_options
from cxlib.io.sources import SourceFile, _norm
from cxlib.io.sql import Params, control_character, glob_escaped, ident, literal
from cxlib.io.text import excel_separator, head_lines, readable, reader_error
from cxlib.memory import no_space
from cxlib.schema import DataError, Table

__all__ = [
    "check_timezone",
    "drop_temporaries",
    "map_columns",
    "materialize",
    "read_raw",
    "timezone_warnings",
    "write_scratch",
    "write_table",
]


def check_text(f: SourceFile) -> None:
    """Raise DataError for binary files, damaged gzip files and files that are not valid in their encoding."""
    with readable(f):
        pass


def check_timezone(con: duckdb.DuckDBPyConnection, f: SourceFile) -> None:
    """Raise DataError naming the file when its ``timezone:`` is not one the engine knows."""
    if not f.timezone or f.timezone.upper() == "UTC":
        return
    try:
        con.execute("SELECT timezone($tz, TIMESTAMP '2000-01-01') IS NOT NULL", {"tz": f.timezone}).fetchone()
    except duckdb.Error as e:
        close = re.findall(r'"([^"]+)"', str(e).split("Candidate time zones:", 1)[-1]) if "Candidate" in str(e) else []
        hint = f" (did you mean {', '.join(close[:3])}?)" if close else ""
        raise DataError(
            f"{f.label}: unknown time zone {f.timezone!r:.60} in sources.yml (option `timezone`){hint}; "
            "use a name like Europe/London or UTC"
        ) from None


def read_raw(
    con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, scratch: Path | None = None
) -> tuple[list[str], list[dict]]:
    """Read ``f`` as text columns into table ``name`` with a ``_row`` column; return its columns and rejects.

    With a ``scratch`` folder (``cx load``) a delimited file's rows are a compressed Parquet copy there and
    ``name`` a view over it (a temporary table spills uncompressed: gigabytes for a large export).

    With ``header_rows`` over 1 (or a CSV's header line repeated inside its rows) the rows are in ``<name>_all``
    and ``name`` is a view of its data rows (:func:`_data_rows`), whatever the reader (one way for CSV and Excel,
    with or without a scratch copy).
    """
    if control_character(str(f.path)):
        raise DataError(f"{f.label!r}: the file name contains a control character; rename the file (option `file`)")
    if not f.path.exists():
        raise DataError(f"{f.label}: file not found at {f.path}; fix the `file:` entry in sources.yml")
    if f.path.stat().st_size == 0:
        raise DataError(
            f"{f.label}: the file is empty (0 bytes); export the {f.table} table again with a header row, "
            f"or remove the file"
        )
    kind = file_kind(f.path)
    if f.header_rows > 1 and kind not in ("csv", "xlsx"):
        raise DataError(f"{f.label}: option `header_rows` is for CSV and Excel files; remove it for this file")
    if f.skip_lines and kind not in ("csv", "xlsx"):
        raise DataError(f"{f.label}: option `skip_lines` is for CSV and Excel files; remove it for this file")
    target = name if f.header_rows == 1 else f"{name}_all"
    rejects: list[dict] = []
    again: list[int] = []  # exports pasted together: the header line again inside the rows
    if kind == "parquet":
        _read_parquet(con, f, target)
    elif kind == "xlsx":
        again = read_xlsx(con, f, target)  # left out as the sheet is read: its columns keep their types
    elif kind == "json":
        read_json_file(con, f, target)
        number_rows(con, target)
    else:
        blanks: list[int] = []  # empty lines: the reader passes over them, the row numbers must not
        with readable(f, blanks) as path:
            rejects = _read_csv(con, f, target, path, scratch, blanks)
    cols = [r[0] for r in con.execute(f"DESCRIBE {ident(target)}").fetchall() if r[0] != "_row"]
    for i, c in enumerate(cols):
        bad = control_character(c)
        if bad:
            raise DataError(
                f"{f.label}: the name of column {i + 1} contains a control character ({bad}); "
                "rename the column in the file"
            )
    if kind == "csv":
        again = repeated_headers(con, target, cols, f.header_rows)
        if again and target == name:  # the rows, read as they are, move under <name>_all for the view below
            target = _renamed(con, name, f"{name}_all")
    if target != name:
        rejects = _data_rows(con, f, target, name, rejects, again, cols)
    elif again:  # a sheet's: already left out of its rows
        rejects += pasted_rejects(again, cols)
    return cols, rejects


def _renamed(con: duckdb.DuckDBPyConnection, name: str, new: str) -> str:
    """Temporary table or view ``name`` renamed ``new`` (a reader leaves either); returns ``new``."""
    kind = con.execute(
        "SELECT table_type FROM information_schema.tables WHERE table_catalog = 'temp' AND table_name = ?", [name]
    ).fetchone()
    con.execute(f"ALTER {'VIEW' if kind and kind[0] == 'VIEW' else 'TABLE'} {ident(name)} RENAME TO {ident(new)}")
    return new


def _data_rows(
    con: duckdb.DuckDBPyConnection,
    f: SourceFile,
    rows: str,
    name: str,
    rejects: list[dict],
    again: list[int],
    cols: list[str],
) -> list[dict]:
    """View ``name``: the rows of ``rows`` but the lines that are not data, which keep their numbers in the file:
    the lines under the column names that belong to the header (``header_rows: 3``: Qualtrics' question texts
    and ImportId row; their unreadable lines left out of ``rejects``) and the lines ``again`` that repeat the
    column names (:func:`cxlib.io.pasted.repeated_headers`; added to ``rejects``). ``header_rows`` is a checked
    whole number and ``again`` integers the engine returned (a view's text cannot hold a parameter)."""
    first = int(f.header_rows)
    rejects = [r for r in rejects if r["row"] >= first]
    where = f"_row >= {first}" + (f" AND _row NOT IN ({', '.join(str(int(r)) for r in again)})" if again else "")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * FROM {ident(rows)} WHERE {where}")
    return rejects + pasted_rejects(again, cols)


def _read_parquet(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str) -> None:
    # a view, not a copy: Parquet is already columnar, and a copy of a 70M-row events file costs gigabytes.
    # A view's text cannot hold a bound parameter: the path is a validated literal.
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT * EXCLUDE (file_row_number) {KEEP_ROW}, "
            "CAST(file_row_number + 1 AS BIGINT) AS _row "
            f"FROM read_parquet({literal(glob_escaped(str(f.path)))}, file_row_number=true)"
        )
        con.execute(f"SELECT count(*) FROM {ident(name)}").fetchone()
    except duckdb.Error as e:
        raise DataError(
            f"{f.label}: cannot be read as Parquet ({str(e).splitlines()[0]}); export the table again, or as CSV"
        ) from None


#: The longest line (one row, all its fields) the reader accepts, in bytes, and its buffer (the reader's
#: default buffer is 16 lines: 2 GB for lines of 128 MB).
MAX_LINE_BYTES = 128 << 20
BUFFER_BYTES = 2 * MAX_LINE_BYTES
_CSV_OPTIONS = ("all_varchar=true", "header=true", "store_rejects=true", "rejects_table='_cx_rej'",
                "rejects_scan='_cx_rej_scan'")  # fmt: skip


def _read_csv(
    con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, path: Path, scratch: Path | None = None,
    blanks: Sequence[int] = (),
) -> list[dict]:
    """Read a delimited UTF-8 text file (options bound as parameters); return the unreadable lines. ``blanks``:
    the file's empty lines (:func:`~cxlib.io.text.blank_lines`), numbered past like unreadable ones. A first
    line ``sep=;`` (Excel's note of the delimiter, in exports made for it) is read as ``skip_lines: 1`` and
    that delimiter, unless sources.yml sets either."""
    declared = None if (f.skip_lines or f.delimiter) else excel_separator(f)
    if declared:
        f = replace(f, skip_lines=1, delimiter=declared)
    skip = int(f.skip_lines)
    copy, rej = _csv_attempt(con, f, name, path, scratch, lambda p: [])
    if rej and any('"' in (r[1] or "") for r in rej):  # quoted values the sniffer did not see: read as quoted
        names = [c[0] for c in con.execute(f"DESCRIBE SELECT * FROM {_relation(name, copy)}").fetchall()]
        head = head_lines(f, skip + 1)
        second = quoted_options(head[-1] if len(head) > skip else None, f.delimiter,
                                ["_row" if c == "_row_1" else c for c in names])  # fmt: skip
        if second is not None:
            rows = con.execute(f"SELECT count(*) FROM {_relation(name, copy)}").fetchone()[0]
            copy_2, rej_2 = _csv_attempt(con, f, name, path, scratch, second)
            rows_2 = con.execute(f"SELECT count(*) FROM {_relation(name, copy_2)}").fetchone()[0]
            old = [copy]
            # kept when it rejects no more and accounts for every line (an open quote swallows all up to the next)
            if len(rej_2) <= len(rej) and rows_2 + len(rej_2) >= rows + len(rej):
                copy, rej = copy_2, rej_2
            else:  # no better: the first reading again, with its own unreadable lines
                old.append(copy_2)
                copy, rej = _csv_attempt(con, f, name, path, scratch, lambda p: [])
            _ = [c.unlink(missing_ok=True) for c in old if c is not None]
    rejects = [{"row": int(r[0]) - 1 + skip, "value": r[1], "reason": f"unreadable line: {r[2]}"} for r in rej]
    if rejects and len(rejects) > con.execute(f"SELECT count(*) FROM {_relation(name, copy)}").fetchone()[0]:
        name_an_open_quote(path, rejects)
    # the lines that give no row: unreadable ones and empty ones (below the header), as the rejects number them;
    # a file of one column reads an empty line as a row (of one empty value)
    one = len(con.execute(f"DESCRIBE SELECT * FROM {_relation(name, copy)}").fetchall()) == 1  # (no _row yet)
    blank = [] if one else [b - skip for b in blanks if b - skip > 1]
    con.execute("CREATE OR REPLACE TEMP TABLE _cx_gone AS SELECT DISTINCT line FROM (SELECT line FROM _cx_rej "
                "UNION ALL SELECT unnest(CAST(? AS BIGINT[])) AS line)", [blank])
    gone = bool(rejects or blank)
    if copy is not None:
        _number_copy(con, name, copy, gone, skip)
        return rejects
    elif gone:
        # _row must count the rejected (and empty) lines too, so that row numbers match the file
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _cx_rejrows AS SELECT "
            "row_number() OVER (ORDER BY line) AS k, line - 1 AS r FROM _cx_gone"
        )
        number_rows(con, name, "g")
        t = ident(name)
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {t} AS SELECT s.* EXCLUDE (g), g + (SELECT count(*) "
            f"FROM _cx_rejrows WHERE r - k < g) + {skip} AS _row FROM {t} s"
        )
    else:
        number_rows(con, name, offset=skip)
    return rejects


def _csv_attempt(
    con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, path: Path, scratch: Path | None,
    more: Callable[[Params], list[str]],
) -> tuple[Path | None, list[tuple]]:
    """Read ``path`` into ``name`` (a scratch copy when ``scratch``) with the file's options and ``more(p)``;
    return the copy and its unreadable lines (``line, text, error``; ``_cx_rej`` holds them by field)."""
    p = Params()
    opts = [*_CSV_OPTIONS, f"max_line_size={MAX_LINE_BYTES}", f"buffer_size={BUFFER_BYTES}"]
    extra = more(p)
    if f.delimiter and not any(o.startswith("delim=") for o in extra):
        opts.append(f"delim={p(f.delimiter)}")
    if f.skip_lines:  # a checked whole number; the rows are numbered from the header on, as in any file
        opts.append(f"skip={int(f.skip_lines)}")
    # the rejects tables of an earlier file would be read again as this file's unreadable lines
    con.execute("DROP TABLE IF EXISTS _cx_rej")
    con.execute("DROP TABLE IF EXISTS _cx_rej_scan")
    select = f"SELECT * {KEEP_ROW} FROM read_csv({p(glob_escaped(str(path)))}, {', '.join(opts + extra)})"
    try:
        # a scratch copy keeps the file's order; numbered by its position in the copy (_number_copy)
        copy = write_scratch(con, name, select, p.values, scratch, ordered=True) if scratch is not None else None
        if copy is None:
            materialize(con, name, select, p.values, None)
    except duckdb.Error as e:
        if no_space(e) or isinstance(e, duckdb.OutOfMemoryException):  # the machine, not the file: said by the load
            raise
        raise reader_error(f, path, e) from None
    # the lines passed over above the header (skip_lines) count in the file's line numbers: the rows are
    # numbered below from the header on, then moved down by as many (row = line in the file - 1, as always)
    if f.skip_lines:
        con.execute("UPDATE _cx_rej SET line = line - ?", [int(f.skip_lines)])
    # one reject per line: a line with several missing or extra fields has one error per field (the
    # first missing one, the last extra one says how many fields the line has)
    return copy, con.execute(
        "SELECT line, first(csv_line), first(error_message ORDER BY CASE WHEN error_type = 'TOO MANY COLUMNS' "
        "THEN -column_idx ELSE column_idx END NULLS LAST) FROM _cx_rej GROUP BY line ORDER BY line"
    ).fetchall()


def _relation(name: str, copy: Path | None) -> str:
    """SQL: the rows a CSV was read into: its scratch copy (a Parquet file) or temp table ``name``."""
    return f"read_parquet({literal(str(copy))})" if copy is not None else ident(name)


def _number_copy(con: duckdb.DuckDBPyConnection, name: str, copy: Path, rejects: bool, skip: int = 0) -> None:
    """View ``name``: the rows of the Parquet file ``copy`` (in the file's order) with ``_row``, their line in
    the file -- their position in the copy plus the unreadable lines before them (``_cx_rej``, kept as
    ``<name>_rej``: the good rows before each, and how many unreadable lines have come by then), plus the
    ``skip`` lines above the header. The path is a validated literal (a view's text cannot hold a parameter)."""
    position = "CAST(file_row_number + 1 AS BIGINT)"
    rows = f"read_parquet({literal(str(copy))}, file_row_number=true)"
    if not rejects:
        con.execute(
            f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS "
            f"SELECT * EXCLUDE (file_row_number), {position} + {int(skip)} AS _row FROM {rows}"
        )
        return
    rej = ident(name + "_rej")
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {rej} AS SELECT before, max(k) AS k FROM (SELECT line - 1 - "
        "row_number() OVER (ORDER BY line) AS before, row_number() OVER (ORDER BY line) AS k "
        "FROM _cx_gone) GROUP BY before"
    )
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {ident(name)} AS SELECT c.* EXCLUDE (file_row_number, _g), "
        f"CAST(_g + COALESCE(j.k, 0) + {int(skip)} AS BIGINT) AS _row "  # skip: the lines above the header
        f"FROM (SELECT *, {position} AS _g FROM {rows}) c ASOF LEFT JOIN {rej} j ON c._g > j.before"
    )


def number_rows(con: duckdb.DuckDBPyConnection, name: str, col: str = "_row", offset: int = 0) -> None:
    """Add the 1-based position of each row in its file (insertion order; temp-table rowids start high), plus
    ``offset`` (the lines above the header a CSV's ``skip_lines`` passed over)."""
    t = ident(name)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {t} AS SELECT *, "
        f"CAST(rowid - (SELECT min(rowid) FROM {t}) + 1 + {int(offset)} AS BIGINT) AS {ident(col)} FROM {t}"
    )


def drop_temporaries(con: duckdb.DuckDBPyConnection, scratch: Path | None = None) -> None:
    """Drop the loader's temporary views and tables (``_cx_*``) and its scratch files, so that the next table
    starts clean."""
    for kind, col, fn in (("VIEW", "view_name", "duckdb_views"), ("TABLE", "table_name", "duckdb_tables")):
        names = con.execute(f"SELECT {col} FROM {fn}() WHERE temporary AND starts_with({col}, '_cx_')").fetchall()
        for (name,) in names:
            con.execute(f"DROP {kind} IF EXISTS {ident(name)}")
    for f in scratch.glob("_cx_*.parquet") if scratch is not None else ():
        f.unlink(missing_ok=True)


_SCRATCH_NAMES = itertools.count()


def _drop_dead_loads(root: Path) -> None:
    """Remove the scratch folders (``cx-load-<pid>-*``) in ``root`` of loads whose process is gone (killed: a
    million customers' left gigabytes of Parquet there); those of running loads, and anything else, stay."""
    for d in root.glob("cx-load-*-*"):
        pid = d.name.split("-")[2]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(d, ignore_errors=True)
        except OSError:  # alive, someone else's
            continue


@contextlib.contextmanager
def scratch_folder(con: duckdb.DuckDBPyConnection) -> Iterator[Path]:
    """A fresh folder for the load's scratch files inside DuckDB's temporary directory (``CX_TEMP_DIR``, else
    ``workspace.duckdb.tmp`` beside the database), where its own spill goes; removed afterwards with what is
    in it (and the temporary directory too, when this made it and it is empty). Named with the process id, so
    that the next load removes what a killed one left (:func:`_drop_dead_loads`)."""
    root = Path(con.execute("SELECT current_setting('temp_directory')").fetchone()[0])
    made = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    _drop_dead_loads(root)
    d = Path(tempfile.mkdtemp(prefix=f"cx-load-{os.getpid()}-", dir=root))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)
        if made:
            with contextlib.suppress(OSError):
                root.rmdir()


def materialize(
    con: duckdb.DuckDBPyConnection,
    name: str,
    select: str,
    params: dict,
    scratch: Path | None,
    *,
    ordered: bool = False,
) -> str:
    """Store the rows of ``select`` once, for the several reads that follow; return the relation to read.

    With a ``scratch`` folder (``cx load``: the workspace's temporary folder) the rows go to a compressed
    Parquet file there, read back column by column; DuckDB's temporary tables spill uncompressed, about ten
    times the size, and a table in the workspace itself would grow its file for good. Without one
    (``cx validate``, in memory) they go to a temporary table.

    Unless ``ordered``, the copy's rows are in no particular order: DuckDB then writes each thread's rows
    as they come instead of holding them back to keep the input's order (which spilled gigabytes); every
    reader of an unordered copy orders its results itself.
    """
    if scratch is None:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS {select}", params)
        return ident(name)
    return f"read_parquet({literal(str(write_scratch(con, name, select, params, scratch, ordered=ordered)))})"


def write_scratch(
    con: duckdb.DuckDBPyConnection, name: str, select: str, params: dict, scratch: Path, *, ordered: bool = False
) -> Path:
    """Write the rows of ``select`` to a new compressed Parquet file in ``scratch``; return its path.

    Unless ``ordered``, the rows are written in no particular order (see :func:`materialize`). LZ4, not zstd: the
    file is read once or twice and deleted, and zstd's smaller file cost more to write than it saved (1M
    customers' events, 68M rows: the parse 41 -> 37 s, ``cx load`` 142 -> 135 s; the file about 1.7 times the size).

    Examples
    --------
    >>> import duckdb, tempfile, pathlib
    >>> con = duckdb.connect()
    >>> p = write_scratch(con, "_cx_t", "SELECT 1 AS x", {}, pathlib.Path(tempfile.mkdtemp()))
    >>> p.name.startswith("_cx_t-"), con.execute("SELECT x FROM read_parquet(?)", [str(p)]).fetchall()
    (True, [(1,)])
    """
    # a new name each time: a file written again under a name just read and deleted was once read back as
    # "ZSTD Decompression failure" (DuckDB's caches are keyed by path; not reproduced in isolation)
    path = scratch / f"{name}-{next(_SCRATCH_NAMES)}.parquet"
    with contextlib.nullcontext() if ordered else unordered(con):
        con.execute(f"COPY ({select}) TO {literal(str(path))} (FORMAT parquet, COMPRESSION lz4_raw)", params)
    return path


def write_table(con: duckdb.DuckDBPyConnection, out: str, rows: str) -> None:
    """Create table ``out`` (a checked identifier) with the rows of relation ``rows``, in no particular order.

    No reader depends on a loaded table's order: every step orders what it reads where order matters (a
    customer's path by time and the ordering rule, the contact records by id), and the tests load shuffled
    files to hold them to it. A sort by the key was most of the write's cost (6.5M events: 2.6 of 7.9 s; at a
    million customers the rows went once more through Parquet files by key range to sort under the memory
    limit); without the insertion order kept, DuckDB writes as it reads, in parallel, and spills nothing.

    Examples
    --------
    >>> con = duckdb.connect()
    >>> write_table(con, "t", "(SELECT 1 AS x)")
    >>> con.execute("SELECT x FROM t").fetchall()
    [(1,)]
    """
    with unordered(con):
        con.execute(f"CREATE OR REPLACE TABLE {out} AS SELECT * FROM {rows}")


@contextlib.contextmanager
def unordered(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The statements inside write rows as they come (``preserve_insertion_order`` off), reset after."""
    con.execute("SET preserve_insertion_order = false")
    try:
        yield
    finally:
        try:
            con.execute("RESET preserve_insertion_order")
        except duckdb.TransactionException:  # a statement inside failed: its error, not this one, is the news
            pass


def map_columns(f: SourceFile, t: Table, cols: list[str]) -> dict[str, str]:
    """Canonical column -> the file's column. Raises DataError for missing required columns."""
    by_norm = {_norm(c): c for c in cols}
    mapping: dict[str, str] = {}
    for canon, theirs in f.columns.items():
        if theirs not in cols:
            raise DataError(
                f"{f.label}: sources.yml maps {t.name}.{canon} to column {theirs!r}, which the file "
                f"does not have; its columns are {', '.join(cols)}{_one_column_hint(cols, f.delimiter)}"
            )
        mapping[canon] = theirs
    for c in t.names:
        if c == "source" and f.source:  # the system named in sources.yml, not a column that is only called so
            continue  # (Shopify's Source is the order's origin, web or pos, on an order's first line only)
        if c not in mapping and _norm(c) in by_norm and by_norm[_norm(c)] not in mapping.values():
            mapping[c] = by_norm[_norm(c)]
    missing = [c for c in t.required if c not in mapping and not (c == "source" and f.source)]
    missing = [c for c in missing if c not in f.constants and c not in DERIVABLE_KEYS]
    missing = [c for c in missing if not (f.lines and c in ("amount", "status"))]  # from the lines
    if missing:
        raise DataError(_missing_message(f, t, cols, mapping, missing, by_norm))
    if t.name == "enrichment" and not ({"email_sha256", "postcode"} & set(mapping)):
        raise DataError(
            f"{f.label}: enrichment needs a key column, email_sha256 or postcode; the file has "
            f"{', '.join(_short(c) for c in cols[:12])}. Fix: rename a column or map it in sources.yml"
        )
    return mapping


def _one_column_hint(cols: list[str], declared: str | None = None) -> str:
    """When a file read as one column whose name holds another delimiter: which ``delimiter:`` to set (and, when
    sources.yml sets one, that it is that one which is wrong).

    >>> print(_one_column_hint(["source;order_id;ts"])[:60])
    ; it was read as one column, and its name is split by ';': s
    >>> print(_one_column_hint(["source,order_id"], declared="|")[-65:])
    sources.yml sets `delimiter: "|"` for this file: change it to ","
    >>> _one_column_hint(["source", "order_id"])
    ''
    """
    if len(cols) != 1:
        return ""
    found = [d for d in (";", "\t", "|", ",") if d in cols[0] and d != declared]
    if not found:
        return ""

    def shown(d: str) -> str:
        return "\\t" if d == "\t" else d

    head, d = f"; it was read as one column, and its name is split by {found[0]!r}: ", shown(found[0])
    if declared:
        return head + f'sources.yml sets `delimiter: "{shown(declared)}"` for this file: change it to "{d}"'
    return head + f'set `delimiter: "{d}"` for this file in sources.yml'


def _missing_message(
    f: SourceFile, t: Table, cols: list[str], mapping: dict[str, str], missing: list[str], by_norm: dict[str, str]
) -> str:
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
    shape = f"the file has {len(cols)} column{'s' if len(cols) != 1 else ''}"
    below = _header_below(f, t)
    if below:  # a report's title lines above the column names (Google Ads, CRM reports)
        shape += f"; the column names of {t.name} look like they are on line {below + 1}, under a title"
        fix = f"set `skip_lines: {below}` for this file in sources.yml (the lines above the column names)"
    elif mapping:
        shape += ": " + ", ".join(_short(c) for c in cols[:12])
    else:
        # no column matches: the "header" is likely data (a letter, another system's file); do not echo it
        shape += (
            f" and none is a column of {t.name}, so this does not look like a delimited {t.name} table "
            "(check the file and its delimiter: set `delimiter:` in sources.yml if it is not a comma)"
        )
    return (
        f"{f.label}: required column{'s' if len(missing) > 1 else ''} {', '.join(hints)} of table "
        f"{t.name} {'are' if len(missing) > 1 else 'is'} missing; {shape}. Fix: {fix}"
    )


def _header_below(f: SourceFile, t: Table, lines: int = 30) -> int:
    """How many lines lie above a line of the first ``lines`` of CSV or Excel file ``f`` that names two or more of
    table ``t``'s required columns (its column names, under a report's title), or 0 (none found; a CSV file that
    does not read as UTF-8)."""
    wanted = {_norm(c) for c in t.required}
    for i, cells in enumerate(_head_cells(f, lines)):
        if i and len(wanted & {_norm(c.strip().strip('"')) for c in cells}) >= min(2, len(wanted)):
            return i
    return 0


def _head_cells(f: SourceFile, lines: int) -> Iterator[list[str]]:
    """The cells of the first ``lines`` lines of ``f`` (a CSV line split on each usual delimiter in turn); none
    for another kind of file, or a CSV file that cannot be read as text (its own error comes from the reader)."""
    kind = file_kind(f.path)
    if f.skip_lines or kind not in ("csv", "xlsx"):
        return
    if kind == "xlsx":
        yield from sheet_head(f, lines)
        return
    try:
        head = head_lines(f, lines)
    except DataError:
        return
    for line in head:
        yield [c for sep in ([f.delimiter] if f.delimiter else [",", ";", "\t", "|"]) for c in line.split(sep)]


def _short(name: str, width: int = 40) -> str:
    """A column name for a message, cut to ``width`` characters."""
    return name if len(name) <= width else name[: width - 1] + "…"


def timezone_warnings(con: duckdb.DuckDBPyConnection, t: Table, files: list[SourceFile]) -> list[str]:
    """A warning per file and timestamp column where some values carry a UTC offset and others do not (file by
    file: Klaviyo's ``+00:00`` beside GA4's epoch times is each consistent); one pass over ``_cx_parsed``."""
    cols = [c.name for c in t.columns if c.dtype == "timestamp"]
    if not cols:
        return []
    counts = []
    for c in cols:
        # the stored text (``_s_``): a typed timestamp taken as it is has none, and its text carries no offset
        r, p = ident("_s_" + c), ident("_p_" + c)
        counts.append(f"count(*) FILTER (WHERE regexp_matches({r}, $re)), count(*) FILTER (WHERE {r} IS NOT NULL "
                      f"OR {p} IS NOT NULL)")
    rows = con.execute(
        f"SELECT _fi, {', '.join(counts)} FROM _cx_parsed GROUP BY _fi ORDER BY _fi", {"re": OFFSET_RE}
    ).fetchall()
    warnings = []
    for row in rows:
        f = files[row[0]]
        for i, c in enumerate(cols):
            with_off, without = row[1 + 2 * i], row[2 + 2 * i] - row[1 + 2 * i]
            if with_off and without:
                warnings.append(
                    f"{f.label}: {t.name}.{c}: mixed time zones: {with_off:,} values carry a UTC offset and "
                    f"{without:,} do not; those without were read as {f.timezone or 'UTC'} (set `timezone:` for "
                    "this file in sources.yml if they are local time)"
                )
    return warnings
