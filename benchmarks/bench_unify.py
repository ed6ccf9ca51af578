"""Unify speed, peak memory and quality on generated companies: prints a table.

Usage::

    python benchmarks/bench_unify.py [N ...]          (default: 100000 1000000)
    python benchmarks/bench_unify.py --workspace DIR  (a company already generated and loaded there)

Each size runs in a fresh process: generate (all tables, Parquet), load, then unify -- only unify is timed,
and the peak memory is the process's (unify's, since generating and loading run in another process).
With ``--workspace`` the unify outputs already in DIR are dropped first, so the run is a first run.
Quality is pairwise F1/precision against the generator's truth, on all rows and on identified customers,
computed in the engine (``unify.evaluate`` on Ibis tables); "recall +prob" is the pairwise recall the
probabilistic step adds over the deterministic graph alone, on contact records (``unify.rule_contribution``);
"largest/household" is the most true persons in one customer against the largest true household.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

_OUTPUTS = ("identity_links", "customers", "touchpoints", "unify_demoted", "unify_matches", "unify_changes")


def _prepare(n: int, folder: str) -> None:
    from cxlib import io, synth

    synth.write_company(folder, n_customers=n, seed=7, progress=False, file_format="parquet")
    io.load(folder)


def _unify(folder: str) -> dict:
    import pandas as pd

    import cxlib
    from cxlib import unify

    with cxlib.connect(folder) as ws:
        views = ws._view_names()
        for name in _OUTPUTS:  # identity_links is a view over touchpoints: dropped first
            if name in views:
                ws.backend.drop_view(name, force=True)
            else:
                ws.backend.drop_table(name, force=True)
    t0 = time.perf_counter()
    result = unify.unify(folder, progress=True)
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"unify {secs:.1f}s, peak {peak_mb:,.0f} MB", file=sys.stderr, flush=True)
    with cxlib.connect(folder, read_only=True) as ws:
        links = ws.table("identity_links")
        truth = ws.backend.read_parquet(os.path.join(folder, "truth", "record_map.parquet"))
        q_all = unify.evaluate(links, truth).iloc[0]
        q_known = unify.evaluate(links.filter(links.customer_id.startswith("C")), truth).iloc[0]
    truth_c = pd.read_parquet(
        os.path.join(folder, "truth", "record_map.parquet"), filters=[("table_name", "==", "contacts")]
    )
    steps = unify.rule_contribution(folder, truth_c)
    people = pd.read_parquet(os.path.join(folder, "truth", "people.parquet"), columns=["household_id"])
    s = result.summary.iloc[0]
    return {
        "rows": int(s["rows"]),
        "seconds": secs,
        "rows_per_s": s["rows"] / secs,
        "peak_mb": peak_mb,
        "f1_all": q_all["pairwise_f1"],
        "precision_all": q_all["pairwise_precision"],
        "f1_known": q_known["pairwise_f1"],
        "precision_known": q_known["pairwise_precision"],
        "prob_merges": int(s["probabilistic_merges"]),
        "recall_added": float(steps["recall_added"].iloc[-1]),
        "largest": int(q_all["largest_customer_persons"]),
        "household": int(people.groupby("household_id").size().max()),
    }


def _run(args: list[str]) -> dict | None:
    # stderr passes through: progress, and the reason if a step fails
    out = subprocess.run([sys.executable, __file__, *args], stdout=subprocess.PIPE, text=True)
    if out.returncode != 0:
        return None
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    if args[:1] == ["--prepare"]:
        _prepare(int(args[1]), args[2])
        print("{}")
        return
    if args[:1] == ["--unify"]:
        print(json.dumps(_unify(args[1])))
        return
    print(f"cores: {os.cpu_count()}")
    print(
        f"{'customers':>10} {'rows':>12} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'F1 all':>7} {'P all':>7} "
        f"{'F1 known':>8} {'P known':>8} {'prob merges':>11} {'recall +prob':>12} "
        f"{'largest/household':>17}"
    )
    if args[:1] == ["--workspace"]:
        runs = [("given", args[1], False)]
    else:
        runs = [(f"{int(n):,}", None, True) for n in (args or [100_000, 1_000_000])]
    for label, folder, generate in runs:
        with tempfile.TemporaryDirectory() as tmp:
            folder = folder or tmp
            if generate and _run(["--prepare", label.replace(",", ""), folder]) is None:
                print(f"{label:>10} failed to generate or load; see the messages above")
                continue
            r = _run(["--unify", folder])
        if r is None:
            print(f"{label:>10} failed (see the messages above)")
            continue
        print(
            f"{label:>10} {r['rows']:>12,} {r['seconds']:>8.1f} {r['rows_per_s']:>9,.0f} "
            f"{r['peak_mb']:>8,.0f} {r['f1_all']:>7.4f} {r['precision_all']:>7.4f} {r['f1_known']:>8.4f} "
            f"{r['precision_known']:>8.4f} {r['prob_merges']:>11,} {r['recall_added']:>12.4f} "
            f"{str(r['largest']) + '/' + str(r['household']):>17}"
        )


if __name__ == "__main__":
    main()
