"""Real exports through `sources.yml` only: constants, derived keys, order lines, the quarantine limit,
epoch times and GA4 (issue 16). Tiny hand-made files in the vendors' layouts."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cxlib import io
from cxlib.schema import DataError
from tests.io_helpers import conserved, loaded


def write(folder, name, text):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p






# --- constants -----------------------------------------------------------------------------------------------------


def test_constants_give_columns_a_file_lacks(tmp_path):
    write(tmp_path, "purchases.csv", "order_id,ts,amount\n1,2024-03-01,10\n2,2024-03-02,20\n")
    write(
        tmp_path,
        "sources.yml",
        "tables:\n  orders:\n    file: purchases.csv\n"
        "    constants: {status: Shipped, currency: GBP, source: shop, channel: web}\n",
    )
    r = io.load(tmp_path)
    assert conserved(r)
    df = loaded(tmp_path, "orders", "order_id")
    assert df[["source", "status", "currency", "channel"]].drop_duplicates().values.tolist() == [
        ["shop", "completed", "GBP", "web"]
    ]


def test_a_constant_fills_the_blanks_of_a_column_the_file_has(tmp_path):
    rows = "1,2024-03-01,10,completed,EUR\n2,2024-03-02,20,completed,\n"
    write(tmp_path, "o.csv", "order_id,ts,amount,status,currency\n" + rows)
    write(tmp_path, "sources.yml", "tables:\n  orders: {file: o.csv, source: shop, constants: {currency: GBP}}\n")
    io.load(tmp_path)
    assert loaded(tmp_path, "orders", "order_id")["currency"].tolist() == ["EUR", "GBP"]


@pytest.mark.parametrize(
    "constants, message",
    [
        ("{stauts: completed}", "constants` sets 'stauts', which is not a column of orders"),
        ("[status]", "`constants` must be a mapping"),
        ("{status: [a]}", "`constants.status` must be text"),
    ],
)
def test_bad_constants_are_named(tmp_path, constants, message):
    write(tmp_path, "o.csv", "order_id,ts,amount\n1,2024-03-01,10\n")
    write(tmp_path, "sources.yml", f"tables:\n  orders: {{file: o.csv, source: shop, constants: {constants}}}\n")
    with pytest.raises(DataError, match=message):
        io.validate(tmp_path)


# --- derived keys and a default source -----------------------------------------------------------------------------


EVENTS = (
    "ts,event,anonymous_id\n"
    "2024-03-01 10:00,page_view,a\n"
    "2024-03-01 10:00,page_view,a\n"
    "2024-03-01 10:01,add_to_cart,a\n"
    "2024-03-01 10:02,page_view,b\n"
)


def test_missing_key_is_derived_deterministically_and_the_load_says_so(tmp_path):
    write(tmp_path, "events.csv", EVENTS)
    r = io.load(tmp_path)
    assert conserved(r) and int(r.summary.loc[0, "rows_loaded"]) == 4  # identical rows are two events
    assert any("no event_id column; event_id derived" in w for w in r.warnings)
    assert any("no source column; source set to 'events'" in w for w in r.warnings)
    first = loaded(tmp_path, "events", "event_id")
    assert first["event_id"].is_unique and set(first["source"]) == {"events"}
    # same file -> same keys; the other rows' order does not change a row's key
    lines = EVENTS.splitlines()
    write(tmp_path, "events.csv", "\n".join([lines[0], lines[4], lines[3], lines[1], lines[2]]) + "\n")
    io.load(tmp_path)
    again = loaded(tmp_path, "events", "event_id")
    assert again["event_id"].tolist() == first["event_id"].tolist()
    key = dict(zip(again["event"] + again["anonymous_id"], again["event_id"], strict=True))
    assert key == dict(zip(first["event"] + first["anonymous_id"], first["event_id"], strict=True))


@pytest.mark.parametrize(
    "table, header, row",
    [
        ("orders", "ts,amount,status", "2024-03-01,10,completed"),
        ("tickets", "opened_at,channel", "2024-03-01,chat"),
        ("surveys", "ts,nps", "2024-03-01,9"),
    ],
)
def test_every_derivable_key(tmp_path, table, header, row):
    write(tmp_path, f"{table}.csv", f"{header}\n{row}\n{row}\n")
    r = io.load(tmp_path)
    assert conserved(r) and int(r.summary.loc[0, "rows_loaded"]) == 2
    key = {"orders": "order_id", "tickets": "ticket_id", "surveys": "response_id"}[table]
    assert loaded(tmp_path, table)[key].str.match(r"^k[0-9a-f]{20}-[12]$").all()


# --- order lines -----------------------------------------------------------------------------------------------------

# an online shop's invoice-line export: credit notes prefixed C with negative quantities, guest lines without a
# customer, lines of one invoice seconds apart, a zero-price line, customer ids saved from Excel as floats
INVOICES = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:02,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom\n"
    "536365,POST,POSTAGE,1,2010-12-01 08:26:05,0,17850.0,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
    "536366,22632,HAND WARMER RED POLKA DOT,6,2010-12-01 08:28:00,1.85,,United Kingdom\n"
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom\n"
    "536380,22961,JAM MAKING SET PRINTED,-24,2010-12-01 09:45:00,1.45,17809.0,United Kingdom\n"
)

LINES_YML = (
    "tables:\n  orders:\n    file: invoices.csv\n    source: shop\n    lines: true\n    credit_note_prefix: C\n"
    "    constants: {currency: GBP}\n"
    "    columns: {order_id: InvoiceNo, ts: InvoiceDate, quantity: Quantity, unit_price: UnitPrice,\n"
    "              sku: StockCode, description: Description, contact_ref: CustomerID}\n"
)


def test_order_lines_become_orders_and_every_line_is_kept(tmp_path):
    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML)
    r = io.load(tmp_path)
    assert conserved(r)
    s = r.summary.set_index("table_name")
    assert s.loc["order_lines", "rows_in"] == s.loc["order_lines", "rows_loaded"] == 7  # lines in = lines kept
    assert s.loc["orders", "rows_loaded"] == 4 and s.loc["orders", "rows_quarantined"] == 0
    orders = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    lines = loaded(tmp_path, "order_lines", "line")
    assert orders.loc["536365", "amount"] == pytest.approx(6 * 2.55 + 6 * 3.39)
    assert str(orders.loc["536365", "ts"]) == "2010-12-01 08:26:00"  # the earliest line
    assert pd.isna(orders.loc["536366", "contact_ref"])  # a guest order loads
    assert orders.loc["C536379", "status"] == "cancelled" and orders.loc["C536379", "amount"] == 27.5
    assert orders.loc["536380", "status"] == "cancelled" and orders.loc["536380", "amount"] == pytest.approx(34.8)
    assert orders.loc["536365", "status"] == "completed" and set(orders["currency"]) == {"GBP"}
    assert orders.loc["536365", "country"] == "United Kingdom"  # extra columns from the first line
    # order revenue = sum of its lines, to the cent
    by_order = lines.groupby("order_id")["line_amount"].sum().abs().round(2)
    assert (by_order.sort_index() == orders["amount"].sort_index()).all()
    assert lines.loc[lines["order_id"] == "C536379", "credit_note"].all()
    assert not lines.loc[lines["order_id"] == "536365", "credit_note"].any()
    assert lines["sku"].tolist()[:3] == ["85123A", "71053", "POST"] and lines["line"].tolist() == list(range(1, 8))


def test_lines_of_an_order_with_an_unreadable_price_are_kept_and_the_order_quarantined(tmp_path):
    write(tmp_path, "invoices.csv", INVOICES.replace("1.85,,", "n/a,,", 1))
    write(tmp_path, "sources.yml", LINES_YML)
    r = io.load(tmp_path)
    assert conserved(r)
    s = r.summary.set_index("table_name")
    assert s.loc["order_lines", "rows_loaded"] == 7 and s.loc["orders", "rows_quarantined"] == 1
    q = r.quarantine
    assert q.loc[q["table_name"] == "orders", "record_key"].tolist() == ["536366"]


def test_a_line_dated_in_the_year_zero_leaves_its_order_the_other_lines_date(tmp_path):
    """A line dated 0000-01-01 (read as 1 BC, which Python cannot hold: `cx load` stopped with a traceback printing
    its date range). The line is kept with no date; its order takes the earliest plausible line's; an order whose
    only line has such a date is quarantined as implausible."""
    bad = INVOICES.replace("2010-12-01 08:26:00", "0000-01-01", 1).replace("2010-12-01 09:45:00", "0000-01-01")
    write(tmp_path, "invoices.csv", bad)
    write(tmp_path, "sources.yml", LINES_YML)
    r = io.load(tmp_path)
    assert conserved(r) and "date range: 2010-12-01 08:26:02" in str(r)
    orders = loaded(tmp_path, "orders", "order_id").set_index("order_id")
    assert str(orders.loc["536365", "ts"]) == "2010-12-01 08:26:02" and "536380" not in orders.index
    q = r.quarantine
    assert q.loc[q["record_key"] == "536380", "reason"].str.startswith("implausible date").all()
    lines = loaded(tmp_path, "order_lines", "line")
    assert len(lines) == 7 and lines["ts"].isna().tolist() == [False, True, False, False, False, False, True]


def test_revenue_is_gross_of_credit_notes_and_a_net_figure_is_there(tmp_path):
    from cxlib import metrics, unify

    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML)
    io.load(tmp_path)
    unify.unify(tmp_path, probabilistic=False)
    h = metrics.headline(tmp_path, ["revenue"])
    gross = 6 * 2.55 + 6 * 3.39 + 12 * 1.85  # the two completed invoices
    assert metrics.value(h, "revenue") == pytest.approx(gross)
    assert metrics.value(h, "revenue_net") == pytest.approx(gross - 27.5 - 24 * 1.45)
    assert h.set_index("metric").loc["revenue_net", "unit"] == "GBP"


def test_lines_need_an_order_id(tmp_path):
    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML.replace("order_id: InvoiceNo, ", ""))
    with pytest.raises(DataError, match="groups lines by order_id"):
        io.validate(tmp_path)


def test_line_columns_need_lines_true_and_order_lines_is_no_file(tmp_path):
    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML.replace("    lines: true\n", ""))
    with pytest.raises(DataError, match="maps quantity, unit_price, sku, description, which are not columns"):
        io.validate(tmp_path)
    write(tmp_path, "sources.yml", "tables:\n  order_lines: {file: invoices.csv}\n")
    with pytest.raises(DataError, match="order_lines is filled from orders files"):
        io.validate(tmp_path)


# --- never a silent success: exit 3 over max_quarantine --------------------------------------------------------------


def test_a_line_export_loaded_as_orders_exits_3_and_says_set_lines(tmp_path):
    from typer.testing import CliRunner

    from cxlib.cli import app

    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML.replace("    lines: true\n", "").replace(
        "quantity: Quantity, unit_price: UnitPrice,\n              sku: StockCode, description: Description, ",
        "amount: UnitPrice, ").replace("{currency: GBP}", "{currency: GBP, status: completed}"))
    r = CliRunner().invoke(app, ["load", str(tmp_path), "--no-progress"])
    assert r.exit_code == 3, r.output
    assert "orders: 3 of 7 rows (42.9%) quarantined, more than max_quarantine 5.0%" in r.output
    assert "duplicate key" in r.output and "set `lines: true`" in r.output
    assert (tmp_path / io.DATABASE_NAME).exists()  # what could be loaded was loaded
    # the limit is settable; at or under it, exit 0
    write(tmp_path, "sources.yml", (tmp_path / "sources.yml").read_text() + "max_quarantine: 50%\n")
    r = CliRunner().invoke(app, ["load", str(tmp_path), "--no-progress"])
    assert r.exit_code == 0, r.output
    assert io.load(tmp_path).limits == {"orders": 0.5} and io.load(tmp_path).failures() == []


def test_a_clean_load_exits_0_and_a_bad_limit_is_named(tmp_path):
    from typer.testing import CliRunner

    from cxlib.cli import app

    write(tmp_path, "invoices.csv", INVOICES)
    write(tmp_path, "sources.yml", LINES_YML)
    assert CliRunner().invoke(app, ["load", str(tmp_path), "--no-progress"]).exit_code == 0
    write(tmp_path, "sources.yml", LINES_YML + "max_quarantine: lots\n")
    with pytest.raises(DataError, match="option `max_quarantine` must be a share of rows"):
        io.validate(tmp_path)


# --- epoch times and per-file time zones ---------------------------------------------------------------------------


def test_epoch_seconds_ms_us_ns_by_magnitude_in_csv_and_parquet(tmp_path):
    write(
        tmp_path,
        "events.csv",
        "source,event_id,ts,event\n"
        "web,1,1709287200,page_view\nweb,2,1709287200500,page_view\nweb,3,1709287200000001,page_view\n"
        "web,4,1709287200000000000,page_view\nweb,5,20240301,page_view\nweb,6,2024-03-01T10:00:00Z,page_view\n",
    )
    r = io.load(tmp_path)
    assert conserved(r) and int(r.summary.loc[0, "rows_quarantined"]) == 0
    ts = loaded(tmp_path, "events", "event_id")["ts"].tolist()
    assert ts == pd.to_datetime(format="ISO8601", arg=[
        "2024-03-01 10:00:00",
        "2024-03-01 10:00:00.500000",
        "2024-03-01 10:00:00.000001",
        "2024-03-01 10:00:00",
        "2024-03-01 00:00:00",
        "2024-03-01 10:00:00",
    ]).tolist()
    (tmp_path / "events.csv").unlink()
    con = duckdb.connect()
    con.execute(
        "COPY (SELECT 'ga' AS source, 'e1' AS event_id, 1709287200000000::BIGINT AS ts, 'page_view' AS event) "
        f"TO '{tmp_path / 'events.parquet'}' (FORMAT parquet)"
    )
    con.close()
    io.load(tmp_path)
    assert loaded(tmp_path, "events")["ts"].tolist() == [pd.Timestamp("2024-03-01 10:00:00")]


def test_ts_unit_and_timezone_per_file(tmp_path):
    write(tmp_path, "a.csv", "event_id,ts,event\n1,1709287200000,page_view\n")  # ms, but set as us: 1970
    write(tmp_path, "b.csv", "event_id,ts,event\n2,1709287200,page_view\n")
    write(tmp_path, "c.csv", "event_id,ts,event\n3,2024-03-01 10:00,page_view\n")
    write(
        tmp_path,
        "sources.yml",
        "timezone: UTC\ntables:\n  events:\n"
        "    - {file: a.csv, source: web, ts_unit: us}\n"
        "    - {file: b.csv, source: app, ts_unit: s, timezone: America/New_York}\n"  # epochs are UTC anyway
        "    - {file: c.csv, source: shop, timezone: Europe/Berlin}\n",
    )
    r = io.load(tmp_path)
    assert conserved(r)
    q = r.quarantine
    assert q.loc[q["action"] == "quarantined", "reason"].tolist() == ["implausible date (before 1990-01-01)"]
    ts = loaded(tmp_path, "events", "event_id")["ts"].tolist()
    assert ts == [pd.Timestamp("2024-03-01 10:00:00"), pd.Timestamp("2024-03-01 09:00:00")]


def test_bad_ts_unit_is_named(tmp_path):
    write(tmp_path, "a.csv", "event_id,ts,event\n1,1709287200000,page_view\n")
    write(tmp_path, "sources.yml", "tables:\n  events: {file: a.csv, source: web, ts_unit: hours}\n")
    with pytest.raises(DataError, match="option `ts_unit` must be one of s, ms, us, ns"):
        io.validate(tmp_path)


# --- GA4 BigQuery export -------------------------------------------------------------------------------------------

T0 = 1709287200000000  # 2024-03-01 10:00:00 UTC in microseconds


def _param(key, string=None, integer=None, double=None):
    return {"key": key, "value": {"string_value": string, "int_value": integer, "float_value": None,
                                  "double_value": double}}


def _ga4(ts, name, pseudo, params=(), user_id=None, ecommerce=None, items=(), new=False, **extra):
    """One row in the BigQuery export layout (``new``: with the batch fields of newer exports)."""
    ecom = {"transaction_id": None, "purchase_revenue": None, "purchase_revenue_in_usd": None, "refund_value": None,
            "shipping_value": None, "tax_value": None, "total_item_quantity": None, "unique_items": None}
    ecom.update(ecommerce or {})
    row = {
        "event_date": "20240301", "event_timestamp": ts, "event_name": name,
        "event_params": [_param("ga_session_id", integer=1709287100), _param("page_location", "https://shop/x"),
                         *params],
        "event_previous_timestamp": None, "event_value_in_usd": None, "event_bundle_sequence_id": 7,
        "event_server_timestamp_offset": 100, "user_id": user_id, "user_pseudo_id": pseudo,
        "user_properties": [], "user_first_touch_timestamp": T0 - 10**9,
        "device": {"category": "desktop", "operating_system": "Windows", "browser": "Chrome"},
        "geo": {"country": "United Kingdom", "region": "England", "city": "Leeds"},
        "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
        "stream_id": "1234", "platform": "WEB", "ecommerce": ecom,
        "items": [{"item_id": i, "item_name": i, "price": 10.0, "quantity": 1} for i in items],
    }
    if new:
        row |= {"batch_event_index": extra.pop("index", 0), "batch_ordering_id": 1, "batch_page_id": 1,
                "is_active_user": True}
    return row | extra


DAY1 = [
    _ga4(T0, "session_start", "p1", [_param("medium", "cpc"), _param("campaign", "spring")]),
    _ga4(T0, "page_view", "p1", [_param("medium", "cpc"), _param("campaign", "spring")]),
    _ga4(T0 + 5_000_000, "view_item", "p1", items=["sku1"]),
    _ga4(T0 + 9_000_000, "add_to_cart", "p1", items=["sku1"]),
    _ga4(T0 + 20_000_000, "begin_checkout", "p1", items=["sku1"]),
    _ga4(T0 + 30_000_000, "purchase", "p1", [_param("currency", "GBP")], items=["sku1"],
         ecommerce={"transaction_id": "T1", "purchase_revenue": 59.9}),
    _ga4(T0 + 1, "page_view", "p2"),
    _ga4(T0 + 1, "page_view", "p2"),  # the same event twice: two events
    _ga4(T0 + 2, "purchase", "p2", ecommerce={"transaction_id": "(not set)", "purchase_revenue": 0.0}),
]
DAY2 = [
    _ga4(T0 + 86_400_000_000, "refund", "p1", ecommerce={"transaction_id": "T1", "refund_value": 59.9}, new=True,
         event_date="20240302"),
    _ga4(T0 + 86_400_000_001, "page_view", "p3", user_id="CRM-1", new=True, index=1, event_date="20240302"),
]
INTRADAY2 = DAY2[1:] + [_ga4(T0 + 86_400_000_002, "page_view", "p3", new=True)]  # replaced by the daily table
INTRADAY3 = [_ga4(T0 + 2 * 86_400_000_000, "scroll", "p3", new=True, event_date="20240303")]


def _export(folder, name, rows, fmt="parquet"):
    """Write ``rows`` as one exported day; older days (rows without the batch fields) lack those columns."""
    import json

    (folder / "ga4").mkdir(exist_ok=True)
    nd = folder / "ga4" / f"{name}.ndjson"
    nd.write_text("".join(json.dumps(r) + "\n" for r in rows))
    if fmt == "parquet":
        # the types of the whole export (all days), as BigQuery has them: read every day's rows together
        every = folder / "all.ndjson"
        every.write_text("".join(json.dumps(r) + "\n" for r in DAY1 + DAY2 + INTRADAY2 + INTRADAY3))
        con = duckdb.connect()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{every}')")
        con.execute(f"CREATE TABLE mine AS SELECT * FROM read_json('{nd}')")
        cols = [c for c in con.execute("DESCRIBE t").df()["column_name"] if c != "event_date" and (
            c in con.execute("DESCRIBE mine").df()["column_name"].tolist())]
        casts = ", ".join(
            f"CAST({c} AS {con.execute(f'SELECT typeof({c}) FROM t LIMIT 1').fetchone()[0]}) AS {c}" for c in cols
        )
        con.execute(
            f"COPY (SELECT event_date, {casts} FROM mine) TO '{folder / 'ga4' / name}.parquet' (FORMAT parquet)"
        )
        con.close()
        nd.unlink()
        every.unlink()


GA4_YML = "tables:\n  events:\n    file: ga4/events_*.parquet\n    format: ga4\n"


def _ga4_workspace(folder):
    _export(folder, "events_20240301", DAY1)
    _export(folder, "events_20240302", DAY2)
    _export(folder, "events_intraday_20240302", INTRADAY2)
    _export(folder, "events_intraday_20240303", INTRADAY3)
    write(folder, "sources.yml", GA4_YML)


def test_ga4_export_becomes_events_and_orders(tmp_path):
    _ga4_workspace(tmp_path)
    r = io.load(tmp_path)
    assert conserved(r)
    s = r.summary.set_index("table_name")
    n = len(DAY1) + len(DAY2) + len(INTRADAY3)
    assert s.loc["events", "rows_in"] == n and s.loc["events", "rows_quarantined"] == 0, r
    ev = loaded(tmp_path, "events", "ts, event_id")
    assert ev["event_id"].is_unique and ev["event_id"].str.match(r"^ga4-[0-9a-f]{20}-[12]$").all()
    assert set(ev["source"]) == {"ga4"}
    assert ev["ts"].iloc[0] == pd.Timestamp("2024-03-01 10:00:00")
    by_raw = ev.set_index("raw_event")
    assert by_raw.loc["view_item", "event"] == "product_view" and by_raw.loc["begin_checkout", "event"] == (
        "checkout_start")
    assert by_raw.loc["session_start", "event"] == "session_start"  # not ours: kept
    assert by_raw.loc["view_item", "anonymous_id"] == "p1"
    assert by_raw.loc["session_start", "channel"] == "paid_search" and by_raw.loc["session_start", "campaign"] == (
        "spring")
    assert by_raw.loc["view_item", "channel"] == "web" and pd.isna(by_raw.loc["view_item", "campaign"])
    assert ev.loc[ev["anonymous_id"] == "p3", "contact_ref"].dropna().tolist() == ["CRM-1"]
    purchases = ev[ev["event"] == "purchase"].set_index("anonymous_id")
    assert purchases.loc["p1", "revenue"] == 59.9 and purchases.loc["p2", "revenue"] == 0
    assert by_raw.loc["view_item", "page_location"] == "https://shop/x"
    assert set(ev["ga_session_id"]) == {1709287100} and "sequence" in ev  # a number stays a number
    assert set(ev["event_date"]) == {"20240301", "20240302", "20240303"}  # text in the export stays text
    assert (ev["raw_event"] == "page_view").sum() == 4  # the duplicate is two events; the intraday copy skipped
    items = ev.loc[ev["raw_event"] == "view_item", "items"].iloc[0]  # nested, as exported (not a repr)
    assert [(i["item_id"], i["price"]) for i in items] == [("sku1", 10.0)]
    orders = loaded(tmp_path, "orders")
    assert orders[["order_id", "amount", "status", "currency"]].values.tolist() == [["T1", 59.9, "returned", "GBP"]]
    assert orders["ts"].tolist() == [pd.Timestamp("2024-03-01 10:00:30")]


def test_ga4_orders_carry_the_visitor_and_a_partial_refund_keeps_what_was_paid(tmp_path):
    """A GA4 order of a visitor who never logged in had no identifier (user_id null, as in Google's public sample),
    so unify made it a customer of its own, away from its visit; and any refund made the order returned, a 10 of 50
    refund included. Now the order carries user_pseudo_id, and only a refund of the whole makes it returned."""
    from cxlib import unify

    day = [
        _ga4(T0, "view_item", "p4", items=["sku1"]),
        _ga4(T0 + 10, "purchase", "p4", [_param("currency", "EUR")], ecommerce={"transaction_id": "T4",
             "purchase_revenue": 50.0}),  # fmt: skip
        _ga4(T0 + 20, "purchase", "p5", ecommerce={"transaction_id": "T5", "purchase_revenue": 30.0}),
        _ga4(T0 + 30, "purchase", "p6", ecommerce={"transaction_id": "T6", "purchase_revenue": 20.0}),
        _ga4(T0 + 40, "refund", "p4", ecommerce={"transaction_id": "T4", "refund_value": 10.0}),
        _ga4(T0 + 50, "refund", "p5", ecommerce={"transaction_id": "T5", "refund_value": None}),  # no value: all
        _ga4(T0 + 60, "refund", "p6", ecommerce={"transaction_id": "T6", "refund_value": 12.0}),  # two halves: all
        _ga4(T0 + 70, "refund", "p6", ecommerce={"transaction_id": "T6", "refund_value": 8.0}),
    ]
    _export(tmp_path, "events_20240301", day, fmt="ndjson")
    write(tmp_path, "sources.yml", GA4_YML.replace("parquet", "ndjson"))
    io.load(tmp_path)
    orders = loaded(tmp_path, "orders", "order_id")
    got = orders[["order_id", "amount", "status", "anonymous_id"]].values.tolist()
    assert got == [["T4", 40.0, "completed", "p4"], ["T5", 30.0, "returned", "p5"], ["T6", 20.0, "returned", "p6"]]
    unify.unify(tmp_path, probabilistic=False, progress=False)
    tp = loaded(tmp_path, "touchpoints")
    p4 = tp[(tp["record_key"].isin(["T4"])) | (tp["event"] == "product_view")]
    assert p4["customer_id"].nunique() == 1 and len(p4) >= 2  # the order on its visitor's journey


def test_a_days_intraday_table_in_another_entry_is_replaced_by_its_daily_one(tmp_path):
    """Daily and intraday tables exported to two folders, so two entries of sources.yml: the skip of an intraday
    day that has its daily table worked within one entry only, so that day was read twice (its events and orders
    quarantined as duplicates, exit 3 with the advice to set `lines: true`)."""
    _export(tmp_path, "events_20240301", DAY1)
    _export(tmp_path, "events_intraday_20240301", DAY1)  # the same day, streamed before the daily table came
    _export(tmp_path, "events_intraday_20240303", INTRADAY3)
    for name, folder in (("events_20240301", "daily"), ("events_intraday_20240301", "intraday"),
                         ("events_intraday_20240303", "intraday")):  # fmt: skip
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / "ga4" / f"{name}.parquet").rename(tmp_path / folder / f"{name}.parquet")
    write(tmp_path, "sources.yml", "tables:\n  events:\n    - file: daily/events_*.parquet\n      format: ga4\n"
          "    - file: intraday/events_*.parquet\n      format: ga4\n")  # fmt: skip
    r = io.load(tmp_path)
    s = r.summary.set_index("table_name")
    assert s.loc["events", "rows_in"] == len(DAY1) + len(INTRADAY3) and s.loc["events", "rows_quarantined"] == 0
    assert s.loc["orders", "rows_quarantined"] == 0 and loaded(tmp_path, "orders")["order_id"].tolist() == ["T1"]
    (tmp_path / "intraday" / "events_intraday_20240303.parquet").unlink()  # now every day has its daily table
    r = io.load(tmp_path)
    assert r.summary.set_index("table_name").loc["events", "rows_in"] == len(DAY1)
    assert any("every day of it is in the daily GA4 tables of another entry" in w for w in r.warnings), r.warnings


def test_ga4_event_ids_are_deterministic(tmp_path):
    _ga4_workspace(tmp_path)
    io.load(tmp_path)
    all_days = loaded(tmp_path, "events", "event_id")
    io.load(tmp_path)
    assert loaded(tmp_path, "events", "event_id")["event_id"].tolist() == all_days["event_id"].tolist()
    # one day alone, its rows in another order: the same ids for its events
    for p in (tmp_path / "ga4").iterdir():
        p.unlink()
    _export(tmp_path, "events_20240301", DAY1[::-1])
    io.load(tmp_path)
    day1 = loaded(tmp_path, "events", "event_id")
    assert set(day1["event_id"]) == set(all_days.loc[all_days["ts"] < pd.Timestamp("2024-03-02"), "event_id"])


def test_ga4_ndjson_export_with_integers_as_text(tmp_path):
    import json

    def as_bigquery_json(row):  # BigQuery writes INT64 as JSON strings
        row = json.loads(json.dumps(row))
        for k in ("event_timestamp", "event_bundle_sequence_id", "event_server_timestamp_offset"):
            row[k] = str(row[k])
        return row

    _export(tmp_path, "events_20240301", [as_bigquery_json(r) for r in DAY1], fmt="ndjson")
    write(tmp_path, "sources.yml", GA4_YML.replace(".parquet", ".ndjson"))
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.set_index("table_name").loc["events", "rows_loaded"] == len(DAY1)
    assert loaded(tmp_path, "orders")["order_id"].tolist() == ["T1"]


def _avro_type(values: list, name: str):
    """An Avro type for every value in ``values`` (rows of a GA4 export): records, arrays, nullable scalars."""
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, dict) for v in present):
        keys = list(dict.fromkeys(k for v in present for k in v))
        fields = [{"name": k, "type": _avro_type([v.get(k) for v in present], f"{name}_{k}"), "default": None}
                  for k in keys]
        return ["null", {"type": "record", "name": name, "fields": fields}]
    if present and all(isinstance(v, list) for v in present):
        return ["null", {"type": "array", "items": _avro_type([x for v in present for x in v], f"{name}_item")}]
    kinds = {bool: "boolean", int: "long", float: "double", str: "string"}
    return ["null", *dict.fromkeys(kinds[type(v)] for v in present)] if present else ["null", "string"]


def test_ga4_avro_export_loads_as_the_parquet_one(tmp_path):
    """BigQuery's Avro export of the same days: the same events and orders, the same derived ids."""
    import fastavro

    parquet = tmp_path / "parquet"
    parquet.mkdir()
    _ga4_workspace(parquet)
    io.load(parquet)
    avro = tmp_path / "avro"
    (avro / "ga4").mkdir(parents=True)
    days = {"events_20240301": DAY1, "events_20240302": DAY2, "events_intraday_20240302": INTRADAY2,
            "events_intraday_20240303": INTRADAY3}
    every = [dict(r, event_date=r.get("event_date", "20240301")) for rows in days.values() for r in rows]
    schema = fastavro.parse_schema(_avro_type(every, "ga4_event")[1])
    for name, rows in days.items():
        with (avro / "ga4" / f"{name}.avro").open("wb") as out:
            fastavro.writer(out, schema, [dict(r, event_date=r.get("event_date", name[-8:])) for r in rows])
    write(avro, "sources.yml", GA4_YML.replace(".parquet", ".avro"))
    r = io.load(avro)
    assert conserved(r)
    cols = ["event_id", "ts", "event", "raw_event", "anonymous_id", "contact_ref", "channel", "revenue"]
    got, want = loaded(avro, "events", "event_id")[cols], loaded(parquet, "events", "event_id")[cols]
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert loaded(avro, "orders")["order_id"].tolist() == loaded(parquet, "orders")["order_id"].tolist() == ["T1"]
    (avro / "ga4" / "events_20240301.avro").write_bytes(b"not avro at all")
    with pytest.raises(DataError, match="events_20240301.avro cannot be read as Avro"):
        io.load(avro)


def test_ga4_order_id_from_the_event_parameter_when_ecommerce_has_none(tmp_path):
    """Many exports leave ``ecommerce.transaction_id`` "(not set)" and carry the id as an event parameter."""
    rows = [
        _ga4(T0, "purchase", "p1", [_param("transaction_id", "T7"), _param("currency", "EUR")],
             ecommerce={"transaction_id": "(not set)", "purchase_revenue": 20.0}),
        _ga4(T0 + 5, "purchase", "p2", [_param("transaction_id", "T8")],
             ecommerce={"transaction_id": "T9", "purchase_revenue": 30.0}),  # the ecommerce field wins
        _ga4(T0 + 9, "purchase", "p3", ecommerce={"transaction_id": "(not set)", "purchase_revenue": 5.0}),
    ]  # fmt: skip
    _export(tmp_path, "events_20240301", rows, fmt="ndjson")
    write(tmp_path, "sources.yml", GA4_YML.replace(".parquet", ".ndjson"))
    assert conserved(io.load(tmp_path))
    orders = loaded(tmp_path, "orders", "order_id")
    assert orders[["order_id", "amount"]].values.tolist() == [["T7", 20.0], ["T9", 30.0]]
    assert orders["currency"].iloc[0] == "EUR"
    ev = loaded(tmp_path, "events", "ts")
    assert ev["transaction_id"].iloc[:2].tolist() == ["T7", "T9"] and pd.isna(ev["transaction_id"].iloc[2])


def test_ga4_without_files_is_named(tmp_path):
    write(tmp_path, "sources.yml", GA4_YML)
    with pytest.raises(DataError, match="no GA4 export file matches"):
        io.validate(tmp_path)


def test_a_damaged_day_of_a_ga4_export_is_named(tmp_path):
    """One day's file cut short (a copy that failed): the error named the reader's complaint about the whole
    export and said to export it as Parquet, which it is. It now names the day's file and what to do."""
    _ga4_workspace(tmp_path)
    day = tmp_path / "ga4" / "events_20240302.parquet"
    day.write_bytes(day.read_bytes()[:200])
    with pytest.raises(DataError, match=r"events_20240302\.parquet is damaged or not a Parquet file .*that day's"):
        io.load(tmp_path)


def test_ga4_events_in_one_microsecond_follow_batch_event_index(tmp_path):
    """Three events of one page load share a microsecond; the export's batch_event_index orders them through
    the load, the unified stream and the journeys (the invented event_id would order them otherwise)."""
    from cxlib import journeys, unify

    rows = [
        _ga4(T0, "page_view", "p9", new=True, index=2),
        _ga4(T0, "session_start", "p9", new=True, index=0),
        _ga4(T0, "first_visit", "p9", new=True, index=1),
        _ga4(T0 + 4_000_000, "view_item", "p9", new=True, index=0, items=["sku1"]),
    ]
    _export(tmp_path, "events_20240301", rows, fmt="ndjson")
    write(tmp_path, "sources.yml", GA4_YML.replace(".parquet", ".ndjson"))
    assert conserved(io.load(tmp_path))
    assert sorted(loaded(tmp_path, "events")["sequence"].tolist()) == [0, 0, 1, 2]
    unify.unify(tmp_path)
    tr = journeys.transitions(tmp_path)
    pairs = set(map(tuple, tr[["source", "target"]].values.tolist()))
    assert {("session_start", "first_visit"), ("first_visit", "page_view"), ("page_view", "product_view")} <= pairs
    assert not {("page_view", "session_start"), ("first_visit", "session_start")} & pairs


def test_ga4_purchases_are_not_counted_twice_beside_the_shops_orders(tmp_path):
    """With the shop's order export loaded too, GA4's purchases stay events (the shop is the system of record);
    `orders: true` on the GA4 entry makes them orders anyway, `orders: false` never."""
    _export(tmp_path, "events_20240301", DAY1, fmt="ndjson")
    write(tmp_path, "shop.csv", "order_id,ts,amount,status,currency\nT1,2024-03-01 10:00:30,59.90,completed,GBP\n")
    ga4 = GA4_YML.replace(".parquet", ".ndjson")
    shop = "  orders: {file: shop.csv, source: shop}\n"
    write(tmp_path, "sources.yml", ga4 + shop)
    assert conserved(io.load(tmp_path))
    assert loaded(tmp_path, "orders")[["source", "order_id"]].values.tolist() == [["shop", "T1"]]
    write(tmp_path, "sources.yml", ga4 + "    orders: true\n" + shop)
    io.load(tmp_path)
    assert sorted(loaded(tmp_path, "orders")["source"]) == ["ga4", "shop"]
    write(tmp_path, "sources.yml", ga4 + "    orders: false\n")
    io.load(tmp_path)
    assert not _has_orders(tmp_path)
    write(tmp_path, "sources.yml", ga4 + "    orders: 'yes'\n")
    with pytest.raises(DataError, match="option `orders` is true or false"):
        io.validate(tmp_path)


def _has_orders(folder) -> bool:
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'orders'").fetchone()[0])
    finally:
        con.close()


def test_event_names_the_stage_map_does_not_name_are_listed(tmp_path):
    """GA4's session_start (and a refund, scroll...) are listed with counts; a stage_map.yml naming one drops it."""
    _export(tmp_path, "events_20240301", DAY1, fmt="ndjson")
    write(tmp_path, "sources.yml", GA4_YML.replace(".parquet", ".ndjson"))
    r = io.load(tmp_path)
    (note,) = [w for w in r.warnings if "stage map does not name" in w]
    assert "session_start (1)" in note and "page_view" not in note and "stage_map.yml" in note
    write(tmp_path, "stage_map.yml", "buyer:\n  - {stage: awareness, event: [session_start]}\n  - {stage: awareness}\n")
    assert not [w for w in io.load(tmp_path).warnings if "session_start" in w]
