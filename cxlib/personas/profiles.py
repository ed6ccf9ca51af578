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

from cxlib.schema import name_words

if TYPE_CHECKING:
    from cxlib.personas.model import PersonaModel

__all__ = ["cohens_d", "compare_personas", "profile_table"]

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

# phrase for a feature that is high / low in a persona, and a noun when it is the persona's main trait
_PHRASES: dict[str, tuple[str, str, str]] = {
    "avg_order_value": ("big baskets", "small baskets", "big spenders"),
    "orders_per_month": ("buy often", "buy rarely", "regulars"),
    "frequency": ("many orders", "few orders", "regulars"),
    "monetary": ("spend a lot", "spend little", "big spenders"),
    "app_opens_per_month": ("mostly app", "rarely use the app", "app loyalists"),
    "share_app": ("mostly app", "little app", "app loyalists"),
    "email_opens_per_month": ("open e-mails", "ignore e-mails", "deal seekers"),
    "email_open_rate": ("open e-mails", "ignore e-mails", "deal seekers"),
    "share_email": ("e-mail driven", "little e-mail", "deal seekers"),
    "email_clicks_per_month": ("click e-mails", "never click e-mails", "deal seekers"),
    "order_share_app": ("order in the app", "never order in the app", "app loyalists"),
    "tickets": ("many tickets", "few tickets", "service-reliant customers"),
    "touchpoints": ("very engaged", "seldom seen", "engaged customers"),
    "tickets_per_month": ("contact support often", "rarely contact support", "service-reliant customers"),
    "share_support": ("contact support often", "rarely contact support", "service-reliant customers"),
    "web_views_per_month": ("browse the web a lot", "browse little", "browsers"),
    "share_web": ("mostly web", "little web", "browsers"),
    "share_store": ("mostly in store", "rarely in store", "store shoppers"),
    "order_share_store": ("buy in store", "buy online", "store shoppers"),
    "return_rate": ("return often", "rarely return", "returners"),
    "recency_days": ("lapsing", "recently active", "lapsing customers"),
    "tenure_days": ("long-standing", "new", "long-standing customers"),
    "nps_mean": ("promoters", "detractors", "promoters"),
    "csat_mean": ("satisfied with service", "unhappy with service", "satisfied customers"),
    "referrals": ("refer friends", "never refer", "advocates"),
}


def numeric_columns(X: pd.DataFrame) -> list[str]:
    """The numeric (and boolean) columns of ``X``, in order."""
    return [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c])]


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
    [['Low-value customers', 2, 0.046875], ['High-value big spenders', 2, 0.953125]]
    """
    labels = np.asarray(labels)
    num = [c for c in numeric_columns(X) if c != "is_anonymous"]
    value = X[value_column].astype("float64") if value_column in X.columns else None
    effects = _effect_sizes(X[num].astype("float64"), labels, k)
    value_rank = {}
    if value is not None:
        means = pd.Series(value.to_numpy()).groupby(labels).mean()
        value_rank = {p: r for r, p in enumerate(means.sort_values(ascending=False).index)}
    k = effects.shape[0]
    rows = []
    for p in range(k):
        row = _persona_row(X, labels == p, effects.loc[p], value)
        name, desc = _name(effects.loc[p], value_rank.get(p), k)
        row = {"persona": p, **row, "name": name, "description": desc}
        row.update({f"d_{c}": float(effects.loc[p, c]) for c in num})
        rows.append(row)
    out = pd.DataFrame(rows)
    out["name"] = _unique(out["name"].tolist())
    return out[_FIRST + [c for c in out.columns if c not in _FIRST]]


def _persona_row(X: pd.DataFrame, mask: np.ndarray, d: pd.Series, value: pd.Series | None) -> dict[str, Any]:
    """Size, share, value, revenue share, distinguishing features, main channels and stage mix of one persona."""
    total = float(value.sum()) if value is not None else float("nan")
    row: dict[str, Any] = {"size": int(mask.sum()), "share": float(mask.mean())}
    row["value"] = float(value[mask].mean()) if value is not None and mask.any() else float("nan")
    row["revenue_share"] = float(value[mask].sum() / total) if value is not None and total else float("nan")
    top = d.dropna().reindex(d.dropna().abs().sort_values(ascending=False).index)
    top = top[top.abs() >= 0.3].head(4)
    # in words, with the effect's unit: Cohen's d, in pooled standard deviations from the other customers
    row["distinguishing"] = ", ".join(
        f"{name_words(c)} {'+' if v > 0 else '-'}{abs(v):.1f} sd" for c, v in top.items()
    )
    shares = [c for c in X.columns if c.startswith("share_")]
    if shares and mask.any():
        m = X.loc[mask, shares].mean().sort_values(ascending=False)
        row["main_channels"] = ", ".join(f"{c.removeprefix('share_')} {v:.0%}" for c, v in m.head(2).items())
    else:
        row["main_channels"] = ""
    if "stage" in X.columns and mask.any():
        mix = X.loc[mask, "stage"].fillna("unknown").value_counts(normalize=True)
        row["stage_mix"] = ", ".join(f"{s} {v:.0%}" for s, v in mix.head(3).items())
    else:
        row["stage_mix"] = ""
    return row


def _name(d: pd.Series, value_rank: int | None, k: int) -> tuple[str, str]:
    """A short name and a one-line description from a persona's effect sizes (largest first)."""
    d = d.dropna()
    d = d.reindex(d.abs().sort_values(ascending=False).index)
    d = d[d.abs() >= 0.3]
    phrases, noun = [], None
    for col, v in d.items():
        hi, lo, n = _PHRASES.get(col, (f"high {col}", f"low {col}", None))
        if noun is None and v > 0 and n is not None:
            noun = n
        phrase = hi if v > 0 else lo
        if phrase not in phrases:
            phrases.append(phrase)
        if len(phrases) == 3:
            break
    if noun is None:
        noun = "customers"
    tier = ""
    if value_rank is not None and k > 1:
        tier = "High-value " if value_rank == 0 else ("Low-value " if value_rank == k - 1 else "")
    name = (tier + noun) if tier else noun[:1].upper() + noun[1:]
    desc = ", ".join(phrases) if phrases else "close to the average customer"
    return name, f"{name} — {desc}"


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out


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
    num = [c for c in numeric_columns(features) if c != "is_anonymous"]
    A = features.loc[labels == ia, num].astype("float64")
    B = features.loc[labels == ib, num].astype("float64")
    d = cohens_d(A, B)
    out = pd.DataFrame(
        {"feature": num, names[ia]: A.mean().to_numpy(), names[ib]: B.mean().to_numpy(), "effect_size": d.to_numpy()}
    )
    order = out["effect_size"].abs().fillna(-1).sort_values(ascending=False, kind="stable").index
    return out.loc[order].reset_index(drop=True)
