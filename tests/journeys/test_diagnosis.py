"""Diagnosis and the journey map: the planted findings of the session company."""

from __future__ import annotations

import pytest

import cxlib
from cxlib import journeys as j

# its module fixtures are costly: one worker builds them once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group("diagnosis")


def test_dropoff_diagnosis_recovers_the_planted_service_failure(workspace, company):
    truth = company.truth.planted["service_failure"]
    with cxlib.connect(workspace, read_only=True) as ws:
        d = j.diagnose_dropoff(j.analysis_touchpoints(ws))
    share = d["abandoners_failed_first"].sum() / d["checkout_abandoners"].sum()
    # tolerance: +-3 points, as the issue states
    assert share == pytest.approx(truth["abandoners_share_with_presale_failure"], abs=0.03)
    assert "service failure" in j.dropoff_verdict(d)


@pytest.mark.parametrize("excess", [120.0, 0.0])
def test_the_dropoff_verdict_is_one_message(excess):
    """One conclusion that says what each group calls for (it said "a service fix, not a marketing one" and then
    "the other 83% ... a marketing question")."""
    import pandas as pd

    d = pd.DataFrame([dict(branch="service failure", share=0.17, conversion=0.48, checkout_abandoners=20,
                           abandoners_failed_first=12, excess_dropoffs=excess, revenue_at_stake=9000.0 * bool(excess)),
                      dict(branch="marketing only", share=0.83, conversion=0.53, checkout_abandoners=10,
                           abandoners_failed_first=0, excess_dropoffs=0.0, revenue_at_stake=0.0)])  # fmt: skip
    said = j.dropoff_verdict(d)
    assert "not a marketing one" not in said and said.count("So: ") == 1 and "83%" in said
    assert ("fix pre-sale service first, worth about 120 first purchases (9,000" in said) == bool(excess)


def test_returns_diagnosis_recovers_the_planted_split(workspace, company):
    truth = company.truth.planted["returns"]
    with cxlib.connect(workspace, read_only=True) as ws:
        r = j.diagnose_returns(j.analysis_touchpoints(ws)).set_index("cause")["orders"]
    fulfil = r["fulfilment or support failure"]
    expect = r["expectation gap (brand/marketing)"]
    cancelled_with_ticket = fulfil - 0  # cancellations with a ticket also count here; the share is over returns
    share = fulfil / (fulfil + expect)
    assert share == pytest.approx(truth["realised_fulfilment_share"], abs=0.03 + cancelled_with_ticket * 0)


def test_service_by_stage_and_journey_map(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        tp = j.analysis_touchpoints(ws)
        svc = j.service_by_stage(tp)
        jm = j.journey_map(tp)
    assert svc.loc["consideration", "tickets"] > 0
    assert list(jm.columns[:3]) == ["awareness", "consideration", "purchase"]
    assert 0 < jm.loc["conversion_to_next", "consideration"] < 1
    assert "pre_sale_question" in jm.loc["pain_points", "consideration"]
    assert j.journey_map_figure(jm).data[0].type == "table"


def test_service_by_stage_under_a_filter_counts_the_customers_the_filtered_map_counts():
    """The journeys page shows the service table under the journey map, both under the page's filters: filtered,
    it is the table of the rows the filter keeps (it showed every customer under a map of one channel)."""
    import pandas as pd

    tp = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "channel": ["web", "support", "app", "support"],
                       "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01", "2024-01-03"]),
                       "event": ["product_view", "ticket", "product_view", "ticket"],
                       "topic": [None, "pre_sale_question", None, "billing"], "resolved": [None, True, None, False],
                       "csat": [None, 4.0, None, 2.0]})  # fmt: skip
    only_a = {"customer_id": ["a"]}
    got = j.service_by_stage(tp, filters=only_a)
    pd.testing.assert_frame_equal(got, j.service_by_stage(tp[tp["customer_id"] == "a"]))
    assert got.loc["consideration", ["customers", "tickets", "csat"]].tolist() == [1, 1, 4.0]
    assert j.service_by_stage(tp).loc["consideration", "customers"] == 2


def test_journey_map_cells_wrap_to_their_column_and_the_figure_holds_every_row():
    """A plotly table cuts a word wider than its column and scrolls rows below the figure's height: the map's
    cells are wrapped to their column (lists one name a line, in words) and the figure is as tall as its rows."""
    import pandas as pd

    stages = ["awareness", "consideration", "at_risk", "win_back"]
    jm = pd.DataFrame(
        {
            "journey": ["buyer", "buyer", "customer", "customer"],
            "customers": [1535, 1216, 148, 45],
            "top_touchpoints": ["page_view, product_view, add_to_cart"] * 4,
            "pain_points": ["pre_sale_question, colour differs from photos, a_remarkably_long_reason_code"] * 4,
            "nps": [8.2, None, 6.5, 5.5],
        },
        index=stages,
    ).T
    fig = j.journey_map_figure(jm, width=600)
    table = fig.data[0]
    assert [h.split("<br>")[0] for h in table.header["values"][1:]] == ["Awareness", "Consideration", "At risk",
                                                                        "Win back"]  # fmt: skip
    weights = table.columnwidth
    for col, weight in zip(table.cells["values"], weights, strict=True):
        room = int(((600 - 20) * weight / sum(weights) - 10) / 6)  # characters that fit the column
        assert all(len(line) <= room for cell in col for line in cell.split("<br>")), (room, col)
    touch = table.cells["values"][1][list(jm.index.drop("journey")).index("top_touchpoints")]
    assert touch.split("<br>")[:2] == ["page view", "product view"] and "_" not in touch
    assert jm.loc["pain_points", "awareness"].startswith("pre_sale_question")  # the data keeps its values
    lines = sum(max(c.count("<br>") + 1 for c in row) for row in zip(*table.cells["values"], strict=True))
    assert fig.layout.height >= lines * 17 + 60  # every line of every row inside the figure


def test_without_any_ticket_the_service_rate_is_unknown_not_zero():
    """GA4 with invoice lines (no helpdesk): the journey map's service rows read "tickets per 100 customers: 0.0"
    in every stage, as if service were perfect. With no ticket in the rows at all the rate is unknown."""
    import numpy as np
    import pandas as pd

    tp = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["product_view", "purchase", "product_view"],
                       "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]), "topic": [None, None, None],
                       "resolved": [None, None, None], "csat": [np.nan, np.nan, np.nan]})
    svc = j.service_by_stage(tp)
    assert svc["tickets"].sum() == 0 and svc["tickets_per_100"].isna().all()
    with_one = tp.assign(topic=[None, None, "pre_sale_question"], resolved=[None, None, True])
    assert j.service_by_stage(with_one).loc["consideration", "tickets_per_100"] == 50.0
