"""Quoted values the CSV reader's sniffer did not see.

DuckDB's sniffer decides the quote character from a sample of the file's first lines. When none of them quotes
a value, it reads the whole file without quotes, so a correctly quoted value holding the delimiter further down
(``581483,23843,"PAPER CRAFT , LITTLE BIRDIE",...`` on line 30,002 of an invoice export) splits and the line is
quarantined; and a last line cut off inside a quote (an export still being written) turns quoting off for
every line, so every quoted value keeps its quotes and all 3,001 rows were quarantined. When the unreadable
lines of a first reading hold a quote, the file is read again with standard quoting (``"``, doubled inside a
value) and without sniffing (:func:`quoted_options`); the reading with fewer unreadable lines is kept.

Examples
--------
>>> from cxlib.io.sql import Params
>>> quoted_options('"id","name"', None, ["id", "name"])(Params())[-1]
"columns={'id': 'VARCHAR', 'name': 'VARCHAR'}"
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Sequence
from pathlib import Path

from cxlib.io.sql import Params, literal
from cxlib.io.text import text_lines

__all__ = ["name_an_open_quote", "quoted_options"]


def quoted_options(
    header: str | None, delimiter: str | None, columns: Sequence[str]
) -> Callable[[Params], list[str]] | None:
    """The reader's options for a second reading with standard quoting and no sniffing: the ``columns`` (the
    first reading's header names, as text) and the delimiter (``delimiter``, else the one of ``,;\\t|`` that
    splits the ``header`` line into as many names). ``None`` when there is nothing to read again with (no
    such delimiter, a name that cannot be written as a literal)."""
    if delimiter is None and header is not None:
        for d in ",;\t|":
            if len(next(csv.reader([header], delimiter=d))) == len(columns):
                delimiter = d
                break
    if not delimiter or not columns:
        return None
    try:
        names = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in columns)
    except ValueError:
        return None

    def options(p: Params) -> list[str]:
        return ["auto_detect=false", "quote='\"'", "escape='\"'", f"delim={p(delimiter)}", f"columns={{{names}}}"]

    return options


def name_an_open_quote(path: Path, rejects: list[dict]) -> None:
    """When most lines of a file are unreadable, say so if a line opens a quote it never closes: the reader's
    sniffer then reads the whole file without quotes, and every quoted value with a delimiter in it splits (999 of
    1,000 rows quarantined, the fix said to check the delimiter)."""
    with text_lines(path) as fh:
        line = next((i for i, text in enumerate(fh, 1) if text.count('"') % 2), None)
    if line is None:
        return
    said = f" (line {line} opens a quote it never closes, so the file was read without quotes: close that quote)"
    for r in rejects:
        r["reason"] += said
