"""One currency for every amount: ``currency:`` and ``rates:`` in sources.yml convert the orders at load."""

from __future__ import annotations

import pandas as pd
import pytest

import cxlib
from cxlib import io, metrics

ORDERS = """order_id,ts,amount,status,currency
A1,2024-01-02,100.00,completed,EUR
A2,2024-01-03,100.00,completed,GBP
A3,2024-01-04,50.00,completed, gbp
A4,2024-01-05,20.00,completed,
A5,2024-01-06,10.00,completed,USD
A6,2024-01-07,40.00,returned,GBP
"""


def _workspace(tmp_path, settings: str):
    (tmp_path / "orders.csv").write_text(ORDERS)
    (tmp_path / "sources.yml").write_text(settings + "tables:\n  orders: {file: orders.csv, source: shop}\n")
    return tmp_path


def _orders(folder) -> pd.DataFrame:
    with cxlib.connect(folder, read_only=True) as ws:
        return ws.table("orders").to_pandas().set_index("order_id")


def test_amounts_are_converted_into_the_workspace_currency_and_the_recorded_ones_kept(tmp_path):
    folder = _workspace(tmp_path, "currency: EUR\nrates:\n  GBP: 1.17\n  USD: 0.92\n")
    report = io.load(folder)
    o = _orders(folder)
    assert o["amount"].round(6).to_dict() == {
        "A1": 100.0, "A2": 117.0, "A3": 58.5, "A4": 20.0, "A5": 9.2, "A6": 46.8,
    }  # fmt: skip
    assert set(o["currency"]) == {"EUR"}
    assert o["amount_recorded"].to_dict()["A3"] == 50.0
    assert o["currency_recorded"].to_dict()["A2"] == "GBP"
    assert pd.isna(o["currency_recorded"].to_dict()["A4"])  # blank: taken to be in EUR already
    assert int(report.summary.loc[0, "rows_loaded"]) == 6 and report.quarantine.empty
    assert metrics.currency(folder) == "EUR"  # every money number's unit


def test_an_order_in_a_currency_without_a_rate_is_quarantined_with_the_fix(tmp_path):
    folder = _workspace(tmp_path, "currency: EUR\nrates: {GBP: 1.17}\n")
    report = io.load(folder)
    q = report.quarantine
    assert q[["row", "column", "value", "action"]].values.tolist() == [[5, "currency", "USD", "quarantined"]]
    assert "rates:" in q["reason"].iloc[0] and "EUR" in q["reason"].iloc[0]
    s = report.summary.iloc[0]
    assert (s["rows_in"], s["rows_loaded"], s["rows_quarantined"]) == (6, 5, 1)  # counts conserved
    assert "A5" not in _orders(folder).index


def test_without_a_currency_setting_amounts_load_as_recorded_and_the_mix_is_said(tmp_path):
    folder = _workspace(tmp_path, "")
    report = io.load(folder)
    o = _orders(folder)
    assert o.loc["A2", "amount"] == 100.0 and "amount_recorded" not in o.columns
    said = [w for w in report.warnings if "currencies" in w]
    assert len(said) == 1 and "GBP" in said[0] and "rates:" in said[0]


@pytest.mark.parametrize(
    ("settings", "words"),
    [
        ("rates: {GBP: 1.17}\n", "needs `currency:`"),
        ("currency: EURO\n", "not a currency code"),
        ("currency: \"EUR'; DROP TABLE orders; --\"\n", "not a currency code"),
        ("currency: EUR\nrates: {GBP: -1}\n", "positive number"),
        ("currency: EUR\nrates: {GBP: many}\n", "positive number"),
        ("currency: EUR\nrates: {EUR: 2}\n", "its rate is 1"),
        ("currency: EUR\nrates: [GBP]\n", "mapping"),
        ("currancy: EUR\n", "did you mean 'currency'"),
    ],
)
def test_a_bad_currency_setting_is_a_clear_error(tmp_path, settings, words):
    folder = _workspace(tmp_path, settings)
    with pytest.raises(cxlib.DataError, match="sources.yml") as e:
        io.load(folder)
    assert words in str(e.value)


def test_the_pages_and_the_report_say_again_that_amounts_mix_currencies(tmp_path):
    """`cx load` warned once; the pages and the report then showed "68 EUR/GBP" without a word. Now each says
    the amounts are added as recorded, and how to count them in one currency; once converted, nothing is said.
    " gbp" is GBP: it was shown as a fourth currency."""
    from cxlib import notebook, report

    folder = _workspace(tmp_path, "")
    io.load(folder)
    said = metrics.mixed_currencies(folder)
    assert said.startswith("The orders' amounts are in 3 currencies (EUR, GBP, USD), added as recorded")
    assert "`currency: EUR` and `rates:`" in said
    page = notebook.stale_note(folder).text  # under every page's opening
    assert "Amounts in several currencies." in page and "3 currencies (EUR, GBP, USD)" in page
    html = report.standard_report(folder, sections=["customers"]).to_html()
    assert "Amounts in several currencies." in html and "3 currencies (EUR, GBP, USD)" in html
    _workspace(tmp_path, "currency: EUR\nrates:\n  GBP: 1.17\n  USD: 0.92\n")
    io.load(folder)
    assert metrics.mixed_currencies(folder) is None and "several currencies" not in notebook.stale_note(folder).text
