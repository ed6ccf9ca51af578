"""What each step built, from what: the ``workspace_steps`` table, and which outputs are stale.

Every step that writes the workspace (``load``, ``unify``, ``journeys``, ``personas``, ``simulate``,
``voice``) records one row when it finishes: its name, the package version, when it started and finished, a
fingerprint of its inputs (the run ids of the steps that built them; for the load, its source files:
:mod:`cxlib.io.inputs`), a fingerprint of its code (the source of its own package, :func:`code_fingerprint`) and
its own run id. A step is **stale** when one of its inputs was rebuilt after it ran (its recorded fingerprint no
longer matches; the load: when ``sources.yml`` or a file it maps changed since), when its code changed since (an
upgrade of ``cxlib`` or an edit: what it built may no longer be what it builds), or when a step it depends on is
stale itself.

Readers (later steps, notebooks, the report, ``cx summary``) call :func:`stale_steps` and say so with the
command that refreshes it; ``cx refresh FOLDER`` reruns what is stale, in order.

Examples
--------
>>> from cxlib.engine import connect
>>> import pandas as pd
>>> ws = connect()
>>> with ws.step("load"):
...     _ = ws.write("orders", pd.DataFrame({"a": [1]}))
>>> with ws.step("unify"):
...     _ = ws.write("customers", pd.DataFrame({"a": [1]}))
>>> stale_steps(ws)
[]
>>> with ws.step("load"):
...     _ = ws.write("orders", pd.DataFrame({"a": [2]}))
>>> [s.step for s in stale_steps(ws)]
['unify']
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import hashlib
import json
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from cxlib.engine import Workspace

__all__ = [
    "STEPS",
    "LINEAGE_TABLE",
    "Stale",
    "code_fingerprint",
    "record",
    "stale_in_folder",
    "stale_steps",
    "step_options",
    "steps_table",
]

LINEAGE_TABLE = "workspace_steps"

#: Each step and the steps whose outputs it reads, in the order ``cx refresh`` runs them.
STEPS: dict[str, tuple[str, ...]] = {
    "load": (),
    "unify": ("load",),
    "journeys": ("unify",),
    "personas": ("unify", "journeys"),
    "simulate": ("unify", "journeys", "personas"),
    "voice": ("unify", "journeys", "personas"),
}

#: The package of ``cxlib`` that holds each step's code (:func:`code_fingerprint`).
CODE: dict[str, str] = {
    "load": "io",
    "unify": "unify",
    "journeys": "journeys",
    "personas": "personas",
    "simulate": "simulate",
    "voice": "voice",
}

_COLUMNS = ["step", "version", "run_id", "started", "finished", "inputs", "outputs", "code", "options"]

#: The options the running step was given on the command line (JSON; set by the CLI around a step's command),
#: kept in its lineage row so that ``cx refresh`` reruns it as it was run (:func:`step_options`).
OPTIONS: contextvars.ContextVar[str] = contextvars.ContextVar("cx_step_options", default="")


@dataclass(frozen=True)
class Stale:
    """A step whose outputs describe older inputs than the workspace holds now."""

    step: str
    reason: str

    @property
    def command(self) -> str:
        """The command that rebuilds it."""
        return f"cx {self.step}"

    def __str__(self) -> str:
        return f"{self.step} is stale ({self.reason}): run `{self.command} FOLDER` or `cx refresh FOLDER`"

    def in_folder(self, folder: str | Path) -> str:
        """What :meth:`__str__` says, with the workspace's folder in its commands (the CLI and the explorer).

        >>> Stale("unify", "load ran again since").in_folder("data/demo")
        'unify is stale (load ran again since): run `cx unify data/demo` or `cx refresh data/demo`'
        """
        return str(self).replace("FOLDER", str(folder))


def _empty() -> pd.DataFrame:
    from cxlib._frames import empty_frame

    return empty_frame(dict.fromkeys(_COLUMNS, "string"))


def steps_table(ws: Workspace) -> pd.DataFrame:
    """The lineage table as a frame (empty with its columns when no step has recorded itself yet)."""
    if LINEAGE_TABLE not in ws.backend.list_tables():
        return _empty()
    return ws.backend.table(LINEAGE_TABLE).to_pandas()


def fingerprint(step: str, steps: pd.DataFrame) -> str:
    """The run ids of the steps ``step`` reads from (rows of ``steps``), as one short hash (``""``: no inputs)."""
    runs = dict(zip(steps["step"], steps["run_id"], strict=False))
    parts = {dep: runs.get(dep) for dep in STEPS.get(step, ())}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16] if parts else ""


@functools.cache
def code_fingerprint(step: str) -> str:
    """A short hash of the source of ``step``'s package (:data:`CODE`: every ``.py`` file under it, by path and
    content; ``""`` for a step without one): the same on every machine for the same code.

    Examples
    --------
    >>> len(code_fingerprint("unify")), code_fingerprint("unify") == code_fingerprint("journeys")
    (16, False)
    """
    package = CODE.get(step)
    root = Path(__file__).resolve().parent
    if package is None or not (root / package).is_dir():
        return ""
    h = hashlib.sha256()
    for f in sorted((root / package).rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def record(
    steps: pd.DataFrame, step: str, started: dt.datetime, outputs: list[str], inputs: str | None = None
) -> pd.DataFrame:
    """The lineage table ``steps`` with ``step``'s new row (written by the step in its swap transaction);
    ``inputs``: what it read when that is not other steps (the load: its files, :func:`cxlib.io.inputs.fingerprint`)."""
    from cxlib import __version__

    row = {
        "step": step,
        "version": __version__,
        "run_id": uuid.uuid4().hex,
        "started": started.isoformat(timespec="seconds"),
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "inputs": fingerprint(step, steps) if inputs is None else inputs,
        "outputs": ",".join(sorted(outputs)),
        "code": code_fingerprint(step),
        "options": OPTIONS.get(),
    }
    steps = steps.reindex(columns=_COLUMNS)  # a workspace built before a column was kept
    out = pd.concat([steps[steps["step"] != step], pd.DataFrame([row])], ignore_index=True)
    return out.astype("string")[_COLUMNS]


def step_options(ws: Workspace, step: str) -> dict:
    """The command-line options ``step`` last ran with (``{}``: the defaults, or a run from Python).

    Examples
    --------
    >>> import cxlib
    >>> ws = cxlib.connect()
    >>> token = OPTIONS.set('{"threshold": 0.5}')
    >>> with ws.step("unify"):
    ...     _ = ws.write("customers", pd.DataFrame({"id": [1]}))
    >>> OPTIONS.reset(token)
    >>> step_options(ws, "unify")
    {'threshold': 0.5}
    """
    steps = steps_table(ws)
    if "options" not in steps.columns:
        return {}
    kept = steps.loc[steps["step"] == step, "options"].dropna()
    try:
        return dict(json.loads(kept.iloc[-1])) if len(kept) and kept.iloc[-1] else {}
    except (ValueError, TypeError):
        return {}


def stale_steps(ws: Workspace) -> list[Stale]:
    """The steps whose outputs no longer match their inputs, in run order (empty when all are current)."""
    steps = steps_table(ws)
    if steps.empty:
        return []
    ran = dict(zip(steps["step"], steps["inputs"], strict=False))
    code = dict(zip(steps["step"], steps["code"], strict=False)) if "code" in steps.columns else {}
    out: list[Stale] = []
    for step, deps in STEPS.items():
        if step not in ran:
            if ws.has(OUTPUT.get(step, "")) and any(d in ran for d in deps):
                # its tables are there, from a run that kept no row (a workspace older than lineage): what they
                # were built from is unknown, and its inputs have run since
                out.append(Stale(step, "built before the workspace kept what each step was built from"))
            continue
        upstream = [s.step for s in out if s.step in deps]
        files = _files_changed(ws, str(ran[step] or "")) if step == "load" else None
        map_changed = _stage_map_changed(ws) if step == "journeys" and not upstream else None
        if files:
            out.append(Stale(step, files))
        elif map_changed:
            out.append(Stale(step, map_changed))
        elif upstream:
            out.append(Stale(step, f"{upstream[0]} is stale"))
        elif step != "load" and str(ran[step] or "") != fingerprint(step, steps):
            out.append(Stale(step, f"{', '.join(_rerun(steps, step, deps)) or 'its inputs'} ran again since"))
        elif not pd.isna(code.get(step)) and code.get(step) and code[step] != code_fingerprint(step):
            out.append(Stale(step, f"its code (cxlib/{CODE[step]}) changed since it ran"))
    return out


#: A table each step writes, by which a step that kept no lineage row is seen to have run.
OUTPUT: dict[str, str] = {"unify": "touchpoints", "journeys": "customer_stages", "personas": "personas",
                          "simulate": "scenarios"}  # fmt: skip


def _stage_map_changed(ws: Workspace) -> str | None:
    """Why ``cx journeys`` is stale when the stage map it would use now (the one it was given, else the folder's
    ``stage_map.yml``, else the built-in map) is not the one it staged with; ``None`` when they agree or it
    cannot tell (no record of the map: Spark, a workspace staged before it was kept, or a run from Python or a
    notebook, whose map is not an option on record)."""
    from cxlib.journeys.workspace import STAGED_WITH_TABLE, _staged_with

    options = step_options(ws, "journeys")
    if not ws.has(STAGED_WITH_TABLE) or "stage_map" not in options:  # not run by `cx journeys`: its map unknown
        return None
    try:
        from cxlib.journeys import resolve_stage_map

        recorded = json.loads(ws.table(STAGED_WITH_TABLE).to_pandas()["staged_with"].iloc[0])["stage_map"]
        given = options["stage_map"]
        now = json.loads(_staged_with(resolve_stage_map(given, workspace=ws), False))["stage_map"]  # its own text
    except Exception:  # noqa: BLE001 - a map that no longer reads: the step says why when it runs
        return "its stage map no longer reads"
    if now == recorded:
        return None
    return "its stage map changed since it ran (stage_map.yml)" if given is None else "its stage map changed"


def _rerun(steps: pd.DataFrame, step: str, deps: tuple[str, ...]) -> list[str]:
    """Which of ``step``'s inputs ran again after it: those that finished after it started (all of them when the
    times do not say: a row without them)."""
    rows = steps.set_index("step")
    ran = [d for d in deps if d in rows.index]
    try:
        since = [d for d in ran if str(rows.at[d, "finished"]) > str(rows.at[step, "started"])]
    except (KeyError, TypeError):
        return ran
    return since or ran


def _files_changed(ws: Workspace, recorded: str) -> str | None:
    """Why the load is stale because of its files (:func:`cxlib.io.inputs.changed`), or None: not, or a workspace
    without a folder (in memory) or a load that recorded none."""
    if ws.folder is None or not recorded:
        return None
    from cxlib.io.inputs import changed
    from cxlib.schema import DataError

    try:
        files = changed(ws.folder, recorded)
    except (DataError, OSError, ValueError) as e:  # sources.yml being edited, a file gone mid-check
        return f"its sources cannot be read now: {str(e).splitlines()[0][:120]}"
    if not files:
        return None
    more = f" and {len(files) - 3} more" if len(files) > 3 else ""
    return f"its source files changed since it ran: {', '.join(files[:3])}{more}"


def stale_in_folder(folder: str | Path) -> list[Stale]:
    """:func:`stale_steps` of the workspace in ``folder``, opened read-only; empty when it has none yet. What every
    reader that says so calls: the CLI's warnings, the pages' note, the JupyterLab explorer.

    >>> stale_in_folder("no/such/folder")
    []
    """
    from cxlib.engine import connect
    from cxlib.io import has_workspace

    if not has_workspace(folder):
        return []
    with connect(folder, read_only=True) as ws:
        return stale_steps(ws)


def record_on_connection(
    con: Any, step: str, started: dt.datetime, outputs: list[str], inputs: str | None = None
) -> None:
    """Write ``step``'s lineage row through a plain DuckDB connection, inside the caller's transaction.

    :func:`cxlib.io.load` writes with DuckDB directly, in one transaction; this records the load in it.
    """
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ? AND NOT temporary", [LINEAGE_TABLE]
    ).fetchone()[0]
    before = con.execute(f'SELECT * FROM main."{LINEAGE_TABLE}"').df() if found else _empty()
    con.register("_cx_steps", record(before, step, started, outputs, inputs))
    con.execute(f'CREATE OR REPLACE TABLE main."{LINEAGE_TABLE}" AS SELECT * FROM _cx_steps')
    con.unregister("_cx_steps")
