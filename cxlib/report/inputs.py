"""The inputs of figures that more than one page shows, defined once (the report, the notebooks).

Examples
--------
>>> import pandas as pd, cxlib
>>> ws = cxlib.connect()
>>> _ = ws.write("touchpoints", pd.DataFrame({
...     "customer_id": ["a", "a", "b"], "table_name": ["events", "orders", "events"],
...     "ts": pd.to_datetime(["2024-03-01", "2024-03-05", "2024-03-02"]), "event": ["ad_click", None, "ad_click"],
...     "channel": ["search", None, "social"], "status": [None, "completed", None], "revenue": [None, 80.0, None]}))
>>> attribution_paths(ws).to_dict("list")
{'path': ['search', 'social'], 'conversions': [1, 0], 'value': [80.0, 0.0], 'nulls': [0, 1]}
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
    within 30 days before an order). While ``cx journeys``' staged rows are current they are read instead
    (:func:`cxlib.journeys.kept_rows`: the same rows, each path already numbered in order). The report's
    attribution section and notebook 04 both read this, so they show the same numbers.
    """
    from cxlib import attribution, journeys

    with opened(workspace, read_only=True) as ws:
        kept = journeys.kept_rows(ws)  # the same rows, staged by `cx journeys`: each path ordered by path_pos
        rows = kept if kept is not None else journeys.analysis_touchpoints(ws)
        return attribution.paths_from_touchpoints(rows, **options)
