"""The workspace table ``personas``: fit on a sample in Python, label every customer in the engine.

Examples
--------
>>> import cxlib, pandas as pd
>>> ws = cxlib.connect()
>>> _ = ws.write("touchpoints", pd.DataFrame({
...     "customer_id": ["a", "a", "b", "c", "d"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-01-05", "2024-01-09", "2024-02-02"]),
...     "table_name": ["orders"] * 4 + ["events"], "channel": ["web", "web", "app", "store", "web"],
...     "event": ["order"] * 4 + ["page_view"], "amount": [20.0, 30, 200, 25, None],
...     "status": ["completed"] * 4 + [None]}))
>>> model, profiles = write_personas(ws, PersonaModel(n_personas=2, random_state=0))
>>> ws.table("personas").order_by("customer_id").to_pandas()[["customer_id", "persona", "value_tier"]].values.tolist()
[['a', 0, 'rest'], ['b', 1, 'high'], ['c', 0, 'rest'], ['d', -1, 'rest']]
>>> write_personas(ws, as_of="2023-12-31")  # doctest: +ELLIPSIS
Traceback (most recent call last):
cxlib.schema.DataError: cannot fit personas: table touchpoints of the workspace has 0 customer(s) with ...
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.metrics import has_orders
from cxlib.personas.assign import assign
from cxlib.personas.evidence import MIN_TO_FIT
from cxlib.personas.features import _to_pandas, customer_features
from cxlib.personas.model import PersonaModel
from cxlib.personas.stored import MODEL_TABLE, model_table
from cxlib.schema import DataError
from cxlib.value.tiers import value_tiers

__all__ = ["PROSPECTS", "write_personas"]

#: Persona name of customers without a completed order when :func:`write_personas` keeps them apart.
PROSPECTS = "Prospects (no order yet)"


def write_personas(
    workspace: Workspace | str | Path,
    model: PersonaModel | None = None,
    *,
    as_of: str | pd.Timestamp | None = None,
    fit_on: str = "buyers",
    prospects: str = "separate",
    sample: int = 200_000,
    anonymous: bool = False,
    random_state: int = 0,
) -> tuple[PersonaModel, pd.DataFrame]:
    """Fit personas on a sample of customers and write every customer's persona to table ``personas``.

    The features are computed and kept in the engine (:func:`customer_features`); at most ``sample``
    customers come back to Python to fit the model (customer ids are hashes, so the first ``sample`` by
    id are a random sample), and :func:`assign` labels all of them in the engine. ``fit_on="buyers"``
    fits on customers with at least one completed order -- behaviour before a first purchase says little
    about a persona -- and ``"all"`` fits on everyone. Customers without a completed order (prospects)
    get persona ``-1``, :data:`PROSPECTS`, with ``prospects="separate"`` (default; on the generated
    company, even a supervised classifier tells the true persona of only about half of them), or their
    nearest persona with ``prospects="assign"``. Anonymous customers (cookie or device only) are left
    out unless ``anonymous=True``.

    Writes ``personas``: ``customer_id, persona, persona_name, distance, is_buyer, value, value_tier``
    (observed revenue tier), and ``persona_model``: the fitted model and these settings
    (:func:`~cxlib.personas.stored.model_table`), with which :func:`~cxlib.personas.stored.personas_as_of`
    labels the customers as they were at an earlier instant (the backtest's personas). Returns the fitted
    model and the profiles.
    """
    if fit_on not in ("buyers", "all"):
        raise ValueError(f"fit_on must be 'buyers' or 'all', not {fit_on!r}")
    if prospects not in ("separate", "assign"):
        raise ValueError(f"prospects must be 'separate' or 'assign', not {prospects!r}")
    with opened(workspace) as ws:
        feats = customer_features(ws, as_of, anonymous=anonymous, lazy=True)
        feats = ws.scratch("_personas_features", feats)
        pool = feats.filter(feats.frequency > 0) if fit_on == "buyers" else feats
        fit_frame = _to_pandas(pool.order_by("customer_id").limit(sample))
        if len(fit_frame) < MIN_TO_FIT:
            ws.drop_scratch()
            raise DataError(_too_few_message(ws, len(fit_frame), fit_on, as_of, anonymous))
        if model is None:
            model = PersonaModel(random_state=random_state)
        model.fit(fit_frame)
        threshold = _high_value_threshold(fit_frame)
        table = _personas_table(assign(model, feats), feats, threshold, prospects)
        kept = model_table(
            model, prospects=prospects, anonymous=anonymous, threshold=threshold, fit_on=fit_on, sample=sample
        )
        with ws.step("personas"):  # the tables and their lineage row swap in together
            ws.write("personas", table.order_by("customer_id"))
            ws.write(MODEL_TABLE, kept)
        ws.drop_scratch()
        return model, model.profiles_


def _high_value_threshold(fit_frame: pd.DataFrame) -> float:
    """The lowest revenue of the high observed-value tier of the customers fitted on (inf when there is none)."""
    cut = value_tiers(fit_frame, "observed")
    high = cut.loc[cut["tier"] == "high", "value"]
    return float(high.min()) if len(high) else float("inf")


def _personas_table(labelled: ibis.Table, feats: ibis.Table, threshold: float, prospects: str) -> ibis.Table:
    """``customer_id, persona, persona_name, distance, is_buyer, value, value_tier`` from the assignment."""
    out = labelled.join(feats.select("customer_id", "frequency", "monetary"), "customer_id")
    prospect = (out.frequency <= 0) & ibis.literal(prospects == "separate")
    return out.select(
        "customer_id",
        persona=ibis.cases((prospect, -1), else_=out.persona).cast("int64"),
        persona_name=ibis.cases((prospect, PROSPECTS), else_=out.persona_name),
        distance=ibis.cases((prospect, ibis.null("float64")), else_=out.distance),
        is_buyer=out.frequency > 0,
        value=out.monetary,
        value_tier=ibis.cases((out.monetary >= threshold, "high"), else_="rest"),
    )


def _too_few_message(ws: Workspace, found: int, fit_on: str, as_of: object, anonymous: bool) -> str:
    """Why there is nothing to fit personas on (which table, what was found) and what to do about it."""
    where = f"`{ws.folder}`" if ws.folder is not None else "the workspace"
    folder = f" {ws.folder}" if ws.folder is not None else ""
    who = "customer(s) with a completed order" if fit_on == "buyers" else "customer(s)"
    scope = f" up to as_of={as_of}" if as_of is not None else ""
    if not anonymous and ws.has("customers"):
        scope += " (anonymous customers left out)"
    no_orders = not has_orders(ws)
    if fit_on == "buyers" and no_orders:  # a CRM, helpdesk or e-mail tool without the shop's orders
        fixes = [
            "the workspace has no orders, and personas are found among buyers: add the orders or invoice lines "
            f"(`cx sources{folder or ' FOLDER'}` suggests the entry), then `cx load{folder}` and `cx unify{folder}`",
            "or, in Python, fit on every customer with fit_on='all'",
        ]
    elif fit_on == "buyers":
        fixes = [
            f"check that table orders has rows with status 'completed' (`cx summary{folder}`), "
            f"load them with `cx load{folder}` and rerun `cx unify{folder}`",
            "or fit on every customer with fit_on='all'",
        ]
    else:
        fixes = [f"load customer data with `cx load{folder}` and rerun `cx unify{folder}`"]
    if as_of is not None:
        fixes.append("or pass a later as_of")
    return (
        f"cannot fit personas: table touchpoints of {where} has {found} {who}{scope}; at least 2 are needed. "
        f"Fix: {', '.join(fixes)}"
    )
