"""Row order: an export-style company through every step twice, as written and with every file's records shuffled.

Usage::

    python -m tests.shuffle_exports FIRST LAST [--out FOLDER] [--customers N]   (from the project folder)

The company (``cx generate --style exports``: GA4 Parquet days, invoice lines, HubSpot, Klaviyo, Zendesk and
Qualtrics CSVs) is generated once into ``FOLDER/base``; for each seed from FIRST to LAST - 1 a copy has the
records of every CSV shuffled (each record's bytes kept, header lines too: Qualtrics has three) and the rows of
every Parquet file permuted. Both copies go through ``cx sources --write``, ``load``, ``unify``, ``journeys``,
``personas``, ``simulate`` and ``voice``, each as its own process; then every table of the two workspaces is
compared column by column (row counts and an order-free hash of each column). A column that differs is
printed with its table, unless it is one that names a source row by its place in the file (``row``,
``raw_row``) or a time of the run (``loaded_at``), or a float column whose values agree to 1e-9 of their size
(sums in another order). Not a test (two pipelines a seed); run it when the loader or a step changes
(7 December: it found a follow-up's last touch and a file's date order following the row order).
"""

from __future__ import annotations

import argparse
import csv
import glob
import io
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

STEPS = [["sources", "--write"], ["load", "--no-progress"], ["unify", "--no-progress"], ["journeys"], ["personas"],
         ["simulate"], ["voice"]]  # fmt: skip
#: Columns that say where a row was in its file, or when the run was
PLACE_COLUMNS = {"row", "raw_row", "loaded_at", "line", "started_at", "finished_at", "built_at"}
#: Extra header lines of the exports (beside the column names)
HEADER_LINES = {"qualtrics_responses.csv": 3}


def shuffle_csv(path: Path, seed: int) -> None:
    """Shuffle the records of CSV ``path`` in place, each record's bytes (quoted line breaks too) kept."""
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines(keepends=True)
    reader, bounds, prev = csv.reader(io.StringIO(text)), [], 0
    for _ in reader:
        bounds.append((prev, reader.line_num))
        prev = reader.line_num
    records = ["".join(lines[a:b]) for a, b in bounds]
    head, body = records[: HEADER_LINES.get(path.name, 1)], records[HEADER_LINES.get(path.name, 1) :]
    if body and not body[-1].endswith("\n"):
        body[-1] += "\n"
    random.Random(seed).shuffle(body)
    path.write_text("".join(head + body), encoding="utf-8")


def shuffled_copy(src: Path, dst: Path, seed: int) -> None:
    """``src`` copied to ``dst`` with every data file's rows in another order (the answer key left as it is)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    shutil.copytree(src, dst)
    rng = random.Random(seed)
    for name in sorted(glob.glob(str(dst / "**" / "*"), recursive=True)):
        p = Path(name)
        if "truth" in p.parts or not p.is_file():
            continue
        if p.suffix == ".csv":
            shuffle_csv(p, seed)
        elif p.suffix == ".parquet":
            t = pq.read_table(p)
            order = list(range(t.num_rows))
            rng.shuffle(order)
            pq.write_table(t.take(pa.array(order, type=pa.int64())), p)


def run_steps(folder: Path) -> str | None:
    """Every step on ``folder``; the first failure, or None."""
    for step in STEPS:
        r = subprocess.run([sys.executable, "-m", "cxlib.cli", step[0], str(folder), *step[1:]], capture_output=True,
                           text=True)  # fmt: skip
        if r.returncode not in (0, 3):  # 3: too much quarantined, the load still wrote what it could
            return f"{step[0]} exited {r.returncode}: {r.stderr[-1500:]}"
    return None


def differences(a: Path, b: Path) -> list[str]:
    """The tables and columns that differ between workspaces ``a`` and ``b`` (see the module docstring)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{a / 'workspace.duckdb'}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b / 'workspace.duckdb'}' AS b (READ_ONLY)")
    tables = [r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'a' AND NOT internal ORDER BY 1").fetchall()]
    out = []
    for t in tables:
        if t.startswith("_") or t == "workspace_steps":
            continue
        cols = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'a' "
                           "AND table_name = ?", [t]).fetchall()  # fmt: skip
        bad = []
        for c, ty in cols:
            if c in PLACE_COLUMNS:
                continue
            q = f'SELECT count(*), sum(hash("{c}")) FROM {{}}."{t}"'
            try:
                if con.execute(q.format("a")).fetchone() == con.execute(q.format("b")).fetchone():
                    continue
            except duckdb.Error:
                bad.append(f"{c} (missing)")
                continue
            if ty in ("DOUBLE", "FLOAT") and _close(con, t, c):
                continue
            if ty == "VARCHAR" and _same_json(con, t, c):  # a fitted model's parameters, as JSON text
                continue
            bad.append(c)
        if bad:
            out.append(f"{t}: {', '.join(bad)}")
    return out


def _close(con, t: str, c: str) -> bool:  # noqa: ANN001 - a DuckDB connection
    """Whether float column ``c`` of ``t`` holds the same values in both workspaces to 1e-9 of their size."""
    def values(db: str) -> list:  # nulls last, then by value
        return sorted((v for (v,) in con.execute(f'SELECT "{c}" FROM {db}."{t}"').fetchall()),
                      key=lambda v: (v is None, 0.0 if v is None else v))  # fmt: skip

    x, y = values("a"), values("b")
    if len(x) != len(y):
        return False
    return all((p is None) == (q is None) and (p is None or abs(p - q) <= 1e-9 * max(1.0, abs(p), abs(q)))
               for p, q in zip(x, y, strict=True))  # fmt: skip


def _same_json(con, t: str, c: str) -> bool:  # noqa: ANN001 - a DuckDB connection
    """Whether text column ``c`` of ``t`` holds JSON documents equal in both workspaces, numbers to 1e-9."""
    import json

    def docs(db: str) -> list:
        try:
            return sorted((json.loads(v) for (v,) in con.execute(f'SELECT "{c}" FROM {db}."{t}"').fetchall()
                           if v is not None), key=lambda d: json.dumps(d, sort_keys=True)[:200])  # fmt: skip
        except (TypeError, ValueError):
            return [float("nan")]  # not JSON: not equal

    def same(p, q) -> bool:  # noqa: ANN001
        if isinstance(p, dict) and isinstance(q, dict):  # splink's linker_uid: a new random name every run
            return p.keys() == q.keys() and all(same(p[k], q[k]) for k in p if k != "linker_uid")
        if isinstance(p, list) and isinstance(q, list):
            return len(p) == len(q) and all(same(a, b) for a, b in zip(p, q, strict=True))
        if isinstance(p, float | int) and isinstance(q, float | int) and not isinstance(p, bool):
            return abs(p - q) <= 1e-9 * max(1.0, abs(p), abs(q))
        return p == q

    a, b = docs("a"), docs("b")
    return len(a) == len(b) and all(same(p, q) for p, q in zip(a, b, strict=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--out", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "cx-shuffle"))
    ap.add_argument("--customers", type=int, default=600)
    args = ap.parse_args()
    out = Path(args.out)
    base = out / "base"
    if not base.exists():
        subprocess.run([sys.executable, "-m", "cxlib.cli", "generate", "--out", str(base), "--customers",
                        str(args.customers), "--months", "14", "--seed", "5", "--style", "exports", "--no-progress"],
                       check=True, capture_output=True)  # fmt: skip
    as_written = out / "as-written"
    if not (as_written / "workspace.duckdb").exists():
        shutil.copytree(base, as_written, dirs_exist_ok=True)
        failed = run_steps(as_written)
        if failed:
            print(f"as written: {failed}")
            return 1
    worst = 0
    for seed in range(args.first, args.last):
        b = out / f"shuffled-{seed}"
        shutil.rmtree(b, ignore_errors=True)
        shuffled_copy(base, b, seed)
        failed = run_steps(b)
        diff = [failed] if failed else differences(as_written, b)
        print(f"{seed} {'same' if not diff else 'DIFFERENT'}", *(f"\n  {d}" for d in diff), flush=True)
        worst = max(worst, 1 if diff else 0)
        if not diff:
            shutil.rmtree(b)
    return worst


if __name__ == "__main__":
    sys.exit(main())
