"""Excel, JSON/NDJSON and `files:` patterns through `sources.yml` (issue 16, item 7; Excel serial dates, item 5).

Tiny hand-made files in real layouts: the UCI "Online Retail" workbook (InvoiceNo, StockCode, Description,
Quantity, InvoiceDate, UnitPrice, CustomerID, Country), Segment's event NDJSON (messageId, event,
timestamp, anonymousId, userId, properties, context) and monthly Shopify order CSVs (Name, Email,
Financial Status, Created at, Total, Currency, ...).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
import subprocess
import sys

import duckdb
import pandas as pd
import pytest
import yaml

from cxlib import io, metrics, unify
from cxlib.schema import DataError
from tests.io_helpers import conserved, db_types, loaded

openpyxl = pytest.importorskip("openpyxl")

RETAIL = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID", "Country"]
RETAIL_ROWS = [
    [536365, "85123A", "WHITE HANGING HEART T-LIGHT HOLDER", 6, dt.datetime(2010, 12, 1, 8, 26), 2.55, 17850,
     "United Kingdom"],
    [536365, 71053, "WHITE METAL LANTERN", 6, dt.datetime(2010, 12, 1, 8, 26), 3.39, 17850, "United Kingdom"],
    ["C536379", "D", "Discount", -1, dt.datetime(2010, 12, 1, 9, 41), 27.5, 14527, "United Kingdom"],
    [536370, 22728, "ALARM CLOCK BAKELIKE PINK", 24, dt.datetime(2010, 12, 1, 8, 45), 3.75, None, "France"],
]  # fmt: skip


def sources(folder, tables, **top):
    (folder / "sources.yml").write_text(yaml.safe_dump({**top, "tables": tables}, sort_keys=False))


def workbook(path, sheets):
    """Write an .xlsx with openpyxl: ``sheets`` maps a sheet name to its rows (the first row is the header)."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path








# --- Excel ------------------------------------------------------------------------------------------------------------


def test_online_retail_workbook_as_order_lines(tmp_path):
    workbook(tmp_path / "Online Retail.xlsx", {"Online Retail": [RETAIL, *RETAIL_ROWS]})
    sources(tmp_path, {"orders": {
        "file": "Online Retail.xlsx", "source": "shop", "lines": True, "credit_note_prefix": "C",
        "constants": {"currency": "GBP"},
        "columns": {"order_id": "InvoiceNo", "ts": "InvoiceDate", "quantity": "Quantity", "unit_price": "UnitPrice",
                    "sku": "StockCode", "description": "Description", "contact_ref": "CustomerID"},
    }})  # fmt: skip
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine.empty
    o = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    assert list(o.index) == ["536365", "536370", "C536379"]  # numbers in an id column are read as their text
    assert o.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 6 * 3.39)
    assert o.loc["536365", "ts"] == dt.datetime(2010, 12, 1, 8, 26)  # a date cell stays a timestamp
    assert o.loc["536365", "contact_ref"] == "17850"  # not 17850.0
    assert o.loc["C536379", "status"] == "cancelled" and pd.isna(o.loc["536370", "contact_ref"])
    assert set(loaded(tmp_path, "order_lines")["sku"]) == {"85123A", "71053", "D", "22728"}


def test_sheets_pasted_together_leave_the_repeated_header_out_and_keep_the_types(tmp_path):
    # two months' sheets pasted into one: the column names again in row 4 (Excel's), once quarantined as what it
    # is; the rows around it load with their date cells and numbers as they were (the line did not make every
    # column text)
    rows = [RETAIL, *RETAIL_ROWS[:2], RETAIL, *RETAIL_ROWS[2:], [c.upper() for c in RETAIL]]  # a near miss last
    workbook(tmp_path / "Online Retail.xlsx", {"Online Retail": rows})
    sources(tmp_path, {"orders": {
        "file": "Online Retail.xlsx", "source": "shop", "lines": True, "credit_note_prefix": "C",
        "constants": {"currency": "GBP"}, "max_quarantine": 0.9,
        "columns": {"order_id": "InvoiceNo", "ts": "InvoiceDate", "quantity": "Quantity", "unit_price": "UnitPrice",
                    "sku": "StockCode", "description": "Description", "contact_ref": "CustomerID"},
    }})  # fmt: skip
    r = io.load(tmp_path)
    assert conserved(r)
    q = r.quarantine
    pasted = q[q["reason"].str.startswith("the column names again")]
    assert pasted["row"].tolist() == [3] and (q["row"] == 3).sum() == 1  # row 4 of the sheet, one reason
    assert set(q["row"]) == {3, 6}  # the near miss fails its checks as a row
    o = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    assert list(o.index) == ["536365", "536370", "C536379"]
    assert o.loc["536365", "ts"] == dt.datetime(2010, 12, 1, 8, 26)
    assert o.loc["536365", "contact_ref"] == "17850"  # a number cell, not the text of a mixed column


def test_a_workbook_of_several_sheets_is_read_sheet_by_sheet(tmp_path):
    # Online Retail II: one sheet per year, the same columns; the years overlap by a few days (invoice 536365)
    header = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    y1 = [[489434, "85048", "CHRISTMAS LIGHTS", 12, dt.datetime(2009, 12, 1, 7, 45), 6.95, 13085.0, "United Kingdom"],
          [536365, "71053", "WHITE METAL LANTERN", 6, dt.datetime(2010, 12, 1, 8, 26), 3.39, 17850.0, "United Kingdom"]]
    credit = ["C536379", "D", "Discount", -1, dt.datetime(2010, 12, 1, 9, 41), 27.5, 14527.0, "United Kingdom"]
    y1.append(credit)
    y2 = [[536365, "71053", "WHITE METAL LANTERN", 6, dt.datetime(2010, 12, 1, 8, 26), 3.39, 17850.0, "United Kingdom"],
          credit]
    workbook(tmp_path / "online_retail_II.xlsx", {"Year 2009-2010": [header, *y1], "Year 2010-2011": [header, *y2]})
    text = io.suggest_sources(tmp_path)
    entries = yaml.safe_load(text)["tables"]["orders"]
    assert [e["sheet"] for e in entries] == ["Year 2009-2010", "Year 2010-2011"]  # one entry per sheet
    assert "online_retail_II.xlsx (sheet 'Year 2010-2011')" in text
    for e in entries:
        e["constants"] = {"currency": "GBP"}
    sources(tmp_path, {"orders": entries})
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.set_index("table_name").loc["order_lines", "rows_in"] == 5
    o = loaded(tmp_path, "orders", "order_id")
    assert o["order_id"].tolist() == ["489434", "536365", "C536379"]
    q = r.quarantine  # the overlap's second copies, named by their sheet
    assert sorted(q[["source_file", "row"]].values.tolist()) == [["online_retail_II.xlsx[Year 2010-2011]", 1],
                                                                 ["online_retail_II.xlsx[Year 2010-2011]", 2]]
    unify.unify(tmp_path, probabilistic=False)  # the credit note in both sheets is taken off the net once
    h = metrics.headline(tmp_path, ["revenue"])
    assert metrics.value(h, "revenue_net") == pytest.approx(metrics.value(h, "revenue") - 27.5)
    sources(tmp_path, {"orders": [entries[0], entries[0]]})
    with pytest.raises(DataError, match="lists the sheet 'Year 2009-2010' of 'online_retail_II.xlsx' twice"):
        io.load(tmp_path)
    sources(tmp_path, {"orders": [{"file": "online_retail_II.xlsx"}, {"file": "online_retail_II.xlsx"}]})
    with pytest.raises(DataError, match="one entry per sheet with `sheet:`"):
        io.load(tmp_path)
    sources(tmp_path, {"orders": [{"file": "online_retail_II.xlsx"}, entries[0]]})  # no sheet: is the first
    with pytest.raises(DataError, match="lists the sheet 'Year 2009-2010' of 'online_retail_II.xlsx' twice"):
        io.load(tmp_path)


def test_workbook_sheet_types_and_rows(tmp_path):
    header = ["Order ID", "Created", "Total", "Status", "Items", "Gift", "Notes", "Shipped on"]
    rows = [
        [1001, dt.datetime(2024, 3, 1, 10, 0), 12.5, "completed", 2, True, "leave at door", dt.date(2024, 3, 2)],
        [None] * 8,  # an empty row in the middle is skipped; row numbers still match the sheet
        [1002, dt.datetime(2024, 3, 2, 11, 30), "twelve", "completed", 1, False, 42, None],
        [1003, dt.datetime(2024, 3, 3, 9, 15), 7, "completed", 3, None, None, dt.date(2024, 3, 4)],
    ]
    workbook(tmp_path / "shop.xlsx", {"Summary": [["nothing here"]], "Orders": [header, *rows]})
    sources(tmp_path, {"orders": {"file": "shop.xlsx", "sheet": "Orders", "source": "shop",
                                  "columns": {"order_id": "Order ID", "ts": "Created", "amount": "Total"}}})
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_in"] == 3
    q = r.quarantine
    assert q[["source_file", "row", "column"]].values.tolist() == [["shop.xlsx", 3, "amount"]]  # sheet row 4
    t = db_types(tmp_path, "orders")
    assert (t["items"], t["gift"], t["shipped_on"], t["notes"]) == ("BIGINT", "BOOLEAN", "TIMESTAMP", "VARCHAR")
    o = loaded(tmp_path, "orders", "order_id")
    assert o["items"].tolist() == [2, 3] and o["ts"].tolist()[0] == dt.datetime(2024, 3, 1, 10, 0)
    # the sheet by position works too
    sources(tmp_path, {"orders": {"file": "shop.xlsx", "sheet": 2, "source": "shop",
                                  "columns": {"order_id": "Order ID", "ts": "Created", "amount": "Total"}}})
    assert io.validate(tmp_path).summary.loc[0, "rows_loaded"] == 2


def test_excel_serial_dates_with_ts_unit_excel(tmp_path):
    workbook(tmp_path / "orders.xlsx", {"Sheet1": [
        ["order_id", "ts", "amount", "status"],
        ["a", 45292, 10, "completed"],          # 2024-01-01, a number cell (not formatted as a date)
        ["b", 45292.541666666664, 20, "completed"],  # 13:00
    ]})  # fmt: skip
    (tmp_path / "late.csv").write_text("order_id,ts,amount,status\nc,45474.25,5,completed\n")
    sources(tmp_path, {"orders": [
        {"file": "orders.xlsx", "source": "shop", "ts_unit": "excel"},
        {"file": "late.csv", "source": "shop", "ts_unit": "excel", "timezone": "Europe/London"},
    ]})  # fmt: skip
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine.empty
    ts = loaded(tmp_path, "orders", "order_id")["ts"].tolist()
    assert ts == [dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 13), dt.datetime(2024, 7, 1, 5)]  # BST -> UTC


def test_a_workbook_with_a_title_above_its_column_names_says_and_takes_skip_lines(tmp_path):
    rows = [["Orders report"], ["From 2024-03-01 to 2024-03-31"], [], ["source", "order_id", "ts", "amount", "status"],
            ["shop", "1", dt.datetime(2024, 3, 1), 10.0, "completed"], ["shop", "2", dt.datetime(2024, 3, 2), 11.0,
            "completed"]]  # fmt: skip
    workbook(tmp_path / "orders.xlsx", {"Orders": rows})
    sources(tmp_path, {"orders": {"file": "orders.xlsx"}})
    with pytest.raises(DataError, match=r"look like they are on line 4.*set `skip_lines: 3`"):
        io.load(tmp_path)
    sources(tmp_path, {"orders": {"file": "orders.xlsx", "skip_lines": 3}})
    io.load(tmp_path)
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    assert con.execute("SELECT order_id, amount FROM orders ORDER BY 1").fetchall() == [("1", 10.0), ("2", 11.0)]


def test_damaged_workbook_and_unknown_sheet_are_clear_errors(tmp_path):
    (tmp_path / "orders.xlsx").write_bytes(b"PK\x03\x04 this is not a workbook")
    sources(tmp_path, {"orders": {"file": "orders.xlsx", "source": "shop"}})
    with pytest.raises(DataError, match=r"orders\.xlsx: cannot be read as an Excel workbook"):
        io.validate(tmp_path)
    workbook(tmp_path / "orders.xlsx", {"Orders": [["order_id"], ["1"]], "Returns": [["x"]]})
    sources(tmp_path, {"orders": {"file": "orders.xlsx", "source": "shop", "sheet": "Ordres"}})
    with pytest.raises(DataError, match=r"no sheet 'Ordres'.*'Orders', 'Returns'"):
        io.validate(tmp_path)
    sources(tmp_path, {"orders": {"file": "orders.csv", "sheet": "Orders"}})
    with pytest.raises(DataError, match=r"option `sheet` is for Excel"):
        io.validate(tmp_path)


def test_a_workbook_whose_cells_reach_far_or_that_unpacks_to_gigabytes_is_refused_before_it_is_read(tmp_path,
                                                                                                  monkeypatch):
    """calamine holds a sheet as a grid from A1 to its last cell: one stray value in XFD1048576 of a 2 KB workbook
    asked it for 512 GB and ended the process (a Rust abort, exit 134, no message); so did a 1 MB workbook whose
    shared strings unpack to 1 GB. An empty styled cell out there holds no value: that workbook loads."""
    from openpyxl.styles import Font

    from cxlib.io import workbook as guard

    rows = [["source", "record_id", "email"], ["crm", "1", "a@x.com"], ["crm", "2", "b@x.com"]]
    sources(tmp_path, {"contacts": {"file": "contacts.xlsx"}})
    wb = openpyxl.Workbook()
    for row in rows:
        wb.active.append(row)
    wb.active["XFD1048576"].font = Font(bold=True)  # styled, empty
    wb.active.row_dimensions[1_000_000].height = 20  # a row's height: a row element, no cell (found by review)
    wb.save(tmp_path / "contacts.xlsx")
    assert io.load(tmp_path, progress=False).summary.loc[0, "rows_loaded"] == 2
    wb.active["XFD1048576"] = "stray"
    wb.save(tmp_path / "contacts.xlsx")
    for run in (io.validate, io.load):
        with pytest.raises(DataError, match=r"contacts\.xlsx: the sheet's cells reach XFD1048576 \(1,048,576 rows "
                                            r"by 16,384 columns.*delete the rows and columns after the data"):
            run(tmp_path)
    workbook(tmp_path / "contacts.xlsx", {"People": rows})
    monkeypatch.setattr(guard, "MAX_UNPACKED_BYTES", 1_000)
    with pytest.raises(DataError, match=r"contacts\.xlsx: the workbook unpacks to .* export the sheet as CSV"):
        io.validate(tmp_path)


# --- JSON and NDJSON --------------------------------------------------------------------------------------------------


def segment_events():
    return [
        {"messageId": "m1", "type": "track", "event": "Product Viewed", "timestamp": "2024-03-01T10:00:00.000Z",
         "anonymousId": "anon-1", "userId": None, "properties": {"product_id": "p1", "price": 12.5},
         "context": {"page": {"url": "https://shop/p1"}, "campaign": {"source": "google"}}},
        {"messageId": "m2", "type": "track", "event": "Order Completed", "timestamp": "2024-03-01T10:05:00.000Z",
         "anonymousId": "anon-1", "userId": "u1",
         "properties": {"order_id": "o1", "revenue": 25.0, "products": [{"product_id": "p1", "quantity": 2}]},
         "context": {"page": {"url": "https://shop/checkout"}}, "sentAt": 1709287500000},
    ]  # fmt: skip


SEGMENT_MAP = {"event_id": "messageId", "ts": "timestamp", "event": "event", "anonymous_id": "anonymousId",
               "contact_ref": "userId"}  # fmt: skip


@pytest.mark.parametrize("name", ["tracks.ndjson", "tracks.jsonl.gz", "tracks.json"])
def test_segment_events_keep_nested_values(tmp_path, name):
    lines = "\n".join(json.dumps(e) for e in segment_events()) + "\n"
    if name.endswith(".gz"):
        (tmp_path / name).write_bytes(gzip.compress(lines.encode()))
    elif name.endswith(".json"):
        (tmp_path / name).write_text(json.dumps(segment_events(), indent=2))  # an array of objects
    else:
        (tmp_path / name).write_text(lines)
    sources(tmp_path, {"events": {"file": name, "source": "segment", "columns": SEGMENT_MAP}})
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine.empty and r.summary.loc[0, "rows_loaded"] == 2
    t = db_types(tmp_path, "events")
    assert t["properties"].startswith("STRUCT(") and t["context"].startswith("STRUCT(") and t["sentat"] == "BIGINT"
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    try:
        got = con.execute(
            "SELECT event_id, ts, properties.revenue, properties.products[1].quantity, context.page.url "
            "FROM events ORDER BY event_id"
        ).fetchall()
    finally:
        con.close()
    assert got == [
        ("m1", dt.datetime(2024, 3, 1, 10, 0), None, None, "https://shop/p1"),
        ("m2", dt.datetime(2024, 3, 1, 10, 5), 25.0, 2, "https://shop/checkout"),
    ]


def test_nested_value_in_a_model_column_is_json_text_not_a_repr(tmp_path):
    rows = [{"id": "1", "ts": "2024-03-01", "event": "signup", "campaign": {"name": "spring", "id": 7}}]
    (tmp_path / "events.ndjson").write_text("\n".join(json.dumps(x) for x in rows))
    sources(tmp_path, {"events": {"file": "events.ndjson", "source": "app", "columns": {"event_id": "id"}}})
    io.load(tmp_path)
    assert json.loads(loaded(tmp_path, "events")["campaign"][0]) == {"name": "spring", "id": 7}


def test_invalid_json_line_names_the_file_and_line(tmp_path):
    good = [json.dumps(e) for e in segment_events()]
    (tmp_path / "tracks.ndjson").write_text(f'{good[0]}\n{good[1]}\n{{"messageId": "m3", "event": \n')
    sources(tmp_path, {"events": {"file": "tracks.ndjson", "source": "segment", "columns": SEGMENT_MAP}})
    with pytest.raises(DataError, match=r"^tracks\.ndjson: cannot be read as JSON \(line 3: "):
        io.validate(tmp_path)
    (tmp_path / "tracks.json").write_text('[\n  {"messageId": "m1"},\n  {"messageId": "m2" "event": "x"}\n]')
    sources(tmp_path, {"events": {"file": "tracks.json", "source": "segment", "columns": SEGMENT_MAP}})
    with pytest.raises(DataError, match=r"^tracks\.json: cannot be read as JSON \(line 3: "):
        io.validate(tmp_path)


def test_a_json_value_nested_thousands_deep_loads_as_text_or_is_named(tmp_path):
    """A line nested 2,000 deep held the engine's type detection for minutes; an invalid one 100,000 deep gave a
    RecursionError traceback. The deep value loads as JSON text now; the invalid one is named by its line."""
    good = [json.dumps(e) for e in segment_events()]
    deep = ('{"messageId": "m3", "type": "track", "event": "x", "timestamp": "2024-03-01T10:06:00.000Z", '
            '"anonymousId": "anon-2", "properties": {"v": ' + "[" * 2000 + "]" * 2000 + "}}")
    (tmp_path / "tracks.ndjson").write_text("\n".join([*good, deep]) + "\n")
    sources(tmp_path, {"events": {"file": "tracks.ndjson", "source": "segment", "columns": SEGMENT_MAP}})
    r = io.load(tmp_path, progress=False)
    assert r.summary.loc[0, "rows_loaded"] == 3
    (tmp_path / "tracks.ndjson").write_text("\n".join([*good, '{"a": ' + "[" * 100_000 + "\n"]))
    with pytest.raises(DataError, match=r"^tracks\.ndjson: cannot be read as JSON \(line 3: a value nested too deep"):
        io.validate(tmp_path)


@pytest.mark.parametrize("suffix", ["csv", "xlsx", "parquet", "ndjson"])
def test_a_column_of_the_file_called_row_is_kept_and_does_not_number_the_rows(tmp_path, suffix):
    """A file's own ``_row`` column (Fivetran's Google Sheets connector writes one) broke every reader: a CSV's
    was a binder error, a sheet's an Arrow one; a Parquet or JSON file's numbered the rows, so the one quarantined
    row (no record_id) took out all four, and the load stopped on its own count check."""
    import pandas as pd

    df = pd.DataFrame({"source": ["crm"] * 4, "record_id": ["1", None, "3", "4"],
                       "email": [f"u{i}@x.com" for i in range(4)], "_row": ["1"] * 4})
    path = tmp_path / f"contacts.{suffix}"
    if suffix == "csv":
        df.to_csv(path, index=False)
    elif suffix == "xlsx":
        workbook(path, {"People": [df.columns.tolist(), *df.values.tolist()]})
    elif suffix == "parquet":
        df.to_parquet(path)
    else:
        df.to_json(path, orient="records", lines=True)
    sources(tmp_path, {"contacts": {"file": path.name, "max_quarantine": 0.5}})
    r = io.load(tmp_path, progress=False)
    assert conserved(r) and r.summary.loc[0, "rows_loaded"] == 3
    assert r.quarantine["row"].tolist() == [2]
    got = loaded(tmp_path, "contacts")
    assert got["row_1"].astype(str).tolist() == ["1"] * 3  # (typed as a number where every value is one)


def test_files_named_after_tables_need_no_sources_yml(tmp_path):
    workbook(tmp_path / "contacts.xlsx", {"Contacts": [["source", "record_id", "email"], ["crm", 1, "a@x.org"]]})
    (tmp_path / "events.ndjson").write_text(
        json.dumps({"source": "web", "event_id": "e1", "ts": 1709287200, "event": "page_view"}) + "\n"
    )
    r = io.load(tmp_path)
    assert conserved(r) and set(r.summary["table_name"]) == {"contacts", "events"}
    assert loaded(tmp_path, "contacts")["record_id"].tolist() == ["1"]
    assert loaded(tmp_path, "events")["ts"].tolist() == [dt.datetime(2024, 3, 1, 10, 0)]


# --- files: patterns --------------------------------------------------------------------------------------------------


def shopify_months(folder):
    """Three monthly Shopify order exports: columns in other orders, a column only some months have."""
    d = folder / "exports"
    d.mkdir()
    (d / "orders_2024-01.csv").write_text(
        "Name,Email,Financial Status,Created at,Total,Currency,Discount Amount\n"
        "#1001,a@x.org,paid,2024-01-05 10:00:00 +0000,20.00,EUR,0\n"
        "#1002,b@x.org,paid,2024-01-06 11:00:00 +0000,35.50,EUR,5.5\n"
    )
    (d / "orders_2024-02.csv").write_text(
        "Created at,Name,Total,Financial Status,Email,Currency,Tags\n"
        "2024-02-01 09:00:00 +0000,#1003,12.00,refunded,c@x.org,EUR,vip\n"
        "2024-02-02 09:00:00 +0000,#1004,not a number,paid,d@x.org,EUR,\n"
    )
    (d / "orders_2024-03.csv").write_text(
        "Name,Total,Created at,Financial Status,Currency,Discount Amount,Tags,Email\n"
        "#1005,8.00,2024-03-03 08:00:00 +0000,paid,EUR,0,,e@x.org\n"
    )
    (d / "notes.csv").write_text("not,an,orders,file\n")


SHOPIFY = {"files": "exports/orders_*.csv", "source": "shopify",
           "columns": {"order_id": "Name", "ts": "Created at", "amount": "Total", "status": "Financial Status"},
           "values": {"status": {"paid": "completed"}}}  # fmt: skip


def test_files_pattern_reads_every_match_by_name(tmp_path):
    shopify_months(tmp_path)
    sources(tmp_path, {"orders": SHOPIFY})
    r = io.load(tmp_path)
    assert conserved(r)
    assert r.summary.loc[0, "files"] == "orders_2024-01.csv, orders_2024-02.csv, orders_2024-03.csv"
    assert r.summary.loc[0, "rows_in"] == 5 and r.summary.loc[0, "rows_loaded"] == 4
    q = r.quarantine
    assert q[["source_file", "row", "column"]].values.tolist() == [["orders_2024-02.csv", 2, "amount"]]
    o = loaded(tmp_path, "orders", "order_id")
    assert o["order_id"].tolist() == ["#1001", "#1002", "#1003", "#1005"]
    assert o["status"].tolist() == ["completed", "completed", "returned", "completed"]
    assert o["discount_amount"].tolist()[:2] == [0, 5.5] and o["tags"].tolist()[2] == "vip"
    assert db_types(tmp_path, "orders")["discount_amount"] == "DOUBLE"  # CSV numbers stay numbers


def test_files_pattern_is_deterministic(tmp_path):
    shopify_months(tmp_path)
    sources(tmp_path, {"orders": SHOPIFY})
    io.load(tmp_path)
    first = loaded(tmp_path, "orders", "order_id")
    os.utime(tmp_path / "exports" / "orders_2024-01.csv")  # a newer file changes nothing
    io.load(tmp_path)
    assert loaded(tmp_path, "orders", "order_id").equals(first)


def test_csv_numbers_are_typed_only_when_every_value_is_a_plain_number(tmp_path):
    (tmp_path / "a.csv").write_text("record_id,zip,visits,score,ref\n1,02134,3,1.5,10\n2,10115,,2,x7\n")
    (tmp_path / "b.csv").write_text("record_id,zip,visits,score,ref\n3,75001,12,NULL,11\n")
    sources(tmp_path, {"contacts": [{"file": "a.csv", "source": "crm"}, {"file": "b.csv", "source": "crm"}]})
    io.load(tmp_path)
    t = db_types(tmp_path, "contacts")
    assert (t["zip"], t["visits"], t["score"], t["ref"]) == ("VARCHAR", "BIGINT", "DOUBLE", "VARCHAR")
    c = loaded(tmp_path, "contacts", "record_id")
    assert c["zip"].tolist() == ["02134", "10115", "75001"] and c["ref"].tolist() == ["10", "x7", "11"]


@pytest.mark.parametrize(
    "pattern, message",
    [
        ("../*.csv", "without `..` or an absolute path"),
        ("exports/../../*.csv", "without `..` or an absolute path"),
        ("/etc/*.csv", "without `..` or an absolute path"),
        ("C:\\exports\\*.csv", "without `..` or an absolute path"),
        ("exports/none_*.csv", "no file in the workspace folder matches"),
    ],
)
def test_hostile_or_empty_patterns_are_refused(tmp_path, pattern, message):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "outside.csv").write_text("order_id\n1\n")
    shopify_months(ws)
    sources(ws, {"orders": {**SHOPIFY, "files": pattern}})
    with pytest.raises(DataError, match=r"sources\.yml: tables\.orders: .*" + message.replace("`", ".")):
        io.validate(ws)


def test_a_link_out_of_the_folder_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (tmp_path / "secret.csv").write_text("order_id\n1\n")
    (ws / "orders_x.csv").symlink_to(tmp_path / "secret.csv")
    sources(ws, {"orders": {**SHOPIFY, "files": "orders_*.csv"}})
    with pytest.raises(DataError, match="links outside the workspace folder"):
        io.validate(ws)


def test_file_and_files_together_or_neither_is_an_error(tmp_path):
    sources(tmp_path, {"orders": {"file": "a.csv", "files": "*.csv"}})
    with pytest.raises(DataError, match="needs `file:` \\(one file\\) or `files:`"):
        io.validate(tmp_path)


# --- hostile names --------------------------------------------------------------------------------------------------


HOSTILE = [
    "x'); COPY (SELECT 1) TO 'pwned.csv'; CREATE TABLE main.pwned AS SELECT 1; --",
    'x"; CREATE TABLE main.pwned AS SELECT 1; --',
    "a[1]*?",
]


def nothing_ran(folder):
    assert not list(folder.rglob("pwned*"))
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        assert "pwned" not in {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("suffix", [".xlsx", ".ndjson", ".json.gz"])
def test_hostile_file_names_and_keys_are_data(tmp_path, suffix):
    for i, evil in enumerate(HOSTILE):
        name = f"{i}{evil}{suffix}"
        row = {"source": "shop", "order_id": "1", "ts": "2024-03-01 10:00", "amount": 5, "status": "completed",
               evil: 7, "nested": {evil: [1, 2]}}  # fmt: skip
        if suffix == ".xlsx":
            workbook(tmp_path / name, {evil[:30].replace("[", "(").replace("]", ")").replace("*", "").replace("?", ""):
                                       [list(row)[:-1], list(row.values())[:-1]]})  # fmt: skip
        elif suffix == ".ndjson":
            (tmp_path / name).write_text(json.dumps(row) + "\n")
        else:
            (tmp_path / name).write_bytes(gzip.compress(json.dumps([row]).encode()))
        sources(tmp_path, {"orders": {"file": name}})
        r = io.load(tmp_path)
        assert r.summary.loc[0, "files"] == name and r.summary.loc[0, "rows_loaded"] == 1, r.quarantine
        o = loaded(tmp_path, "orders")
        assert o["order_id"].tolist() == ["1"] and o.iloc[0, -1 if suffix == ".xlsx" else -2] == 7
        nothing_ran(tmp_path)
        (tmp_path / name).unlink()


def test_hostile_pattern_characters_match_only_inside_the_folder(tmp_path):
    shopify_months(tmp_path)
    for i, evil in enumerate(HOSTILE[:2]):
        (tmp_path / "exports" / f"orders_{evil.replace('/', '_')}.csv").write_text(
            f"Name,Created at,Total,Financial Status\n#9{i},2024-01-01,1,paid\n"
        )
    sources(tmp_path, {"orders": SHOPIFY})
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_loaded"] == 6  # 4 good rows of the months + the 2 hostile files
    assert {f"orders_{e.replace('/', '_')}.csv" for e in HOSTILE[:2]} <= set(r.summary.loc[0, "files"].split(", "))
    nothing_ran(tmp_path)


def test_epoch_numbers_read_as_integers_give_what_the_decimal_reading_gives():
    """Whole epoch numbers are read as BIGINT (fast), numbers with decimals as DECIMAL: the same microseconds for
    every unit, overflow included; nanoseconds are rounded half to even exactly."""
    import random
    from decimal import ROUND_HALF_EVEN, Decimal

    import duckdb

    from cxlib.io import epoch

    rng = random.Random(3)
    vals = ["0", "-1", "1500", "2500", "-2500", "1709287200", "1709287200000", "1709287200000000", "007",
            "1709287200000000000", "9223372036854775807", "-9223372036854775808", "99999999999999999999",
            "9223372036854", "9223372036855", "9223372036854775", "9223372036854776", "1709287200.5"]  # fmt: skip
    vals += [str(rng.randint(-(10**19), 10**19)) for _ in range(500)]
    vals += [f"{rng.randint(0, 10**12)}.{rng.randint(0, 999999)}" for _ in range(200)]
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT unnest($v) AS x", {"v": vals})
    for unit in ("s", "ms", "us", "ns"):
        old = f"TRY_CAST(TRY_CAST(x AS DECIMAL(38, 6)) {'/ 1000' if unit == 'ns' else '* ' + str(epoch._MICROS.get(unit, 1)) if unit != 'us' else ''} AS BIGINT)"  # noqa: E501
        rows = con.execute(f"SELECT x, {old}, {epoch._micros('x', unit)} FROM t").fetchall()
        for x, was, now in rows:
            if unit == "ns" and "." not in x and abs(int(x)) < 9223372036854774000:  # in BIGINT: exact
                assert now == int((Decimal(x) / 1000).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)), x
            else:
                assert now == was, (unit, x, was, now)


def _as_parquet_and_csv(tmp_path, frame: pd.DataFrame, timezone: str | None = None) -> dict:
    """``frame`` written as events in Parquet (``ts`` a TIMESTAMP, other columns as pandas types them) and as CSV
    text, each loaded: ``{kind: (loaded rows, quarantine)}``."""
    out = {}
    for kind in ("parquet", "csv"):
        ws = tmp_path / kind
        ws.mkdir()
        if kind == "csv":
            frame.to_csv(ws / "events.csv", index=False)
        else:
            con = duckdb.connect()
            con.register("f", frame)
            con.execute(f"COPY (SELECT * REPLACE (CAST(ts AS TIMESTAMP) AS ts) FROM f) TO '{ws / 'events.parquet'}'")
            con.close()
        if timezone:
            entry = {"file": f"events.{kind}", "timezone": timezone}
            (ws / "sources.yml").write_text(yaml.safe_dump({"tables": {"events": entry}}))
        report = io.load(ws)
        assert conserved(report)
        q = report.quarantine[["row", "column", "value", "reason", "action"]].sort_values(["row", "column"])
        out[kind] = (loaded(ws, "events", "event_id"), q.reset_index(drop=True))
    pd.testing.assert_frame_equal(out["parquet"][0], out["csv"][0])
    pd.testing.assert_frame_equal(out["parquet"][1], out["csv"][1])
    return out


@pytest.mark.parametrize("timezone", [None, "Europe/London"])
def test_parquet_timestamps_load_as_their_text_would(tmp_path, timezone):
    """A Parquet TIMESTAMP column is taken as it is (no text round trip): the same rows, values and problems as
    the same times written as text in a CSV, with and without a local time zone."""
    times = ["2024-03-01 10:00:00", "2024-07-02 11:30:00.123456", None, "2999-01-01 00:00:00", "0999-06-01 00:00:00"]
    frame = pd.DataFrame({
        "source": "web", "event_id": [f"e{i}" for i in range(len(times))], "ts": times, "event": "page_view",
    })
    out = _as_parquet_and_csv(tmp_path, frame, timezone)
    assert db_types(tmp_path / "parquet", "events")["ts"] == "TIMESTAMP"
    assert len(out["parquet"][0]) == 2  # the NULL time, the future one and the year 999 are quarantined


def test_parquet_numbers_load_as_their_text_would(tmp_path):
    """Parquet DOUBLE and BIGINT columns are taken as they are (issue 20: no text round trip): the same rows,
    values and problems as the same numbers written as text in a CSV: infinities, NaN, a signed zero, large
    and negative values, nulls."""
    inf = float("inf")
    revenue = [12.5, -0.0, inf, float("nan"), None, 1e20, 0.1 + 0.2, -3.5, 1.234, -inf]
    frame = pd.DataFrame({
        "source": "web", "event_id": [f"e{i}" for i in range(len(revenue))], "ts": "2024-03-01 10:00:00",
        "event": "page_view", "revenue": revenue,
        "sequence": pd.array([1, None, 2**60, -5, 0, 7, 8, 9, 10, 11], dtype="Int64"),
    })
    out = _as_parquet_and_csv(tmp_path, frame)
    types = db_types(tmp_path / "parquet", "events")
    assert (types["revenue"], types["sequence"]) == ("DOUBLE", "BIGINT")
    assert set(out["parquet"][1]["value"]) >= {"inf", "-inf"}  # the text of a value not taken, in the message
    assert out["parquet"][0]["sequence"].tolist()[2] == 2**60


def test_a_time_that_does_not_read_gets_the_hint_its_shape_calls_for(tmp_path):
    """Issue 16: the hint matches the problem. It once said "dates like 31/12/2024 need `dayfirst: true`" for
    every value: text, impossible ISO dates and numbers too."""
    from cxlib.io.limits import fix_for

    (tmp_path / "tickets.csv").write_text(
        "ticket_id,opened_at,source\nT1,2024-13-45 10:00,zd\nT2,31/12/2024 10:00,zd\nT3,n/a,zd\n"
        "T4,2024-02-30,zd\nT5,99999999999999999999999,zd\nT6,2024-03-01 10:00,zd\n"
    )
    r = io.load(tmp_path)
    why = dict(zip(r.quarantine["value"], r.quarantine["reason"], strict=True))
    assert why["31/12/2024 10:00"].endswith("need `dayfirst: true` in sources.yml, 12/31/2024 `monthfirst: true`)")
    assert "not a real date" in why["2024-13-45 10:00"] and "not a real date" in why["2024-02-30"]
    assert "(not a date:" in why["n/a"] and "ts_unit" in why["99999999999999999999999"]
    assert not any("dayfirst" in why[v] for v in ("n/a", "2024-02-30", "99999999999999999999999"))
    fix = {v: fix_for("tickets", w) for v, w in why.items()}
    assert fix["99999999999999999999999"].startswith("set `ts_unit:`") and "dayfirst" in fix["31/12/2024 10:00"]
    assert not any("dayfirst" in fix[v] for v in ("n/a", "2024-02-30", "99999999999999999999999"))
    assert r.failures()  # 5 of 6 rows quarantined: exit 3
    (tmp_path / "sources.yml").write_text("tables:\n  tickets: {file: tickets.csv, dayfirst: true}\n")
    why = dict(zip(*(io.load(tmp_path).quarantine[c] for c in ("value", "reason")), strict=True))
    assert "31/12/2024 10:00" not in why and why["2024-02-30"].startswith("cannot read as a timestamp (not a real")
    # Excel serial dates in a CSV read as epoch seconds (1970): say so
    (tmp_path / "sources.yml").unlink()
    (tmp_path / "tickets.csv").write_text("ticket_id,opened_at,source\nT1,45292.5,zd\nT2,2024-03-01 10:00,zd\n")
    reason = io.load(tmp_path).quarantine["reason"].tolist()
    assert len(reason) == 1 and "Excel serial date: set `ts_unit: excel`" in reason[0]
    assert fix_for("tickets", reason[0]) == "set `ts_unit: excel` for this file"


def test_files_that_read_day_and_month_in_different_orders_get_a_plain_hint(tmp_path):
    """The hint's words come from one file's options: with the first file read day-first and the second not,
    a bad date of the second is not said to be "read day-first, as `dayfirst` says"."""
    (tmp_path / "a.csv").write_text("ticket_id,opened_at,source\nT1,31/12/2024 10:00,zd\n")
    (tmp_path / "b.csv").write_text("ticket_id,opened_at,source\nT2,31/12/2024 10:00,zd\n")
    (tmp_path / "sources.yml").write_text("tables:\n  tickets:\n    - {file: a.csv, dayfirst: true}\n    - b.csv\n")
    q = io.load(tmp_path).quarantine
    assert q["source_file"].tolist() == ["b.csv"] and q["reason"].str.startswith("cannot read as a date").all()


def test_a_value_nested_100_000_deep_is_refused_by_its_line_not_a_crash(tmp_path):
    """The attack: a valid line nested 100,000 deep crashed DuckDB's JSON reader (a segmentation fault: ``cx load``
    died with no message, exit 139, its half-written database left behind). Run as its own process, as a user
    would, so that a crash fails this test instead of ending the run."""
    good = [json.dumps(e) for e in segment_events()]
    deep = '{"messageId": "m3", "properties": {"v": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    (tmp_path / "tracks.ndjson").write_text("\n".join([*good, deep]) + "\n")
    sources(tmp_path, {"events": {"file": "tracks.ndjson", "source": "segment", "columns": SEGMENT_MAP}})
    run = subprocess.run([sys.executable, "-m", "cxlib.cli", "load", str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2, run.stderr[-500:]
    assert "tracks.ndjson: cannot be read as JSON (line 3: a value nested too deep to read" in run.stderr
