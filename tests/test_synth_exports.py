"""The export style (``cx generate --style exports``): the same company as its systems export it.

Fast tests check the written files look like the vendors' exports and that ``cx sources`` recognises each;
the slow one loads both styles of one company and compares what the issue names: rows per table, revenue
(total and completed) to the cent, and identity F1 against the truth after ``unify``.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from cxlib import io, synth, unify
from cxlib.cli import app
from cxlib.engine import opened
from cxlib.io.recognise import recognise
from cxlib.synth.exports import layouts, write_exports
from cxlib.unify.quality import evaluate

runner = CliRunner()
TABLES = ("contacts", "events", "orders", "tickets", "surveys")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A tiny company, written in the export style by the CLI."""
    out = tmp_path_factory.mktemp("exports")
    res = runner.invoke(app, ["generate", "--style", "exports", "--customers", "300", "--seed", "5", "--months", "3",
                              "--no-progress", "--out", str(out)])  # fmt: skip
    assert res.exit_code == 0, res.output
    return out


def test_cx_sources_recognises_every_vendor_file(small):
    expected = {
        "klaviyo_email_activity.csv": ("Klaviyo email activity", "events"),
        "online_retail_invoices.csv": ("invoice-line export (online-retail layout)", "orders"),
        "zendesk_tickets.csv": ("Zendesk tickets export", "tickets"),
        "hubspot_contacts.csv": ("HubSpot contacts export", "contacts"),
        "qualtrics_responses.csv": ("Qualtrics responses export", "surveys"),
    }
    for name, (label, table) in expected.items():
        r = recognise(small / name)
        assert (r.label, r.table, r.confidence, r.active) == (label, table, "high", True), (name, r.notes)
    day = sorted((small / "ga4").glob("events_*.parquet"))[0]
    assert recognise(day).entry == {"format": "ga4", "source": "ga4"}
    assert runner.invoke(app, ["sources", str(small), "--write"]).exit_code == 0
    cfg = yaml.safe_load((small / "sources.yml").read_text())
    ga4 = [e for e in cfg["tables"]["events"] if e.get("format") == "ga4"]
    assert [e["file"] for e in ga4] == ["ga4/events_*.parquet"]
    assert next(e for e in cfg["tables"]["surveys"])["header_rows"] == 3


def test_klaviyo_ids_and_hubspot_birth_dates_are_mapped(tmp_path):
    k = tmp_path / "klaviyo.csv"
    k.write_text("Event ID,Profile ID,Email,Metric Name,Timestamp,Campaign Name\n"
                 "3vX9,01HQ5,a@x.com,Received Email,2024-01-02 10:00:00+00:00,Spring\n"
                 "3vY1,01HQ5,a@x.com,Opened Email,2024-01-02 11:00:00+00:00,Spring\n")  # fmt: skip
    cols = recognise(k).entry["columns"]
    assert cols["contact_ref"] == "Profile ID" and cols["event_id"] == "Event ID"
    h = tmp_path / "hubspot.csv"
    h.write_text("Record ID,First Name,Last Name,Email,Date of birth,Create Date\n1,Ann,Lee,a@x.com,1980-02-03,"
                 "2024-01-02\n")  # fmt: skip
    assert recognise(h).entry["columns"]["birth_date"] == "Date of birth"


def test_ga4_files_are_the_nested_bigquery_layout(small):
    days = sorted((small / "ga4").glob("events_*.parquet"))
    assert len(days) > 60  # one file per day
    t = pq.read_table(days[10]).to_pylist()
    cols = set(t[0])
    assert {"event_date", "event_timestamp", "event_name", "event_params", "user_pseudo_id", "user_id",
            "traffic_source", "ecommerce", "items", "batch_event_index"} <= cols  # fmt: skip
    assert all(r["event_date"] == days[10].stem.split("_")[1] for r in t)
    assert all(10**15 < r["event_timestamp"] < 10**17 for r in t)  # microseconds
    assert {p["key"] for p in t[0]["event_params"]} >= {"ga_session_id", "page_location", "medium", "source"}
    names = {r["event_name"] for d in days for r in pq.read_table(d, columns=["event_name"]).to_pylist()}
    assert {"view_item", "page_view"} <= names and not names & {"product_view", "checkout_start"}
    # one user's events in the same microsecond are numbered
    both = pd.concat(pq.read_table(d, columns=["user_pseudo_id", "event_timestamp", "batch_event_index"]).to_pandas()
                     for d in days)  # fmt: skip
    assert not both.duplicated().any()


def test_ga4_purchases_carry_the_shops_order_id_or_not_set(small, tmp_path):
    """As docs/sources.md says: a GA4 purchase carries the shop's order id (``ecommerce.transaction_id`` and
    the event parameter) when the shop has that order, else ``(not set)``; the shop's invoice lines are the
    orders, so the load makes no order of a GA4 purchase."""
    buys = pd.concat(pq.read_table(d, filters=[("event_name", "=", "purchase")]).to_pandas()
                     for d in sorted((small / "ga4").glob("events_*.parquet")))  # fmt: skip
    tid = buys["ecommerce"].map(lambda e: e["transaction_id"])
    param = buys["event_params"].map(lambda ps: next((p["value"]["string_value"] for p in ps
                                                      if p["key"] == "transaction_id"), "(not set)"))  # fmt: skip
    invoices = set(pd.read_csv(small / "online_retail_invoices.csv", dtype=str)["InvoiceNo"])
    assert len(buys) and (tid == param).all()
    assert set(tid) - {"(not set)"} <= invoices and (tid != "(not set)").mean() > 0.5
    folder = tmp_path / "exports"
    shutil.copytree(small, folder)
    (folder / "sources.yml").write_text(io.suggest_sources(folder))
    io.load(folder)
    with opened(folder, read_only=True) as ws:
        assert "ga4" not in set(ws.table("orders").to_pandas()["source"])  # the shop's and the tills' only


def _cents(lines: pd.DataFrame) -> pd.Series:
    unit = (lines["UnitPrice"].astype(float) * 100).round().astype(int)
    return (lines["Quantity"] * unit).groupby(lines["InvoiceNo"]).sum()


def test_invoice_lines_sum_to_the_order_and_credit_notes_are_negative():
    amounts = ["0.00", "0.01", "2.99", "3.00", "10.01", "99.99", "1234.56", "17.50"] * 5
    status = ["completed", "cancelled", "returned", "Completed", "pending"] * 8
    o = pd.DataFrame({"source": "shop", "order_id": [f"O{i:03d}" for i in range(40)], "ts": "2024-03-01 10:00:00",
                      "contact_ref": "S1", "email": None, "amount": amounts, "currency": "GBP", "status": status,
                      "channel": "web", "return_reason": None})  # fmt: skip
    lines = layouts.retail_lines(o, np.random.default_rng(0))
    per = _cents(lines)
    want = o.set_index("order_id")["amount"].astype(float).mul(100).round().astype(int)
    ids = per.index.str.removeprefix("C")
    assert (per.abs().to_numpy() == want.loc[ids].to_numpy()).all()
    credit = per.index.str.startswith("C")
    assert (o.set_index("order_id").loc[ids[credit], "status"] == "cancelled").all() and credit.sum() == 8
    assert (per[credit] <= 0).all() and (per[~credit] >= 0).all()
    assert lines.groupby("InvoiceNo").size().between(1, 3).all() and lines.groupby("InvoiceNo").size().max() > 1
    first = lines.groupby("InvoiceNo")["InvoiceDate"].min()
    assert (first == "2024-03-01 10:00:00").all()  # the order's time is its first line's


def test_the_invoice_file_holds_every_shop_order(small):
    c = synth.generate(n_customers=300, seed=5, months=3)
    shop = c.tables["orders"][c.tables["orders"]["source"] == "shop"]
    per = _cents(pd.read_csv(small / "online_retail_invoices.csv", dtype={"UnitPrice": str}))
    assert sorted(per.index.str.removeprefix("C")) == sorted(shop["order_id"])
    assert per.abs().sum() == shop["amount"].astype(float).mul(100).round().sum()


def test_qualtrics_has_its_two_extra_header_rows(small):
    head = (small / "qualtrics_responses.csv").read_text().splitlines()[:3]
    assert head[0].startswith("StartDate,EndDate,Status")
    assert "Response ID" in head[1]
    imports = pd.read_csv(small / "qualtrics_responses.csv", nrows=2).iloc[1]
    assert json.loads(imports["ResponseId"]) == {"ImportId": "_recordId"}
    assert json.loads(imports["RecordedDate"])["timeZone"] == "UTC"


def test_cx_generate_refuses_an_unknown_style(tmp_path):
    res = runner.invoke(app, ["generate", "--style", "vendor", "--customers", "50", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "--style must be canonical or exports" in res.output


def _measure(folder):
    io.load(folder)
    with opened(folder, read_only=True) as ws:
        rows = {n: int(ws.table(n).count().execute()) for n in TABLES}
        o = ws.table("orders").to_pandas()
    amount = o["amount"].astype(float)
    revenue = (round(amount.sum(), 2), round(amount[o["status"] == "completed"].sum(), 2))
    unify.unify(folder)
    with opened(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    q = evaluate(links, synth.load_truth(folder).record_map).iloc[0]
    return rows, revenue, q


@pytest.mark.slow
def test_the_export_style_loads_equal_to_the_canonical_company(tmp_path):
    company = synth.generate(n_customers=1500, seed=3, months=6)
    company.write(tmp_path / "canonical")
    write_exports(company, tmp_path / "exports")
    (tmp_path / "exports" / "sources.yml").write_text(io.suggest_sources(tmp_path / "exports"))
    rows_c, rev_c, q_c = _measure(tmp_path / "canonical")
    rows_e, rev_e, q_e = _measure(tmp_path / "exports")
    assert rows_e == rows_c
    assert rev_e == rev_c
    # F1 against each folder's own answer key: the export's truth names the rows by the keys the loader gives
    # them (GA4 events have no id: the loader derives one; credit notes carry their C prefix)
    assert abs(q_e["pairwise_f1"] - q_c["pairwise_f1"]) <= 0.002, (q_e.to_dict(), q_c.to_dict())
    assert abs(q_e["bcubed_f1"] - q_c["bcubed_f1"]) <= 0.002
    assert q_e["rows"] == q_c["rows"]
    with opened(tmp_path / "exports", read_only=True) as ws:
        lines = ws.table("order_lines").to_pandas()
        ev = ws.table("events").to_pandas()
    assert lines["credit_note"].astype(bool).any()
    assert set(ev["source"]) >= {"ga4", "klaviyo"}


def _loaded(folder):
    io.load(folder)
    with opened(folder, read_only=True) as ws:
        rows = {n: int(ws.table(n).count().execute()) for n in TABLES}
        o = ws.table("orders").to_pandas()
        ev = ws.table("events").to_pandas()
    amount = o["amount"].astype(float)
    return rows, (round(amount.sum(), 2), round(amount[o["status"] == "completed"].sum(), 2)), ev


def _sorted(df):
    return df.astype(str).sort_values(list(df.columns)).reset_index(drop=True)


@pytest.mark.slow
def test_the_streamed_export_loads_equal_to_the_in_memory_one(tmp_path):
    """Three blocks streamed: same rows and revenue as write_exports, and the answer key names every row."""
    kw = {"n_customers": 4500, "seed": 11, "months": 4}
    write_exports(synth.generate(**kw), tmp_path / "memory")
    rows = synth.write_company(tmp_path / "stream", progress=False, ga4_rows=20_000, style="exports", **kw)
    assert rows["ga4"] > 20_000  # more than one flush: days hold several row groups
    for f in ("memory", "stream"):
        (tmp_path / f / "sources.yml").write_text(io.suggest_sources(tmp_path / f))
    rows_m, rev_m, _ = _loaded(tmp_path / "memory")
    rows_s, rev_s, ev = _loaded(tmp_path / "stream")
    assert rows_s == rows_m and rev_s == rev_m
    m = synth.load_truth(tmp_path / "stream").record_map
    ga4 = m[(m["table_name"] == "events") & (m["source"] == "ga4")]
    assert set(ga4["record_key"]) == set(ev.loc[ev["source"] == "ga4", "event_id"])
    # the same answer key, GA4's derived ids included (row order aside)
    keys = ["table_name", "source", "record_key", "person_id", "defect"]
    m_mem = synth.load_truth(tmp_path / "memory").record_map
    assert _sorted(m[keys]).equals(_sorted(m_mem[keys]))
    head = (tmp_path / "stream" / "qualtrics_responses.csv").read_text().splitlines()
    assert sum(line.startswith("StartDate,") for line in head) == 1  # the header rows once
