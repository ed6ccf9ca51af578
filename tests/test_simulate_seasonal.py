"""Seasons and closed cohorts (issue 17): the generator's settings with known truth, and the journey model's
month-of-year profiles recovering them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import synth


def test_generator_seasons_and_arrival_window_are_planted_and_recorded():
    fx = synth.PlantedEffects(seasonality=0.5, season_peak=6, arrival_months=12)
    c = synth.generate(n_customers=2000, seed=4, months=24, effects=fx)
    s = c.truth.planted["seasonality"]
    assert s["peak_month"] == 6 and s["amplitude"] == 0.5
    assert int(np.argmax(s["multiplier_by_month"])) + 1 == 6
    assert c.truth.planted["arrivals"]["arrival_months"] == 12
    assert c.truth.params["effects"]["seasonality"] == 0.5
    arrived = pd.to_datetime(c.truth.people["arrival_month"])
    assert arrived.max() == pd.Timestamp("2024-12-01")  # nobody after the window
    by_moy = arrived.dt.month.value_counts()
    assert by_moy[6] > 2 * by_moy[12]  # the planted month-of-year cycle: 1.5 against 0.5
    h = c.truth.stage_history
    buyers = h[h["stage"].isin(["repeat", "advocate"])]
    per_month = buyers.groupby(buyers["month"].dt.month)["orders"].mean()
    assert per_month[6] > 1.5 * per_month[12]
    # the same people with the same uniforms: only when and how much they buy differs
    flat = synth.generate(n_customers=2000, seed=4, months=24, effects=synth.PlantedEffects(arrival_months=12))
    assert flat.truth.people["persona"].equals(c.truth.people["persona"])
    assert "seasonality" not in flat.truth.planted and "seasonality" not in flat.truth.params["effects"]


def test_the_default_company_has_no_calendar_record():
    c = synth.generate(n_customers=100, seed=2, months=4)
    assert "seasonality" not in c.truth.planted and "arrivals" not in c.truth.planted
    assert "effects" not in c.truth.params
    with pytest.raises(ValueError, match="seasonality"):
        synth.generate(n_customers=10, months=4, effects=synth.PlantedEffects(seasonality=1.0))
    with pytest.raises(ValueError, match="season_peak"):
        synth.generate(n_customers=10, months=4, effects=synth.PlantedEffects(season_peak=13))
