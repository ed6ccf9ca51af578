"""The fitted persona model kept in the workspace, and every customer's persona as of an earlier instant.

``cx personas`` (:func:`~cxlib.personas.write_personas`) writes, beside table ``personas``, table
:data:`MODEL_TABLE`: the fitted :class:`~cxlib.personas.PersonaModel` as numbers (one row per persona and
feature: centre, imputed value, signed log or not, mean and scale; variance and weight for a mixture) with the
settings it labelled customers by (prospects apart or not, anonymous customers left out or not, the high-value
threshold). :func:`stored_model` rebuilds the model from it, and :func:`personas_as_of` labels the customers
*as they were* at an instant: features computed from the touchpoints up to it
(:func:`~cxlib.personas.customer_features` with ``as_of``), assigned in the engine (:func:`assign`) by the
workspace's own model, so persona numbers and names are those of ``personas``. That is what a backtest needs:
``personas`` itself is found on the whole workspace, up to its last day, and so knows at an earlier cutoff who
will buy often later.

Examples
--------
>>> import cxlib, pandas as pd
>>> from cxlib.personas import write_personas
>>> ws = cxlib.connect()
>>> _ = ws.write("touchpoints", pd.DataFrame({
...     "customer_id": ["a", "a", "b", "c", "d", "d"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-01-05", "2024-01-09", "2024-02-02", "2024-03-02"]),
...     "table_name": ["orders"] * 4 + ["events", "orders"], "channel": ["web", "web", "app", "store", "web", "web"],
...     "event": ["order"] * 4 + ["page_view", "order"], "amount": [20.0, 30, 200, 25, None, 22],
...     "status": ["completed"] * 4 + [None, "completed"]}))
>>> model, _ = write_personas(ws, PersonaModel(n_personas=2, random_state=0))
>>> now = ws.table("personas").order_by("customer_id").to_pandas()
>>> then = personas_as_of(ws, "2024-02-15").order_by("customer_id").to_pandas()
>>> now["persona"].tolist(), then["customer_id"].tolist(), then["persona"].tolist()
([0, 1, 1, 0], ['a', 'b', 'c', 'd'], [1, 1, 0, -1])
>>> personas_as_of(ws, "2024-01-03").to_pandas()["customer_id"].tolist()  # b, c and d had not come
['a']
"""

from __future__ import annotations

import uuid
from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxlib.engine import Workspace
from cxlib.personas.assign import assign
from cxlib.personas.features import customer_features
from cxlib.personas.model import PersonaModel
from cxlib.personas.naming import _unique
from cxlib.schema import DataError

__all__ = ["MODEL_TABLE", "match_personas", "model_table", "personas_as_of", "refit_as_of", "stored_model"]

#: The workspace table holding the fitted persona model (written with ``personas``).
MODEL_TABLE = "persona_model"


def model_table(
    model: PersonaModel,
    *,
    prospects: str,
    anonymous: bool,
    threshold: float,
    fit_on: str = "buyers",
    sample: int = 200_000,
) -> pd.DataFrame:
    """The fitted ``model`` as a table: ``persona, persona_name, position, feature, centre, variance, weight,
    impute, log_column, mean, scale, method, prospects, anonymous, high_value_threshold, fit_on, sample,
    random_state, n_personas, k_min, k_max`` (one row per persona and feature; ``variance`` and ``weight`` null
    for k-means; ``random_state`` the model's seed, null when it had none; ``n_personas`` its setting, "auto" or
    a number, ``k_min`` and ``k_max`` the range "auto" chooses in). The last six are what
    :func:`personas_as_of` needs to fit the model the same way again on earlier data.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 0.2, 5.0, 5.2]})
    >>> m = PersonaModel(n_personas=2, random_state=0).fit(X)
    >>> t = model_table(m, prospects="separate", anonymous=False, threshold=5.0)
    >>> t[["persona", "feature", "centre"]].round(2).values.tolist()
    [[0, 'x', -1.0], [1, 'x', 1.0]]
    """
    k, d = model.cluster_centers_.shape
    p, j = np.repeat(np.arange(k), d), np.tile(np.arange(d), k)
    gmm = model.method == "gmm"
    return pd.DataFrame(
        {
            "persona": p.astype("int64"),
            "persona_name": np.asarray(model.names_, dtype=object)[p],
            "position": j.astype("int64"),
            "feature": np.asarray(model.feature_names_in_, dtype=object)[j],
            "centre": model.cluster_centers_[p, j].astype("float64"),
            "variance": model.variances_[p, j] if gmm else np.full(k * d, np.nan),
            "weight": model.weights_[p] if gmm else np.full(k * d, np.nan),
            "impute": np.asarray(model.impute_, dtype="float64")[j],
            "log_column": np.asarray(model.log_columns_, dtype=bool)[j],
            "mean": np.asarray(model.mean_, dtype="float64")[j],
            "scale": np.asarray(model.scale_, dtype="float64")[j],
            "method": model.method,
            "prospects": prospects,
            "anonymous": bool(anonymous),
            "high_value_threshold": float(threshold),
            "fit_on": fit_on,
            "sample": int(sample),
            "random_state": pd.array([model.random_state] * (k * d), dtype="Int64"),
            "n_personas": str(model.n_personas),
            "k_min": int(model.k_range[0]),
            "k_max": int(model.k_range[1]),
        }
    )


def stored_model(ws: Workspace) -> tuple[PersonaModel, dict[str, Any]] | None:
    """The persona model the workspace holds (table :data:`MODEL_TABLE`) and the settings it labelled with
    (``prospects``, ``anonymous``, ``threshold``) and was fitted with (``fit_on``, ``sample``, ``random_state``,
    ``n_personas``, ``k_range``; for a table kept before these were: ``cx personas``' defaults and the number
    of personas the model has); ``None`` when ``cx personas`` wrote none.

    Examples
    --------
    >>> import cxlib
    >>> X = pd.DataFrame({"x": [0.0, 0.2, 5.0, 5.2]})
    >>> m = PersonaModel(n_personas=2, random_state=0).fit(X)
    >>> ws = cxlib.connect()
    >>> _ = ws.write(MODEL_TABLE, model_table(m, prospects="separate", anonymous=False, threshold=5.0))
    >>> back, settings = stored_model(ws)
    >>> back.predict(X).tolist() == m.predict(X).tolist(), back.names_ == m.names_, settings["threshold"]
    (True, True, 5.0)
    """
    if not ws.has(MODEL_TABLE):
        return None
    t = ws.table(MODEL_TABLE).to_pandas().sort_values(["persona", "position"])
    first = t[t["persona"] == t["persona"].min()]
    model = PersonaModel(method=str(first["method"].iloc[0]), features=first["feature"].tolist())
    model.feature_names_in_ = np.asarray(first["feature"].tolist(), dtype=object)
    model.n_features_in_ = len(first)
    model.impute_ = first["impute"].to_numpy(dtype="float64")
    model.log_columns_ = first["log_column"].to_numpy(dtype=bool)
    model.mean_ = first["mean"].to_numpy(dtype="float64")
    model.scale_ = first["scale"].to_numpy(dtype="float64")
    grid = t.pivot(index="persona", columns="position")
    model.cluster_centers_ = grid["centre"].to_numpy(dtype="float64")
    if model.method == "gmm":
        model.variances_ = grid["variance"].to_numpy(dtype="float64")
        model.weights_ = t.groupby("persona")["weight"].first().to_numpy(dtype="float64")
    model.names_ = t.groupby("persona")["persona_name"].first().astype(str).tolist()
    model.n_personas_ = len(model.names_)
    settings = {
        "prospects": str(first["prospects"].iloc[0]),
        "anonymous": bool(first["anonymous"].iloc[0]),
        "threshold": float(first["high_value_threshold"].iloc[0]),
        "fit_on": str(first["fit_on"].iloc[0]) if "fit_on" in t.columns else "buyers",
        "sample": int(first["sample"].iloc[0]) if "sample" in t.columns else 200_000,
        "random_state": 0,
    }
    seed = first["random_state"].iloc[0] if "random_state" in t.columns else None
    if seed is not None and not pd.isna(seed):
        settings["random_state"] = int(seed)
    model.random_state = settings["random_state"]
    k = str(first["n_personas"].iloc[0]) if "n_personas" in t.columns else str(model.n_personas_)
    settings["n_personas"] = "auto" if k == "auto" else int(k)
    if "k_min" in t.columns:
        settings["k_range"] = (int(first["k_min"].iloc[0]), int(first["k_max"].iloc[0]))
    else:
        settings["k_range"] = PersonaModel().k_range
    model.n_personas, model.k_range = settings["n_personas"], settings["k_range"]
    return model, settings


def personas_as_of(
    ws: Workspace,
    as_of: str | pd.Timestamp,
    refit: bool = False,
    random_state: int | None = None,
    match: bool = True,
) -> ibis.Table:
    """Every customer's persona as of ``as_of``: ``customer_id, persona, persona_name, distance, is_buyer,
    value, value_tier`` (the columns of ``personas``), an Ibis expression on ``ws`` (DuckDB or Spark).

    The features are those of the touchpoints up to ``as_of`` (recency and tenure measured to it); a customer
    with no touchpoint by then has no persona then (no row: an arrival still to come). They are assigned by
    the model the workspace holds (:func:`stored_model`), with its settings: prospects (no completed order
    by ``as_of``) apart when ``cx personas`` kept them apart, anonymous customers left out when it did, the
    value tier by its threshold. That model's centres and scaling were fitted on the whole workspace.

    With ``refit`` the model is fitted anew on the features as of ``as_of`` (:func:`refit_as_of`: the kept
    model's settings -- number of personas or "auto" and its range, features, method, customers fitted on,
    seed), so which customers belong together is found only from what was known then. With ``match`` each
    refitted persona then takes the number and name of the kept persona whose centre is nearest
    (:func:`match_personas`: the labels are the workspace's); without, its own (numbered by size, named from
    its profile then: nothing after ``as_of`` at all). A workspace whose personas were written before the model
    was kept is always refitted, with ``cx personas``' defaults and its own names. ``random_state`` overrides
    the seed.

    The features as of ``as_of`` are computed once, into a scratch table of ``ws`` (:meth:`Workspace.scratch
    <cxlib.engine.Workspace.scratch>`, one per call): read the result while ``ws`` is open.
    """
    from cxlib.personas.write import _personas_table

    stored = stored_model(ws)
    settings = stored[1] if stored is not None else {"prospects": "separate", "anonymous": False}
    feats = customer_features(ws, as_of, anonymous=settings["anonymous"], lazy=True)
    # computed once, a row per customer: the fit reads them, then the assignment and the table (lazily, from
    # the touchpoints, each read was a pass over every touchpoint up to ``as_of``); a name of its own, so that
    # an expression this returned earlier still reads its own rows
    feats = ws.scratch(f"_personas_as_of_{uuid.uuid4().hex[:12]}", feats.filter(feats.touchpoints > 0))
    if stored is not None and not refit:
        model, threshold = stored[0], settings["threshold"]
    else:
        model, threshold = refit_as_of(feats, stored, random_state)
        if match and stored is not None:
            match_personas(model, stored[0])
    return _personas_table(assign(model, feats), feats, threshold, settings["prospects"])


def refit_as_of(
    feats: ibis.Table, stored: tuple[PersonaModel, dict[str, Any]] | None, random_state: int | None = None
) -> tuple[PersonaModel, float]:
    """The persona model fitted on ``feats`` (customer features as of an instant, in the engine) the way the
    kept model ``stored`` was: its number of personas (a fixed number, or "auto" chosen again over its range),
    features and method, on its customers (buyers or all, at most its sample, by id) and with its seed.
    Returns the model (its own numbers and names) and the high-value threshold of the customers fitted on.
    Without a kept model: ``cx personas``' defaults, seed ``random_state`` or 0.

    Examples
    --------
    >>> X = pd.DataFrame({"customer_id": list("abcdef"), "frequency": [1, 2, 1, 3, 4, 3],
    ...                   "x": [0.0, 0.2, 0.1, 5.0, 5.2, 5.1], "monetary": [10.0, 20, 10, 90, 120, 80]})
    >>> kept = PersonaModel(n_personas=2, features=["x"], random_state=0).fit(X)
    >>> settings = {"fit_on": "buyers", "sample": 200_000, "random_state": 0, "n_personas": 2, "k_range": (2, 10)}
    >>> then, threshold = refit_as_of(ibis.memtable(X.head(5)), (kept, settings))  # f came later
    >>> then.n_personas_, then.feature_names_in_.tolist(), threshold
    (2, ['x'], 120.0)
    """
    from cxlib.personas.features import _to_pandas
    from cxlib.personas.write import _high_value_threshold

    if stored is None:
        kept, settings = None, {"fit_on": "buyers", "sample": 200_000, "random_state": 0}
        model = PersonaModel()
    else:
        kept, settings = stored
        model = PersonaModel(
            n_personas=settings["n_personas"],
            k_range=settings["k_range"],
            method=kept.method,
            features=list(kept.feature_names_in_),
        )
    model.random_state = settings["random_state"] if random_state is None else random_state
    pool = feats.filter(feats.frequency > 0) if settings["fit_on"] == "buyers" else feats
    fit_frame = _to_pandas(pool.order_by("customer_id").limit(settings["sample"]))
    if len(fit_frame) < 2:  # scikit-learn's own error named neither the date nor what was missing
        who = "buyers" if settings["fit_on"] == "buyers" else "customers"
        raise DataError(
            f"personas cannot be fitted as of that date: {len(fit_frame)} {who} by then, at least 2 needed; "
            "choose a later date (or load more history)"
        )
    return model.fit(fit_frame), _high_value_threshold(fit_frame)


def match_personas(model: PersonaModel, kept: PersonaModel) -> PersonaModel:
    """``model``'s personas renumbered and renamed as ``kept``'s: each takes the kept persona whose centre is
    nearest (one to one, the least total squared distance, measured in ``kept``'s scaled space). With as many
    personas as ``kept`` the numbers are ``kept``'s; with fewer they run 0, 1, ... in ``kept``'s order, and
    one left over when ``model`` has more keeps its own name, numbered after them. Changes ``model`` in place
    and returns it.

    Examples
    --------
    >>> X = pd.DataFrame({"x": [0.0, 0.2, 5.0, 5.2, 5.4]})
    >>> kept = PersonaModel(n_personas=2, random_state=0).fit(X)
    >>> later = PersonaModel(n_personas=2, random_state=0).fit(pd.DataFrame({"x": [0.0, 0.1, 0.3, 5.1]}))
    >>> kept.predict(pd.DataFrame({"x": [0.1, 5.1]})).tolist(), later.predict(pd.DataFrame({"x": [0.1, 5.1]})).tolist()
    ([1, 0], [0, 1])
    >>> match_personas(later, kept).predict(pd.DataFrame({"x": [0.1, 5.1]})).tolist(), later.names_ == kept.names_
    ([1, 0], True)
    """
    from scipy.optimize import linear_sum_assignment

    z = kept._scaled(_raw_centres(model))
    cost = ((z[:, None, :] - kept.cluster_centers_[None, :, :]) ** 2).sum(axis=2)
    mine, theirs = linear_sum_assignment(cost)
    order = [*mine[np.argsort(theirs)], *(p for p in range(len(cost)) if p not in set(mine))]
    names = [kept.names_[t] for t in sorted(theirs)] + [model.names_[p] for p in order[len(mine) :]]
    model.cluster_centers_ = model.cluster_centers_[order]
    if model.method == "gmm":
        model.variances_, model.weights_ = model.variances_[order], model.weights_[order]
    model.labels_ = np.argsort(order)[model.labels_]
    model.names_ = _unique(names)  # a persona left over keeps its own name, which a kept one may have
    if hasattr(model, "profiles_"):
        model.profiles_ = model.profiles_.iloc[order].assign(persona=range(len(order)), name=model.names_)
    return model


def _raw_centres(model: PersonaModel) -> np.ndarray:
    """The centres of ``model`` in the features' own units (the signed log and the scaling undone)."""
    b = model.cluster_centers_ * model.scale_ + model.mean_
    logged = np.asarray(model.log_columns_, dtype=bool)
    b[:, logged] = np.sign(b[:, logged]) * np.expm1(np.abs(b[:, logged]))
    return b
