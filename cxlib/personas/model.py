"""The persona model: a scikit-learn estimator that clusters behavioural features into personas.

Preprocessing for skewed behavioural data (median imputation, signed ``log1p`` of right-skewed columns,
standardisation), then k-means or a diagonal Gaussian mixture; with ``n_personas="auto"`` the number of
personas is chosen by the one-standard-error rule on the mean silhouette (:func:`_choose_k`).

Examples
--------
>>> import numpy as np, pandas as pd
>>> X = pd.DataFrame({"x": [0.0, 0.1, 0.2, 5.0, 5.1, 5.2]})
>>> PersonaModel(k_range=(2, 3), random_state=0).fit(X).n_personas_
2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

try:
    from sklearn.base import BaseEstimator, ClusterMixin, TransformerMixin
except ImportError as e:  # pragma: no cover - scikit-learn ships with the notebooks extra
    raise ImportError("cxlib.personas needs scikit-learn: pip install -e .[notebooks]") from e

from cxlib.personas.features import MODEL_FEATURES
from cxlib.personas.profiles import numeric_columns as _numeric_columns
from cxlib.personas.profiles import profile_table
from cxlib.schema import DataError

__all__ = ["PersonaModel"]

_SILHOUETTE_N = 4_000  # customers the silhouette is computed on (it is quadratic in their number)


def _silhouette_sample(Z: np.ndarray, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The rows the silhouette is computed on (``n`` of ``Z``'s, drawn by ``rng``) and their pairwise
    distances: the same for every k of a sweep, so computed once (the distances were most of the work: six ks on
    4,000 rows, 0.99 -> 0.36 s; the silhouettes are the same to the last bit)."""
    from sklearn.metrics import pairwise_distances

    idx = rng.choice(len(Z), size=min(n, len(Z)), replace=False)
    return idx, pairwise_distances(Z[idx])


def _silhouette(labels: np.ndarray, sample: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """Mean silhouette of ``labels`` on the rows of ``sample`` (:func:`_silhouette_sample`), and its standard
    error."""
    from sklearn.metrics import silhouette_samples

    nan = (float("nan"), float("nan"))
    idx, dist = sample
    if len(np.unique(labels)) < 2 or len(np.unique(labels)) >= len(labels):
        return nan
    if len(np.unique(labels[idx])) < 2 or len(np.unique(labels[idx])) >= len(idx):
        return nan
    s = silhouette_samples(dist, labels[idx], metric="precomputed")
    return float(s.mean()), float(s.std() / np.sqrt(len(s)))


class PersonaModel(ClusterMixin, TransformerMixin, BaseEstimator):
    """Personas by clustering behavioural features, with the number of personas chosen from the data.

    A scikit-learn estimator (``fit``, ``predict``, ``fit_predict``, ``transform``). ``fit`` accepts any
    frame (or array) of numeric features. Preprocessing suits skewed behavioural data: missing values take
    the column's median, columns skewed to the right (skewness above 1 at fit) go through a signed
    ``log1p``, and every column is standardised. Then k-means (default) or a Gaussian mixture with
    diagonal covariances clusters the customers.

    With ``n_personas="auto"`` every k in ``k_range`` is fitted (on a random subsample of at most
    ``selection_sample`` customers) and scored by its **mean silhouette** (on 4,000 of them): how much
    closer each customer is to their own persona than to the next. The choice is the smallest k whose
    silhouette is within one standard error of the highest (the one-standard-error rule: near-ties go to
    fewer, easier-to-act-on personas). The chosen k is then refitted on all customers, starting from the
    subsample's centres. The curve is in ``selection_`` (with k-means' inertia and, for ``method="gmm"``,
    the BIC).

    Parameters
    ----------
    n_personas : int or "auto"
        Number of personas, or ``"auto"`` to choose over ``k_range``.
    method : {"kmeans", "gmm"}
        Clustering algorithm.
    features : sequence of str, optional
        Columns to cluster on. Default: :data:`MODEL_FEATURES` when a frame has them all (the output of
        :func:`customer_features`), otherwise every numeric column. Other columns of a frame are kept
        for the profiles only.
    k_range : tuple of int
        Smallest and largest number of personas tried with ``"auto"`` (inclusive).
    log_skewed : bool
        Apply the signed ``log1p`` to right-skewed columns.
    n_init : int
        Restarts of the clustering algorithm (the best is kept).
    selection_sample : int
        Customers the sweep over ``k_range`` is fitted on (a random subsample when there are more).
    value_column : str
        Column holding each customer's value (revenue), for the profiles' value and revenue share.
    random_state : int, optional
        Seed of the clustering and of the silhouette sample.

    Attributes
    ----------
    n_personas_ : int
        The number of personas found.
    labels_ : ndarray
        Persona of each customer the model was fitted on (0 .. n_personas_ - 1, ordered by size).
    cluster_centers_ : ndarray
        Persona centres in the transformed space (what :func:`assign` measures distances to).
    selection_ : DataFrame
        ``k, silhouette, silhouette_se, inertia`` (and ``bic`` for the Gaussian mixture): the curve over
        ``k_range``.
    profiles_ : DataFrame
        One row per persona: see :meth:`profile`.
    names_ : list of str
        Short names of the personas.
    feature_names_in_ : ndarray
        Columns clustered on (when fitted on a frame).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"orders_per_month": np.r_[rng.gamma(2, 0.1, 60), rng.gamma(20, 0.1, 60)],
    ...                   "tickets_per_month": np.r_[rng.gamma(20, 0.05, 60), rng.gamma(1, 0.05, 60)]})
    >>> model = PersonaModel(k_range=(2, 4), random_state=0).fit(X)
    >>> model.n_personas_, model.selection_["k"].tolist()
    (2, [2, 3, 4])
    >>> model.profiles_["size"].tolist()
    [60, 60]
    >>> bool((model.predict(X) == model.labels_).all())
    True
    """

    def __init__(
        self,
        n_personas: int | str = "auto",
        method: str = "kmeans",
        features: Sequence[str] | None = None,
        k_range: tuple[int, int] = (2, 10),
        log_skewed: bool = True,
        n_init: int = 10,
        selection_sample: int = 20_000,
        value_column: str = "monetary",
        random_state: int | None = None,
    ) -> None:
        self.n_personas = n_personas
        self.method = method
        self.features = features
        self.k_range = k_range
        self.log_skewed = log_skewed
        self.n_init = n_init
        self.selection_sample = selection_sample
        self.value_column = value_column
        self.random_state = random_state

    def __sklearn_tags__(self):  # noqa: D105 - missing values are imputed
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        return tags

    # -- preprocessing

    def _columns(self, X: pd.DataFrame) -> list[str]:
        if self.features is not None:
            missing = [c for c in self.features if c not in X.columns]
            if missing:
                raise DataError(f"the features frame lacks column(s) {', '.join(map(str, missing))}")
            return list(self.features)
        if all(c in X.columns for c in MODEL_FEATURES):
            return list(MODEL_FEATURES)
        return _numeric_columns(X)

    def _matrix(self, X: Any, fitting: bool) -> np.ndarray:
        from sklearn.utils.validation import check_array

        if isinstance(X, pd.DataFrame):
            if fitting:
                cols = self._columns(X)
                self.feature_names_in_ = np.asarray(cols, dtype=object)
            elif hasattr(self, "feature_names_in_"):
                missing = [c for c in self.feature_names_in_ if c not in X.columns]
                if missing:
                    raise ValueError(f"X lacks the feature(s) the model was fitted on: {', '.join(missing)}")
                cols = list(self.feature_names_in_)
            else:
                cols = list(X.columns)
            X = X[cols].astype("float64")
        elif fitting and hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        A = check_array(X, dtype="float64", ensure_all_finite="allow-nan", ensure_min_samples=2 if fitting else 1)
        if fitting:
            self.n_features_in_ = A.shape[1]
        elif A.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {A.shape[1]} features, but PersonaModel is expecting {self.n_features_in_} features as input."
            )
        if not np.isfinite(A[~np.isnan(A)]).all():
            raise ValueError("Input X contains infinity or a value too large.")
        return A

    def _fit_transform_params(self, A: np.ndarray) -> None:
        med = np.nanmedian(np.where(np.isnan(A), np.nan, A), axis=0) if len(A) else np.zeros(A.shape[1])
        self.impute_ = np.where(np.isnan(med), 0.0, med)
        B = np.where(np.isnan(A), self.impute_, A)
        if self.log_skewed:
            from scipy.stats import skew

            with np.errstate(all="ignore"):
                sk = np.nan_to_num(skew(B, axis=0), nan=0.0)
            self.log_columns_ = sk > 1.0
        else:
            self.log_columns_ = np.zeros(A.shape[1], dtype=bool)
        B = self._log(B)
        self.mean_ = B.mean(axis=0)
        sd = B.std(axis=0)
        self.scale_ = np.where(sd > 1e-12, sd, 1.0)

    def _log(self, B: np.ndarray) -> np.ndarray:
        B = B.copy()
        m = self.log_columns_
        B[:, m] = np.sign(B[:, m]) * np.log1p(np.abs(B[:, m]))
        return B

    def transform(self, X: Any) -> np.ndarray:
        """The features as the clustering sees them: imputed, signed-log where skewed, standardised."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "cluster_centers_")
        A = self._matrix(X, fitting=False)
        return self._scaled(A)

    def _scaled(self, A: np.ndarray) -> np.ndarray:
        B = np.where(np.isnan(A), self.impute_, A)
        return (self._log(B) - self.mean_) / self.scale_

    # -- clustering

    def _cluster(self, Z: np.ndarray, k: int, seed: int, start: Any = None) -> Any:
        """Fit k clusters; ``start`` (a fitted estimator) gives the initial centres and a single run."""
        if self.method == "kmeans":
            from sklearn.cluster import KMeans

            if start is not None:
                return KMeans(n_clusters=k, init=start.cluster_centers_, n_init=1, random_state=seed).fit(Z)
            return KMeans(n_clusters=k, n_init=self.n_init, random_state=seed).fit(Z)
        if self.method == "gmm":
            from sklearn.mixture import GaussianMixture

            n_init = 1 if start is not None else max(1, min(self.n_init, 3))
            means = start.means_ if start is not None else None
            return GaussianMixture(
                k, covariance_type="diag", n_init=n_init, random_state=seed, reg_covar=1e-4, means_init=means
            ).fit(Z)
        raise ValueError(f"method must be 'kmeans' or 'gmm', not {self.method!r}")

    def fit(self, X: Any, y: Any = None) -> PersonaModel:
        """Fit the preprocessing and the personas on ``X`` (customers x features); ``y`` is ignored."""
        from threadpoolctl import threadpool_limits

        # One OpenMP thread: the many short k-means runs of the sweep gain little from threads, and on a
        # busy 2-core machine thread contention made a 41,000-customer fit take 41 s instead of 2.7 s.
        with threadpool_limits(limits=1, user_api="openmp"):
            return self._fit(X)

    def _fit(self, X: Any) -> PersonaModel:
        frame = X if isinstance(X, pd.DataFrame) else None
        A = self._matrix(X, fitting=True)
        self._fit_transform_params(A)
        Z = self._scaled(A)
        rng = np.random.default_rng(self.random_state)
        seed = int(rng.integers(2**31 - 1))
        ks = self._candidate_ks(Z)
        # the sweep over k runs on a subsample (the choice needs shape, not every customer); the chosen k is
        # then refitted on everything
        sweep = Z
        if len(ks) > 1 and len(Z) > self.selection_sample:
            sweep = Z[np.random.default_rng(seed).choice(len(Z), size=self.selection_sample, replace=False)]
        self.selection_, fits = self._sweep(sweep, ks, seed)
        best = _choose_k(self.selection_, ks)
        # refit on everyone from the sweep's centres: one run, converges in a few iterations
        est = fits[best] if sweep is Z else self._cluster(Z, best, seed, start=fits[best])
        self._set_centres(est, Z)
        self.labels_ = self._predict_scaled(Z)
        self.n_personas_ = len(self.cluster_centers_)
        prof_frame = frame if frame is not None else pd.DataFrame(A, columns=[f"x{i}" for i in range(A.shape[1])])
        self.profiles_ = self.profile(prof_frame, self.labels_)
        self.names_ = self.profiles_["name"].tolist()
        return self

    def _candidate_ks(self, Z: np.ndarray) -> list[int]:
        """The numbers of personas to try: ``k_range`` below the number of distinct rows, or the fixed k."""
        n_distinct = len(np.unique(Z, axis=0))
        if self.n_personas == "auto":
            lo, hi = self.k_range
            ks = [k for k in range(max(2, lo), hi + 1) if k < n_distinct]
            return ks or [max(1, min(lo, n_distinct))]
        if isinstance(self.n_personas, int | np.integer) and self.n_personas >= 1:
            return [int(min(self.n_personas, len(Z)))]
        raise ValueError(f"n_personas must be a positive int or 'auto', not {self.n_personas!r}")

    def _sweep(self, Z: np.ndarray, ks: list[int], seed: int) -> tuple[pd.DataFrame, dict[int, Any]]:
        """Fit every k in ``ks`` on ``Z``: the selection curve and the fitted estimators by k."""
        rows, fits = [], {}
        sample = _silhouette_sample(Z, _SILHOUETTE_N, np.random.default_rng(seed))  # the same rows for every k
        for k in ks:
            est = self._cluster(Z, k, seed)
            labels = est.predict(Z)
            fits[k] = est
            sil, se = _silhouette(labels, sample)
            row = {"k": k, "silhouette": sil, "silhouette_se": se}
            row["inertia"] = float(getattr(est, "inertia_", np.nan))
            if self.method == "gmm":
                row["bic"] = float(est.bic(Z))
            rows.append(row)
        return pd.DataFrame(rows), fits

    def _set_centres(self, est: Any, Z: np.ndarray) -> None:
        """Store the centres (and, for a mixture, variances and weights), personas numbered by size."""
        labels = est.predict(Z)
        k = est.n_components if self.method == "gmm" else est.n_clusters
        counts = np.bincount(labels, minlength=k)
        order = np.argsort(-counts, kind="stable")
        if self.method == "gmm":
            self.cluster_centers_ = est.means_[order]
            self.variances_ = est.covariances_[order]
            self.weights_ = est.weights_[order]
        else:
            self.cluster_centers_ = est.cluster_centers_[order]

    def _scores(self, Z: np.ndarray) -> np.ndarray:
        """Per persona, a score to minimise: squared distance (k-means) or minus the log density (mixture)."""
        diff = Z[:, None, :] - self.cluster_centers_[None, :, :]
        if self.method == "gmm":
            v = self.variances_[None, :, :]
            return 0.5 * (np.log(v) + diff**2 / v).sum(axis=2) - np.log(self.weights_)[None, :]
        return (diff**2).sum(axis=2)

    def _predict_scaled(self, Z: np.ndarray) -> np.ndarray:
        return np.argmin(self._scores(Z), axis=1)

    def predict(self, X: Any) -> np.ndarray:
        """The persona (0 .. n_personas_ - 1) of each row of ``X``."""
        return self._predict_scaled(self.transform(X))

    def fit_predict(self, X: Any, y: Any = None) -> np.ndarray:
        """Fit on ``X`` and return ``labels_``."""
        return self.fit(X).labels_

    # -- profiles

    def profile(self, X: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
        """Describe personas: size, share, value, revenue share, what sets each apart, stage mix, name.

        ``X`` is any frame of customers (its numeric columns are compared; ``stage`` and ``share_*``
        columns give the stage mix and main channels) and ``labels`` their personas. Effect sizes are
        Cohen's d of each numeric column, persona versus the rest (difference of means over the pooled
        standard deviation); ``|d| >= 0.5`` is a medium effect, ``0.8`` a large one.

        Returns ``persona, name, description, size, share, value, revenue_share, distinguishing,
        main_channels, stage_mix`` and one ``d_<feature>`` column per numeric feature.
        """
        k = self.n_personas_ if hasattr(self, "n_personas_") else np.asarray(labels).max() + 1
        return profile_table(X, labels, k, self.value_column)


def _choose_k(selection: pd.DataFrame, ks: list[int]) -> int:
    """The number of personas: the fewest whose silhouette is within one standard error of the best.

    k = 5 and k = 6 were within 0.001 of each other on generated companies, and the smaller set of personas
    is the one people can act on. With one candidate, or no silhouette at all, the first candidate.

    Examples
    --------
    >>> sel = pd.DataFrame({"k": [2, 3, 4], "silhouette": [0.30, 0.41, 0.42], "silhouette_se": [0.01] * 3})
    >>> _choose_k(sel, [2, 3, 4])
    3
    """
    if len(ks) == 1 or selection["silhouette"].isna().all():
        return ks[0]
    top = selection.loc[selection["silhouette"].idxmax()]
    return int(selection.loc[selection["silhouette"] >= top["silhouette"] - top["silhouette_se"], "k"].min())
