"""Assignment in the engine: a fitted :class:`~cxlib.personas.PersonaModel` as an Ibis expression.

Examples
--------
>>> import pandas as pd
>>> X = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [0.0, 0.2, 5.0, 5.2]})
>>> from cxlib.personas.model import PersonaModel
>>> model = PersonaModel(n_personas=2, features=["x"], random_state=0).fit(X)
>>> assign(model, ibis.memtable(X)).order_by("customer_id").to_pandas()["persona"].tolist()
[0, 0, 1, 1]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import ibis
import numpy as np

if TYPE_CHECKING:  # the model's module imports scikit-learn: only when one is fitted
    from cxlib.personas.model import PersonaModel


__all__ = ["assign"]


def assign(model: PersonaModel, features_table: ibis.Table, id_column: str = "customer_id") -> ibis.Table:
    """Label every customer in the engine: the fitted model as an Ibis expression (nearest centre).

    ``features_table (customer_id, <model features>) -> customer_id, persona, persona_name, distance``. The
    preprocessing (median imputation, signed log, standardisation) and the distances to each persona's
    centre are column arithmetic, so a model fitted on a sample labels millions of customers on DuckDB or
    Spark without leaving the engine. For ``method="gmm"`` the score is the diagonal Gaussian log density,
    so the result equals :meth:`PersonaModel.predict` for both methods. ``distance`` is the Euclidean
    distance to the centre in the standardised space (k-means) or the negative log density (mixture).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "x": [0.0, 0.2, 5.0, 5.2]})
    >>> from cxlib.personas.model import PersonaModel
    >>> model = PersonaModel(n_personas=2, features=["x"], random_state=0).fit(X)
    >>> out = assign(model, ibis.memtable(X)).order_by("customer_id").to_pandas()
    >>> out["persona"].tolist() == model.predict(X).tolist()
    True
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "cluster_centers_")
    if not hasattr(model, "feature_names_in_"):
        raise ValueError("assign needs a model fitted on a frame with column names")
    t = features_table
    z = []
    for j, c in enumerate(model.feature_names_in_):
        x = t[c].cast("float64").fill_null(float(model.impute_[j]))
        if model.log_columns_[j]:
            x = x.sign() * (x.abs() + 1.0).ln()
        z.append((x - float(model.mean_[j])) / float(model.scale_[j]))
    scores = []
    for p, centre in enumerate(model.cluster_centers_):
        if model.method == "gmm":
            var = model.variances_[p]
            s = sum((zj - float(cj)) ** 2 / float(v) for zj, cj, v in zip(z, centre, var, strict=True))
            s = 0.5 * s + float(0.5 * np.log(var).sum() - np.log(model.weights_[p]))
        else:
            s = sum((zj - float(cj)) ** 2 for zj, cj in zip(z, centre, strict=True))
        scores.append(s.name(f"_s{p}"))
    t = t.select(t[id_column], *scores)
    cols = [t[f"_s{p}"] for p in range(len(scores))]
    best = ibis.least(*cols) if len(cols) > 1 else cols[0]
    persona = ibis.cases(*[(cols[p] == best, p) for p in range(len(cols) - 1)], else_=len(cols) - 1)
    names = dict(enumerate(model.names_))
    persona = persona.cast("int64")
    distance = best.sqrt() if model.method == "kmeans" else best
    return t.select(
        t[id_column],
        persona=persona,
        persona_name=persona.substitute(names, else_=ibis.null("string")),
        distance=distance,
    )
