"""Writing what :mod:`cxlib.io.recognise` found as a commented ``sources.yml``, and checking it loads.

Every value goes through ``yaml.safe_dump`` (a file or column name with ``#``, ``:``, quotes or a leading
``-`` is quoted); every name in a comment has its control characters escaped, so no name can end a comment
line or start a key. Entries the loader would refuse as they are (guesses, files with control characters in
column names) are written as comments at the end, to complete and uncomment.

Examples
--------
>>> import yaml
>>> from pathlib import Path
>>> from cxlib.io.recognise import Recognition
>>> r = Recognition(Path("/w/a#b.csv"), "canonical layout", "orders", "high", {"source": "x: y"})
>>> text = render(Path("/w"), [r], [])
>>> yaml.safe_load(text)["tables"]["orders"]
[{'file': 'a#b.csv', 'source': 'x: y'}]
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import yaml

from cxlib.io.ga4 import export_day
from cxlib.io.recognise import Recognition, _show
from cxlib.io.sources import find_sources
from cxlib.io.sql import control_character
from cxlib.schema import TABLES, DataError

__all__ = ["check_suggestion", "render"]

_HEADER = """\
# sources.yml suggested by `cx sources`: review it before `cx load`.
# Each file says what it was recognised as, with what confidence, and what to check.
# Entries that need your mapping first are commented out at the end: complete them, then uncomment.
# Every option is described in docs/sources.md.
"""


def _clean(value: object) -> object:
    """``value`` with control characters in its texts escaped (for entries written as comments)."""
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, str) and control_character(value):
        return _show(value, 10_000)
    return value


def _dump(entry: dict) -> list[str]:
    text = yaml.safe_dump([entry], sort_keys=False, allow_unicode=True, default_flow_style=False, width=10**6)
    return text.rstrip("\n").split("\n")


def _ga4_globs(folder: Path, found: list[Recognition]) -> dict[Path, str]:
    """One ``events_*`` glob per folder of two or more GA4 daily files (every ``events_*`` file there is GA4),
    or ``events_*/*`` where each day is a folder of shards (``events_20240101/000000000000.parquet``)."""
    by_dir: dict[tuple[Path, str, str], list[Path]] = {}
    for r in found:
        if r.entry.get("format") != "ga4":
            continue
        suffix = "".join(r.path.suffixes[-1:])
        if r.path.name.startswith("events_"):
            by_dir.setdefault((r.path.parent, suffix, f"events_*{suffix}"), []).append(r.path)
        elif export_day(r.path):
            by_dir.setdefault((r.path.parent.parent, suffix, f"events_*/*{suffix}"), []).append(r.path)
    globs = {}
    for (parent, _suffix, tail), paths in by_dir.items():
        rel_dir = parent.relative_to(folder).as_posix()
        others = [p for p in parent.glob(tail) if p not in paths]
        if len(paths) < 2 or others or re.search(r"[*?\[]", rel_dir):
            continue
        pattern = tail if rel_dir == "." else f"{rel_dir}/{tail}"
        for p in paths:
            globs[p] = pattern
    return globs


def _comments(r: Recognition, rel: str, extra: str = "") -> list[str]:
    what = r.label if r.table else "not recognised"
    lines = [f"# {_show(rel)}{extra}: {_show(what)} (confidence: {r.confidence})"]
    if r.matched:
        lines.append(f"#   recognised by: {_show(', '.join(r.matched[:10]), 200)}")
    lines += [f"#   check: {_show(n, 400)}" for n in r.notes]
    return lines


def render(folder: Path, found: list[Recognition], skipped: list[str]) -> str:
    """The commented ``sources.yml`` text for the recognitions of files under ``folder``."""
    globs = _ga4_globs(folder, found)
    active: dict[str, list[str]] = {}
    waiting: list[str] = []
    done: set[tuple[str, str | None]] = set()
    for r in sorted(found, key=lambda r: r.path.as_posix()):
        rel = r.path.relative_to(folder).as_posix()
        file = globs.get(r.path, rel)
        sheet = r.entry.get("sheet")
        if (file, sheet) in done:
            continue
        done.add((file, sheet))
        unit = "files" if "events_*/" in file else "days"  # a folder of shards a day
        extra = f" (+{sum(1 for g in globs.values() if g == file) - 1} more {unit})" if r.path in globs else ""
        extra += f" (sheet {sheet!r})" if sheet is not None else ""
        lines = _comments(r, file if r.path in globs else rel, extra)
        if r.table is None:
            waiting += [*lines, ""]
        elif r.active:
            active.setdefault(r.table, []).extend([*lines, *_dump({"file": file, **r.entry}), ""])
        else:
            body = _dump(_clean({"file": file, **r.entry}))
            waiting += [*lines, f"#   {r.table}:", *(f"#     {x}" for x in body), ""]
    out = [_HEADER, "tables:" if active else "tables: {}"]
    for table in (t for t in TABLES if t in active):
        out.append(f"  {table}:")
        out += [f"    {x}" if x else "" for x in active[table]]
    if waiting:
        out += ["", "# --- to complete (not loaded until uncommented under tables:) ---", *waiting]
    if skipped:
        out += ["# --- files skipped ---", *(f"# {_show(s, 300)}" for s in skipped)]
    return "\n".join(out).rstrip("\n") + "\n"


def check_suggestion(text: str) -> None:
    """Raise DataError unless ``text`` reads with :func:`cxlib.io.find_sources` (as a folder's sources.yml)."""
    with tempfile.TemporaryDirectory(prefix="cx-sources-") as tmp:
        (Path(tmp) / "sources.yml").write_text(text, encoding="utf-8")
        try:
            find_sources(tmp)
        except DataError as e:  # pragma: no cover - a bug in cx sources, never the user's data
            raise DataError(f"cx sources wrote a sources.yml the loader refuses ({e}); please report it") from None
