"""``cx sources``: recognise the exports in a folder and suggest a commented ``sources.yml``.

Only the header and a few rows of each file are read (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``, and
``.json``/``.ndjson`` GA4 exports), in the folder and its subfolders; hidden files, ``workspace.duckdb``,
``sources.yml`` and files that cannot be read are skipped (and listed). Each file is matched against the
common exports of :mod:`cxlib.io.vendors`, then against the canonical layout (files named after the tables
or with their columns), else the table its column names overlap most is suggested as a guess, commented
out, with the columns left for the user to map.

Every entry is checked with the loader's own column mapping (:func:`cxlib.io.read.map_columns`): one the
loader would refuse is written commented out with the reason, so the suggested file always loads with
:func:`cxlib.io.find_sources`. File and column names are data: the YAML is written with ``yaml.safe_dump``
(any name is quoted as needed) and names in comments have their control characters escaped.

Examples
--------
>>> import tempfile, pathlib
>>> ws = pathlib.Path(tempfile.mkdtemp())
>>> _ = (ws / "zendesk.csv").write_text(
...     "Id,Requester,Requester email,Subject,Status,Via,Created at,Solved at\\n"
...     "1,Ann,ann@example.com,Late parcel,Solved,Mail,2024-03-01 10:00,2024-03-02 09:00\\n")
>>> r = recognise(ws / "zendesk.csv")
>>> r.label, r.table, r.entry["columns"]["ticket_id"]
('Zendesk tickets export', 'tickets', 'Id')
>>> [line for line in suggest_sources(ws).splitlines() if "- file:" in line]
['    - file: zendesk.csv']
"""

from __future__ import annotations

import gzip
import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import duckdb

from cxlib.io.dates import date_notes
from cxlib.io.files import file_kind, read_json_file, read_xlsx, sheet_names
from cxlib.io.keys import DERIVABLE_KEYS
from cxlib.io.read import map_columns
from cxlib.io.sources import _SUFFIXES, SourceFile, _norm
from cxlib.io.sql import control_character, glob_escaped
from cxlib.io.text import looks_binary, utf16_without_bom
from cxlib.io.vendors import Head, best_match
from cxlib.schema import TABLES, DataError

__all__ = ["Recognition", "recognise", "suggest_sources"]

_READ = (*_SUFFIXES, ".avro")  # every file the loader reads (Avro: GA4's export only)
_SKIP = ("workspace.duckdb", "sources.yml", "plans.json")  # plans.json: the saved plans (cxlib.simulate.plans)
_HEAD_BYTES = 256 << 10
_GA4_DAY = re.compile(r"^events_(intraday_)?\d{8}\.")  # a GA4 export's daily file name
_GA4_SHARDS = re.compile(r"^events_(intraday_)?\d{8}$")  # ... or its folder of shards
_SAMPLE_ROWS = 50


@dataclass
class Recognition:
    """What ``cx sources`` made of one file.

    ``table`` is None for a file no table fits; ``entry`` is its ``sources.yml`` entry without ``file``;
    ``active`` is False when the entry is only a suggestion to complete (written commented out).
    """

    path: Path
    label: str
    table: str | None
    confidence: str
    entry: dict = field(default_factory=dict)
    matched: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    active: bool = True


def _suffix(path: Path) -> str:
    name = path.name.lower()
    return next((s for s in sorted(_READ, key=len, reverse=True) if name.endswith(s)), "")


def _head_text(path: Path) -> tuple[str, str | None]:
    """The first ``_HEAD_BYTES`` of a text file as text (whole lines), and the encoding to declare, if any."""
    opener = gzip.open if path.name.lower().endswith(".gz") else open
    with opener(path, "rb") as fh:
        raw = fh.read(_HEAD_BYTES)
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, enc = raw.decode("utf-16", errors="ignore"), None  # the loader detects the byte-order mark
    else:
        try:
            text, enc = raw.decode("utf-8-sig"), None
        except UnicodeDecodeError as e:
            if e.start >= len(raw) - 4:  # a character cut at the end of the sample
                text, enc = raw[: e.start].decode("utf-8-sig"), None
            else:
                text, enc = raw.decode("cp1252", errors="replace"), "cp1252"
    if not raw.startswith((b"\xff\xfe", b"\xfe\xff")) and looks_binary(raw[:8192]):
        wide = utf16_without_bom(raw[:8192])
        if not wide:
            raise DataError("binary data, not a text table")
        text, enc = raw[: len(raw) // 2 * 2].decode(wide, errors="ignore"), wide  # declared: no mark to find it by
    if len(raw) == _HEAD_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text, enc


def _avro_head(path: Path) -> Head:
    """The first rows of an Avro file (nested values as text)."""
    import itertools

    import fastavro

    try:
        with path.open("rb") as fh:
            rows = list(itertools.islice(fastavro.reader(fh), _SAMPLE_ROWS))
    except (ValueError, EOFError, StopIteration) as e:
        raise DataError(f"{path.name}: cannot be read as Avro ({type(e).__name__})") from None
    cols = list(dict.fromkeys(k for r in rows for k in r))
    return Head(cols, [{c: (None if r.get(c) is None else str(r.get(c))) for c in cols} for r in rows])


def _read_head(con: duckdb.DuckDBPyConnection, path: Path, sheet: str | None = None) -> tuple[Head, str | None]:
    """The file's columns and first rows as text; the encoding to declare (None: UTF-8 or a byte-order mark).
    ``sheet``: the workbook's sheet to read (default: the first)."""
    suffix, kind = _suffix(path), file_kind(path)  # how the loader reads it: the same reader here
    if suffix == ".avro":
        return _avro_head(path), None
    if kind == "parquet":
        return _head(con, "SELECT * FROM read_parquet($p)", {"p": glob_escaped(str(path))}), None
    if kind in ("xlsx", "json"):
        f = SourceFile(table="events", path=path, sheet=sheet)
        if kind == "xlsx":
            read_xlsx(con, f, "_cx_head")  # a whole sheet (Excel holds at most 1,048,576 rows)
        else:
            read_json_file(con, f, "_cx_head", limit=_SAMPLE_ROWS)
        try:
            head = _head(con, "SELECT * EXCLUDE (_row) FROM _cx_head" if kind == "xlsx" else "FROM _cx_head")
        finally:
            con.execute("DROP TABLE IF EXISTS _cx_head")
        return head, None
    text, enc = _head_text(path)
    fd, tmp = tempfile.mkstemp(prefix="cx-head-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        opts = {"p": tmp}
        delim = "\t" if suffix == ".tsv" else None
        sql = "SELECT * FROM read_csv($p, all_varchar=true, header=true, ignore_errors=true"
        if delim:
            sql += ", delim=$d"
            opts["d"] = delim
        head = _head(con, sql + ")", opts)
        if not delim:
            # sniffed as the columns above were read, passing over unreadable lines: a strict sniff of a
            # comma file with one cut or overlong line (a truncated download) answered '|' or ';', which
            # went into sources.yml and made `cx load` read the file as one column
            found = con.execute(
                "SELECT Delimiter FROM sniff_csv($p, all_varchar=true, header=true, ignore_errors=true)", {"p": tmp}
            ).fetchone()
            delim = found[0] if found else None
        head.delimiter = delim
        return head, enc
    finally:
        Path(tmp).unlink(missing_ok=True)


def _head(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> Head:
    """The columns and first :data:`_SAMPLE_ROWS` rows of query ``sql``: only those are read (``con.sql`` with
    parameters runs its whole query at once: a 1M-customer events file held 4 GB of memory)."""
    cur = con.execute(f"SELECT * FROM ({sql}) LIMIT {_SAMPLE_ROWS}", params or {})
    cols = [d[0] for d in cur.description]
    rows = cur.fetchall()
    return Head(cols, [{c: (None if v is None else str(v)) for c, v in zip(cols, r, strict=True)} for r in rows])


def recognise(
    path: str | Path, con: duckdb.DuckDBPyConnection | None = None, sheet: str | None = None
) -> Recognition:
    """What one file is: a known export, a file in the canonical layout, or a guess.

    Parameters
    ----------
    path : str or Path
        A data file the loader reads (``.csv``, ``.csv.gz``, ``.tsv``, ``.parquet``, ``.xlsx``, JSON/NDJSON).
    con : duckdb connection, optional
        Reused to read many files.
    sheet : str, optional
        The sheet of a workbook to look at (default: the first); it is written into the entry.

    Returns
    -------
    Recognition
        ``table`` None when nothing fits; ``active`` False for a suggestion the loader would refuse as it is.

    Raises
    ------
    DataError
        When the file cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "export.csv"
    >>> _ = p.write_text("Record ID,First Name,Last Name,Email,Create Date\\n1,Ann,Lee,a@x.com,2024-01-02\\n")
    >>> r = recognise(p)
    >>> r.label, r.table, r.confidence, r.active
    ('HubSpot contacts export', 'contacts', 'high', True)
    """
    path = Path(path)
    own = con is None
    con = con or duckdb.connect()
    try:
        try:
            head, enc = _read_head(con, path, sheet)
        except (duckdb.Error, OSError, UnicodeError) as e:
            raise DataError(f"{path.name}: cannot be read ({str(e).splitlines()[0][:120]})") from None
    finally:
        if own:
            con.close()
    r = _classify(path, head)
    if sheet is not None:
        r.entry = {"sheet": sheet, **r.entry}
    if _suffix(path) == ".avro" and r.entry.get("format") != "ga4":
        r.notes.append("Avro files are read as GA4 exports only: export this one as CSV or Parquet")
        r.active = False
    if enc:
        r.entry["encoding"] = enc
        r.notes.append(f"the file is not UTF-8: read as {enc} (check accented letters)")
    if head.delimiter and head.delimiter != "," and r.table:
        r.entry["delimiter"] = head.delimiter
    bad = [i + 1 for i, c in enumerate(head.columns) if control_character(c)]
    if bad:
        r.notes.append(f"column(s) {', '.join(map(str, bad))} have a control character in the name: rename them")
        r.active = False
    if r.table and r.entry.get("format") != "ga4":
        r.notes += date_notes(head, r, TABLES[r.table])
        _check_entry(path, head, r)
    return r


def _classify(path: Path, head: Head) -> Recognition:
    canonical = _canonical(path, head, strict=True)
    if canonical is not None:
        return canonical
    m = best_match(head)
    if m is not None:
        return Recognition(path, m.label, m.table, m.confidence, m.entry, m.matched, m.notes, head.columns)
    return _canonical(path, head, strict=False) or _guess(path, head)


def _tables() -> list[str]:
    return [n for n in TABLES if n != "order_lines"]


def _canonical(path: Path, head: Head, strict: bool) -> Recognition | None:
    """A file with every required column of a table (``strict``), or named after a table and with its
    required columns but the key and ``source`` (which the loader derives), read as it is."""
    norms = head.norms()
    stem = _norm(path.name.split(".")[0])
    for name in _tables():
        t = TABLES[name]
        needed = {c for c in t.required if c not in ("source", *DERIVABLE_KEYS)}
        if name == "enrichment" and not {"email_sha256", "postcode"} & norms:
            continue
        if set(t.required) <= norms if strict else (needed <= norms and stem == name):
            matched = [c for c in head.columns if _norm(c) in t.names]
            return Recognition(path, "canonical layout", name, "high", {}, matched,
                               [f"columns named as in the {name} table"], head.columns)  # fmt: skip
    return None


def _guess(path: Path, head: Head) -> Recognition:
    """The table whose column names overlap the file's most (``source`` alone does not count)."""
    norms = head.norms()
    scored = sorted(
        ((len(norms & set(TABLES[n].names) - {"source"}), -i, n) for i, n in enumerate(_tables())), reverse=True
    )
    score, _, name = scored[0]
    if score == 0 and _norm(path.name.split(".")[0]) not in _tables():
        return Recognition(path, "not recognised", None, "none", {}, [], [], head.columns, active=False)
    name = _norm(path.name.split(".")[0]) if score == 0 else name
    t = TABLES[name]
    shared = [c for c in head.columns if _norm(c) in t.names]
    missing = [c for c in t.required if _norm(c) not in norms]
    notes = [
        "GUESS: not a known export; "
        + (f"columns shared with {name}: {', '.join(shared)}" if shared else f"named like the {name} table"),
        f"map the required columns under columns: ({', '.join(missing)}), set source:, then uncomment",
    ]
    return Recognition(path, "unknown export", name, "low", {}, shared, notes, head.columns, active=False)


def _check_entry(path: Path, head: Head, r: Recognition) -> None:
    """Leave ``r`` active only if the loader maps its columns; note what is mapped by name and what is not."""
    f = entry_source_file(r.table, path, r.entry)
    try:
        mapping = map_columns(f, TABLES[r.table], [c for c in head.columns if not control_character(c)])
    except (DataError, ValueError) as e:
        if r.active:
            r.notes.append(f"the loader would refuse it as it is: {str(e).split(': ', 1)[-1][:300]}")
        r.active = False
        return
    by_name = [c for c in mapping if c not in r.entry.get("columns", {})]
    if by_name and r.entry.get("columns"):
        r.notes.append(f"also mapped by name: {', '.join(f'{c} <- {mapping[c]}' for c in by_name)}")
    unmapped = [c for c in head.columns if c not in mapping.values()]
    if unmapped:
        more = f" (+{len(unmapped) - 12} more)" if len(unmapped) > 12 else ""
        r.notes.append(f"kept as extra columns: {', '.join(unmapped[:12])}{more}")


def entry_source_file(table: str, path: Path, entry: dict) -> SourceFile:
    """The :class:`SourceFile` an entry describes (the options the column mapping needs)."""
    return SourceFile(
        table, path, dict(entry.get("columns") or {}), entry.get("source"), lines=bool(entry.get("lines")),
        constants=dict(entry.get("constants") or {}),
    )  # fmt: skip


def _files(folder: Path) -> tuple[list[Path], list[str]]:
    """The data files under ``folder`` (sorted) and notes on what was skipped."""
    found, skipped = [], []
    for dirpath, dirnames, filenames in os.walk(folder):
        rel_dir = Path(dirpath).relative_to(folder)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        if rel_dir == Path(".") and "truth" in dirnames:
            dirnames.remove("truth")
            skipped.append("truth/ (the generator's answer key)")
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(".") or name in _SKIP or name.startswith("workspace.duckdb") or name.endswith(".bak"):
                continue
            if not _suffix(p):
                if any(name.lower().endswith(s) for s in _SUFFIXES):
                    skipped.append(f"{p.relative_to(folder).as_posix()} (not recognised by cx sources: map it by hand)")
                continue
            found.append(p)
    return found, skipped


def recognise_folder(folder: str | Path) -> tuple[list[Recognition], list[str]]:
    """Every data file under ``folder`` recognised, and notes on the files skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder} is not a folder; give the folder that holds your exports")
    files, skipped = _files(folder)
    out = []
    ga4_day: dict[tuple[Path, str], Recognition] = {}  # the first GA4 daily file of each folder and suffix
    con = duckdb.connect()
    try:
        for p in files:
            rel = p.relative_to(folder).as_posix()
            if control_character(rel):
                skipped.append(f"{_show(rel)} (the name has a control character: rename the file)")
                continue
            if p.stat().st_size == 0:
                skipped.append(f"{rel} (empty)")
                continue
            day = (p.parent, _suffix(p)) if _GA4_DAY.match(p.name) else None
            if day is None and _GA4_SHARDS.match(p.parent.name):  # a folder of shards per day
                day = (p.parent.parent, _suffix(p))
            if day in ga4_day:  # a GA4 export has a file per day (730 for two years): the first one tells
                out.append(replace(ga4_day[day], path=p))
                continue
            for sheet in _sheets(p):  # a workbook with several sheets: an entry per sheet
                where = rel if sheet is None else f"{rel} sheet {sheet!r}"
                try:
                    r = recognise(p, con, sheet)
                except DataError as e:
                    skipped.append(f"{where} ({str(e).split(': ', 1)[-1]})")
                    continue
                out.append(r)
                if day is not None and r.entry.get("format") == "ga4":
                    ga4_day[day] = r
    finally:
        con.close()
    return out, skipped


def _sheets(path: Path) -> list[str | None]:
    """The sheets of a workbook with more than one (each gets its own entry), else ``[None]``: the file as
    the loader reads it without ``sheet:``."""
    if file_kind(path) != "xlsx":
        return [None]
    try:
        names = sheet_names(path)
    except DataError:
        return [None]  # unreadable: recognise() says why
    return list(names) if len(names) > 1 else [None]


def _show(text: object, width: int = 100) -> str:
    """``text`` for a YAML comment: control characters escaped, on one line, cut to ``width``."""
    s = "".join(f"\\u{ord(ch):04x}" if control_character(ch) else ch for ch in str(text))
    return s if len(s) <= width else s[: width - 1] + "…"


def suggest_sources(folder: str | Path) -> str:
    """A commented ``sources.yml`` for the exports in ``folder``, as text (see :mod:`cxlib.io.recognise`).

    Examples
    --------
    >>> import tempfile, pathlib, yaml
    >>> ws = pathlib.Path(tempfile.mkdtemp())
    >>> header = "Id,FirstName,LastName,Email,AccountId,CreatedDate\\n"
    >>> _ = (ws / "Contacts.csv").write_text(header + "1,A,B,a@x.com,9,2024-01-01\\n")
    >>> yaml.safe_load(suggest_sources(ws))["tables"]["contacts"][0]["columns"]["record_id"]
    'Id'
    """
    from cxlib.io.suggest import render  # noqa: PLC0415

    found, skipped = recognise_folder(folder)
    return render(Path(folder), found, skipped)
