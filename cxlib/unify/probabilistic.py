"""Probabilistic matching of contact records with splink, on top of the deterministic identity graph.

splink's Fellegi-Sunter model, trained by EM without labels, compares contact records on first name, last
name, birth date, street number, street, postcode and city (:func:`features` prepares them), blocked by many
rules on different fields; the model is built from :class:`UnifyConfig` in :mod:`cxlib.unify.model`.
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

import dataclasses
import json

import ibis
import pandas as pd

from cxlib.engine import Workspace
from cxlib.memory import lent_memory
from cxlib.schema import DataError
from cxlib.unify.blocks import capped_rules, with_block_keys
from cxlib.unify.clusters import MERGED, birth_dates_by_component, decisions, kinds_held
from cxlib.unify.config import UnifyConfig
from cxlib.unify.graph import union_find
from cxlib.unify.households import component_contacts, component_kinds, household_scores, household_shares
from cxlib.unify.model import CONTACT_POINTS, _parse_once, correct_u, train
from cxlib.unify.model import settings as model_settings
from cxlib.unify.normalise import (
    PLACEHOLDER_DATES,
    _name_key,
    blank_demoted,
    normalise_email,
    normalise_postcode,
    trim,
)
from cxlib.unify.records import contact_record, run_shared_records
from cxlib.unify.u_sampling import _quote_id

__all__ = ["match_components", "merge_map"]

#: The share of the workspace's DuckDB memory limit splink's own DuckDB borrows for its run (the workspace's
#: connection only keeps its buffers meanwhile). Half of it was too little at a million people: splink's predict
#: stopped with DuckDB's "Out of Memory Error: failed to pin block" at 1.8 GiB of the 4 GB default.
SPLINK_MEMORY = 0.9

_MATCH_COLUMNS = ["record_a", "record_b", "match_probability", "component_a", "component_b"]
#: Street types as the last word of a street name, each written one way (``High Street`` = ``High St``).
_STREET_TYPES = (
    ("street", "st"),
    ("road", "rd"),
    ("lane", "ln"),
    ("avenue", "ave"),
    ("av", "ave"),
    ("crescent", "cres"),
    ("drive", "dr"),
    ("court", "ct"),
    ("place", "pl"),
    ("square", "sq"),
    ("terrace", "tce"),
    ("gardens", "gdns"),
    ("close", "cl"),
    ("parade", "pde"),
)
#: A street type as the last word of a street name (:data:`_STREET_TYPES`).
_STREET_TYPE_AT_END = r"\b(" + "|".join(word for word, _ in _STREET_TYPES) + r")$"


def _train_and_score(  # noqa: ANN001
    db, sdf, cfg: UnifyConfig, threshold: float, n: int, absent: frozenset[str] = frozenset()
) -> tuple[pd.DataFrame, str]:
    """Train a new model on the ``n`` contact records and score all blocked pairs: ``(predictions, model)``.

    With ``cfg.correct_u``, a second pass: the prior becomes the expected share of matching pairs the first
    scores imply (when higher than the estimate from near-certain pairs), u is freed of those matches
    (:func:`cxlib.unify.model.correct_u`), and the pairs are scored again -- from the first pass's comparison
    vectors when that pass kept every pair the new model can lift over ``threshold`` (:func:`_rescore`).
    """
    import json
    import logging

    from splink import Linker

    with _parse_once():  # splink parses the same conditions with sqlglot again and again
        # no settings validation: it only logs (which ERROR silences), and cost 2 s per linker in sqlglot
        linker = Linker(sdf, model_settings(cfg, absent), log_level=logging.ERROR, validate_settings=False)
        train(linker, cfg)
        if not cfg.correct_u:
            pred = linker.inference.predict(threshold_match_probability=threshold).as_pyarrow_table().to_pandas()
            return pred, json.dumps(linker.misc.save_model_to_json(), sort_keys=True)
        linker.inference.compute_blocked_pairs_for_predict()  # once, for both scorings
        pred = _score_corrected(linker, cfg, threshold, n)
        return pred, json.dumps(linker.misc.save_model_to_json(), sort_keys=True)


#: How far (in match weight, bits) below the threshold the first scoring keeps pairs, so that the corrected
#: model can score the kept ones again from their comparison vectors instead of comparing every blocked pair
#: a second time. The most a pair's weight can rise (the prior's rise plus each comparison's largest rise
#: over its levels, term frequencies included) measured 6.0 bits at 100k people, 7.4 on the tests' 4,000 and
#: 9.7-13.6 on FEBRL 1-3; when it is more than this, every blocked pair is scored again.
RESCORE_MARGIN = 10.0


def _score_corrected(linker, cfg: UnifyConfig, threshold: float, n: int) -> pd.DataFrame:  # noqa: ANN001
    """The pairs scored at or above ``threshold`` by the u-corrected model (see :func:`_train_and_score`)."""
    cut = _match_weight(threshold)
    s = linker._settings_obj
    retained, s._retain_intermediate_calculation_columns = s._retain_intermediate_calculation_columns, True
    try:  # the term frequencies, to score the kept pairs again
        first = linker.inference.predict(**({"threshold_match_weight": cut - RESCORE_MARGIN} if threshold > 0 else {}))
    finally:
        s._retain_intermediate_calculation_columns = retained
    con, table = linker._db_api.duckdb_con, _quote_id(first.physical_name)
    total = con.execute(f"SELECT sum(match_probability) FROM {table} WHERE match_weight >= ?", [cut]).fetchone()[0]
    trained = linker.misc.save_model_to_json()
    before = _weights(linker)
    implied = (total or 0.0) / (n * (n - 1) / 2)
    lam = max(float(trained["probability_two_random_records_match"]), implied)
    trained["probability_two_random_records_match"] = min(lam, 0.5)
    _set_parameters(linker, correct_u(trained, 1 / cfg.u_max_pairs))
    pred = _rescored(linker, first, threshold, before)
    if pred is None:  # the first scoring may have left out a pair the new model lifts over the threshold
        pred = linker.inference.predict(threshold_match_probability=threshold)
    first.drop_table_from_database_and_remove_from_cache()
    return pred.as_pyarrow_table().to_pandas()


def _match_weight(probability: float) -> float:
    """A probability as a match weight (bits), as splink turns a threshold into one (0: minus infinity)."""
    import math

    return math.log2(probability / (1 - probability)) if probability > 0 else -math.inf


def _rescored(linker, first, threshold: float, before: tuple | None):  # noqa: ANN001, ANN202
    """:func:`_rescore` when the margin covers the largest rise from model ``before`` to the linker's
    (:func:`_largest_rise`), else ``None`` -- also when splink's internals moved (a release after 5.0)."""
    try:
        after = _weights(linker)
        if before is None or after is None or _largest_rise(before, after) > RESCORE_MARGIN - 1e-6:
            return None
        return _rescore(linker, first, threshold)
    except (ImportError, AttributeError):
        return None


def _weights(linker) -> tuple[float, dict[str, dict[int, float]]] | None:  # noqa: ANN001
    """The model's prior match weight and, per comparison and level, the weight a pair at that level adds
    on top of its term-frequency part's ``log2`` of the observed frequency: the level's weight plus its
    term-frequency weight times ``log2`` of the u of the exact-match level (how splink 5 adds them up).
    ``None`` when splink's internals moved (a release after 5.0)."""
    import math

    s = linker._settings_obj
    out: dict[str, dict[int, float]] = {}
    try:
        comps = [(c.output_column_name, c.comparison_levels) for c in s.comparisons]
        for name, levels in comps:
            per = out.setdefault(name, {})
            for lvl in levels:
                if lvl.is_null_level:
                    continue
                w = lvl._match_weight
                if lvl._has_tf_adjustments and lvl._tf_adjustment_weight and not lvl._is_else_level:
                    u_exact = lvl._u_probability_corresponding_to_exact_match(levels)
                    w += lvl._tf_adjustment_weight * math.log2(u_exact)
                per[lvl.comparison_vector_value] = w
        return _match_weight(s._probability_two_random_records_match), out
    except AttributeError:
        return None


def _largest_rise(before: tuple, after: tuple) -> float:
    """The most a pair's match weight can rise from model ``before`` to ``after`` (:func:`_weights`)."""
    rise = after[0] - before[0]
    for name, levels in before[1].items():
        rise += max(0.0, *(after[1][name][v] - w for v, w in levels.items()))
    return rise


def _rescore(linker, first, threshold: float):  # noqa: ANN001, ANN202
    """Score the pairs of an earlier prediction ``first`` (comparison vectors and term frequencies kept) with
    the linker's current model: splink's own scoring SQL, run on those rows instead of every blocked pair."""
    from splink.internals.pipeline import CTEPipeline
    from splink.internals.predict import predict_from_comparison_vectors_sqls_using_settings

    pipeline = CTEPipeline([first])
    pipeline.enqueue_sql(f"SELECT * FROM {first.templated_name}", "__splink__df_comparison_vectors")
    pipeline.enqueue_list_of_sqls(predict_from_comparison_vectors_sqls_using_settings(linker._settings_obj, threshold))
    return linker._db_api.sql_pipeline_to_splink_dataframe(pipeline)


def _set_parameters(linker, model: dict) -> None:  # noqa: ANN001
    """The prior and the u probabilities of ``model`` (the linker's own model, saved and changed: the same
    comparisons and levels) set on ``linker``: what a new linker of ``model`` would score, without building
    one and blocking and counting term frequencies again."""
    s = linker._settings_obj
    s._probability_two_random_records_match = float(model["probability_two_random_records_match"])
    for comp, saved in zip(s.comparisons, model["comparisons"], strict=True):
        levels = comp.comparison_levels
        for lvl, got in zip(levels, saved["comparison_levels"], strict=True):
            u = got.get("u_probability")
            if not lvl.is_null_level and isinstance(u, float | int) and lvl._u_probability != u:
                lvl.u_probability = u


def tf_columns(settings: dict) -> list[str]:
    """The columns a saved model adjusts for term frequency."""
    return sorted(
        {
            lvl["tf_adjustment_column"]
            for comp in settings.get("comparisons", [])
            for lvl in comp.get("comparison_levels", [])
            if lvl.get("tf_adjustment_column")
        }
    )


def _score_new(db, sdf, df: pd.DataFrame, model: str, new: set[str], threshold: float) -> pd.DataFrame:  # noqa: ANN001
    """With a trained ``model``: only pairs that involve a new record (new against existing, new against new)."""
    import json
    import logging

    import pyarrow as pa
    from splink import Linker

    is_new = df["unique_id"].isin(new)
    old_sdf = db.register(pa.Table.from_pandas(df[~is_new], preserve_index=False), table_name="cx_old")
    new_sdf = db.register(pa.Table.from_pandas(df[is_new], preserve_index=False), table_name="cx_new")
    settings = json.loads(model)
    linker = Linker(sdf, settings, log_level=logging.ERROR, validate_settings=False)
    for col in tf_columns(settings):  # term frequencies of the whole population, old and new records
        linker.table_management.compute_tf_table(col)
    between = linker.inference.predict_between(old_sdf, new_sdf, threshold_match_probability=threshold)
    within = linker.inference.predict_within(new_sdf, threshold_match_probability=threshold)
    return pd.concat([between.as_pyarrow_table().to_pandas(), within.as_pyarrow_table().to_pandas()])


def _match_records(
    named: pd.DataFrame,
    absent: frozenset[str],
    cfg: UnifyConfig,
    threshold: float,
    model: str | None = None,
    new: set[str] | None = None,
    shares: tuple[float, float] = (1.0, 1.0),
    memory: float | None = None,
    held: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, str | None]:
    """Pairs of contact records splink scores at or above ``threshold``, and the trained model (JSON).

    ``named`` and ``absent`` are :func:`_contact_points` of the named contact records (:func:`_named`), ``held``
    their components' contact points (:func:`cxlib.unify.households.component_contacts`, computed here when not
    given). With ``model`` and ``new`` (incremental): no training; only pairs that involve a new record are scored
    (new against existing, and new against new). With household ``shares`` (all pairs, pairs that both hold
    a contact point) below 1, every score is capped by :func:`cxlib.unify.households.household_scores`.
    ``memory``: splink's DuckDB memory limit in bytes (default: the workspace's,
    :func:`cxlib.engine.duckdb_config`).
    """
    import duckdb
    import pyarrow as pa
    from splink import DuckDBAPI

    from cxlib.memory import duckdb_config

    df = named.drop(columns="component").rename(columns={"record": "unique_id"})
    df = df.astype({"birth_days": "Int64"})  # not floats
    empty = pd.DataFrame(columns=_MATCH_COLUMNS[:3])
    if len(df) < 50 or (new is not None and not new):
        return empty, model
    if model is None:  # groups too big to be evidence left to the other rules (cxlib.unify.blocks)
        df, rules, _ = capped_rules(df, cfg)
        cfg = dataclasses.replace(cfg, blocking_rules=rules)
    else:  # the last run's rules, on the key columns it blocked on
        df = with_block_keys(df, cfg, json.loads(model))
    config = duckdb_config() | ({"memory_limit": f"{int(memory // 2**20)}MiB"} if memory else {})
    con = duckdb.connect(config=config)
    try:  # closed on an error too: DuckDB removes what it spilled to the temporary folder when it closes
        con.execute("SET enable_progress_bar = false")
        db = DuckDBAPI(connection=con)
        sdf = db.register(pa.Table.from_pandas(df, preserve_index=False), table_name="cx_contacts")
        if model is None:
            pred, model = _train_and_score(db, sdf, cfg, threshold, len(df), absent)
        else:
            pred = _score_new(db, sdf, df, model, new, threshold)
    finally:
        con.close()
    if pred.empty:
        return empty, model
    pred = pred.rename(columns={"unique_id_l": "record_a", "unique_id_r": "record_b"})
    if min(shares) < 1:
        held = component_contacts(named) if held is None else held
        pred["match_probability"] = household_scores(pred, model, *shares, held=held)
        pred = pred[pred["match_probability"] >= threshold]
    # one orientation per pair, whatever the role each record played
    a, b = pred["record_a"].astype(str), pred["record_b"].astype(str)
    pred["record_a"], pred["record_b"] = a.where(a < b, b), b.where(a < b, a)
    return pred[_MATCH_COLUMNS[:3]].drop_duplicates(["record_a", "record_b"]), model


def _named(contacts: pd.DataFrame) -> pd.DataFrame:
    """The contact records with a first or a last name: the only ones compared."""
    return contacts[contacts["first_name"].notna() | contacts["last_name"].notna()]


def _contact_points(df: pd.DataFrame, cfg: UnifyConfig) -> tuple[pd.DataFrame, frozenset[str]]:
    """``df`` with each e-mail or phone held by more records than the over-merge guard allows
    (``cfg.max_records``) blanked -- the guard kept it from joining them, so the same value must not join them
    here -- and the contact points no two records have (their comparisons are left out)."""
    absent = set()
    for col in CONTACT_POINTS:
        if col not in df.columns:
            absent.add(col)
            continue
        values = df[col]
        counts = values.value_counts()
        many = values.isin(counts.index[counts > cfg.max_records.get(col, 10)])  # the few shared too widely
        df = df.assign(**{col: values.mask(many)})
        if df[col].notna().sum() < 2:
            absent.add(col)
    return df, frozenset(absent)


def _blank_null(s: ibis.StringValue) -> ibis.StringValue:
    return ibis.cases((s == "", ibis.null("string")), else_=s)


def _birth_date(c: ibis.Table) -> ibis.StringValue:
    """``YYYYMMDD``; where the date did not parse and the raw text is kept (``birth_date_raw``), its digits."""
    parsed = c.birth_date.cast("date").strftime("%Y%m%d") if "birth_date" in c.columns else ibis.null("string")
    if "birth_date_raw" in c.columns:
        raw = trim(c.birth_date_raw.cast("string"))
        # a day-first date (07/03/1984, 07.03.1984) reordered to YYYYMMDD; a month-first one then differs
        # from the true date by day and month swapped, which the comparison has a level for
        dmy = r"^([0-9]{1,2})[./-]([0-9]{1,2})[./-]([0-9]{4})$"
        reordered = ibis.cases(
            (
                raw.re_search(dmy),
                raw.re_extract(dmy, 3) + raw.re_extract(dmy, 2).lpad(2, "0") + raw.re_extract(dmy, 1).lpad(2, "0"),
            ),
            else_=raw.re_replace(r"[^0-9]", ""),
        )
        parsed = ibis.coalesce(parsed, _blank_null(reordered))
    return ibis.cases((parsed.isin(PLACEHOLDER_DATES), ibis.null("string")), else_=parsed)  # "not known"


def _birth_days(c: ibis.Table) -> ibis.IntegerValue:
    """The birth date as days since 1970-01-01 (for "within a month" without parsing dates once per pair)."""
    if "birth_date" not in c.columns:
        return ibis.null("int64")
    d = c.birth_date.cast("date")
    days = d.delta(ibis.date(1970, 1, 1), unit="day").cast("int64")
    return ibis.cases((d.strftime("%Y%m%d").isin(PLACEHOLDER_DATES), ibis.null("int64")), else_=days)


def _digits(date: str) -> int:
    """How often each digit occurs in ``date`` (at most 5 times counted), in one number: digit ``d``'s count
    ``n`` as ``n`` one-bits at bits ``5d`` on, so that ``bit_count(xor(a, b))`` is the sum over the digits of
    the difference in counts. 50 bits: exact in a float too.

    >>> _digits("19840307") == 0b11 + (0b1 << 5) + (0b1 << 15) + (0b1 << 20) + (0b1 << 35) + (0b1 << 40) + (0b1 << 45)
    True
    """
    return sum(((1 << min(date.count(str(d)), 5)) - 1) << (5 * d) for d in range(10))


def _letters(name: str) -> int:
    """How often each letter a-z occurs in ``name``'s bytes (at most twice counted), in one number: letter
    ``i``'s count ``n`` as ``n`` one-bits at bits ``2i`` on (52 bits).

    >>> _letters("anna") == 0b11 + (0b11 << 26)
    True
    """
    raw = name.encode()
    return sum(((1 << min(raw.count(c), 2)) - 1) << (2 * (c - 97)) for c in set(raw) if 97 <= c <= 122)


#: The columns :func:`with_counts` adds: column -> (the feature it counts, how)
_COUNTS = {"birth_digits": ("birth_date", _digits), "first_name_letters": ("first_name", _letters),
           "last_name_letters": ("last_name", _letters), "street_letters": ("street", _letters)}


def with_counts(feats: pd.DataFrame) -> pd.DataFrame:
    """``feats`` with the character counts the comparisons check before an edit distance or Jaro-Winkler:
    ``birth_digits`` (:func:`_digits` of ``birth_date``), ``first_name_letters``, ``last_name_letters`` and
    ``street_letters`` (:func:`_letters`); null where the feature is (none where ``feats`` lacks the feature).

    Cheap necessary conditions: an edit changes the sum of the differences in counts by at most two (a swap
    of neighbours not at all), and two names share at most the letters both have; most pairs fail them and
    skip the expensive function (see :mod:`cxlib.unify.model`). In pandas, once per distinct value: as an
    engine expression the counts repeated the whole feature expression twenty times (0.5 s on 5,000 records).
    """
    import numpy as np

    out = {}
    for col, (source, count) in _COUNTS.items():
        if source not in feats.columns:
            continue
        # each row's distinct value in one pass (a lookup of every row in an index of the values took 10 times
        # as long: 1M customers, 2.1M records, four columns: 2.9 of with_counts' 4.2 s)
        at, distinct = pd.factorize(feats[source].astype("string"))
        codes = np.array([count(v) for v in distinct] + [0], dtype="int64")  # the last: for nulls (-1)
        out[col] = pd.arrays.IntegerArray(codes[at], at < 0)
    return feats.assign(**out)


def _street(c: ibis.Table) -> tuple[ibis.StringValue, ibis.StringValue]:
    """``(street_number, street)``: the number (a column of its own, or the leading number of the street
    line) and the street name without it."""
    line = _name_key(c.street.cast("string")) if "street" in c.columns else ibis.null("string")
    number = _blank_null(line.re_extract(r"^\s*([0-9]+[a-z]?)\b", 1))
    if "street_number" in c.columns:
        number = ibis.coalesce(_blank_null(_name_key(c.street_number.cast("string"))), number)
    name = trim(line.re_replace(r"^\s*[0-9]+[a-z]?\b", ""))  # not .strip(): see trim
    # the street type written out or abbreviated: the same street. Its last word, if a type, by one pattern
    # and a lookup (one replacement a type took 14 passes of the regular expression engine over every name)
    kind = name.re_extract(_STREET_TYPE_AT_END, 1)
    short = kind.substitute(dict(_STREET_TYPES))
    name = ibis.cases((kind == "", name), else_=name.re_replace(_STREET_TYPE_AT_END, "") + short)
    # without spaces: "cre scent" and "crescent", "lake clifton" and "lakeclifton" are one typo apart at most
    return number, _blank_null(name.re_replace(r"\s+", ""))


def features(c: ibis.Table, cfg: UnifyConfig) -> dict[str, ibis.Value]:
    """The fields the model compares, normalised, from contacts table ``c`` (columns it lacks are null)."""

    def col(name: str) -> ibis.StringValue:
        return c[name].cast("string") if name in c.columns else ibis.null("string")

    number, street = _street(c)
    phone = col("phone").re_replace(r"[^0-9]", "")
    out = {
        "first_name": _blank_null(_name_key(col("first_name"))),
        "last_name": _blank_null(_name_key(col("last_name"))),
        "birth_date": _birth_date(c),
        "birth_days": _birth_days(c),
        "street_number": number,
        "street": street,
        "postcode": _blank_null(normalise_postcode(col("postcode"))),
        "city": _blank_null(_name_key(col("city")).re_replace(r"\s+", "")),
        # the contact points, compared for evidence against (see cxlib.unify.model): an e-mail as the graph
        # reads it (an address, or nothing: "n/a" in two records is not the same e-mail), a phone's last nine
        # digits (the country code and a trunk 0 apart) when it has seven or more ("0", "-" are no number)
        "email": normalise_email(col("email")),
        "phone": _blank_null(ibis.cases((phone.length() >= 7, phone.right(9)), else_="")),
    }
    for name in cfg.match_columns:
        out[name] = _blank_null(_name_key(col(name)))
    return out


def contact_rows(ws: Workspace, cfg: UnifyConfig, demoted: ibis.Table | None) -> ibis.Table:
    """The contact records as the matching reads them: ``_record``, each record's identifier (``source:id`` where
    two systems share an id), and the e-mails and phones the over-merge guard ``demoted`` blanked
    (:func:`~cxlib.unify.normalise.blank_demoted`). One definition for the run and its explanations."""
    c = blank_demoted(ws.table("contacts"), demoted, cfg.default_country)
    return c.mutate(_record=contact_record(c, run_shared_records(ws, cfg)))


def _contact_features(
    ws: Workspace, nodes: ibis.Table, cfg: UnifyConfig, demoted: ibis.Table | None = None
) -> pd.DataFrame:
    """Contact records with the fields splink compares and their deterministic component (pulled: small)."""
    c = contact_rows(ws, cfg, demoted)
    rec = nodes.filter(nodes.id_type == "record")
    c = c.join(rec, c._record == rec.id_value)
    out = c.select(record=c._record, component=c.component, **features(c, cfg))
    # in a fixed order: splink's sampling and EM depend on row order, and engines return rows in any order
    df = out.order_by("record").to_pandas()
    if df["record"].duplicated().any():
        # one record twice in one source (an export with a repeated row): splink needs each id once, the
        # fields of one of them, chosen by value
        df = df.sort_values(list(df.columns), na_position="last", kind="stable").drop_duplicates("record")
        df = df.reset_index(drop=True)
    return with_counts(df)


def _previous_run(ws: Workspace, feats: pd.DataFrame, cfg: UnifyConfig) -> tuple[str, set[str], pd.DataFrame]:
    """For an incremental run: the last run's model, the contact records new since then (keyed as
    ``feats["record"]`` is: ``source:id`` where two sources hold an id), and the scores of pairs of existing
    records (which keep them)."""
    if not all(ws.has(t) for t in ("unify_model", "unify_matches", "identity_links")):
        raise DataError("an incremental unify needs a full run first: run `cx unify` without --incremental")
    model = ws.table("unify_model").to_pandas()["model"].iloc[0]
    lk = ws.table("identity_links")
    old = lk.filter(lk.table_name == "contacts").select("source", record_id=lk.record_key)
    seen = set(old.select(r=contact_record(old, run_shared_records(ws, cfg))).to_pandas()["r"])
    new = set(feats["record"]) - seen
    previous = ws.table("unify_matches").to_pandas()[_MATCH_COLUMNS[:3]]
    previous = previous[previous["record_a"].isin(seen) & previous["record_b"].isin(seen)]
    return model, new, previous


def match_components(
    ws: Workspace, cfg: UnifyConfig, nodes: ibis.Table, incremental: bool = False, demoted: ibis.Table | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The scored pairs of contact records in different components, and the accepted ones.

    Returns ``(candidates, matches)``: ``candidates`` has ``record_a, record_b, match_probability,
    component_a, component_b, accepted, decision`` (every pair scored at 0.5 or more; accepted: at or above
    the threshold and not refused for conflicting birth dates or contact points; decision: which of these,
    in words, see :func:`cxlib.unify.clusters.decisions`), ``matches`` the accepted pairs without
    ``accepted`` and ``decision``. Writes
    ``unify_contact_components`` (``record, component, birth_date, contacts``: the kinds of contact point the
    component holds, :func:`cxlib.unify.households.component_kinds`) and ``unify_model`` (``model``, splink
    JSON, and the ``household_share`` and ``household_contact_share`` that capped the scores,
    :mod:`cxlib.unify.households`). ``demoted``: the identifiers the graph's over-merge guard demoted, blanked
    here too (:func:`contact_rows`).
    """
    matches = pd.DataFrame(columns=_MATCH_COLUMNS)
    if not (cfg.probabilistic and ws.has("contacts")):
        return matches.assign(accepted=pd.Series(dtype="bool"), decision=pd.Series(dtype="string")), matches
    feats = _contact_features(ws, nodes, cfg, demoted)
    # the records as splink sees them (demoted e-mails and phones blanked), once for the households' shares,
    # the scores' caps and the contact points each component holds
    named, absent = _contact_points(_named(feats), cfg)
    held = component_contacts(named)
    kinds = component_kinds(named)
    comps = feats[["record", "component", "birth_date"]].assign(contacts=feats["component"].map(kinds))
    ws.write("unify_contact_components", comps.astype("string"))
    # score down to 0.5 so that the threshold can be re-examined (threshold_curve) without re-training
    model, new, previous = _previous_run(ws, feats, cfg) if incremental else (None, None, None)
    shares = household_shares(named, held) if cfg.household_correction else (1.0, 1.0)
    # splink's DuckDB and the workspace's share one memory budget; the workspace's is idle meanwhile
    with lent_memory(ws.backend, SPLINK_MEMORY) as lent:
        threshold = min(0.5, cfg.match_threshold)
        m, model = _match_records(named, absent, cfg, threshold, model, new, shares, lent, held)
    if previous is not None:  # pairs of existing records keep their scores; only new records were scored
        m = pd.concat([previous, m], ignore_index=True).drop_duplicates(["record_a", "record_b"])
    if model is not None:
        saved = {"model": pd.Series([model], dtype="string"), "household_share": [shares[0]],
                 "household_contact_share": [shares[1]]}
        ws.write("unify_model", pd.DataFrame(saved))
    comp = feats.set_index("record")["component"]
    m["component_a"] = m["record_a"].map(comp)
    m["component_b"] = m["record_b"].map(comp)
    candidates = m[m["component_a"] != m["component_b"]].sort_values(["record_a", "record_b"], ignore_index=True)
    dates = birth_dates_by_component(feats, candidates) if cfg.birth_date_conflicts else None
    held = kinds_held(kinds) if cfg.contact_conflicts else None  # contacts_by_component(comps), without a pass
    candidates["decision"] = decisions(candidates, cfg.match_threshold, dates, held)
    candidates["accepted"] = candidates["decision"] == MERGED
    matches = candidates[candidates["accepted"]].drop(columns=["accepted", "decision"]).reset_index(drop=True)
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
