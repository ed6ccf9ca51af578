"""cxlib: from raw, messy first-party customer data to a revenue decision.

The public API is listed in ``__all__``; modules hold one step each
(:mod:`cxlib.schema`, :mod:`cxlib.io`, :mod:`cxlib.synth`, :mod:`cxlib.engine`, :mod:`cxlib.unify`,
:mod:`cxlib.personas`, :mod:`cxlib.journeys`, :mod:`cxlib.simulate`, :mod:`cxlib.attribution`, :mod:`cxlib.impact`,
:mod:`cxlib.value` (customer value: BG/NBD, Gamma-Gamma, tiers), :mod:`cxlib.report`, :mod:`cxlib.case`, the
hiring case, and :mod:`cxlib.lineage`, what each step built from what).

Examples
--------
>>> import tempfile, cxlib
>>> folder = tempfile.mkdtemp()
>>> _ = cxlib.synth.write_company(folder, n_customers=200, seed=1, months=6, progress=False)
>>> report = cxlib.load(folder)
>>> bool((report.summary["rows_in"] == report.summary["rows_loaded"] + report.summary["rows_quarantined"]).all())
True
>>> with cxlib.connect(folder) as ws:
...     "events" in ws.list_tables()
True
"""

import importlib
from typing import Any

from cxlib.schema import TABLES, DataError

# The steps are imported when first used (``cxlib.unify``, ``from cxlib import journeys``), so that ``cx --help``
# and a command that needs one step do not pay for all of them.
_MODULES = frozenset(
    {"attribution", "case", "engine", "impact", "io", "journeys", "lineage", "personas", "report", "schema",
     "simulate", "synth", "unify", "value", "voice", "metrics", "notebook"}
)  # fmt: skip
_NAMES = {"Workspace": "engine", "connect": "engine", "LoadReport": "io", "load": "io", "validate": "io"}


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        return importlib.import_module(f"cxlib.{name}")
    if name in _NAMES:
        return getattr(importlib.import_module(f"cxlib.{_NAMES[name]}"), name)
    raise AttributeError(f"module 'cxlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _MODULES | set(_NAMES))


__version__ = "0.1.0"

__all__ = [
    "DataError",
    "LoadReport",
    "TABLES",
    "Workspace",
    "attribution",
    "case",
    "connect",
    "engine",
    "impact",
    "io",
    "journeys",
    "lineage",
    "load",
    "personas",
    "report",
    "schema",
    "simulate",
    "synth",
    "unify",
    "validate",
    "value",
]
