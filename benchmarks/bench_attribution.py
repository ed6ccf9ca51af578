"""Attribution speed: exact Markov removal effects (orders 1 and 2), Shapley and the heuristics. Prints a table.

Usage: python benchmarks/bench_attribution.py [N ...]   (default: 10000 500000 distinct paths)
       python benchmarks/bench_attribution.py --touchpoints [N ...]   (the path builder on DuckDB; 1M 10M)

The paths are synthesised with numpy (seeded): 7 channels (the generator's), 1-12 touches per path with a
skewed channel mix, Poisson conversions and nulls, revenue 60 per conversion, aggregated to distinct paths as
``paths_from_touchpoints`` returns them. Each model runs ``REPEATS`` times after one warm-up run; the table
shows the fastest and the median wall time (single process; numpy/scipy may use both cores).
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np
import pandas as pd

from cxlib import attribution

CHANNELS = np.array(["web", "app", "email", "store", "paid_search", "paid_social", "display"])
REPEATS = 5


def synth_paths(n: int, seed: int = 42) -> pd.DataFrame:
    """``n`` distinct paths (drawn from 3n rows, aggregated, then n kept at random)."""
    rng = np.random.default_rng(seed)
    weights = np.array([0.35, 0.2, 0.2, 0.05, 0.08, 0.07, 0.05])
    rows = 3 * n
    lengths = rng.integers(1, 13, rows)
    codes = rng.choice(len(CHANNELS), size=lengths.sum(), p=weights)
    names = CHANNELS[codes]
    bounds = np.cumsum(lengths)[:-1]
    paths = [" > ".join(chunk) for chunk in np.split(names, bounds)]
    conv = rng.poisson(0.2 + 0.05 * lengths)
    df = pd.DataFrame({"path": paths, "conversions": conv, "value": conv * 60.0, "nulls": rng.poisson(1.0, rows)})
    df = df.groupby("path", as_index=False).sum()
    df = df[df.conversions + df.nulls > 0]
    if len(df) < n:
        raise SystemExit(f"only {len(df)} distinct paths; raise the path lengths")
    return df.iloc[np.sort(rng.permutation(len(df))[:n])].reset_index(drop=True)


def timed(fn, *args, **kw) -> tuple[float, float]:
    fn(*args, **kw)  # warm-up
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn(*args, **kw)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def bench_path_builder(n: int) -> dict:
    """``paths_from_touchpoints`` on ``n`` touchpoints synthesised in a DuckDB file (about 25 per customer)."""
    import tempfile

    import duckdb
    import ibis

    from cxlib.engine import duckdb_config

    with tempfile.TemporaryDirectory() as d:
        con = duckdb.connect(f"{d}/bench.duckdb", config=duckdb_config())
        con.execute("SELECT setseed(0.42)")
        vocab = "[" + ", ".join(f"'{c}'" for c in CHANNELS) + "]"
        con.execute(
            f"""
            CREATE TABLE touchpoints AS
            SELECT 'C' || lpad(CAST(i // 25 AS VARCHAR), 9, '0') AS customer_id,
                   TIMESTAMP '2025-01-01' + INTERVAL (CAST(random() * 31536000 AS BIGINT)) SECOND AS ts,
                   CASE WHEN r < 0.04 THEN 'orders' ELSE 'events' END AS table_name,
                   'src' AS source, 'K' || CAST(i AS VARCHAR) AS record_key,
                   {vocab}[1 + CAST(floor(pow(random(), 1.7) * {len(CHANNELS)}) AS INTEGER)] AS channel,
                   CASE WHEN r < 0.04 THEN 'order' ELSE 'page_view' END AS event,
                   CASE WHEN r < 0.04 THEN 'completed' END AS status,
                   CASE WHEN r < 0.04 THEN round(20 + random() * 100, 2) END AS revenue
            FROM (SELECT i, random() AS r FROM range({n}) t(i))
            """
        )
        con.close()
        ws = ibis.duckdb.connect(f"{d}/bench.duckdb", **duckdb_config())
        t0 = time.perf_counter()
        paths = attribution.paths_from_touchpoints(ws.table("touchpoints"))
        elapsed = time.perf_counter() - t0
        ws.disconnect()
    return {"touchpoints": n, "distinct paths": len(paths), "seconds": elapsed}


def main(sizes: list[int]) -> None:
    rows = []
    for n in sizes:
        paths = synth_paths(n)
        journeys = int(paths.conversions.sum() + paths.nulls.sum())
        print(f"{n:,} paths: {journeys:,} journeys, {int(paths.conversions.sum()):,} conversions", file=sys.stderr)
        for label, fn, kw in (
            ("markov order 1", attribution.markov, {"order": 1}),
            ("markov order 2", attribution.markov, {"order": 2}),
            ("markov order 3", attribution.markov, {"order": 3}),
            ("shapley", attribution.shapley, {}),
            ("heuristics (5)", attribution.heuristics, {}),
        ):
            best, med = timed(fn, paths, **kw)
            rows.append({"paths": n, "model": label, "best ms": best * 1e3, "median ms": med * 1e3})
            print(f"{n:>9,}  {label:<16} {best * 1e3:9.1f} {med * 1e3:9.1f}", file=sys.stderr)
    out = pd.DataFrame(rows)
    print(out.to_string(index=False, float_format=lambda x: f"{x:,.1f}"))


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--touchpoints"]:  # the path builder on DuckDB instead
        sizes = [int(x) for x in args[1:]] or [1_000_000, 10_000_000]
        print(pd.DataFrame([bench_path_builder(n) for n in sizes]).to_string(index=False))
    else:
        main([int(x) for x in args] or [10_000, 500_000])
