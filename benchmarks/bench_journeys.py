"""Journey speed and peak memory on DuckDB: transitions, step matrix and funnel. Prints a table.

Usage: python benchmarks/bench_journeys.py [N ...]   (default: 1000000 10000000 40000000 touchpoints)

Each size runs in a fresh process. The touchpoints are synthesised in DuckDB (SQL, seeded): about 25 events
per customer over a year, drawn from the generator's event vocabulary, so that building them takes seconds
rather than the hours the full company generator would need at 40M. Peak memory is the process's maximum
resident set size (DuckDB runs in-process, capped by CX_DUCKDB_MEMORY_LIMIT).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

EVENTS = [
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "purchase",
    "app_open",
    "email_open",
    "ad_click",
    "login",
    "store_visit",
]


def one(n: int) -> dict:
    import duckdb
    import ibis

    from cxlib import journeys
    from cxlib.engine import duckdb_config

    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(f"{d}/bench.duckdb", config=duckdb_config())
        con.execute("SELECT setseed(0.42)")
        vocab = "[" + ", ".join(f"'{e}'" for e in EVENTS) + "]"
        con.execute(
            f"""
            CREATE TABLE touchpoints AS
            SELECT 'C' || lpad(CAST(i // 25 AS VARCHAR), 9, '0') AS customer_id,
                   TIMESTAMP '2025-01-01' + INTERVAL (CAST(random() * 31536000 AS BIGINT)) SECOND AS ts,
                   'events' AS table_name, 'web' AS source, 'E' || CAST(i AS VARCHAR) AS record_key,
                   {vocab}[1 + CAST(floor(pow(random(), 1.7) * {len(EVENTS)}) AS INTEGER)] AS event
            FROM range({n}) t(i)
            """
        )
        con.close()
        ws = ibis.duckdb.connect(f"{d}/bench.duckdb", **duckdb_config())
        tp = ws.table("touchpoints")
        out = {"touchpoints": n}
        for name, fn in (
            ("transitions", lambda: journeys.transitions(tp)),
            ("step_matrix", lambda: journeys.step_matrix(tp, 10)),
            (
                "funnel",
                lambda: journeys.funnel(
                    tp, ["product_view", "add_to_cart", "checkout_start", "purchase"], within="30D"
                ),
            ),
        ):
            t0 = time.perf_counter()
            fn()
            out[name] = time.perf_counter() - t0
            print(f"{n:,}: {name} {out[name]:.1f}s", file=sys.stderr, flush=True)
        out["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return out


def main(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        proc = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True)
        sys.stderr.write(proc.stderr[-2000:])
        if proc.returncode != 0:
            print(f"{n:,}: failed (exit {proc.returncode})")
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    print(f"\ncores: {os.cpu_count()}, DuckDB memory cap: {os.environ.get('CX_DUCKDB_MEMORY_LIMIT', '4GB')}\n")
    print("| touchpoints | transitions s | step matrix s | funnel s | peak MB |")
    print("|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['touchpoints']:,} | {r['transitions']:.1f} | {r['step_matrix']:.1f} | {r['funnel']:.1f} "
            f"| {r['peak_mb']:,.0f} |"
        )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--one":
        print(json.dumps(one(int(sys.argv[2]))))
    else:
        main([int(a) for a in sys.argv[1:]] or [1_000_000, 10_000_000, 40_000_000])
