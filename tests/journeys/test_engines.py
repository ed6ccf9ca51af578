"""Both engines: every event-scale view gives the same answers on DuckDB and Spark.

Spark against the DuckDB file (the views on DuckDB alone are tested everywhere else; comparing DuckDB with
itself would only run them twice).
"""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib import journeys as j

# the journeys views on Spark: a group (one JVM) of their own, beside the other Spark tests
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark-journeys")]


def test_same_answers_on_spark(spark_workspace, engine_workspace):
    tp = spark_workspace.table("touchpoints")
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        base = ref.table("touchpoints")
        want = (
            j.transitions(base),
            j.step_matrix(base, 6),
            j.funnel(base, ["product_view", "add_to_cart", "checkout_start", "purchase"], within="30D"),
            j.current_stage(base),
        )
    got = (
        j.transitions(tp),
        j.step_matrix(tp, 6),
        j.funnel(tp, ["product_view", "add_to_cart", "checkout_start", "purchase"], within="30D"),
        j.current_stage(tp),
    )
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w, check_dtype=False, check_exact=False, rtol=1e-6)


def test_every_journey_view_agrees_on_spark(spark_workspace, engine_workspace):
    """The rest of the module on Spark: stage history and counts, Sankey flows, diagnosis, service, map."""
    tp = spark_workspace.table("touchpoints")
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        base = ref.table("touchpoints")
        want = (
            j.stage_counts(base),
            j.sankey_links(j.assign_stages(base), on="stage", collapse=True, max_steps=4),
            j.diagnose_dropoff(base),
            j.diagnose_returns(base),
            j.service_by_stage(base),
            j.journey_map(base).astype(str),
        )
    got = (
        j.stage_counts(tp),
        j.sankey_links(j.assign_stages(tp), on="stage", collapse=True, max_steps=4),
        j.diagnose_dropoff(tp),
        j.diagnose_returns(tp),
        j.service_by_stage(tp),
        j.journey_map(tp).astype(str),
    )
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w, check_dtype=False, check_exact=False, rtol=1e-6)
