"""The journey model: monthly stage-to-stage transitions per segment, with their posterior, and revenue per stage.

:class:`JourneyModel` estimates, per segment (e.g. persona), the monthly transition probabilities with a
Dirichlet posterior on the transition counts, and the revenue per customer-month in each stage with a
conjugate normal posterior on its mean. The absorbing-chain algebra (``(I - Q)^-1``) gives the expected
months to absorption and the customer lifetime value per stage.

Examples
--------
>>> import pandas as pd
>>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "revenue": [0.0, 10.0, 0.0, 0.0],
...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01"] * 2),
...                   "stage": ["consideration", "purchase", "consideration", "lost"]})
>>> m = JourneyModel(stages=["consideration", "purchase", "lost"], prior=0.0).fit(h)
>>> m.transition_matrix_.loc["consideration"].tolist()
[0.0, 0.5, 0.5]
>>> m.absorbing_
['purchase', 'lost']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cxlib._estimator import Estimator, check_fitted
from cxlib.schema import STAGES, DataError
from cxlib.simulate.arrivals import closed_cohort
from cxlib.simulate.durations import duration_matrices, fit_durations, stage_durations
from cxlib.simulate.panel import cell_counts, month_frame, segment_codes, stage_codes, transition_counts
from cxlib.simulate.recency import fit_recency, n_buckets, purchase_recency, start_by_recency
from cxlib.simulate.seasons import (
    CYCLE_MONTHS,
    SEASON_MONTHS,
    arrival_cycle,
    cycle_words,
    fit_seasons,
    fit_year_seasons,
)

__all__ = ["POOL", "PROSPECT_STAGES", "JourneyModel"]

#: Pseudo-transitions per row that pull a segment toward the overall chain (see ``JourneyModel(pool=...)``):
#: a persona row with hundreds of transitions barely moves; one with a handful mostly follows everyone.
POOL: float = 10.0

#: Appended to a segment's name for its customers first seen after the history's first month (the customers
#: who arrived while the data ran, told apart from those already there when it starts: see
#: :func:`~cxlib.simulate.workspace.cohort_segments`). New customers in a forecast join these segments.
ARRIVED = " · arrived"

#: The buyer-journey stages before a first purchase. Personas are found among buyers, so a model fitted per
#: persona shares these stages across personas: ``JourneyModel(by="persona", shared_stages=PROSPECT_STAGES)``.
PROSPECT_STAGES: tuple[str, ...] = ("awareness", "consideration", "lost")


def _require(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; it has {list(df.columns)}")


class JourneyModel(Estimator):
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
    pool : float
        Strength of the hierarchical prior: each segment's row gets ``pool`` pseudo-transitions spread as the
        overall chain's row (all segments together), so a segment with few transitions is pulled toward the
        overall chain and one with none takes it (0: no pooling; :func:`~cxlib.simulate.persona_model` uses
        :data:`POOL`).
    seasons : bool
        Estimate month-of-year profiles of revenue and transitions (:mod:`cxlib.simulate.seasons`): every
        calendar month its own when the history spans :data:`~cxlib.simulate.seasons.SEASON_MONTHS` months or
        more; from :data:`~cxlib.simulate.seasons.CYCLE_MONTHS` to 23 months a smooth yearly cycle (of
        arrivals too), shrunk toward flat by its noise; ``False``: always flat.
    durations : int
        Months in a stage told apart (:mod:`cxlib.simulate.durations`; 0: a plain chain).
    recency : int
        Months since the last purchase told apart (:mod:`cxlib.simulate.recency`: buckets 0 to ``recency``;
        0: revenue by stage alone).
    purchases : {"recency", "count", "gap"}
        With ``recency``, what its buckets tell apart (:func:`~cxlib.simulate.recency.bucket_moves`).

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
        Where a move out of a shared stage lands: ``switch_mix_[mover's segment, from, to, segment]`` are
        the observed segment shares of that move among the movers of the mover's cohort (arrived or not);
        ``switch_own_[from, to]`` is true for moves that keep the segment.
    start_ : DataFrame
        Customers per segment and stage in the latest month (the default forecast start).
    arrivals_ : DataFrame
        Mean new customers per month by segment and first stage (the default forecast arrivals).
    seasonal_ : bool
        Whether the forecast follows month-of-year profiles; ``seasonality_`` says why or why not.
    revenue_season_, transition_season_ : ndarray
        Month-of-year multipliers (January first) of revenue ``(stage, 12)`` and of each move
        ``(from, to, 12)``, by the calendar month the move starts in; all ones when flat. See
        :meth:`season_profile`.
    arrival_season_ : ndarray (12,)
        Month-of-year multipliers of new customers (mean 1) from the one-year cycle, used by every arrival
        model (:func:`~cxlib.simulate.arrivals.forecast_series`); all ones otherwise (with two years the
        ``seasonal`` arrival model has its own profile).
    transition_duration_ : ndarray (from, to, durations + 1)
        Multipliers of each move by the months spent in its from-stage (all ones without ``durations``).
    start_durations_ : ndarray (segment, stage, durations + 1)
        The latest month's customers by months in their stage.
    purchase_chance_ : ndarray (segment, stage)
        The share of customer-months with a purchase (revenue).
    recency_purchase_, recency_revenue_ : ndarray (stage, buckets)
        Multipliers of the purchase chance and of the revenue per customer-month by purchase bucket
        (:func:`~cxlib.simulate.recency.n_buckets`; one column of ones without ``recency``).
    start_state_ : ndarray (segment, stage, durations + 1, buckets)
        The latest month's customers by months in their stage and purchase bucket after the month (the start).
    purchase_kind_ : str
        ``purchases`` as fitted (``"recency"`` without ``recency``).
    """

    def __init__(
        self,
        by: str | None = None,
        stages: Sequence[str] = STAGES,
        prior: float = 0.1,
        random_state: int | None = 0,
        shared_stages: Sequence[str] = (),
        pool: float = 0.0,
        seasons: bool = True,
        durations: int = 0,
        recency: int = 0,
        purchases: str = "recency",
    ) -> None:
        self.by = by
        self.stages = stages
        self.prior = prior
        self.random_state = random_state
        self.shared_stages = shared_stages
        self.pool = pool
        self.seasons = seasons
        self.durations = durations
        self.recency = recency
        self.purchases = purchases

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
        s_idx = stage_codes(h["stage"], stages)
        self.segments_, g_idx = segment_codes(h[self.by] if self.by is not None else None, len(h))
        frame = month_frame(h[cid], h["month"], s_idx, g_idx)
        n_g, n_s = len(self.segments_), len(stages)
        counts = transition_counts(frame, n_g, n_s)
        if counts.sum() == 0:
            months = frame["m"].nunique()
            raise DataError(
                f"stage history: no month-to-month transitions to learn from ({months} month end(s), "
                f"{frame['c'].nunique()} customer(s)); the journey model needs customers seen in consecutive "
                "months -- at least 3 month ends of data"
            )
        self.counts_ = counts
        unknown = set(self.shared_stages) - set(stages)
        if unknown:
            raise DataError(f"shared_stages {sorted(unknown)} are not in the model's stages {stages}")
        self.shared_index_ = [stages.index(s) for s in self.shared_stages] if n_g > 1 else []
        self.switch_mix_, self.switch_own_ = _switching(counts, self.shared_index_, self.segments_)
        self.alpha_ = self._alpha(counts)
        self.__dict__.pop("_draws", None)
        self.absorbing_ = [stages[i] for i in range(n_s) if counts[:, i, :].sum() == counts[:, i, i].sum()]
        rev = h["revenue"].to_numpy(dtype=float) if "revenue" in h.columns else np.zeros(len(h))
        mean, se, var, months = _revenue_posterior(g_idx, s_idx, rev, (n_g, n_s), self.shared_index_)
        self.revenue_mean_, self.revenue_se_ = mean, se
        self.revenue_var_ = var  # variance of revenue per customer-month
        self.revenue_ = pd.DataFrame(
            {
                "segment": np.repeat(self.segments_, n_s),
                "stage": stages * n_g,
                "revenue": mean.ravel(),
                "se": se.ravel(),
                "months": months.ravel().astype(int),
            }
        )
        flows = _starts_and_arrivals(frame, n_g, n_s)
        self.start_counts_, self.arrival_rate_, self.arrivals_by_month_ = flows[:3]
        self.first_month_, self.n_months_, self.censored_ = flows[3:]
        self.last_month_ = pd.Timestamp(pd.to_datetime(h["month"]).max()).to_period("M").start_time
        K = max(0, int(self.durations))
        self.transition_duration_ = fit_durations(frame, self.matrices(), K) if K else np.ones((n_s, n_s, 1))
        rev = rev[frame.index.to_numpy()]  # in the panel's order
        self._fit_seasons(frame, rev, *self._fit_recency(frame, rev, K))
        return self

    def _fit_recency(self, frame: pd.DataFrame, rev: np.ndarray, K: int) -> tuple[np.ndarray, np.ndarray]:
        """The purchase chance and revenue by purchase bucket (:func:`~cxlib.simulate.recency.fit_recency`), the
        start by stage, months in it and bucket; returns each row's months in its stage and bucket."""
        n_g, n_s = self.revenue_mean_.shape
        R = max(0, int(self.recency))
        self.purchase_kind_ = kind = self.purchases if R > 0 else "recency"
        buckets = purchase_recency(frame, rev, R, kind)
        fitted = fit_recency(frame, rev, self.revenue_mean_, R, self.shared_index_, kind, buckets)
        self.purchase_chance_, self.recency_purchase_, self.recency_revenue_ = fitted
        d, _ = stage_durations(frame, K)
        shape = (n_g, n_s, K + 1, n_buckets(R, kind))
        self.start_state_ = start_by_recency(frame, rev, d, shape, kind, buckets[0])
        self.start_durations_ = self.start_state_.sum(axis=3)
        return d, buckets[0]

    def _fit_seasons(self, frame: pd.DataFrame, rev: np.ndarray, d: np.ndarray, k: np.ndarray) -> None:
        """Month-of-year profiles: every calendar month's own with two years of history or more; a smooth yearly
        cycle shrunk by its noise with one year to 23 months; flat (all ones) otherwise or with ``seasons=False``.
        ``seasonality_`` says which and why."""
        n_s = len(self.stages)
        self.revenue_season_, self.transition_season_ = np.ones((n_s, 12)), np.ones((n_s, n_s, 12))
        self.arrival_season_ = np.ones(12)
        n = self.n_months_
        self.seasonal_ = False
        if not self.seasons:
            self.seasonality_ = "flat: seasons=False"
        elif n >= SEASON_MONTHS:
            self.seasonal_ = True
            fitted = fit_seasons(*self._by_duration(frame, d, k), rev)
            self.revenue_season_, self.transition_season_ = fitted
            self.seasonality_ = f"month of year, from {n} months of history"
        elif n >= CYCLE_MONTHS:
            self._fit_cycle(frame, rev, d, k)
        else:
            self.seasonality_ = (
                f"flat: {n} months of history; a yearly cycle needs {CYCLE_MONTHS} or more (every month of the "
                f"year its own: {SEASON_MONTHS})"
            )

    def _fit_cycle(self, frame: pd.DataFrame, rev: np.ndarray, d: np.ndarray, k: np.ndarray) -> None:
        """One year to 23 months: the smooth yearly cycle of revenue, moves and arrivals
        (:func:`~cxlib.simulate.seasons.fit_year_seasons`, :func:`~cxlib.simulate.seasons.arrival_cycle`)."""
        n = self.n_months_
        r_rev, r_move, summary = fit_year_seasons(*self._by_duration(frame, d, k), rev)
        series = self.arrivals_by_month_.sum(axis=(1, 2))
        series[0] = np.nan  # censored: the customers already there
        arrivals, arrival_shrink = arrival_cycle(series, int(frame["m"].max()))
        if closed_cohort(series[1:]):  # nobody new is coming: no cycle of arrivals to speak of
            arrivals, arrival_shrink = np.ones(12), 0.0
        self.revenue_season_, self.transition_season_, self.arrival_season_ = r_rev, r_move, arrivals
        moved = max(np.abs(r_rev - 1).max(), np.abs(r_move - 1).max(), np.abs(arrivals - 1).max())
        self.seasonal_ = bool(moved > 1e-9)
        profile = self.season_profile() if self.seasonal_ else None
        self.seasonality_ = cycle_words(n, profile, summary, arrivals, arrival_shrink)

    def _by_duration(self, frame: pd.DataFrame, d: np.ndarray, k: np.ndarray) -> tuple:
        """The panel codes, matrices and revenue means the seasons are fitted against: each segment split by months
        in the stage ``d`` (its chain the duration's) and purchase bucket ``k`` (its revenue the bucket's), so a
        season is what the calendar adds beyond how long customers have been where they are and when they bought."""
        P, mean = self.matrices(), self.revenue_mean_
        r = self.transition_duration_
        D, Rb = r.shape[2], self.recency_revenue_.shape[1]
        g = frame["g"].to_numpy()
        if D > 1:
            g = g * D + d
            P = np.stack([duration_matrices(P, r, k) for k in range(D)], axis=1).reshape(-1, *P.shape[1:])
            mean = np.repeat(mean, D, axis=0)
        if Rb > 1:
            g = g * Rb + k
            P = np.repeat(P, Rb, axis=0)
            mean = (mean[:, None, :] * self.recency_revenue_.T[None]).reshape(-1, mean.shape[1])
        return (frame.assign(g=g) if D > 1 or Rb > 1 else frame), P, mean

    def _alpha(self, counts: np.ndarray) -> np.ndarray:
        counts = counts.copy()
        for i in getattr(self, "shared_index_", []):  # the same exits in every segment
            counts[:, i, :] = counts[:, i, :].sum(axis=0)
        alpha = counts + self.prior
        if self.pool > 0 and counts.shape[0] > 1:  # a hierarchical prior: rows pulled toward the overall chain
            overall = counts.sum(axis=0)
            seen = overall.sum(axis=1, keepdims=True)
            mean = np.divide(overall, seen, out=np.zeros_like(overall), where=seen > 0)
            alpha = alpha + self.pool * mean[None]
            counts = counts + self.pool * mean[None]
        # a row never observed stays put: absorbing, unless the data says otherwise
        empty = counts.sum(axis=2) == 0
        for g, i in zip(*np.nonzero(empty), strict=True):
            alpha[g, i] = 0.0
            alpha[g, i, i] = 1.0
        return alpha

    # --- fitted views -------------------------------------------------------------------------------------
    @property
    def transition_matrix_(self) -> pd.DataFrame:
        check_fitted(self, "alpha_")
        p = self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)
        stages = list(self.stages)
        if len(self.segments_) == 1:
            return pd.DataFrame(p[0], index=pd.Index(stages, name="from"), columns=pd.Index(stages, name="to"))
        idx = pd.MultiIndex.from_product([self.segments_, stages], names=["segment", "from"])
        return pd.DataFrame(p.reshape(-1, len(stages)), index=idx, columns=pd.Index(stages, name="to"))

    def matrices(self) -> np.ndarray:
        """Posterior mean transition matrices, shape ``(segment, from, to)``."""
        check_fitted(self, "alpha_")
        return self.alpha_ / self.alpha_.sum(axis=2, keepdims=True)

    def draw(self, draws: int = 2000, random_state: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Posterior draws: transition matrices ``(draws, segment, from, to)`` and revenue means
        ``(draws, segment, stage)``."""
        check_fitted(self, "alpha_")
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
        check_fitted(self, "alpha_")
        P = self.matrices()
        n_g, n_s = P.shape[0], P.shape[1]
        J = np.zeros((n_g, n_s, n_g, n_s))
        for g in range(n_g):
            J[g, :, g, :] = P[g]
        for i in getattr(self, "shared_index_", []):
            for j in np.nonzero(~self.switch_own_[i])[0]:
                J[:, i, :, j] = P[:, i, j][:, None] * self.switch_mix_[:, i, j]
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
        """:meth:`clv` for every segment: segments as rows, stages as columns.

        A stage no customer was in at any month end (onboarding, say, when it lasts under a month) has no
        observed month to move from, so its value would be the prior's stand-in (0 when nobody is ever seen
        there): its column is left empty (NaN) rather than shown as a value of 0.

        Examples
        --------
        >>> h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "stage": ["repeat", "repeat", "repeat", "lost"],
        ...                   "month": pd.to_datetime(["2024-01-31", "2024-02-29"] * 2), "revenue": [10.0, 10, 10, 0]})
        >>> t = JourneyModel(stages=["onboarding", "repeat", "lost"], prior=0.0).fit(h).clv_table()
        >>> bool(t["onboarding"].isna().all()), bool(t["repeat"].iloc[0] > 0)
        (True, True)
        """
        out = pd.DataFrame({s: self.clv(annual_discount, s) for s in self.segments_}).T
        unseen = np.asarray(self.counts_).sum(axis=(0, 2)) == 0  # never the stage a month started in
        out.loc[:, [s for s, u in zip(self.stages, unseen, strict=True) if u]] = np.nan
        return out

    def segment_positions(self, names: Sequence[str] = ()) -> list[int]:
        """Positions in ``segments_`` of the segments ``names`` name (all for none): a name stands for its
        segment and the one of its customers who arrived later (``name + ARRIVED``), so that a lever for a
        persona reaches both.

        Examples
        --------
        >>> m = JourneyModel(); m.segments_ = ["p", "p · arrived", "q"]
        >>> m.segment_positions(["p"]), m.segment_positions(["p · arrived"]), m.segment_positions()
        ([0, 1], [1], [0, 1, 2])
        """
        if not names:
            return list(range(len(self.segments_)))
        out = []
        for name in names:
            found = [i for i, g in enumerate(self.segments_) if g in (str(name), f"{name}{ARRIVED}")]
            if not found:
                raise ValueError(f"no segment {name!r}; the model's segments are {self.segments_}")
            out += found
        return sorted(set(out))

    def arrival_segment(self, name: str) -> int:
        """Where new customers of segment ``name`` join: its arrived customers' segment when it has one.

        Examples
        --------
        >>> from types import SimpleNamespace
        >>> m = SimpleNamespace(segments_=["Big spenders", "Big spenders · arrived", "Browsers"])
        >>> JourneyModel.arrival_segment(m, "Big spenders"), JourneyModel.arrival_segment(m, "Browsers")
        (1, 2)
        """
        for g in (f"{name}{ARRIVED}", str(name)):
            if g in self.segments_:
                return self.segments_.index(g)
        raise ValueError(f"no segment {name!r}; the model's segments are {self.segments_}")

    def _seg(self, segment: str | None) -> int:
        check_fitted(self, "alpha_")
        if segment is None:
            if len(self.segments_) > 1:
                raise ValueError(f"name a segment: one of {self.segments_}")
            return 0
        return self.segments_.index(str(segment))

    def season_profile(self, threshold: float = 0.05) -> pd.DataFrame:
        """The fitted month-of-year multipliers, one row per calendar month (1-12): ``revenue`` (per
        customer-month, the stages weighted by the revenue they earned) and every move ``"from -> to"`` that
        some month changes by more than ``threshold``. All ones when the model is flat (``seasonal_``)."""
        check_fitted(self, "alpha_")
        earned = (self.revenue_mean_ * self.revenue_["months"].to_numpy().reshape(self.revenue_mean_.shape)).sum(0)
        w = earned / earned.sum() if earned.sum() > 0 else np.full(len(earned), 1 / len(earned))
        out = pd.DataFrame({"revenue": w @ self.revenue_season_}, index=pd.RangeIndex(1, 13, name="month"))
        stages = list(self.stages)
        for i, j in zip(*np.nonzero(np.abs(self.transition_season_ - 1).max(axis=2) > threshold), strict=True):
            out[f"{stages[i]} -> {stages[j]}"] = self.transition_season_[i, j]
        return out

    def forecast(self, months: int = 12, draws: int = 2000) -> pd.DataFrame:
        """Expected customers per stage and revenue per month, with 5-95% bands: the baseline of
        :func:`simulate`."""
        from cxlib.simulate.run import simulate  # the propagation uses the model: imported when called

        out = simulate(self, [], months=months, draws=draws)
        return out[out["scenario"] == "baseline"].drop(columns="scenario").reset_index(drop=True)


# --- the fitting steps ----------------------------------------------------------------------------------------


def _switching(
    counts: np.ndarray, shared_index: Sequence[int], segments: Sequence[str] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Where a move out of a shared stage lands: the segment shares of that move for a mover from each
    segment ``(from segment, from, to, segment)``, and which moves keep the segment ``(from, to)``.

    The shares are those of the movers of the mover's own cohort (:data:`ARRIVED` or not, when the segments
    are split so), else of everyone: a new customer who buys stays among the arrived.
    """
    n_g, n_s = counts.shape[0], counts.shape[1]
    cohort = np.array([str(g).endswith(ARRIVED) for g in segments] or [False] * n_g)
    mix = np.zeros((n_g, n_s, n_s, n_g))
    own = np.ones((n_s, n_s), bool)
    for i in shared_index:
        for j in range(n_s):
            total = counts[:, i, j].sum()
            if j in shared_index or total == 0:
                continue
            own[i, j] = False
            for c in np.unique(cohort):
                same = counts[:, i, j] * (cohort == c)
                mix[cohort == c, i, j] = (same / same.sum()) if same.sum() > 0 else counts[:, i, j] / total
    return mix, own


def _sd(row: pd.Series) -> float:
    return row["std"] if row["count"] > 1 and pd.notna(row["std"]) else 0.0


def _revenue_posterior(
    g_idx: np.ndarray, s_idx: np.ndarray, rev: np.ndarray, shape: tuple[int, int], shared_index: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Revenue per customer-month by (segment, stage): the mean, its standard error (a conjugate normal
    posterior with a flat prior), the variance and the months observed. Shared stages pool all segments."""
    r = pd.DataFrame({"g": g_idx, "s": s_idx, "r": rev})
    stats = r.groupby(["g", "s"])["r"].agg(["mean", "std", "count"])
    mean, se, var, months = (np.zeros(shape) for _ in range(4))
    for (gi, si), row in stats.iterrows():
        mean[gi, si] = row["mean"]
        se[gi, si] = _sd(row) / np.sqrt(row["count"])
        months[gi, si] = row["count"]
        var[gi, si] = _sd(row) ** 2
    if shared_index:  # the shared stages' revenue: all segments together
        pooled = r[np.isin(r["s"], shared_index)].groupby("s")["r"].agg(["mean", "std", "count"])
        for si, row in pooled.iterrows():
            sd = _sd(row)
            mean[:, si], se[:, si], var[:, si] = row["mean"], sd / np.sqrt(row["count"]), sd**2
    return mean, se, var, months


def _starts_and_arrivals(frame: pd.DataFrame, n_g: int, n_s: int) -> tuple:
    """Where customers are in the latest month ``(segment, stage)``, the mean arrivals per month by first
    stage, the arrivals month by month ``(month, segment, stage)``, the first month, the number of months and
    the customers already active in the first month.

    Left censoring: a customer already there in the data's first month did not arrive then -- the data
    started. They are in ``by_month[0]`` (to replay the observed period from nothing) but not in the mean
    arrival rate, which is taken over the later months.
    """
    now = frame[frame["m"] == frame["m"].max()]
    start = cell_counts((n_g, n_s), now["g"].to_numpy(), now["s"].to_numpy())
    c = frame["c"].to_numpy()
    first = frame[np.r_[True, c[1:] != c[:-1]]] if len(c) else frame  # each customer's first row (sorted by c, m)
    n_months = max(1, int(frame["m"].max() - frame["m"].min() + 1))
    by_month = cell_counts(
        (n_months, n_g, n_s), first["m"].to_numpy() - frame["m"].min(), first["g"].to_numpy(), first["s"].to_numpy()
    )
    censored = int(by_month[0].sum())
    rate = by_month[1:].mean(axis=0) if n_months > 1 else np.zeros((n_g, n_s))
    return start, rate, by_month, int(frame["m"].min()), n_months, censored
