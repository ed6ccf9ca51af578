"""Checks on an Excel workbook before calamine reads it: what it unpacks to, and how far its sheet's cells reach.

calamine (the compiled reader behind :mod:`cxlib.io.files`) reads every shared string when it opens a workbook
and holds a sheet as a dense grid from A1 to its last cell. A 2 KB workbook with one stray value in XFD1048576
asked it for 512 GB, and a 1 MB one whose shared strings unpack to 1 GB for 2 GB: both ended the process (a Rust
abort, no message). So before calamine sees the file, the zip's members are added up and the chosen sheet's
cell references are scanned (a stream: a few seconds for the largest sheet Excel writes), and a workbook past
the limits is a :class:`~cxlib.schema.DataError` that names it and says what to do.

Examples
--------
>>> import tempfile, pathlib, zipfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "book.xlsx"
>>> with zipfile.ZipFile(p, "w") as z:
...     z.writestr("xl/worksheets/sheet1.xml", '<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="XFD1048576">'
...                 '<v>2</v></c><c r="XFE9999999" s="1"/></row></sheetData>')
>>> sheet_extent(p, "xl/worksheets/sheet1.xml")
(1048576, 16384)
>>> check_unpacked(p, "book.xlsx")
"""

from __future__ import annotations

import posixpath
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree

from cxlib.schema import DataError

__all__ = ["MAX_SHEET_CELLS", "MAX_UNPACKED_BYTES", "check_sheet", "check_unpacked", "sheet_extent", "sheet_part"]

#: The most a workbook may unpack to (its XML parts added up): a full sheet of Excel's million rows is about that.
MAX_UNPACKED_BYTES = 1 << 30
#: The most cells a sheet's grid from A1 to its last cell may hold (about 1.6 GB as calamine holds them): a
#: million rows of 47 columns.
MAX_SHEET_CELLS = 50_000_000

#: a row's number; a cell's reference past column Z, or below row 999,999, when the cell can hold a value
#: (``<c r="AB2" s="1"/>``, an empty styled cell, cannot: calamine leaves it out). Other cells are not looked at
#: one by one (a sheet is read at about the speed of its unpacking): A-Z by a million rows is not past the limit.
#: (a row counts when a cell in it can hold a value: not <row r="1048576" ht="20" customHeight="1"></row>, a height)
_ROW = re.compile(rb'<row[^>]*? r="([0-9]{1,7})"[^>]*>(?:\s*<c\b[^>]*/>)*\s*<c\b[^>]*[^/>]>')
_WIDE = re.compile(rb' r="([A-Z]{2,3})([0-9]{1,7})"[^>/]*>')
_DEEP = re.compile(rb' r="[A-Z]([0-9]{7})"[^>/]*>')
_CHUNK = 1 << 22
_SAVE_AS_CSV = "export the sheet as CSV (File > Save as > CSV UTF-8) and load that"


def check_unpacked(path: Path, label: str) -> None:
    """DataError when workbook ``path`` unpacks to more than :data:`MAX_UNPACKED_BYTES` (a file that is no zip
    is left to the reader, which says so)."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        return
    if total > MAX_UNPACKED_BYTES:
        raise DataError(
            f"{label}: the workbook unpacks to {total / (1 << 30):,.1f} GB (more than {MAX_UNPACKED_BYTES >> 30} GB "
            f"of XML; its {path.stat().st_size:,} bytes are packed {total / max(path.stat().st_size, 1):,.0f} to "
            f"1), too much to read as a workbook; {_SAVE_AS_CSV}"
        )


def sheet_part(path: Path, index: int) -> str | None:
    """The zip member holding the ``index``-th sheet (0-based, in the workbook's order), or None if unknown."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
          "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
          "p": "http://schemas.openxmlformats.org/package/2006/relationships"}  # fmt: skip
    try:
        with zipfile.ZipFile(path) as z:
            book = ElementTree.fromstring(z.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, ElementTree.ParseError, OSError):
        return None
    sheets = book.findall("m:sheets/m:sheet", ns)
    if not 0 <= index < len(sheets):
        return None
    rid = sheets[index].get(f"{{{ns['r']}}}id")
    target = next((r.get("Target") for r in rels.findall("p:Relationship", ns) if r.get("Id") == rid), None)
    if not target:
        return None
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def sheet_extent(path: Path, part: str) -> tuple[int, int]:
    """``(rows, columns)`` from A1 to the last row and the farthest column in sheet part ``part`` (0, 0 without
    any; columns: 26 when no cell with a value is past Z)."""
    rows = cols = 0
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(part) as fh:
        while True:
            chunk = fh.read(_CHUNK)
            data = tail + chunk
            cut = data.rfind(b"<") if chunk else len(data)  # a tag cut in two waits for the next chunk
            cut = len(data) if cut < 0 or len(data) - cut > 300 else cut
            found = _ROW.findall(data, 0, cut) + _DEEP.findall(data, 0, cut)
            wide = set(_WIDE.findall(data, 0, cut))
            if wide:
                cols = max(cols, *(_column_number(c) for c, _ in wide))
                found += [r for _, r in wide]
            if found:
                rows = max(rows, *map(int, found))
            tail = data[cut:]
            if not chunk:
                break
    return rows, max(cols, 26) if rows else 0


def check_sheet(path: Path, label: str, index: int) -> None:
    """DataError when the ``index``-th sheet of workbook ``path`` reaches past :data:`MAX_SHEET_CELLS` cells."""
    part = sheet_part(path, index)
    if part is None:
        return
    try:
        rows, cols = sheet_extent(path, part)
    except (KeyError, zipfile.BadZipFile, OSError):
        return
    if rows * cols > MAX_SHEET_CELLS:
        last = ""
        n = cols
        while n:
            n, r = divmod(n - 1, 26)
            last = chr(65 + r) + last
        raise DataError(
            f"{label}: the sheet's cells reach {last}{rows} ({rows:,} rows by {cols:,} columns: {rows * cols:,} "
            f"cells, more than {MAX_SHEET_CELLS:,}); a stray value far to the right or below the data is the usual "
            f"cause: delete the rows and columns after the data in Excel and save it, or {_SAVE_AS_CSV}"
        )
