"""Personas speed, peak memory and quality on generated companies: prints a table.

Usage: python benchmarks/bench_personas.py [N ...]   (default: 100000 1000000)
       python benchmarks/bench_personas.py --folder PATH   (an already unified workspace, e.g. data/demo)

Each size runs in a fresh process: generate (Parquet), load and unify -- untimed -- then the timed steps of
:func:`cxlib.personas.write_personas`: customer features in the engine, pulling the fitting sample (at most
200,000 customers with orders), fitting (``n_personas="auto"`` over k = 2..10), and assigning every identified
customer in the engine while writing the ``personas`` table. Peak memory is the process's maximum resident set
(DuckDB's buffer pool included). Quality (untimed): adjusted Rand index of the fitted sample's personas
against the generator's true personas, the chosen k, and the ARI between two seeds.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = 200_000


def measure(folder: str) -> dict:
    import numpy as np
    import pandas as pd
    from sklearn.metrics import adjusted_rand_score

    import cxlib
    from cxlib import personas, synth

    timings = {}
    with cxlib.connect(folder) as ws:
        t0 = time.perf_counter()
        feats = ws.scratch("_bench_features", personas.customer_features(ws, anonymous=False, lazy=True))
        n = int(feats.count().execute())
        timings["features_s"] = time.perf_counter() - t0
        t = time.perf_counter()
        pool = feats.filter(feats.frequency > 0).order_by("customer_id").limit(SAMPLE)
        sample = personas._to_pandas(pool)
        timings["sample_s"] = time.perf_counter() - t
        t = time.perf_counter()
        model = personas.PersonaModel(random_state=0).fit(sample)
        timings["fit_s"] = time.perf_counter() - t
        t = time.perf_counter()
        ws.write("personas", personas.assign(model, feats))
        timings["assign_s"] = time.perf_counter() - t
        timings["total_s"] = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        assigned = int(ws.table("personas").count().execute())
        links = ws.table("identity_links").select("table_name", "source", "record_key", "customer_id")
        links = links.filter(links.customer_id.isin(sample["customer_id"].tolist())).to_pandas()
    out = {"customers": n, "fitted": len(sample), "assigned": assigned, "peak_mb": peak_mb, "k": model.n_personas_}
    out.update(timings)
    truth_dir = Path(folder) / "truth"
    if truth_dir.exists():
        truth = synth.load_truth(folder)
        m = links.merge(
            truth.record_map[["table_name", "source", "record_key", "person_id"]],
            on=["table_name", "source", "record_key"],
        )
        top = m.groupby(["customer_id", "person_id"]).size().rename("rows").reset_index()
        top = top.sort_values(["customer_id", "rows", "person_id"], ascending=[True, False, True])
        top = top.drop_duplicates("customer_id").merge(truth.people[["person_id", "persona"]], on="person_id")
        lab = pd.DataFrame({"customer_id": sample["customer_id"], "label": model.labels_}).merge(top, on="customer_id")
        out["ari_truth"] = float(adjusted_rand_score(lab["persona"], lab["label"]))
    other = personas.PersonaModel(random_state=1).fit(sample)
    out["ari_seeds"] = float(adjusted_rand_score(model.labels_, other.labels_))
    out["k_seed1"] = other.n_personas_
    out["silhouette"] = [round(float(v), 4) for v in np.asarray(model.selection_["silhouette"])]
    return out


def one(n: int) -> dict:
    from cxlib import io, synth, unify

    with tempfile.TemporaryDirectory() as d:
        synth.write_company(d, n_customers=n, seed=7, progress=False, file_format="parquet")
        io.load(d)
        unify.unify(d)
        print(f"{n:,}: generated, loaded and unified", file=sys.stderr, flush=True)
        return {"people": n, **measure(d)}


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
        return
    if len(sys.argv) == 3 and sys.argv[1] == "--folder":
        runs = [("folder", [sys.executable, __file__, "--measure", sys.argv[2]])]
    elif len(sys.argv) == 3 and sys.argv[1] == "--measure":
        print(json.dumps({"people": 0, **measure(sys.argv[2])}))
        return
    else:
        sizes = [int(x) for x in sys.argv[1:]] or [100_000, 1_000_000]
        runs = [(f"{n:,}", [sys.executable, __file__, "--one", str(n)]) for n in sizes]
    print(f"cores: {os.cpu_count()}")
    print(
        f"{'people':>10} {'customers':>10} {'fitted':>8} {'features s':>10} {'sample s':>8} {'fit s':>6} "
        f"{'assign s':>8} {'total s':>7} {'peak MB':>8} {'k':>2} {'ARI truth':>9} {'ARI seeds':>9}"
    )
    for label, cmd in runs:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)  # stderr passes through
        if out.returncode != 0:
            print(f"{label:>10} failed (exit {out.returncode}); see the messages above")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['people']:>10,} {r['customers']:>10,} {r['fitted']:>8,} {r['features_s']:>10.1f} "
            f"{r['sample_s']:>8.1f} {r['fit_s']:>6.1f} {r['assign_s']:>8.1f} {r['total_s']:>7.1f} "
            f"{r['peak_mb']:>8,.0f} {r['k']:>2} {r.get('ari_truth', float('nan')):>9.3f} {r['ari_seeds']:>9.3f}"
        )
        print(f"{'':>10} silhouette over k=2..10: {r['silhouette']}; k with seed 1: {r['k_seed1']}")


if __name__ == "__main__":
    main()
