"""The engine: the same Ibis queries on DuckDB and on local PySpark give the same answers."""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib.schema import DataError


def test_summary_rows_and_date_ranges(engine, engine_workspace):
    s = engine.summary().set_index("table_name")
    with cxlib.connect(engine_workspace, read_only=True) as ws:
        log = ws.table("load_log").to_pandas().set_index("table_name")
    assert s["rows"].to_dict() == log["rows_loaded"].to_dict()
    assert s.loc["events", "first_ts"] >= pd.Timestamp("2024-01-01")
    assert s.loc["events", "last_ts"] < pd.Timestamp("2026-01-01")
    assert pd.isna(s.loc["enrichment", "first_ts"])


def test_same_answers_on_every_engine(engine, engine_workspace):
    with cxlib.connect(engine_workspace, read_only=True) as duck:
        expected = (duck.summary(), duck.rows_by_source(), duck.monthly_activity())
    got = (engine.summary(), engine.rows_by_source(), engine.monthly_activity())
    for e, g in zip(expected, got, strict=True):
        pd.testing.assert_frame_equal(e.reset_index(drop=True), g.reset_index(drop=True), check_dtype=False)


def test_quarantine_reasons(engine):
    r = engine.quarantine_reasons()
    assert {"table_name", "column", "reason", "action", "rows"} <= set(r.columns)
    assert set(r["action"]) <= {"quarantined", "nulled"} and r["rows"].sum() > 0


def test_scratch_row_ids_are_unique_whole_numbers(engine):
    """``scratch(..., row_id=)``: every row of the table read back has a whole number of its own (DuckDB: its
    rowid; Spark: numbered as written), the rows and their other columns unchanged."""
    ev = engine.table("events").select("source", "event_id")
    t = engine.scratch("_t_rowid", ev, row_id="k")
    try:
        assert t.k.type().is_integer() and t.columns == ("source", "event_id", "k")
        got = t.aggregate(n=t.count(), ids=t.k.nunique(), nulls=t.k.isnull().sum()).to_pandas()
        assert got.loc[0, "n"] == got.loc[0, "ids"] == ev.count().to_pandas() and got.loc[0, "nulls"] == 0
    finally:
        engine.drop_scratch("_t_rowid")


def test_rows_appended_to_a_scratch_table_are_read_back_with_its_own(engine):
    """``append`` to a table ``scratch`` made (a step's intermediate written in chunks): both parts read back
    from it, nothing written to the workspace's own tables."""
    ev = engine.table("events").select("source", "event_id")
    first, second = ev.filter(ev.event_id < "E5"), ev.filter(ev.event_id >= "E5")
    t = engine.scratch("_t_parts", first)
    try:
        engine.append("_t_parts", second)
        got = engine.table("_t_parts").to_pandas().sort_values(["source", "event_id"], ignore_index=True)
        want = ev.filter(ev.event_id.notnull()).to_pandas().sort_values(["source", "event_id"], ignore_index=True)
        pd.testing.assert_frame_equal(got, want)
        assert t.count().to_pandas() == len(want)
    finally:
        engine.drop_scratch("_t_parts")


def test_missing_table_says_what_to_run(workspace):
    with cxlib.connect(workspace, read_only=True) as ws, pytest.raises(DataError, match="no table 'personas'"):
        ws.table("personas")
    with pytest.raises(DataError, match="cx load"):
        cxlib.connect().table("orders")


def test_connect_to_a_missing_folder(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        cxlib.connect(tmp_path / "nope")
    with pytest.raises(DataError, match="cx load"):
        cxlib.connect(tmp_path, read_only=True)


def test_write_and_read_back():
    ws = cxlib.connect()
    ws.write("t", pd.DataFrame({"a": [1, 2, 3]}))
    assert ws.table("t").a.sum().execute() == 6 and "t" in ws.list_tables()
    assert "duckdb" in repr(ws)


def test_scratch_tables_can_be_dropped_by_name_as_soon_as_nothing_reads_them():
    ws = cxlib.connect()
    a = ws.scratch("_a", pd.DataFrame({"x": [1, 2]}))
    ws.scratch("_b", pd.DataFrame({"x": [3]}))
    ws.scratch("_c", pd.DataFrame({"x": [4]}))
    ws.drop_scratch("_b", "_not_a_scratch_table")
    assert not ws.has("_b") and ws.has("_a") and ws.has("_c")
    assert a.x.sum().execute() == 3
    ws.drop_scratch()  # the rest
    assert not ws.has("_a") and not ws.has("_c")


def _view_of_big(w):  # noqa: ANN001, ANN202 - a view's builder: an expression over the workspace's tables
    return w.table("t").filter(w.table("t").a > 1)


def test_a_steps_view_reads_its_staged_tables_then_the_final_ones(tmp_path):
    with cxlib.connect(tmp_path) as ws:
        with ws.step("unify"):
            ws.write("t", pd.DataFrame({"a": [1, 2, 3]}))
            ws.write_view("big", _view_of_big)
            assert ws.table("big").count().execute() == 2  # the staged t, before the swap
        assert ws.table("big").count().execute() == 2 and "big" in ws.list_tables()
        with pytest.raises(RuntimeError), ws.step("unify"):  # a failed run changes neither, leaves nothing
            ws.write("t", pd.DataFrame({"a": [5]}))
            ws.write_view("big", _view_of_big)
            raise RuntimeError("boom")
        assert ws.table("big").count().execute() == 2
        assert not [t for t in ws.list_tables() if t.startswith("_cx_stage_")]
        with ws.step("unify"):  # the next run: a view over the new t, not a copy of the old one
            ws.write("t", pd.DataFrame({"a": [5, 6, 7, 8]}))
            ws.write_view("big", _view_of_big)
        assert ws.table("big").count().execute() == 4
    with cxlib.connect(tmp_path, read_only=True) as ws:  # kept in the file
        assert ws.table("big").count().execute() == 4


def test_a_view_and_a_table_replace_each_other(tmp_path):
    with cxlib.connect(tmp_path) as ws:
        ws.write("t", pd.DataFrame({"a": [1, 2, 3]}))
        ws.write_view("big", _view_of_big)
        ws.write("big", pd.DataFrame({"a": [9]}))  # a table where the view was (an older release's output)
        assert ws.table("big").a.sum().execute() == 9
        with ws.step("unify"):
            ws.write_view("big", _view_of_big)
        assert ws.table("big").count().execute() == 2
        with ws.step("unify"):
            ws.write("big", pd.DataFrame({"a": [4]}))
        assert ws.table("big").a.sum().execute() == 4
