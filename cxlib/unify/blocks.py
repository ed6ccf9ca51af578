"""Blocks too big to be evidence: a blocking rule's groups of more than ``max_block`` records are left to the others.

A blocking rule scores every pair of contact records that agree on its fields. On a large population a few of
its groups grow with the square of it: at a million people the generator's 2.1 million contact records
share a first and last name in groups of up to 685 (230 million pairs from that rule alone), and a first name
and a house number in groups of up to 130 (34 million) -- while the rule's other groups are a handful each.
A group that large says little (hundreds of people share the name) and costs most of the run: ``cx unify`` on
a million people scored about 300 million pairs, for 14 minutes, 11 GB and 20 GB of spill.

So a tuple rule whose groups exceed :attr:`~cxlib.unify.UnifyConfig.max_block` records (default 100) blocks on
a key of its fields that is left empty in those groups: their pairs are scored only when another rule finds
them (the same name and a birth date, a postcode, a street...). A rule with no group over the limit is used as
written -- on the test data sets (FEBRL 1-3, the generated companies) nothing changes. The groups left out are
logged (``cxlib.unify`` logger: rule, groups, records, pairs) and documented in ``docs/unify.md``.

Below that limit a rule on fields of few values still grows with the square of the population (its groups
fill up to the limit as people multiply: a first name and a house number made 15 pairs per record at 1M, under
2 at 100k), so a rule may also score at most :attr:`~cxlib.unify.UnifyConfig.max_block_pairs` pairs per record
(default 4): past it, its largest groups are left out as well, the largest first (:func:`_limit`).

Examples
--------
>>> import pandas as pd
>>> from cxlib.unify import UnifyConfig
>>> df = pd.DataFrame({"first_name": ["ann"] * 4 + ["bob", "bob"], "last_name": ["lee"] * 4 + ["day", "day"]})
>>> cfg = UnifyConfig(blocking_rules=(("first_name", "last_name"),), max_block=3)
>>> out, rules, left = capped_rules(df, cfg)
>>> rules, left
(('l."_block_0" = r."_block_0"',), {'first_name+last_name': (1, 4, 6)})
>>> out["_block_0"].notna().tolist()  # ann lee's group of 4 is over the limit of 3: no key
[False, False, False, False, True, True]
"""

from __future__ import annotations

import logging
import re
from typing import Any

import pandas as pd

__all__ = ["capped_rules", "with_block_keys", "without_block_keys"]

KEY_PREFIX = "_block_"
_KEY_USE = re.compile(rf'"?{KEY_PREFIX}(\d+)"?')
_LOG = logging.getLogger("cxlib.unify")


def _key(df: pd.DataFrame, fields: tuple[str, ...]) -> pd.Series:
    """The fields joined (null when any is): equal keys are exactly the pairs agreeing on every field."""
    key = df[fields[0]].astype("string")
    for f in fields[1:]:
        key = key + "\x1f" + df[f].astype("string")
    return key


def _limit(sizes: pd.Series, cfg: Any, records: int) -> int | None:
    """The largest group a rule keeps: ``cfg.max_block``, lower when the rule's pairs would be more than
    ``cfg.max_block_pairs`` per record -- its largest groups are left out, the largest first, until they are
    not (groups of one size go together, so the limit does not depend on the rows' order)."""
    limit = getattr(cfg, "max_block", None)
    per = getattr(cfg, "max_block_pairs", None)
    if per is None or sizes.empty:
        return limit
    kept = sizes if limit is None else sizes[sizes <= limit]
    pairs = (kept * (kept - 1) // 2).groupby(kept).sum().sort_index().cumsum()
    within = pairs[pairs <= per * records]
    if len(within) == len(pairs):
        return limit
    return int(within.index.max()) if len(within) else 1


def _capped_key(df: pd.DataFrame, fields: tuple[str, ...], cfg: Any) -> tuple[pd.Series, pd.Series, int | None]:
    """The rule's key, empty in its groups of more records than its limit (:func:`_limit`); the sizes of those
    groups; and the limit."""
    key = _key(df, fields)
    sizes = key.value_counts()
    limit = _limit(sizes, cfg, len(df))
    big = sizes[sizes > limit] if limit is not None else sizes.iloc[:0]
    return key.mask(key.isin(big.index)), big, limit


def capped_rules(df: pd.DataFrame, cfg: Any) -> tuple[pd.DataFrame, tuple, dict[str, tuple[int, int, int]]]:
    """``df`` with a key column for each tuple rule of ``cfg.blocking_rules`` that has a group of more than
    ``cfg.max_block`` records; the rules with those written as the key's equality; and what was left out
    (``"first_name+last_name": (groups, records, pairs)``), which is logged."""
    capped = getattr(cfg, "max_block", None) is not None or getattr(cfg, "max_block_pairs", None) is not None
    rules, left = [], {}
    for i, rule in enumerate(cfg.blocking_rules):
        if isinstance(rule, str) or not capped or not set(rule) <= set(df.columns):
            rules.append(rule)
            continue
        key, big, limit = _capped_key(df, tuple(rule), cfg)
        if big.empty:
            rules.append(rule)
            continue
        col = f"{KEY_PREFIX}{i}"
        df = df.assign(**{col: key})
        rules.append(f'l."{col}" = r."{col}"')
        name = "+".join(rule)
        left[name] = (len(big), int(big.sum()), int((big * (big - 1) // 2).sum()))
        _LOG.warning(
            "unify: %s groups of more than %s contact records agreeing on %s (%s records, %s pairs) are left to "
            "the other blocking rules (UnifyConfig.max_block, max_block_pairs)",
            f"{left[name][0]:,}", limit, name, f"{left[name][1]:,}", f"{left[name][2]:,}",
        )
    return df, tuple(rules), left


def with_block_keys(df: pd.DataFrame, cfg: Any, settings: dict) -> pd.DataFrame:
    """``df`` with the key columns a saved model's blocking rules use (an incremental run scores new records
    with the last run's rules), made on ``df``'s records as :func:`capped_rules` makes them."""
    rules = settings.get("blocking_rules_to_generate_predictions", [])
    used = {int(i) for r in rules for i in _KEY_USE.findall(str(r))}
    for i in sorted(used):
        rule = tuple(cfg.blocking_rules[i])
        key = _capped_key(df, rule, cfg)[0]
        df = df.assign(**{f"{KEY_PREFIX}{i}": key})
    return df


def without_block_keys(settings: dict) -> dict:
    """A saved model's settings without the blocking rules on key columns (for scoring given pairs, which
    blocks nothing)."""
    rules = settings.get("blocking_rules_to_generate_predictions", [])
    return {**settings, "blocking_rules_to_generate_predictions": [r for r in rules if not _KEY_USE.search(str(r))]}
