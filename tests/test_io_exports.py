"""Real exports through `sources.yml` only: constants, derived keys, order lines, the quarantine limit,
epoch times and GA4 (issue 16). Tiny hand-made files in the vendors' layouts."""

from __future__ import annotations

import duckdb
import pytest

from cxlib import io
from cxlib.schema import DataError


def write(folder, name, text):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text)
    return p


def loaded(folder, table, order="1"):
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY {order}").df()
    finally:
        con.close()


def conserved(report):
    s = report.summary
    assert (s["rows_in"] == s["rows_loaded"] + s["rows_quarantined"]).all(), s
    return True


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
