"""A window frame's first and last non-null value (``cxlib._analytic``), the same on DuckDB and Spark."""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from cxlib._analytic import first_non_null, last_non_null

# two paths, nulls first, in the middle and last, and a path of nulls only
ROWS = pd.DataFrame(
    {
        "g": ["a"] * 6 + ["b"] * 3,
        "o": [1, 2, 3, 4, 5, 6, 1, 2, 3],
        "v": [None, 5.0, None, 2.0, 9.0, None, None, None, None],
    }
)


def _by_hand() -> pd.DataFrame:
    """Each row's last non-null so far, before it, and the path's first and last non-null, by a loop."""
    out = []
    for _, path in ROWS.sort_values(["g", "o"]).groupby("g"):
        seen: list[float] = []
        vals = [v for v in path["v"] if not pd.isna(v)]
        for o, v in zip(path["o"], path["v"], strict=True):
            before = seen[-1] if seen else np.nan
            if not pd.isna(v):
                seen.append(v)
            out.append(
                {
                    "g": path["g"].iloc[0],
                    "o": o,
                    "cum": seen[-1] if seen else np.nan,
                    "before": before,
                    "first": vals[0] if vals else np.nan,
                    "last": vals[-1] if vals else np.nan,
                }
            )
    return pd.DataFrame(out)


def _frames(t: ibis.Table) -> pd.DataFrame:
    cum = ibis.cumulative_window(group_by=t.g, order_by=t.o)
    before = ibis.window(group_by=t.g, order_by=t.o, rows=(None, -1))
    whole = ibis.window(group_by=t.g, order_by=t.o, rows=(None, None))
    out = t.select(
        "g",
        "o",
        cum=last_non_null(t.v).over(cum),
        before=last_non_null(t.v).over(before),
        first=first_non_null(t.v).over(whole),
        last=last_non_null(t.v).over(whole),
    )
    return out.to_pandas().sort_values(["g", "o"], ignore_index=True)


def test_first_and_last_non_null_over_each_frame_on_duckdb():
    con = ibis.duckdb.connect()
    got = _frames(con.create_table("t", ROWS))
    pd.testing.assert_frame_equal(got, _by_hand(), check_dtype=False)


@pytest.mark.slow
@pytest.mark.spark
@pytest.mark.xdist_group("spark")
def test_first_and_last_non_null_over_each_frame_on_spark(spark_session):
    """Spark keeps each frame (its compiler drops the frame of most analytic functions) and ignores nulls."""
    # through Arrow: a missing value is a null on Spark (from pandas it would be the number NaN)
    spark_session.createDataFrame(pa.Table.from_pandas(ROWS, preserve_index=False)).createOrReplaceTempView("nn")
    try:
        got = _frames(ibis.pyspark.connect(spark_session).table("nn"))
    finally:
        spark_session.catalog.dropTempView("nn")
    pd.testing.assert_frame_equal(got, _by_hand(), check_dtype=False)
