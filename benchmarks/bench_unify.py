"""Unify speed, peak memory and quality on generated companies: prints a table.

Usage: python benchmarks/bench_unify.py [N ...]   (default: 100000 1000000)

Each size runs in a fresh process: generate (all tables, Parquet), load, then unify -- only unify is timed.
Quality is pairwise F1/precision against the generator's truth, on all rows and on identified customers.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def one(n: int) -> dict:
    import cxlib
    from cxlib import io, synth, unify

    with tempfile.TemporaryDirectory() as d:
        synth.write_company(d, n_customers=n, seed=7, progress=False, file_format="parquet")
        io.load(d)
        print(f"{n:,}: generated and loaded", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        result = unify.unify(d, progress=True)
        secs = time.perf_counter() - t0
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{n:,}: unify {secs:.1f}s, peak {peak_mb:,.0f} MB", file=sys.stderr, flush=True)
        truth = synth.load_truth(d).record_map
        with cxlib.connect(d, read_only=True) as ws:
            links = ws.table("identity_links").to_pandas()
        q_all = unify.evaluate(links, truth).iloc[0]
        q_known = unify.evaluate(links[links["customer_id"].str.startswith("C")], truth).iloc[0]
    s = result.summary.iloc[0]
    return {
        "customers": n,
        "rows": int(s["rows"]),
        "seconds": secs,
        "rows_per_s": s["rows"] / secs,
        "peak_mb": peak_mb,
        "f1_all": q_all["pairwise_f1"],
        "precision_all": q_all["pairwise_precision"],
        "f1_known": q_known["pairwise_f1"],
        "precision_known": q_known["pairwise_precision"],
        "prob_merges": int(s["probabilistic_merges"]),
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
        return
    sizes = [int(x) for x in sys.argv[1:]] or [100_000, 1_000_000]
    print(f"cores: {os.cpu_count()}")
    print(
        f"{'customers':>10} {'rows':>12} {'seconds':>8} {'rows/s':>9} {'peak MB':>8} {'F1 all':>7} {'P all':>7} "
        f"{'F1 known':>8} {'P known':>8} {'prob merges':>11}"
    )
    for n in sizes:
        # stderr passes through: progress, and the reason if a size fails
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], stdout=subprocess.PIPE, text=True)
        if out.returncode != 0:
            print(f"{n:>10,} failed (exit {out.returncode}); see the messages above")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['customers']:>10,} {r['rows']:>12,} {r['seconds']:>8.1f} {r['rows_per_s']:>9,.0f} "
            f"{r['peak_mb']:>8,.0f} {r['f1_all']:>7.4f} {r['precision_all']:>7.4f} {r['f1_known']:>8.4f} "
            f"{r['precision_known']:>8.4f} {r['prob_merges']:>11,}"
        )


if __name__ == "__main__":
    main()
