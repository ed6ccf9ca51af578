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

from typing import Any

import ibis
import numpy as np
import pandas as pd

from cxlib.engine import Workspace
from cxlib.personas.assign import assign
from cxlib.personas.features import customer_features
from cxlib.personas.model import PersonaModel

__all__ = ["MODEL_TABLE", "model_table", "personas_as_of", "stored_model"]

#: The workspace table holding the fitted persona model (written with ``personas``).
MODEL_TABLE = "persona_model"


def model_table(model: PersonaModel, *, prospects: str, anonymous: bool, threshold: float) -> pd.DataFrame:
    """The fitted ``model`` as a table: ``persona, persona_name, position, feature, centre, variance, weight,
    impute, log_column, mean, scale, method, prospects, anonymous, high_value_threshold`` (one row per persona
    and feature; ``variance`` and ``weight`` null for k-means).

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
        }
    )


def stored_model(ws: Workspace) -> tuple[PersonaModel, dict[str, Any]] | None:
    """The persona model the workspace holds (table :data:`MODEL_TABLE`) and the settings it labelled with
    (``prospects``, ``anonymous``, ``threshold``); ``None`` when ``cx personas`` wrote none.

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
    }
    return model, settings


def personas_as_of(ws: Workspace, as_of: str | pd.Timestamp, refit: bool = False, random_state: int = 0) -> ibis.Table:
    """Every customer's persona as of ``as_of``: ``customer_id, persona, persona_name, distance, is_buyer,
    value, value_tier`` (the columns of ``personas``), an Ibis expression on ``ws`` (DuckDB or Spark).

    The features are those of the touchpoints up to ``as_of`` (recency and tenure measured to it); a customer
    with no touchpoint by then has no persona then (no row: an arrival still to come). They are assigned by
    the model the workspace holds (:func:`stored_model`), with its settings: prospects (no completed order
    by ``as_of``) apart when ``cx personas`` kept them apart, anonymous customers left out when it did, the
    value tier by its threshold. The model's centres and scaling were fitted on the whole workspace; with
    ``refit`` (or on a workspace whose personas were written before the model was kept) the model is fitted
    anew on the buyers' features as of ``as_of`` instead (``cx personas``' defaults, seed ``random_state``), so
    nothing after ``as_of`` counts at all, but numbers and names may differ from ``personas``.
    """
    from cxlib.personas.features import _to_pandas
    from cxlib.personas.write import _high_value_threshold, _personas_table

    stored = stored_model(ws)
    settings = stored[1] if stored is not None else {"prospects": "separate", "anonymous": False}
    feats = customer_features(ws, as_of, anonymous=settings["anonymous"], lazy=True)
    feats = feats.filter(feats.touchpoints > 0)
    if stored is not None and not refit:
        model, threshold = stored[0], settings["threshold"]
    else:
        fit_frame = _to_pandas(feats.filter(feats.frequency > 0).order_by("customer_id").limit(200_000))
        model = PersonaModel(random_state=random_state).fit(fit_frame)
        threshold = _high_value_threshold(fit_frame)
    return _personas_table(assign(model, feats), feats, threshold, settings["prospects"])
