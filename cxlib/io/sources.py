"""Which files feed which table: files named after the tables, or a checked ``sources.yml``.

Every option of ``sources.yml`` is checked here for its type (and, for text, for control
characters) before anything reaches the engine; a bad one is a :class:`cxlib.DataError` naming the
table, the file and the option (see ``docs/sources.md``).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PureWindowsPath

import yaml

from cxlib.io.files import glob_files, sheet_names
from cxlib.io.money import Conversion, conversion
from cxlib.io.numbers import DECIMALS, THOUSANDS
from cxlib.io.options import DERIVED_TABLES, EXPORT_OPTIONS, export_options, line_columns
from cxlib.io.sql import control_character
from cxlib.schema import TABLES, DataError

__all__ = ["SourceFile", "feedback_columns", "find_sources"]

_SUFFIXES = (
    ".csv", ".csv.gz", ".tsv", ".parquet", ".xlsx", ".json", ".json.gz", ".ndjson", ".ndjson.gz", ".jsonl", ".jsonl.gz",
)  # fmt: skip
_OPTIONS = (
    "file", "columns", "source", "dayfirst", "monthfirst", "timezone", "encoding", "delimiter", "values", "decimal",
    "thousands",
    *EXPORT_OPTIONS,
)  # fmt: skip
_DEFAULTS = (
    "dayfirst", "monthfirst", "timezone", "encoding", "delimiter", "decimal", "thousands", "max_quarantine", "ts_unit",
)  # fmt: skip


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
    name: str | None = None
    decimal: str = "."
    thousands: str | None = None
    constants: dict[str, str] = field(default_factory=dict)
    lines: bool = False
    credit_note_prefix: str | None = None
    adjustment_prefix: str | None = None
    ts_unit: str | None = None
    format: str | None = None
    max_quarantine: float | None = None
    sheet: str | None = None
    monthfirst: bool = False
    header_rows: int = 1
    skip_lines: int = 0
    orders: bool | None = None
    feedback: tuple[str, ...] = ()
    conversion: Conversion | None = None
    #: GA4: the days other entries of the table have daily tables for (set by the load, not by sources.yml)
    ga4_daily: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        """How messages and the quarantine table name the file: its base name, or its path in the
        workspace when another file of the workspace has the same base name (``2024/orders.csv``)."""
        return self.name or self.path.name


def feedback_columns(workspace: str | Path) -> dict[str, list[str]]:
    r"""``{table: [column, ...]}``: the loaded columns that ``sources.yml`` names as ``feedback`` (free text that
    ``cx voice`` reads as verbatims): a mapped column by its canonical name, any other by its loaded name.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "reviews.csv").write_text("order_id,ts,amount,status,Review Text\n")
    >>> _ = (d / "sources.yml").write_text("tables:\n  orders: {file: reviews.csv, feedback: Review Text}\n")
    >>> feedback_columns(d)
    {'orders': ['review_text']}
    """
    if not (Path(workspace) / "sources.yml").exists():
        return {}
    out: dict[str, list[str]] = {}
    for f in find_sources(workspace):
        canonical = {v: k for k, v in f.columns.items()}
        for col in f.feedback:
            name = canonical.get(col) or _norm(col)
            if name not in out.setdefault(f.table, []):
                out[f.table].append(name)
    return out


def _norm(name: str) -> str:
    """A file's column name as the workspace writes it: lower-case letters and digits, runs of anything else one
    ``_``. A name with neither (a lone quote, a byte-order mark, ``%``) takes its characters' code points
    instead (``column_27``), never an empty name: the same name in every file, and one that SQL can hold.

    >>> _norm(" Order Date "), _norm("'"), _norm("\ufeff"), _norm("")
    ('order_date', 'column_27', 'column_feff', 'column')
    """
    text = str(name).strip()
    out = re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")
    return out or "_".join(["column", *(f"{ord(ch):x}" for ch in text)])


def _date_order(opts: dict, where: str) -> bool:
    """``monthfirst`` (checked against ``dayfirst``: a file's slash dates are one or the other)."""
    month = _bool_option(opts.get("monthfirst", False), where, "monthfirst")
    if month and _bool_option(opts.get("dayfirst", False), where, "dayfirst"):
        raise DataError(
            f"{where}: `dayfirst: true` and `monthfirst: true` together; a file's dates are either 31/12/2024 "
            "(dayfirst) or 12/31/2024 (monthfirst): keep one"
        )
    return month


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
    for name in (n for n in TABLES if n not in DERIVED_TABLES):
        for suffix in _SUFFIXES:
            p = ws / f"{name}{suffix}"
            if p.exists():
                if not p.resolve().is_relative_to(ws.resolve()):  # as a `file:` of sources.yml (_entry)
                    raise DataError(f"{p.name} links outside the workspace folder; copy the file into the folder")
                files.append(SourceFile(name, p, delimiter="\t" if suffix == ".tsv" else None))
    return files


#: The most values sources.yml may hold once its aliases are expanded: a few hundred in a real one. Aliases of
#: aliases grow it geometrically (nine levels of nine: 387 million values from 364 bytes), and every check that
#: reads or quotes a value would walk them.
MAX_CONFIG_VALUES = 100_000


def _expanded_size(obj: object, cap: int) -> int:
    """How many values ``obj`` holds, its aliases expanded; counting stops past ``cap``.

    >>> inner = list(range(10)); _expanded_size({"a": [inner] * 10}, 1_000), _expanded_size([inner] * 10, 50) > 50
    (113, True)
    """
    n, stack = 0, [obj]
    while stack and n <= cap:
        o = stack.pop()
        n += 1
        if isinstance(o, dict):
            stack.extend(o.keys())
            stack.extend(o.values())
        elif isinstance(o, list | tuple | set):
            stack.extend(o)
    return n


def _read_config(cfg_path: Path) -> dict:
    try:
        cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise DataError(f"sources.yml is not valid YAML: {e}") from None
    except UnicodeDecodeError as e:
        line = cfg_path.read_bytes()[: e.start].count(b"\n") + 1
        raise DataError(
            f"sources.yml is not UTF-8 text (line {line} has the byte {e.object[e.start:e.start + 1]!r}); save it "
            "as UTF-8 (in most editors: Save as, encoding UTF-8)"
        ) from None
    if _expanded_size(cfg, MAX_CONFIG_VALUES) > MAX_CONFIG_VALUES:
        raise DataError(
            f"sources.yml holds more than {MAX_CONFIG_VALUES:,} values once its aliases (*name) are expanded; a "
            "sources.yml needs a few hundred: write the entries out, or use aliases only for small mappings"
        )
    if not isinstance(cfg, dict) or not isinstance(cfg.get("tables", {}), dict):
        raise DataError("sources.yml must be a mapping with a `tables:` mapping; see docs/sources.md for an example")
    return cfg


def did_you_mean(key: object, allowed: list[str] | tuple[str, ...]) -> str:
    """`` (did you mean 'x'?)`` for the closest allowed name, or ``''``.

    >>> did_you_mean("timezon", ["timezone", "tables"]), did_you_mean("zzz", ["timezone"])
    (" (did you mean 'timezone'?)", '')
    """
    close = difflib.get_close_matches(str(key), list(allowed), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_keys(keys: object, allowed: list[str] | tuple[str, ...], where: str, what: str) -> None:
    """DataError for the first key of ``keys`` not in ``allowed``, with the closest allowed name."""
    for k in keys:  # type: ignore[attr-defined]
        if k not in allowed:
            raise DataError(
                f"{where}: unknown {what} {str(k)!r:.60}{did_you_mean(k, allowed)}; {what}s are {', '.join(allowed)}"
            )


def _from_config(ws: Path, cfg_path: Path) -> list[SourceFile]:
    cfg = _read_config(cfg_path)
    _check_keys(cfg, (*_DEFAULTS, "currency", "rates", "tables"), "sources.yml", "key")
    defaults = {k: cfg[k] for k in _DEFAULTS if k in cfg}
    money = conversion(cfg, "sources.yml")  # one currency for every amount, or None: amounts as recorded
    out = []
    for table, entries in (cfg.get("tables") or {}).items():
        if table in DERIVED_TABLES:
            raise DataError(f"sources.yml: table {table} is filled from orders files with `lines: true`, not a file")
        if table not in TABLES:
            close = difflib.get_close_matches(str(table), TABLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"sources.yml: unknown table {table!r}{hint}; tables are {', '.join(TABLES)}")
        for e in entries if isinstance(entries, list) else [entries]:
            e = {"file": e} if isinstance(e, str) else dict(e) if isinstance(e, dict) else e
            if not isinstance(e, dict) or ("file" in e) == ("files" in e):
                raise DataError(
                    f"sources.yml: each entry under tables.{table} needs `file:` (one file) or `files:` (a pattern)"
                )
            out += [_entry(ws, table, {**defaults, **e, "file": p}) for p in _matches(ws, table, e)]
    for f in out:
        f.conversion = money
    return _distinct_labels(ws, out)


def _matches(ws: Path, table: str, e: dict) -> list[object]:
    """The ``file:`` of entry ``e``, or the files its ``files:`` pattern matches (see :func:`glob_files`)."""
    if "file" in e:
        return [e["file"]]
    where = f"sources.yml: tables.{table}"
    return list(glob_files(ws, _text_option(e.pop("files"), where, "files") or "", where))


def _distinct_labels(ws: Path, files: list[SourceFile]) -> list[SourceFile]:
    """Name files that share a base name (``2024/orders.csv``, ``2025/orders.csv``) by their path in the folder,
    and the sheets of one workbook listed as entries of their own by the sheet (``sales.xlsx[2010]``)."""
    listed: set[tuple[str, Path, str | None]] = set()
    entries = Counter(f.path for f in files)
    for f in files:
        sheet = f.sheet
        if sheet is None and entries[f.path] > 1 and f.path.suffix.lower() in (".xlsx", ".xlsm") and f.path.exists():
            with contextlib.suppress(DataError):  # no `sheet:` is the first sheet: the same as naming it
                sheet = sheet_names(f.path)[0]
        if (f.table, f.path, sheet) in listed or (f.table, f.path, f.sheet) in listed:
            what = f"the sheet {f.sheet!r} of {f.path.name!r}" if f.sheet else f"the file {f.path.name!r}"
            fix = "list it once" if f.sheet or f.path.suffix.lower() not in (".xlsx", ".xlsm") else (
                "list it once, or one entry per sheet with `sheet:`"
            )
            raise DataError(f"sources.yml: tables.{f.table} lists {what} twice; {fix}")
        listed |= {(f.table, f.path, f.sheet), (f.table, f.path, sheet)}
    paths: dict[str, set[Path]] = {}
    for f in files:
        paths.setdefault(f.path.name, set()).add(f.path)
    for f in files:
        if len(paths[f.path.name]) > 1:
            f.name = f.path.relative_to(ws).as_posix() if f.path.is_relative_to(ws) else str(f.path)
        if f.sheet and entries[f.path] > 1:
            f.name = f"{f.label}[{f.sheet}]"
    return files


def _entry(ws: Path, table: str, opts: dict) -> SourceFile:
    """One checked ``tables.<table>`` entry of sources.yml."""
    where = f"sources.yml: tables.{table}"
    _check_keys(opts, _OPTIONS, where, "option")
    file = _text_option(opts["file"], where, "file")
    _inside(file, where)
    if not (ws / file).resolve().is_relative_to(ws.resolve()):  # a link in the folder to a file outside it
        raise DataError(f"{where}: option `file` ({file!r:.80}) links outside the workspace folder; copy the file "
                        "into the folder and give its path there")
    where = f"sources.yml: tables.{table} (file {file!r})"
    columns = _mapping_option(opts.get("columns"), where, "columns")
    bad = [c for c in columns if c not in TABLES[table].names + line_columns(table, opts)]
    if bad and table != "enrichment":
        raise DataError(
            f"sources.yml: tables.{table}.columns maps {', '.join(bad)}, which "
            f"{'is not a column' if len(bad) == 1 else 'are not columns'} of {table}"
            f"{did_you_mean(bad[0], TABLES[table].names)}; columns are {', '.join(TABLES[table].names)}"
        )
    values = opts.get("values") or {}
    if not isinstance(values, dict):
        raise DataError(f"{where}: option `values` must be a mapping of columns to {{value: replacement}} maps")
    if table != "enrichment":
        _check_keys(values, TABLES[table].names, f"{where}: option `values`", "column")
    return SourceFile(
        table,
        ws / file,
        columns,
        _text_option(opts.get("source"), where, "source"),
        _bool_option(opts.get("dayfirst", False), where, "dayfirst"),
        _text_option(opts.get("timezone", "UTC"), where, "timezone"),
        _text_option(opts.get("encoding"), where, "encoding"),
        _delimiter_option(opts.get("delimiter"), where),
        {
            _text_option(k, where, "values"): _mapping_option(v, where, f"values.{k}")
            for k, v in values.items()
        },
        **_number_options(opts, where),
        **export_options(opts, table, where),
        monthfirst=_date_order(opts, where),
    )


def _number_options(opts: dict, where: str) -> dict[str, str | None]:
    """``decimal`` and ``thousands``, each one of a few separators (see :mod:`cxlib.io.numbers`)."""
    decimal = _text_option(opts.get("decimal", "."), where, "decimal")
    if decimal not in DECIMALS:
        raise DataError(f'{where}: option `decimal` must be "." or ",", not {decimal!r:.20}')
    thousands = _text_option(opts.get("thousands"), where, "thousands")
    if thousands is not None and (thousands not in THOUSANDS or thousands == decimal):
        raise DataError(
            f"{where}: option `thousands` must be one of "
            f"{', '.join(repr(t) for t in THOUSANDS if t != decimal)} (not the decimal separator), "
            f"not {thousands!r:.20}"
        )
    return {"decimal": decimal, "thousands": thousands}


def _inside(file: str | None, where: str) -> None:
    """DataError for a ``file:`` that leads out of the workspace folder (an absolute path, or ``..``)."""
    if not file:
        raise DataError(f"{where}: option `file` is empty; give the file's path in the workspace folder")
    norm = os.path.normpath(file.replace("\\", "/"))
    if os.path.isabs(norm) or PureWindowsPath(file).drive or norm == ".." or norm.startswith("../"):
        raise DataError(
            f"{where}: option `file` points outside the workspace folder ({file!r:.80}); copy the file into the "
            "folder and give its path there"
        )


def _text_option(value: object, where: str, option: str, allow: frozenset[str] = frozenset()) -> str | None:
    """``value`` as text (numbers are written as text); None stays None; anything else is a DataError."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: option `{option}` must be text, not {type(value).__name__}")
    text = str(value)
    bad = control_character(text, allow)
    if bad:
        raise DataError(f"{where}: option `{option}` contains a control character ({bad}); remove it")
    return text


def _bool_option(value: object, where: str, option: str) -> bool:
    if not isinstance(value, bool):
        raise DataError(f"{where}: option `{option}` must be true or false (unquoted), not {value!r:.40}")
    return value


def _mapping_option(value: object, where: str, option: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise DataError(f"{where}: option `{option}` must be a mapping, not {type(value).__name__}")
    return {_text_option(k, where, option): _text_option(v, where, option) or "" for k, v in value.items()}


def _delimiter_option(value: object, where: str) -> str | None:
    text = _text_option(value, where, "delimiter", allow=frozenset("\t"))
    if text is not None and not 1 <= len(text.encode()) <= 4:
        raise DataError(f"{where}: option `delimiter` must be one character (at most 4 bytes), e.g. ';' or '\\t'")
    return text
