"""Quoted values the CSV reader's sniffer did not see (cxlib/io/quoting.py)."""

from __future__ import annotations

from cxlib import io
from tests.io_helpers import conserved
from tests.test_io_robust import write


def test_a_quote_never_closed_loses_its_own_line_only(tmp_path):
    """One unclosed quote (line 51) turned the reader's quoting off: every other row, with a quoted "Smith, J",
    split into too many fields (99 of 100 quarantined). The file is now read again with standard quoting: the
    open quote takes the next line with it, and both lines' text is in the one quarantined row."""
    good = lambda a, b: "".join(f'crm,{i},"Smith, J{i}",u{i}@x.com\n' for i in range(a, b))  # noqa: E731
    write(tmp_path, "contacts.csv", "source,record_id,first_name,email\n" + good(1, 50)
          + 'crm,50,"Bad name,u50@x.com\n' + good(51, 101))
    r = io.load(tmp_path)
    assert conserved(r) and len(r.quarantine) == 1
    q = r.quarantine.iloc[0]
    assert "unterminated quote" in q["reason"] and "crm,51," in q["value"]


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
