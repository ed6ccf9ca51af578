"""How much the personas stand on: a sentence when the orders behind them are too short or too few.

Personas are found among buyers from what they did: how often and how recently they bought, how much, through
which channels. On a week of orders nobody has bought twice yet, so the groups split on one order's size and
channel; on a few dozen buyers a persona is a handful of people. Both still fit and name groups ("long-standing"
on a week of data), so :func:`thin_evidence` says so, once, for ``cx personas``, the personas page and the report.

Examples
--------
>>> import cxlib, pandas as pd
>>> from cxlib import personas
>>> ws = cxlib.connect()
>>> _ = ws.write("touchpoints", pd.DataFrame({
...     "customer_id": ["a", "b", "c"], "ts": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-06"]),
...     "table_name": ["orders"] * 3, "status": ["completed"] * 3}))
>>> print(personas.thin_evidence(ws))  # doctest: +NORMALIZE_WHITESPACE
These personas stand on 6 days of orders (2024-01-01 to 2024-01-06) from 3 buyers: too short to see who buys
again, and too few for groups to hold. Read them as a first look; load at least 90 days of orders (a year shows
the seasons) for personas to act on.
"""

from __future__ import annotations

from pathlib import Path

from cxlib.engine import Workspace, opened
from cxlib.metrics import completed_order

__all__ = ["MIN_BUYERS", "MIN_DAYS", "MIN_TO_FIT", "thin_evidence"]

#: Fewer customers to fit on than this, and there is nothing to split into personas: ``cx personas``, the
#: personas page and the report stop here (and say why); from here to :data:`MIN_BUYERS` they fit and say how
#: little the personas stand on (:func:`thin_evidence`).
MIN_TO_FIT = 2

#: Fewer days of completed orders than this, and repeat buying (frequency, recency) is not yet visible.
MIN_DAYS = 90
#: Fewer buyers than this, and a persona of a few percent is a handful of people.
MIN_BUYERS = 200


def thin_evidence(workspace: Workspace | str | Path) -> str | None:
    """A sentence on what the personas stand on when it is too little (``None`` when it is enough).

    Too little is fewer than :data:`MIN_DAYS` days between the first and the last completed order, or fewer
    than :data:`MIN_BUYERS` customers with one. The days and buyers are counted from the unified
    ``touchpoints`` (:func:`cxlib.metrics.completed_order`) of the customers personas are fitted on (anonymous
    ones left out, as :func:`write_personas` does by default).
    """
    with opened(workspace, read_only=True) as ws:
        if not ws.has("touchpoints"):
            return None
        tp = ws.table("touchpoints")
        if not {"table_name", "status", "ts", "customer_id"} <= set(tp.columns):
            return None
        o = tp.filter(completed_order(tp) & tp.customer_id.notnull())
        if ws.has("customers") and "is_anonymous" in ws.table("customers").columns:  # as personas are fitted
            c = ws.table("customers")
            o = o.semi_join(c.filter(~c.is_anonymous), "customer_id")
        row = o.aggregate(first=o.ts.min(), last=o.ts.max(), buyers=o.customer_id.nunique()).to_pandas().iloc[0]
    buyers = int(row["buyers"])
    if buyers == 0:
        return None  # no personas at all: the steps say that themselves
    days = (row["last"].normalize() - row["first"].normalize()).days + 1
    short, few = days < MIN_DAYS, buyers < MIN_BUYERS
    if not (short or few):
        return None
    why = [w for w, on in (("too short to see who buys again", short), ("too few for groups to hold", few)) if on]
    fix = f"load at least {MIN_DAYS} days of orders (a year shows the seasons)" if short else (
        "load the orders of more customers")
    return (
        f"These personas stand on {days:,} days of orders ({row['first']:%Y-%m-%d} to {row['last']:%Y-%m-%d}) "
        f"from {buyers:,} buyers: {', and '.join(why)}. Read them as a first look; {fix} for "
        "personas to act on."
    )
