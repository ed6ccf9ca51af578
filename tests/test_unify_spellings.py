"""References written in another format than their contacts' record ids (cxlib.unify.spellings).

Found by a review on real exports (7 December): an order export naming its customers ``4.0`` (a spreadsheet made
the ids numbers), ``0003`` or ``cust-7`` reached none of the CRM's contacts ``4``, ``3``, ``CUST-7`` -- each order
became a customer of its own, and nothing said so.
"""

from __future__ import annotations

import logging

import cxlib
from cxlib import unify
from cxlib.unify.config import UnifyConfig
from cxlib.unify.signatures import identifiers

CONTACTS = """source,record_id,first_name,last_name,email
crm,4,Ann,Lee,ann.lee@example.com
crm,3,Bob,Stone,bob.stone@example.org
crm,CUST-7,Cem,Kaya,cem.kaya@example.com
crm,8,Dee,Ross,dee.ross@example.org
crm,08,Eve,Marsh,eve.marsh@example.net
crm,10,Fay,Gold,fay.gold@example.com
"""

ORDERS = """source,order_id,ts,contact_ref,amount,status
shop,O1,2024-01-02 10:00,4.0,10,completed
shop,O2,2024-01-03 10:00,0003,10,completed
shop,O3,2024-01-04 10:00,cust-7,10,completed
shop,O4,2024-01-05 10:00, 008 ,10,completed
shop,O5,2024-01-06 10:00,x9,10,completed
shop,O6,2024-01-07 10:00,10,10,completed
"""


def _load_and_unify(folder, caplog) -> dict[tuple[str, str], str]:
    """Load and unify ``folder``, its warnings in ``caplog``; each row's customer (:func:`_customers`)."""
    cxlib.load(folder)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(folder)
    return _customers(folder)


def _customers(folder) -> dict[tuple[str, str], str]:
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    return {(r.table_name, r.record_key): r.customer_id for r in links.itertuples()}


def test_references_in_another_format_reach_their_contact_and_the_rest_are_named(tmp_path, caplog):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    (tmp_path / "orders.csv").write_text(ORDERS)
    cust = _load_and_unify(tmp_path, caplog)
    assert cust[("orders", "O1")] == cust[("contacts", "4")]  # 4.0
    assert cust[("orders", "O2")] == cust[("contacts", "3")]  # 0003
    assert cust[("orders", "O3")] == cust[("contacts", "CUST-7")]  # cust-7
    assert cust[("orders", "O6")] == cust[("contacts", "10")]  # as written, as before
    # 008 reads as 8 and as 08: two contacts, so neither is guessed; two contacts are never joined by this
    contacts = {cust[("contacts", k)] for k in ("4", "3", "CUST-7", "8", "08", "10")}
    assert len(contacts) == 6
    assert cust[("orders", "O4")] not in contacts
    assert cust[("orders", "O5")] not in contacts
    assert "3 rows of orders name their contact (contact_ref) in another format" in caplog.text
    assert "2 rows of orders name a contact (contact_ref, e.g. '008') that no contact record holds" in caplog.text
    # the identifiers an explanation reads are the run's: 4.0 is contact 4's record
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = identifiers(ws, UnifyConfig()).to_pandas()
    rec = ids[(ids["table_name"] == "orders") & (ids["id_type"] == "record")].set_index("record_key")["id_value"]
    assert rec.to_dict() == {"O1": "4", "O2": "3", "O3": "CUST-7", "O4": "008", "O5": "x9", "O6": "10"}


def test_without_other_formats_nothing_is_said_and_nothing_changes(tmp_path, caplog):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    (tmp_path / "orders.csv").write_text(ORDERS.splitlines()[0] + "\nshop,O6,2024-01-07 10:00,10,10,completed\n")
    cxlib.load(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(tmp_path)
    assert "contact_ref" not in caplog.text
    cust = _customers(tmp_path)
    assert cust[("orders", "O6")] == cust[("contacts", "10")]


def test_customer_numbers_written_two_ways_without_contacts_are_one_customer(tmp_path, caplog):
    # GA4's user_id set to the shop's customer number, exported through a spreadsheet as 12346.0
    (tmp_path / "orders.csv").write_text(
        "source,order_id,ts,contact_ref,amount,status\n"
        "shop,O1,2024-01-02 10:00,12346,10,completed\nshop,O2,2024-01-03 10:00,12347,10,completed\n"
    )
    (tmp_path / "tickets.csv").write_text(
        "source,ticket_id,opened_at,contact_ref,channel,category,resolved\n"
        "desk,T1,2024-01-04 10:00,12346.0,email,billing,true\ndesk,T2,2024-01-05 10:00,12348.0,email,billing,true\n"
    )
    cust = _load_and_unify(tmp_path, caplog)
    assert cust[("tickets", "T1")] == cust[("orders", "O1")]
    assert len({cust[("orders", "O2")], cust[("tickets", "T2")], cust[("orders", "O1")]}) == 3
    assert "1 row of tickets names their customer (contact_ref) in another format than other rows do" in caplog.text
    assert "no contact record holds" not in caplog.text  # no contacts: references are the customer numbers


def test_a_reference_naming_its_system_is_read_as_written_and_a_shared_id_spelt_otherwise_is_the_same_guess(
    tmp_path, caplog
):
    """Found by the review of the change: a reference naming its system (contact_ref_source) was said to be
    "joined" in another spelling although the system's own records decide (it joined nobody), and a shared id
    written 1.0 was linked by source_priority's guess without the guess's warning."""
    (tmp_path / "contacts.csv").write_text("source,record_id,first_name,last_name,email\n"
                                           "crm,1,Ann,Lee,ann@example.com\nloyalty,1,Bob,Ray,bob@example.com\n"
                                           "crm,7,Cem,Kaya,cem@example.com\n")  # fmt: skip
    (tmp_path / "orders.csv").write_text(
        "source,order_id,ts,contact_ref,contact_ref_source,amount,status\n"
        "shop,O1,2024-01-02 10:00,1.0,,10,completed\nshop,O2,2024-01-03 10:00,07,loyalty,10,completed\n"
        "shop,O3,2024-01-04 10:00,07,,10,completed\n"
    )
    cust = _load_and_unify(tmp_path, caplog)
    assert "(e.g. '1' -> crm)" in caplog.text  # the guess is said, as for a 1 written alike
    assert cust[("orders", "O3")] == cust[("contacts", "7")]
    assert cust[("orders", "O2")] not in {cust[("contacts", "7")], cust[("orders", "O3")]}  # loyalty's own 07
    assert "2 rows of orders name their contact (contact_ref) in another format" in caplog.text  # O1, O3; not O2
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = identifiers(ws, UnifyConfig(), only=_only("orders", "O2")).to_pandas()
    assert ids.loc[ids["id_type"] == "record", "id_value"].tolist() == ["loyalty:07"]


def test_explaining_one_row_reads_the_references_as_the_run_did(tmp_path):
    """``identifiers(only=...)`` found the spellings among the explained rows alone: a ticket's 12346.0 was
    12346.0 there and 12346 in the run."""
    (tmp_path / "orders.csv").write_text("source,order_id,ts,contact_ref,amount,status\n"
                                         "shop,O1,2024-01-02 10:00,12346,10,completed\n")  # fmt: skip
    (tmp_path / "tickets.csv").write_text("source,ticket_id,opened_at,contact_ref\ndesk,T1,2024-01-04 10:00,12346.0\n")
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = identifiers(ws, UnifyConfig(), only=_only("tickets", "T1")).to_pandas()
        run = ws.table("unify_identifiers").to_pandas()
        kept = ws.table("unify_spellings").to_pandas()  # the run's, read by an explanation: no scan of every row
    assert kept.values.tolist() == [["12346.0", "12346", "reference"]]
    assert ids["id_value"].tolist() == ["12346"]
    assert "12346" in set(run["id_value"]) and "12346.0" not in set(run["id_value"])


def _only(table: str, key: str):
    import pandas as pd

    source = {"orders": "shop", "tickets": "desk"}[table]
    return pd.DataFrame({"table_name": [table], "source": [source], "record_key": [key]})
