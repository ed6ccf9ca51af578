"""The journeys page's first view and filtered journey map, from what ``cx journeys`` and the server kept.

Part of :mod:`cxlib.notebook` (which re-exports :func:`journey_start`, :class:`JourneyStart`,
:func:`journey_map` and :func:`sankey_picker`); only the notebooks use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marimo as mo
import pandas as pd

from cxlib.notebook import (
    _STAGED_LOCK,
    EXPLORER_CUSTOMERS,
    Folder,
    _min_group_size,
    _on_staged,
    _path,
    connect,
    memo,
    on_staged,
    staged,
)

if TYPE_CHECKING:
    import ibis

__all__ = ["JourneyStart", "journey_map", "journey_start", "sankey_picker"]


def journey_map(folder: Folder | str | Path, filters: dict[str, list]) -> pd.DataFrame:
    """:func:`cxlib.journeys.journey_map` of the staged copy under ``filters``, kept (:func:`memo`); unfiltered or
    by persona only, summed from :func:`cxlib.journeys.journey_map_parts` (made once per server), not the rows."""
    return memo(folder, _journey_map, _path(folder), filters)


def _journey_map(path: str, filters: dict[str, list]) -> pd.DataFrame:
    from cxlib import journeys

    if set(filters) <= {"persona"} and "persona" in _on_staged(path, lambda t: t.columns):
        got = journeys.journey_map_of(on_staged(path, journeys.journey_map_parts), filters.get("persona"))
        if got is not None:
            return got
    return _on_staged(path, journeys.journey_map, filters=filters)


@dataclass(frozen=True)
class JourneyStart:
    """What the journeys page's controls offer and its first Sankey, read without staging anything.

    ``kept``: ``cx journeys``' stage Sankey ``(flows, lo, hi)`` (:func:`cxlib.journeys.kept_sankey`) or None;
    ``lo``/``hi``: the span of the rows' ``ts``.
    """

    channels: list[str]
    personas: dict[str, int]
    events: list[str]
    lo: pd.Timestamp
    hi: pd.Timestamp
    kept: tuple | None = field(default=None, repr=False)

    def sankey_links(self, folder: Folder | str | Path, **args: Any) -> pd.DataFrame:
        """:func:`cxlib.journeys.sankey_links` of the staged rows: the kept flows when they hold the view (every
        customer, by stage, the whole span); under a persona filter, from the counts by persona made once per
        server (:func:`cxlib.journeys.sankey_parts`); else computed on the staged copy (and kept, :func:`on_staged`)."""
        from cxlib import journeys

        got = None if self.kept is None else journeys.kept_prefix(self.kept, **args)
        if got is None and set(args.get("filters") or {}) == {"persona"} and args.get("on") == "stage":
            got = journeys.sankey_links_of(on_staged(folder, journeys.sankey_parts), **args)
        return got if got is not None else on_staged(folder, journeys.sankey_links, **args)

    def sankey_customers(self, folder: Folder | str | Path, **args: Any) -> pd.DataFrame:
        """:func:`cxlib.journeys.sankey_customers` of the staged rows (``args``: the pick's and the Sankey's): from
        each customer's first steps, kept with the counts by persona (:func:`cxlib.journeys.sankey_customers_of`,
        the step Sankey by stage, every customer or some personas), else a pass over the staged copy."""
        from cxlib import journeys

        got = None
        if self.personas and args.get("on") == "stage" and set(args.get("filters") or {}) <= {"persona"}:
            got = journeys.sankey_customers_of(on_staged(folder, journeys.sankey_parts), **args)
        return got if got is not None else on_staged(folder, journeys.sankey_customers, **args)


def journey_start(folder: Folder | str | Path) -> JourneyStart:
    """The journeys page's :class:`JourneyStart`: from what ``cx journeys`` kept when it is current (a few small
    queries on the workspace file), else from the staged copy. Once per server and workspace file."""
    return memo(folder, _journey_start, _path(folder))  # _journey_start stops the cell without touchpoints


def _journey_start(path: str) -> JourneyStart:
    from cxlib import journeys

    with connect(path, "touchpoints") as ws:
        kept = journeys.kept_sankey(ws)
        everyone = kept is not None and kept[0].loc[kept[0]["step"] == 0, "value"].sum() <= EXPLORER_CUSTOMERS
        if everyone:
            rows = ws.table(journeys.workspace.STAGED_TABLE)
            personas = journeys.persona_choices(ws.table("personas")) if ws.has("personas") else {}
            return JourneyStart(_distinct(rows, "channel"), personas, _distinct(rows, "event"), kept[1], kept[2], kept)
    with _STAGED_LOCK:
        rows = staged(path)
        span = rows.aggregate(lo=rows.ts.min(), hi=rows.ts.max()).to_pandas().iloc[0]
        return JourneyStart(_distinct(rows, "channel"), journeys.persona_choices(rows), _distinct(rows, "event"),
                            pd.Timestamp(span["lo"]), pd.Timestamp(span["hi"]))  # fmt: skip


def _distinct(t: ibis.Table, column: str) -> list[str]:
    return sorted(str(v) for v in t.select(column).distinct().to_pandas()[column].dropna())


def sankey_picker(choices: pd.DataFrame) -> Any:
    """A dropdown of the step Sankey's nodes and links (:func:`cxlib.journeys.sankey_choices`), by their label.

    Its value is the chosen row's index in ``choices`` (``None`` until one is picked). Nodes and links of
    fewer customers than the report's minimum group size are not offered (their customers are not listed).

    Examples
    --------
    >>> import pandas as pd
    >>> c = pd.DataFrame({"label": ["x at step 1 (30 customers)", "y at step 1 (2 customers)"], "customers": [30, 2]})
    >>> list(sankey_picker(c).options)
    ['x at step 1 (30 customers)']
    """
    k = _min_group_size()
    big = choices[choices["customers"] >= k]
    return mo.ui.dropdown(
        options=dict(zip(big["label"], big.index, strict=True)),
        searchable=True,
        full_width=True,
        label=f"The customers behind a node or a link (those of fewer than {k} customers are not listed)",
    )
