"""Topics in the text: TF-IDF and non-negative matrix factorisation (scikit-learn, offline, a few seconds).

:func:`fit_topics` turns the modelled verbatims (English or undetermined language) into TF-IDF vectors and
factorises them into ``k`` topics. ``k`` is chosen by stability (:func:`choose_k`) unless given: for each
candidate, NMF is fitted on several random halves of a sample, and the topics' term vectors are matched between
fits (Hungarian assignment on cosine similarity); a ``k`` whose topics come back the same whatever the sample is
a structure of the data, not of the fit. The largest ``k`` within ``tolerance`` of the most stable is taken (a
stable coarser split is usually also available; the finer one is more useful as long as it is as stable).

Examples
--------
>>> texts = ["parcel late courier"] * 20 + ["app crash freezes"] * 20
>>> m = fit_topics(texts, n_topics=2)
>>> sorted(m.labels)
['app / crash / freezes', 'courier / late / parcel']
>>> len(set(m.assign(texts)))
2
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

# scikit-learn (and scipy's optimiser) are imported where topics are fitted, not with the package: the report's
# voice section reads the stored tables and pays nothing for them (1.5-2 s of a `cx report`)
if TYPE_CHECKING:
    from sklearn.decomposition import NMF
    from sklearn.feature_extraction.text import TfidfVectorizer

__all__ = ["TopicModel", "choose_k", "fit_topics"]

_MORE_STOP = {"hi", "hello", "dear", "team", "thanks", "thank", "regards", "kind", "please", "just", "got", "ve",
              "im", "yes", "ok"}  # fmt: skip


@functools.cache
def _stop_words() -> list[str]:
    """scikit-learn's English stop words and a helpdesk's greetings, sorted."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return sorted(ENGLISH_STOP_WORDS | _MORE_STOP)


@dataclass
class TopicModel:
    """A fitted vectoriser and NMF, with each topic's top terms and label."""

    vectorizer: TfidfVectorizer
    nmf: NMF
    terms: list[list[str]]
    stability: dict[int, float]

    @property
    def labels(self) -> list[str]:
        """A readable label per topic: its three top terms, alphabetical."""
        return [" / ".join(sorted(t[:3])) for t in self.terms]

    def weights(self, texts) -> np.ndarray:  # noqa: ANN001 - a sequence of str
        """Each text's topic weights (rows sum to 1; all zero when no known word)."""
        W = self.nmf.transform(self.vectorizer.transform(texts))
        s = W.sum(axis=1, keepdims=True)
        return np.divide(W, s, out=np.zeros_like(W), where=s > 0)

    def assign(self, texts) -> np.ndarray:  # noqa: ANN001
        """Each text's main topic (-1 when it has no known word)."""
        W = self.weights(texts)
        return np.where(W.max(axis=1) > 0, W.argmax(axis=1), -1)


def _vectorizer(n_docs: int, max_df: float = 0.5) -> TfidfVectorizer:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(
        stop_words=_stop_words(), min_df=min(5, max(1, n_docs // 200)), max_df=max_df, max_features=5000,
        sublinear_tf=True, token_pattern=r"(?u)\b[a-z][a-z]+\b", dtype=np.float32,
    )  # fmt: skip


def _fitted_vectorizer(texts: list[str]) -> tuple[TfidfVectorizer, Any]:
    """The TF-IDF vectorizer fitted on ``texts`` and their matrix. Words in more than half the texts are left
    out (they tell no topic apart), unless that leaves none: a few texts said again and again (a small helpdesk
    export) keep every word. ValueError when the texts hold no word at all."""
    for max_df in (0.5, 1.0):
        vec = _vectorizer(len(texts), max_df)
        try:
            return vec, vec.fit_transform(texts)
        except ValueError:  # sklearn: "After pruning, no terms remain" / "empty vocabulary"
            continue
    raise ValueError(
        "no word to model in the customer texts (only stop words, numbers or single letters); topics need "
        "free text such as survey comments or ticket descriptions"
    )


def _nmf(k: int, seed: int) -> NMF:
    from sklearn.decomposition import NMF

    return NMF(n_components=k, init="nndsvda", random_state=seed, max_iter=300, tol=1e-3)


def _similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine similarity of two sets of topic term vectors, best one-to-one matching."""
    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    sim = na @ nb.T
    from scipy.optimize import linear_sum_assignment

    r, c = linear_sum_assignment(-sim)
    return float(sim[r, c].mean())


def choose_k(X, candidates=range(4, 14), runs: int = 2, seed: int = 0, tolerance: float = 0.02) -> dict[int, float]:  # noqa: ANN001
    """Stability of each candidate ``k`` on TF-IDF matrix ``X`` (mean matched similarity across runs)."""
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    out = {}
    for k in candidates:
        if k >= min(n, X.shape[1]):
            break
        fits = []
        for r in range(runs):
            rows = rng.choice(n, size=max(k + 1, n // 2), replace=False)
            fits.append(_nmf(k, seed + r).fit(X[rows]).components_)
        pairs = [(i, j) for i in range(runs) for j in range(i + 1, runs)]
        out[k] = float(np.mean([_similarity(fits[i], fits[j]) for i, j in pairs]))
    return out


def _pick(stability: dict[int, float], tolerance: float) -> int:
    best = max(stability.values())
    return max(k for k, s in stability.items() if s >= best - tolerance)


def fit_topics(
    texts, n_topics: int | None = None, seed: int = 0, sample: int = 2000, tolerance: float = 0.02,  # noqa: ANN001
    candidates=range(4, 14),  # noqa: ANN001
) -> TopicModel:
    """Fit the topic model on ``texts``; ``n_topics`` overrides the choice by stability.

    The vocabulary is learnt from all texts; stability is measured on a random ``sample`` of them; the final
    NMF is fitted on all texts (deterministic for a given ``seed``).
    """
    texts = sorted(texts)  # the model depends on the texts, never on the order they come in
    if not texts:
        raise ValueError("no text to model")
    vec, X = _fitted_vectorizer(texts)
    stability: dict[int, float] = {}
    if n_topics is None:
        rng = np.random.default_rng(seed)
        rows = rng.choice(len(texts), size=min(sample, len(texts)), replace=False)
        stability = choose_k(X[np.sort(rows)], candidates, seed=seed)
        n_topics = _pick(stability, tolerance) if stability else 2
    n_topics = max(1, min(n_topics, X.shape[0], X.shape[1]))
    nmf = _nmf(n_topics, seed).fit(X)
    vocab = np.array(vec.get_feature_names_out())
    terms = [list(vocab[np.argsort(-row)[:8]]) for row in nmf.components_]
    return TopicModel(vec, nmf, terms, stability)
