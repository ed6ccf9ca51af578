"""``cx validate``, per file: which table it feeds, how many rows it has, which columns are mapped and which not.

Reads each file's header as :mod:`cxlib.io.recognise` does and maps its columns with the loader's own
:func:`cxlib.io.read.map_columns`; the rows are counted by the engine (Parquet from its metadata).

Examples
--------
>>> import tempfile, pathlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> _ = (ws / "orders.csv").write_text("source,order_id,ts,amount,status,note\\nshop,1,2024-03-01,5,paid,hi\\n")
>>> v = file_views(ws)[0]
>>> v.table, v.rows, v.mapped["amount"], v.unmapped
('orders', 1, 'amount', ['note'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from cxlib.io.read import map_columns
from cxlib.io.recognise import _read_head, _show
from cxlib.io.sources import SourceFile, find_sources
from cxlib.io.text import readable
from cxlib.schema import TABLES, DataError

__all__ = ["FileView", "file_views", "format_views"]


@dataclass
class FileView:
    """One file of the workspace as the loader would take it."""

    label: str
    table: str
    rows: int | None
    mapped: dict[str, str] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    note: str = ""


def _rows(con: duckdb.DuckDBPyConnection, f: SourceFile) -> int | None:
    try:
        if f.path.suffix == ".parquet":
            sql = (
                "SELECT sum(n)::BIGINT FROM (SELECT DISTINCT file_name, row_group_id, row_group_num_rows AS n "
                "FROM parquet_metadata($p))"
            )
            return con.execute(sql, {"p": str(f.path)}).fetchone()[0]
        with readable(f) as path:
            opts, params = "all_varchar=true, header=true", {"p": str(path)}
            if f.delimiter:
                opts += ", delim=$d"
                params["d"] = f.delimiter
            return con.execute(f"SELECT count(*) FROM read_csv($p, {opts})", params).fetchone()[0]
    except (duckdb.Error, DataError, OSError):
        return None


def file_views(workspace: str | Path) -> list[FileView]:
    """Every file :func:`cxlib.io.find_sources` lists, with its rows and its mapped and unmapped columns."""
    out = []
    con = duckdb.connect()
    try:
        for f in find_sources(workspace):
            if f.format == "ga4":
                out.append(FileView(f.label, f.table, None, note="GA4 BigQuery export (format: ga4)"))
                continue
            try:
                head, _ = _read_head(con, f.path)
                mapping = map_columns(f, TABLES[f.table], head.columns)
            except (DataError, duckdb.Error, OSError, ValueError) as e:
                out.append(FileView(f.label, f.table, None, note=str(e).splitlines()[0]))
                continue
            unmapped = [c for c in head.columns if c not in mapping.values()]
            note = "order lines (lines: true): rows are lines" if f.lines else ""
            out.append(FileView(f.label, f.table, _rows(con, f), mapping, unmapped, note))
    finally:
        con.close()
    return out


def format_views(views: list[FileView], quarantined: dict[str, int] | None = None) -> str:
    """The per-file lines ``cx validate`` prints (``quarantined``: rows per file label)."""
    lines = ["\nper file:"]
    for v in views:
        rows = "?" if v.rows is None else f"{v.rows:,}"
        q = (quarantined or {}).get(v.label, 0)
        lines.append(f"  {_show(v.label)} -> {v.table}: {rows} rows" + (f", {q:,} quarantined" if q else ""))
        same = [k for k, c in v.mapped.items() if k == c]
        other = [f"{k} <- {_show(c, 60)}" for k, c in v.mapped.items() if k != c]
        if other or same:
            lines.append("    mapped: " + ", ".join(other + ([f"by name: {', '.join(same)}"] if same else [])))
        if v.unmapped:
            lines.append("    not mapped (kept as extra columns): " + ", ".join(_show(c, 60) for c in v.unmapped))
        if v.note:
            lines.append(f"    {_show(v.note, 300)}")
    return "\n".join(lines)
