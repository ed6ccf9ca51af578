"""Generation speed and peak memory: prints a table.

Usage: python benchmarks/bench_generate.py [N ...]   (default: 100000 1000000)

Each size runs in a fresh process so that peak memory (max RSS) is its own.
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
    from cxlib import synth

    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        rows = synth.write_company(d, n_customers=n, seed=7, progress=False)
        secs = time.perf_counter() - t0
        size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d) if "." in f)
    total = sum(rows.values())
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "customers": n,
        "rows": total,
        "events": rows["events"],
        "seconds": secs,
        "rows_per_s": total / secs,
        "peak_mb": peak_mb,
        "disk_mb": size / 1e6,
    }


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
        return
    sizes = [int(x) for x in sys.argv[1:]] or [100_000, 1_000_000]
    print(f"cores: {os.cpu_count()}")
    print(f"{'customers':>10} {'rows':>12} {'events':>12} {'seconds':>8} {'rows/s':>10} {'peak MB':>8} {'disk MB':>8}")
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['customers']:>10,} {r['rows']:>12,} {r['events']:>12,} {r['seconds']:>8.1f} {r['rows_per_s']:>10,.0f} "
            f"{r['peak_mb']:>8,.0f} {r['disk_mb']:>8,.0f}"
        )


if __name__ == "__main__":
    main()
