"""Gamma-Gamma: the mean spend per order of customers with repeat purchases (Fader, Hardie & Lee, 2005).

A customer's order values are gamma(p, nu) with nu drawn from a gamma(q, v); given ``x`` repeat
purchases at mean value ``m``, the expected spend per order shrinks ``m`` towards the population mean.
Fitted by maximum likelihood with scipy (L-BFGS-B on bounded log-parameters).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.integers(1, 6, 200).astype(float)
>>> m = rng.gamma(4, 10, 200)
>>> params = fit(x, m)
>>> sorted(params), bool((expected_spend(params, x, m) > 0).all())
(['p', 'q', 'v'], True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["expected_spend", "fit"]

#: Starting point of the fit (p, q, v).
START = (2.0, 3.0, 20.0)
#: Bounds of the log-parameters.
LOG_BOUNDS = (-6.0, 9.0)


def _gg_ll(params: np.ndarray, x: np.ndarray, m: np.ndarray) -> float:
    """Minus the Gamma-Gamma log-likelihood at log-parameters ``params`` (log p, log q, log v)."""
    from scipy.special import gammaln

    p, q, v = np.exp(params)
    ll = (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )
    return -float(np.sum(ll))


def fit(x: np.ndarray, m: np.ndarray) -> dict[str, float]:
    """Maximum-likelihood parameters ``p, q, v`` from repeat purchases ``x > 0`` and mean order values ``m``."""
    from scipy.optimize import minimize

    res = minimize(_gg_ll, np.log(list(START)), args=(x, m), method="L-BFGS-B", bounds=[LOG_BOUNDS] * 3)
    p, q, v = np.exp(res.x)
    return {"p": p, "q": q, "v": v}


def expected_spend(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Expected spend per order: shrunk mean ``m`` with repeat purchases, the population mean without.

    Without a repeat purchase (``x == 0``) the population mean ``p v / (q - 1)`` is used (``m`` itself
    when ``q <= 1``, where that mean does not exist).
    """
    p, q, v = params["p"], params["q"], params["v"]
    rep = x > 0
    return np.where(rep, p * (v + x * m) / (p * x + q - 1), p * v / (q - 1) if q > 1 else m)
