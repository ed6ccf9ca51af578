"""Customer value: who is worth most now, and who will be over the next months.

- :mod:`cxlib.value.bgnbd` -- BG/NBD: expected purchases while a customer is alive.
- :mod:`cxlib.value.gamma_gamma` -- Gamma-Gamma: expected spend per order.
- :func:`predicted_value` -- the two together: expected revenue over a horizon (12 months by default).
- :func:`value_tiers` -- high-value customers versus the rest, by observed or predicted value;
  :func:`persona_value_crosstab` crosses the tiers with personas.

The inputs are the columns of :func:`cxlib.personas.customer_features` (``frequency``, ``monetary``,
``days_since_order``, ``days_since_first_order``); the functions are also importable from
:mod:`cxlib.personas`. No dependency beyond numpy, scipy and pandas.

Examples
--------
>>> import pandas as pd
>>> from cxlib import value
>>> f = pd.DataFrame({"customer_id": list("abc"), "monetary": [300.0, 0.0, 20.0]})
>>> value.value_tiers(f, top=0.5)["tier"].tolist()
['high', 'rest', 'rest']
"""

from __future__ import annotations

from cxlib.value import bgnbd, gamma_gamma
from cxlib.value.predicted import MONTH_DAYS, predicted_value
from cxlib.value.tiers import persona_value_crosstab, value_tiers

__all__ = ["MONTH_DAYS", "bgnbd", "gamma_gamma", "persona_value_crosstab", "predicted_value", "value_tiers"]
