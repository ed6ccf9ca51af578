"""Stage once: the views on the explorer's staged rows equal what ``cx journeys`` writes, with a custom map.

Before the fix, ``current_stage`` and the other views re-staged the explorer's rows with the default map and
disagreed with ``customer_stages`` for about one customer in ten.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

import cxlib
from cxlib import journeys as j
from cxlib.schema import STAGES

from .conftest import CUSTOM_STAGE_MAP


def _sorted(df: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    return df.sort_values(by, ignore_index=True)


def _counts_by_hand(hist: pd.DataFrame) -> pd.DataFrame:
    """Customers per month and stage, from a stage_history frame, in pandas."""
    wide = pd.crosstab(hist["month"], hist["stage"]).reindex(columns=list(STAGES), fill_value=0)
    wide.index = pd.PeriodIndex(pd.to_datetime(wide.index), freq="M")
    return wide


def _written(folder) -> dict:
    """What ``cx journeys`` wrote in ``folder``, and the reference views with its map passed explicitly."""
    sm = folder / "stage_map.yml"
    with cxlib.connect(folder, read_only=True) as ws:
        tp = j.analysis_touchpoints(ws)
        return dict(
            now=ws.table("customer_stages").to_pandas(),
            history=ws.table("stage_history").to_pandas(),
            dropoff=j.diagnose_dropoff(tp, stage_map=sm),
            journey_map=j.journey_map(tp, stage_map=sm),
            default_now=j.current_stage(tp),
        )


@pytest.fixture(scope="module")
def written(custom_map_workspace):
    return _written(custom_map_workspace)


def test_views_on_the_explorers_staged_rows_equal_what_cx_journeys_writes(custom_map_workspace, written):
    staged = j.staged_touchpoints(custom_map_workspace, max_customers=None)  # the explorer's copy
    now = j.current_stage(staged)
    pd.testing.assert_frame_equal(now, written["now"], check_dtype=False)
    # the custom map matters: the default one puts many customers elsewhere
    assert (now["stage"] != written["default_now"]["stage"]).sum() > 50
    key = ["customer_id", "month"]
    hist = _sorted(j.stage_history(staged).to_pandas(), key)
    pd.testing.assert_frame_equal(hist, _sorted(written["history"], key), check_dtype=False)
    counts = j.stage_counts(staged)
    want = _counts_by_hand(written["history"])
    pd.testing.assert_frame_equal(counts, want, check_dtype=False, check_names=False)
    pd.testing.assert_frame_equal(j.diagnose_dropoff(staged), written["dropoff"])
    pd.testing.assert_frame_equal(j.journey_map(staged).astype(str), written["journey_map"].astype(str))


def test_staged_rows_through_pandas_keep_their_stages(custom_map_workspace, written):
    """Rows that lost the record of their map (a pandas round trip) keep their stages; the map passed sets time."""
    staged = j.staged_touchpoints(custom_map_workspace, max_customers=None).to_pandas()
    now = j.current_stage(staged, stage_map=custom_map_workspace / "stage_map.yml")
    pd.testing.assert_frame_equal(now, written["now"], check_dtype=False)
    assert j.resolve_stage_map(rows=j.as_table(staged)).inactivity["at_risk_days"] == 60  # nothing recorded


@pytest.mark.spark
@pytest.mark.xdist_group("spark-journeys")  # one Spark session: with the other journeys views on Spark
def test_stage_once_on_spark(spark_workspace, engine_workspace, tmp_path):
    """The same staged views computed in Spark (staged in the Spark session) equal what ``cx journeys`` wrote
    on DuckDB, with the custom map (on the engine workspace, the company the Spark session holds)."""
    folder = tmp_path / "ws"
    shutil.copytree(engine_workspace, folder)
    (folder / "stage_map.yml").write_text(CUSTOM_STAGE_MAP)
    j.build(folder)
    written = _written(folder)
    sm = folder / "stage_map.yml"
    staged = j.staged_touchpoints(spark_workspace, stage_map=sm, in_memory=False)
    try:
        pd.testing.assert_frame_equal(j.current_stage(staged), written["now"], check_dtype=False)
        key = ["customer_id", "month"]
        hist = _sorted(j.stage_history(staged).to_pandas(), key)
        pd.testing.assert_frame_equal(hist, _sorted(written["history"], key), check_dtype=False)
        pd.testing.assert_frame_equal(j.stage_counts(staged), _counts_by_hand(written["history"]), check_dtype=False,
                                      check_names=False)  # fmt: skip
        pd.testing.assert_frame_equal(j.diagnose_dropoff(staged), written["dropoff"], check_exact=False, rtol=1e-6)
        jm = j.journey_map(staged).astype(str)
        pd.testing.assert_frame_equal(jm, written["journey_map"].astype(str))
    finally:
        spark_workspace.drop_scratch()
