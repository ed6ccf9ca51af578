"""``journeys.transitions`` against retentioneering 5 on the same 3.1M-row pandas frame, side by side.

Usage::

    python benchmarks/bench_transitions.py [--copies 100] [--rete-python PATH] [--rounds 3]

The frame is retentioneering's own ecom data (``retentioneering.datasets.load_ecom``: 31,106 events of 600
users) repeated ``--copies`` times with the users renamed (100 copies: 3,110,600 rows, 60,000 paths), as
``user_id, event, timestamp``. retentioneering is an optional benchmark dependency with a heavy tree (gensim,
mcp, posthog ...), so it runs in its own interpreter: ``--rete-python`` (default: ``$RETE_PYTHON``, else this
Python when it imports retentioneering). To make one::

    python3 -m venv /tmp/rtvenv && /tmp/rtvenv/bin/pip install retentioneering==5.2.4

It builds the frame, writes it to Parquet and times ``Eventstream(df, {"path_cols": ["user_id"]})`` plus
``transition_graph_data(edge_weight="count")`` (``RETENTIONEERING_NO_TRACK=1``: no telemetry); this process
reads the same Parquet and times ``journeys.transitions`` on the frame (columns renamed to ``customer_id, ts``),
in memory (the default for a plain frame, :mod:`cxlib.journeys.inmemory`) and in the engine (the frame as an
Ibis table). Best of ``--rounds``, wall and CPU seconds (CPU: every thread of the process), the machine's load;
the totals of both are checked equal (events + paths). Speed is never a timed assertion in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RETE_SIDE = r"""
import json, sys, time
import pandas as pd
import retentioneering as rete
copies, out, rounds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
base = rete.datasets.load_ecom(as_dataframe=True)[["user_id", "event", "timestamp"]]
df = pd.concat([base.assign(user_id=base["user_id"] + f"_{k}") for k in range(copies)], ignore_index=True)
df.to_parquet(out)
best = None
for _ in range(rounds):
    frame = df.copy()
    t0, c0 = time.perf_counter(), time.process_time()
    m = rete.Eventstream(frame, {"path_cols": ["user_id"]}).transition_graph_data(edge_weight="count")
    took = (time.perf_counter() - t0, time.process_time() - c0)
    best = took if best is None or took[0] < best[0] else best
print(json.dumps({"rows": len(df), "paths": int(df["user_id"].nunique()), "wall": best[0], "cpu": best[1],
                  "total": int(m.to_numpy().sum()), "version": rete.__version__}))
"""


def _rete_python(given: str | None) -> str:
    if given or os.environ.get("RETE_PYTHON"):
        return given or os.environ["RETE_PYTHON"]
    try:
        import retentioneering  # noqa: F401

        return sys.executable
    except ImportError:
        sys.exit("retentioneering is not installed: pass --rete-python (see this script's docstring)")


def _ours(parquet: Path, rounds: int) -> dict:
    import ibis
    import pandas as pd

    from cxlib import journeys

    df = pd.read_parquet(parquet).rename(columns={"user_id": "customer_id", "timestamp": "ts"})
    rows = {}
    for name, arg in (("in memory", lambda: df), ("engine", lambda: ibis.memtable(df))):
        best = None
        for _ in range(rounds):
            events = arg()
            t0, c0 = time.perf_counter(), time.process_time()
            out = journeys.transitions(events)
            took = (time.perf_counter() - t0, time.process_time() - c0)
            best = took if best is None or took[0] < best[0] else best
        rows[name] = {"wall": best[0], "cpu": best[1], "total": int(out["count"].sum())}
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--copies", type=int, default=100)
    p.add_argument("--rete-python", default=None)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    python = _rete_python(a.rete_python)
    with tempfile.TemporaryDirectory() as tmp:
        parquet = Path(tmp) / "ecom.parquet"
        env = {**os.environ, "RETENTIONEERING_NO_TRACK": "1"}
        run = subprocess.run([python, "-c", RETE_SIDE, str(a.copies), str(parquet), str(a.rounds)],
                             capture_output=True, text=True, env=env, check=False)  # fmt: skip
        if run.returncode != 0:
            sys.exit(f"retentioneering failed:\n{run.stderr[-3000:]}")
        rete = json.loads(run.stdout.strip().splitlines()[-1])
        ours = _ours(parquet, a.rounds)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n{rete['rows']:,} events, {rete['paths']:,} paths (retentioneering {rete['version']}'s ecom data "
          f"x {a.copies}); {os.cpu_count()} cores, load {load}; best of {a.rounds}\n")
    print("| | wall s | CPU s | x retentioneering (wall) | x retentioneering (CPU) | transitions counted |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| retentioneering `transition_graph_data` | {rete['wall']:.2f} | {rete['cpu']:.2f} | 1.0 | 1.0 | "
          f"{rete['total']:,} |")
    for name, r in ours.items():
        print(f"| `journeys.transitions`, {name} | {r['wall']:.2f} | {r['cpu']:.2f} | {rete['wall'] / r['wall']:.1f} "
              f"| {rete['cpu'] / r['cpu']:.1f} | {r['total']:,} |")
    if any(r["total"] != rete["total"] for r in ours.values()):
        sys.exit("the totals differ: not the same transitions")


if __name__ == "__main__":
    main()
