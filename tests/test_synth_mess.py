"""The harder identity mess (IdentityNoise's FEBRL/GeCo kinds): each kind at its rate, on its own stream."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cxlib import synth
from cxlib.synth import IdentityNoise

N, SEED, MONTHS, RATE = 3_000, 21, 12, 0.2


def _contacts(**rates: float) -> pd.DataFrame:
    return synth.generate(n_customers=N, seed=SEED, months=MONTHS, noise=IdentityNoise.mild(**rates)).tables["contacts"]


@pytest.fixture(scope="module")
def base() -> pd.DataFrame:
    return _contacts()


@pytest.mark.parametrize(
    ("kind", "column", "low", "high"),
    [
        # a slip, an OCR look-alike or a sound-alike spelling changes the name (a few names have no such spot)
        ("keyboard", "first_name", 0.9, 1.02),
        ("ocr", "last_name", 0.8, 1.02),
        ("phonetic", "last_name", 0.8, 1.02),
        ("initial", "first_name", 0.95, 1.02),
        ("missing_field", "postcode", 0.95, 1.02),
        ("missing_field", "birth_date", 0.95, 1.02),
        ("house_number", "street", 0.95, 1.02),
        ("postcode_typo", "postcode", 0.95, 1.02),
        # Road, Street, Lane, Avenue and Crescent have a short form; "Kings Road" -> "Kings Rd"
        ("street_abbrev", "street", 0.95, 1.02),
        ("date_swap", "birth_date", 0.9, 1.02),  # day = month is unchanged (1 in 30)
        ("date_typo", "birth_date", 0.95, 1.02),
        ("date_year", "birth_date", 0.95, 1.02),
        ("date_format", "birth_date", 0.8, 1.02),  # 1984-10-12 reads the same written as 1984-10-12
    ],
)
def test_each_kind_changes_its_share_of_values(base, kind, column, low, high):
    messy = _contacts(**{kind: RATE})
    has = base[column].notna().to_numpy()
    changed = (base[column].fillna("~") != messy[column].fillna("~")).to_numpy()[has]
    se = np.sqrt(RATE * (1 - RATE) / has.sum())
    assert RATE * low - 4 * se < changed.mean() < RATE * high + 4 * se, (kind, column, changed.mean(), has.sum())
    # identifiers, countries and times are the same (the kinds act on names, addresses and birth dates)
    messy_columns = ("first_name", "last_name", "street", "postcode", "city", "birth_date")
    other = [c for c in base.columns if c not in messy_columns]
    pd.testing.assert_frame_equal(base[other], messy[other])


def test_the_mess_leaves_every_other_table_and_the_people_alone():
    mild = synth.generate(n_customers=N, seed=SEED, months=MONTHS, noise=IdentityNoise.mild())
    hard = synth.generate(n_customers=N, seed=SEED, months=MONTHS)
    for name, df in mild.tables.items():
        if name != "contacts":
            pd.testing.assert_frame_equal(df, hard.tables[name], obj=name)
    pd.testing.assert_frame_equal(mild.truth.people, hard.truth.people)
    pd.testing.assert_frame_equal(mild.truth.stage_history, hard.truth.stage_history)
    m, h = mild.truth.record_map, hard.truth.record_map
    pd.testing.assert_frame_equal(m.drop(columns="defect"), h.drop(columns="defect"))


def test_unreadable_birth_dates_are_planted_defects():
    c = synth.generate(n_customers=N, seed=SEED, months=MONTHS, noise=IdentityNoise.mild(date_format=RATE))
    m = c.truth.record_map.query("table_name == 'contacts'").reset_index(drop=True)
    contacts = c.tables["contacts"]
    unreadable = m["defect"].eq("unreadable birth date").to_numpy()
    dates = contacts["birth_date"].dropna()
    # the three formats the loader does not read (07/03/1984, 07.03.1984, 03/07/1984) of the five others
    assert unreadable.sum() / len(dates) == pytest.approx(RATE * 3 / 5, abs=0.03)
    assert contacts.loc[unreadable, "birth_date"].str.match(r"^\d\d[./]\d\d[./]\d{4}$").all()


def test_harder_is_the_default_and_rates_are_checked():
    assert IdentityNoise().keyboard > 0 and IdentityNoise.mild().keyboard == 0
    assert IdentityNoise.mild().typo == IdentityNoise().typo
    with pytest.raises(ValueError, match="noise.ocr must be between 0 and 1"):
        synth.generate(n_customers=10, seed=1, months=2, noise=IdentityNoise(ocr=1.5))
