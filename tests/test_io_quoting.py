"""Quoted values the CSV reader's sniffer did not see (cxlib/io/quoting.py)."""

from __future__ import annotations

from cxlib import io
from tests.io_helpers import conserved
from tests.test_io_robust import write


def test_a_quote_never_closed_is_named_when_it_made_most_lines_unreadable(tmp_path):
    """One unclosed quote (line 51) turns the reader's quoting off: every other row, with a quoted "Smith, J",
    splits into too many fields, and the fix said to check the delimiter. The reason names the line. (Read
    again with standard quoting, the open quote takes the next line with it: that reading accounts for one line
    less, so the first stays.)"""
    good = lambda a, b: "".join(f'crm,{i},"Smith, J{i}",u{i}@x.com\n' for i in range(a, b))  # noqa: E731
    write(tmp_path, "contacts.csv", "source,record_id,first_name,email\n" + good(1, 50)
          + 'crm,50,"Bad name,u50@x.com\n' + good(51, 101))
    write(tmp_path, "sources.yml", "tables:\n  contacts: {file: contacts.csv, max_quarantine: 1.0}\n")
    r = io.load(tmp_path)
    assert conserved(r) and len(r.quarantine) > 90
    assert r.quarantine["reason"].str.contains("line 51 opens a quote it never closes").all()


def test_an_open_quote_after_a_late_quoted_value_loses_no_rows(tmp_path):
    """A reviewer's file: a quoted comma on line 21,000 made the second reading, and a value opening a quote it
    never closes on line 21,500 then swallowed every line after it as one unreadable line: 3,500 rows in neither
    the table nor the quarantine, exit 0. A reading that accounts for fewer lines is not kept."""
    rows = [f"crm,{i},Ann,Street {i}" for i in range(1, 2_501)]
    rows[2_000] = 'crm,2001,Ann,"Flat 1, Paper House"'
    rows[2_200] = 'crm,2201,Ann,"The Old Mill'
    write(tmp_path, "contacts.csv", "source,record_id,first_name,street\n" + "\n".join(rows) + "\n")
    write(tmp_path, "sources.yml", "tables:\n  contacts: {file: contacts.csv, max_quarantine: 1.0}\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_loaded"] + len(r.quarantine) >= 2_499


def test_a_file_whose_quotes_the_sniffer_never_saw_reads_them(tmp_path):
    """The sniffer's sample (the first lines) quoted nothing, so a quoted value with a comma on line 30,002 of an
    invoice export split and its line was quarantined; a last line cut off inside a quote quarantined all."""
    rows = "".join(f"shop,{i},2024-03-01,10,completed\n" for i in range(1, 30_001))
    write(tmp_path, "orders.csv", "source,order_id,ts,amount,status,note\n".replace(",note", "") + rows
          + 'shop,"30001",2024-03-01,"1,5",completed\n')
    write(tmp_path, "sources.yml", "tables:\n  orders: {file: orders.csv, decimal: ','}\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine.empty and r.summary.loc[0, "rows_loaded"] == 30_001
    cut = "".join(f'"shop","{i}","2024-03-01","10","completed"\n' for i in range(1, 301)) + '"shop","301","2024-0'
    write(tmp_path, "orders.csv", '"source","order_id","ts","amount","status"\n' + cut)
    (tmp_path / "sources.yml").unlink()
    r = io.load(tmp_path)
    assert conserved(r) and r.summary.loc[0, "rows_loaded"] == 300 and len(r.quarantine) == 1
