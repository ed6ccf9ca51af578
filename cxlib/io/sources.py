"""Which files feed which table: files named after the tables, or a checked ``sources.yml``.

Every option of ``sources.yml`` is checked here for its type (and, for text, for control
characters) before anything reaches the engine; a bad one is a :class:`cxlib.DataError` naming the
table, the file and the option (see ``docs/sources.md``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from cxlib.io.options import DERIVED_TABLES, EXPORT_OPTIONS, export_options, line_columns
from cxlib.io.sql import control_character
from cxlib.schema import TABLES, DataError

__all__ = ["SourceFile", "find_sources"]

_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".parquet")
_OPTIONS = ("file", "columns", "source", "dayfirst", "timezone", "encoding", "delimiter", "values", *EXPORT_OPTIONS)
_DEFAULTS = ("dayfirst", "timezone", "encoding", "delimiter", "max_quarantine", "ts_unit")


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
    constants: dict[str, str] = field(default_factory=dict)
    lines: bool = False
    credit_note_prefix: str | None = None
    ts_unit: str | None = None
    format: str | None = None
    max_quarantine: float | None = None

    @property
    def label(self) -> str:
        return self.path.name


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
    for name in (n for n in TABLES if n not in DERIVED_TABLES):
        for suffix in _SUFFIXES:
            p = ws / f"{name}{suffix}"
            if p.exists():
                files.append(SourceFile(name, p, delimiter="\t" if suffix == ".tsv" else None))
    return files


def _read_config(cfg_path: Path) -> dict:
    try:
        cfg = yaml.safe_load(cfg_path.read_text()) or {}
    except yaml.YAMLError as e:
        raise DataError(f"sources.yml is not valid YAML: {e}") from None
    if not isinstance(cfg, dict) or not isinstance(cfg.get("tables", {}), dict):
        raise DataError("sources.yml must be a mapping with a `tables:` mapping; see docs/sources.md for an example")
    return cfg


def _from_config(ws: Path, cfg_path: Path) -> list[SourceFile]:
    cfg = _read_config(cfg_path)
    defaults = {k: cfg[k] for k in _DEFAULTS if k in cfg}
    out = []
    for table, entries in (cfg.get("tables") or {}).items():
        if table in DERIVED_TABLES:
            raise DataError(f"sources.yml: table {table} is filled from orders files with `lines: true`, not a file")
        if table not in TABLES:
            close = difflib.get_close_matches(str(table), TABLES, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise DataError(f"sources.yml: unknown table {table!r}{hint}; tables are {', '.join(TABLES)}")
        for e in entries if isinstance(entries, list) else [entries]:
            if isinstance(e, str):
                e = {"file": e}
            if not isinstance(e, dict) or "file" not in e:
                raise DataError(f"sources.yml: each entry under tables.{table} needs `file:`")
            out.append(_entry(ws, table, {**defaults, **e}))
    return out


def _entry(ws: Path, table: str, opts: dict) -> SourceFile:
    """One checked ``tables.<table>`` entry of sources.yml."""
    unknown = set(opts) - set(_OPTIONS)
    if unknown:
        raise DataError(f"sources.yml: tables.{table}: unknown option(s) {', '.join(sorted(map(str, unknown)))}")
    where = f"sources.yml: tables.{table}"
    file = _text_option(opts["file"], where, "file")
    where = f"sources.yml: tables.{table} (file {file!r})"
    columns = _mapping_option(opts.get("columns"), where, "columns")
    bad = [c for c in columns if c not in TABLES[table].names + line_columns(table, opts)]
    if bad and table != "enrichment":
        raise DataError(
            f"sources.yml: tables.{table}.columns maps {', '.join(bad)}, which "
            f"{'is not a column' if len(bad) == 1 else 'are not columns'} of {table}; "
            f"columns are {', '.join(TABLES[table].names)}"
        )
    values = opts.get("values") or {}
    if not isinstance(values, dict):
        raise DataError(f"{where}: option `values` must be a mapping of columns to {{value: replacement}} maps")
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
        **export_options(opts, table, where),
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
