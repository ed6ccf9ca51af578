"""Personas of a shop that exports its orders alone (CDNOW-like: no web, app, e-mail, tickets or surveys): the
profiles and the heatmap leave out the features it has no data for, and the names are distinct and say what
the customers do with orders -- recency, frequency, money -- without a "(2)" suffix."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from cxlib import personas
from cxlib.personas import PersonaModel
from cxlib.personas.naming import persona_names
from cxlib.personas.profiles import informative_columns

# what an orders-only shop cannot measure: no event, ticket or survey of any kind
NO_DATA = ["share_app", "share_email", "share_web", "email_open_rate", "tickets_per_month", "csat_mean", "nps_mean"]
SUFFIX = re.compile(r"\(\d+\)$")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    from .io_helpers import write_cdnow_like_shop

    return write_cdnow_like_shop(tmp_path_factory.mktemp("cdnow_like"))


@pytest.fixture(scope="module")
def buyers(shop) -> pd.DataFrame:
    f = personas.customer_features(shop, anonymous=False)
    return f[f["frequency"] > 0].reset_index(drop=True)


def _heatmap_columns(model: PersonaModel, features=None) -> tuple[list[str], np.ndarray]:
    heat = personas.profile_heatmap(model, features).data[0]
    return list(heat.x), np.asarray(heat.z, dtype="float64")


@pytest.mark.parametrize("n_personas", ["auto", 5, 8, 10])
def test_names_are_distinct_without_a_suffix(buyers, n_personas):
    """Before: 'Lapsing customers', 'Lapsing customers (2)', 'Customers', 'Big spenders (2)' ... named from
    features this shop has no data for."""
    model = PersonaModel(n_personas=n_personas, random_state=0).fit(buyers)
    names = model.names_
    assert len(set(names)) == len(names) == model.n_personas_, names
    assert not [n for n in names if SUFFIX.search(n)], names
    assert "Customers" not in names  # a name says something
    words = " ".join(names + model.profiles_["description"].tolist()).lower()
    assert not any(w in words for w in ("e-mail", "app", "support", "browse", "store")), words
    assert not re.search(r"\b(high|low) [a-z]+_", words)  # no raw column name in a description


def test_the_profile_and_heatmap_leave_out_features_without_data(buyers):
    model = PersonaModel(random_state=0).fit(buyers)
    prof = model.profiles_
    d = prof[[c for c in prof.columns if c.startswith("d_")]]
    assert not d.isna().all().any(), d.columns[d.isna().all()].tolist()
    assert not {f"d_{c}" for c in NO_DATA} & set(d.columns)
    # copies of a feature are left out too: with orders alone, touchpoints and orders are the frequency
    assert "d_frequency" in d and "d_touchpoints" not in d and "d_orders" not in d
    assert "d_days_since_order" in d and "d_recency_days" not in d
    x, z = _heatmap_columns(model)
    assert "frequency" in x and not np.isnan(z).any() and not {c.replace("_", " ") for c in NO_DATA} & set(x)
    # the page asks for the model's features and a few more: those without data are dropped, not drawn as NaN
    page = list(model.feature_names_in_) + ["monetary", "return_rate", "share_web", "nps_mean"]
    x, z = _heatmap_columns(model, page)
    assert x == ["avg order value", "orders per month", "monetary"] and not np.isnan(z).any()
    assert (prof["main_channels"] == "").all()  # not "web 0%, app 0%"
    cmp = personas.compare_personas(buyers, model, 0, 1)
    assert not cmp["effect_size"].isna().any() and not set(NO_DATA) & set(cmp["feature"])


def test_written_personas_of_the_orders_only_shops(shop, tmp_path):
    """Both test shops, through write_personas as `cx personas` runs it: the homogeneous one the report and
    page tests use, and the CDNOW-like one."""
    from .io_helpers import write_orders_only_shop

    for folder in (shop, write_orders_only_shop(tmp_path)):
        model, profiles = personas.write_personas(folder)
        assert profiles["name"].is_unique and not profiles["name"].str.contains(SUFFIX).any()
        assert not np.isnan(_heatmap_columns(model)[1]).any()
        assert not {f"d_{c}" for c in NO_DATA} & set(profiles.columns)


def test_informative_columns():
    X = pd.DataFrame(
        {
            "touchpoints": [1.0, 2, 5, 1],
            "recency_days": [3.0, 1, 9, 4],
            "frequency": [1.0, 2, 5, 1],
            "share_app": [0.0, 0, 0, 0],
            "csat_mean": [np.nan] * 4,
            "nps_mean": [np.nan, 7, 9, np.nan],
            "monetary": [10.0, 40, 20, 10],
            "is_anonymous": [False] * 4,
        }
    )
    assert informative_columns(X) == ["recency_days", "frequency", "nps_mean", "monetary"]
    # independent of row order
    assert informative_columns(X.iloc[::-1]) == informative_columns(X)


def test_names_of_personas_that_share_a_trait_say_how_they_differ():
    effects = pd.DataFrame(
        {
            "days_since_order": [2.0, 1.5, 1.2, -1.0],
            "avg_order_value": [-0.8, 0.9, 0.0, 0.1],
            "frequency": [-0.5, -0.4, 0.6, 1.5],
        }
    )
    names, descriptions = persona_names(effects, {}, one_time={0})
    assert names == ["Small-basket lapsed buyers", "Big-basket lapsed buyers", "Frequent lapsed buyers", "Regulars"]
    assert descriptions[0] == "Small-basket lapsed buyers — long since an order, small baskets, bought once"
    # deterministic, and personas alike in every trait are the only ones left with a suffix
    assert persona_names(effects, {}, one_time={0}) == (names, descriptions)
    twins = pd.DataFrame({"days_since_order": [1.0, 1.0]})
    assert persona_names(twins, {})[0] == ["Lapsed buyers", "Lapsed buyers (2)"]
