"""Getting a delimited text file into a form the engine reads: checked, decompressed, in UTF-8.

:func:`readable` checks a text file (not binary, valid in its encoding, a complete gzip stream) and
yields a path the CSV reader can read: the file itself when it is UTF-8 (plain or gzip), otherwise a
temporary UTF-8 copy made in a stream (1 MB at a time, with Python's codecs: ``cp1252``, ``utf-16`` and
every other encoding Python knows). A UTF-16 or UTF-8 byte-order mark is detected when no encoding is
declared. Problems are :class:`cxlib.DataError` naming the file, the cause and the fix, never quoting the
file's contents. :func:`reader_error` turns a reader error into such a message, with the real line.

Examples
--------
>>> import tempfile, pathlib
>>> from cxlib.io.sources import SourceFile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
>>> _ = p.write_bytes("source,order_id\\nshop,1\\n".encode("utf-16"))
>>> f = SourceFile("orders", p)
>>> detect_encoding(f)
'utf-16'
>>> with readable(f) as path:
...     path.read_text(encoding="utf-8")
'source,order_id\\nshop,1\\n'
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import gzip
import os
import re
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from cxlib.io.sources import SourceFile
from cxlib.schema import DataError

__all__ = ["blank_lines", "detect_encoding", "excel_separator", "head_lines", "readable", "reader_error", "text_lines"]

_CHUNK = 1 << 20
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _open(f: SourceFile):
    return gzip.open(f.path, "rb") if f.path.suffix == ".gz" else open(f.path, "rb")


@contextlib.contextmanager
def _reading(f: SourceFile) -> Iterator:
    """The file opened for reading bytes; a damaged gzip stream is a DataError naming the file."""
    try:
        with _open(f) as fh:
            yield fh
    except EOFError:
        raise DataError(
            f"{f.label}: the compressed file is truncated (its gzip stream ends early); copy or export it again"
        ) from None
    except (gzip.BadGzipFile, zlib.error) as e:
        raise DataError(
            f"{f.label}: the compressed file is damaged ({str(e).split(' 0x')[0]}); copy or export it again, "
            "or give it uncompressed"
        ) from None
    except IsADirectoryError:
        raise DataError(f"{f.label}: is a folder, not a file; give the file's path in sources.yml") from None
    except PermissionError:
        raise DataError(f"{f.label}: cannot be read (permission denied); let this user read it") from None


def detect_encoding(f: SourceFile) -> str:
    """``f``'s declared ``encoding:``, else the one its byte-order mark shows, else ``utf-8``."""
    if f.encoding:
        return f.encoding
    with _reading(f) as fh:
        head = fh.read(4)
    return next((enc for bom, enc in _BOMS if head.startswith(bom)), "utf-8")


def _decoder(f: SourceFile, encoding: str) -> codecs.IncrementalDecoder:
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        raise DataError(
            f"{f.label}: unknown encoding {encoding!r:.60} in sources.yml (option `encoding`); "
            "use e.g. utf-8, latin-1, cp1252 or utf-16"
        )
    return info.incrementaldecoder()


#: The first bytes of binary formats a table is sometimes saved as by mistake (zip and xlsx, old Excel, PDF,
#: Parquet, SQLite, Avro, PNG): refused as not text even where their first block holds no NUL byte.
_BINARY_SIGNATURES = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0", b"%PDF", b"PAR1", b"SQLite format 3", b"Obj\x01", b"\x89PNG")


def looks_binary(head: bytes) -> bool:
    """Whether a file whose first bytes are ``head`` is binary data rather than a text table: a binary format's
    signature, or NUL bytes in more than one byte in a hundred. A stray NUL in one field of a text export is
    data, read as it is wherever it comes in the file (it refused the whole file when it came in the first 8 KB).

    >>> looks_binary(b"source,order_id\\nshop,1\\x002\\n" + b"shop,3\\n" * 20), looks_binary(b"PK\\x03\\x04 rest")
    (False, True)
    >>> looks_binary("source,order_id\\n".encode("utf-16-le"))  # UTF-16 without its byte-order mark
    True
    """
    return head.startswith(_BINARY_SIGNATURES) or head.count(b"\x00") * 100 > len(head)


def utf16_without_bom(head: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` when ``head`` looks like UTF-16 text without its byte-order mark (a NUL
    beside nearly every letter, on one side), else None.

    >>> utf16_without_bom("source,order_id\\n".encode("utf-16-le")), utf16_without_bom(b"source,order_id\\n")
    ('utf-16-le', None)
    """
    zeros = head.count(b"\x00")
    if not (zeros * 5 > 2 * len(head) and max(head[0::2].count(0), head[1::2].count(0)) * 10 > 9 * zeros):
        return None
    # little-endian: a NUL after each ASCII letter
    return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"


def _not_text(f: SourceFile, head: bytes = b"") -> DataError:
    wide = utf16_without_bom(head)
    if wide:
        return DataError(
            f"{f.label}: the file looks like UTF-16 text without a byte-order mark; declare its encoding in "
            f"sources.yml (`encoding: {wide}`) or export it as UTF-8"
        )
    return DataError(
        f"{f.label}: this is not a text table (it contains binary data); export the {f.table} table as CSV or Parquet"
    )


def _bad_bytes(f: SourceFile, encoding: str, line: int, reason: str) -> DataError:
    return DataError(
        f"{f.label}: the file is not valid {encoding} (line {line}: {reason}); export it as UTF-8, or declare "
        "its encoding in sources.yml, e.g. `encoding: cp1252` or `encoding: latin-1`"
    )


def _decoded(f: SourceFile, encoding: str) -> Iterator[str]:
    """The file's text, a block at a time; binary data or an invalid byte is a DataError with its line."""
    decoder = _decoder(f, encoding)
    wide = codecs.lookup(encoding).name.startswith(("utf-16", "utf-32"))
    lines = 1
    with _reading(f) as fh:
        first = True
        while chunk := fh.read(_CHUNK):
            if first and not wide and looks_binary(chunk[:8192]):
                raise _not_text(f, chunk[:8192])
            try:
                text = decoder.decode(chunk)
            except UnicodeDecodeError as e:
                raise _bad_bytes(f, encoding, lines + chunk[: e.start].count(b"\n"), e.reason) from None
            if first and text.startswith("\ufeff"):
                text = text[1:]
            first = False
            lines += text.count("\n")
            yield text
        try:
            yield decoder.decode(b"", final=True)
        except UnicodeDecodeError as e:
            raise _bad_bytes(f, encoding, lines, e.reason) from None


def head_lines(f: SourceFile, n: int) -> list[str]:
    """The first ``n`` lines of text file ``f``, read as :func:`readable` reads it (its encoding or byte-order
    mark, gzip or not; no byte-order mark in the text); only the first block is read for a few lines.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "orders.csv"
    >>> _ = p.write_bytes("sep=;\\nsource;order_id\\n".encode("utf-16"))
    >>> head_lines(SourceFile("orders", p), 1)
    ['sep=;']
    """
    text = ""
    for block in _decoded(f, detect_encoding(f)):
        text += block
        if text.count("\n") >= n:
            break
    return text.splitlines()[:n]


def _temp_dir() -> str | None:
    return os.environ.get("CX_TEMP_DIR") or None


@contextlib.contextmanager
def readable(f: SourceFile, blanks: list[int] | None = None) -> Iterator[Path]:
    """Check ``f`` and yield a path to it in UTF-8 (the file itself, or a temporary copy removed afterwards).

    With ``blanks`` (a list), the numbers of the file's empty lines outside quotes are added to it: the reader
    passes over them, so the rows after one are numbered by their line (:func:`blank_lines`)."""
    encoding = detect_encoding(f)
    if _known(encoding) and codecs.lookup(encoding).name == "utf-8":
        mixed, blank = _line_ends(f, encoding)
        if not mixed:
            if blank and blanks is not None:
                blanks.extend(blank_lines(f.path, f.delimiter))
            yield f.path  # checked: the reader reads UTF-8 and gzip itself
            return
    # a copy in UTF-8 with every line end LF: a CRLF export with one line edited by a tool that writes LF (or two
    # exports pasted together) stops the reader ("Error when sniffing file", or its state machine mid-file),
    # whatever the options say; the line numbers stay
    fd, tmp = tempfile.mkstemp(prefix="cx-", suffix=".csv", dir=_temp_dir())
    try:
        blank = False
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            carry = last = ""
            for text in _decoded(f, encoding):
                text, carry = carry + text, ""
                if text.endswith("\r"):  # its LF may start the next block (a CR alone is carried, nothing else)
                    text, carry = text[:-1], "\r"
                text = text.replace("\r\n", "\n")
                blank = blank or _empty_line(last + text[:2]) or _empty_line(text)
                last = text[-1:] or last
                out.write(text)
            out.write(carry)
        if blank and blanks is not None:
            blanks.extend(blank_lines(Path(tmp), f.delimiter))
        yield Path(tmp)
    finally:
        Path(tmp).unlink(missing_ok=True)


def _line_ends(f: SourceFile, encoding: str) -> tuple[bool, bool]:
    """``(mixed, blank)`` for UTF-8 file ``f``: whether it ends some lines with CRLF and others with LF alone, and
    whether it may have an empty line (read to the end: it also checks that every byte is UTF-8, and that the
    file is text)."""
    crlf = lf = 0
    blank = after_cr = False
    tail = ""
    for text in _decoded(f, encoding):
        n = text.count("\r\n") + (after_cr and text.startswith("\n"))
        crlf, lf = crlf + n, lf + text.count("\n") - n
        after_cr = text.endswith("\r")
        blank = blank or _empty_line(tail + text[:2]) or _empty_line(text)  # (the seam apart: no block copied)
        tail = text[-2:]
    return bool(crlf and lf), blank


def _empty_line(text: str) -> bool:
    """Whether ``text`` holds an empty line (two line ends in a row: LF, CRLF or CR alone)."""
    return "\n\n" in text or "\n\r\n" in text or "\r\r" in text


def blank_lines(path: Path, delimiter: str | None = None) -> list[int]:
    """The numbers of the empty lines of UTF-8 text file ``path`` (gzipped when it ends ``.gz``), counted as the
    reader counts lines: a row whose quoted value runs over several lines (a comment's paragraphs, an empty line
    among them) is one line; a quote inside a value (``12" pizza``) opens nothing. Read as CSV with ``delimiter``
    (default: the one of ``, ; tab |`` the first line holds most of); nothing when it does not read.

    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text('a,b\\n1,2" x\\n\\n3,"x\\n\\ny"\\n\\n4,5\\n')
    >>> blank_lines(p)
    [3, 5]
    """
    limit = csv.field_size_limit()
    try:
        with text_lines(path) as fh:
            first = fh.readline()
            delimiter = delimiter or max(",;\t|", key=first.count)
            fh.seek(0)
            csv.field_size_limit(1 << 30)  # a long text value is a value (the reader takes lines of 128 MB)
            return [i for i, row in enumerate(csv.reader(fh, delimiter=delimiter), 1) if not row]
    except (csv.Error, OSError, EOFError, zlib.error):
        return []
    finally:
        csv.field_size_limit(limit)


def _known(encoding: str) -> bool:
    try:
        codecs.lookup(encoding)
    except LookupError:
        return False
    return True


def text_lines(path: Path) -> IO[str]:
    """UTF-8 file ``path`` open for reading as text (gunzipped when it ends ``.gz``), line ends as they are."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    return opener(path, "rt", encoding="utf-8", errors="replace", newline="")  # type: ignore[return-value]


def _line_of(path: Path, original: str) -> int | None:
    """The 1-based number of the first line of ``path`` that is ``original`` (the reader's line numbers can be off)."""
    try:
        with text_lines(path) as fh:
            for i, line in enumerate(fh, 1):
                if line.rstrip("\r\n") == original:
                    return i
    except (OSError, EOFError, zlib.error):
        return None
    return None


def reader_error(f: SourceFile, path: Path, error: Exception) -> DataError:
    """A reader error as a DataError naming the file, the real line and the cause, without the line's text."""
    lines = str(error).splitlines()
    head = lines[0] if lines else str(error)
    m = re.search(r"on Line: (\d+)", head)
    line = int(m.group(1)) if m else None
    original = next((x[len("Original Line: ") :] for x in lines if x.startswith("Original Line: ")), None)
    if original is not None:
        line = _line_of(path, original) or line
    causes = [] if m else [re.sub(r"^[A-Za-z ]*Error: ", "", head)]
    for x in lines[1:] if m else []:
        if x.startswith("  ") or not x.strip():
            if causes:
                break
            continue
        if x.startswith(("Original Line", "Possible Solution")):
            continue
        causes.append(x.strip())
    cause = " ".join(causes) or "unreadable"
    where = f"line {line}: " if line else ""
    return DataError(
        f"{f.label}: cannot be read as a CSV table ({where}{cause[:300]}); check that it is a delimited text "
        "file with a header row (set `delimiter:` in sources.yml if needed)"
    )


def excel_separator(f: SourceFile) -> str | None:
    """The delimiter a first line ``sep=X`` declares (Excel's convention), if the file starts with one."""
    first = head_lines(f, 1)
    m = re.fullmatch(r"sep=(.)\s*", first[0]) if first else None
    return m.group(1) if m else None
