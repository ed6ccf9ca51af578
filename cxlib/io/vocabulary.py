"""Event names the stage map does not name: listed after a load, with counts and where a rule would place them.

An event the stage map's rules do not name is not lost: before a customer's first purchase it counts as
``awareness`` (the buyer journey's catch-all rule), after it as ``repeat``. That is right for a page view and
wrong for a ``begin_checkout`` a helpdesk or analytics export spells its own way, so the load says which names
it saw that neither the model's vocabulary nor the workspace's ``stage_map.yml`` knows.

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE t AS SELECT * FROM (VALUES ('page_view'), ('scroll'), ('scroll')) v(event)")
>>> print(unknown_events(con, "t"))  # doctest: +ELLIPSIS
events: 1 event name that the stage map does not name: scroll (2); ...
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from cxlib.io.sql import ident

__all__ = ["EVENT_VOCABULARY", "known_events", "unknown_events"]

#: The model's event names (``events.event``, see docs/data-model.md).
EVENT_VOCABULARY: tuple[str, ...] = (
    "page_view", "product_view", "add_to_cart", "checkout_start", "purchase", "login", "app_open", "email_sent",
    "email_open", "email_click", "email_holdout", "ad_click", "store_visit", "referral",
)  # fmt: skip
_SHOWN = 8


def known_events(stage_map: str | Path | None = None) -> set[str]:
    """The model's vocabulary and every event name the stage map (``stage_map.yml``, else the default) names."""
    from cxlib.journeys.stage_map import StageMap  # journeys reads what io loads: imported when used

    sm = StageMap.from_any(stage_map)
    names = set(EVENT_VOCABULARY) | set(sm.outbound_events)
    for rule in (*sm.purchase, *sm.buyer, *sm.customer):
        ev = rule.get("event", ())
        names |= {ev} if isinstance(ev, str) else set(ev)
    return names


def unknown_events(con: duckdb.DuckDBPyConnection, table: str, stage_map: str | Path | None = None) -> str | None:
    """A warning naming the event names of ``table`` that :func:`known_events` lacks, most frequent first."""
    known = sorted(known_events(stage_map))
    rows = con.execute(
        f"SELECT event, count(*) AS n FROM {ident(table)} WHERE event IS NOT NULL AND NOT list_contains(?, event) "
        "GROUP BY event ORDER BY n DESC, event",
        [known],
    ).fetchall()
    if not rows:
        return None
    shown = ", ".join(f"{e} ({n:,})" for e, n in rows[:_SHOWN]) + (", ..." if len(rows) > _SHOWN else "")
    first = rows[0][0]
    return (
        f"events: {len(rows)} event name{'s' if len(rows) > 1 else ''} that the stage map does not name: {shown}; "
        "they count as awareness before a customer's first purchase and as repeat after it. To place one, name "
        f"it in stage_map.yml, e.g. `buyer: [{{stage: consideration, event: [{first}]}}, ...]` (the default "
        "rules follow it; see docs/journeys.md), or map it to a model event under `values: event:` in sources.yml"
    )
