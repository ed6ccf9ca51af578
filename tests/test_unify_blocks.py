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


def test_a_rule_over_its_pair_budget_leaves_out_its_largest_groups_whatever_the_order():
    """``max_block_pairs``: a rule's pairs kept within that many per record by leaving out its largest groups (all
    groups of one size together), the small ones scored; ``None`` leaves every group under ``max_block``."""
    sizes = {"a": 12, "b": 6, "c": 6, "d": 3, "e": 1}  # 66 + 15 + 15 + 3 pairs among 28 records
    df = pd.DataFrame({"first_name": [k for k, n in sizes.items() for _ in range(n)], "last_name": "x"})
    rules = (("first_name", "last_name"),)
    for order in (df, df.sample(frac=1, random_state=3)):
        out, _, left = capped_rules(order, UnifyConfig(blocking_rules=rules, max_block=100, max_block_pairs=2.0))
        # 56 pairs allowed: a's 66 are not, b and c's 30 and d's 3 are
        assert set(out.loc[out["_block_0"].isna(), "first_name"]) == {"a"}
        assert left == {"first_name+last_name": (1, 12, 66)}
    _, _, left = capped_rules(df, UnifyConfig(blocking_rules=rules, max_block=100, max_block_pairs=1.0))
    assert left == {"first_name+last_name": (3, 24, 96)}  # 28 allowed: the groups of 6 go too, d's 3 stay
    out, kept, left = capped_rules(df, UnifyConfig(blocking_rules=rules, max_block=100, max_block_pairs=None))
    assert kept == rules and left == {}


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
