"""Who is behind the step Sankey: its nodes and links as a list to pick from, and the customers of one.

:func:`sankey_choices` turns :func:`~cxlib.journeys.sankey_links` (the flows the figure draws) into one row
per node and per link, with the arguments :func:`~cxlib.journeys.sankey_customers` takes to list the
customers behind it and the number it will list (the node's or link's value in the figure).
:func:`customer_details` describes those customers: stage now, persona, revenue, touchpoints.

Examples
--------
>>> import pandas as pd
>>> from cxlib.journeys import sankey_customers, sankey_links
>>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["x", "y", "x"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-01"])})
>>> choices = sankey_choices(sankey_links(ev, max_steps=2))
>>> choices["label"].tolist()[:3]
['x at step 1 (2 customers)', 'y at step 2 (1 customer)', 'left after step 1 (1 customer)']
>>> pick = choices.iloc[4]
>>> pick["label"], sankey_customers(ev, **pick["args"], max_steps=2)["customer_id"].tolist()
('x → y, step 1 → 2 (1 customer)', ['a'])
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ibis
import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.journeys.figures import human, step_nodes
from cxlib.journeys.inputs import as_table
from cxlib.metrics import completed_order

__all__ = ["customer_details", "sankey_choices"]


def _customers(n: int) -> str:
    return f"{n:,} customer{'' if n == 1 else 's'}"


def sankey_choices(links: pd.DataFrame) -> pd.DataFrame:
    """Every node (but the start) and every link of the step Sankey drawn from ``links``, in the figure's words.

    ``links`` is :func:`~cxlib.journeys.sankey_links`'s output: the flows :func:`~cxlib.journeys.sankey`
    draws for the same arguments. Returns ``kind`` (``node``/``link``), ``step``, ``source``, ``target``
    (a node has ``source == target``, its name), ``customers`` (its value in the figure), ``label`` ("x at
    step 2 (7 customers)", "x → y, step 1 → 2 (4 customers)"), ``name`` (for a file:
    ``customers_step1_x_to_y``) and ``args``: the ``step`` and ``node`` or
    ``link`` to pass to :func:`~cxlib.journeys.sankey_customers` (with the figure's other arguments),
    which then lists exactly ``customers`` ids. Nodes first (column by column, in the figure's order), then
    links by step and size.

    Examples
    --------
    >>> links = pd.DataFrame({"step": [0, 1], "source": ["path_start", "x"], "target": ["x", "path_end"],
    ...                       "value": [3, 3]})
    >>> sankey_choices(links)[["kind", "label", "customers"]].values.tolist()
    [['node', 'x at step 1 (3 customers)', 3], ['node', 'left after step 1 (3 customers)', 3], \
['link', 'x → left, step 1 → 2 (3 customers)', 3]]
    """
    cols = ["kind", "step", "source", "target", "customers", "label", "name", "args"]
    if links.empty:
        return pd.DataFrame(columns=cols)
    nodes = step_nodes(links)
    nodes = nodes[nodes["col"] > 0]
    node_rows = [
        ("node", c, n, n, p, _node_label(c, n, p), _name(c, n), {"step": c, "node": n})
        for c, n, p in zip(nodes["col"].astype(int), nodes["name"], nodes["people"].astype(int), strict=True)
    ]
    flows = links[links["step"] > 0].sort_values(["step", "value", "source", "target"], ascending=[1, 0, 1, 1])
    link_rows = [
        ("link", s, a, b, v, _link_label(s, a, b, v), _name(s, a, b), {"step": s, "link": (a, b)})
        for s, a, b, v in zip(
            flows["step"].astype(int), flows["source"], flows["target"], flows["value"].astype(int), strict=True
        )
    ]
    out = pd.DataFrame(node_rows + link_rows, columns=cols)
    return out.astype({"step": "int64", "customers": "int64"})


def _name(step: int, *names: str) -> str:
    """A file name for a node or a link: ``customers_step2_left``, ``customers_step1_awareness_to_consideration``."""
    words = ("_".join(human(n).split()) for n in names)
    return f"customers_step{step}_" + "_to_".join(words)


def _link_label(step: int, source: str, target: str, value: int) -> str:
    return f"{human(source)} → {human(target)}, step {step} → {step + 1} ({_customers(value)})"


def _node_label(col: int, name: str, people: int) -> str:
    if name == "path_end":
        return f"left after step {col - 1} ({_customers(people)})"
    return f"{'other events' if name == 'other' else human(name)} at step {col} ({_customers(people)})"


def customer_details(
    events: pd.DataFrame | ibis.Table,
    customers: pd.DataFrame | Iterable[str],
    workspace: str | Path | Workspace | None = None,
    path: str = "customer_id",
) -> pd.DataFrame:
    """What a list of customers needs: ``stage_now``, ``persona``, ``revenue``, ``touchpoints``, ``last_touch``.

    ``touchpoints``, ``last_touch`` and ``revenue`` (completed orders, as the ``revenue`` metric counts it)
    come from ``events``, in the engine. With a ``workspace``, ``stage_now`` is its ``customer_stages``
    (what ``cx journeys`` wrote, as the page's "stage now" numbers). ``persona`` is the rows' ``persona_name``
    (staged rows carry it once ``cx personas`` ran) or ``persona``; when the rows have neither, the
    workspace's ``personas.persona_name``. A column
    whose source is missing is left out. One row per customer, the most revenue first (then by id); no
    contact details.

    Examples
    --------
    >>> ev = pd.DataFrame({"customer_id": ["a", "a", "b"], "event": ["view", "purchase", "view"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]),
    ...                    "table_name": ["events", "orders", "events"], "status": [None, "completed", None],
    ...                    "revenue": [0.0, 40.0, 0.0]})
    >>> customer_details(ev, ["b", "a"]).values.tolist()  # doctest: +NORMALIZE_WHITESPACE
    [['a', 40.0, 2, Timestamp('2024-01-02 00:00:00')], ['b', 0.0, 1, Timestamp('2024-01-03 00:00:00')]]
    """
    ids = customers[path] if isinstance(customers, pd.DataFrame) else pd.Series(list(customers), dtype="string")
    wanted = pd.DataFrame({path: ids.astype(str).drop_duplicates()})
    t = as_table(events)
    rows = t.semi_join(ibis.memtable(wanted), path)
    aggs = {"touchpoints": rows.count(), "last_touch": rows.ts.max()}
    if {"revenue", "table_name", "status"} <= set(t.columns):
        aggs = {"revenue": ibis.ifelse(completed_order(rows), rows.revenue, 0.0).sum().fill_null(0.0), **aggs}
    persona = next((c for c in ("persona_name", "persona") if c in t.columns), None)
    if persona:  # staged rows carry the persona (its name once cx personas ran)
        aggs = {"persona": rows[persona].cast("string").max(), **aggs}
    out = wanted.merge(rows.group_by(path).aggregate(**aggs).to_pandas(), on=path, how="left")
    if workspace is not None:
        out = _from_workspace(out, workspace, path, with_persona=persona is None)
    out["touchpoints"] = out["touchpoints"].fillna(0).astype("int64")
    if "revenue" in out:
        out["revenue"] = out["revenue"].fillna(0.0).astype("float64").round(2)
    order = [path, "stage_now", "persona", "revenue", "touchpoints", "last_touch"]
    out = out[[c for c in order if c in out]]
    by = ["revenue", path] if "revenue" in out else [path]
    return out.sort_values(by, ascending=[False, True][-len(by) :], ignore_index=True)


def _from_workspace(
    out: pd.DataFrame, workspace: str | Path | Workspace, path: str, with_persona: bool
) -> pd.DataFrame:
    """``out`` plus ``stage_now`` (``customer_stages``) and, ``with_persona``, ``persona``
    (``personas.persona_name``) where present."""
    ids = ibis.memtable(out[[path]])
    wanted = [("customer_stages", "stage", "stage_now")] + [("personas", "persona_name", "persona")] * with_persona
    with opened(workspace, read_only=True) as ws:
        for table, column, name in wanted:
            if ws.has(table) and column in ws.table(table).columns:
                src = ws.table(table)
                got = src.semi_join(ids, src[path] == ids[path]).select(path, **{name: src[column]}).to_pandas()
                out = out.merge(got.drop_duplicates(path), on=path, how="left")
    return out
