"""Persona profiles: size, value, the features that set each persona apart (Cohen's d) and a generated name.

Examples
--------
>>> import pandas as pd
>>> a = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
>>> b = pd.DataFrame({"x": [5.0, 6.0, 7.0]})
>>> cohens_d(a, b).round(2).tolist()
[-4.0]
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from cxlib.personas.naming import MIN_EFFECT, persona_names
from cxlib.schema import name_words

if TYPE_CHECKING:
    from cxlib.personas.model import PersonaModel

__all__ = ["cohens_d", "compare_personas", "informative_columns", "profile_table"]

# the profile's first columns, then one d_<feature> per numeric feature
_FIRST = [
    "persona",
    "name",
    "description",
    "size",
    "share",
    "value",
    "revenue_share",
    "distinguishing",
    "main_channels",
    "stage_mix",
]


def numeric_columns(X: pd.DataFrame) -> list[str]:
    """The numeric (and boolean) columns of ``X``, in order."""
    return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]


def informative_columns(X: pd.DataFrame, columns: list[str] | None = None) -> list[str]:
    """The numeric ``columns`` of ``X`` (default: all but ``is_anonymous``) that tell customers apart.

    Left out: a column without data or with one value for everyone -- a shop that exports only its orders has
    no e-mail, app or ticket to measure, so its ``share_app`` is 0 for all and its ``csat_mean`` null -- and
    a column that only copies another (correlation 1 and the same nulls: with orders alone, ``touchpoints``
    and ``orders`` are ``frequency``). Of copies the later column stays: :data:`~cxlib.personas.FEATURES`
    lists the general before the specific.

    Examples
    --------
    >>> X = pd.DataFrame({"touchpoints": [1.0, 2, 5], "frequency": [1.0, 2, 5], "share_app": [0.0, 0, 0],
    ...                   "csat_mean": [None, None, None], "monetary": [10.0, 40, 20]})
    >>> informative_columns(X)
    ['frequency', 'monetary']
    """
    if columns is None:
        columns = [c for c in numeric_columns(X) if c != "is_anonymous"]
    V = X[columns].astype("float64")
    spread = [c for c in columns if V[c].nunique() > 1]
    corr = V[spread].corr().abs()
    kept: list[str] = []
    for c in reversed(spread):
        copies = [o for o in kept if corr.loc[c, o] > 1 - 1e-9 and V[c].isna().equals(V[o].isna())]
        if not copies:
            kept.append(c)
    return [c for c in spread if c in kept]


def cohens_d(a: pd.DataFrame, b: pd.DataFrame) -> pd.Series:
    """Cohen's d of every column, ``a`` versus ``b``: difference of means over the pooled standard deviation.

    Nulls are ignored; a column without spread (pooled deviation below 1e-12) gets NaN. ``|d| >= 0.5`` is a
    medium effect, ``0.8`` a large one.
    """
    na, nb = a.notna().sum(), b.notna().sum()
    pooled = np.sqrt(((na - 1).clip(lower=0) * a.var() + (nb - 1).clip(lower=0) * b.var()) / (na + nb - 2))
    return (a.mean() - b.mean()) / pooled.where(pooled > 1e-12)


def _effect_sizes(V: pd.DataFrame, labels: np.ndarray, k: int) -> pd.DataFrame:
    """Cohen's d of every column, each persona versus the rest (nulls ignored)."""
    out = {p: cohens_d(V[labels == p], V[labels != p]) for p in range(int(k))}
    return pd.DataFrame(out).T.reindex(columns=V.columns)


def profile_table(X: pd.DataFrame, labels: np.ndarray, k: int, value_column: str = "monetary") -> pd.DataFrame:
    """Describe ``k`` personas of the customers ``X`` labelled ``labels``: see :meth:`PersonaModel.profile`.

    Examples
    --------
    >>> X = pd.DataFrame({"orders_per_month": [0.1, 0.2, 3.0, 3.2], "monetary": [10.0, 20, 300, 310]})
    >>> profile_table(X, np.array([0, 0, 1, 1]), 2)[["name", "size", "revenue_share"]].values.tolist()
    [['Low-value occasional buyers', 2, 0.046875], ['High-value regulars', 2, 0.953125]]
    """
    labels = np.asarray(labels)
    num = informative_columns(X)  # a feature the shop has no data for says nothing about a persona
    value = X[value_column].astype("float64") if value_column in X.columns else None
    effects = _effect_sizes(X[num].astype("float64"), labels, k)
    value_rank = {}
    if value is not None:
        means = pd.Series(value.to_numpy()).groupby(labels).mean()
        value_rank = {p: r for r, p in enumerate(means.sort_values(ascending=False).index)}
    one_time = set()
    if "frequency" in X.columns:
        medians = pd.Series(X["frequency"].astype("float64").to_numpy()).groupby(labels).median()
        one_time = set(medians.index[medians <= 1])
    names, descriptions = persona_names(effects, value_rank, one_time)
    rows = []
    for p in range(effects.shape[0]):
        row = _persona_row(X, labels == p, effects.loc[p], value)
        row = {"persona": p, **row, "name": names[p], "description": descriptions[p]}
        row.update({f"d_{c}": float(effects.loc[p, c]) for c in num})
        rows.append(row)
    out = pd.DataFrame(rows)
    return out[_FIRST + [c for c in out.columns if c not in _FIRST]]


def _persona_row(X: pd.DataFrame, mask: np.ndarray, d: pd.Series, value: pd.Series | None) -> dict[str, Any]:
    """Size, share, value, revenue share, distinguishing features, main channels and stage mix of one persona."""
    total = float(value.sum()) if value is not None else float("nan")
    row: dict[str, Any] = {"size": int(mask.sum()), "share": float(mask.mean())}
    row["value"] = float(value[mask].mean()) if value is not None and mask.any() else float("nan")
    row["revenue_share"] = float(value[mask].sum() / total) if value is not None and total else float("nan")
    top = d.dropna().reindex(d.dropna().abs().sort_values(ascending=False).index)
    top = top[top.abs() >= MIN_EFFECT].head(4)
    # in words, with the effect's unit: Cohen's d, in pooled standard deviations from the other customers
    row["distinguishing"] = ", ".join(f"{name_words(c)} {'+' if v > 0 else '-'}{abs(v):.1f} sd" for c, v in top.items())
    shares = [c for c in X.columns if c.startswith("share_")]
    if shares and mask.any():
        m = X.loc[mask, shares].mean().sort_values(ascending=False)
        m = m[m > 0]  # an orders-only shop has no channel to speak of: not "web 0%, app 0%"
        row["main_channels"] = ", ".join(f"{c.removeprefix('share_')} {v:.0%}" for c, v in m.head(2).items())
    else:
        row["main_channels"] = ""
    if "stage" in X.columns and mask.any():
        mix = X.loc[mask, "stage"].fillna("unknown").value_counts(normalize=True)
        row["stage_mix"] = ", ".join(f"{s} {v:.0%}" for s, v in mix.head(3).items())
    else:
        row["stage_mix"] = ""
    return row


def compare_personas(features: pd.DataFrame, model: PersonaModel, a: int | str, b: int | str) -> pd.DataFrame:
    """Two personas side by side: the mean of every numeric feature in each, and the effect size between them.

    ``a`` and ``b`` are persona numbers or names. Returns ``feature, <name a>, <name b>, effect_size`` (Cohen's
    d of a versus b), largest differences first.

    Examples
    --------
    >>> from cxlib.personas import PersonaModel
    >>> X = pd.DataFrame({"x": [0.0, 0.2, 5.0, 5.2], "y": [1.0, 1.5, 1.2, 1.3]})
    >>> model = PersonaModel(n_personas=2, random_state=0).fit(X)
    >>> compare_personas(X, model, 0, 1)["feature"].tolist()
    ['x', 'y']
    """
    names = list(model.names_)
    ia, ib = (names.index(p) if isinstance(p, str) else int(p) for p in (a, b))
    labels = model.predict(features)
    num = informative_columns(features)
    A = features.loc[labels == ia, num].astype("float64")
    B = features.loc[labels == ib, num].astype("float64")
    d = cohens_d(A, B)
    out = pd.DataFrame(
        {"feature": num, names[ia]: A.mean().to_numpy(), names[ib]: B.mean().to_numpy(), "effect_size": d.to_numpy()}
    )
    order = out["effect_size"].abs().fillna(-1).sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)
