"""Attribution: share conversions and revenue among the channels that touched the converting customers.

**Attribution is association, not causal effect.** Every model here splits the conversions that happened
among the channels seen on the way, by a rule (first touch, last touch, ...) or by how the conversion rate
of the observed paths changes when a channel is left out (Markov removal effect, Shapley value). None of them
says what would have happened without a channel: customers who were going to buy anyway also click ads and
open emails. To measure what a channel or campaign *causes*, run a holdout or a test and use
:mod:`cxlib.impact`.

**Input: paths.** Every model reads the common interchange format: one row per distinct path, columns
``path`` (channels in time order joined by ``" > "``, e.g. ``"paid_search > email > web"``),
``conversions`` (how many journeys along this path ended in a conversion), ``value`` (their revenue) and
``nulls`` (how many ended without one). :func:`paths_from_touchpoints` builds it from the unified
``touchpoints`` stream in the engine (DuckDB or Spark) and returns only the aggregated paths.

**Ordering rule.** Within a customer, touchpoints are ordered by ``ts``; ties are broken by ``table_name,
source, record_key`` when those columns exist (the unified stream has them), then by the channel. Row order
never changes a path.

**Output.** :func:`markov` and :func:`shapley` return one row per channel with ``channel, removal_effect,
conversions, value`` (``removal_effect`` is NaN for Shapley); :func:`heuristics` and :func:`compare` return a
long frame ``model, channel, conversions, value``. Every model's attributed conversions and value add up to
the input totals.

Examples
--------
>>> import pandas as pd
>>> from cxlib import attribution
>>> paths = pd.DataFrame({"path": ["search > email", "search", "email"], "conversions": [2, 1, 0],
...                       "value": [200.0, 50.0, 0.0], "nulls": [1, 3, 2]})
>>> attribution.markov(paths).round(3).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
{'channel': ['email', 'search'], 'removal_effect': [0.667, 0.733], 'conversions': [1.429, 1.571],
 'value': [119.048, 130.952]}
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis import _

from cxlib.engine import Workspace
from cxlib.journeys.inputs import DAY, TIE_COLUMNS, as_table, require_columns

__all__ = [
    "DEFAULT_CONVERSION",
    "HEURISTIC_MODELS",
    "PATH_COLUMNS",
    "compare",
    "compare_figure",
    "heuristics",
    "markov",
    "matches_rule",
    "paths_from_touchpoints",
    "shapley",
]

#: The columns of the path interchange format.
PATH_COLUMNS: tuple[str, ...] = ("path", "conversions", "value", "nulls")
#: What counts as a conversion by default: an order that was placed (completed or later returned).
DEFAULT_CONVERSION: dict[str, list[str]] = {"table_name": ["orders"], "status": ["completed", "returned"]}
#: The rule-based models of :func:`heuristics`, in presentation order.
HEURISTIC_MODELS: tuple[str, ...] = ("first_touch", "last_touch", "linear", "time_decay", "position_based")
_SEP = " > "


# --- paths from touchpoints -----------------------------------------------------------------------------------


def matches_rule(t: ibis.Table, rule: Mapping[str, Sequence]) -> ibis.BooleanValue:
    """AND of ``column in values`` over the rule's keys (a missing value never matches)."""
    cond = ibis.literal(True)
    for col, values in rule.items():
        require_columns(t, [col], "touchpoints")
        vals = [values] if isinstance(values, str) else list(values)
        cond &= t[col].isin(vals).fill_null(False)
    return cond


def paths_from_touchpoints(
    touchpoints: pd.DataFrame | ibis.Table | Workspace | str | Path,
    channel: str = "channel",
    conversion: Mapping[str, Sequence] | None = None,
    value: str = "revenue",
    lookback_days: float = 30,
    touch_tables: Sequence[str] | None = ("events",),
    exclude_events: Sequence[str] = ("purchase", "email_holdout"),
    collapse_repeats: bool = False,
    no_touch: str | None = "(none)",
    path: str = "customer_id",
) -> pd.DataFrame:
    """Build the path table from a touchpoint stream: ``touchpoints`` → ``path, conversions, value, nulls``.

    For each customer, the touches (rows with a ``channel``) before each conversion, within ``lookback_days``
    of it, form one converting path worth the conversion's ``value``; each touch counts toward the next
    conversion only. The touches after a customer's last conversion (the non-converting tail), within
    ``lookback_days`` of the tail's last touch, form one null path. The per-customer work runs in the engine;
    only the aggregated paths (one row per distinct path, sorted by ``path``) come back.

    Parameters
    ----------
    touchpoints : DataFrame, Ibis table, Workspace or workspace folder
        At least ``customer_id`` (``path``), ``ts``, ``channel`` and the columns the rules read.
    channel : str
        The column naming the channel of a touch.
    conversion : dict, optional
        Which rows are conversions: ``{column: [values]}``, all conditions must hold
        (default :data:`DEFAULT_CONVERSION`: orders placed, completed or returned).
    value : str
        The conversion's value column (the unified stream's ``revenue``: a completed order's amount, 0 for
        a returned one). Missing values count as 0.
    lookback_days : float
        How far before a conversion a touch may be to count toward it.
    touch_tables : sequence of str or None
        Only rows of these ``table_name`` values are touches (default: web, app, email, store and ad events;
        ``None``: every row with a channel, service tickets and surveys included).
    exclude_events : sequence of str
        Events that are never touches: the analytics ``purchase`` event duplicates the order itself, and
        ``email_holdout`` marks an email that was *not* sent.
    collapse_repeats : bool
        Merge consecutive touches of the same channel (``"web > web > email"`` → ``"web > email"``).
    no_touch : str or None
        The path of a conversion with no touch inside the lookback (``None``: leave such conversions out).
    path : str
        The column identifying a customer.

    Examples
    --------
    >>> import pandas as pd
    >>> tp = pd.DataFrame({
    ...     "customer_id": ["a", "a", "a", "a", "b"],
    ...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05", "2024-01-01"]),
    ...     "table_name": ["events", "events", "orders", "events", "events"],
    ...     "channel": ["paid_search", "email", "web", "web", "display"],
    ...     "event": ["ad_click", "email_open", "order", "page_view", "ad_click"],
    ...     "status": [None, None, "completed", None, None],
    ...     "revenue": [None, None, 80.0, None, None],
    ... })
    >>> paths_from_touchpoints(tp).to_dict("records")  # doctest: +NORMALIZE_WHITESPACE
    [{'path': 'display', 'conversions': 0, 'value': 0.0, 'nulls': 1},
     {'path': 'paid_search > email', 'conversions': 1, 'value': 80.0, 'nulls': 0},
     {'path': 'web', 'conversions': 0, 'value': 0.0, 'nulls': 1}]
    """
    t = as_table(touchpoints)
    require_columns(t, [path, "ts", channel], "touchpoints")
    rule = dict(DEFAULT_CONVERSION if conversion is None else conversion)
    is_conv, is_touch = _conversions_and_touches(t, rule, channel, touch_tables, exclude_events)
    convs, touches, order = _numbered(t, is_conv, is_touch, channel, value, path)
    segs = _segments(touches, convs, order, lookback_days, collapse_repeats)
    return _path_table(convs, segs, no_touch)


def _conversions_and_touches(
    t: ibis.Table,
    rule: Mapping[str, Sequence],
    channel: str,
    touch_tables: Sequence[str] | None,
    exclude_events: Sequence[str],
) -> tuple[ibis.BooleanValue, ibis.BooleanValue]:
    """Which rows are conversions, and which are touches (rows with a channel that the filters keep)."""
    is_conv = matches_rule(t, rule)
    is_touch = t[channel].notnull() & ~is_conv
    if touch_tables is not None:
        require_columns(t, ["table_name"], "touchpoints")
        is_touch &= t.table_name.isin(list(touch_tables)).fill_null(False)
    if exclude_events:
        require_columns(t, ["event"], "touchpoints")
        is_touch &= ~t.event.isin(list(exclude_events)).fill_null(False)
    return is_conv, is_touch


def _numbered(
    t: ibis.Table, is_conv: ibis.BooleanValue, is_touch: ibis.BooleanValue, channel: str, value: str, path: str
) -> tuple[ibis.Table, ibis.Table, list[str]]:
    """Conversions (``_p, _k, _csec, _val``) and touches (``_p, _k, _sec, _ch, _o*``), each numbered with
    ``_k``: how many conversions came strictly before it (the conversion a touch counts toward); and the
    touches' order columns."""
    if value in t.columns:
        v = t[value].cast("float64")
        v = ibis.ifelse(v.isnan().fill_null(False), ibis.null("float64"), v).fill_null(0.0)
    else:
        v = ibis.literal(0.0)
    ties = [t[c] for c in TIE_COLUMNS if c in t.columns] + [t[channel]]
    t = t.filter(is_conv | is_touch).mutate(_conv=is_conv.cast("int64"), _val=ibis.ifelse(is_conv, v, 0.0))
    t = t.mutate(_sec=t.ts.epoch_seconds(), _ch=t[channel].cast("string"))
    w = ibis.cumulative_window(group_by=t[path], order_by=[t.ts, *[t[c.get_name()] for c in ties]])
    t = t.mutate(_k=t._conv.sum().over(w) - t._conv)
    convs = t.filter(t._conv == 1).select(_p=t[path], _k=t._k, _csec=t._sec, _val=t._val)
    touches = t.filter(t._conv == 0).select(
        _p=t[path], _k=t._k, _sec=t._sec, _ch=t._ch, **{f"_o{i}": c for i, c in enumerate(ties)}
    )
    return convs, touches, ["_sec", *[f"_o{i}" for i in range(len(ties))]]


def _segments(
    touches: ibis.Table, convs: ibis.Table, order: list[str], lookback_days: float, collapse_repeats: bool
) -> ibis.Table:
    """One row per customer and segment ``_k``: ``_path``, its touches within the lookback, in order."""
    seg = ibis.window(group_by=[touches._p, touches._k])
    touches = touches.mutate(_last=touches._sec.max().over(seg))
    j = touches.left_join(convs, ["_p", "_k"])
    j = j.select("_p", "_k", "_sec", "_ch", *order[1:], _anchor=j._csec.fill_null(j._last))
    j = j.filter(j._anchor - j._sec <= int(lookback_days * DAY))
    ws = ibis.window(group_by=[j._p, j._k], order_by=[j[c] for c in order])
    if collapse_repeats:
        j = j.mutate(_prev=j._ch.lag().over(ws))
        j = j.filter(j._prev.isnull() | (j._prev != j._ch)).drop("_prev")
        ws = ibis.window(group_by=[j._p, j._k], order_by=[j[c] for c in order])
    j = j.mutate(_step=ibis.row_number().over(ws))
    # an ordered string aggregate is not portable (Spark's collect_list has no order): collect (step, channel)
    # structs, sort them by step, keep the channels
    steps = ibis.struct({"s": j._step, "c": j._ch}).collect()
    segs = j.group_by(["_p", "_k"]).aggregate(_steps=steps)
    return segs.select("_p", "_k", _path=segs._steps.sort().map(lambda x: x.c).join(_SEP))


def _path_table(convs: ibis.Table, segs: ibis.Table, no_touch: str | None) -> pd.DataFrame:
    """Converting paths and null paths (the tails after the last conversion), one row per distinct path."""
    conv_paths = convs.left_join(segs, ["_p", "_k"]).select(
        _path=_._path if no_touch is None else _._path.fill_null(no_touch),
        conversions=ibis.literal(1, "int64"),
        value=_._val,
        nulls=ibis.literal(0, "int64"),
    )
    conv_paths = conv_paths.filter(conv_paths._path.notnull())
    tails = segs.anti_join(convs, ["_p", "_k"]).select(
        "_path", conversions=ibis.literal(0, "int64"), value=ibis.literal(0.0), nulls=ibis.literal(1, "int64")
    )
    both = conv_paths.union(tails, distinct=False)
    out = both.group_by("_path").aggregate(
        conversions=both.conversions.sum(), value=both.value.sum(), nulls=both.nulls.sum()
    )
    df = out.to_pandas().rename(columns={"_path": "path"})
    df["path"] = df["path"].astype(str)
    df = df.astype({"conversions": "int64", "nulls": "int64", "value": "float64"})
    df["value"] = df["value"].round(6)  # engines sum floats in different orders
    return df.sort_values("path", ignore_index=True)[list(PATH_COLUMNS)]


# --- parsing the path table -----------------------------------------------------------------------------------


def _check_paths(paths: pd.DataFrame, sep: str) -> pd.DataFrame:
    missing = [c for c in PATH_COLUMNS if c not in paths.columns]
    if missing:
        raise ValueError(
            f"paths: missing column(s) {missing}; it has {list(paths.columns)}. Expected one row per path with "
            f"{list(PATH_COLUMNS)} (build it with paths_from_touchpoints)."
        )
    p = paths[list(PATH_COLUMNS)].copy()
    p["path"] = p["path"].astype(str)
    p["conversions"] = pd.to_numeric(p["conversions"]).fillna(0).astype("float64")
    p["value"] = pd.to_numeric(p["value"]).fillna(0).astype("float64")
    p["nulls"] = pd.to_numeric(p["nulls"]).fillna(0).astype("float64")
    if (p[["conversions", "nulls"]] < 0).any().any():
        raise ValueError("paths: conversions and nulls must not be negative")
    p = p[p["path"].str.strip() != ""]
    return p.reset_index(drop=True)


def _explode(p: pd.DataFrame, sep: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Touches of every path: (row index, position in its path, channel code) and the sorted channel names."""
    import pyarrow as pa
    import pyarrow.compute as pc

    # Arrow's string kernels split and encode half a million paths in a fraction of a second
    arr = pa.array(p["path"].to_numpy(dtype=object), type=pa.string())
    lists = pc.split_pattern(arr, pattern=sep.strip())
    lengths = pc.list_value_length(lists).to_numpy(zero_copy_only=False).astype(np.int64)
    flat = pc.utf8_trim_whitespace(lists.flatten())
    enc = flat.dictionary_encode()
    found = np.array(enc.dictionary.to_pylist(), dtype=object)
    rank = np.argsort(np.argsort(found, kind="stable"), kind="stable")
    codes = rank[enc.indices.to_numpy(zero_copy_only=False)].astype(np.int64) if len(flat) else np.zeros(0, np.int64)
    names = sorted(found.tolist())
    row = np.repeat(np.arange(len(p)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else np.zeros(0, np.int64)
    pos = np.arange(len(flat)) - np.repeat(starts, lengths)
    return row, pos, codes, names


def _output(names: list[str], share: np.ndarray, totals: tuple[float, float], effect: np.ndarray) -> pd.DataFrame:
    total_c, total_v = totals
    return pd.DataFrame(
        {
            "channel": names,
            "removal_effect": effect,
            "conversions": total_c * share,
            "value": total_v * share,
        }
    )


# --- Markov ---------------------------------------------------------------------------------------------------


def _absorb(Q, r: np.ndarray, start: np.ndarray, keep: np.ndarray | None = None) -> float:
    """P(conversion) from the start distribution: solve (I - Q) x = r on the kept states (the rest go to null)."""
    from scipy import sparse
    from scipy.sparse.linalg import spsolve

    if keep is not None:
        Q, r, start = Q[keep][:, keep], r[keep], start[keep]
    n = len(r)
    if n == 0:
        return 0.0
    if sparse.issparse(Q):
        x = spsolve((sparse.identity(n, format="csc") - Q).tocsc(), r)
    else:
        x = np.linalg.solve(np.eye(n) - Q, r)
    return float(start @ x)


def markov(paths: pd.DataFrame, order: int = 1, sep: str = _SEP) -> pd.DataFrame:
    """Markov-chain attribution by exact removal effect: ``paths`` → ``channel, removal_effect, conversions, value``.

    The paths define an absorbing Markov chain: a ``start`` state, one transient state per channel (per
    tuple of the last ``order`` channels for higher orders; a path's first steps use the shorter tuples
    seen so far), and the absorbing ``conversion`` and ``null`` states. Transition probabilities are the
    observed transition counts, each path weighted by its ``conversions + nulls``. The conversion
    probability from ``start`` is solved exactly, ``x = (I - Q)^-1 r`` (``Q``: transient-to-transient, ``r``:
    transient-to-conversion), with no simulation. Removing a channel sends every state that contains it to
    ``null``; its *removal effect* is ``1 - p_removed / p_full``. Attributed conversions and value are the
    totals shared in proportion to the removal effects, so they add up exactly to the input totals.

    Deterministic; for ``order=1`` and 10,000 paths it takes milliseconds (see ``docs/attribution.md``).
    This is association, not causal effect (see the module docstring).

    Parameters
    ----------
    paths : DataFrame
        ``path, conversions, value, nulls`` (see :func:`paths_from_touchpoints`).
    order : int
        How many past channels a state remembers (1, 2, 3, ...).
    sep : str
        The separator between channels in ``path``.

    Examples
    --------
    Two channels; every conversion needs ``b``, and half of the ``a`` journeys go on to ``b``:

    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["a > b", "a", "b"], "conversions": [1, 0, 1],
    ...                       "value": [10.0, 0.0, 30.0], "nulls": [0, 1, 1]})
    >>> markov(paths).round(4).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'channel': ['a', 'b'], 'removal_effect': [0.3333, 1.0], 'conversions': [0.5, 1.5], 'value': [10.0, 30.0]}
    """
    if int(order) < 1:
        raise ValueError(f"order must be 1 or more, not {order}")
    order = int(order)
    p = _check_paths(paths, sep)
    totals = float(p["conversions"].sum()), float(p["value"].sum())  # before dropping empty rows
    p = p[(p["conversions"] + p["nulls"]) > 0].reset_index(drop=True)
    row, pos, codes, names = _explode(p, sep)
    C = len(names)
    if C == 0 or p["conversions"].sum() == 0:
        return _output(names, np.zeros(C), totals, np.zeros(C))
    base = C + 1
    if base**order >= 2**62:
        raise ValueError(f"order {order} with {C} channels has too many states")
    uniq, state = _states(codes, pos, order, base)
    Q, r, s0 = _chain(p, row, pos, state, len(uniq))
    p_full = _absorb(Q, r, s0)
    # which channels each state holds (its non-zero digits)
    digits = np.stack([(uniq // base**lag) % base for lag in range(order)], axis=1) - 1
    effect = np.zeros(C)
    for c in range(C):
        keep = ~(digits == c).any(axis=1)
        effect[c] = 1.0 - _absorb(Q, r, s0, keep) / p_full
    effect = np.clip(effect, 0.0, 1.0)  # rounding can leave -1e-16
    share = effect / effect.sum() if effect.sum() > 0 else np.zeros(C)
    return _output(names, share, totals, effect)


def _states(codes: np.ndarray, pos: np.ndarray, order: int, base: int) -> tuple[np.ndarray, np.ndarray]:
    """Each touch's Markov state: the distinct state ids (sorted) and each touch's index into them.

    A state id is the last ``order`` channel codes (+1, 0 = before the path's start) as base-``base`` digits.
    """
    sid = np.zeros(len(codes), dtype=np.int64)
    for lag in range(order):
        shifted = np.zeros(len(codes), dtype=np.int64)
        if lag:
            shifted[lag:] = codes[:-lag] + 1
        else:
            shifted[:] = codes + 1
        shifted[pos < lag] = 0
        sid += shifted * base**lag
    if base**order <= 10_000_000:  # a lookup table is much faster than sorting millions of touches
        seen = np.zeros(base**order, dtype=bool)
        seen[sid] = True
        uniq = np.flatnonzero(seen)
        lookup = np.cumsum(seen) - 1
        return uniq, lookup[sid]
    return np.unique(sid, return_inverse=True)


def _chain(p: pd.DataFrame, row: np.ndarray, pos: np.ndarray, state: np.ndarray, S: int) -> tuple:
    """The absorbing chain over ``S`` states: ``Q`` (transient to transient, dense or sparse), ``r`` (to
    conversion) and ``s0`` (the start distribution), each path weighted by its ``conversions + nulls``."""
    from scipy import sparse

    w = (p["conversions"] + p["nulls"]).to_numpy()[row]
    conv = p["conversions"].to_numpy()
    nul = p["nulls"].to_numpy()
    is_last = np.r_[row[1:] != row[:-1], True] if len(row) else np.array([], dtype=bool)
    is_first = pos == 0
    start = np.bincount(state[is_first], weights=w[is_first], minlength=S)
    to_conv = np.bincount(state[is_last], weights=conv[row[is_last]], minlength=S)
    to_null = np.bincount(state[is_last], weights=nul[row[is_last]], minlength=S)
    src, dst = state[:-1][~is_last[:-1]], state[1:][~is_last[:-1]]
    ww = w[:-1][~is_last[:-1]]
    if S <= 2000:  # dense: few states (order 1-2 with a handful of channels)
        N = np.bincount(src * S + dst, weights=ww, minlength=S * S).reshape(S, S)
        out = N.sum(axis=1) + to_conv + to_null
        Q = N / out[:, None]
    else:
        N = sparse.coo_matrix((ww, (src, dst)), shape=(S, S)).tocsr()
        out = np.asarray(N.sum(axis=1)).ravel() + to_conv + to_null
        Q = sparse.diags(1.0 / out) @ N
    return Q, to_conv / out, start / start.sum()


# --- Shapley --------------------------------------------------------------------------------------------------


def shapley(paths: pd.DataFrame, sep: str = _SEP) -> pd.DataFrame:
    """Shapley-value attribution over channel sets: ``paths`` → ``channel, removal_effect (NaN), conversions, value``.

    The coalition game of the "simplified" Shapley method for paths (Zhao et al., 2018): the value of a set
    of channels ``S`` is the conversions (or revenue) of the paths whose channel set is a subset of ``S``;
    order and repeats within a path do not matter, and ``nulls`` do not enter. This game is a sum of
    unanimity games, one per observed channel set ``T`` with weight ``R(T)`` (the conversions of paths with
    exactly that set), so its Shapley value is exact in closed form, ``phi_j = sum over T containing j of
    R(T) / |T|``: each path's conversions are shared equally among its distinct channels. Exact for any
    number of channels (the tests check it against full enumeration of the coalitions). The efficiency
    axiom makes the totals add up. Association, not causal effect.

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["a > b > a", "a", "c > b"], "conversions": [4, 1, 2],
    ...                       "value": [40.0, 5.0, 20.0], "nulls": [3, 0, 0]})
    >>> shapley(paths)[["channel", "conversions", "value"]].to_dict("list")
    {'channel': ['a', 'b', 'c'], 'conversions': [3.0, 3.0, 1.0], 'value': [25.0, 30.0, 10.0]}
    """
    p = _check_paths(paths, sep)
    row, _pos, codes, names = _explode(p, sep)
    C = len(names)
    out = pd.DataFrame({"channel": names, "removal_effect": np.nan})
    if C == 0:
        return out.assign(conversions=np.zeros(0), value=np.zeros(0))
    if C <= 62:  # each path's channel set as a bit mask: no sort of the touches needed
        bits = np.left_shift(np.int64(1), codes)
        starts = np.flatnonzero(np.r_[True, row[1:] != row[:-1]])
        mask = np.zeros(len(p), dtype=np.int64)
        mask[row[starts]] = np.bitwise_or.reduceat(bits, starts)
        has = (mask[:, None] >> np.arange(C)[None, :]) & 1  # (path, channel)
        size = has.sum(axis=1)
        for col in ("conversions", "value"):
            per = np.divide(p[col].to_numpy(), size, out=np.zeros(len(p)), where=size > 0)
            out[col] = per @ has
        return out
    pairs = np.unique(row * C + codes)  # each (path, distinct channel) once
    prow, pcode = pairs // C, pairs % C
    size = np.bincount(prow, minlength=len(p))
    for col in ("conversions", "value"):
        out[col] = np.bincount(pcode, weights=p[col].to_numpy()[prow] / size[prow], minlength=C)
    return out


def _shapley_enumerated(paths: pd.DataFrame, col: str = "conversions", sep: str = _SEP) -> dict[str, float]:
    """Shapley values by full enumeration of the coalitions (2^n): the slow reference the tests compare with."""
    from math import factorial

    p = _check_paths(paths, sep)
    sets = [frozenset(x.strip() for x in s.split(sep.strip())) for s in p["path"]]
    players = sorted(set().union(*sets)) if sets else []
    n = len(players)
    vals = p[col].to_numpy()

    def v(coalition: frozenset) -> float:
        return float(sum(val for s, val in zip(sets, vals, strict=True) if s <= coalition))

    phi = {}
    for j in players:
        others = [x for x in players if x != j]
        total = 0.0
        for k in range(len(others) + 1):
            weight = factorial(k) * factorial(n - k - 1) / factorial(n)
            for combo in itertools.combinations(others, k):
                s = frozenset(combo)
                total += weight * (v(s | {j}) - v(s))
        phi[j] = total
    return phi


# --- heuristics -----------------------------------------------------------------------------------------------


def heuristics(paths: pd.DataFrame, half_life: float = 2.0, sep: str = _SEP) -> pd.DataFrame:
    """Rule-based attribution: ``paths`` → ``model, channel, conversions, value`` (long, one block per model).

    Each converting path's conversions and value are split among its touches (repeats count):

    - ``first_touch``: all to the first touch; ``last_touch``: all to the last;
    - ``linear``: equally among the touches;
    - ``time_decay``: weight ``0.5 ** (d / half_life)`` for the touch ``d`` steps before the conversion (the
      last touch has ``d = 0``), normalised per path;
    - ``position_based`` (U-shaped): 40% to the first, 40% to the last, 20% shared by the touches between;
      a two-touch path splits 50/50, a one-touch path gives it all.

    Every model's totals equal the input totals. Association, not causal effect.

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["a > b > c"], "conversions": [10], "value": [100.0], "nulls": [0]})
    >>> h = heuristics(paths)
    >>> h[h.model == "position_based"][["channel", "conversions"]].values.tolist()
    [['a', 4.0], ['b', 2.0], ['c', 4.0]]
    """
    p = _check_paths(paths, sep)
    row, pos, codes, names = _explode(p, sep)
    C = len(names)
    n = np.bincount(row, minlength=len(p))[row].astype(float)
    d = n - 1 - pos  # steps before the conversion
    decay = 0.5 ** (d / float(half_life))
    decay = decay / np.bincount(row, weights=decay, minlength=len(p))[row]
    middle = np.where(n > 2, 0.2 / np.maximum(n - 2, 1), 0.0)
    ends = np.where(n == 1, 1.0, np.where(n == 2, 0.5, 0.4))
    weights = {
        "first_touch": (pos == 0).astype(float),
        "last_touch": (d == 0).astype(float),
        "linear": 1.0 / n,
        "time_decay": decay,
        "position_based": np.where((pos == 0) | (d == 0), ends, middle),
    }
    frames = []
    for model in HEURISTIC_MODELS:
        wt = weights[model]
        block = pd.DataFrame({"model": model, "channel": names})
        for col in ("conversions", "value"):
            block[col] = np.bincount(codes, weights=wt * p[col].to_numpy()[row], minlength=C) if C else []
        frames.append(block)
    return pd.concat(frames, ignore_index=True)


# --- comparison -----------------------------------------------------------------------------------------------


def compare(paths: pd.DataFrame, order: int = 1, half_life: float = 2.0, sep: str = _SEP) -> pd.DataFrame:
    """Every model side by side: ``paths`` → ``model, channel, removal_effect, conversions, value`` (long).

    Models: ``markov`` (order ``order``), ``shapley`` and the :data:`HEURISTIC_MODELS`. They agree on the
    totals and differ in how they share them; where they disagree most, no model should be trusted alone --
    and none of them measures causal effect.

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["a > b", "b"], "conversions": [1, 1], "value": [10.0, 10.0],
    ...                       "nulls": [1, 1]})
    >>> c = compare(paths)
    >>> c.groupby("model", sort=False)["value"].sum().round(6).tolist()
    [20.0, 20.0, 20.0, 20.0, 20.0, 20.0, 20.0]
    """
    mk = markov(paths, order=order, sep=sep).assign(model="markov")
    sh = shapley(paths, sep=sep).assign(model="shapley")
    hs = heuristics(paths, half_life=half_life, sep=sep).assign(removal_effect=np.nan)
    cols = ["model", "channel", "removal_effect", "conversions", "value"]
    return pd.concat([mk[cols], sh[cols], hs[cols]], ignore_index=True)


def compare_figure(
    comparison: pd.DataFrame, y: str = "value", title: str = "Attributed value by channel and model"
) -> go.Figure:
    """A grouped bar chart of :func:`compare`: one bar per model for each channel (``y``: value or conversions).

    Examples
    --------
    >>> import pandas as pd
    >>> paths = pd.DataFrame({"path": ["a > b"], "conversions": [1], "value": [10.0], "nulls": [0]})
    >>> fig = compare_figure(compare(paths))
    >>> [t.name for t in fig.data][:3]
    ['markov', 'shapley', 'first_touch']
    """
    if y not in ("value", "conversions"):
        raise ValueError(f"y must be 'value' or 'conversions', not {y!r}")
    fig = go.Figure()
    for model, block in comparison.groupby("model", sort=False):
        fig.add_trace(go.Bar(x=block["channel"], y=block[y], name=str(model)))
    fig.update_layout(
        barmode="group",
        title=title,
        xaxis_title="channel",
        yaxis_title=f"attributed {y}",
        legend_title="model",
        annotations=[
            dict(
                text="Attribution is association, not causal effect.",
                xref="paper",
                yref="paper",
                x=0,
                y=1.06,
                showarrow=False,
                font=dict(size=11),
            )
        ],
    )
    return fig


_rule = matches_rule  # the old private name, kept importable
