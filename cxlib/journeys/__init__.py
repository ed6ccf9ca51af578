"""Journeys: stages, paths, flows, funnels and drop-off diagnosis over the unified touchpoint stream.

The package, module by module: :mod:`~cxlib.journeys.inputs` (what a function accepts: ``as_table``,
``require_columns``, the ordering rule), :mod:`~cxlib.journeys.stage_map` (the rules, and which map
applies), :mod:`~cxlib.journeys.stages` (``assign_stages``), :mod:`~cxlib.journeys.timeline` (stage now,
month by month, counts), :mod:`~cxlib.journeys.paths` (transitions, step matrix, Sankey links and
the customers behind them),
:mod:`~cxlib.journeys.behind` (the Sankey's nodes and links to pick from, and who is behind one),
:mod:`~cxlib.journeys.funnel`, :mod:`~cxlib.journeys.diagnosis` (drop-off, returns, service by stage),
:mod:`~cxlib.journeys.journey_map`, :mod:`~cxlib.journeys.figures` and :mod:`~cxlib.journeys.workspace`
(``cx journeys``, the explorers' staged copy).

Every function takes the ``touchpoints`` stream (or any event frame with the named columns) as a pandas
DataFrame or an Ibis table, runs the event-scale work in the engine (DuckDB by default, Spark tested) and
returns small pandas frames or plotly figures.

**Ordering rule.** Within a path (a customer), events are ordered by ``ts`` and ties are broken by ``sequence``
(where the source records one), then ``table_name, source, record_key`` when those columns exist (the unified
stream has them), otherwise by the ``on`` column's value. The order never depends on the input's row order, so
every count is reproducible.

**Stages.** A :class:`StageMap` (a documented dict, editable as YAML) says how touchpoints map to stages:

- the *buyer journey* runs until a customer's first purchase: ``awareness`` then ``consideration`` (a
  buyer's stage only moves forward), then ``purchase`` at the first purchase itself;
- the *customer journey* follows: ``onboarding``, ``repeat``, ``advocate``, ``win_back``, chosen by the
  first matching rule, and the inactivity windows ``at_risk`` and ``churned`` (``lost`` for a prospect who
  went quiet) apply at any moment from the time since the customer's last inbound touchpoint.

**Stage once.** Rows that already carry ``stage`` (:func:`staged_touchpoints`, :func:`assign_stages`) are
never staged again: :func:`current_stage`, :func:`stage_history`, :func:`stage_counts`,
:func:`diagnose_dropoff`, :func:`service_by_stage` and :func:`journey_map` read their stages. Which map
applies is decided in one place, :func:`resolve_stage_map`: the ``stage_map`` argument, else the map the
rows were staged with, else the workspace's ``stage_map.yml``, else :data:`DEFAULT_STAGE_MAP`.

Examples
--------
>>> import pandas as pd
>>> from cxlib import journeys
>>> ev = pd.DataFrame({
...     "customer_id": ["a", "a", "a", "b"],
...     "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-01"]),
...     "event": ["page_view", "product_view", "page_view", "page_view"],
... })
>>> journeys.transitions(ev).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
[['page_view', 'path_end', 2], ['page_view', 'product_view', 1], ['path_start', 'page_view', 2],
 ['product_view', 'page_view', 1]]
"""

from cxlib.journeys.behind import customer_details, sankey_choices
from cxlib.journeys.diagnosis import RETURN_CAUSES as RETURN_CAUSES  # importable, not in __all__ (as before)
from cxlib.journeys.diagnosis import diagnose_dropoff, diagnose_returns, service_by_stage
from cxlib.journeys.diagnosis import dropoff_verdict as dropoff_verdict
from cxlib.journeys.diagnosis import nobody_bought as nobody_bought
from cxlib.journeys.diagnosis import nothing_to_compare as nothing_to_compare
from cxlib.journeys.figures import (
    funnel_figure,
    funnel_table,
    journey_map_figure,
    sankey,
    stage_counts_figure,
    stage_now_figure,
)
from cxlib.journeys.funnel import funnel, keep_funnel_order
from cxlib.journeys.inputs import as_table, require_columns
from cxlib.journeys.journey_map import journey_map, journey_map_of, journey_map_parts
from cxlib.journeys.paths import (
    kept_prefix,
    sankey_customers,
    sankey_customers_of,
    sankey_links,
    sankey_links_of,
    sankey_parts,
    step_matrix,
    transitions,
)
from cxlib.journeys.stage_map import (
    BUYER_STAGES,
    CUSTOMER_STAGES,
    DEFAULT_STAGE_MAP,
    OUTBOUND_EVENTS,
    StageMap,
    resolve_stage_map,
)
from cxlib.journeys.stages import assign_stages
from cxlib.journeys.timeline import current_and_history, current_stage, ever_reached, stage_counts, stage_history
from cxlib.journeys.workspace import analysis_touchpoints as analysis_touchpoints
from cxlib.journeys.workspace import (
    build,
    filter_touchpoints,
    kept_rows,
    kept_sankey,
    persona_choices,
    staged_rows,
    staged_touchpoints,
)
from cxlib.schema import STAGES, stage_label

# the names other modules imported before they were public (kept importable)
_table = as_table
_require = require_columns

__all__ = [
    "BUYER_STAGES",
    "CUSTOMER_STAGES",
    "DEFAULT_STAGE_MAP",
    "OUTBOUND_EVENTS",
    "STAGES",
    "StageMap",
    "as_table",
    "assign_stages",
    "build",
    "current_and_history",
    "current_stage",
    "customer_details",
    "diagnose_dropoff",
    "diagnose_returns",
    "ever_reached",
    "filter_touchpoints",
    "funnel",
    "funnel_figure",
    "funnel_table",
    "journey_map",
    "journey_map_figure",
    "journey_map_of",
    "journey_map_parts",
    "keep_funnel_order",
    "kept_prefix",
    "kept_rows",
    "kept_sankey",
    "persona_choices",
    "require_columns",
    "resolve_stage_map",
    "sankey",
    "sankey_choices",
    "sankey_customers",
    "sankey_customers_of",
    "sankey_links",
    "sankey_links_of",
    "sankey_parts",
    "service_by_stage",
    "stage_counts",
    "stage_counts_figure",
    "stage_now_figure",
    "stage_history",
    "stage_label",
    "staged_rows",
    "staged_touchpoints",
    "step_matrix",
    "transitions",
]
