"""Scenarios: a strategy as levers on the journey model, and what applying them does to its parameters.

A :class:`Scenario` is a name and a list of levers (tuples built by its class methods). :func:`_apply`
turns them into changed transition matrices, revenue and arrivals for every posterior draw;
:func:`service_failure_lever` estimates the lever that fixing a service failure would pull, from the data.

Examples
--------
>>> s = Scenario("plan", [Scenario.scale("consideration", "purchase", 1.1), Scenario.aov(1.05)])
>>> [lever[0] for lever in s.levers]
['scale', 'aov']
>>> [p.name for p in PRESETS][:2]
['conversion +10%', 'at-risk churn -5 pts']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cxlib.schema import DataError
from cxlib.simulate.model import JourneyModel, _require
from cxlib.simulate.panel import month_frame, next_month

__all__ = [
    "FEW_REACHED",
    "PRESETS",
    "Scenario",
    "baseline_customers",
    "lever_reach",
    "lever_size",
    "reach_words",
    "service_failure_lever",
]


@dataclass(frozen=True)
class Scenario:
    """A strategy as levers on the journey model.

    Each lever is a tuple; build them with the class methods and add them up: ``Scenario("plan",
    [Scenario.scale("consideration", "purchase", 1.1), Scenario.aov(1.05)])``.

    - ``scale(from, to, factor)``: multiply a monthly transition probability (the rest of the row shrinks
      in proportion so it still sums to one): *lift a conversion*.
    - ``set(from, to, probability)``: set a monthly transition probability (the rest of the row rescaled).
    - ``shift(from, to, points)``: add probability points to a transition, taken in proportion from the others.
    - ``cut(from, to, points)``: remove points from a transition and keep the customer in ``from`` instead:
      *cut churn from a stage by N points* (``cut("at_risk", "churned", 0.05)``).
    - ``aov(factor, stages=None)``: multiply revenue per customer-month (average order value).
    - ``arrivals(factor, stage=None)``: more or fewer new customers per month.
    - ``move(src_segment, dst_segment, share)``: move a share of new customers from one segment to another;
      with the model fitted ``by="acquisition_channel"`` this moves share between channels.
    Any lever takes ``segments=[...]`` to apply to some personas only.

    Examples
    --------
    >>> s = Scenario("convert", [Scenario.scale("consideration", "purchase", 1.1)])
    >>> s.levers[0][0]
    'scale'
    """

    name: str
    levers: list[tuple] = field(default_factory=list)

    @staticmethod
    def scale(src: str, dst: str, factor: float, segments: Sequence[str] | None = None) -> tuple:
        return ("scale", src, dst, float(factor), tuple(segments or ()))

    @staticmethod
    def set(src: str, dst: str, probability: float, segments: Sequence[str] | None = None) -> tuple:
        return ("set", src, dst, float(probability), tuple(segments or ()))

    @staticmethod
    def shift(src: str, dst: str, points: float, segments: Sequence[str] | None = None) -> tuple:
        return ("shift", src, dst, float(points), tuple(segments or ()))

    @staticmethod
    def cut(src: str, dst: str, points: float, segments: Sequence[str] | None = None) -> tuple:
        return ("cut", src, dst, float(points), tuple(segments or ()))

    @staticmethod
    def aov(factor: float, stages: Sequence[str] | None = None, segments: Sequence[str] | None = None) -> tuple:
        return ("aov", tuple(stages or ()), None, float(factor), tuple(segments or ()))

    @staticmethod
    def arrivals(factor: float, stage: str | None = None, segments: Sequence[str] | None = None) -> tuple:
        return ("arrivals", stage, None, float(factor), tuple(segments or ()))

    @staticmethod
    def move(src_segment: str, dst_segment: str, share: float) -> tuple:
        """Move ``share`` of each month's new customers from one segment to another: with a model fitted
        ``by="acquisition_channel"``, *move share between channels* (the moved customers then behave like the
        destination channel's)."""
        return ("move", src_segment, dst_segment, float(share), ())


def service_failure_lever(
    stage_history: pd.DataFrame,
    flag: str = "presale_failure",
    src: str = "consideration",
    dst: str = "purchase",
    by: str | None = None,
) -> list[tuple]:
    """The levers that fix a service failure, estimated from the data (one per segment with ``by``).

    ``stage_history`` carries a boolean ``flag`` per customer-month (e.g. an unresolved pre-sale ticket that
    month). Within a segment, the conversion ``src → dst`` in unflagged months over the conversion in all
    months is the factor by which fixing the failure would scale it: ``Scenario.scale(src, dst, factor)``.
    Estimate it per persona: a failure concentrated in one persona lifts that persona's conversion most.

    Examples
    --------
    >>> h = pd.DataFrame({"customer_id": list("aabbccdd"), "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 4),
    ...                   "stage": ["consideration", "purchase"] * 3 + ["consideration", "consideration"],
    ...                   "presale_failure": [False, False, False, False, False, False, True, False]})
    >>> service_failure_lever(h)
    [('scale', 'consideration', 'purchase', 1.3333333333333333, ())]
    """
    cid = "customer_id" if "customer_id" in stage_history.columns else "person_id"
    _require(stage_history, [cid, "month", "stage", flag] + ([by] if by else []), "stage history")
    h = stage_history
    if h["month"].isna().any():  # a row without a month follows none and none follows it
        h = h[h["month"].notna()]
    # the panel as codes (one sort of integers, not a sort and two shifts by the customer's id: 7 s at 1M), and
    # a move as the journey model counts one: the same customer's next calendar month
    stage, names = pd.factorize(h["stage"])
    frame = month_frame(h[cid], h["month"], stage, np.zeros(len(h), dtype=np.int8))
    s, rows = frame["s"].to_numpy(), frame.index.to_numpy()
    code = {str(n): i for i, n in enumerate(names)}
    at = np.append((s[:-1] == code.get(src, -2)) & next_month(frame) & (s[1:] >= 0), False)
    nxt = np.append(s[1:], -1)
    d = pd.DataFrame(
        {
            "conv": nxt[at] == code.get(dst, -2),
            "flag": h[flag].iloc[rows[at]].astype(bool).to_numpy(),
            "seg": h[by].iloc[rows[at]].astype(str).to_numpy() if by else "",
        }
    )
    levers = []
    for seg, g in d.groupby("seg", sort=True):
        overall, clean = g["conv"].mean(), g.loc[~g["flag"], "conv"].mean()
        if not overall or np.isnan(overall) or np.isnan(clean):
            continue
        levers.append(Scenario.scale(src, dst, float(clean / overall), [seg] if by else None))
    if not levers:
        raise DataError(f"no {src} → {dst} transitions in the history")
    return levers


def _apply(model: JourneyModel, scenario: Scenario, T: np.ndarray, rev: np.ndarray, arr: np.ndarray):
    stages = list(model.stages)
    T, rev, arr = T.copy(), rev.copy(), arr.copy()
    for lever in scenario.levers:
        kind, a, b, x, segs = lever
        gs = model.segment_positions(segs)
        if kind in ("scale", "set", "shift", "cut"):
            i, j = stages.index(a), stages.index(b)
            row = T[:, gs, i, :]  # (draws, g, to)
            old = row[..., j].copy()
            if kind == "cut":
                new = np.maximum(old - x, 0.0)
                row[..., j] = new
                row[..., i] += old - new
            else:
                if kind == "scale":
                    new = np.minimum(old * x, 1.0)
                elif kind == "set":
                    new = np.full_like(old, np.clip(x, 0.0, 1.0))
                else:
                    new = np.clip(old + x, 0.0, 1.0)
                rest = 1.0 - old
                ratio = np.divide(1.0 - new, rest, out=np.zeros_like(rest), where=rest > 0)
                row *= ratio[..., None]
                row[..., j] = new
            T[:, gs, i, :] = row
        elif kind == "aov":
            idx = [stages.index(s) for s in a] if a else list(range(len(stages)))
            rev[np.ix_(range(rev.shape[0]), gs, idx)] *= x
        elif kind == "arrivals":
            idx = [stages.index(a)] if a else list(range(len(stages)))
            arr[np.ix_(range(arr.shape[0]), range(arr.shape[1]), gs, idx)] *= x  # (draws, months, segment, stage)
        elif kind == "move":
            i, j = model.arrival_segment(a), model.arrival_segment(b)  # new customers: the arrived segments
            moved = arr[:, :, i, :] * x
            arr[:, :, i, :] -= moved
            arr[:, :, j, :] += moved
        else:  # pragma: no cover - built by the Scenario helpers
            raise ValueError(f"unknown lever {kind!r}")
    return T, rev, arr


def lever_size(model: JourneyModel, scenario: Scenario) -> float:
    """How far a scenario pulls its lever, in percent of what the lever moves: what makes levers of different
    kinds comparable (:func:`~cxlib.simulate.compare` divides the gain by it: the gain per 1%).

    ``scale``, ``aov`` and ``arrivals`` by ``x``: ``|x - 1|`` (×100); ``cut`` and ``shift`` by ``p`` points and
    ``set`` to ``p``: the change relative to the fitted probability of that move (for the segments it applies
    to, weighted by the customers who could make it); ``move``: the share moved. A scenario whose levers are
    one lever split over segments (the pre-sale fix estimated per persona) has their weighted mean; a plan of
    different levers has no single size (NaN), nor has one with no levers.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"customer_id": list("aabb"), "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
    ...                   "stage": ["at_risk", "churned", "at_risk", "at_risk"]})
    >>> m = JourneyModel(prior=0.0).fit(h)
    >>> lever_size(m, Scenario("c", [Scenario.cut("at_risk", "churned", 0.05)]))  # 5 pts of 50%: 10% of it
    10.0
    >>> lever_size(m, Scenario("aov", [Scenario.aov(1.05)]))
    5.0
    """
    kinds = {(kind, a, b) for kind, a, b, _, _ in scenario.levers}
    if len(kinds) != 1:
        return float("nan")
    stages, P = list(model.stages), model.matrices()
    sizes, weights = [], []
    for kind, a, b, x, segs in scenario.levers:
        gs = model.segment_positions(segs)
        if kind in ("scale", "aov", "arrivals"):
            size, w = abs(x - 1), 1.0
        elif kind == "move":
            size, w = abs(x), 1.0
        else:
            i, j = stages.index(a), stages.index(b)
            there = model.counts_[gs, i].sum(axis=1) + 1e-9  # the customers who could make the move
            p = float((P[gs, i, j] * there).sum() / there.sum())
            target = x if kind == "set" else p + (x if kind == "shift" else -x)
            size, w = (abs(target - p) / p if p > 0 else float("nan")), float(there.sum())
        sizes.append(size)
        weights.append(w)
    return round(float(np.average(sizes, weights=weights)) * 100, 10)


def baseline_customers(results: pd.DataFrame) -> pd.DataFrame:
    """The baseline forecast's customers by month (rows) and stage (columns) from ``results``
    (:func:`~cxlib.simulate.simulate`'s frame): what :func:`lever_reach` and
    :func:`~cxlib.simulate.compare` count in.

    Examples
    --------
    >>> r = pd.DataFrame({"scenario": "baseline", "month": [1, 1, 2, 2], "mean": [10.0, 90, 30, 70],
    ...                   "metric": ["customers:onboarding", "customers:repeat"] * 2})
    >>> baseline_customers(r).to_dict("list")
    {'onboarding': [10.0, 30.0], 'repeat': [90.0, 70.0]}
    """
    base = results[(results["scenario"] == "baseline") & results["metric"].str.startswith("customers:")]
    return base.assign(stage=base["metric"].str.removeprefix("customers:")).pivot(
        index="month", columns="stage", values="mean"
    )


def lever_reach(customers: pd.DataFrame, scenario: Scenario) -> float:
    """The customers a month a scenario's levers act on, from the baseline's ``customers`` by month and stage
    (:func:`baseline_customers`): those in the stages its moves start from (``scale``, ``set``, ``shift``,
    ``cut``) or earn in (``aov``: its stages, else everyone), averaged over the months; NaN for ``arrivals``
    and ``move`` (new customers) and for no lever. A lever on a stage few customers are in at a month end
    gains little whatever it is worth to those who are: the reach says which.

    Examples
    --------
    >>> c = pd.DataFrame({"onboarding": [10.0, 30.0], "repeat": [90.0, 70.0]}, index=[1, 2])
    >>> lever_reach(c, Scenario("o", [Scenario.scale("onboarding", "repeat", 1.1)]))
    20.0
    >>> lever_reach(c, Scenario("aov", [Scenario.aov(1.05)]))
    100.0
    """
    stages: set[str] = set()
    for kind, a, _, _, _ in scenario.levers:
        if kind in ("arrivals", "move"):
            return float("nan")
        stages |= ({a} if kind != "aov" else set(a)) or set(customers.columns)
    reached = customers[[c for c in customers.columns if c in stages]]
    return float(reached.sum(axis=1).mean()) if stages and len(customers) else float("nan")


#: A lever reaching fewer than this share of the baseline's customers a month is named by :func:`reach_words`.
FEW_REACHED = 0.01


def reach_words(ranked: pd.DataFrame) -> str:
    """A sentence naming the levers of ``ranked`` (:func:`~cxlib.simulate.compare`) that reach fewer than
    :data:`FEW_REACHED` of the baseline's customers a month (``""`` when none does, or without the reach),
    as the CLI, the report and the strategy page print it.

    Examples
    --------
    >>> ranked = pd.DataFrame({"scenario": ["baseline", "onboarding +10%"], "customers_reached": [None, 6.0]})
    >>> ranked.attrs["customers_a_month"] = 1000.0
    >>> reach_words(ranked)[:60]
    'Onboarding +10% acts on about 6 customers a month (0.6% of t'
    """
    everyone = float(ranked.attrs.get("customers_a_month", 0.0))
    if "customers_reached" not in ranked.columns or everyone <= 0:
        return ""
    few = ranked[(ranked["scenario"] != "baseline") & (ranked["customers_reached"] < FEW_REACHED * everyone)]
    if few.empty:
        return ""
    parts = []
    for row in few.itertuples():
        n, share = row.customers_reached, row.customers_reached / everyone
        people = f"about {n:,.0f} customer{'' if round(n) == 1 else 's'}" if n >= 0.5 else "fewer than one customer"
        part = f"{share:.1%}" if share >= 0.001 else "under 0.1%"
        parts.append(f"{row.scenario} acts on {people} a month ({part} of the {everyone:,.0f})")
    text = "; ".join(parts) + (
        ": few customers are in its stage at a month end, so its small gain says how few it reaches in this "
        "monthly model, not what the change is worth to those it does."
    )
    return text[:1].upper() + text[1:]


#: Examples of levers a CJO asks about first, never "the plan": `cx simulate` simulates them, and the gain per
#: 1% of each lever (:func:`lever_size`) puts levers of different sizes and kinds side by side.
PRESETS: tuple[Scenario, ...] = (
    Scenario("conversion +10%", [Scenario.scale("consideration", "purchase", 1.1)]),
    Scenario("at-risk churn -5 pts", [Scenario.cut("at_risk", "churned", 0.05)]),
    Scenario("onboarding -> repeat +10%", [Scenario.scale("onboarding", "repeat", 1.1)]),
    Scenario("AOV +5%", [Scenario.aov(1.05)]),
)
