"""The inputs of figures that more than one page shows, defined once (the report, the notebooks).

Examples
--------
>>> import tempfile
>>> from cxlib import io, synth, unify
>>> folder = tempfile.mkdtemp()
>>> _ = synth.write_company(folder, n_customers=150, seed=3, months=4, progress=False)
>>> _ = io.load(folder, progress=False)
>>> _ = unify.unify(folder, probabilistic=False, progress=False)
>>> paths = attribution_paths(folder)
>>> list(paths.columns)
['path', 'conversions', 'value', 'nulls']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from cxlib.engine import Workspace, opened

__all__ = ["attribution_paths"]


def attribution_paths(workspace: str | Path | Workspace, **options: Any) -> pd.DataFrame:
    """The paths that attribution credits, from a workspace: the one attribution input set.

    The touchpoints are the journeys' analysis set (:func:`cxlib.journeys.analysis_touchpoints`: without
    the rows that carried no identifier at all, each a one-touch "customer" with no path to credit), turned
    into paths by :func:`cxlib.attribution.paths_from_touchpoints` with ``options`` (its defaults: touches
    within 30 days before an order). The report's attribution section and notebook 04 both read this, so
    they show the same numbers.
    """
    from cxlib import attribution, journeys

    with opened(workspace, read_only=True) as ws:
        return attribution.paths_from_touchpoints(journeys.analysis_touchpoints(ws), **options)
