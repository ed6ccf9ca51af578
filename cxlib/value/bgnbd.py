"""BG/NBD: how many purchases a customer will make while still alive (Fader, Hardie & Lee, 2005).

Each customer buys at a Poisson rate drawn from a gamma(r, alpha) and, after each repeat purchase, drops
out with a probability drawn from a beta(a, b). Data per customer: ``x`` repeat purchases, the time
``tx`` of the last one and the age ``T`` since the first (any time unit; cxlib uses months). The four
parameters are fitted by maximum likelihood with scipy (L-BFGS-B on bounded log-parameters).

Examples
--------
>>> import numpy as np
>>> x, tx, T = np.array([0.0, 2, 5, 1]), np.array([0.0, 4, 10, 2]), np.array([12.0, 12, 12, 6])
>>> params = fit(x, tx, T)
>>> sorted(params), bool((expected_purchases(params, x, tx, T, 12.0) >= 0).all())
(['a', 'alpha', 'b', 'r'], True)
"""

from __future__ import annotations

import numpy as np

__all__ = ["expected_purchases", "fit"]

#: Starting point of the fit (r, alpha, a, b).
START = (1.0, 1.0, 1.5, 3.0)
#: Bounds of the log-parameters: far out (a, b > 1e5) the Beta-function differences cancel catastrophically
#: and the likelihood looks spuriously high.
LOG_BOUNDS = (-6.0, 6.0)


def _bgnbd_ll(params: np.ndarray, x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray | None = None) -> float:
    """Minus the BG/NBD log-likelihood at log-parameters ``params`` (log r, log alpha, log a, log b); with
    ``w``, each ``(x, tx, T)`` stands for ``w`` customers."""
    from scipy.special import betaln, gammaln

    r, alpha, a, b = np.exp(params)
    base = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    A = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        B = np.where(
            x > 0,
            betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b) - (r + x) * np.log(alpha + tx),
            -np.inf,
        )
    ll = base + np.logaddexp(A, B)
    return -float(np.sum(ll if w is None else w * ll))


def fit(x: np.ndarray, tx: np.ndarray, T: np.ndarray) -> dict[str, float]:
    """Maximum-likelihood parameters ``r, alpha, a, b`` for repeat purchases ``x`` at ``tx`` over ages ``T``."""
    from scipy.optimize import minimize

    bounds = [LOG_BOUNDS] * 4
    # the likelihood is a sum over customers: customers with the same (x, tx, T) are counted once, weighted by
    # how many they are (in months they repeat: the 100k backtest's 26,693 buyers hold 1,399 distinct ones, and
    # the fit takes 0.06 s instead of 0.77)
    same, n = np.unique(np.column_stack([x, tx, T]).astype(float), axis=0, return_counts=True)
    args = (same[:, 0], same[:, 1], same[:, 2], n.astype(float))
    res = minimize(_bgnbd_ll, np.log(list(START)), args=args, method="L-BFGS-B", bounds=bounds)
    r, alpha, a, b = np.exp(res.x)
    return {"r": r, "alpha": alpha, "a": a, "b": b}


def expected_purchases(
    params: dict[str, float], x: np.ndarray, tx: np.ndarray, T: np.ndarray, horizon: float
) -> np.ndarray:
    """Expected purchases of each customer over the next ``horizon`` (same time unit as ``tx`` and ``T``)."""
    from scipy.special import hyp2f1

    r, alpha, a, bb = params["r"], params["alpha"], params["a"], params["b"]
    t = horizon
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        num = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, bb + x, a + bb + x - 1, z)
        num *= (a + bb + x - 1) / (a - 1)
        den = 1 + (x > 0) * (a / (bb + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + tx)) ** (r + x)
    return np.nan_to_num(num / den, nan=0.0, posinf=0.0).clip(0)
