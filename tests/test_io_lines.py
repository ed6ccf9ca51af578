"""Order-line exports: adjustments (bad-debt write-offs) beside sales and credit notes (``lines: true``)."""

from __future__ import annotations

import pytest

from cxlib import io, metrics, unify
from cxlib.schema import DataError
from tests.io_helpers import conserved, loaded
from tests.test_io_exports import INVOICES, LINES_YML, write

ADJUST = "    adjustment_prefix: A\n"


def test_a_bad_debt_write_off_is_quarantined_as_an_adjustment_and_its_lines_kept(tmp_path):
    """The Online Retail data set's write-offs (stock code B, "Adjust bad debt"): A563185 at +11,062.06 (it
    was a sale until ``adjustment_prefix``), reversed by A563186 and booked again by A563187 at -11,062.06.
    None is a sale or a credit note: all three quarantined, their lines kept, no revenue moves, gross or net."""
    write_offs = "".join(
        f"A56318{i},B,Adjust bad debt,1,2010-12-02 14:5{i - 5}:00,{price},,United Kingdom\n"
        for i, price in ((5, "11062.06"), (6, "-11062.06"), (7, "-11062.06"))
    )
    write(tmp_path, "invoices.csv", INVOICES + write_offs)
    write(tmp_path, "sources.yml", LINES_YML.replace("credit_note_prefix: C\n", "credit_note_prefix: C\n" + ADJUST))
    r = io.load(tmp_path)
    assert conserved(r)
    s = r.summary.set_index("table_name")
    assert s.loc["order_lines", "rows_loaded"] == 10 and s.loc["orders", "rows_quarantined"] == 3
    q = r.quarantine[r.quarantine["table_name"] == "orders"].sort_values("record_key")
    assert q["record_key"].tolist() == ["A563185", "A563186", "A563187"]
    assert q["reason"].str.startswith("adjustment, not a sale").all()
    assert q["value"].tolist() == ["-11062.06"] * 3
    orders = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    assert orders.loc["C536379", "status"] == "cancelled"  # credit notes as before
    lines = loaded(tmp_path, "order_lines", "line")
    assert not lines.loc[lines["order_id"].str.startswith("A"), "credit_note"].astype(bool).any()
    unify.unify(tmp_path, probabilistic=False)
    h = metrics.headline(tmp_path, ["revenue"])
    gross = 6 * 2.55 + 6 * 3.39 + 12 * 1.85
    assert metrics.value(h, "revenue") == pytest.approx(gross)
    assert metrics.value(h, "revenue_net") == pytest.approx(gross - 27.5 - 24 * 1.45)  # as without them


def test_a_write_off_that_nets_to_zero_is_no_sale_and_prefixes_may_not_overlap(tmp_path):
    zero = "A563190,B,Adjust bad debt,1,2010-12-02 15:00:00,5.00,,United Kingdom\n" \
           "A563190,B,Adjust bad debt,1,2010-12-02 15:00:00,-5.00,,United Kingdom\n"
    write(tmp_path, "invoices.csv", INVOICES + zero)
    write(tmp_path, "sources.yml", LINES_YML.replace("credit_note_prefix: C\n", "credit_note_prefix: C\n" + ADJUST))
    r = io.load(tmp_path)
    assert conserved(r)
    q = r.quarantine[r.quarantine["table_name"] == "orders"]
    assert q["record_key"].tolist() == ["A563190"] and q["reason"].str.startswith("adjustment, not a sale").all()
    assert "A563190" not in set(loaded(tmp_path, "orders")["order_id"])  # not a completed sale of 0.00
    write(tmp_path, "sources.yml", LINES_YML.replace("credit_note_prefix: C\n", "credit_note_prefix: C\n"
                                                    "    adjustment_prefix: CA\n"))
    with pytest.raises(DataError, match="overlap"):
        io.validate(tmp_path)


def test_a_stock_write_off_at_no_value_is_no_sale(tmp_path):
    """The online-retail export books stock losses as invoices of negative quantities at price 0, with no customer
    and no credit-note prefix ("damaged", "missing"): they were completed orders of 0.00, each a customer with no
    identifier. A free sample (a positive quantity at 0) stays an order."""
    extra = ("489437,21733,damaged,-96,2009-12-01 10:00:00,0.00,,United Kingdom\n"
             "489438,21734,?,-12,2009-12-01 10:05:00,0,,United Kingdom\n"
             "489439,21735,free sample,1,2009-12-01 10:06:00,0.00,12345,United Kingdom\n")  # fmt: skip
    write(tmp_path, "invoices.csv", INVOICES + extra)
    write(tmp_path, "sources.yml", LINES_YML)
    r = io.load(tmp_path)
    assert conserved(r)
    q = r.quarantine[r.quarantine["table_name"] == "orders"]
    assert sorted(q["record_key"]) == ["489437", "489438"] and q["reason"].str.startswith("adjustment").all()
    orders = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    assert "489437" not in orders.index and orders.loc["489439", "status"] == "completed"
    lines = loaded(tmp_path, "order_lines", "line")
    assert {"489437", "489438"} <= set(lines["order_id"]) and not lines["credit_note"].astype(bool)[
        lines["order_id"].isin(["489437", "489438"])].any()


def test_the_forecasts_history_nets_credit_notes_as_the_reports_net_revenue_does(tmp_path):
    """Online Retail II's order 581483 (80,995 x 2.08) and its credit note C581484 ten minutes later: the sale
    counted in the journey model's monthly history (the forecast, every lever's gain and the backtest's actuals)
    while the credit note counted 0; the report's net revenue beside it left both out."""
    from cxlib.simulate import history_from_workspace

    rows = "".join(f"5400{i},22961,JAM SET,2,2011-0{m}-05 10:00:00,10,1780{i}.0,United Kingdom\n"
                   for i in range(4) for m in (1, 2, 3))  # fmt: skip
    big = ("581483,23843,PAPER CRAFT,80995,2011-02-09 09:15:00,2.08,16446.0,United Kingdom\n"
           "C581484,23843,PAPER CRAFT,-80995,2011-02-09 09:27:00,2.08,16446.0,United Kingdom\n")  # fmt: skip
    write(tmp_path, "invoices.csv", INVOICES.split("\n", 1)[0] + "\n" + rows + big)
    write(tmp_path, "sources.yml", LINES_YML)
    io.load(tmp_path)
    unify.unify(tmp_path, probabilistic=False, progress=False)
    h = history_from_workspace(tmp_path, by=None, channel=False)
    assert h["revenue"].sum() == pytest.approx(4 * 3 * 20.0)  # was 4 * 3 * 20 + 168,469.60
    assert metrics.value(metrics.headline(tmp_path, ["revenue"]), "revenue_net") == pytest.approx(h["revenue"].sum())
