"""Columns of few values stored as DuckDB ``ENUM`` types: read back as the text they hold, and the same results."""

from __future__ import annotations

import shutil

import duckdb
import pandas as pd
import pytest

import cxlib
from cxlib import categories, journeys
from cxlib.categories import enum_values
from cxlib.journeys.workspace import MOVES_TABLE, SANKEY_TABLE, STAGED_TABLE

EVENTS = ["page_view", 'it\'s "odd"', "Ünïcode", "add_to_cart", "page_view", None]


def _types(con, table: str) -> dict[str, str]:
    rows = con.execute(
        "SELECT column_name, data_type FROM duckdb_columns()"
        " WHERE table_name = ? AND database_name = current_database()",
        [table],
    ).fetchall()
    return dict(rows)


def _written(values: list, **kw) -> cxlib.Workspace:
    ws = cxlib.connect()
    df = pd.DataFrame({"event": values, "n": range(len(values))})
    ws.write("t", df, categories={"event": [v for v in values if v is not None]}, **kw)
    return ws


def test_a_category_column_is_an_enum_that_reads_as_its_text():
    ws = _written(EVENTS)
    assert _types(ws.backend.con, "t")["event"].startswith("ENUM(")
    t = ws.table("t")
    assert t.schema()["event"].is_string()
    assert t.order_by("n").event.to_pandas().tolist()[:5] == EVENTS[:5]
    assert pd.isna(t.order_by("n").event.to_pandas().iloc[-1])
    # a value it does not hold is no error, only no row; text compares and joins as text
    assert t.filter(t.event == "not_there").count().execute() == 0
    assert t.filter(t.event.isin(['it\'s "odd"', "nope"])).count().execute() == 1
    other = ws.write("o", pd.DataFrame({"event": ["page_view", "zzz"], "k": [1, 2]}))
    assert t.join(other, "event").count().execute() == 2
    assert (t.event + "!").to_pandas().dropna().tolist()[0] == "page_view!"


def test_ibis_reads_an_enum_as_text_not_one_python_object_per_value():
    """Ibis turns a dictionary-encoded Arrow column into pandas value by value (7.5 s for the staged rows of a
    4,000-customer company, 0.2 s as text): every result leaves the engine with its ENUMs cast to text."""
    ws = _written(EVENTS)
    t = ws.table("t").order_by("n")
    assert ws.backend._to_duckdb_relation(t).to_arrow_table().schema.field("event").type == "string"
    got = t.to_pandas()
    assert got["event"].tolist()[:5] == EVENTS[:5] and pd.isna(got["event"].iloc[5])
    assert got["n"].tolist() == list(range(len(EVENTS)))  # the order asked for survives the cast
    rel = ws.backend.con.sql("SELECT 1 AS n")
    assert categories.as_text(rel) is rel  # nothing to cast: the relation as it was


def test_a_category_column_sorts_and_takes_min_max_as_text_does():
    ws = _written(EVENTS)
    t = ws.table("t")
    text = sorted(v for v in EVENTS if v is not None)  # code points: as DuckDB orders text
    assert t.filter(t.event.notnull()).order_by("event").event.to_pandas().tolist() == text
    got = t.aggregate(lo=t.event.min(), hi=t.event.max()).to_pandas().iloc[0]
    assert (got["lo"], got["hi"]) == (text[0], text[-1])


@pytest.mark.parametrize("values", [["ok", "bad\x00"], ["line\nbreak"]])
def test_a_value_that_cannot_be_a_literal_leaves_the_column_text(values):
    ws = _written(values)
    assert _types(ws.backend.con, "t")["event"] == "VARCHAR"
    assert ws.table("t").order_by("n").event.to_pandas().tolist() == values


def test_too_many_values_leave_the_column_text(monkeypatch):
    monkeypatch.setattr(categories, "MAX_CATEGORIES", 2)
    ws = _written(["a", "b", "c"])
    assert _types(ws.backend.con, "t")["event"] == "VARCHAR"
    t = ws.table("t")
    assert categories.distinct_values(t, ["event", "n"]) == {}


def test_distinct_values_leaves_out_nulls_and_columns_of_many_values():
    t = _written(EVENTS).table("t")
    got = categories.distinct_values(t, ["event"])
    assert got == {"event": sorted({v for v in EVENTS if v is not None})}


def test_enum_values_reads_what_a_table_was_declared_with():
    ws = _written(EVENTS)
    assert enum_values(ws.backend.con, "t") == {"event": sorted({v for v in EVENTS if v is not None})}
    ws.write("empty", pd.DataFrame({"event": pd.Series([], dtype="string")}), categories={"event": ["x"]})
    assert enum_values(ws.backend.con, "empty") == {"event": ["x"]}  # no row, the same type
    assert enum_values(ws.backend.con, "missing") == {}
    # a temporary table or another schema's of the same name is not the workspace's table
    ws.backend.con.execute("CREATE TEMP TABLE t (x INTEGER); INSERT INTO t VALUES (1)")
    ws.backend.con.execute("CREATE SCHEMA s; CREATE TABLE s.t (status ENUM('q'))")
    assert enum_values(ws.backend.con, "t") == {"event": sorted({v for v in EVENTS if v is not None})}


def test_the_stream_stores_its_columns_of_few_values_as_enums(workspace):
    con = duckdb.connect(str(workspace / "workspace.duckdb"), read_only=True)
    types = _types(con, "touchpoints")
    for column in ("table_name", "source", "channel", "event", "rule"):
        assert types[column].startswith("ENUM("), column
    assert types["customer_id"] == "VARCHAR" and types["record_key"] == "VARCHAR"  # many values: text
    # every value a source table holds is among the type's values, as written
    ev = set(con.execute("SELECT DISTINCT event FROM events WHERE event IS NOT NULL").fetchall())
    assert {(v,) for v in enum_values(con, "touchpoints")["event"]} >= ev


def test_journeys_give_the_same_tables_with_and_without_enums(journeys_workspace, tmp_path, monkeypatch):
    """The staged rows' stage, journey and events as ENUMs change no result (the workspace's own run) from the
    same rows written as text (``enum_type`` refusing every column)."""
    shutil.copy(journeys_workspace / "workspace.duckdb", tmp_path / "workspace.duckdb")
    with duckdb.connect(str(journeys_workspace / "workspace.duckdb"), read_only=True) as con:
        assert _types(con, STAGED_TABLE)["stage"].startswith("ENUM(")
    monkeypatch.setattr(categories, "enum_type", lambda values: None)
    journeys.build(tmp_path)
    with duckdb.connect(str(tmp_path / "workspace.duckdb"), read_only=True) as con:
        assert _types(con, STAGED_TABLE)["stage"] == "VARCHAR"
    for table in ("customer_stages", "stage_history", SANKEY_TABLE, MOVES_TABLE):
        with cxlib.connect(journeys_workspace, read_only=True) as ws:
            a = ws.table(table).to_pandas()
        with cxlib.connect(tmp_path, read_only=True) as ws:
            b = ws.table(table).to_pandas()
        keys = list(a.columns)
        pd.testing.assert_frame_equal(
            a.sort_values(keys, ignore_index=True), b.sort_values(keys, ignore_index=True), obj=table
        )
