"""Contact record ids are their system's own (cxlib.unify.records): two systems numbering from 1."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from typer.testing import CliRunner

import cxlib
from cxlib import unify
from cxlib.cli import app
from cxlib.unify import pipeline

CONTACTS = """source,record_id,first_name,last_name,email,phone,postcode
crm,1,Ann,Lee,ann.lee@example.com,,AB1 2CD
loyalty,1,Bob,Stone,bob.stone@example.org,,ZX9 8YW
crm,2,Cem,Kaya,cem.kaya@example.com,,CD3 4EF
loyalty,7,Dee,Ross,dee.ross@example.org,,GH5 6IJ
"""


def _orders(folder, rows: list[str]) -> None:
    lines = ["source,order_id,ts,contact_ref,amount,status", *(f"{r},10,completed" for r in rows)]
    (folder / "orders.csv").write_text("\n".join(lines) + "\n")


def _customers(folder) -> dict[tuple[str, str, str], str]:
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    return {(r.table_name, r.source, r.record_key): r.customer_id for r in links.itertuples()}


def test_two_systems_numbering_from_one_keep_their_people_apart(tmp_path):
    # crm 1 is Ann, loyalty 1 is Bob: the number alone joined them as one customer
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    orders = ["loyalty,L1,2024-01-02 10:00,1", "crm,C1,2024-01-03 10:00,1", "shop,S1,2024-01-04 10:00,7"]
    _orders(tmp_path, orders)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    cust = _customers(tmp_path)
    ann, bob = cust[("contacts", "crm", "1")], cust[("contacts", "loyalty", "1")]
    assert ann != bob
    # a reference goes to the contact of its own row's system when that system holds the id
    assert cust[("orders", "loyalty", "L1")] == bob
    assert cust[("orders", "crm", "C1")] == ann
    # an id only one system holds: as before, whatever the referring row's source
    assert cust[("orders", "shop", "S1")] == cust[("contacts", "loyalty", "7")]
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = ws.table("unify_identifiers").to_pandas()
    rec = set(ids.loc[ids["id_type"] == "record", "id_value"])
    assert {"crm:1", "loyalty:1", "2", "7"} <= rec  # plain values where one system holds the id
    assert "1" not in rec


def test_a_reference_no_own_system_explains_goes_to_the_first_by_priority_and_says_so(tmp_path, caplog):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    _orders(tmp_path, ["shop,S1,2024-01-04 10:00,1"])
    cxlib.load(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(tmp_path)
    cust = _customers(tmp_path)
    assert cust[("orders", "shop", "S1")] == cust[("contacts", "crm", "1")]  # crm before loyalty
    assert "1 row of shop refers (contact_ref) to 1 record id that" in caplog.text
    assert "(e.g. '1' -> crm)" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(tmp_path, unify.UnifyConfig(source_priority=("loyalty", "crm")))
    assert "source_priority names" not in caplog.text
    again = _customers(tmp_path)
    assert again[("orders", "shop", "S1")] == again[("contacts", "loyalty", "1")]
    assert "(e.g. '1' -> loyalty)" in caplog.text
    # `cx explain` reads the identifiers as this run did (its source_priority, kept in unify_settings)
    table, _ = unify.explain(tmp_path, again[("orders", "shop", "S1")])
    shop = table[table["table_name"] == "orders"]["identifiers"].iloc[0]
    assert "record:loyalty:1" in shop, shop
    assert unify.run_config(tmp_path).source_priority == ("loyalty", "crm")


def test_an_incremental_run_not_told_otherwise_keeps_the_last_runs_identifier_settings(tmp_path, monkeypatch):
    # it reuses the last run's model; a shared id's holder must not change under it (the CLI's default too)
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    cxlib.load(tmp_path)
    unify.unify(tmp_path, unify.UnifyConfig(source_priority=("loyalty", "crm"), default_country="DE"))
    seen = []
    monkeypatch.setattr(pipeline, "_unify", lambda ws, cfg, *a: seen.append(cfg))
    unify.unify(tmp_path, incremental=True)
    unify.unify(tmp_path)  # a full run: the defaults
    assert [(c.source_priority, c.default_country) for c in seen] == [
        (("loyalty", "crm"), "DE"), (unify.UnifyConfig().source_priority, "GB")
    ]
    seen.clear()
    for args in (["--incremental"], ["--incremental", "--source-priority", "crm,loyalty"], []):
        r = CliRunner().invoke(app, ["unify", str(tmp_path), "--no-progress", *args])
        assert r.exit_code == 0, r.output
    default = unify.UnifyConfig().source_priority
    assert [c.source_priority for c in seen] == [("loyalty", "crm"), ("crm", "loyalty"), default]
    assert seen[0].match_threshold == 0.95 and seen[0].default_country == "DE"


def test_synced_systems_sharing_an_id_for_one_person_still_merge_on_the_evidence(tmp_path):
    # a loyalty system keyed by the CRM's id: the same person, and her e-mail says so
    rows = CONTACTS.replace("loyalty,1,Bob,Stone,bob.stone@example.org", "loyalty,1,Ann,Lee,ann.lee@example.com")
    (tmp_path / "contacts.csv").write_text(rows)
    cxlib.load(tmp_path)
    result = unify.unify(tmp_path)
    cust = _customers(tmp_path)
    assert cust[("contacts", "crm", "1")] == cust[("contacts", "loyalty", "1")]
    assert int(result.summary.loc[0, "customers"]) == 3


def test_explain_shows_the_qualified_record(tmp_path):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    bob = _customers(tmp_path)[("contacts", "loyalty", "1")]
    table, _ = unify.explain(tmp_path, bob)
    assert "record:loyalty:1" in " ".join(table["identifiers"].astype(str)) or "loyalty:1" in table.to_string()


def test_no_shared_ids_no_change(tmp_path):
    (tmp_path / "contacts.csv").write_text(CONTACTS.replace("loyalty,1,", "loyalty,9,"))
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = ws.table("unify_identifiers").to_pandas()
    assert not ids.loc[ids["id_type"] == "record", "id_value"].str.contains(":").any()
    assert isinstance(ids, pd.DataFrame)


def test_the_threshold_curve_scores_shared_ids_as_the_run_keys_them(tmp_path):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    truth = pd.DataFrame({"table_name": "contacts", "source": ["crm", "loyalty", "crm", "loyalty"],
                          "record_key": ["1", "1", "2", "7"], "person_id": ["ann", "bob", "cem", "dee"]})
    curve = unify.threshold_curve(tmp_path, truth, thresholds=(0.95,))
    assert curve["pairwise_precision"].iloc[0] == 1.0  # no pair at all: nothing merged wrongly


def _graph_frames() -> dict[str, pd.DataFrame]:
    contacts = pd.read_csv(__import__("io").StringIO(CONTACTS), dtype=str).assign(
        updated_at=pd.Timestamp("2024-01-01")
    )
    orders = pd.DataFrame({"source": ["loyalty", "shop", "shop", "desk", "desk"],
                           "order_id": ["L1", "S1", "S2", "D1", "D2"], "ts": pd.to_datetime(["2024-01-02"] * 5),
                           "contact_ref": ["1", "1", "7", "1", "2"],
                           "contact_ref_source": [None, None, None, "loyalty", "loyalty"]})  # fmt: skip
    return {"contacts": contacts, "orders": orders}


def _nodes(ws) -> list[tuple[str, str, str]]:
    from cxlib.unify.graph import identity_graph

    nodes, _, _ = identity_graph(ws)
    df = nodes.to_pandas()
    return sorted(zip(df["id_type"], df["id_value"], df["component"], strict=True))


@pytest.mark.spark
@pytest.mark.slow
@pytest.mark.xdist_group("spark")
def test_shared_record_ids_the_same_on_spark(spark_session):
    import ibis

    frames = _graph_frames()
    # an office's phone two people share (demoted: different names) and a household's (kept: one surname)
    shared = pd.DataFrame({"source": "crm", "record_id": ["11", "12", "13", "14"],
                           "first_name": ["Cyril", "Diana", "Tom", "Sue"], "last_name": ["Cole", "Marsh", "Lee", "Lee"],
                           "phone": ["020 7946 0000"] * 2 + ["07700 900111"] * 2,
                           "updated_at": pd.Timestamp("2024-01-01")})
    frames["contacts"] = pd.concat([frames["contacts"], shared], ignore_index=True)
    duck = cxlib.connect()
    for name, df in frames.items():
        duck.write(name, df)
    expected = _nodes(duck)
    assert {("record", "crm:1"), ("record", "loyalty:1"), ("record", "loyalty:2")} <= {(t, v) for t, v, _ in expected}
    phones = {v for t, v, _ in expected if t == "phone"}
    assert "+442079460000" not in phones and "+447700900111" in phones
    before = spark_session.catalog.currentDatabase()
    spark_session.sql("CREATE DATABASE IF NOT EXISTS unify_records")
    spark_session.catalog.setCurrentDatabase("unify_records")
    try:
        ws = cxlib.connect(ibis.pyspark.connect(spark_session))
        for name, df in frames.items():
            spark_session.createDataFrame(ibis.memtable(df).to_pyarrow()).write.mode("overwrite").saveAsTable(name)
        got = _nodes(ws)
    finally:
        spark_session.catalog.setCurrentDatabase(before)
        spark_session.sql("DROP DATABASE IF EXISTS unify_records CASCADE")
    assert got == expected


def test_a_source_priority_naming_no_contacts_source_is_a_warning(tmp_path, caplog):
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    cxlib.load(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(tmp_path, unify.UnifyConfig(source_priority=("loyalty", "crn")))
    assert "source_priority names 'crn', which no contact record comes from (their sources: crm, loyalty)" in (
        caplog.text
    )


def test_an_incremental_run_counts_only_the_new_records_as_new():
    # the last run's contact records are keyed as the matching keys them (crm:1, loyalty:1), so a shared id is
    # not taken for a new record on every incremental run
    from cxlib.unify.probabilistic import _previous_run

    ws = cxlib.connect()
    contacts = _graph_frames()["contacts"]
    ws.write("contacts", contacts)
    ws.write("identity_links", contacts[["source", "record_id"]].rename(columns={"record_id": "record_key"}).assign(
        table_name="contacts", customer_id=["C1", "C2", "C3", "C4"]))
    ws.write("unify_model", pd.DataFrame({"model": ["{}"]}))
    ws.write("unify_matches", pd.DataFrame({"record_a": ["crm:1"], "record_b": ["loyalty:1"],
                                            "match_probability": [0.1]}))
    feats = pd.DataFrame({"record": ["crm:1", "loyalty:1", "2", "7", "9"]})
    _, new, previous = _previous_run(ws, feats, unify.UnifyConfig())
    assert new == {"9"} and len(previous) == 1  # the pair of two existing records keeps its score


def _tickets(folder, rows: list[str], system: bool = False) -> None:
    head = "source,ticket_id,opened_at,contact_ref" + (",contact_ref_source" if system else "")
    (folder / "tickets.csv").write_text("\n".join([head, *rows]) + "\n")


def test_references_to_a_system_of_its_own_join_only_each_other(tmp_path):
    # no contacts export: a shop numbers its customers from 1, a helpdesk its requesters from 1
    _orders(tmp_path, ["shop,S1,2024-01-02 10:00,1", "shop,S2,2024-01-03 10:00,2"])
    _tickets(tmp_path, ["helpdesk,T1,2024-01-04 10:00,1", "helpdesk,T2,2024-01-05 10:00,1"])
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    cust = _customers(tmp_path)
    assert cust[("tickets", "helpdesk", "T1")] == cust[("orders", "shop", "S1")]  # by value: as before
    yml = ("tables:\n  orders: {file: orders.csv}\n"
           "  tickets: {file: tickets.csv, constants: {contact_ref_source: helpdesk}}\n")  # fmt: skip
    (tmp_path / "sources.yml").write_text(yml)
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    cust = _customers(tmp_path)
    assert cust[("tickets", "helpdesk", "T1")] != cust[("orders", "shop", "S1")]
    assert cust[("tickets", "helpdesk", "T1")] == cust[("tickets", "helpdesk", "T2")]  # the same requester
    with cxlib.connect(tmp_path, read_only=True) as ws:
        ids = ws.table("unify_identifiers").to_pandas()
    assert {"helpdesk:1", "1", "2"} == set(ids.loc[ids["id_type"] == "record", "id_value"])
    table, _ = unify.explain(tmp_path, cust[("tickets", "helpdesk", "T1")])
    assert set(table["identifiers"]) == {"record:helpdesk:1"}


def test_a_reference_naming_its_system_means_that_systems_record(tmp_path, caplog):
    # crm 1 is Ann, loyalty 1 is Bob; a ticketing tool's references say they are the loyalty system's ids
    (tmp_path / "contacts.csv").write_text(CONTACTS)
    rows = ["zendesk,T1,2024-01-04 10:00,1,loyalty", "zendesk,T2,2024-01-04 11:00,7,loyalty",
            "zendesk,T3,2024-01-04 12:00,2,loyalty", "zendesk,T4,2024-01-04 13:00,2,"]  # fmt: skip
    _tickets(tmp_path, rows, system=True)
    cxlib.load(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        unify.unify(tmp_path)
    assert "record ids that contacts of several sources hold" not in caplog.text  # named: not a guess
    cust = _customers(tmp_path)
    assert cust[("tickets", "zendesk", "T1")] == cust[("contacts", "loyalty", "1")]  # Bob, not Ann (crm first)
    assert cust[("tickets", "zendesk", "T2")] == cust[("contacts", "loyalty", "7")]  # an id one source holds
    # loyalty holds no 2: not crm's Cem, whom a reference naming no system still means
    assert cust[("tickets", "zendesk", "T3")] != cust[("contacts", "crm", "2")]
    assert cust[("tickets", "zendesk", "T4")] == cust[("contacts", "crm", "2")]
    table, _ = unify.explain(tmp_path, cust[("tickets", "zendesk", "T1")])
    assert "record:loyalty:1" in table.loc[table["table_name"] == "tickets", "identifiers"].iloc[0]
