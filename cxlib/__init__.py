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

from cxlib import (
    attribution,
    case,
    engine,
    impact,
    io,
    journeys,
    lineage,
    personas,
    report,
    schema,
    simulate,
    synth,
    unify,
    value,
)
from cxlib.engine import Workspace, connect
from cxlib.io import LoadReport, load, validate
from cxlib.schema import TABLES, DataError

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
