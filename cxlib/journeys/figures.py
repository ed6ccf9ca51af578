"""Figures: the stage counts over time, Sankeys (by step or by stage), the funnel and the journey map.

Each takes the frame its analysis returns (or, for :func:`sankey`, the events) and returns a plotly figure.

Examples
--------
>>> import pandas as pd
>>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "y"],
...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
>>> sankey(ev, max_steps=2).data[0].type
'sankey'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import pandas as pd
import plotly.graph_objects as go

from cxlib.journeys.inputs import as_table, filtered
from cxlib.journeys.paths import sankey_links, transitions
from cxlib.schema import STAGES

__all__ = ["funnel_figure", "journey_map_figure", "sankey", "stage_counts_figure"]


def stage_counts_figure(counts: pd.DataFrame, title: str = "Customers at each stage") -> go.Figure:
    """A stacked-area chart of :func:`stage_counts`."""
    fig = go.Figure()
    x = counts.index.astype(str)
    for s in counts.columns:
        fig.add_trace(go.Scatter(x=x, y=counts[s], name=s, stackgroup="one", mode="lines"))
    fig.update_layout(title=title, xaxis_title="period end", yaxis_title="customers", legend_traceorder="normal")
    return fig



def _sankey_trace(links: pd.DataFrame, domain_x: tuple[float, float] = (0.0, 1.0)) -> go.Sankey:
    nodes: dict[tuple[int, str], int] = {}

    def node(step: int, name: str) -> int:
        return nodes.setdefault((step, name), len(nodes))

    src = [node(int(s), a) for s, a in zip(links["step"], links["source"], strict=True)]
    dst = [node(int(s) + 1, b) for s, b in zip(links["step"], links["target"], strict=True)]
    labels = [name for (_, name) in nodes]
    steps = [s for (s, _) in nodes]
    n_steps = max(steps) if steps else 1
    return go.Sankey(
        domain={"x": list(domain_x)},
        arrangement="snap",
        node={"label": labels, "x": [0.001 + 0.998 * s / max(n_steps, 1) for s in steps], "pad": 12},
        link={"source": src, "target": dst, "value": links["value"].tolist()},
    )


def sankey(
    events: pd.DataFrame | ibis.Table,
    on: str = "event",
    path: str = "customer_id",
    max_steps: int = 5,
    top_n: int = 8,
    collapse: bool = False,
    filters: Mapping[str, Sequence] | None = None,
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    compare: tuple[str, object, object] | None = None,
    title: str | None = None,
    align: str = "step",
) -> go.Figure:
    """A plotly Sankey of the flows in :func:`sankey_links`, aligned by step -- or by stage.

    ``align="step"``: one column per step (the k-th event of each path). ``align="stage"`` (with
    ``on="stage"`` on :func:`assign_stages` output): one node per stage, placed in journey order, and links
    for the moves between stages (from :func:`transitions`, self-loops left out, backward moves such as
    at_risk → repeat included). Use ``on="stage", collapse=True`` with the step view to follow stage paths.
    ``compare=(column, a, b)`` draws two Sankeys side by side, one for the rows where ``column == a`` and one
    for ``column == b`` (e.g. two personas).

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "y"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> fig = sankey(ev, max_steps=2)
    >>> fig.data[0].link.value
    (1, 1)
    """
    if align == "stage":
        return _stage_sankey(events, on, path, filters, start, end, compare, title)
    if align != "step":
        raise ValueError(f"align must be 'step' or 'stage', not {align!r}")
    kw = dict(on=on, path=path, max_steps=max_steps, top_n=top_n, collapse=collapse, start=start, end=end)
    return _one_or_two(
        lambda f, dom: _sankey_trace(sankey_links(events, filters=f, **kw), dom),
        filters,
        compare,
        title or f"Flows by step ({on})",
    )


def _one_or_two(trace, filters, compare, title: str) -> go.Figure:
    """One Sankey, or two side by side for ``compare=(column, a, b)``: ``trace(filters, x_domain)`` draws one."""
    if compare is None:
        return go.Figure(trace(filters, (0.0, 1.0))).update_layout(title=title)
    col, a, b = compare
    halves = ((a, (0.0, 0.48)), (b, (0.52, 1.0)))
    fig = go.Figure([trace({**(filters or {}), col: [v]}, dom) for v, dom in halves])
    return fig.update_layout(
        title=f"{title}: {col} = {a} (left) vs {b} (right)",
        annotations=[
            dict(text=str(v), x=sum(dom) / 2, y=1.05, xref="paper", yref="paper", showarrow=False) for v, dom in halves
        ],
    )


def _stage_sankey(events, on, path, filters, start, end, compare, title) -> go.Figure:
    def trace(f, dom):
        tr = transitions(filtered(as_table(events), f, start, end), on=on, path=path)
        tr = tr[(tr.source != tr.target) & ~tr.source.isin(["path_start"]) & ~tr.target.isin(["path_end"])]
        names = sorted(set(tr.source) | set(tr.target), key=lambda x: (STAGES.index(x) if x in STAGES else 99, x))
        pos = {n: i for i, n in enumerate(names)}
        x = [0.001 + 0.998 * (i / max(len(names) - 1, 1)) for i in range(len(names))]
        return go.Sankey(
            domain={"x": list(dom)},
            arrangement="snap",
            node={"label": names, "x": x, "pad": 12},
            link={
                "source": [pos[a] for a in tr.source],
                "target": [pos[b] for b in tr.target],
                "value": tr["count"].tolist(),
            },
        )

    return _one_or_two(trace, filters, compare, title or f"Moves between {on}s")



def funnel_figure(f: pd.DataFrame, title: str = "Funnel") -> go.Figure:
    """A plotly funnel of :func:`funnel` output, with conversion from the previous step."""
    fig = go.Figure(go.Funnel(y=f["name"], x=f["customers"], textinfo="value+percent previous+percent initial"))
    fig.update_layout(title=title)
    return fig



def journey_map_figure(jmap: pd.DataFrame, title: str = "Journey map") -> go.Figure:
    """The journey map as a table figure: stages as columns, buyer journey first."""
    header = ["", *[f"{c}<br><sub>{jmap.loc['journey', c]}</sub>" for c in jmap.columns]]
    cells = [list(jmap.index)] + [
        [("" if pd.isna(v) else (f"{v:.0%}" if r == "conversion_to_next" else f"{v}")) for r, v in jmap[c].items()]
        for c in jmap.columns
    ]
    fig = go.Figure(go.Table(header={"values": header}, cells={"values": cells, "align": "left"}))
    fig.update_layout(title=title)
    return fig

