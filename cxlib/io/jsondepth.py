"""How deep a JSON file nests, measured before the engine reads it.

DuckDB's JSON reader (1.5) crashes the whole process -- a segmentation fault, not an error -- on a value nested
about 100,000 levels deep (70,000 read; a worker thread's smaller stack may fail sooner). A load would die
with no message and leave its half-written database behind. So every JSON file is scanned first, in chunks of
bytes with numpy (strings and escaped quotes respected: brackets inside a string do not count), and a file
nested deeper than :data:`MAX_NESTING` is refused with the line that goes too deep.

Examples
--------
>>> import pathlib, tempfile
>>> p = pathlib.Path(tempfile.mkdtemp()) / "e.ndjson"
>>> _ = p.write_text('{"a": "[[[[[", "b": [1, [2]]}\\n{"c": ' + "[" * 50 + "]" * 50 + "}\\n")
>>> too_deep(p, limit=10), too_deep(p, limit=100), too_deep(p, limit=10, lines=True)
(2, None, 2)
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

#: the deepest a JSON value may nest for the engine to read it (GA4 rows nest 3 deep; 10,000 is far from both)
MAX_NESTING = 10_000
_CHUNK = 1 << 22  # 4 MB of the file at a time
_QUOTE, _BACKSLASH, _NEWLINE = 34, 92, 10
_OPEN, _CLOSE = (91, 123), (93, 125)  # [ {  and  ] }


def too_deep(path: str | Path, limit: int = MAX_NESTING, lines: bool = False) -> int | None:
    """The line (from 1) where the JSON in ``path`` (gzipped when its name ends ``.gz``) first nests deeper than
    ``limit``, or None. Counts every ``[`` and ``{`` outside strings, so it reads any layout: one document
    over many lines, or one object per line.

    ``lines``: the file is read as newline-delimited JSON, each line on its own (as the engine reads it with
    ``format='newline_delimited'``). Then only a line longer than ``limit`` bytes can nest deeper than
    ``limit``, and only such lines are scanned: a file of ordinary lines costs one look for its newlines
    (a dense GA4-like file: about 2.5 GB/s, against about 110 MB/s for scanning every byte).
    """
    path = Path(path)
    try:
        with _open(path) as fh:
            return _long_lines(fh, limit) if lines else _scan(iter(lambda: fh.read(_CHUNK), b""), limit)
    except _UNREADABLE:  # not what its name says (a .gz that is not gzip), cut short: the reader names it
        return None


def one_per_line(path: str | Path) -> bool:
    """Whether the ``.json`` file at ``path`` holds one object per line (newline-delimited, as BigQuery exports
    GA4 under a ``.json`` name): its first line is a whole JSON object. The reader is then told so (not left to
    guess), and :func:`too_deep` reads it line by line, as the reader does; an array or an object written over
    many lines is read, and scanned, as one document.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.json").write_text('{"a": 1}\\n{"a": 2}\\n'); _ = (d / "b.json").write_text('{\\n "a": 1\\n}\\n')
    >>> one_per_line(d / "a.json"), one_per_line(d / "b.json")
    (True, False)
    """
    try:
        with _open(Path(path)) as fh:
            first = fh.readline(_CHUNK).lstrip(b"\xef\xbb\xbf \t\r\n")  # a byte-order mark, blank lines
    except _UNREADABLE:
        return False
    if not first.startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except (ValueError, RecursionError):  # not whole on its line (or past Python's own depth)
        return False


#: what reading a file that is not what its name says raises (the reader then says so, by its file)
_UNREADABLE = (OSError, EOFError, zlib.error)


def _open(path: Path) -> BinaryIO:
    return gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115


def _scan(chunks: Iterable[bytes], limit: int) -> int | None:
    """:func:`too_deep` of the bytes ``chunks`` make, read in order."""
    state = _State()
    for chunk in chunks:
        line = state.scan(chunk, limit)
        if line is not None:
            return line
    return None


def _long_lines(fh: BinaryIO, limit: int) -> int | None:
    """:func:`too_deep` of a newline-delimited file: each line longer than ``limit`` bytes scanned on its own.
    A line is kept while it is short; once longer than ``limit`` it is scanned as it is read (a file of one
    line of a gigabyte is read once, not copied again for every chunk)."""
    line, seen = _Line(limit), 0  # the line being read; the lines before it
    while chunk := fh.read(_CHUNK):
        ends = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == _NEWLINE)
        if len(ends) == 0:
            if line.add(chunk):
                return seen + 1
            continue
        if line.add(chunk[: ends[0]]):  # the rest of the line the last chunk ended in
            return seen + 1
        starts = ends[:-1] + 1
        for i in np.flatnonzero(ends[1:] - starts > limit):
            if _scan(_slices(chunk[starts[i] : ends[i + 1]]), limit) is not None:
                return seen + int(i) + 2
        seen += len(ends)
        line = _Line(limit)
        if line.add(chunk[ends[-1] + 1 :]):
            return seen + 1
    return None


class _Line:
    """One line of a newline-delimited file as it is read: kept while it is ``limit`` bytes or shorter (it
    cannot nest deeper), scanned from then on."""

    def __init__(self, limit: int) -> None:
        self.limit, self.kept, self.state = limit, b"", None

    def add(self, part: bytes) -> bool:
        """Read on; whether the line has gone deeper than the limit."""
        if self.state is None:
            self.kept += part
            if len(self.kept) <= self.limit:
                return False
            part, self.kept, self.state = self.kept, b"", _State()
        return any(self.state.scan(p, self.limit) is not None for p in _slices(part))


def _slices(data: bytes) -> Iterator[bytes]:
    return (data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK))


class _State:
    """What a scan carries from one chunk to the next: the depth, whether it ends inside a string, the
    backslashes it ends with, and the lines it has passed."""

    def __init__(self) -> None:
        self.depth, self.in_string, self.backslashes, self.lines = 0, 0, 0, 0

    def scan(self, chunk: bytes, limit: int) -> int | None:
        """Read one chunk; the line where it goes deeper than ``limit``, or None. Only the bytes that matter
        (quotes, backslashes, brackets: coded by one ``bytes.translate``) are looked at one by one."""
        codes = np.frombuffer(chunk.translate(_CODES), dtype=np.int8)
        at = np.flatnonzero(codes)
        v = codes[at]
        quote = v == _Q
        if b'\\"' in chunk or (self.backslashes and chunk[:1] == b'"'):  # a quote may be escaped: rare
            quote = self._unescaped(codes, at, v, quote)
        trailing = len(chunk) - len(chunk.rstrip(b"\\"))  # the next chunk may start with an escaped quote
        self.backslashes = trailing + (self.backslashes if trailing == len(chunk) else 0)
        inside = (np.cumsum(quote, dtype=np.int32) + self.in_string) & 1
        step = np.where((v <= 1) & (inside == 0), v, 0).astype(np.int32)  # -1, 0 or 1 (a bracket outside strings)
        depth = np.cumsum(step, dtype=np.int32) + self.depth
        if len(depth) and depth.max() > limit:
            return self.lines + chunk.count(b"\n", 0, int(at[np.argmax(depth > limit)])) + 1
        if len(depth):
            self.depth, self.in_string = int(depth[-1]), int(inside[-1])
        self.lines += chunk.count(b"\n")
        return None

    def _unescaped(self, codes: np.ndarray, at: np.ndarray, v: np.ndarray, quote: np.ndarray) -> np.ndarray:
        """The quotes not escaped: those without an odd run of backslashes right before (counting the last
        chunk's trailing ones for a quote first in this one). Works on the backslashes and such quotes only."""
        qidx = np.flatnonzero(quote)
        qpos = at[qidx]
        after = qpos > 0
        cand = qidx[~after] if self.backslashes else qidx[:0]  # a quote first in the chunk
        runs = np.full(len(cand), self.backslashes)
        behind = qidx[after][codes[qpos[after] - 1] == _B]  # quotes right after a backslash
        if len(behind):
            bpos = at[v == _B]
            follows = np.empty(len(bpos), dtype=bool)  # a backslash right after another (or the last chunk's)
            follows[0] = bpos[0] == 0 and self.backslashes > 0
            follows[1:] = bpos[1:] == bpos[:-1] + 1
            k = np.arange(len(bpos))
            start = np.maximum.accumulate(np.where(follows, -1, k))  # where each run starts (-1: the last chunk)
            run = k - np.maximum(start, 0) + 1 + np.where(start < 0, self.backslashes, 0)
            cand = np.concatenate([cand, behind])
            runs = np.concatenate([runs, run[np.searchsorted(bpos, at[behind] - 1)]])
        out = quote.copy()
        out[cand[runs % 2 == 1]] = False
        return out


_Q, _B = 2, 3
#: ``bytes.translate`` table: ``[ {`` to 1, ``] }`` to -1 (255), a quote to 2, a backslash to 3, any other byte 0
_CODES = bytes(
    1 if c in _OPEN else 255 if c in _CLOSE else _Q if c == _QUOTE else _B if c == _BACKSLASH else 0 for c in range(256)
)
