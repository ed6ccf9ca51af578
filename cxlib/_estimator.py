"""scikit-learn's estimator conventions without importing scikit-learn: ``get_params``, ``set_params``, the
repr and the not-fitted error, for fitted things whose module every step imports.

Importing ``sklearn`` at all takes 1.5-1.9 s (its package imports ``scipy.stats``), which every ``cx simulate``,
``cx report`` and strategy page paid for :class:`~cxlib.simulate.JourneyModel`'s base class alone. An
:class:`Estimator` behaves as scikit-learn's ``BaseEstimator`` does for these: its parameters are the
arguments of its ``__init__``, stored as attributes of the same name; ``sklearn.base.clone`` copies one.

Examples
--------
>>> class Model(Estimator):
...     def __init__(self, alpha=1.0, by=None):
...         self.alpha, self.by = alpha, by
>>> m = Model(alpha=2.0)
>>> m
Model(alpha=2.0)
>>> m.set_params(by="persona").get_params()
{'alpha': 2.0, 'by': 'persona'}
>>> check_fitted(m, "coef_")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
sklearn.exceptions.NotFittedError: This Model instance is not fitted yet. Call 'fit' ...
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["Estimator", "check_fitted"]


class Estimator:
    """Parameters, ``get_params``/``set_params`` and the repr of a scikit-learn estimator (see the module)."""

    @classmethod
    def _get_param_names(cls) -> list[str]:
        """The arguments of ``__init__`` (sorted, as scikit-learn lists them)."""
        sig = inspect.signature(cls.__init__)
        kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self" and p.kind not in kinds)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The parameters by name (with ``deep``, those of parameters that are estimators too, as ``a__b``)."""
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Set parameters by name (``a__b`` reaches a nested estimator's); returns the estimator."""
        valid = self._get_param_names()
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"Invalid parameter {name!r} for estimator {self!r}. Valid parameters are: {valid!r}.")
            if sub:
                getattr(self, name).set_params(**{sub: value})
            else:
                setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        """``Name(param=value, ...)`` with the parameters that differ from their defaults, as scikit-learn shows."""
        sig = inspect.signature(type(self).__init__).parameters
        changed = []
        for name in self._get_param_names():
            value, default = getattr(self, name), sig[name].default
            same = value is default
            if not same:
                try:
                    same = bool(value == default)
                except Exception:  # noqa: BLE001 - arrays and frames: shown
                    same = False
            if not same:
                changed.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(changed)})"


def check_fitted(estimator: Any, attribute: str) -> None:
    """Raise scikit-learn's ``NotFittedError`` (a ``ValueError`` and ``AttributeError``) unless ``estimator`` has
    ``attribute``; scikit-learn is imported only then."""
    if hasattr(estimator, attribute):
        return
    from sklearn.exceptions import NotFittedError

    raise NotFittedError(
        f"This {type(estimator).__name__} instance is not fitted yet. Call 'fit' with appropriate arguments "
        "before using this estimator."
    )
