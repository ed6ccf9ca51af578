"""Issue 15, items 10-17: bad input that used to crash or mislead, each test written as the accident."""

from __future__ import annotations

import duckdb
import pytest

from cxlib import io
from cxlib.schema import DataError

HEADER = "source,order_id,ts,amount,status\n"
GOOD = "shop,1,2024-03-01,10,completed\nshop,2,2024-03-02,11,completed\n"


def write(folder, name, data):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data, encoding="utf-8")
    return p


def loaded(folder, table="orders"):
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {table} ORDER BY ALL").df()
    finally:
        con.close()


def conserved(report):
    s = report.summary
    assert (s["rows_in"] == s["rows_loaded"] + s["rows_quarantined"]).all(), s
    return True


# --- 10: a row with two or more missing or extra fields ------------------------------------------------------------


@pytest.mark.parametrize(
    "bad_line, found",
    [("shop,3", "Found: 2"), ("shop,3,2024-03-01", "Found: 3"), ("shop,3,2024-03-01,1,completed,x,y", "Found: 7")],
)
def test_a_truncated_or_overlong_row_is_quarantined_and_the_rest_loads(tmp_path, bad_line, found):
    write(tmp_path, "orders.csv", HEADER + GOOD + bad_line + "\nshop,4,2024-03-04,12,completed\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_in"] == 4
    q = r.quarantine
    assert len(q) == 1 and q.loc[0, "row"] == 3 and found in q.loc[0, "reason"]
    assert loaded(tmp_path)["order_id"].tolist() == ["1", "2", "4"]


def test_a_truncated_last_line_without_newline(tmp_path):
    write(tmp_path, "orders.csv", HEADER + GOOD + "shop,3,2024")
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine["row"].tolist() == [3]
    assert len(loaded(tmp_path)) == 2


# --- 11: files with the same base name; two files with an unreadable line each -------------------------------------


def test_same_base_name_in_two_folders(tmp_path):
    write(tmp_path, "2024/orders.csv", HEADER + "shop,1,2024-03-01,-5,completed\nshop,2,2024-03-02,11,completed\n")
    write(tmp_path, "2025/orders.csv", HEADER + "shop,3,2025-03-01,10,completed\nshop,4,2025-03-02,11,completed\n")
    write(tmp_path, "sources.yml", "tables:\n  orders:\n    - file: 2024/orders.csv\n    - file: 2025/orders.csv\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_loaded"] == 3
    q = r.quarantine
    assert q[["source_file", "row", "reason"]].values.tolist() == [["2024/orders.csv", 1, "negative value"]]
    assert loaded(tmp_path)["order_id"].tolist() == ["2", "3", "4"]


def test_the_same_file_listed_twice_is_an_error(tmp_path):
    write(tmp_path, "orders.csv", HEADER + GOOD)
    write(tmp_path, "sources.yml", "tables:\n  orders:\n    - file: orders.csv\n    - file: ./orders.csv\n")
    with pytest.raises(DataError, match="twice"):
        io.load(tmp_path)


def test_two_files_with_an_unreadable_line_each(tmp_path):
    write(tmp_path, "a.csv", HEADER + GOOD + "shop,3\nshop,4,2024-03-01,10,completed\n")
    write(tmp_path, "b.csv", HEADER + "shop,5,2024-03-01,10,completed\nshop,6\nshop,7,2024-03-01,10,completed\n")
    write(tmp_path, "sources.yml", "tables:\n  orders:\n    - file: a.csv\n    - file: b.csv\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_in"] == 7 and r.summary.loc[0, "rows_quarantined"] == 2
    assert r.quarantine[["source_file", "row"]].values.tolist() == [["a.csv", 3], ["b.csv", 2]]
    assert loaded(tmp_path)["order_id"].tolist() == ["1", "2", "4", "5", "7"]
