"""Saved plans: the scenarios a user kept, in the workspace folder, so they survive a reload.

A plan is a :class:`~cxlib.simulate.Scenario` (a name and its levers). :func:`save_plan` adds one (replacing a
plan of the same name) to ``FOLDER/plans.json``; :func:`saved_plans` reads them back in the order they were
saved; :func:`delete_plan` removes one. The file is written whole under a temporary name and renamed over the
old one, under a lock, so two pages saving at once lose neither plan and a crash never leaves half a file. The
file is data: every lever read back is checked (its kind, its names, a finite number), and a file that does
not pass is an error naming it, not a traceback.

Examples
--------
>>> import tempfile
>>> from cxlib.simulate import Scenario
>>> folder = tempfile.mkdtemp()
>>> _ = save_plan(folder, Scenario("grow", [Scenario.scale("consideration", "purchase", 1.1)]))
>>> [p.name for p in saved_plans(folder)], saved_plans(folder)[0].levers[0][3]
(['grow'], 1.1)
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cxlib.schema import DataError
from cxlib.simulate.scenarios import Scenario

PLANS_FILE = "plans.json"
_KINDS = ("scale", "set", "shift", "cut", "aov", "arrivals", "move")
_MAX_PLANS = 200


def _file(folder: str | Path) -> Path:
    return Path(folder) / PLANS_FILE


@contextmanager
def _locked(folder: str | Path) -> Iterator[None]:
    """An exclusive lock on the folder's plans (a lock file beside them) for one read-change-write."""
    import fcntl

    with open(Path(folder) / f".{PLANS_FILE}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _text(v: object, where: str) -> str | None:
    if v is None or isinstance(v, str) and len(v) <= 200:
        return v
    raise DataError(f"{where}: expected a name, found {str(v)[:60]!r}")


def _names(v: object, where: str) -> tuple[str, ...]:
    if not isinstance(v, list):
        raise DataError(f"{where}: expected a list of names, found {str(v)[:60]!r}")
    return tuple(_text(x, where) or "" for x in v)


def _lever(raw: object, where: str) -> tuple:
    """One lever as :class:`Scenario` builds it, from its JSON list (checked, never trusted)."""
    if not isinstance(raw, list) or len(raw) != 5 or raw[0] not in _KINDS:
        raise DataError(f"{where}: a lever is [kind, from, to, number, segments] with kind one of {', '.join(_KINDS)}")
    kind, a, b, x, segments = raw
    if isinstance(x, bool) or not isinstance(x, int | float) or not math.isfinite(x):
        raise DataError(f"{where}: the lever's number must be finite, found {str(x)[:60]!r}")
    a = _names(a, where) if kind == "aov" else _text(a, where)
    return (kind, a, _text(b, where), float(x), _names(segments, where))


def _read(folder: str | Path) -> list[Scenario]:
    path = _file(folder)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"{path}: the saved plans cannot be read ({e}); move the file away to start again") from None
    if not isinstance(data, dict) or not isinstance(data.get("plans"), list):
        raise DataError(f"{path}: expected {{'plans': [...]}}; move the file away to start again")
    plans = []
    for i, p in enumerate(data["plans"][:_MAX_PLANS]):
        where = f"{path}: plan {i + 1}"
        if not isinstance(p, dict) or not isinstance(p.get("levers"), list):
            raise DataError(f"{where}: expected {{'name': ..., 'levers': [...]}}")
        name = _text(p.get("name"), where) or f"plan {i + 1}"
        plans.append(Scenario(name, [_lever(v, where) for v in p["levers"]]))
    return plans


def _write(folder: str | Path, plans: list[Scenario]) -> None:
    path = _file(folder)
    data = {"plans": [{"name": p.name, "levers": [list(v) for v in p.levers]} for p in plans[-_MAX_PLANS:]]}
    fd, tmp = tempfile.mkstemp(prefix=f".{PLANS_FILE}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def saved_plans(folder: str | Path) -> list[Scenario]:
    """The plans saved in workspace ``folder``, oldest first (none: an empty list).

    Examples
    --------
    >>> import tempfile
    >>> saved_plans(tempfile.mkdtemp())
    []
    """
    return _read(folder)


def save_plan(folder: str | Path, plan: Scenario) -> list[Scenario]:
    """Keep ``plan`` in workspace ``folder`` (replacing a saved plan of the same name); returns every saved plan.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_plan(folder, Scenario("a", [Scenario.aov(1.05)]))
    >>> [p.levers for p in save_plan(folder, Scenario("a", [Scenario.aov(1.10)]))]
    [[('aov', (), None, 1.1, ())]]
    """
    plan = Scenario(str(plan.name), [_lever(json.loads(json.dumps(list(v))), "plan") for v in plan.levers])
    with _locked(folder):
        plans = [p for p in _read(folder) if p.name != plan.name] + [plan]
        _write(folder, plans)
    return plans


def delete_plan(folder: str | Path, name: str) -> list[Scenario]:
    """Remove the saved plan called ``name`` from workspace ``folder``; returns the plans left.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_plan(folder, Scenario("a", [Scenario.aov(1.05)]))
    >>> delete_plan(folder, "a")
    []
    """
    with _locked(folder):
        plans = [p for p in _read(folder) if p.name != name]
        _write(folder, plans)
    return plans
