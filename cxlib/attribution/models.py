"""The attribution models on the path table: Markov removal effect, Shapley value and the rule-based heuristics.

Examples
--------
>>> import pandas as pd
>>> from cxlib.attribution.models import heuristics
>>> paths = pd.DataFrame({"path": ["a > b"], "conversions": [1], "value": [10.0], "nulls": [0]})
>>> heuristics(paths).query("model == 'first_touch'")["conversions"].tolist()
[1.0, 0.0]
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from cxlib.attribution.paths import HEURISTIC_MODELS, PATH_COLUMNS, PATH_SEP

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
    if keep is not None:
        Q, r, start = Q[keep][:, keep], r[keep], start[keep]
    n = len(r)
    if n == 0:
        return 0.0
    if isinstance(Q, np.ndarray):  # a handful of states: dense, and scipy's sparse solver not even imported
        x = np.linalg.solve(np.eye(n) - Q, r)
    else:
        from scipy import sparse
        from scipy.sparse.linalg import spsolve

        x = spsolve((sparse.identity(n, format="csc") - Q).tocsc(), r)
    return float(start @ x)


def markov(paths: pd.DataFrame, order: int = 1, sep: str = PATH_SEP) -> pd.DataFrame:
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
        from scipy import sparse

        N = sparse.coo_matrix((ww, (src, dst)), shape=(S, S)).tocsr()
        out = np.asarray(N.sum(axis=1)).ravel() + to_conv + to_null
        Q = sparse.diags(1.0 / out) @ N
    return Q, to_conv / out, start / start.sum()


# --- Shapley --------------------------------------------------------------------------------------------------


def shapley(paths: pd.DataFrame, sep: str = PATH_SEP) -> pd.DataFrame:
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


def _shapley_enumerated(paths: pd.DataFrame, col: str = "conversions", sep: str = PATH_SEP) -> dict[str, float]:
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


def heuristics(paths: pd.DataFrame, half_life: float = 2.0, sep: str = PATH_SEP) -> pd.DataFrame:
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


def compare(paths: pd.DataFrame, order: int = 1, half_life: float = 2.0, sep: str = PATH_SEP) -> pd.DataFrame:
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
