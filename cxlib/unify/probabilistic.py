"""Probabilistic matching of contact records with splink, on top of the deterministic identity graph.

splink's Fellegi-Sunter model, trained by EM without labels, compares contact records on names, birth
date, street, postcode and city, blocked on postcode, surname + birth date and first name + birth date.
Pairs are scored down to 0.5 (so that :func:`cxlib.unify.threshold_curve` can re-examine the threshold
without re-training); those at or above ``match_threshold`` whose records sit in different components join
them. The contact records are few, so this step works in pandas.

Examples
--------
>>> m = pd.DataFrame({"component_a": ["k2", "k3"], "component_b": ["k1", "k2"], "match_probability": [0.99, 0.97]})
>>> merge_map(m).sort_values("component").to_dict("list")
{'component': ['k1', 'k2', 'k3'], 'cluster': ['k1', 'k1', 'k1'], 'match_probability': [0.99, 0.99, 0.97]}
"""

from __future__ import annotations

import ibis
import pandas as pd

from cxlib.engine import Workspace
from cxlib.schema import DataError
from cxlib.unify.config import UnifyConfig
from cxlib.unify.graph import union_find
from cxlib.unify.normalise import _name_key, normalise_postcode

__all__ = ["match_components", "merge_map"]

_MATCH_COLUMNS = ["record_a", "record_b", "match_probability", "component_a", "component_b"]


def _settings():  # noqa: ANN202  (splink's SettingsCreator, imported lazily)
    """The comparisons and blocking rules of a new model."""
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            # one comparison per independent piece of evidence: street, postcode and city say one thing
            cl.ForenameSurnameComparison("first_name", "last_name"),
            cl.DateOfBirthComparison("birth_date", input_is_string=False),
            cl.LevenshteinAtThresholds("address", [2]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("postcode"),
            block_on("last_name", "birth_date"),
            block_on("first_name", "birth_date"),
        ],
        retain_intermediate_calculation_columns=False,
    )


def _train_and_score(db, sdf, threshold: float) -> tuple[pd.DataFrame, str]:  # noqa: ANN001
    """Train a new model on every contact record and score all blocked pairs: ``(predictions, model)``."""
    import json
    import logging

    from splink import Linker, block_on

    linker = Linker(sdf, _settings(), log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("first_name", "last_name", "birth_date")], recall=0.8
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pred = linker.inference.predict(threshold_match_probability=threshold).as_pyarrow_table().to_pandas()
    return pred, json.dumps(linker.misc.save_model_to_json(), sort_keys=True)


def _score_new(db, sdf, df: pd.DataFrame, model: str, new: set[str], threshold: float) -> pd.DataFrame:  # noqa: ANN001
    """With a trained ``model``: only pairs that involve a new record (new against existing, new against new)."""
    import json
    import logging

    import pyarrow as pa
    from splink import Linker

    is_new = df["unique_id"].isin(new)
    old_sdf = db.register(pa.Table.from_pandas(df[~is_new], preserve_index=False), table_name="cx_old")
    new_sdf = db.register(pa.Table.from_pandas(df[is_new], preserve_index=False), table_name="cx_new")
    linker = Linker(sdf, json.loads(model), log_level=logging.ERROR)
    for col in ("first_name", "last_name"):  # the name comparisons adjust for how common a name is
        linker.table_management.compute_tf_table(col)
    between = linker.inference.predict_between(old_sdf, new_sdf, threshold_match_probability=threshold)
    within = linker.inference.predict_within(new_sdf, threshold_match_probability=threshold)
    return pd.concat([between.as_pyarrow_table().to_pandas(), within.as_pyarrow_table().to_pandas()])


def _match_records(
    contacts: pd.DataFrame, threshold: float, model: str | None = None, new: set[str] | None = None
) -> tuple[pd.DataFrame, str | None]:
    """Pairs of contact records splink scores at or above ``threshold``, and the trained model (JSON).

    With ``model`` and ``new`` (incremental): no training; only pairs that involve a new record are scored
    (new against existing, and new against new).
    """
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI

    from cxlib.engine import duckdb_config

    df = contacts.dropna(subset=["last_name"]).drop(columns="component").rename(columns={"record": "unique_id"})
    empty = pd.DataFrame(columns=["record_a", "record_b", "match_probability"])
    if len(df) < 50 or (new is not None and not new):
        return empty, model
    con = duckdb.connect(config=duckdb_config())
    con.execute("SET enable_progress_bar = false")
    db = DuckDBAPI(connection=con)
    sdf = db.register(pa.Table.from_pandas(df, preserve_index=False), table_name="cx_contacts")
    if model is None:
        pred, model = _train_and_score(db, sdf, threshold)
    else:
        pred = _score_new(db, sdf, df, model, new, threshold)
    con.close()
    if pred.empty:
        return empty, model
    pred = pred.rename(columns={"unique_id_l": "record_a", "unique_id_r": "record_b"})
    # one orientation per pair, whatever the role each record played
    a, b = pred["record_a"].astype(str), pred["record_b"].astype(str)
    pred["record_a"], pred["record_b"] = a.where(a < b, b), b.where(a < b, a)
    return pred[["record_a", "record_b", "match_probability"]].drop_duplicates(["record_a", "record_b"]), model


def _contact_features(ws: Workspace, nodes: ibis.Table) -> pd.DataFrame:
    """Contact records with the fields splink compares and their deterministic component (pulled: small)."""
    c = ws.table("contacts")
    rec = nodes.filter(nodes.id_type == "record")
    c = c.join(rec, c.record_id == rec.id_value)
    out = c.select(
        record=c.record_id,
        component=c.component,
        first_name=_name_key(c.first_name),
        last_name=_name_key(c.last_name),
        birth_date=c.birth_date,
        postcode=normalise_postcode(c.postcode),
        address=ibis.cases(
            (c.street.notnull() & c.postcode.notnull(), _name_key(c.street) + " " + normalise_postcode(c.postcode)),
            else_=ibis.null("string"),
        ),
    )
    # in a fixed order: splink's sampling and EM depend on row order, and engines return rows in any order
    return out.order_by("record").to_pandas()


def _previous_run(ws: Workspace, feats: pd.DataFrame) -> tuple[str, set[str], pd.DataFrame]:
    """For an incremental run: the last run's model, the contact records new since then, and the scores
    of pairs of existing records (which keep them)."""
    if not all(ws.has(t) for t in ("unify_model", "unify_matches", "identity_links")):
        raise DataError("an incremental unify needs a full run first: run `cx unify` without --incremental")
    model = ws.table("unify_model").to_pandas()["model"].iloc[0]
    lk = ws.table("identity_links")
    seen = set(lk.filter(lk.table_name == "contacts").record_key.to_pandas())
    new = set(feats["record"]) - seen
    previous = ws.table("unify_matches").to_pandas()[["record_a", "record_b", "match_probability"]]
    previous = previous[previous["record_a"].isin(seen) & previous["record_b"].isin(seen)]
    return model, new, previous


def match_components(
    ws: Workspace, cfg: UnifyConfig, nodes: ibis.Table, incremental: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scored pairs of contact records in different components, and the accepted ones.

    Returns ``(candidates, matches)``: ``candidates`` has ``record_a, record_b, match_probability,
    component_a, component_b, accepted`` (every pair scored at 0.5 or more), ``matches`` the accepted
    pairs without ``accepted``. Writes ``unify_contact_components`` and ``unify_model``.
    """
    matches = pd.DataFrame(columns=_MATCH_COLUMNS)
    if not (cfg.probabilistic and ws.has("contacts")):
        return matches.assign(accepted=pd.Series(dtype="bool")), matches
    feats = _contact_features(ws, nodes)
    ws.write("unify_contact_components", feats[["record", "component"]].astype("string"))
    # score down to 0.5 so that the threshold can be re-examined (threshold_curve) without re-training
    model, new, previous = _previous_run(ws, feats) if incremental else (None, None, None)
    m, model = _match_records(feats, min(0.5, cfg.match_threshold), model, new)
    if previous is not None:  # pairs of existing records keep their scores; only new records were scored
        m = pd.concat([previous, m], ignore_index=True).drop_duplicates(["record_a", "record_b"])
    if model is not None:
        ws.write("unify_model", pd.DataFrame({"model": pd.Series([model], dtype="string")}))
    comp = feats.set_index("record")["component"]
    m["component_a"] = m["record_a"].map(comp)
    m["component_b"] = m["record_b"].map(comp)
    candidates = m[m["component_a"] != m["component_b"]].sort_values(["record_a", "record_b"], ignore_index=True)
    candidates["accepted"] = candidates["match_probability"] >= cfg.match_threshold
    matches = candidates[candidates["accepted"]].drop(columns="accepted").reset_index(drop=True)
    return candidates, matches


def merge_map(matches: pd.DataFrame) -> pd.DataFrame:
    """``component, cluster, match_probability``: each component joined by ``matches`` to its cluster (the
    smallest component it is joined to) with the highest probability of a match it takes part in."""
    roots = union_find(zip(matches["component_a"], matches["component_b"], strict=True))
    if not roots:
        return pd.DataFrame(columns=["component", "cluster", "match_probability"])
    best = pd.concat(
        [
            matches[["component_a", "match_probability"]].set_axis(["component", "p"], axis=1),
            matches[["component_b", "match_probability"]].set_axis(["component", "p"], axis=1),
        ]
    )
    best = best.groupby("component")["p"].max()
    out = pd.DataFrame({"component": list(roots), "cluster": list(roots.values())})
    out["match_probability"] = out["component"].map(best)
    return out
