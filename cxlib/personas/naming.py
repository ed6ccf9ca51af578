"""Persona names: a short name, distinct from the other personas', and a one-line description.

A persona is named after its strongest trait that has a noun (``avg_order_value`` high: *big spenders*,
``days_since_order`` low: *recent buyers*), with *High-value* or *Low-value* in front for the most and the
least valuable persona. When two personas would share a name, each is qualified by its strongest trait the
other lacks (*frequent big spenders*, *occasional big spenders*), so a shop whose data has only
orders -- recency, frequency, money -- gets as many distinct names as one with e-mail, app and service data.

Examples
--------
>>> import pandas as pd
>>> effects = pd.DataFrame({"avg_order_value": [2.0, -0.2], "days_since_order": [-0.2, 1.2]})
>>> persona_names(effects, {0: 0, 1: 1})[0]
['High-value big spenders', 'Low-value lapsed buyers']
>>> effects = pd.DataFrame({"avg_order_value": [2.0, 1.5, -1.0], "orders_per_month": [0.9, -0.6, 0.0]})
>>> persona_names(effects, {})[0]
['Frequent big spenders', 'Occasional big spenders', 'Small-basket buyers']
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pandas as pd

from cxlib.schema import name_words

__all__ = ["MIN_EFFECT", "persona_names"]

#: Smallest effect size (Cohen's d, either sign) that counts as a trait in a name or description.
MIN_EFFECT = 0.3

# feature: (phrase when high, phrase when low, noun when high, noun when low, qualifier when high, when low).
# A noun names a persona whose strongest trait this is; a qualifier sets apart two personas of the same noun.
_WORDS: dict[str, tuple[str, str, str | None, str | None, str | None, str | None]] = {
    "avg_order_value": (
        "big baskets",
        "small baskets",
        "big spenders",
        "small-basket buyers",
        "big-basket",
        "small-basket",
    ),
    "orders_per_month": ("buy often", "buy rarely", "regulars", "occasional buyers", "frequent", "occasional"),
    "frequency": ("many orders", "few orders", "regulars", "occasional buyers", "frequent", "occasional"),
    "orders": ("many orders", "few orders", "regulars", "occasional buyers", "frequent", "occasional"),
    "monetary": ("spend a lot", "spend little", "big spenders", "light spenders", "high-spending", "low-spending"),
    "app_opens_per_month": ("mostly app", "rarely use the app", "app loyalists", None, "app-loving", None),
    "share_app": ("mostly app", "little app", "app loyalists", None, "app-loving", None),
    "email_opens_per_month": ("open e-mails", "ignore e-mails", "deal seekers", None, "e-mail-reading", None),
    "email_open_rate": ("open e-mails", "ignore e-mails", "deal seekers", None, "e-mail-reading", None),
    "share_email": ("e-mail driven", "little e-mail", "deal seekers", None, "e-mail-driven", None),
    "email_clicks_per_month": ("click e-mails", "never click e-mails", "deal seekers", None, "e-mail-clicking", None),
    "order_share_app": ("order in the app", "never order in the app", "app loyalists", None, "app-ordering", None),
    "tickets": ("many tickets", "few tickets", "service-reliant customers", None, "service-reliant", None),
    "touchpoints": ("very engaged", "seldom seen", "engaged customers", None, "engaged", "quiet"),
    "tickets_per_month": (
        "contact support often",
        "rarely contact support",
        "service-reliant customers",
        None,
        "service-reliant",
        None,
    ),
    "share_support": ("contact support often", "rarely contact support", "service-reliant customers", None, None, None),
    "web_views_per_month": ("browse the web a lot", "browse little", "browsers", None, "browsing", None),
    "share_web": ("mostly web", "little web", "browsers", None, "web", None),
    "share_store": ("mostly in store", "rarely in store", "store shoppers", None, "in-store", None),
    "order_share_store": ("buy in store", "buy online", "store shoppers", "online shoppers", "in-store", "online"),
    "return_rate": ("return often", "rarely return", "returners", None, "returning", None),
    "recency_days": ("lapsing", "recently active", "lapsing customers", "active customers", "lapsing", "active"),
    "days_since_order": (
        "long since an order",
        "ordered recently",
        "lapsed buyers",
        "recent buyers",
        "lapsed",
        "recent",
    ),
    "days_since_first_order": (
        "first bought long ago",
        "first bought lately",
        None,
        "new buyers",
        "long-standing",
        "new",
    ),
    "tenure_days": ("long-standing", "new", "long-standing customers", "newcomers", "long-standing", "new"),
    "nps_mean": ("promoters", "detractors", "promoters", "detractors", "promoting", "detracting"),
    "csat_mean": (
        "satisfied with service",
        "unhappy with service",
        "satisfied customers",
        None,
        "satisfied",
        "unhappy",
    ),
    "referrals": ("refer friends", "never refer", "advocates", None, "referring", None),
}
# a persona whose customers (the median one) bought once: its low order count has these words instead
_ONE_TIME = ("bought once", "one-time buyers", "one-time")
_COUNTS = ("orders_per_month", "frequency", "orders")


def _words(feature: str, high: bool, one_time: bool) -> tuple[str, str | None, str | None]:
    """Phrase, noun and qualifier of ``feature`` being high (or low) in a persona."""
    hi, lo, n_hi, n_lo, q_hi, q_lo = _WORDS.get(
        feature, (f"high {name_words(feature)}", f"low {name_words(feature)}", None, None, None, None)
    )
    if not high and one_time and feature in _COUNTS:
        return _ONE_TIME
    return (hi, n_hi, q_hi) if high else (lo, n_lo, q_lo)


def _traits(d: pd.Series) -> pd.Series:
    """A persona's effect sizes of at least :data:`MIN_EFFECT`, strongest first (ties in column order)."""
    d = d.dropna()
    d = d[d.abs() >= MIN_EFFECT]
    return d.iloc[(-d.abs()).argsort(kind="stable")]


def _describe(d: pd.Series, one_time: bool, tiered: bool) -> tuple[str, str | None, list[str]]:
    """A persona's noun, the feature it comes from and the phrases of its three strongest traits.

    A persona named *High-value* or *Low-value* takes its noun from another trait than its revenue: not
    "Low-value light spenders" but "Low-value occasional buyers"."""
    noun, source, phrases = None, None, []
    for col, v in _traits(d).items():
        phrase, n, _ = _words(str(col), v > 0, one_time)
        if len(phrases) < 3 and phrase not in phrases:
            phrases.append(phrase)
        if noun is None and n is not None and not (tiered and col == "monetary"):
            noun, source = n, str(col)
    return noun or "customers", source, phrases


def persona_names(
    effects: pd.DataFrame, value_rank: Mapping[int, int], one_time: Collection[int] = ()
) -> tuple[list[str], list[str]]:
    """Distinct names and one-line descriptions of personas from their effect sizes.

    ``effects`` holds one row per persona (0 .. k-1) and one column per feature: Cohen's d of the persona
    versus the rest. ``value_rank`` ranks the personas by value (0: most valuable); ``one_time`` lists the
    personas whose median customer bought once. A persona's name is its strongest trait that has a noun
    (*High-value* / *Low-value* in front for the first and last by value); personas that would share a name
    are each qualified by the trait on which they differ most from the others of that name. Personas alike
    in every trait keep a ``(2)`` suffix: nothing else tells them apart.

    Examples
    --------
    >>> effects = pd.DataFrame({"days_since_order": [1.4, 0.6, -1.0], "frequency": [-0.2, -0.8, 0.9]})
    >>> names, descriptions = persona_names(effects, {2: 0}, one_time={0, 1})
    >>> names
    ['Lapsed buyers', 'One-time buyers', 'High-value recent buyers']
    >>> descriptions[1]
    'One-time buyers — bought once, long since an order'
    """
    k = len(effects)
    tiers = [""] * k
    if k > 1:
        for p, r in value_rank.items():
            tiers[p] = "High-value " if r == 0 else ("Low-value " if r == k - 1 else "")
    described = [_describe(effects.iloc[p], p in one_time, bool(tiers[p])) for p in range(k)]
    words = [[noun] for noun, _, _ in described]
    for group in _shared(tiers, words):
        _qualify(effects, group, words, [described[p][1] for p in group], one_time)
    names = _unique([_name(tiers[p], words[p]) for p in range(k)])
    descriptions = [
        f"{n} — {', '.join(d[2]) if d[2] else 'close to the average customer'}"
        for n, d in zip(names, described, strict=True)
    ]
    return names, descriptions


def _name(tier: str, words: list[str]) -> str:
    text = " ".join(words)
    return tier + text if tier else text[:1].upper() + text[1:]


def _shared(tiers: list[str], words: list[list[str]]) -> list[list[int]]:
    """The groups of personas (two or more) that would have the same name."""
    names = [_name(t, w) for t, w in zip(tiers, words, strict=True)]
    groups = {n: [p for p, m in enumerate(names) if m == n] for n in names}
    return [g for g in groups.values() if len(g) > 1]


# features that say the same thing in other words: a persona named after one is not qualified by another
_FAMILIES = (
    {"recency_days", "days_since_order"},
    {"orders_per_month", "frequency", "orders"},
    {"tenure_days", "days_since_first_order"},
    {"avg_order_value", "monetary"},  # both "big spenders": not "low-spending big spenders"
)


def _qualify(
    effects: pd.DataFrame,
    group: list[int],
    words: list[list[str]],
    sources: list[str | None],
    one_time: Collection[int],
) -> None:
    """Personas of one name, each qualified (in ``words``, in place) by the trait on which it differs most from
    the others of the name: "lapsed buyers" split into *big-basket* and *small-basket* ones. Up to two
    qualifiers each, while names are still shared."""
    source = dict(zip(group, sources, strict=True))
    clashing = group
    for _ in range(2):
        for p in clashing:
            rest = [o for o in group if o != p]
            gap = effects.iloc[p] - effects.iloc[rest].mean()
            skip = next((f for f in _FAMILIES if source[p] in f), {source[p]})
            gap = gap.drop([c for c in gap.index if c in skip]).dropna()
            for col in gap.index[(-gap.abs()).argsort(kind="stable")]:
                q = _words(str(col), bool(gap[col] > 0), p in one_time)[2]
                if q is not None and q not in words[p] and q not in words[p][-1].split():
                    words[p].insert(len(words[p]) - 1, q)
                    break
        names = [" ".join(words[p]) for p in group]
        clashing = [p for p, n in zip(group, names, strict=True) if names.count(n) > 1]
        if not clashing:
            return


def _unique(names: list[str]) -> list[str]:
    """``names`` with a ``(2)``, ``(3)`` ... after each repeat."""
    seen: dict[str, int] = {}
    out = []
    for n in names:
        seen[n] = seen.get(n, 0) + 1
        out.append(n if seen[n] == 1 else f"{n} ({seen[n]})")
    return out
