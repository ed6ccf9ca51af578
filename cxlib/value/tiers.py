"""High-value customers versus the rest, and how the tiers fall across personas.

Examples
--------
>>> import pandas as pd
>>> f = pd.DataFrame({"customer_id": list("abcd"), "monetary": [100.0, 0, 5, 10]})
>>> value_tiers(f, top=0.34).set_index("customer_id")["tier"].to_dict()
{'a': 'high', 'b': 'rest', 'c': 'rest', 'd': 'rest'}
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.schema import DataError
from cxlib.value.predicted import predicted_value

__all__ = ["persona_value_crosstab", "value_tiers"]


def value_tiers(
    features: pd.DataFrame, method: str = "observed", top: float = 0.2, horizon_months: float = 12.0
) -> pd.DataFrame:
    """High-value customers versus the rest.

    ``method="observed"`` ranks by revenue to date (``monetary``); ``"predicted"`` by the expected revenue
    over the next ``horizon_months`` (:func:`predicted_value`). The ``top`` share of customers *with
    value* are ``high``; everyone else is ``rest``. Returns ``customer_id, value, tier``.

    Examples
    --------
    >>> f = pd.DataFrame({"customer_id": list("abcde"), "monetary": [500.0, 10, 0, 20, 30]})
    >>> value_tiers(f, top=0.25)["tier"].tolist()
    ['high', 'rest', 'rest', 'rest', 'rest']
    """
    if method == "observed":
        if "monetary" not in features.columns:
            raise DataError("value_tiers(method='observed') needs the column monetary (from customer_features)")
        value = features["monetary"].astype("float64").fillna(0.0).to_numpy()
    elif method == "predicted":
        value = predicted_value(features, horizon_months)["predicted_value"].to_numpy()
    else:
        raise ValueError(f"method must be 'observed' or 'predicted', not {method!r}")
    out = pd.DataFrame({"customer_id": features["customer_id"].to_numpy(), "value": value})
    pos = value[value > 0]
    cut = np.quantile(pos, 1 - top) if len(pos) else np.inf
    out["tier"] = np.where((value > 0) & (value >= cut), "high", "rest")
    return out


def persona_value_crosstab(personas: pd.DataFrame, tiers: pd.DataFrame) -> pd.DataFrame:
    """Customers per persona and value tier, with each persona's share of the high tier and of value.

    ``personas (customer_id, persona_name)`` and ``tiers (customer_id, value, tier)`` -> one row per
    persona: ``persona_name, high, rest, high_share, value, value_share``.

    Examples
    --------
    >>> p = pd.DataFrame({"customer_id": list("abc"), "persona_name": ["X", "X", "Y"]})
    >>> t = pd.DataFrame({"customer_id": list("abc"), "value": [10.0, 0, 30], "tier": ["rest", "rest", "high"]})
    >>> persona_value_crosstab(p, t)[["persona_name", "high", "rest", "value_share"]].values.tolist()
    [['X', 0, 2, 0.25], ['Y', 1, 0, 0.75]]
    """
    m = personas[["customer_id", "persona_name"]].merge(tiers, on="customer_id")
    ct = pd.crosstab(m["persona_name"], m["tier"]).reindex(columns=["high", "rest"], fill_value=0)
    out = ct.reset_index()
    out.columns.name = None
    out["high_share"] = out["high"] / (out["high"] + out["rest"])
    val = m.groupby("persona_name")["value"].sum()
    out["value"] = out["persona_name"].map(val).astype("float64")
    total = out["value"].sum()
    out["value_share"] = out["value"] / total if total else np.nan
    return out
