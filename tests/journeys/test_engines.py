"""Both engines: every event-scale view gives the same answers on DuckDB and Spark.

Spark against the DuckDB file (the views on DuckDB alone are tested everywhere else; comparing DuckDB with
itself would only run them twice). The stage views read rows staged once in the Spark session, as the explorer
and the report read them: a view given raw rows stages them with the same expression
(``test_stage_once_on_spark`` runs that staging on Spark, with a custom map, and the views it checks there --
stage history and counts, the drop-off diagnosis, the journey map -- are not repeated here), and staging the
raw rows again in every view cost this group most of its time.
"""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib import journeys as j

# the journeys views on Spark: a group (one JVM) of their own, beside the other Spark tests (in one JVM with
# them the stage-once test took twice as long: 42 -> 98 s, in a 1 GB driver holding every other test's tables)
pytestmark = [pytest.mark.spark, pytest.mark.xdist_group("spark-journeys")]

FUNNEL = ["product_view", "add_to_cart", "checkout_start", "purchase"]


@pytest.fixture(scope="module")
def spark_staged(spark_workspace):
    """The Spark copy's touchpoints staged once in the Spark session (the default map)."""
    staged = j.staged_touchpoints(spark_workspace, in_memory=False)
    yield staged
    spark_workspace.drop_scratch()


def _agree(got, want) -> None:
    for g, w in zip(got, want, strict=True):
        pd.testing.assert_frame_equal(g, w, check_dtype=False, check_exact=False, rtol=1e-6)


def test_same_answers_on_spark(spark_workspace, engine_workspace):
    """The event-level views on raw touchpoints."""
    tp = spark_workspace.table("touchpoints")
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        base = ref.table("touchpoints")
        want = (j.transitions(base), j.step_matrix(base, 6), j.funnel(base, FUNNEL, within="30D"))
    _agree((j.transitions(tp), j.step_matrix(tp, 6), j.funnel(tp, FUNNEL, within="30D")), want)


def test_every_journey_view_agrees_on_spark(spark_staged, engine_workspace):
    """The stage views on the rows staged in Spark equal those on DuckDB's raw rows (staged there)."""
    with cxlib.connect(engine_workspace, read_only=True) as ref:
        base = j.analysis_touchpoints(ref)  # the rows the staged copy is made of
        want = (
            j.current_stage(base),
            j.sankey_links(j.assign_stages(base), on="stage", collapse=True, max_steps=4),
            j.diagnose_returns(base),
            j.service_by_stage(base),
        )
    got = (
        j.current_stage(spark_staged),
        j.sankey_links(spark_staged, on="stage", collapse=True, max_steps=4),
        j.diagnose_returns(spark_staged),
        j.service_by_stage(spark_staged),
    )
    _agree(got, want)
