"""The over-merge guard on values that reach people through other rows, and what it demoted in the matching.

Found by a review on hostile identity data (7 December): a switchboard number typed on every ticket beside the
customer's own e-mail joined 15 people (the guard counted only contact records in the same row); a placeholder
e-mail or phone the graph demoted was still "the same e-mail" to splink; 1900-01-01 was "the same birth date";
twelve records of one person with one e-mail were split.
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

import cxlib
from cxlib import unify
from cxlib.unify import UnifyConfig
from cxlib.unify.graph import identity_graph
from cxlib.unify.probabilistic import _birth_date, _contact_features, features
from cxlib.unify.saved import _compared

FIRST = ["Ann", "Bob", "Cem", "Dee", "Eve", "Fay", "Gus", "Hal", "Ida", "Jon", "Kim", "Lou", "Max", "Ned", "Oli"]
LAST = ["Lee", "Stone", "Kaya", "Ross", "Marsh", "Gold", "Ives", "Dunn", "Bell", "Cole", "Fox", "Hart", "Nash",
        "Pike", "Quinn"]  # fmt: skip


def _people(n: int = 15) -> pd.DataFrame:
    return pd.DataFrame({"source": "crm", "record_id": [f"P{i}" for i in range(n)], "first_name": FIRST[:n],
                         "last_name": LAST[:n], "email": [f"{f.lower()}.{s.lower()}@mail.org" for f, s in
                                                          zip(FIRST[:n], LAST[:n], strict=True)]})  # fmt: skip


def _customers_of(folder, table: str) -> pd.Series:
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    return links.loc[links["table_name"] == table].set_index("record_key")["customer_id"]


def test_a_switchboard_number_on_every_ticket_joins_no_one(tmp_path):
    people = _people()
    people.to_csv(tmp_path / "contacts.csv", index=False)
    tickets = pd.DataFrame({"source": "helpdesk", "ticket_id": [f"T{i}" for i in range(15)],
                            "opened_at": "2024-03-01 10:00", "email": people["email"],
                            "phone": "0345 600 1234"})  # fmt: skip
    tickets.to_csv(tmp_path / "tickets.csv", index=False)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    assert _customers_of(tmp_path, "contacts").nunique() == 15  # was 1: every caller one customer
    with cxlib.connect(tmp_path, read_only=True) as ws:
        demoted = ws.table("unify_demoted").to_pandas()
    row = demoted.loc[demoted["id_value"] == "+443456001234"].iloc[0]
    assert row["cause"] == "partners" and row["records"] == 15
    assert row["reason"] == "seen with 15 different e-mails or phones (limit 10 for phone)"
    # each ticket still reaches its caller, through the caller's own e-mail
    assert _customers_of(tmp_path, "tickets").nunique() == 15


def test_one_persons_many_records_keep_the_email_they_share(tmp_path):
    one = pd.DataFrame({"source": ["crm", "shop", "helpdesk"] * 4, "record_id": [f"H{i}" for i in range(12)],
                        "first_name": "Ann", "last_name": "Lee", "email": "ann.lee@mail.org"})  # fmt: skip
    pd.concat([one, _people(3)]).to_csv(tmp_path / "contacts.csv", index=False)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    cust = _customers_of(tmp_path, "contacts")
    assert cust[[f"H{i}" for i in range(12)]].nunique() == 1  # was 9 customers: over the limit of 10
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert ws.table("unify_demoted").count().to_pyarrow().as_py() == 0


def test_twelve_different_people_on_one_email_are_still_demoted(tmp_path):
    many = _people(12).assign(email="office@firm.org")
    many.to_csv(tmp_path / "contacts.csv", index=False)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    assert _customers_of(tmp_path, "contacts").nunique() == 12
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert ws.table("unify_demoted").to_pandas()["cause"].tolist() == ["count"]


def test_what_the_guard_demoted_is_no_evidence_in_the_matching_nor_its_explanations():
    ws = cxlib.connect()
    c = pd.DataFrame({"source": "crm", "record_id": ["1", "2", "3"], "first_name": ["Ann", "Bob", "Cy"],
                      "last_name": "Lee", "email": ["noemail@none.com", "NoEmail@none.com", "n/a"],
                      "phone": ["07000 000000", "07000000000", "0"], "country": "GB",
                      "updated_at": pd.Timestamp("2024-01-01")})  # fmt: skip
    ws.write("contacts", c)
    cfg = UnifyConfig()
    nodes, demoted, _ = identity_graph(ws, cfg)
    assert set(demoted.to_pandas()["cause"]) == {"placeholder"}
    feats = _contact_features(ws, nodes, cfg, demoted)
    assert feats["email"].isna().all() and feats["phone"].isna().all()
    # "n/a" and "0" are no address and no number: not "the same" in two records either
    plain = ws.table("contacts").select(**features(ws.table("contacts"), cfg)).to_pandas()
    assert plain.loc[2, ["email", "phone"]].isna().all()
    ws.write("unify_demoted", demoted.to_pandas())
    assert _compared(ws, cfg)[["email", "phone"]].isna().all().all()  # the waterfall reads the same


def test_placeholder_birth_dates_are_not_known():
    t = ibis.memtable({"birth_date": pd.to_datetime(["1900-01-01", "1970-01-01", "1984-03-07"]).date})
    assert t.select(d=_birth_date(t)).to_pyarrow()["d"].to_pylist() == [None, None, "19840307"]


def test_the_waterfall_reads_records_as_the_run_keys_them(tmp_path):
    pd.DataFrame({"source": ["crm", "loyalty"], "record_id": ["1", "1"], "first_name": ["Ann", "Ann"],
                  "last_name": ["Lee", "Lee"]}).to_csv(tmp_path / "contacts.csv", index=False)  # fmt: skip
    cxlib.load(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert set(_compared(ws, UnifyConfig())["unique_id"]) == {"crm:1", "loyalty:1"}


def test_an_address_with_a_display_name_loads_and_links(tmp_path):
    pd.DataFrame({"source": ["crm", "helpdesk"], "record_id": ["1", "9"], "first_name": ["Fay", None],
                  "email": ["fay.gold@mail.com", "Fay Gold <fay.gold@mail.com>"]}).to_csv(
        tmp_path / "contacts.csv", index=False)  # fmt: skip
    cxlib.load(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert ws.table("quarantine").count().to_pyarrow().as_py() == 0  # was nulled: "malformed email"
    unify.unify(tmp_path)
    assert _customers_of(tmp_path, "contacts").nunique() == 1


def test_numbers_and_addresses_that_are_not_one_persons_stay_apart():
    """From the review of this change: a German number whose 0 a spreadsheet dropped (04921 1234567) was read as
    carrying the country code and met a Dusseldorf 0211 234567; a US local number of seven digits (555-0123)
    became an identifier with no area code; ann@ann.co.uk was taken for a placeholder."""
    from cxlib.unify.normalise import normalise_phone, placeholder

    t = ibis.memtable({"p": ["49211234567", "0211 234567", "555-0123", "4155550123"], "c": ["DE", "DE", "US", "US"]})
    assert t.select(n=normalise_phone(t.p, t.c)).to_pyarrow()["n"].to_pylist() == [
        "+4949211234567", "+49211234567", None, "+14155550123"]  # fmt: skip
    e = ibis.memtable({"v": ["ann@ann.co.uk", "john@john.me", "x@x.com", "email@email.com"]})
    assert e.select(p=placeholder(ibis.literal("email"), e.v)).to_pyarrow()["p"].to_pylist() == [
        False, False, True, True]  # fmt: skip


def test_refresh_replays_no_option_that_writes_outside_the_workspace_and_keeps_paths_whole(tmp_path):
    """`cx voice --follow-up calls.csv --personal`, then `cx refresh` from another folder, wrote a call-back list
    with names and phones there; a relative --stage-map did not read from another folder."""
    import json

    from cxlib.cli.base import _options_text

    kept = json.loads(_options_text({"folder": tmp_path, "follow_up": "calls.csv", "personal": True,
                                     "stage_map": Path("maps/sm.yml"), "topics": 5}))  # fmt: skip
    assert kept == {"stage_map": str(Path("maps/sm.yml").resolve()), "topics": 5}


def test_normalising_reads_each_value_a_few_times_not_exponentially_often():
    """ibis writes no common subexpressions: a step that reads the one before five times makes five copies of it
    in the SQL, and the copies multiply step by step. The trunk-0 and display-name handling of 7 December did
    that (243 KB of SQL per phone, 47 KB per e-mail; unify on FEBRL 1 2.3 -> 4.6 s); the same rules now read
    each step once or twice. A bound on the SQL's size, not on time."""
    from cxlib.unify.normalise import normalise_email, normalise_phone

    t = ibis.table({"e": "string", "p": "string", "c": "string"}, name="t")
    phone = len(ibis.to_sql(t.select(x=normalise_phone(t.p, t.c)), dialect="duckdb"))
    email = len(ibis.to_sql(t.select(x=normalise_email(t.e)), dialect="duckdb"))
    assert phone < 25_000 and email < 15_000, (phone, email)
