"""The monthly panel as integer codes: what :class:`~cxlib.simulate.JourneyModel` fits on and what the levers read.

A panel (``customer_id, month, stage`` and a segment) of 16.8M rows at 1M customers is read once into codes --
customers by the rank of their id, months as ``year * 12 + month``, stages by their place in the model's stages
-- so that every later pass compares integers, not a string per row. :func:`next_month` is the one definition of
a move: a customer's row followed by the same customer's row of the next calendar month.

Examples
--------
>>> import pandas as pd
>>> f = month_frame(pd.Series(["b", "a", "a"]), pd.to_datetime(pd.Series(["2024-01-01", "2024-02-01", "2024-01-01"])),
...                 np.array([0, 2, 1]), np.zeros(3, dtype=np.int8))
>>> f[["c", "m", "s"]].values.tolist(), next_month(f).tolist()
([[0, 24289, 1], [0, 24290, 2], [1, 24289, 0]], [True, False])
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cxlib.schema import DataError

__all__ = [
    "cell_counts",
    "month_frame",
    "month_numbers",
    "next_month",
    "segment_codes",
    "stage_codes",
    "transition_counts",
]

#: The segment of a panel without a segment column.
ALL = "all"


def segment_codes(col: pd.Series | None, n: int) -> tuple[list[str], np.ndarray]:
    """The segments (names as text, sorted) and each row's position among them (``"all"`` without a column); a
    categorical (:func:`~cxlib.simulate.cohort_segments`) is read by its codes, not as a string per row."""
    if col is None:
        return [ALL], np.zeros(n, dtype=np.int8)
    codes, uniques = pd.factorize(col, use_na_sentinel=False)  # a missing value: a segment of its own ("nan")
    names = [str(u) for u in uniques]
    order = sorted(range(len(names)), key=names.__getitem__)
    return [names[i] for i in order], np.argsort(order)[codes]


def stage_codes(stage: pd.Series, stages: list[str]) -> np.ndarray:
    """Each row's position in ``stages`` (a stage named otherwise is an error): the column factorised once and its
    few distinct values looked up, not a categorical made from a string per row (16.8M rows at 1M customers:
    0.5 s against 2.6).

    Examples
    --------
    >>> stage_codes(pd.Series(["lost", "awareness", "lost"]), ["awareness", "lost"]).tolist()
    [1, 0, 1]
    """
    codes, uniques = pd.factorize(stage, use_na_sentinel=False)
    names = [str(u) for u in uniques]
    unknown = set(names) - set(stages)
    if unknown:
        raise DataError(f"stage history: stages {sorted(unknown)} are not in the model's stages {stages}")
    return np.array([stages.index(n) for n in names], dtype=np.int8 if len(stages) < 128 else np.int32)[codes]


def month_numbers(month: pd.Series) -> np.ndarray:
    """Each value's calendar month as ``year * 12 + month`` (months since year 0; a zoned value in its own zone),
    by numpy on the values (1M customers: 1 s less than pandas' ``dt.year`` and ``dt.month``).

    Examples
    --------
    >>> month_numbers(pd.Series(pd.to_datetime(["2024-01-31", "2024-12-01"]))).tolist()
    [24289, 24300]
    """
    when = pd.to_datetime(pd.Series(month).reset_index(drop=True))
    if when.isna().any():
        raise DataError(f"stage history: {int(when.isna().sum())} row(s) have no month; every row needs one")
    if when.dt.tz is not None:
        when = when.dt.tz_localize(None)  # the wall-clock month where the value was recorded
    return when.to_numpy().astype("datetime64[M]").astype(np.int64) + 1970 * 12 + 1


def month_frame(customer: pd.Series, month: pd.Series, s_idx: np.ndarray, g_idx: np.ndarray) -> pd.DataFrame:
    """The panel as codes: ``c`` (customer: the rank of its id, -1 without one), ``m`` (:func:`month_numbers`),
    ``s`` (stage), ``g`` (segment), sorted by customer and month (a panel already in that order, as
    :func:`~cxlib.simulate.complete_history` gives it, is not sorted again); the index is each row's position in
    the panel."""
    mnum = month_numbers(month)
    codes, _ = pd.factorize(customer, sort=True)
    frame = pd.DataFrame({"c": codes, "m": mnum, "s": s_idx, "g": g_idx})
    c, m = codes, mnum
    if len(c) < 2 or bool(((c[1:] > c[:-1]) | ((c[1:] == c[:-1]) & (m[1:] >= m[:-1]))).all()):
        return frame  # what the stable sort would give: the same rows in the same order
    return frame.sort_values(["c", "m"], kind="stable")


def next_month(frame: pd.DataFrame) -> np.ndarray:
    """For each row of a :func:`month_frame` but the last: whether the next row is the same customer's next
    calendar month (a move). Rows without a customer make none."""
    c, m = frame["c"].to_numpy(), frame["m"].to_numpy()
    return (c[1:] == c[:-1]) & (c[1:] >= 0) & (m[1:] == m[:-1] + 1)


def transition_counts(frame: pd.DataFrame, n_g: int, n_s: int) -> np.ndarray:
    """Observed moves (:func:`next_month`) of a :func:`month_frame`, ``(segment, from, to)``."""
    same = next_month(frame)
    s, g = frame["s"].to_numpy(), frame["g"].to_numpy()
    return cell_counts((n_g, n_s, n_s), g[:-1][same], s[:-1][same], s[1:][same])


def cell_counts(shape: tuple[int, ...], *index: np.ndarray) -> np.ndarray:
    """How many rows fall in each cell of an array of ``shape``, ``index`` one code array per axis (floats): what
    ``np.add.at(zeros, index, 1)`` gives, by one ``bincount`` (16.8M rows at 1M customers: 0.2 s, not 2).

    Examples
    --------
    >>> cell_counts((2, 3), np.array([0, 1, 1], dtype=np.int8), np.array([2, 0, 0])).tolist()
    [[0.0, 0.0, 1.0], [2.0, 0.0, 0.0]]
    """
    flat = np.ravel_multi_index(tuple(np.asarray(i, dtype=np.intp) for i in index), shape)
    return np.bincount(flat, minlength=int(np.prod(shape))).reshape(shape).astype(float)
