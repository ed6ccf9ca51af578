"""Customer value (cxlib.value, re-exported by cxlib.personas): BG/NBD recovers known parameters, tiers on
the test company, predicted value against the revenue of the next year."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import cxlib
from cxlib import personas, value

# --- value ----------------------------------------------------------------------------------------------------------


def _simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> pd.DataFrame:
    """Customers from the BG/NBD story: Poisson purchases at a gamma rate, dropout after each repeat purchase."""
    rng = np.random.default_rng(seed)
    lam, p, T = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n), rng.uniform(6, 24, n)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while (t := t + rng.exponential(1 / lam[i])) <= T[i]:
            x[i], tx[i] = x[i] + 1, t
            if rng.random() < p[i]:
                break
    spend = rng.gamma(3, 10, n)
    day = 30.4375
    return pd.DataFrame(
        {
            "customer_id": np.arange(n).astype(str),
            "frequency": x + 1,
            "monetary": (x + 1) * spend,
            "days_since_first_order": T * day,
            "days_since_order": (T - tx) * day,
        }
    )


def test_bgnbd_recovers_known_parameters():
    pv = personas.predicted_value(_simulate_bgnbd(3000, r=0.8, alpha=2.0, a=1.2, b=3.5, seed=0))
    got = pv.attrs["params"]
    for name, true in {"r": 0.8, "alpha": 2.0, "a": 1.2, "b": 3.5}.items():
        assert got[name] == pytest.approx(true, rel=0.25), name


def test_value_tiers_observed_and_predicted(workspace):
    with cxlib.connect(workspace, read_only=True) as ws:
        f = personas.customer_features(ws, anonymous=False)
    obs = personas.value_tiers(f, "observed", top=0.2)
    buyers = f["monetary"] > 0
    assert obs.loc[buyers.to_numpy(), "tier"].eq("high").mean() == pytest.approx(0.2, abs=0.01)
    assert (obs.loc[~buyers.to_numpy(), "tier"] == "rest").all()
    pred = personas.value_tiers(f, "predicted")
    assert (pred["value"] >= 0).all() and (pred.loc[(f["frequency"] == 0).to_numpy(), "value"] == 0).all()
    lab = pd.DataFrame({"customer_id": f["customer_id"], "persona_name": np.where(f["share_app"] > 0.2, "A", "B")})
    ct = personas.persona_value_crosstab(lab, obs)
    assert ct[["high", "rest"]].to_numpy().sum() == len(f) and ct["value_share"].sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_predicted_value_beats_past_revenue_on_the_next_year(workspace):
    """Fit on the first 12 months, predict the next 12: ranks future revenue better than past revenue does."""
    from scipy.stats import spearmanr

    with cxlib.connect(workspace, read_only=True) as ws:
        tp = ws.table("touchpoints")
        end = pd.Timestamp(tp.ts.max().execute())
        cut = end - pd.DateOffset(months=12)
        f = personas.customer_features(ws, as_of=cut, anonymous=False)
        done = tp.filter((tp.table_name == "orders") & (tp.ts > cut) & (tp.status == "completed"))
        future = done.group_by("customer_id").aggregate(future=done.amount.sum()).to_pandas()
    pv = personas.predicted_value(f).merge(future, on="customer_id", how="left").fillna({"future": 0.0})
    b = pv[(f["frequency"] > 0).to_numpy()]
    rho_pred = spearmanr(b["predicted_value"], b["future"]).statistic
    rho_past = spearmanr(f.loc[f["frequency"] > 0, "monetary"], b["future"]).statistic
    assert rho_pred > rho_past and rho_pred > 0.45
    assert b["predicted_value"].sum() == pytest.approx(b["future"].sum(), rel=0.25)


def test_personas_re_exports_the_value_functions():
    for name in ("predicted_value", "value_tiers", "persona_value_crosstab"):
        assert getattr(personas, name) is getattr(value, name)
