"""Frames from users as they come: any datetime resolution, a string ts, an empty frame, null times."""

from __future__ import annotations

import pandas as pd
import pytest

from cxlib import journeys
from cxlib.schema import DataError


def _moves(ev: pd.DataFrame) -> int:
    """Transitions between two real events (not the path's start or end)."""
    t = journeys.transitions(ev)
    real = ~t["source"].isin(["path_start"]) & ~t["target"].isin(["path_end"])
    return int(t.loc[real, "count"].sum())


def _events(ts) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["page_view", "purchase", "page_view"], "ts": ts})


def test_nanosecond_and_zoned_timestamps_are_accepted():
    base = pd.Timestamp("2024-03-01 10:00")
    ns = _events([base + pd.Timedelta(1, "ns"), base + pd.Timedelta(2, "h"), base])
    assert _moves(ns) == 1
    local = pd.to_datetime(["2024-03-01 10:00", "2024-03-01 12:00", "2024-03-01 09:00"])
    assert _moves(_events(local.tz_localize("Europe/Berlin"))) == 1
    for unit in ("s", "ms", "us", "ns"):
        assert _moves(_events(ns["ts"].astype(f"datetime64[{unit}]"))) == 1


def test_a_string_ts_is_a_clear_error():
    with pytest.raises(DataError, match=r"'ts' must hold datetimes.*pd.to_datetime"):
        journeys.transitions(_events(["2024-03-01", "2024-03-02", "2024-03-01"]))


def test_an_untyped_empty_frame_gives_an_empty_result():
    empty = pd.DataFrame({"customer_id": [], "event": [], "ts": []})
    assert journeys.transitions(empty).empty


def test_rows_without_a_time_are_left_out_with_a_warning():
    ev = _events(pd.to_datetime(["2024-03-01", None, "2024-03-01"]))
    with pytest.warns(UserWarning, match="1 row\\(s\\) with no ts left out"):
        assert _moves(ev) == 0  # a's purchase had no time: a has one step left, no move


def test_views_release_what_they_cache(workspace):
    """A long-lived connection (an app's) keeps no temporary table per funnel, Sankey or journey map drawn."""
    import cxlib

    with cxlib.connect(workspace, read_only=True) as ws:
        tp = ws.table("touchpoints")

        def temporary() -> int:
            return ws.backend.con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone()[0]

        before = temporary()
        journeys.funnel(tp, ["product_view", "add_to_cart", "purchase"])
        journeys.sankey_links(tp, max_steps=3)
        journeys.sankey_customers(tp, step=1, node="page_view", max_steps=3)
        journeys.journey_map(tp)
        assert temporary() == before
