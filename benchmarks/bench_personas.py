"""Personas speed, peak memory and quality on generated companies: prints a table.

Usage: python benchmarks/bench_personas.py [N ...] [--workdir DIR]   (default: 100000 1000000)
       python benchmarks/bench_personas.py --folder PATH   (an already unified workspace, e.g. data/demo)
       python benchmarks/bench_personas.py --copies 10 PATH   (ten copies of an unified workspace's customers)

Each size is built in its own process -- generate (Parquet, seed 7), load and unify, untimed; kept in
``DIR/company-N`` and reused when ``--workdir`` is given -- then a fresh process times the steps of
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
        if ws.has("identity_links"):
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


def build(n: int, folder: Path) -> None:
    """Generate, load and unify a company of ``n`` people into ``folder`` (skipped when already built)."""
    from cxlib import io, synth, unify

    if (folder / "unified.ok").exists():
        return
    synth.write_company(folder, n_customers=n, seed=7, progress=False, file_format="parquet")
    io.load(folder)
    unify.unify(folder)
    (folder / "unified.ok").write_text("ok\n")


def replicate(src: Path, times: int, out: Path) -> None:
    """A workspace holding ``times`` copies of ``src``'s customers and touchpoints (ids suffixed), no truth.

    Generating and unifying a 1M-person company takes longer than this benchmark's budget on 2 cores; ten
    copies of the 100k company have the same number of customers and touchpoints, and the personas steps
    only read those two tables.
    """
    import ibis

    import cxlib

    if (out / "unified.ok").exists():
        return
    out.mkdir(parents=True, exist_ok=True)
    with cxlib.connect(src, read_only=True) as s, cxlib.connect(out) as ws:
        for name in ("customers", "touchpoints"):
            ws.write(name, s.table(name).to_pyarrow())
            t = ws.table(name)
            copies = [t.mutate(customer_id=t.customer_id.concat(f"_{i}")) for i in range(times)]
            ws.write(f"_{name}", ibis.union(*copies))
            ws.backend.drop_table(name)
            ws.backend.raw_sql(f'ALTER TABLE "_{name}" RENAME TO "{name}"')
    (out / "unified.ok").write_text("ok\n")


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--build"]:
        build(int(args[1]), Path(args[2]))
        return
    if args[:1] == ["--measure"]:
        print(json.dumps(measure(args[1])))
        return
    if args[:1] == ["--replicate"]:
        replicate(Path(args[1]), int(args[2]), Path(args[3]))
        return
    workdir = None
    if "--workdir" in args:
        i = args.index("--workdir")
        workdir = Path(args[i + 1])
        del args[i : i + 2]
    folders = []
    if args[:1] == ["--folder"]:
        folders = [("folder", Path(args[1]), None)]
    elif args[:1] == ["--copies"]:  # --copies R FOLDER: R copies of an unified workspace (see replicate)
        src, times = Path(args[2]), int(args[1])
        out = src.parent / f"{src.name}-x{times}"
        if subprocess.run([sys.executable, __file__, "--replicate", str(src), str(times), str(out)]).returncode:
            sys.exit(f"could not replicate {src}")
        folders = [(f"{times} copies", out, None)]
    else:
        tmp = workdir or Path(tempfile.mkdtemp(prefix="bench-personas-"))
        folders = [(f"{int(n):,}", tmp / f"company-{int(n)}", int(n)) for n in (args or [100_000, 1_000_000])]
    print(f"cores: {os.cpu_count()}")
    print(
        f"{'people':>10} {'customers':>10} {'fitted':>8} {'features s':>10} {'sample s':>8} {'fit s':>6} "
        f"{'assign s':>8} {'total s':>7} {'peak MB':>8} {'k':>2} {'ARI truth':>9} {'ARI seeds':>9}"
    )
    for label, folder, n in folders:
        if n is not None:  # build in its own process, so that the measured process's peak memory is ours
            t = time.perf_counter()
            if subprocess.run([sys.executable, __file__, "--build", str(n), str(folder)]).returncode != 0:
                print(f"{label:>10} failed to build; see the messages above")
                continue
            print(f"{label}: built in {time.perf_counter() - t:.0f}s ({folder})", file=sys.stderr, flush=True)
        out = subprocess.run([sys.executable, __file__, "--measure", str(folder)], stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            print(f"{label:>10} failed (exit {out.returncode}); see the messages above")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{label:>10} {r['customers']:>10,} {r['fitted']:>8,} {r['features_s']:>10.1f} "
            f"{r['sample_s']:>8.1f} {r['fit_s']:>6.1f} {r['assign_s']:>8.1f} {r['total_s']:>7.1f} "
            f"{r['peak_mb']:>8,.0f} {r['k']:>2} {r.get('ari_truth', float('nan')):>9.3f} {r['ari_seeds']:>9.3f}",
            flush=True,
        )
        print(f"{'':>10} silhouette over k=2..10: {r['silhouette']}; k with seed 1: {r['k_seed1']}", flush=True)


if __name__ == "__main__":
    main()
