"""Raw exports to the report, step by step: wall time, CPU time, peak memory and temporary disk; prints a table.

Usage::

    python benchmarks/bench_pipeline.py [N ...] [--style canonical|exports|both] [--until STEP] [--from STEP]
        [--keep FOLDER]
    (default: 100000, canonical, every step; ``--until load`` stops after the load, for the load-only bench)

``--keep FOLDER`` generates each company into ``FOLDER/<N>-<style>`` and keeps it (a later run with the same
folder reuses it, without generating again), so that a step can be profiled or measured again on a
million-customer workspace without twenty minutes of generation first; ``--from STEP`` starts at that step
(the earlier steps' outputs must be in the kept folder, for instance ``--from report``). A run from the load
(the default) first deletes the kept folder's ``workspace.duckdb``: raw exports to the report, as on a company
generated in the same run (a kept workspace would make ``cx unify`` a second run, which also compares every
source row's customer with the last run's, ``unify_changes``: 40 s of its 285 at 1M on 2 cores).

For each size the company is generated once (not timed), then each step runs as its own process, as a user
runs them: ``cx load``, ``cx unify``, ``cx journeys``, ``cx personas``, ``cx simulate``, ``cx report``. With
``--style exports`` the same company is written as real systems export it (GA4 nested Parquet, invoice lines
with credit notes, helpdesk, CRM and survey exports; ``cx generate --style exports``, streamed in blocks as the
canonical style is) and ``cx sources --write`` maps it first (timed as its own step). Beside them, in
the same run, the floor: a plain DuckDB ingest of the same files (``CREATE TABLE ... AS SELECT * FROM
read_csv/read_parquet/read_json``, every CSV column as text), which is the least any load can cost. Peak memory is each
process's own maximum resident set (``os.wait4``); temporary disk is the largest size the workspace's
DuckDB temp folder (``CX_TEMP_DIR``, set to a fresh folder per step) reached, sampled every 0.2 s.
Speed is never a timed assertion in tests; this prints what to quote.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

STEPS = (
    ("load", ["load", "--no-progress"]),
    ("unify", ["unify", "--no-progress"]),
    ("journeys", ["journeys"]),
    ("personas", ["personas"]),
    ("simulate", ["simulate"]),
    ("report", ["report"]),
)


def _du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.path.getsize(os.path.join(root, f))
            except OSError:
                pass
    return total


def _run(cmd: list[str], temp: Path) -> dict:
    """Run one process; its wall and CPU seconds, peak RSS (MB) and the most temporary disk it used (MB)."""
    peak_disk, done = [0], threading.Event()

    def watch() -> None:
        while not done.is_set():
            peak_disk[0] = max(peak_disk[0], _du(temp))
            time.sleep(0.2)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    t0 = time.perf_counter()
    env = {**os.environ, "CX_TEMP_DIR": str(temp)}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage
    wall = time.perf_counter() - t0
    done.set()
    t.join()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 3):
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{proc.stderr.read()[-3000:]}")
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss": usage.ru_maxrss / 1024,
        "disk": peak_disk[0] / 1e6,
    }


_FLOOR = """
import duckdb, pathlib, sys
folder = pathlib.Path(sys.argv[1])
(folder / "floor.duckdb").unlink(missing_ok=True)  # left by a run that was stopped in its floor step
con = duckdb.connect(str(folder / "floor.duckdb"))
readers = {".csv": "read_csv(?, all_varchar=true)", ".parquet": "read_parquet(?)", ".ndjson": "read_json(?)"}
for i, f in enumerate(sorted(p for p in folder.rglob("*") if p.suffix in readers and "truth" not in p.parts)):
    con.execute(f"CREATE TABLE t{i} AS SELECT * FROM {readers[f.suffix]}", [str(f)])
con.close()
"""


_GENERATE = """
import sys
from cxlib import synth
folder, n, style = sys.argv[1], int(sys.argv[2]), sys.argv[3]
synth.write_company(folder, n_customers=n, seed=7, progress=False, style=style)
"""


def _generate(folder: Path, n: int, style: str, temp: Path) -> dict:
    """In a process of its own: a child forked from a large parent would report the parent's memory as its own
    peak."""
    temp.mkdir(exist_ok=True)
    return _run([sys.executable, "-c", _GENERATE, str(folder), str(n), style], temp)


def bench(
    n: int, style: str = "canonical", until: str = "report", start: str | None = None, keep: Path | None = None
) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="cx-bench-") as tmp:
        folder = Path(tmp) / "company" if keep is None else keep / f"{n}-{style}"
        temp = Path(tmp) / "temp"
        if folder.exists():  # a kept company (--keep): measured again as it is
            print(f"reusing {folder} ({n:,} people, {style})", file=sys.stderr, flush=True)
        else:  # generated beside it and renamed when complete: a killed generation is never reused as a company
            partial = folder.with_name(folder.name + ".partial")
            shutil.rmtree(partial, ignore_errors=True)
            g = _generate(partial, n, style, temp)
            partial.rename(folder)
            print(f"generated {n:,} people ({style}) in {g['wall']:.0f}s wall, {g['cpu']:.0f}s cpu, "
                  f"{g['rss']:,.0f} MB peak (not in the table)", file=sys.stderr, flush=True)
        names = [name for name, _ in STEPS]
        steps = list(STEPS[names.index(start or "load") : names.index(until) + 1])
        if style == "exports" and start in (None, "load"):
            steps.insert(0, ("sources", ["sources", "--write"]))
        if start in (None, "load"):  # from raw exports: a kept company's earlier workspace is not reused
            for f in ("workspace.duckdb", "workspace.duckdb.wal"):
                (folder / f).unlink(missing_ok=True)
        for name, args in (("plain ingest (floor)", None), *steps):
            shutil.rmtree(temp, ignore_errors=True)
            temp.mkdir()
            cmd = [sys.executable, "-c", _FLOOR, str(folder)] if args is None else [
                sys.executable, "-m", "cxlib.cli", args[0], str(folder), *args[1:]
            ]
            r = _run(cmd, temp)
            rows.append({"n": n, "style": style, "step": name, **r})
            print(f"  {name:<22} {r['wall']:7.1f}s wall {r['cpu']:7.1f}s cpu {r['rss']:7,.0f} MB peak "
                  f"{r['disk']:7,.0f} MB temp", file=sys.stderr, flush=True)
        (folder / "floor.duckdb").unlink(missing_ok=True)
    return rows


def main(
    sizes: list[int], styles: list[str], until: str = "report", start: str | None = None, keep: Path | None = None
) -> None:
    import pandas as pd

    rows = [r for n in sizes for style in styles for r in bench(n, style, until, start, keep)]
    df = pd.DataFrame(rows)
    floor = df[df.step.str.startswith("plain")].set_index(["n", "style"])["wall"]
    df["x floor"] = df.apply(lambda r: r.wall / floor[(r.n, r["style"])], axis=1)
    total = df[~df.step.str.startswith("plain")].groupby(["n", "style"])[["wall", "cpu"]].sum().reset_index()
    total["step"] = f"{start or 'load'} -> {until}"
    total["x floor"] = total.apply(lambda r: r.wall / floor[(r.n, r["style"])], axis=1)
    df = pd.concat([df, total], ignore_index=True)
    print(f"cores: {os.cpu_count()}")
    with pd.option_context("display.width", 160, "display.float_format", "{:,.1f}".format):
        print(df.rename(columns={"wall": "wall s", "cpu": "cpu s", "rss": "peak MB", "disk": "temp MB"})
              .to_string(index=False))


if __name__ == "__main__":
    args = sys.argv[1:]
    style = "canonical"
    if "--style" in args:
        i = args.index("--style")
        style = args[i + 1]
        del args[i : i + 2]
    opts = {"--until": "report", "--from": None, "--keep": None}
    for opt in opts:
        if opt in args:
            i = args.index(opt)
            opts[opt] = args[i + 1]
            del args[i : i + 2]
    if style not in ("canonical", "exports", "both"):
        sys.exit("--style must be canonical, exports or both")
    names = [name for name, _ in STEPS]
    for opt in ("--until", "--from"):
        if opts[opt] is not None and opts[opt] not in names:
            sys.exit(f"{opt} must be one of {', '.join(names)}")
    if opts["--from"] and names.index(opts["--from"]) > names.index(opts["--until"]):
        sys.exit("--from must come before --until")
    if opts["--from"] not in (None, "load") and not opts["--keep"]:
        sys.exit("--from needs --keep FOLDER: the earlier steps' outputs are in the kept company")
    keep = Path(opts["--keep"]).resolve() if opts["--keep"] else None
    styles = ["canonical", "exports"] if style == "both" else [style]
    main([int(a) for a in args] or [100_000], styles, opts["--until"], opts["--from"], keep)
