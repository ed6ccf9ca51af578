"""Unify against plain splink on splink's own labelled example data: pairwise precision, recall, F1 and time.

Usage::

    python benchmarks/bench_splink_data.py [--historical PATH]

``fake_1000`` (``tests/data/splink_fake_1000.csv``: 1,000 records of 251 people, with typos, swapped names,
mangled birth dates, missing fields and e-mail typos) is always run; ``--historical`` adds
``historical_figures_with_errors_50k.parquet`` (50,578 records of 5,156 people, no e-mail) from
https://github.com/moj-analytical-services/splink_datasets (``data/``), which is not in the repository.

Each set is written as a CRM's ``contacts.csv`` (first and last name, birth date, city -- the historical set's
birth place -- e-mail, postcode, and the rest as extra columns), ``cx load`` reads it and ``unify`` runs with
its default settings. Beside it, plain splink with the settings of its own documented example for the set
(``docs/demos/examples/duckdb/deduplicate_50k_synthetic`` and the quickstart on ``fake_1000``), clustered at
0.5, 0.8, 0.95 and 0.99 (unify's threshold is 0.95).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
from pathlib import Path

import pandas as pd

FAKE = Path(__file__).resolve().parents[1] / "tests" / "data" / "splink_fake_1000.csv"


def _quality(record_key: pd.Series, customer: pd.Series, person: pd.Series) -> dict:
    """Pairwise quality of plain splink's clusters (``unify.evaluate`` on them as links)."""
    from cxlib import unify

    links = pd.DataFrame(
        {
            "table_name": "contacts",
            "source": "crm",
            "record_key": record_key.astype(str).to_numpy(),
            "customer_id": customer.astype(str).to_numpy(),
        }
    )
    truth = links.drop(columns="customer_id").assign(person_id=person.astype(str).to_numpy())
    q = unify.evaluate(links, truth).iloc[0]
    return {k: float(q[f"pairwise_{k}"]) for k in ("precision", "recall", "f1")}


def run_unify(path: Path) -> dict:
    import ibis
    import splink  # noqa: F401 - imported before the clock starts, as for plain splink

    _ = ibis.duckdb
    import cxlib
    from cxlib import unify
    from cxlib.unify.splink_data import write_splink_data

    folder = Path(tempfile.mkdtemp())
    truth = write_splink_data(folder, path)
    cxlib.load(folder)
    t0 = time.perf_counter()
    unify.unify(folder)
    seconds = time.perf_counter() - t0
    with cxlib.connect(folder, read_only=True) as ws:
        q = unify.evaluate(ws.table("identity_links").to_pandas(), truth).iloc[0]
    return {"seconds": seconds, **{k: float(q[f"pairwise_{k}"]) for k in ("precision", "recall", "f1")}}


def _settings(name: str):  # noqa: ANN202
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    if name == "fake_1000":
        return SettingsCreator(
            link_type="dedupe_only",
            comparisons=[
                cl.NameComparison("first_name"),
                cl.JaroAtThresholds("surname"),
                cl.DateOfBirthComparison("dob", input_is_string=True),
                cl.ExactMatch("city").configure(term_frequency_adjustments=True),
                cl.EmailComparison("email"),
            ],
            blocking_rules_to_generate_predictions=[block_on("first_name", "dob"), block_on("surname")],
        )
    return SettingsCreator(
        link_type="dedupe_only",
        blocking_rules_to_generate_predictions=[block_on("first_name", "surname"), block_on("surname", "dob")],
        comparisons=[
            cl.ForenameSurnameComparison(
                "first_name", "surname", forename_surname_concat_col_name="first_name_surname"
            ),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.PostcodeComparison("postcode_fake"),
            cl.ExactMatch("birth_place").configure(term_frequency_adjustments=True),
            cl.ExactMatch("occupation").configure(term_frequency_adjustments=True),
        ],
    )


def _train(name: str, linker) -> None:  # noqa: ANN001
    from splink import block_on

    t = linker.training
    if name == "fake_1000":
        t.estimate_probability_two_random_records_match([block_on("first_name", "surname")], recall=0.7)
        t.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        t.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
        t.estimate_parameters_using_expectation_maximisation(block_on("email"))
        return
    t.estimate_probability_two_random_records_match(
        [
            block_on("first_name", "surname", "dob"),
            block_on("substr(first_name,1,2)", "surname", "substr(postcode_fake,1,2)"),
            block_on("dob", "postcode_fake"),
        ],
        recall=0.6,
    )
    t.estimate_u_using_random_sampling(max_pairs=5e6, seed=1)
    t.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    t.estimate_parameters_using_expectation_maximisation(block_on("dob"))


def run_splink(name: str, path: Path) -> list[dict]:
    import duckdb
    from splink import DuckDBAPI, Linker

    from cxlib.unify.splink_data import splink_records

    d = splink_records(path)
    if name != "fake_1000":
        d["first_name_surname"] = d["first_name"] + " " + d["surname"]
    t0 = time.perf_counter()
    db = DuckDBAPI(connection=duckdb.connect())
    linker = Linker(db.register(d), _settings(name), log_level=logging.ERROR)
    _train(name, linker)
    pred = linker.inference.predict(threshold_match_weight=-5)
    seconds = time.perf_counter() - t0
    out = []
    for th in (0.5, 0.8, 0.95, 0.99):
        c = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, th).as_pandas_dataframe()
        out.append({"threshold": th, "seconds": seconds, **_quality(c["unique_id"], c["cluster_id"], c["cluster"])})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--historical", type=Path, help="historical_figures_with_errors_50k.parquet")
    args = ap.parse_args()
    sets = [("fake_1000", FAKE)] + ([("historical_50k", args.historical)] if args.historical else [])
    print(f"{'set':<15} {'tool':<22} {'precision':>9} {'recall':>7} {'F1':>7} {'seconds':>8}")
    for name, path in sets:
        u = run_unify(path)
        print(
            f"{name:<15} {'unify (0.95)':<22} {u['precision']:>9.4f} {u['recall']:>7.4f} {u['f1']:>7.4f} "
            f"{u['seconds']:>8.1f}",
            flush=True,
        )
        for s in run_splink(name, path):
            print(
                f"{name:<15} {'plain splink (' + str(s['threshold']) + ')':<22} {s['precision']:>9.4f} "
                f"{s['recall']:>7.4f} {s['f1']:>7.4f} {s['seconds']:>8.1f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
