"""How deep a JSON file nests, measured before the engine reads it (:mod:`cxlib.io.jsondepth`): DuckDB's reader
crashes the process on a value nested about 100,000 deep."""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys

import pytest

from cxlib import io
from cxlib.io import jsondepth
from cxlib.io.jsondepth import too_deep
from cxlib.schema import DataError
from tests.test_io_exports import DAY1, _export, write


def nested(depth: int) -> str:
    """An object nested ``depth`` deep (itself one level)."""
    return '{"v": ' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


@pytest.mark.parametrize("lines", [False, True])
def test_brackets_in_strings_and_escaped_quotes_do_not_count(tmp_path, lines):
    p = tmp_path / "e.ndjson"
    rows = [{"t": "[" * 50, "u": '\\"' + "{" * 50, "w": "\\\\"}, {"x": "}" * 50 + "[" * 50}]
    p.write_text("".join(json.dumps(r) + "\n" for r in rows) + nested(20) + "\n")
    assert too_deep(p, limit=21, lines=lines) is None
    assert too_deep(p, limit=20, lines=lines) is None
    assert too_deep(p, limit=19, lines=lines) == 3  # the brackets inside strings did not count, the real ones did


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 22])
def test_a_chunk_boundary_anywhere_gives_the_same_answer(tmp_path, monkeypatch, chunk):
    """A chunk may end inside a string, between a backslash and the quote it escapes, or in a run of
    backslashes: the state carried to the next chunk keeps the count right."""
    monkeypatch.setattr(jsondepth, "_CHUNK", chunk)
    p = tmp_path / "e.json"
    p.write_text('[{"a": "x\\\\\\" [[[ \\\\", "b": [[[1]]]}, {"c": "\\\\\\\\\\"{{{{"}]')
    assert json.loads(p.read_text())  # valid JSON: the strings' brackets are text
    assert too_deep(p, limit=5) is None  # [ { [ [ [: five deep
    assert too_deep(p, limit=4) == 1


def test_one_document_over_many_lines_is_followed_across_them(tmp_path):
    """A pretty-printed document nests across lines: read as one (not line by line), its depth adds up."""
    p = tmp_path / "e.json"
    p.write_text("[\n" * 30 + "]\n" * 30)
    assert too_deep(p, limit=29) == 30
    assert too_deep(p, limit=30) is None


def test_lines_are_each_read_on_their_own_and_only_long_ones_scanned(tmp_path):
    p = tmp_path / "e.ndjson.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("\n".join([json.dumps({"a": i}) for i in range(1000)] + [nested(600), nested(5)]))  # no last \n
    assert too_deep(p, limit=600, lines=True) is None
    assert too_deep(p, limit=599, lines=True) == 1001
    p.write_bytes(gzip.compress((nested(5) + "\n" + nested(700)).encode()))
    assert too_deep(p, limit=600, lines=True) == 2  # the last line, without a newline


def test_a_deep_line_in_a_ga4_export_is_refused_by_day_file_and_line(tmp_path):
    _export(tmp_path, "events_20240301", DAY1, fmt="ndjson")
    day = tmp_path / "ga4" / "events_20240301.ndjson"
    day.write_text(day.read_text() + '{"event_name": "x", "event_params": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    write(tmp_path, "sources.yml", "tables:\n  events:\n    file: ga4/events_*.ndjson\n    format: ga4\n")
    line = len(DAY1) + 1
    with pytest.raises(DataError, match=rf"events_20240301\.ndjson: cannot be read as JSON \(line {line}: a value "):
        io.load(tmp_path, progress=False)
    # as a user runs it: a refusal (exit 2), not the engine's crash
    run = subprocess.run([sys.executable, "-m", "cxlib.cli", "load", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2 and "nested too deep" in run.stderr, run.stderr[-500:]


def _walk_depth(doc: str) -> int:
    """The depth by walking the characters one by one (the slow, obvious way)."""
    depth = deepest = 0
    inside = escaped = False
    for ch in doc:
        if inside:
            escaped, inside = (False, True) if escaped else (ch == "\\", ch != '"')
        elif ch == '"':
            inside = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def test_random_documents_cut_into_any_chunks_nest_as_deep_as_a_walk_says(monkeypatch, tmp_path):
    rng = random.Random(3)

    def value(depth: int):
        r = rng.random()
        if depth > 6 or r < 0.3:  # strings full of what the scan must not count
            return "".join(rng.choice(["\\", '"', "[", "]", "{", "}", "a"]) for _ in range(rng.randint(0, 8)))
        if r < 0.6:
            return [value(depth + 1) for _ in range(rng.randint(0, 3))]
        return {f"k{i}": value(depth + 1) for i in range(rng.randint(0, 3))}

    p = tmp_path / "e.json"
    for _ in range(60):
        doc = json.dumps(value(0))
        p.write_text(doc)
        deepest = _walk_depth(doc)
        for chunk in (1, 2, 3, 7, 64):
            monkeypatch.setattr(jsondepth, "_CHUNK", chunk)
            assert too_deep(p, limit=deepest) is None and too_deep(p, limit=deepest - 1) == 1, (doc, chunk)


@pytest.mark.parametrize("chunk", [1, 5, 64, 1 << 22])
def test_lines_cut_into_any_chunks_are_numbered_the_same(monkeypatch, tmp_path, chunk):
    """A line may start in one chunk and end several later; a long one is scanned as it is read."""
    monkeypatch.setattr(jsondepth, "_CHUNK", chunk)
    p = tmp_path / "e.ndjson"
    text = "\n".join([json.dumps({"a": "[" * 40}), nested(30), '{"b": "' + "x" * 300 + '"}', nested(45), nested(2)])
    p.write_text(text)
    assert [too_deep(p, limit=n, lines=True) for n in (45, 44, 29)] == [None, 4, 2]
    p.write_text(text + "\n")
    assert [too_deep(p, limit=n, lines=True) for n in (45, 44, 29)] == [None, 4, 2]


def test_a_json_file_of_one_object_per_line_is_read_and_measured_line_by_line(tmp_path):
    """BigQuery names its newline-delimited GA4 exports ``.json``: such a file is read, and measured, line by line
    (2.5 GB/s, not a scan of every byte), the reader told so; an array or an object over many lines is one
    document, measured across its lines. Either way a value nested too deep is refused by its line."""
    import duckdb

    from cxlib.io.files import _json_format, read_json_file
    from cxlib.io.jsondepth import one_per_line
    from cxlib.io.sources import SourceFile

    rows, pretty, array = tmp_path / "rows.json", tmp_path / "pretty.json", tmp_path / "array.json.gz"
    rows.write_text('\ufeff{"a": 1}\n{"a": [2]}\n' + nested(12_000) + "\n")
    pretty.write_text("{\n" + '"a": [\n' * 12_000 + "]\n" * 12_000 + "}\n")
    array.write_bytes(gzip.compress(b'[{"a": 1},\n {"a": 2}]'))
    assert [one_per_line(p) for p in (rows, pretty, array)] == [True, False, False]
    assert [_json_format(SourceFile(table="events", path=p)) for p in (rows, pretty, array)] == [
        "newline_delimited",
        "auto",
        "auto",
    ]
    con = duckdb.connect()
    for p, line in ((rows, 3), (pretty, 10_001)):
        with pytest.raises(DataError, match=rf"^{p.name}: cannot be read as JSON \(line {line}: a value nested too"):
            read_json_file(con, SourceFile(table="events", path=p), "t")
    read_json_file(con, SourceFile(table="events", path=array), "t")
    assert con.execute("SELECT list(a ORDER BY a) FROM t").fetchone()[0] == [1, 2]


def test_a_file_that_is_not_what_its_name_says_is_named_by_the_reader_not_a_traceback(tmp_path):
    """A ``.gz`` that is not gzip, or one cut short: the scan cannot measure it and leaves it to the reader, whose
    error names the file (the scan's own ``BadGzipFile`` was a traceback)."""
    import duckdb

    from cxlib.io.files import read_json_file
    from cxlib.io.sources import SourceFile

    p = tmp_path / "events.ndjson.gz"
    p.write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n' * 50)[:40])  # cut short
    assert too_deep(p, lines=True) is None and too_deep(p) is None
    p.write_bytes(b'{"a": 1}\n')  # not gzip at all
    assert too_deep(p, lines=True) is None and too_deep(p) is None
    with pytest.raises(DataError, match=r"^events\.ndjson\.gz: cannot be read as JSON \(the file cannot be read"):
        read_json_file(duckdb.connect(), SourceFile(table="events", path=p), "t")
