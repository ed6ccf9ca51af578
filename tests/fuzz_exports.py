"""Real-export fuzzing: the export style's files (HubSpot, Klaviyo, invoice lines, Qualtrics, Zendesk CSVs and
the GA4 Parquet days) mutated at random, then every step as a user runs it, each as its own process.

Usage::

    python -m tests.fuzz_exports FIRST LAST [--out FOLDER] [--keep] [--pages] [--thin]   (from the project folder)

For each seed from FIRST to LAST - 1: a copy of a small export-style company (generated once into
``FOLDER/base``: 300 people over 6 months, ``cx generate --style exports``) whose CSVs are mutated as
``test_hostile_exports`` mutates its shop's (hostile values, lines cut, doubled or dropped, shuffled headers,
whole columns of one odd value, UTF-16), a few GA4 days altered (a column dropped, nulled or made text, absurd
timestamps, hostile event names and ids, an empty day, rarely a file cut short) and sometimes the canonical
events file too; then ``cx sources --write``, ``load``, ``unify``, ``journeys``, ``personas``, ``simulate``,
``report`` and ``voice`` (with ``--pages``, then every notebook page as a script, as ``test_notebooks`` runs
them). A step either works or stops with a clear error (exit 2; exit 3, too much
quarantined, goes on); with ``--thin`` each seed's company is instead cut to some of its systems (:func:`thin`:
one week of GA4 alone, a CRM and helpdesk without orders ...) and every step and page must still work or say
why. A traceback or another exit code is a failure: its seed, mutations and the end of its
error go to ``FOLDER/results.jsonl``, and its folder is kept (``--keep``: every folder). Not a test: run it over
a few hundred seeds when the loader or a step changes (6 December: 250 seeds found the failures fixed then,
each with its own test).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

from tests.test_hostile_exports import _NASTY, _mutated

STEPS = [["sources", "--write"], ["load", "--no-progress"], ["unify", "--no-progress"], ["journeys"], ["personas"],
         ["simulate"], ["report"], ["voice"]]  # fmt: skip


def _cx() -> list[str]:
    return [sys.executable, "-m", "cxlib.cli"]


def _set(t, name: str, values):  # noqa: ANN001, ANN202
    return t.set_column(t.column_names.index(name), name, values)


def mutate_ga4_day(p: Path, rng: random.Random) -> str:
    """Alter one GA4 day's Parquet file in place; returns what was done."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(p)
    op, c = rng.randrange(9), rng.choice(t.column_names)
    if op == 0:
        t, what = t.drop([c]), f"drop {c}"
    elif op == 1:
        t, what = _set(t, c, pa.nulls(len(t), t.schema.field(c).type)), f"null {c}"
    elif op == 2:
        t, what = _set(t, "event_timestamp", pc.cast(t["event_timestamp"], pa.string())), "timestamps as text"
    elif op == 3:
        absurd = [rng.choice([-1, 0, 2**62, 253402300800000001]) for _ in range(len(t))]
        t, what = _set(t, "event_timestamp", pa.array(absurd, pa.int64())), "absurd timestamps"
    elif op == 4:
        t, what = t.slice(0, 0), "no rows"
    elif op == 5 and rng.random() < 0.2:  # rare: it stops the load (clearly)
        data = p.read_bytes()
        k = rng.randrange(len(data))
        p.write_bytes(data[:k])
        return f"cut at byte {k}"
    elif op == 6:
        t, what = _set(t, "event_name", pa.array([rng.choice(_NASTY) for _ in range(len(t))])), "hostile names"
    elif op == 7:
        ids = pa.array([rng.choice([*_NASTY, None]) for _ in range(len(t))], pa.string())
        t, what = _set(t, "user_pseudo_id", ids), "hostile ids"
    else:
        dates = pa.array([rng.choice(["", "2024-13-45", "20241399", None, "x"]) for _ in range(len(t))], pa.string())
        t, what = _set(t, "event_date", dates), "bad event_date"
    pq.write_table(t, p)
    return what


def mutate_parquet(p: Path, rng: random.Random) -> str:
    """Drop, null or make text one column of a canonical Parquet file."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t = pq.read_table(p)
    c, op = rng.choice(t.column_names), rng.randrange(3)
    if op == 0:
        t, what = t.drop([c]), f"drop {c}"
    elif op == 1:
        t, what = _set(t, c, pa.nulls(len(t), t.schema.field(c).type)), f"null {c}"
    else:
        t, what = _set(t, c, pc.cast(t[c], pa.string())), f"{c} as text"
    pq.write_table(t, p)
    return what


def mutate(folder: Path, rng: random.Random) -> list[str]:
    """Mutate the export-style company in ``folder``; returns what was done, file by file."""
    done = []
    for f in sorted(folder.glob("*.csv")):
        if rng.random() < 0.5:
            text = f.read_text(encoding="utf-8")
            if text.count("\n") < 2:
                continue
            text = _mutated(text, rng)
            f.write_bytes(text.encode("utf-16") if rng.random() < 0.05 else text.encode("utf-8", "surrogatepass"))
            done.append(f.name)
        elif rng.random() < 0.05:
            f.unlink()
            done.append(f"removed {f.name}")
    days = sorted((folder / "ga4").glob("*.parquet"))
    for p in rng.sample(days, k=min(len(days), rng.randrange(4))):
        done.append(f"{p.name}: {mutate_ga4_day(p, rng)}")
    if rng.random() < 0.3 and (folder / "events.parquet").exists():
        done.append(f"events.parquet: {mutate_parquet(folder / 'events.parquet', rng)}")
    return done


def thin(folder: Path, rng: random.Random) -> list[str]:
    """Cut the company in ``folder`` to what a team often has first: a random part of its systems (at least one),
    and sometimes its GA4 export cut to its last days (one to sixty); returns what was kept."""
    systems = sorted([*folder.glob("*.csv"), *folder.glob("*.parquet"), *[d for d in [folder / "ga4"] if d.exists()]])
    kept = [p for p in systems if rng.random() < 0.4] or [rng.choice(systems)]
    for p in systems:
        if p not in kept:
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    done = [f"kept {', '.join(p.name for p in kept)}"]
    days = sorted((folder / "ga4").glob("*.parquet"))
    if days and rng.random() < 0.5:
        last = rng.randrange(1, 61)
        for p in days[:-last]:
            p.unlink()
        done.append(f"ga4: the last {last} day(s)")
    return done


#: the notebook pages, run as scripts (``--pages``) on a seed whose steps all ran
PAGES = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("0*.py"))


def _pages(folder: Path) -> dict | None:
    """Every page as a script on ``folder`` (its export cell writing the page's report): the first failure, if any
    (a traceback or a non-zero exit)."""
    env = {**os.environ, "CX_WORKSPACE": str(folder), "CX_EXPORT": "1"}
    for page in PAGES:
        r = subprocess.run([sys.executable, str(page)], env=env, capture_output=True, text=True, timeout=900)
        if "Traceback" in r.stderr or r.returncode != 0:
            return {"step": f"page {page.stem}", "exit": r.returncode, "error": r.stderr[-3000:]}
    return None


def run(seed: int, base: Path, out: Path, keep: bool = False, pages: bool = False, thinned: bool = False) -> dict:
    """One seed: mutate a copy of ``base`` into ``out/<seed>`` (``thinned``: cut it with :func:`thin` instead),
    run every step (and with ``pages`` every notebook page, when no step stopped); the result. On a thinned
    company a step after ``unify`` that stops with its reason (personas without buyers, a forecast without
    revenue) does not stop the others, nor the pages: a user runs them all."""
    folder = out / str(seed)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(base, folder, ignore=shutil.ignore_patterns("truth", "workspace.duckdb*", "sources.yml"))
    changed = (thin if thinned else mutate)(folder, random.Random(seed))
    result: dict = {"seed": seed, "mutations": changed, "fail": None}
    for step in STEPS:
        r = subprocess.run([*_cx(), step[0], str(folder), *step[1:]], capture_output=True, text=True, timeout=900)
        if "Traceback" in r.stderr or r.returncode not in (0, 2, 3):
            result["fail"] = {"step": step[0], "exit": r.returncode, "error": r.stderr[-3000:]}
            break
        if r.returncode == 2 and thinned and step[0] not in ("sources", "load", "unify"):
            result.setdefault("said why", []).append({"step": step[0], "error": r.stderr[-300:]})
        elif r.returncode == 2:
            result["stopped"] = {"step": step[0], "error": r.stderr[-500:]}
            break
    if pages and result["fail"] is None and "stopped" not in result:
        result["fail"] = _pages(folder)
    if result["fail"] is None and not keep:
        shutil.rmtree(folder, ignore_errors=True)
    return result


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("first", type=int)
    ap.add_argument("last", type=int)
    ap.add_argument("--out", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "cx-fuzz")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--pages", action="store_true", help="also run every notebook page as a script on each seed")
    ap.add_argument("--thin", action="store_true", help="cut each seed's company to some of its systems instead")
    a = ap.parse_args(argv)
    base = a.out / "base"
    if not base.exists():
        subprocess.run([*_cx(), "generate", "--style", "exports", "--customers", "300", "--months", "6", "--seed",
                        "3", "--out", str(base), "--no-progress"], check=True, capture_output=True)  # fmt: skip
    for seed in range(a.first, a.last):
        res = run(seed, base, a.out, a.keep, a.pages, a.thin)
        with (a.out / "results.jsonl").open("a", encoding="utf-8") as fh:
            fh.write(json.dumps(res) + "\n")
        state = "FAIL " + res["fail"]["step"] if res["fail"] else "stopped at " + res["stopped"]["step"] if (
            res.get("stopped")) else "ok" + "".join(f", {w['step']} said why" for w in res.get("said why", []))
        print(seed, state, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
