"""The workspace step: the staged copies the explorers and the report read."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import cxlib
from cxlib import journeys as j

KEYS = ["table_name", "source", "record_key"]


@pytest.fixture(scope="module")
def staged_fresh(workspace) -> pd.DataFrame:
    """The explorers' copy of the session workspace (no `cx journeys` run), staged afresh, in key order.

    Three tests compare with it; the tests only read it.
    """
    return j.staged_touchpoints(workspace).to_pandas().sort_values(KEYS, ignore_index=True)


def test_staged_in_the_workspace_equals_staged_in_memory(workspace, staged_fresh):
    """in_memory=False (what the report uses on large workspaces) stages the same rows as the explorers' copy."""
    mem = staged_fresh
    with cxlib.connect(workspace, read_only=True) as ws:
        inside = j.staged_touchpoints(ws, in_memory=False)
        assert "_staged_touchpoints" in ws.backend.list_tables()  # a temporary table in the workspace
        got = inside.to_pandas()
    pd.testing.assert_frame_equal(
        got.sort_values(KEYS, ignore_index=True)[list(mem.columns)],
        mem,
        check_dtype=False,
    )
    with pytest.raises(ValueError, match="open Workspace"):
        j.staged_touchpoints(workspace, in_memory=False)


def test_staged_rows_read_the_kept_table_or_stage_on_the_fly(workspace, journeys_workspace):
    """What the report and the headline read: the rows staged here before `cx journeys`, its kept table (not a
    copy) after; the same rows either way."""
    keys = KEYS
    with cxlib.connect(workspace, read_only=True) as ws:  # the same workspace before `cx journeys`
        here = j.staged_rows(ws).to_pandas().sort_values(keys, ignore_index=True)
    with cxlib.connect(journeys_workspace, read_only=True) as ws:  # after `cx journeys`
        kept = j.staged_rows(ws, materialise=True)
        assert kept.get_name() == "journey_touchpoints" and not ws.backend.list_tables(like="_staged_rows")
        kept = kept.to_pandas().sort_values(keys, ignore_index=True)
    pd.testing.assert_frame_equal(kept[list(here.columns)], here, check_dtype=False)


def test_explorer_copy_keeps_a_fixed_sample_of_whole_journeys(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = j.analysis_touchpoints(ws).to_pandas()
    with pytest.warns(UserWarning, match="fixed sample of 50 of"):
        a = j.staged_touchpoints(workspace, max_customers=50).to_pandas()
    with pytest.warns(UserWarning):
        b = j.staged_touchpoints(workspace, max_customers=50).to_pandas()
    assert a["customer_id"].nunique() == 50 and set(a["customer_id"]) == set(b["customer_id"])
    # each sampled customer keeps every touchpoint
    assert len(a) == tp["customer_id"].isin(set(a["customer_id"])).sum()


def test_build_counts_customers_by_their_stage_now(tmp_path):
    """``cx journeys`` on a hand-made stream: the stage of each customer and the counts, worked out by hand."""
    days = {  # customer: [(day, event)]; judged at the latest touchpoint, 2024-06-10
        "a": [("2024-06-01", "ad_click")],  # a prospect, 9 days idle: awareness
        "i": [("2024-06-08", "page_view")],  # awareness
        "b": [("2024-06-05", "product_view")],  # consideration
        "c": [("2024-01-01", "product_view")],  # a prospect 161 days idle (>= 120): lost
        "d": [("2024-06-10", "purchase")],  # bought at the very moment judged: purchase
        "h": [("2024-06-01", "purchase")],  # bought 9 days ago (<= 30): onboarding
        "e": [("2024-05-01", "purchase"), ("2024-05-05", "page_view")],  # 40 days since buying, 36 idle: repeat
        "g": [("2024-03-01", "purchase")],  # 101 days idle (>= 60): at_risk
        "f": [("2024-01-01", "purchase")],  # 161 days idle (>= 120): churned
    }
    rows = [(c, pd.Timestamp(d), e) for c, evs in days.items() for d, e in evs]
    tp = pd.DataFrame(rows, columns=["customer_id", "ts", "event"])
    with cxlib.connect(tmp_path) as ws:
        ws.write("touchpoints", tp)
    counts = j.build(tmp_path).set_index("stage")["customers"]
    want = {"awareness": 2, "consideration": 1, "purchase": 1, "lost": 1, "onboarding": 1, "repeat": 1,
            "at_risk": 1, "churned": 1, "advocate": 0, "win_back": 0}  # fmt: skip
    assert counts.to_dict() == want
    with cxlib.connect(tmp_path, read_only=True) as ws:
        stages = ws.table("customer_stages").to_pandas().set_index("customer_id")["stage"].to_dict()
        months = ws.table("stage_history").count().to_pandas()
    assert stages == {"a": "awareness", "i": "awareness", "b": "consideration", "c": "lost", "d": "purchase",
                      "h": "onboarding", "e": "repeat", "g": "at_risk", "f": "churned"}  # fmt: skip
    # one row per customer and month from their first month to June: c and f 6, g 4, e 2, the rest 1
    assert months == 6 + 6 + 4 + 2 + 5


def test_explorer_reads_what_cx_journeys_staged_while_it_is_current(
    staged_fresh, journeys_workspace, tmp_path, monkeypatch
):
    """After `cx journeys`, the explorers' copy is its staged rows (no staging again), equal to staging afresh;
    a changed stage map (or stale inputs) stages afresh."""
    from cxlib.journeys import workspace as jw

    folder = tmp_path / "ws"  # the workspace after `cx journeys`, copied: this test writes a stage map
    shutil.copytree(journeys_workspace, folder)
    keys = KEYS
    fresh = staged_fresh  # the same workspace staged before `cx journeys`
    calls = []
    real = jw.assign_stages
    monkeypatch.setattr(jw, "assign_stages", lambda *a, **k: calls.append(1) or real(*a, **k))
    got = j.staged_touchpoints(folder).to_pandas().sort_values(keys, ignore_index=True)
    assert calls == [], "the persisted rows were staged again"
    pd.testing.assert_frame_equal(got, fresh, check_dtype=False)
    with cxlib.connect(folder) as ws:  # the report's copy inside the workspace reads them too
        inside = j.staged_touchpoints(ws, in_memory=False).to_pandas().sort_values(keys, ignore_index=True)
    assert calls == [], "the report staged the persisted rows again"
    pd.testing.assert_frame_equal(inside, fresh, check_dtype=False)
    (folder / "stage_map.yml").write_text("inactivity:\n  at_risk_days: 20\n")
    other = j.staged_touchpoints(folder).to_pandas()
    assert calls == [1] and len(other) == len(fresh)


def test_build_in_chunks_of_customers_writes_the_same_rows(workspace, journeys_workspace, tmp_path, monkeypatch):
    """`cx journeys` on a large workspace stages its customers in chunks (so the windows fit in memory), and finds
    the runs of one stage in the same chunks: the kept rows, each customer's stage, the Sankey and the stage moves
    are the ones a single pass writes."""
    from cxlib.journeys import workspace as jw

    shutil.copy(workspace / "workspace.duckdb", tmp_path / "workspace.duckdb")
    with cxlib.connect(tmp_path, read_only=True) as ws:
        rows = int(j.analysis_touchpoints(ws).count().to_pandas())
    calls = []
    real = jw.assign_stages
    monkeypatch.setattr(jw, "assign_stages", lambda *a, **k: calls.append(1) or real(*a, **k))
    monkeypatch.setattr(jw, "STAGING_CHUNK_ROWS", rows // 3)
    j.build(tmp_path)
    assert len(calls) == 4  # rows // 3 a chunk: four chunks
    for table, keys in [("journey_touchpoints", KEYS), ("customer_stages", ["customer_id"]),
                        ("journey_sankey", None), ("journey_stage_moves", None),
                        ("stage_history", ["customer_id", "month"])]:  # fmt: skip
        with cxlib.connect(tmp_path, read_only=True) as ws, cxlib.connect(journeys_workspace, read_only=True) as one:
            got, want = ws.table(table).to_pandas(), one.table(table).to_pandas()
        keys = keys or list(want.columns)
        pd.testing.assert_frame_equal(
            got.sort_values(keys, ignore_index=True), want.sort_values(keys, ignore_index=True), check_dtype=False
        )


def test_current_and_history_from_one_pass_equal_the_two_functions(journeys_workspace):
    """`cx journeys` writes the current stages and the monthly history from one pass over the staged rows (each
    customer's last row per month): the same tables as current_stage and stage_history, each from every row."""
    with cxlib.connect(journeys_workspace, read_only=True) as ws:
        staged = j.staged_touchpoints(ws, in_memory=False)  # the kept table, in the workspace
        cur, history = j.current_and_history(staged, keep=lambda t: ws.scratch("_monthly", t))
        history = history.to_pandas()
        want_history = j.stage_history(staged).to_pandas()
        pd.testing.assert_frame_equal(cur, j.current_stage(staged))
        pd.testing.assert_frame_equal(cur, ws.table("customer_stages").to_pandas(), check_dtype=False)
    keys = ["customer_id", "month"]
    pd.testing.assert_frame_equal(
        history.sort_values(keys, ignore_index=True), want_history.sort_values(keys, ignore_index=True)
    )
    assert cur["stage"].nunique() > 3 and len(history) > len(cur)


def test_kept_rows_carry_their_customers_bucket_in_bucket_order(workspace, tmp_path, monkeypatch):
    """`cx journeys` in chunks writes each chunk's bucket range in turn: every row's customer_bucket is its
    customer's, and along the table the buckets never go back (so a reader's range filter skips row groups).
    The explorers' copy leaves the column out."""
    from cxlib import chunks
    from cxlib.journeys import workspace as jw

    shutil.copy(workspace / "workspace.duckdb", tmp_path / "workspace.duckdb")
    with cxlib.connect(tmp_path, read_only=True) as ws:
        rows = int(j.analysis_touchpoints(ws).count().to_pandas())
    monkeypatch.setattr(jw, "STAGING_CHUNK_ROWS", rows // 3)
    j.build(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        t = ws.table("journey_touchpoints")
        df = t.select("customer_id", chunks.BUCKET_COLUMN, want=chunks.bucket(t.customer_id)).to_pandas()
        order = ws.backend.con.execute(f"SELECT {chunks.BUCKET_COLUMN} FROM journey_touchpoints ORDER BY rowid").df()
    assert (df[chunks.BUCKET_COLUMN] == df["want"]).all()
    ranges = [chunks.bucket_range(i, 4) for i in range(4)]  # rows // 3 a chunk: four chunks
    chunk_of = order[chunks.BUCKET_COLUMN].map(lambda b: next(i for i, (lo, hi) in enumerate(ranges) if lo <= b < hi))
    assert chunk_of.is_monotonic_increasing and chunk_of.nunique() == 4
    assert chunks.BUCKET_COLUMN not in j.staged_touchpoints(tmp_path).columns


def test_the_kept_stage_moves_are_the_transitions_of_the_kept_rows(journeys_workspace, monkeypatch):
    """`cx journeys` keeps the stage transitions of its rows (journey_stage_moves); the kept rows, read through
    kept_rows, give them to `transitions` by stage (the report's stage Sankey) with no pass over the rows; a
    filter of the rows computes its own."""
    import importlib

    paths = importlib.import_module("cxlib.journeys.paths")
    with cxlib.connect(journeys_workspace, read_only=True) as ws:
        kept = j.kept_rows(ws)
        fresh = j.transitions(kept.select(*kept.columns), on="stage")  # an expression: every row, ordered
        calls = []
        real = paths.ordered
        monkeypatch.setattr(paths, "ordered", lambda *a, **k: calls.append(1) or real(*a, **k))
        got = j.transitions(kept, on="stage")
        assert calls == []
        pd.testing.assert_frame_equal(got, fresh)
        pd.testing.assert_frame_equal(ws.table("journey_stage_moves").to_pandas(), fresh, check_dtype=False)
        part = kept.filter(kept.channel != "email")
        assert j.transitions(part, on="stage")["count"].sum() < fresh["count"].sum() and calls
