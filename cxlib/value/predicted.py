"""Predicted customer value: expected purchases (BG/NBD) times expected spend per order (Gamma-Gamma).

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"customer_id": ["a", "b"], "frequency": [0.0, 3.0], "monetary": [0.0, 90.0],
...                   "days_since_order": [None, 10.0], "days_since_first_order": [None, 200.0]})
>>> predicted_value(f)["predicted_value"].tolist()  # fewer than 5 buyers: no fit, everyone 0
[0.0, 0.0]
"""

from __future__ import annotations

import pandas as pd

from cxlib.schema import DataError
from cxlib.value import bgnbd, gamma_gamma

__all__ = ["MONTH_DAYS", "predicted_value"]

#: Days in the average month: the time unit of the value models.
MONTH_DAYS = 30.4375

_NEEDS = ["customer_id", "frequency", "monetary", "days_since_order", "days_since_first_order"]


def predicted_value(features: pd.DataFrame, horizon_months: float = 12.0) -> pd.DataFrame:
    """Expected purchases and revenue over the next ``horizon_months``: BG/NBD + Gamma-Gamma.

    ``customer_id, frequency, monetary, days_since_order, days_since_first_order -> customer_id,
    expected_orders, expected_order_value, predicted_value``. BG/NBD (Fader, Hardie & Lee, 2005) models
    repeat purchases (``x = frequency - 1``) while a customer is alive, with time of the last purchase
    ``t_x`` and age ``T`` since the first, in months; Gamma-Gamma (Fader, Hardie & Lee, 2005) the mean spend
    of customers with repeat purchases. Both are fitted by maximum likelihood with scipy. Customers
    without a completed order are predicted 0 (they are prospects, not customers, for this model). The
    fitted parameters are in ``result.attrs["params"]``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> n = 300
    >>> first = rng.uniform(60, 700, n)
    >>> freq = rng.poisson(first / 60) + 1
    >>> f = pd.DataFrame({"customer_id": [str(i) for i in range(n)], "frequency": freq.astype(float),
    ...                   "monetary": freq * rng.gamma(5, 10, n), "days_since_first_order": first,
    ...                   "days_since_order": first * rng.uniform(0, 0.5, n)})
    >>> pv = predicted_value(f)
    >>> bool((pv["predicted_value"] >= 0).all()), sorted(pv.attrs["params"])
    (True, ['a', 'alpha', 'b', 'p', 'q', 'r', 'v'])
    """
    missing = [c for c in _NEEDS if c not in features.columns]
    if missing:
        raise DataError(f"predicted_value needs column(s) {', '.join(missing)} (from customer_features)")
    f = features[_NEEDS].copy()
    buyer = (f["frequency"] > 0) & f["days_since_first_order"].notna()
    b = f[buyer]
    x = (b["frequency"].to_numpy() - 1).clip(0)
    T = (b["days_since_first_order"].to_numpy() / MONTH_DAYS).clip(1e-3)
    tx = (T - b["days_since_order"].to_numpy() / MONTH_DAYS).clip(0)
    out = pd.DataFrame({"customer_id": f["customer_id"], "expected_orders": 0.0, "expected_order_value": 0.0})
    if len(b) < 5:
        out["predicted_value"] = 0.0
        out.attrs["params"] = {}
        return out
    purchases = bgnbd.fit(x, tx, T)
    exp_orders = bgnbd.expected_purchases(purchases, x, tx, T, horizon_months)
    mean_spend = (b["monetary"].to_numpy() / b["frequency"].to_numpy()).clip(1e-6)
    rep = x > 0
    spend_params = gamma_gamma.fit(x[rep], mean_spend[rep])
    spend = gamma_gamma.expected_spend(spend_params, x, mean_spend)
    out.loc[buyer.to_numpy(), "expected_orders"] = exp_orders
    out.loc[buyer.to_numpy(), "expected_order_value"] = spend
    out["predicted_value"] = out["expected_orders"] * out["expected_order_value"]
    out.attrs["params"] = {**purchases, **spend_params}
    return out
