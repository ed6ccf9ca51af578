"""New customers per month in a forecast: a model of the observed arrival series, chosen by backtest.

The observed series is the customers first seen each month after the data's first month (those already there
in the first month did not arrive then: the data started). :func:`forecast_arrivals` continues it:

- ``"none"``: nobody new (a closed cohort);
- ``"recent"``: the mean of the last three months;
- ``"seasonal"``: level and trend of the last twelve months, times the month-of-year profile when the series
  covers two years or more (the trend alone otherwise);
- ``"mean"``: the mean over the whole series (the old default);
- a number: that many new customers per month.

A series whose last three months are empty after earlier arrivals is a *closed cohort*: every model then
forecasts nobody new. :func:`choose_arrivals` (``"auto"``) holds each model against the last months of the
series and keeps the one that was closest. New customers are split over segments and first stages as they
arrived.

Examples
--------
>>> import numpy as np
>>> s = np.array([0, 10, 10, 10, 0, 0, 0], dtype=float)  # month 0 is censored
>>> closed_cohort(s[1:])
True
>>> forecast_series(np.array([8.0, 10, 12]), "recent", 2).tolist()
[10.0, 10.0]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "ARRIVAL_MODELS",
    "arrival_history",
    "arrivals_table",
    "choose_arrivals",
    "closed_cohort",
    "forecast_arrivals",
    "parse_arrivals",
]

#: The arrival models :func:`choose_arrivals` compares.
ARRIVAL_MODELS: tuple[str, ...] = ("none", "recent", "seasonal")


def parse_arrivals(text: str | float) -> str | float:
    """The ``arrivals`` argument from a command line: a model's name, or a number of new customers per month.

    >>> parse_arrivals("seasonal"), parse_arrivals("250")
    ('seasonal', 250.0)
    """
    if not isinstance(text, str):
        return float(text)
    try:
        value = float(text)
    except ValueError:
        if text not in (*ARRIVAL_MODELS, "auto", "mean"):
            raise ValueError(
                f"arrivals must be auto, none, recent, seasonal, mean or a number per month, not {text!r}"
            ) from None
        return text
    if value < 0:
        raise ValueError(f"arrivals: a number of new customers per month cannot be negative ({value})")
    return value


def closed_cohort(series: np.ndarray, quiet: int = 3) -> bool:
    """True when the last ``quiet`` months had no arrivals after some earlier ones: nobody new is coming."""
    s = np.asarray(series, dtype=float)
    return bool(len(s) > quiet and s[-quiet:].sum() == 0 and s[:-quiet].sum() > 0)


def forecast_series(
    series: np.ndarray, how: str | float, months: int, first_moy: int = 1, cycle: np.ndarray | None = None
) -> np.ndarray:
    """Arrivals for the next ``months`` from the observed series (oldest first; a censored month is NaN);
    ``first_moy`` is the month of year (1-12) of the first forecast month. See the module docstring for
    ``how``. ``cycle``: month-of-year multipliers (January first; from one year of history, see
    :func:`~cxlib.simulate.seasons.arrival_cycle`): the series is divided by them, forecast, and the forecast
    multiplied by them again.

    Examples
    --------
    >>> cycle = np.ones(12); cycle[9:] = 2.0  # October to December twice the rest of the year
    >>> forecast_series(np.array([10.0, 10, 10, 20, 20, 20]), "recent", 2, first_moy=1, cycle=cycle).tolist()
    [10.0, 10.0]
    """
    if cycle is None or np.allclose(cycle, 1.0) or not isinstance(how, str):
        return _forecast(series, how, months, first_moy)
    full = np.asarray(series, dtype=float)
    moy = (first_moy - 1 - len(full) + np.arange(len(full))) % 12  # the calendar month (0-11) of each value
    ahead = (first_moy - 1 + np.arange(months)) % 12
    return _forecast(full / cycle[moy], how, months, first_moy) * cycle[ahead]


def _forecast(series: np.ndarray, how: str | float, months: int, first_moy: int) -> np.ndarray:
    full = np.asarray(series, dtype=float)
    s = full[~np.isnan(full)]
    if not isinstance(how, str):
        return np.full(months, float(how))
    if how == "none" or len(s) == 0 or closed_cohort(s):
        return np.zeros(months)
    if how == "mean":
        return np.full(months, s.mean())
    if how == "recent":
        return np.full(months, s[-3:].mean())
    if how == "seasonal":
        return _seasonal(full, months, first_moy)
    raise ValueError(f"arrivals must be 'none', 'recent', 'seasonal', 'mean', 'auto' or a number, not {how!r}")


def _seasonal(s: np.ndarray, months: int, first_moy: int) -> np.ndarray:
    """Level and damped trend of the last 12 months, times a month-of-year profile with two years or more
    (``s`` may start with a censored NaN month)."""
    last = s[-12:]
    level = np.nanmean(last)
    if len(s) >= 24:
        trend = (level - np.nanmean(s[-24:-12])) / 12
    else:
        ok = ~np.isnan(last)
        trend = np.polyfit(np.arange(len(last))[ok], last[ok], 1)[0] if ok.sum() >= 3 else 0.0
    steps = np.arange(1, months + 1) + (len(last) - 1) / 2
    out = np.maximum(level + trend * np.minimum(steps, 12), 0.0)  # the trend carries on for a year at most
    if len(s) >= 24:
        years = len(s) // 12
        tail = s[-12 * years :].reshape(years, 12)
        # by position in the year, each year relative to its own mean (growth does not look seasonal)
        profile = np.nanmean(tail / np.maximum(np.nanmean(tail, axis=1, keepdims=True), 1e-9), axis=0)
        moy_of_pos = (first_moy - 1 - 12 + np.arange(12)) % 12  # the calendar month of each position
        by_moy = np.ones(12)
        by_moy[moy_of_pos] = np.nan_to_num(profile, nan=1.0)
        out = out * by_moy[(first_moy - 1 + np.arange(months)) % 12]
    return out


def arrival_history(model) -> pd.DataFrame:
    """The observed arrivals the forecast continues: ``month_start, arrivals, censored`` (the first month holds
    the customers already active, not arrivals)."""
    by_month = model.arrivals_by_month_.sum(axis=(1, 2))
    first = model.last_month_ - pd.DateOffset(months=len(by_month) - 1)
    return pd.DataFrame(
        {
            "month_start": pd.date_range(first, periods=len(by_month), freq="MS"),
            "arrivals": by_month,
            "censored": np.arange(len(by_month)) == 0,
        }
    )


def choose_arrivals(model, holdout: int | None = None) -> str:
    """The arrival model whose forecast of the last ``holdout`` months (default: a third of the series, 2 to
    12) from the months before was closest in total; ``"recent"`` when the series is too short to test.

    The models are tried from the simplest (:data:`ARRIVAL_MODELS`: none, recent, seasonal); a later one
    replaces the one kept only when it is closer by more than the Poisson noise of the held-out total
    (``sqrt(arrivals)``): a few months' test cannot tell closer by less from luck. With a one-year cycle
    (``model.arrival_season_``) every model forecasts the series with the cycle taken out and put back.
    """
    s = model.arrivals_by_month_.sum(axis=(1, 2))
    s[0] = np.nan  # censored: the customers already there
    if closed_cohort(s[1:]):
        return "none"
    h = holdout or int(np.clip(len(s) // 3, 2, 12))
    if len(s) < h + 4:
        return "recent"
    fit, actual = s[:-h], s[-h:]
    moy = int((model.last_month_ - pd.DateOffset(months=h - 1)).month)
    cycle = getattr(model, "arrival_season_", None)
    errors = {how: abs(forecast_series(fit, how, h, moy, cycle).sum() - actual.sum()) for how in ARRIVAL_MODELS}
    noise = np.sqrt(actual.sum())  # the Poisson noise of the held-out total: closer by less is no evidence
    best = ARRIVAL_MODELS[0]
    for how in ARRIVAL_MODELS[1:]:
        if errors[how] < errors[best] - noise:
            best = how
    return best


def forecast_arrivals(model, how: str | float, months: int) -> np.ndarray:
    """New customers per month, ``(month, segment, stage)``: the series forecast by ``how`` (or
    :func:`choose_arrivals` for ``"auto"``), split over segments and first stages as they arrived."""
    by_month = model.arrivals_by_month_
    n_g, n_s = by_month.shape[1], by_month.shape[2]
    if isinstance(how, str) and how == "auto":
        how = choose_arrivals(model)
    later = by_month[1:].sum(axis=0)
    if later.sum() == 0:  # nobody arrived after the first month: split as the customers already there
        later = by_month.sum(axis=0)
    mix = later / later.sum() if later.sum() > 0 else np.zeros((n_g, n_s))
    series = by_month.sum(axis=(1, 2))
    series[0] = np.nan  # censored: the customers already there
    first_moy = int((model.last_month_ + pd.DateOffset(months=1)).month)
    total = forecast_series(series, how, months, first_moy, getattr(model, "arrival_season_", None))
    return total[:, None, None] * mix[None]


def arrivals_table(model, how: str | float = "auto", months: int = 12) -> pd.DataFrame:
    """The arrival series a forecast continues and the continuation, to show beside it: ``month_start,
    arrivals, kind, model, chosen_by``.

    ``kind`` is ``already there`` for the data's first month (the customers already active when it starts:
    not arrivals, and left out of every arrival model), ``observed`` for the later months and ``forecast``
    for the ``months`` after the last one (:func:`forecast_arrivals`, summed over segments and stages).
    ``model`` names the arrival model used (``"recent"``, or ``"250 a month"``) and ``chosen_by`` says
    whether :func:`choose_arrivals` picked it (``"backtest"``, for ``how="auto"``) or the caller did.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> by_month = np.array([50.0, 8, 10, 12, 10, 10, 10, 10]).reshape(-1, 1, 1)
    >>> m = SimpleNamespace(arrivals_by_month_=by_month, last_month_=pd.Timestamp("2024-08-01"))
    >>> t = arrivals_table(m, "recent", months=2)
    >>> t["kind"].tolist()[:2], t["arrivals"].tolist()[-2:], t["model"].iloc[0]
    (['already there', 'observed'], [10.0, 10.0], 'recent')
    """
    chosen = choose_arrivals(model) if isinstance(how, str) and how == "auto" else how
    seen = arrival_history(model)
    seen["kind"] = np.where(seen.pop("censored"), "already there", "observed")
    ahead = pd.DataFrame(
        {
            "month_start": pd.date_range(model.last_month_ + pd.DateOffset(months=1), periods=months, freq="MS"),
            "arrivals": forecast_arrivals(model, chosen, months).sum(axis=(1, 2)),
            "kind": "forecast",
        }
    )
    out = pd.concat([seen, ahead], ignore_index=True)
    out["model"] = chosen if isinstance(chosen, str) else f"{float(chosen):g} a month"
    out["chosen_by"] = "backtest" if isinstance(how, str) and how == "auto" else "you"
    return out
