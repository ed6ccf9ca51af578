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

The package: :mod:`cxlib.io.sources` (reading and checking ``sources.yml``), :mod:`cxlib.io.read`
(files -> raw text tables), :mod:`cxlib.io.parse` (types, dates), :mod:`cxlib.io.checks` (rules,
quarantine), :mod:`cxlib.io.load` (:func:`load`, :func:`validate`, :class:`LoadReport`) and
:mod:`cxlib.io.sql` (the only ways a user's value reaches SQL: bound parameter, checked identifier,
validated literal). Real exports (issue 16, ``docs/sources.md``): :mod:`cxlib.io.options` (their
``sources.yml`` options), :mod:`cxlib.io.keys` (constants, derived keys, default ``source``),
:mod:`cxlib.io.lines` (order lines -> orders + ``order_lines``), :mod:`cxlib.io.epoch` (epoch times),
:mod:`cxlib.io.ga4` (the GA4 BigQuery export), :mod:`cxlib.io.limits` (``max_quarantine``, exit 3),
:mod:`cxlib.io.files` (Excel, JSON/NDJSON, ``files:`` patterns), :mod:`cxlib.io.extras` (the types of the
columns not in the model).
``cx sources``: :mod:`cxlib.io.recognise` (which export each file is, from its header and a few rows),
:mod:`cxlib.io.vendors` (the exports' column names), :mod:`cxlib.io.dates` (day-first, epoch),
:mod:`cxlib.io.suggest` (the commented ``sources.yml``), :mod:`cxlib.io.preview` (``cx validate`` per file).

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

from cxlib.io.load import DATABASE_NAME, LoadReport, has_workspace, load, validate
from cxlib.io.recognise import Recognition, recognise, suggest_sources
from cxlib.io.sources import SourceFile, find_sources

__all__ = [
    "DATABASE_NAME",
    "LoadReport",
    "Recognition",
    "SourceFile",
    "find_sources",
    "has_workspace",
    "load",
    "recognise",
    "suggest_sources",
    "validate",
]
