"""Strategy: a journey model fitted from stage histories, and journey changes simulated against revenue.

:class:`JourneyModel` estimates, per segment (e.g. persona), the monthly stage-to-stage transition
probabilities with a Dirichlet posterior on the transition counts, and the revenue per customer-month in each
stage with a conjugate normal posterior on its mean. :func:`simulate` propagates the stage distribution
exactly (matrix products, no per-customer Monte Carlo) under each :class:`Scenario`, for every posterior
draw at once, and reports revenue and customers by stage with 5-95% bands and the difference to the baseline
(computed draw by draw, so that shared uncertainty cancels). The absorbing-chain algebra (``(I - Q)^-1``)
gives the expected months to absorption and the customer lifetime value per stage.

Examples
--------
>>> import pandas as pd
>>> from cxlib import simulate
>>> h = pd.DataFrame({"customer_id": ["a", "a", "a", "b", "b"],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01"] * 1 + ["2024-01-01",
...                                            "2024-02-01"]),
...                   "stage": ["consideration", "purchase", "onboarding", "consideration", "lost"],
...                   "revenue": [0.0, 50.0, 0.0, 0.0, 0.0]})
>>> m = simulate.JourneyModel(prior=0.0).fit(h)
>>> round(float(m.transition_matrix_.loc["consideration", "purchase"]), 2)
0.5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from cxlib.journeys import STAGES
from cxlib.schema import DataError

__all__ = [
    "PRESETS",
    "PROSPECT_STAGES",
    "JourneyModel",
    "Scenario",
    "compare",
    "fan_chart",
    "future_state_figure",
    "history_from_workspace",
    "build",
    "service_failure_lever",
    "simulate",
]

_ALL = "all"

#: The buyer-journey stages before a first purchase. Personas are found among buyers, so a model fitted per
#: persona shares these stages across personas: ``JourneyModel(by="persona", shared_stages=PROSPECT_STAGES)``.
PROSPECT_STAGES: tuple[str, ...] = ("awareness", "consideration", "lost")


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; it has {list(df.columns)}")


class JourneyModel(BaseEstimator):
    """A monthly Markov model of the journey, per segment, with its uncertainty.

    Parameters
    ----------
    by : str or None
        Segment column of the history (e.g. ``"persona"``); ``None`` fits one chain for everyone.
    stages : sequence of str
        The states, in order (default: the journey stages).
    prior : float
        Dirichlet pseudo-count added to every transition of an observed row (small: it only keeps unseen
        moves possible). Rows with no observed exits stay where they are (absorbing).
    random_state : int or None
        Seed for posterior draws.
    shared_stages : sequence of str
        Stages whose exits and revenue are estimated from all segments together. Leaving a shared stage for
        an unshared one, a customer joins a segment at random, in the proportions observed for that move --
        a prospect who buys becomes one of the personas. Use :data:`PROSPECT_STAGES` with
        ``by="persona"``: personas are found among buyers, so they cannot tell prospects apart. Fitted per
        persona without it, the persona of people who never bought converts nobody, and every acquisition
        lever looks worth a fraction of what it is.

    Attributes
    ----------
    segments_ : list of str
    counts_ : ndarray (segment, from, to)
        Observed month-to-month transitions.
    transition_matrix_ : DataFrame
        Posterior mean; for one segment a from × to frame, else indexed by (segment, from).
    revenue_ : DataFrame
        Mean revenue per customer-month by segment and stage, with ``se`` and ``months``.
    absorbing_ : list of str
        States no customer left (in every segment).
    shared_index_ : list of int
        Positions of ``shared_stages`` (empty with one segment).
    switch_mix_, switch_own_ : ndarray
        Where a move out of a shared stage lands: ``switch_mix_[from, to, segment]`` are the observed
        segment shares of that move; ``switch_own_[from, to]`` is true for moves that keep the segment.
    start_ : DataFrame
        Customers per segment and stage in the latest month (the default forecast start).
    arrivals_ : DataFrame
        Mean new customers per month by segment and first stage (the default forecast arrivals).
    """

    def __init__(
        self,
        by: str | None = None,
        stages: Sequence[str] = STAGES,
        prior: float = 0.1,
        random_state: int | None = 0,
        shared_stages: Sequence[str] = (),
    ) -> None:
        self.by = by
        self.stages = stages
        self.prior = prior
        self.random_state = random_state
        self.shared_stages = shared_stages

    # --- fitting ------------------------------------------------------------------------------------------
    def fit(self, stage_history: pd.DataFrame, y: None = None) -> JourneyModel:
        """Fit from a monthly panel: ``customer_id`` (or ``person_id``), ``month``, ``stage``, optional
        ``revenue`` and the ``by`` column. Consecutive calendar months of one customer make a transition."""
        h = stage_history
        cid = "customer_id" if "customer_id" in h.columns else "person_id"
        _require(h, [cid, "month", "stage"], "stage history")
        if self.by is not None:
            _require(h, [self.by], "stage history")
        stages = list(self.stages)
        unknown = set(h["stage"].astype(str).unique()) - set(stages)
        if unknown:
            raise DataError(f"stage history: stages {sorted(unknown)} are not in the model's stages {stages}")
        seg = h[self.by].astype(str) if self.by is not None else pd.Series(_ALL, index=h.index)
        self.segments_ = sorted(seg.unique())
        s_idx = pd.Categorical(h["stage"].astype(str), categories=stages).codes
        g_idx = pd.Categorical(seg, categories=self.segments_).codes
        month = pd.PeriodIndex(pd.to_datetime(h["month"]), freq="M")
        mnum = (month.year * 12 + month.month).to_numpy()
        frame = pd.DataFrame({"c": h[cid].to_numpy(), "m": mnum, "s": s_idx, "g": g_idx})
        frame = frame.sort_values(["c", "m"], kind="stable")
        same = (frame["c"].to_numpy()[1:] == frame["c"].to_numpy()[:-1]) & (
            frame["m"].to_numpy()[1:] == frame["m"].to_numpy()[:-1] + 1
        )
        a, b, g = frame["s"].to_numpy()[:-1][same], frame["s"].to_numpy()[1:][same], frame["g"].to_numpy()[:-1][same]
        n_g, n_s = len(self.segments_), len(stages)
        counts = np.zeros((n_g, n_s, n_s))
        np.add.at(counts, (g, a, b), 1)
        self.counts_ = counts
        unknown = set(self.shared_stages) - set(stages)
        if unknown:
            raise DataError(f"shared_stages {sorted(unknown)} are not in the model's stages {stages}")
        self.shared_index_ = [stages.index(s) for s in self.shared_stages] if n_g > 1 else []
        # where a move out of a shared stage lands: segment shares of that move, (from, to, segment)
        mix = np.zeros((n_s, n_s, n_g))
        own = np.ones((n_s, n_s), bool)  # moves that keep the segment
        for i in self.shared_index_:
            for j in range(n_s):
                total = counts[:, i, j].sum()
                if j not in self.shared_index_ and total > 0:
                    mix[i, j] = counts[:, i, j] / total
                    own[i, j] = False
        self.switch_mix_, self.switch_own_ = mix, own
        self.alpha_ = self._alpha(counts)
        self.__dict__.pop("_draws", None)
        self.absorbing_ = [stages[i] for i in range(n_s) if counts[:, i, :].sum() == counts[:, i, i].sum()]
        # revenue per customer-month: conjugate normal posterior on each mean (flat prior)
        rev = h["revenue"].to_numpy(dtype=float) if "revenue" in h.columns else np.zeros(len(h))
        r = pd.DataFrame({"g": g_idx, "s": s_idx, "r": rev})
        stats = r.groupby(["g", "s"])["r"].agg(["mean", "std", "count"])
        mean = np.zeros((n_g, n_s))
        se = np.zeros((n_g, n_s))
        months = np.zeros((n_g, n_s))
        for (gi, si), row in stats.iterrows():
            mean[gi, si] = row["mean"]
            se[gi, si] = (row["std"] if row["count"] > 1 and pd.notna(row["std"]) else 0.0) / np.sqrt(row["count"])
            months[gi, si] = row["count"]
        sdv = np.zeros((n_g, n_s))
        for (gi, si), row in stats.iterrows():
            sdv[gi, si] = row["std"] ** 2 if row["count"] > 1 and pd.notna(row["std"]) else 0.0
        if self.shared_index_:  # the shared stages' revenue: all segments together
            pooled = r[np.isin(r["s"], self.shared_index_)].groupby("s")["r"].agg(["mean", "std", "count"])
            for si, row in pooled.iterrows():
                sd = row["std"] if row["count"] > 1 and pd.notna(row["std"]) else 0.0
                mean[:, si], se[:, si], sdv[:, si] = row["mean"], sd / np.sqrt(row["count"]), sd**2
        self.revenue_mean_, self.revenue_se_ = mean, se
        self.revenue_var_ = sdv  # variance of revenue per customer-month
        self.revenue_ = pd.DataFrame(
            {
                "segment": np.repeat(self.segments_, n_s),
                "stage": stages * n_g,
                "revenue": mean.ravel(),
                "se": se.ravel(),
                "months": months.ravel().astype(int),
            }
        )
        # where customers are in the latest month, and how many arrive per month
        last = frame["m"].max()
        now = frame[frame["m"] == last]
        start = np.zeros((n_g, n_s))
        np.add.at(start, (now["g"].to_numpy(), now["s"].to_numpy()), 1)
        self.start_counts_ = start
        first = frame.groupby("c", sort=False).first()
        n_months = max(1, int(frame["m"].max() - frame["m"].min() + 1))
        arr = np.zeros((n_g, n_s))
        np.add.at(arr, (first["g"].to_numpy(), first["s"].to_numpy()), 1)
        self.arrival_rate_ = arr / n_months
        self.first_month_ = int(frame["m"].min())
        self.n_months_ = n_months
        arrivals_by_month = np.zeros((n_months, n_g, n_s))
        np.add.at(
            arrivals_by_month,
            (first["m"].to_numpy() - frame["m"].min(), first["g"].to_numpy(), first["s"].to_numpy()),
            1,
        )
        self.arrivals_by_month_ = arrivals_by_month
        return self

    def _alpha(self, counts: np.ndarray) -> np.ndarray:
        counts = counts.copy()
        for i in getattr(self, "shared_index_", []):  # the same exits in every segment
            counts[:, i, :] = counts[:, i, :].sum(axis=0)
        alpha = counts + self.prior
        # a row never observed stays put: absorbing, unless the data says otherwise
        empty = counts.sum(axis=2) == 0
        for g, i in zip(*np.nonzero(empty), strict=True):
            alpha[g, i] = 0.0
            alpha[g, i, i] = 1.0
        return alpha

    # --- fitted views -------------------------------------------------------------------------------------
    @property
    def transition_matrix_(self) -> pd.DataFrame:
        check_is_fitted(self, "alpha_")
        p = self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)
        stages = list(self.stages)
        if len(self.segments_) == 1:
            return pd.DataFrame(p[0], index=pd.Index(stages, name="from"), columns=pd.Index(stages, name="to"))
        idx = pd.MultiIndex.from_product([self.segments_, stages], names=["segment", "from"])
        return pd.DataFrame(p.reshape(-1, len(stages)), index=idx, columns=pd.Index(stages, name="to"))

    def matrices(self) -> np.ndarray:
        """Posterior mean transition matrices, shape ``(segment, from, to)``."""
        check_is_fitted(self, "alpha_")
        return self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)

    def draw(self, draws: int = 2000, random_state: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws: transition matrices ``(draws, segment, from, to)`` and revenue means
        ``(draws, segment, stage)``."""
        check_is_fitted(self, "alpha_")
        seed = self.random_state if random_state is None else random_state
        key = (draws, seed)
        cache = self.__dict__.setdefault("_draws", {})
        if seed is not None and key in cache:  # the same draws every time: a slider moves in milliseconds
            return cache[key]
        rng = np.random.default_rng(seed)
        gam = rng.standard_gamma(np.broadcast_to(self.alpha_, (draws, *self.alpha_.shape)))
        T = gam / np.maximum(gam.sum(axis=3, keepdims=True), 1e-300)
        rev = self.revenue_mean_ + self.revenue_se_ * rng.standard_normal((draws, *self.revenue_mean_.shape))
        shared = getattr(self, "shared_index_", [])
        if shared:  # one draw per shared stage, the same in every segment
            T[:, :, shared, :] = T[:, :1, shared, :]
            rev[:, :, shared] = rev[:, :1, shared]
        out = (T, np.maximum(rev, 0.0))
        if seed is not None:
            cache.clear()
            cache[key] = out
        return out

    def joint_matrix(self) -> np.ndarray:
        """The posterior-mean chain over (segment, stage) states, ``(segment * stage, segment * stage)``.

        Block-diagonal per segment, except that moves out of a shared stage into an unshared one land in
        every segment in the fitted proportions (``switch_mix_``).
        """
        check_is_fitted(self, "alpha_")
        P = self.matrices()
        n_g, n_s = P.shape[0], P.shape[1]
        J = np.zeros((n_g, n_s, n_g, n_s))
        for g in range(n_g):
            J[g, :, g, :] = P[g]
        for i in getattr(self, "shared_index_", []):
            for j in np.nonzero(~self.switch_own_[i])[0]:
                J[:, i, :, j] = P[:, i, j][:, None] * self.switch_mix_[i, j][None, :]
        return J.reshape(n_g * n_s, n_g * n_s)

    def absorption(self, segment: str | None = None) -> pd.DataFrame:
        """Expected months until absorption and the probability of ending in each absorbing state, per
        transient stage, from the fundamental matrix ``N = (I - Q)^-1`` (of the joint chain when stages are
        shared, so a prospect's fate includes the persona they join)."""
        J = self.joint_matrix()
        n_s = len(self.stages)
        stages = list(self.stages)
        gi = self._seg(segment)
        absorbing = [k for k in range(len(J)) if np.isclose(J[k, k], 1.0)]
        transient = [k for k in range(len(J)) if k not in absorbing]
        if not absorbing:
            raise DataError("the chain has no absorbing state (every stage can be left)")
        Q = J[np.ix_(transient, transient)]
        R = J[np.ix_(transient, absorbing)]
        N = np.linalg.inv(np.eye(len(transient)) - Q)
        mine = [n for n, k in enumerate(transient) if k // n_s == gi]
        ends = sorted({k % n_s for k in absorbing})
        into = np.zeros((len(mine), len(ends)))
        for c, k in enumerate(absorbing):  # an absorbing stage in any segment
            into[:, ends.index(k % n_s)] += (N @ R)[mine, c]
        out = pd.DataFrame(into, index=[stages[transient[n] % n_s] for n in mine], columns=[stages[e] for e in ends])
        out.insert(0, "expected_months", N[mine].sum(axis=1))
        out.index.name = "stage"
        return out

    def clv(self, annual_discount: float = 0.10, segment: str | None = None) -> pd.Series:
        """Expected discounted revenue from now on, per current stage: ``v = (I - d P)^-1 r`` with the monthly
        discount factor ``d = (1 + annual_discount) ** (-1/12)``."""
        gi = self._seg(segment)
        P = self.joint_matrix()  # (segment, stage) states: a prospect is worth the persona they may join
        r = self.revenue_mean_.ravel()
        d = (1 + annual_discount) ** (-1 / 12)
        if annual_discount > 0:
            v = np.linalg.solve(np.eye(len(r)) - d * P, r)
        else:  # undiscounted: revenue until absorption, N r over the transient stages (absorbing ones earn 0)
            absorbing = np.isclose(np.diag(P), 1.0)
            if (r[absorbing] > 0).any():
                raise ValueError("an absorbing stage earns revenue: undiscounted lifetime value is infinite")
            t = ~absorbing
            v = np.zeros(len(r))
            v[t] = np.linalg.solve(np.eye(int(t.sum())) - P[np.ix_(t, t)], r[t])
        n_s = len(self.stages)
        v = v[gi * n_s : (gi + 1) * n_s]
        return pd.Series(v, index=pd.Index(list(self.stages), name="stage"), name="clv")

    def clv_table(self, annual_discount: float = 0.10) -> pd.DataFrame:
        """:meth:`clv` for every segment: segments as rows, stages as columns."""
        return pd.DataFrame({s: self.clv(annual_discount, s) for s in self.segments_}).T

    def _seg(self, segment: str | None) -> int:
        check_is_fitted(self, "alpha_")
        if segment is None:
            if len(self.segments_) > 1:
                raise ValueError(f"name a segment: one of {self.segments_}")
            return 0
        return self.segments_.index(str(segment))

    def forecast(self, months: int = 12, draws: int = 2000) -> pd.DataFrame:
        """Expected customers per stage and revenue per month, with 5-95% bands: the baseline of
        :func:`simulate`."""
        out = simulate(self, [], months=months, draws=draws)
        return out[out["scenario"] == "baseline"].drop(columns="scenario").reset_index(drop=True)


def history_from_workspace(workspace, by: str | None = "persona") -> pd.DataFrame:
    """The monthly panel :class:`JourneyModel` fits, from a workspace: ``customer_id, month, stage, revenue,
    presale_failure, acquisition_channel`` and ``persona`` when the workspace has personas.

    ``stage_history`` comes from ``cx journeys`` (built here if missing); revenue is the completed orders'
    value per customer and month; ``presale_failure`` flags months with an unresolved pre-sale ticket.
    """
    import ibis

    from cxlib import journeys
    from cxlib.engine import Workspace, connect

    ws = workspace if isinstance(workspace, Workspace) else connect(workspace, read_only=True)
    hist = (
        ws.table("stage_history")
        if ws.has("stage_history")
        else journeys.stage_history(journeys.analysis_touchpoints(ws))
    )
    tp = ws.table("touchpoints")
    month = tp.ts.truncate("M").cast("timestamp")
    monthly = (
        tp.mutate(_month=month)
        .group_by(["customer_id", "_month"])
        .aggregate(
            revenue=ibis.ifelse(tp.table_name == "orders", tp.revenue, 0.0).sum(),
            presale_failure=(
                (tp.topic == "pre_sale_question").fill_null(False) & (tp.resolved == False).fill_null(False)  # noqa: E712
            ).any(),
        )
    )
    h = hist.mutate(month=hist.month.cast("timestamp"))
    h = h.left_join(monthly, [h.customer_id == monthly.customer_id, h.month == monthly._month])
    h = h.select("customer_id", "month", "stage", "revenue", "presale_failure")
    # the acquisition channel: the channel of each customer's first inbound touch (ties by the stream's key)
    inbound = tp.filter(tp.channel.notnull() & ~tp.event.isin(["email_sent", "email_holdout"]).fill_null(False))
    w = ibis.window(group_by=inbound.customer_id, order_by=[inbound.ts, inbound.table_name, inbound.record_key])
    first = inbound.mutate(_rn=ibis.row_number().over(w)).filter(ibis._._rn == 0)
    first = first.select(_c="customer_id", acquisition_channel="channel")
    h = h.left_join(first, h.customer_id == first._c).drop("_c")
    out = h.to_pandas()
    out["acquisition_channel"] = (
        out["acquisition_channel"].astype(object).where(out["acquisition_channel"].notna(), "unknown")
    )
    out["revenue"] = out["revenue"].fillna(0.0).astype(float)
    out["presale_failure"] = out["presale_failure"].fillna(False).astype(bool)
    if by is not None and ws.has("personas"):
        per = ws.table("personas")
        # segment by the persona's name when the table has one (readable in every chart and table)
        col = f"{by}_name" if f"{by}_name" in per.columns else by
        per = per.select("customer_id", per[col].cast("string").name(by)).to_pandas()
        out = out.merge(per, on="customer_id", how="left")
        out[by] = out[by].astype(object).where(out[by].notna(), "unassigned").astype(str)
    return out.sort_values(["customer_id", "month"], ignore_index=True)


# --- scenarios ------------------------------------------------------------------------------------------------


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
    h = stage_history.sort_values([cid, "month"])
    nxt = h.groupby(cid)["stage"].shift(-1).astype(object)
    month = pd.to_datetime(h["month"])
    gap = (month.groupby(h[cid]).shift(-1) - month).dt.days
    at = (h["stage"].astype(str) == src) & nxt.notna() & (gap <= 31)
    d = pd.DataFrame(
        {
            "conv": nxt[at].astype(str) == dst,
            "flag": h.loc[at, flag].astype(bool),
            "seg": h.loc[at, by].astype(str) if by else "",
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
        gs = [model.segments_.index(s) for s in segs] if segs else list(range(len(model.segments_)))
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
            arr[np.ix_(range(arr.shape[0]), gs, idx)] *= x
        elif kind == "move":
            for seg in (a, b):
                if seg not in model.segments_:
                    raise ValueError(f"move: no segment {seg!r}; the model's segments are {model.segments_}")
            i, j = model.segments_.index(a), model.segments_.index(b)
            moved = arr[:, :, i, :] * x
            arr[:, :, i, :] -= moved
            arr[:, :, j, :] += moved
        else:  # pragma: no cover - built by the Scenario helpers
            raise ValueError(f"unknown lever {kind!r}")
    return T, rev, arr


def simulate(
    model: JourneyModel,
    scenarios: Sequence[Scenario],
    months: int = 12,
    draws: int | None = 2000,
    start: str | np.ndarray = "latest",
    arrivals: str | np.ndarray | None = "mean",
    random_state: int | None = None,
    population: bool = False,
) -> pd.DataFrame:
    """Propagate the stage distribution under the baseline and each scenario, for every posterior draw.

    Parameters
    ----------
    model : JourneyModel
        Fitted.
    scenarios : list of Scenario
        The baseline is always included (named ``baseline``).
    months : int
        Horizon.
    draws : int or None
        Posterior draws (the same draws for every scenario, so differences are paired); ``None`` uses the
        posterior mean only.
    start : "latest", "empty" or array (segment, stage)
        Customers at month 0: where they are in the history's latest month, nobody, or given counts.
    arrivals : "mean", "history", None or array (months, segment, stage)
        New customers per month: the history's average, the history's month-by-month arrivals (to replay the
        observed period), none, or given.
    population : bool
        ``False`` (default): the exact expected counts; the bands are parameter uncertainty only, and one
        scenario takes milliseconds. ``True``: also the chance variation of *this* finite population (which
        customers happen to move), by per-customer Monte Carlo with common random numbers across scenarios --
        slower (use a few hundred draws); the band to hold a realised outcome against.

    Returns
    -------
    DataFrame
        Tidy: ``scenario, month, metric, mean, p5, p95, diff_mean, diff_p5, diff_p95`` where ``metric`` is
        ``revenue``, ``cumulative_revenue`` or ``customers:<stage>``, and ``diff_*`` is the difference to the
        baseline.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "revenue": [0.0, 10.0, 0.0, 0.0],
    ...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
    ...                   "stage": ["consideration", "purchase", "consideration", "lost"]})
    >>> m = JourneyModel(prior=0.0).fit(h)
    >>> out = simulate(m, [Scenario("better", [Scenario.scale("consideration", "purchase", 1.5)])],
    ...                months=1, draws=None, start=np.array([[0, 10, 0, 0, 0, 0, 0, 0, 0, 0]]), arrivals=None)
    >>> out.query("metric == 'customers:purchase'")[["scenario", "mean"]].values.tolist()
    [['baseline', 5.0], ['better', 7.5]]
    """
    check_is_fitted(model, "alpha_")
    n_g, n_s = len(model.segments_), len(model.stages)
    if draws is None:  # the posterior mean only: no parameter uncertainty
        T0, rev0 = model.matrices()[None], model.revenue_mean_[None]
    else:
        T0, rev0 = model.draw(draws, random_state)
    if isinstance(start, str):
        x0 = model.start_counts_ if start == "latest" else np.zeros((n_g, n_s))
    else:
        x0 = np.asarray(start, dtype=float).reshape(n_g, n_s)
    if arrivals is None:
        arr0 = np.zeros((months, n_g, n_s))
    elif isinstance(arrivals, str):
        if arrivals == "mean":
            arr0 = np.broadcast_to(model.arrival_rate_, (months, n_g, n_s)).copy()
        else:  # "history": the observed month-by-month arrivals, then none
            arr0 = np.zeros((months, n_g, n_s))
            k = min(months, model.arrivals_by_month_.shape[0])
            arr0[:k] = model.arrivals_by_month_[:k]
    else:
        arr0 = np.asarray(arrivals, dtype=float).reshape(months, n_g, n_s)
    if population:
        results = _population_paths(model, [Scenario("baseline"), *scenarios], months, T0, rev0, x0, arr0, random_state)
    else:
        results = _expected_paths(model, [Scenario("baseline"), *scenarios], months, T0, rev0, x0, arr0)
    stages = list(model.stages)
    names = ["revenue", "cumulative_revenue", *[f"customers:{x}" for x in stages]]
    base_c, base_m = results["baseline"]
    base = np.concatenate([base_m[:, None], base_m.cumsum(axis=0)[:, None], base_c.transpose(0, 2, 1)], axis=1)
    frames = []
    for name, (cust, money) in results.items():
        # (months, metric, draws), summarised along the draws in one go
        v = np.concatenate([money[:, None], money.cumsum(axis=0)[:, None], cust.transpose(0, 2, 1)], axis=1)
        q = np.percentile(v, [5, 95], axis=2)
        dq = np.percentile(v - base, [5, 95], axis=2)
        frames.append(
            pd.DataFrame(
                {
                    "scenario": name,
                    "month": np.repeat(np.arange(1, months + 1), len(names)),
                    "metric": names * months,
                    "mean": v.mean(axis=2).ravel(),
                    "p5": q[0].ravel(),
                    "p95": q[1].ravel(),
                    "diff_mean": (v - base).mean(axis=2).ravel(),
                    "diff_p5": dq[0].ravel(),
                    "diff_p95": dq[1].ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _step(model: JourneyModel, x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """One month of expected counts ``x`` (draws, segment, stage) under ``T`` (draws, segment, from, to).

    Moves out of a shared stage into an unshared one land in the segments in the fitted proportions
    (``switch_mix_``): a prospect who buys becomes one of the personas.
    """
    y = np.matmul(x[:, :, None, :], T)[:, :, 0, :]
    shared = getattr(model, "shared_index_", [])
    if not shared:
        return y
    switch = ~model.switch_own_[shared]  # (shared from, to)
    flow = x[:, :, shared, None] * T[:, :, shared, :] * switch  # (draws, segment, shared from, to)
    y -= flow.sum(axis=2)
    y += np.einsum("dij,ijg->dgj", flow.sum(axis=1), model.switch_mix_[shared])
    return y


def _expected_paths(model, scenarios, months, T0, rev0, x0, arr0) -> dict:
    """Exact propagation of expected counts, for every posterior draw at once."""
    draws, n_g, n_s = T0.shape[0], T0.shape[1], T0.shape[2]
    results = {}
    for sc in scenarios:
        T, rev, arr = _apply(model, sc, T0, rev0, np.broadcast_to(arr0, (draws, *arr0.shape)).copy())
        x = np.broadcast_to(x0, (draws, n_g, n_s)).copy()
        cust = np.zeros((months, draws, n_s))
        money = np.zeros((months, draws))
        for m in range(months):
            # a month: everyone moves one step, then this month's arrivals join in their first stage, and each
            # customer earns the revenue of the stage they are in this month
            x = _step(model, x, T) + arr[:, m]
            cust[m] = x.sum(axis=1)
            money[m] = (x * rev).sum(axis=(1, 2))
        results[sc.name] = (cust, money)
    return results


def _population_paths(model, scenarios, months, T0, rev0, x0, arr0, random_state) -> dict:
    """Per-customer Monte Carlo with common random numbers: the spread of a finite population's outcome.

    Every customer draws one uniform per month, shared by all scenarios (inverse-CDF transitions), so a
    scenario differs from the baseline only where its lever acts -- the same coupling as the generator's
    counterfactuals. Revenue noise per stage and month is shared too.
    """
    rng = np.random.default_rng(None if random_state is None else random_state + 1)
    draws, n_g, n_s = T0.shape[0], T0.shape[1], T0.shape[2]
    start = np.rint(x0).astype(int)
    arr_n = np.rint(arr0).astype(int)
    g_list, s_list, t_list = [], [], []
    for g in range(n_g):
        for s in range(n_s):
            g_list.append(np.full(start[g, s], g))
            s_list.append(np.full(start[g, s], s))
            t_list.append(np.full(start[g, s], -1))
            for m in range(months):
                g_list.append(np.full(arr_n[m, g, s], g))
                s_list.append(np.full(arr_n[m, g, s], s))
                t_list.append(np.full(arr_n[m, g, s], m))
    gc, s0, tc = np.concatenate(g_list), np.concatenate(s_list), np.concatenate(t_list)
    sd = np.sqrt(model.revenue_var_)
    applied = [_apply(model, sc, T0, rev0, np.zeros((draws, months, n_g, n_s))) for sc in scenarios]
    out = {sc.name: (np.zeros((months, draws, n_s)), np.zeros((months, draws))) for sc in scenarios}
    shared = np.isin(np.arange(n_s), getattr(model, "shared_index_", []))
    mix_cdf = np.cumsum(model.switch_mix_, axis=2) if shared.any() else None
    for d in range(draws):
        states = [np.where(tc < 0, s0, -1) for _ in scenarios]
        segs = [gc.copy() for _ in scenarios]
        cdfs = [np.cumsum(T[d], axis=2) for T, _, _ in applied]
        for m in range(months):
            u = rng.random(len(gc))
            v = rng.random(len(gc))  # which segment a customer joins on leaving a shared stage
            z = rng.standard_normal((n_g, n_s))
            for k, sc in enumerate(scenarios):
                st, sg = states[k], segs[k]
                on = st >= 0
                was = st.copy()
                cdf = cdfs[k][sg[on], st[on]]
                st[on] = np.minimum((u[on, None] > cdf).sum(axis=1), n_s - 1)
                if mix_cdf is not None:
                    hop = on & (was >= 0) & shared[np.maximum(was, 0)]
                    hop &= ~model.switch_own_[np.maximum(was, 0), np.maximum(st, 0)]
                    if hop.any():
                        c = mix_cdf[was[hop], st[hop]]
                        sg[hop] = np.minimum((v[hop, None] > c).sum(axis=1), n_g - 1)
                new = tc == m
                st[new] = s0[new]
                sg[new] = gc[new]
                here = st >= 0
                counts = np.zeros((n_g, n_s))
                np.add.at(counts, (sg[here], st[here]), 1)
                rev = applied[k][1][d]
                cust, money = out[sc.name]
                cust[m, d] = counts.sum(axis=0)
                money[m, d] = (counts * rev).sum() + (np.sqrt(counts) * sd * z).sum()
    return out


def compare(results: pd.DataFrame) -> pd.DataFrame:
    """Scenarios ranked by their revenue gain over the horizon (cumulative revenue at the last month).

    Returns ``scenario, revenue, gain, gain_p5, gain_p95, chance_of_gain`` is not available from bands alone,
    so the columns are ``scenario, revenue, gain, gain_p5, gain_p95``.
    """
    last = results[(results["metric"] == "cumulative_revenue") & (results["month"] == results["month"].max())]
    out = last[["scenario", "mean", "diff_mean", "diff_p5", "diff_p95"]].rename(
        columns={"mean": "revenue", "diff_mean": "gain", "diff_p5": "gain_p5", "diff_p95": "gain_p95"}
    )
    return out.sort_values("gain", ascending=False, ignore_index=True)


def fan_chart(results: pd.DataFrame, metric: str = "revenue", difference: bool = True) -> go.Figure:
    """A fan chart per scenario: the mean and the 5-95% band of ``metric`` (or its difference to baseline)."""
    fig = go.Figure()
    pre = "diff_" if difference else ""
    for name, d in results[results["metric"] == metric].groupby("scenario", sort=False):
        if difference and name == "baseline":
            continue
        x = d["month"].tolist()
        fig.add_trace(
            go.Scatter(
                x=x + x[::-1],
                y=d[f"{pre}p95"].tolist() + d[f"{pre}p5"].tolist()[::-1],
                fill="toself",
                opacity=0.2,
                line={"width": 0},
                name=f"{name} 5-95%",
                showlegend=False,
            )
        )
        fig.add_trace(go.Scatter(x=x, y=d[f"{pre}mean"], mode="lines+markers", name=name))
    what = f"{metric} vs baseline" if difference else metric
    fig.update_layout(title=f"{what} by month (5-95% band)", xaxis_title="month", yaxis_title=what)
    return fig


def future_state_figure(results: pd.DataFrame, scenario: str, month: int | None = None) -> go.Figure:
    """Customers per stage now-forward: the baseline beside ``scenario`` at ``month`` (default: the last)."""
    month = int(results["month"].max()) if month is None else month
    d = results[(results["month"] == month) & results["metric"].str.startswith("customers:")]
    fig = go.Figure()
    for name in ("baseline", scenario):
        x = d[d["scenario"] == name]
        fig.add_trace(
            go.Bar(
                x=x["metric"].str.removeprefix("customers:"),
                y=x["mean"],
                name=name,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": x["p95"] - x["mean"],
                    "arrayminus": x["mean"] - x["p5"],
                },
            )
        )
    fig.update_layout(barmode="group", title=f"Customers at each stage in month {month}: current vs future journey")
    return fig


#: Scenarios a CJO asks about first; `cx simulate` compares them.
PRESETS: tuple[Scenario, ...] = (
    Scenario("conversion +10%", [Scenario.scale("consideration", "purchase", 1.1)]),
    Scenario("at-risk churn -5 pts", [Scenario.cut("at_risk", "churned", 0.05)]),
    Scenario("onboarding -> repeat +10%", [Scenario.scale("onboarding", "repeat", 1.1)]),
    Scenario("AOV +5%", [Scenario.aov(1.05)]),
)


def build(workspace, months: int = 12, draws: int = 2000, scenarios: Sequence[Scenario] | None = None) -> pd.DataFrame:
    """Fit the journey model to a workspace and write ``journey_transitions`` (``segment, from_stage,
    to_stage, probability, transitions``) and ``scenarios`` (the :func:`simulate` frame for the presets, the
    pre-sale service fix and any ``scenarios`` given). Returns :func:`compare` of them."""
    from cxlib.engine import Workspace, connect

    ws = workspace if isinstance(workspace, Workspace) else connect(workspace)
    h = history_from_workspace(ws)
    by = "persona" if "persona" in h.columns else None
    # personas are found among buyers: the prospects' stages are one chain, and a buyer joins a persona
    model = JourneyModel(by=by, shared_stages=PROSPECT_STAGES if by else ()).fit(h)
    todo = [*PRESETS, *(scenarios or [])]
    try:  # the failure acts before the first purchase, where personas are shared: one estimate for everyone
        todo.append(Scenario("fix pre-sale service failure", service_failure_lever(h)))
    except DataError:
        pass
    results = simulate(model, todo, months=months, draws=draws)
    P = model.matrices()
    stages = list(model.stages)
    g, i, j = np.meshgrid(range(len(model.segments_)), range(len(stages)), range(len(stages)), indexing="ij")
    ws.write(
        "journey_transitions",
        pd.DataFrame(
            {
                "segment": np.array(model.segments_, dtype=object)[g.ravel()],
                "from_stage": np.array(stages, dtype=object)[i.ravel()],
                "to_stage": np.array(stages, dtype=object)[j.ravel()],
                "probability": P.ravel(),
                "transitions": model.counts_.ravel().astype("int64"),
            }
        ),
    )
    ws.write("scenarios", results)
    return compare(results)
