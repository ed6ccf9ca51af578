"""Unify on splink's own labelled example data, ``fake_1000`` (``tests/data``: 1,000 person records of 251
people with typos, swapped names, mangled birth dates, missing fields and e-mail typos): default settings,
against the truth. Plain splink with the settings of its own documented example reaches pairwise F1 0.60
on it (``benchmarks/bench_splink_data.py``); unify must stay clearly above that and precise."""

from __future__ import annotations

from pathlib import Path

import cxlib
from cxlib import unify
from cxlib.unify.splink_data import write_splink_data

from .io_helpers import unified_quality

DATA = Path(__file__).parent / "data" / "splink_fake_1000.csv"


def test_fake_1000_quality(tmp_path):
    result, q = unified_quality(tmp_path, write_splink_data(tmp_path, DATA))
    # 0.684 before a record could join a customer already holding its birth date, and e-mail holders could
    # join through a chain of their own matches; plain splink 0.60 (its best threshold 0.62)
    assert q["pairwise_precision"] >= 0.99 and q["pairwise_f1"] >= 0.74, q.to_dict()
    assert q["largest_customer_persons"] == 1
    # every scored pair says what became of it; some strong ones were refused by a guard, and say which
    with cxlib.connect(tmp_path, read_only=True) as ws:
        matches = ws.table("unify_matches").to_pandas()
    assert (matches["accepted"] == (matches["decision"] == "merged")).all()
    refused = matches[matches["decision"].str.startswith("refused")]
    assert len(refused) and (refused["match_probability"] >= 0.95).all()
    assert result.summary.loc[0, "refused_merges"] == len(refused)
    assert f"{len(refused)} more scored at the threshold or above, refused" in str(result)
    assert set(matches["decision"]) <= {
        "merged",
        "below the threshold",
        "refused: conflicting birth dates",
        "refused: each holds its own e-mail or phone",
    }
    near = unify.doubtful_pairs(tmp_path, n=10)
    assert "decision" in near and near.loc[near["accepted"], "decision"].eq("merged").all()
