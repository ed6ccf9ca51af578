"""What ``cx load`` read, so that a reader can tell when the source files changed since: :func:`fingerprint`.

The load records, in its lineage row (:mod:`cxlib.lineage`), each file it read -- ``sources.yml`` and every file
the mapping names, globs expanded -- with its size, its modification time and a hash of its first and last 64
KB. :func:`changed` compares that with the folder now: a file added, removed, of another size, or with another
time and other bytes at either end has changed (a copy of the folder that kept the bytes but not the times has
not; an edit inside a file that keeps its size and both ends is not seen). A folder that holds none of the files
(``workspace.duckdb`` shared or moved alone) has nothing to compare: nothing changed.

Examples
--------
>>> import tempfile, pathlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> _ = (ws / "orders.csv").write_text("source,order_id,ts,amount,status\\nshop,1,2024-03-01,10,completed\\n")
>>> before = fingerprint(ws)
>>> changed(ws, before)
[]
>>> _ = (ws / "orders.csv").write_text("source,order_id,ts,amount,status\\n")
>>> changed(ws, before)
['orders.csv']
>>> changed(pathlib.Path(tempfile.mkdtemp()), before)  # the workspace file alone, elsewhere
[]
"""

from __future__ import annotations

import glob
import hashlib
import json
from pathlib import Path

__all__ = ["changed", "fingerprint", "source_paths"]

#: Bytes hashed at each end of a file
_END = 64 << 10
#: How a recorded fingerprint starts (a load recorded before this module: no files, never stale for them)
_KIND = "files:"


def source_paths(folder: str | Path) -> list[Path]:
    """``sources.yml`` (when there is one) and every file the workspace's mapping names, sorted."""
    from cxlib.io.sources import find_sources

    ws = Path(folder)
    out = {ws / "sources.yml"} if (ws / "sources.yml").exists() else set()
    for f in find_sources(ws):
        text = str(f.path)
        out |= {Path(p) for p in glob.glob(text)} if glob.has_magic(text) else {f.path}
    return sorted(p for p in out if p.is_file())


def _ends(p: Path, size: int) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    with p.open("rb") as fh:
        h.update(fh.read(_END))
        if size > 2 * _END:
            fh.seek(size - _END)
            h.update(fh.read(_END))
    return h.hexdigest()[:16]


def _entry(p: Path) -> list:
    st = p.stat()
    return [st.st_size, st.st_mtime_ns, _ends(p, st.st_size)]


def fingerprint(folder: str | Path) -> str:
    """What :func:`changed` compares: each source file (path in the folder) with its size, time and ends."""
    ws = Path(folder)
    files = {p.relative_to(ws).as_posix() if p.is_relative_to(ws) else str(p): _entry(p) for p in source_paths(ws)}
    return _KIND + json.dumps(files, sort_keys=True, separators=(",", ":"))


def changed(folder: str | Path, recorded: str) -> list[str]:
    """The source files of ``folder`` that differ from :func:`fingerprint`'s ``recorded`` text (added, removed or
    changed), sorted; empty when none is, or when ``recorded`` is not such a fingerprint."""
    if not recorded or not recorded.startswith(_KIND):
        return []
    ws = Path(folder)
    then: dict[str, list] = json.loads(recorded[len(_KIND) :])
    now = {p.relative_to(ws).as_posix() if p.is_relative_to(ws) else str(p): p for p in source_paths(ws)}
    if then and not set(then) & set(now):  # none of them here: the workspace file moved without its sources
        return []
    out = sorted(set(then) ^ set(now))
    for name in sorted(set(then) & set(now)):
        size, mtime, ends = then[name]
        st = now[name].stat()
        if st.st_size != size or (st.st_mtime_ns != mtime and _ends(now[name], st.st_size) != ends):
            out.append(name)
    return sorted(out)
