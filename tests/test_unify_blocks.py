"""Blocking groups too big to be evidence (``UnifyConfig.max_block``): left to the other rules, end to end."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

import cxlib
from cxlib import io, synth, unify
from cxlib.unify import UnifyConfig
from cxlib.unify.blocks import capped_rules
from tests.io_helpers import write_company_tables


def test_a_rule_without_a_group_over_the_limit_is_used_as_written():
    df = pd.DataFrame({"first_name": ["ann", "ann", "bob"], "last_name": ["lee", "lee", None]})
    cfg = UnifyConfig(blocking_rules=(("first_name", "last_name"), "l.first_name = r.last_name"), max_block=2)
    out, rules, left = capped_rules(df, cfg)
    assert rules == cfg.blocking_rules and left == {} and list(out.columns) == list(df.columns)
    # a key is null when a field is, as the rule's own equality never holds on a null
    out, rules, left = capped_rules(df, UnifyConfig(blocking_rules=(("first_name", "last_name"),), max_block=1))
    assert out["_block_0"].isna().all() and left == {"first_name+last_name": (1, 2, 1)}


@pytest.mark.slow
def test_capped_groups_run_end_to_end_incremental_and_explained(tmp_path, caplog):
    """A limit small enough to bind on a small company: the full run says what it left out, an incremental run
    blocks the new records with the saved rules' keys, and a pair's waterfall still scores."""
    company = synth.generate(n_customers=800, seed=5, months=8)
    contacts = company.tables["contacts"]
    late = contacts["created_at"] >= "2024-07-01"
    write_company_tables(tmp_path, company, contacts[~late])
    io.load(tmp_path)
    cfg = UnifyConfig(max_block=3)
    with caplog.at_level(logging.WARNING, logger="cxlib.unify"):
        full = unify.unify(tmp_path, cfg)
    assert any("left to the other blocking rules" in r.getMessage() for r in caplog.records)
    assert full.summary.loc[0, "probabilistic_merges"] > 0
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert "_block_" in ws.table("unify_model").to_pandas()["model"].iloc[0]  # the saved rules use the keys
        pair = ws.table("unify_matches").to_pandas().iloc[0]
    table, _ = unify.waterfall(tmp_path, pair["record_a"], pair["record_b"], cfg)
    assert table["match_weight"].notna().all()
    contacts.to_csv(tmp_path / "contacts.csv", index=False)
    io.load(tmp_path)
    inc = unify.unify(tmp_path, cfg, incremental=True)
    assert inc.summary.loc[0, "rows"] == full.summary.loc[0, "rows"] + int(late.sum())
