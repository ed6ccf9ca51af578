"""The metrics layer: one definition per headline number, and one value of it on every page."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import cxlib
from cxlib import journeys, metrics, report, unify
from cxlib.schema import STAGES

# its module fixtures are costly: one worker builds them once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group("metrics")

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))
TAGGED = re.compile(r'data-metric="([^"]+)" data-value="([^"]+)"')


def test_every_metric_has_a_label_a_unit_and_a_one_line_definition():
    for name, m in metrics.CATALOGUE.items():
        assert m.name == name and m.label and m.unit
        assert m.definition.endswith(".") and "\n" not in m.definition and len(m.definition) < 240, name
    lost = metrics.definition("stage_ever.lost")
    assert lost.label == "Customers ever in lost" and "STAGE" not in lost.definition
    assert metrics.definition("stage_now.at_risk").label == "Customers in at risk now"  # a label in words
    assert metrics.definition("lever_gain.AOV +5%").label == "Revenue gain of AOV +5%"
    with pytest.raises(KeyError, match="no metric"):
        metrics.definition("nope")


def test_shown_and_raw():
    assert metrics.shown(0.5, "share") == "50.0%" and metrics.shown(20380, "customers") == "20,380"
    assert metrics.shown(1234.56, "GBP") == "GBP 1,235" and metrics.shown(None, "customers") == "–"
    assert metrics.raw(14064) == "14064" and float(metrics.raw(0.1)) == 0.1


@pytest.fixture(scope="module")
def headline(workspace):
    """The headline numbers of the session workspace (unified; `cx journeys` not run: stages computed)."""
    return metrics.headline(workspace)


def test_headline_is_one_row_per_metric_with_its_definition(headline):
    assert list(headline.columns) == ["metric", "value", "unit", "definition", "label"]
    assert headline["metric"].is_unique and headline["definition"].str.len().gt(10).all()
    for name in headline["metric"]:
        metrics.definition(name)  # every row is a catalogued metric


def test_customer_counts_add_up_and_differ_for_a_reason(headline, workspace):
    v = lambda n: metrics.value(headline, n)  # noqa: E731
    assert v("customers_known") + v("customers_anonymous") == v("customers")
    assert v("journey_customers") == sum(v(f"stage_now.{s}") for s in STAGES)
    assert v("journey_customers") <= v("customers")
    for s in STAGES:  # ever is never smaller than now
        assert v(f"stage_ever.{s}") >= v(f"stage_now.{s}"), s
    assert v("stage_ever.awareness") <= v("journey_customers")
    assert 0 < v("funnel_conversion") < 1 and 0 < v("customers_multi_source") <= 1
    # the existing definitions, not new ones
    assert v("records_linked") == int(unify.rows_by_rule(workspace)["rows"].sum())
    paths = report.attribution_paths(workspace)
    assert v("attribution_conversions") == int(paths["conversions"].sum())
    row = headline.set_index("metric").loc["revenue"]
    assert set(row["unit"].split("/")) <= {"GBP", "EUR"} and "Period: " in row["definition"]
    assert 0 < v("attribution_value") <= v("revenue")


def test_parts_pick_some_metrics(workspace):
    h = metrics.headline(workspace, parts=["load"])
    assert set(h["metric"]) == {"rows_loaded", "source_systems"}
    with pytest.raises(ValueError, match="unknown metric part"):
        metrics.headline(workspace, parts=["nope"])


def _tagged(html: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for name, raw in TAGGED.findall(html):
        found.setdefault(name, set()).add(raw)
    return found


def _same(raw: str, value) -> bool:
    return float(raw) == pytest.approx(float(value), rel=1e-9, abs=1e-9)


def test_the_report_tags_its_numbers_with_the_metrics_values(journeys_workspace, headline):
    h = metrics.headline(journeys_workspace)
    # the persisted customer_stages give the numbers computed without them
    for s in STAGES:
        assert metrics.value(h, f"stage_now.{s}") == metrics.value(headline, f"stage_now.{s}"), s
        # ever: from the kept journey_touchpoints here, from rows staged on the fly there
        assert metrics.value(h, f"stage_ever.{s}") == metrics.value(headline, f"stage_ever.{s}"), s
    html = report.standard_report(journeys_workspace, sections=["customers", "journeys", "attribution"]).to_html()
    found = _tagged(html)
    for name in ("customers_known", "customers_anonymous", "journey_customers", "funnel_conversion", "revenue"):
        assert name in found, name
    for name, raws in found.items():
        assert len(raws) == 1 and _same(next(iter(raws)), metrics.value(h, name)), (name, raws)
        assert f'id="def-{name}"' in html  # its definition, in the appendix
    assert "Definitions of the numbers" in html and "within 30 days" in html


def test_inputs_the_caller_already_has_are_read_not_computed_again(journeys_workspace, headline):
    """The report passes the funnel and the attribution paths it also shows: the headline reads them as given,
    and the real ones give the numbers it computes itself."""
    fake_f = pd.DataFrame({"conversion_from_start": [1.0, 0.25]})
    fake_p = pd.DataFrame({"path": ["x"], "conversions": [3], "value": [12.5], "nulls": [0]})
    h = metrics.headline(journeys_workspace, parts=["funnel", "attribution"], funnel=fake_f, paths=fake_p)
    assert metrics.value(h, "funnel_conversion") == 0.25 and metrics.value(h, "attribution_conversions") == 3
    with cxlib.connect(journeys_workspace, read_only=True) as ws:  # the kept staged rows, as the report reads them
        f = journeys.funnel(journeys.staged_rows(ws), list(metrics.FUNNEL_STEPS), within=metrics.FUNNEL_WINDOW_DAYS)
    h = metrics.headline(journeys_workspace, parts=["funnel", "attribution"], funnel=f,
                         paths=report.attribution_paths(journeys_workspace))
    for name in ("funnel_conversion", "attribution_conversions", "attribution_value"):
        assert metrics.value(h, name) == metrics.value(headline, name), name


def test_the_journey_map_counts_who_reached_each_stage_as_the_metric_does(headline, workspace):
    """One number per question: the journey map's "customers" row is the stage_ever metric (a customer who went
    quiet reached at_risk, churned or lost without a touchpoint there)."""
    jm = journeys.journey_map(journeys.staged_touchpoints(workspace))
    got = {s: int(jm.loc["customers", s]) for s in jm.columns}
    assert got == {s: metrics.value(headline, f"stage_ever.{s}") for s in got}
    assert got["lost"] > 10 * len(got)  # quiet customers reach lost: not only those who touched there
    # every stage reached is a column, also one reached only at month ends (an orders-only shop's at risk and
    # churned had none: the map left out where most of its customers end)
    from cxlib.schema import STAGES

    assert set(got) == {s for s in STAGES if (metrics.value(headline, f"stage_ever.{s}") or 0) > 0}
