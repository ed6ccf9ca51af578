"""The standard report: build time and file size on a fully built workspace. Prints a table.

Usage: python benchmarks/bench_report.py [FOLDER]   (default: data/demo, built by `make demo ARGS=--no-serve`)

The folder must have been through unify, journeys, personas and simulate (`cx demo --no-serve` does all of
them). Times the whole build (every section's engine queries, the stage assignment for the Sankey and the
funnel, the attribution paths) and the write. Target for the demo company: under 30 s and under 6 MB.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    from cxlib import report

    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "data/demo")
    if not (folder / "workspace.duckdb").exists():
        sys.exit(f"{folder}: no workspace.duckdb; run `cx demo --no-serve` first")
    print(f"cores: {os.cpu_count()}")
    print(f"{'workspace':>20} {'sections':>8} {'build s':>8} {'save s':>7} {'MB':>6} {'peak MB':>8}")
    with tempfile.TemporaryDirectory() as d:
        t0 = time.perf_counter()
        r = report.standard_report(folder)
        t1 = time.perf_counter()
        path = r.save(Path(d) / "report.html")
        t2 = time.perf_counter()
        size = path.stat().st_size / 1e6
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    n = sum(b.kind == "section" for b in r.blocks)
    print(f"{str(folder):>20} {n:>8} {t1 - t0:>8.1f} {t2 - t1:>7.2f} {size:>6.2f} {peak:>8,.0f}")


if __name__ == "__main__":
    main()
