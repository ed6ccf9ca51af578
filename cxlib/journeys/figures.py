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

import textwrap
from collections.abc import Mapping, Sequence

import ibis
import pandas as pd
import plotly.graph_objects as go

from cxlib.journeys.inputs import as_table, filtered
from cxlib.journeys.paths import sankey_links, transitions
from cxlib.schema import PALETTE, STAGES, name_words, stage_label

__all__ = [
    "funnel_figure",
    "journey_map_figure",
    "sankey",
    "sankey_colors",
    "stage_counts_figure",
    "stage_now_figure",
    "step_nodes",
]


#: What the chart over time counts, under its title: why its last month and the "now" bars beside it differ
STAGE_COUNTS_NOTE = ("each month end's stage; a customer's first-purchase month counts as purchase (as the journey "
                     "model reads months), so the last month can differ from the stages now")


def stage_counts_figure(counts: pd.DataFrame, title: str = "Customers at each stage") -> go.Figure:
    """A stacked-area chart of :func:`stage_counts`, each stage in its :data:`STAGE_COLORS` colour, with
    :data:`STAGE_COUNTS_NOTE` under the title (the bars of the stages now count a first purchase as onboarding).

    Examples
    --------
    >>> months = pd.PeriodIndex(["2024-01", "2024-02"], freq="M")
    >>> counts = pd.DataFrame({"purchase": [3, 1], "repeat": [0, 2]}, index=months)
    >>> "first-purchase month counts as purchase" in stage_counts_figure(counts).layout.title.text
    True
    """
    fig = go.Figure()
    x = counts.index.astype(str)
    for s in counts.columns:
        colour = STAGE_COLORS.get(s)
        fig.add_trace(go.Scatter(
            x=x, y=counts[s], name=stage_label(s), stackgroup="one", mode="lines",
            line={"color": colour}, fillcolor=_rgba(colour, 0.6) if colour else None,
        ))  # fmt: skip
    fig.update_layout(title=f"{title}<br><sup>{STAGE_COUNTS_NOTE}</sup>", xaxis_title="period end",
                      yaxis_title="customers", legend_traceorder="normal")
    return fig


def stage_now_figure(now: pd.DataFrame | Mapping[str, int], title: str = "Customers at each stage now") -> go.Figure:
    """Bars of the customers in each stage now (``now``: ``stage, customers``, or ``{stage: customers}``: the
    ``stage_now`` metrics), each stage in its :data:`STAGE_COLORS` colour as in the Sankey and the chart over
    time, the count on it.

    Examples
    --------
    >>> fig = stage_now_figure(pd.DataFrame({"stage": ["awareness", "at_risk"], "customers": [1200, 30]}))
    >>> list(fig.data[0].x), list(fig.data[0].text), fig.data[0].marker.color[1] == STAGE_COLORS["at_risk"]
    (['Awareness', 'At risk'], ['1,200', '30'], True)
    """
    if not isinstance(now, pd.DataFrame):
        now = pd.DataFrame({"stage": list(now), "customers": list(now.values())})
    stages, n = now["stage"].tolist(), now["customers"].tolist()
    bar = go.Bar(
        x=[stage_label(s) for s in stages],
        y=n,
        text=[f"{int(v):,}" for v in n],
        marker={"color": [STAGE_COLORS.get(s, "#7f7f7f") for s in stages]},
        hovertemplate="%{y:,} customers in %{x} now<extra></extra>",
    )
    fig = go.Figure(bar)
    fig.update_layout(title=title, xaxis_title="stage", yaxis_title="customers")
    return fig


#: one colour per stage, the same in every column and every figure (journey order: cool, then warm for risk)
STAGE_COLORS = {
    "awareness": "#1f77b4",
    "consideration": "#17becf",
    "purchase": "#2ca02c",
    "onboarding": "#bcbd22",
    "repeat": "#9467bd",
    "advocate": "#e377c2",
    "at_risk": "#ff7f0e",
    "churned": "#d62728",
    "win_back": "#8c564b",
    "lost": "#393b79",
}
#: the synthetic nodes, in grey: the start, the paths that stopped ("left") and the events outside the top N
_GREYS = {"path_start": "#5b6770", "path_end": "#b8b8b8", "other": "#8c8c8c"}
_HEIGHT, _MARGIN, _PAD = 560, {"t": 70, "b": 20, "l": 10, "r": 10}, 14
_WIDTH_GUESS = 1000  # px a Sankey usually gets (notebook column, report); labels are sized for it


def sankey_colors(names) -> dict[str, str]:
    """One colour per name: a stage its :data:`STAGE_COLORS` entry, other names :data:`PALETTE` in name order.

    Examples
    --------
    >>> sankey_colors(["view", "awareness", "cart", "path_end"])
    {'awareness': '#1f77b4', 'cart': '#1f77b4', 'view': '#ff7f0e', 'path_end': '#b8b8b8'}
    """
    names = list(dict.fromkeys(names))
    out = {n: STAGE_COLORS[n] for n in names if n in STAGE_COLORS}
    rest = sorted(n for n in names if n not in STAGE_COLORS and n not in _GREYS)
    out.update({n: PALETTE[i % len(PALETTE)] for i, n in enumerate(rest)})
    out.update({n: _GREYS[n] for n in names if n in _GREYS})
    return out


def human(name: str) -> str:
    """A node's name inside a sentence (a hover): ``start``/``left`` for the synthetic nodes, ``at risk``.

    A label on its own (a node, an axis, a header) is :func:`~cxlib.schema.stage_label`: ``At risk``.
    """
    return stage_label(name).lower() if name in STAGES else stage_label(name)


def _rgba(hex_color: str, alpha: float) -> str:
    r, g, b = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"


def step_nodes(links: pd.DataFrame) -> pd.DataFrame:
    """The step Sankey's nodes: ``col, name, people`` (people at each node, counted from the links into it).

    Column 0 is the start; column ``k`` holds the k-th event of each path, and ``path_end`` the paths that
    stopped after step ``k - 1``. Ordered in each column: stages in journey order (other names by their
    total count, largest first), then ``other``, then ``path_end`` at the bottom.

    Examples
    --------
    >>> links = pd.DataFrame({"step": [0, 0, 1], "source": ["path_start", "path_start", "x"],
    ...                       "target": ["x", "y", "path_end"], "value": [2, 1, 2]})
    >>> step_nodes(links).values.tolist()
    [[0, 'path_start', 3], [1, 'x', 2], [1, 'y', 1], [2, 'path_end', 2]]
    """
    into = links.groupby(["step", "target"], as_index=False)["value"].sum()
    nodes = pd.DataFrame({"col": into["step"] + 1, "name": into["target"], "people": into["value"]})
    everyone = int(links.loc[links.step == 0, "value"].sum())
    start = pd.DataFrame({"col": [0], "name": ["path_start"], "people": [everyone]})
    nodes = pd.concat([start, nodes], ignore_index=True)
    total = nodes.groupby("name")["people"].sum()
    nodes["_rank"] = [_rank(n, int(total[n])) for n in nodes["name"]]
    nodes = nodes.sort_values(["col", "_rank"], ignore_index=True).drop(columns="_rank")
    nodes["people"] = nodes["people"].astype("int64")
    return nodes


def _rank(name: str, total: int) -> tuple:
    """Where a node sits in its column: stages in journey order, events by size, then other, then left."""
    if name in STAGE_COLORS:
        return (0, list(STAGE_COLORS).index(name), name)
    if name in ("other", "path_end"):
        return (2 + (name == "path_end"), 0, name)
    return (1, -total, name)


def _node_layout(nodes: pd.DataFrame, height: int) -> pd.DataFrame:
    """``x, y`` (node centres, as plotly reads them) and ``px`` (its height in pixels) for each node.

    Mirrors plotly's own scale (the fullest column fills the height, ``_PAD`` px between nodes), stacks
    each column from the top in the order given and leaves no overlap for plotly's ``snap`` to fix.
    """
    usable = height - _MARGIN["t"] - _MARGIN["b"]
    per_col = nodes.groupby("col")["people"].agg(["sum", "count"])
    ky = min((usable - (c - 1) * _PAD) / max(s, 1) for s, c in zip(per_col["sum"], per_col["count"], strict=True))
    n_cols = int(nodes["col"].max()) + 1
    px = nodes["people"] * ky
    top = px.groupby(nodes["col"]).cumsum() - px + nodes.groupby("col").cumcount() * _PAD
    return nodes.assign(
        x=[0.001 + 0.998 * c / max(n_cols - 1, 1) for c in nodes["col"]],
        y=((top + px / 2) / usable).clip(0.001, 0.999),
        px=px,
    )


def _short(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[: max(chars - 1, 1)] + "…"


def _node_label(name: str, people: int, share: float, px: float, chars: int) -> str:
    """The text drawn by a node: name and count when the node is tall enough, the name alone, or nothing.

    Labels are cut to the room between two columns (``chars``); the hover always has the full text.
    """
    if px < 13:
        return ""
    word = _short(stage_label(name), chars)
    if px >= 30:
        return f"{word}<br>{people:,} · {share:.0%}"
    return word


def _customers(n: int) -> str:
    return f"{n:,} customer{'' if n == 1 else 's'}"


def _node_hover(col: int, name: str, people: int, total: int) -> str:
    share = f"{_customers(people)} ({people / max(total, 1):.0%} of {total:,})"
    if name == "path_start":
        return f"<b>start</b><br>{_customers(total)} begin here"
    if name == "path_end":
        return f"<b>left</b> after step {col - 1}<br>{share} had no step {col}"
    what = "events outside the top ones" if name == "other" else human(name)
    return f"<b>{what}</b> at step {col}<br>{share}"


def _link_hover(step: int, source: str, target: str, value: int, at_source: int, total: int) -> str:
    who = f"{_customers(value)} ({value / max(total, 1):.0%})"
    of_source = f"{value / max(at_source, 1):.0%} of the {at_source:,} at {human(source)}"
    if source == "path_start":
        return f"{who} started with {human(target)}"
    if target == "path_end":
        return f"{who} left after {human(source)} (step {step})<br>{of_source}"
    return f"{who} went {human(source)} → {human(target)} (step {step} → {step + 1})<br>{of_source}"


def _step_sankey_trace(
    links: pd.DataFrame,
    colors: Mapping[str, str],
    domain_x: tuple[float, float] = (0.0, 1.0),
    height: int = _HEIGHT,
) -> go.Sankey:
    """One step-aligned Sankey: a node per (column, name) sized by people, labelled and hovered in words."""
    if links.empty:
        empty = {"source": [], "target": [], "value": []}
        return go.Sankey(domain={"x": list(domain_x)}, node={"label": []}, link=empty)
    nodes = _node_layout(step_nodes(links), height)
    total = int(nodes.loc[nodes.col == 0, "people"].sum())
    n_cols = int(nodes["col"].max()) + 1
    chars = max(int((_WIDTH_GUESS * (domain_x[1] - domain_x[0]) / max(n_cols - 1, 1) - 24) / 6.5), 4)
    index = {(int(c), n): i for i, (c, n) in enumerate(zip(nodes["col"], nodes["name"], strict=True))}
    people = {k: int(p) for k, p in zip(index, nodes["people"], strict=True)}
    src = [index[(int(s), a)] for s, a in zip(links["step"], links["source"], strict=True)]
    dst = [index[(int(s) + 1, b)] for s, b in zip(links["step"], links["target"], strict=True)]
    # a link takes its source's colour (links out of the start take their target's), see-through
    tint = [b if a == "path_start" else a for a, b in zip(links["source"], links["target"], strict=True)]
    labels = [
        _node_label(n, int(p), p / max(total, 1), px, chars)
        for n, p, px in zip(nodes["name"], nodes["people"], nodes["px"], strict=True)
    ]
    return go.Sankey(
        domain={"x": list(domain_x)},
        arrangement="snap",
        textfont={"size": 11},
        node={
            "label": labels,
            "align": "left",  # a node without links out (a "left", the last column) stays in its own column
            "x": nodes["x"].tolist(),
            "y": nodes["y"].tolist(),
            "pad": _PAD,
            "thickness": 14,
            "color": [colors[n] for n in nodes["name"]],
            "line": {"width": 0},
            "customdata": [
                _node_hover(int(c), n, int(p), total)
                for c, n, p in zip(nodes["col"], nodes["name"], nodes["people"], strict=True)
            ],
            "hovertemplate": "%{customdata}<extra></extra>",
        },
        link={
            "source": src,
            "target": dst,
            "value": links["value"].tolist(),
            "color": [_rgba(colors[n], 0.35) for n in tint],
            "customdata": [
                _link_hover(int(s), a, b, int(v), people[(int(s), a)], total)
                for s, a, b, v in zip(links["step"], links["source"], links["target"], links["value"], strict=True)
            ],
            "hovertemplate": "%{customdata}<extra></extra>",
        },
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
    links: pd.DataFrame | None = None,
) -> go.Figure:
    """A plotly Sankey of the flows in :func:`sankey_links`, aligned by step -- or by stage.

    ``align="step"``: one column per step (the k-th event of each path) after a ``start`` column; each
    column ends with one grey ``left`` node, the customers whose path stopped at the step before. Nodes
    are sized by customers and labelled with name, count and share of all customers when tall enough (the
    hover always says it in words); each event or stage has one colour in every column (stages their
    :data:`STAGE_COLORS`), links take their source's colour. :func:`sankey_customers` lists the customers
    behind a node or link. ``align="stage"`` (with ``on="stage"`` on :func:`assign_stages` output): one node
    per stage, placed in journey order, and links for the moves between stages (from :func:`transitions`,
    self-loops left out, backward moves such as at_risk → repeat included). Use ``on="stage",
    collapse=True`` with the step view to follow stage paths. ``compare=(column, a, b)`` draws two Sankeys
    side by side, one for the rows where ``column == a`` and one for ``column == b`` (e.g. two personas),
    in the same colours. ``links``: the flows when the caller already has them (:func:`sankey_links` of the
    same events and arguments, e.g. to list their customers with :func:`~cxlib.journeys.sankey_choices`), drawn
    as they are instead of computed again; step view without ``compare`` only.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = pd.DataFrame({"customer_id": ["a", "a"], "event": ["x", "y"],
    ...                    "ts": pd.to_datetime(["2024-01-01", "2024-01-02"])})
    >>> fig = sankey(ev, max_steps=2)
    >>> fig.data[0].link.value
    (1, 1)
    >>> fig.data[0].link.customdata[1]
    '1 customer (100%) went x → y (step 1 → 2)<br>100% of the 1 at x'
    """
    if align == "stage":
        return _stage_sankey(events, on, path, filters, start, end, compare, title)
    if align != "step":
        raise ValueError(f"align must be 'step' or 'stage', not {align!r}")
    kw = dict(on=on, path=path, max_steps=max_steps, top_n=top_n, collapse=collapse, start=start, end=end)
    halves = [filters] if compare is None else [{**(filters or {}), compare[0]: [v]} for v in compare[1:]]
    if links is not None and compare is not None:
        raise ValueError("links= draws one Sankey: leave compare out")
    drawn = [links] if links is not None else [sankey_links(events, filters=f, **kw) for f in halves]
    colors = sankey_colors(pd.concat([*(d["source"] for d in drawn), *(d["target"] for d in drawn)]))
    by_value = dict(zip(compare[1:], drawn, strict=True)) if compare else {}
    fig = _one_or_two(
        lambda f, dom: _step_sankey_trace(by_value[f[compare[0]][0]] if compare else drawn[0], colors, dom),
        filters,
        compare,
        title or f"Journeys by step ({'stages' if on == 'stage' else on + 's'}), {max_steps} steps",
    )
    fig.update_layout(height=_HEIGHT, margin=_MARGIN)
    return _label_last_column_outside(fig)


def _label_last_column_outside(fig: go.Figure) -> go.Figure:
    """Move the labels of a right-hand Sankey's last column into the right margin.

    plotly draws the last column's labels to the left of its nodes, over the previous column's labels;
    as annotations to the right (the node centres are known: the trace's ``y`` are fractions of the plot
    height from the top) they collide with nothing.
    """
    for tr in fig.data:
        if tr.type != "sankey" or not tr.node.x or tr.domain.x[1] < 1.0:
            continue
        labels, xs, ys = list(tr.node.label), list(tr.node.x), list(tr.node.y)
        last = [i for i, x in enumerate(xs) if x == max(xs)]
        for i in last:
            if labels[i]:
                fig.add_annotation(
                    text=labels[i], x=1.0, y=1 - ys[i], xref="paper", yref="paper", xanchor="left",
                    xshift=10, showarrow=False, align="left", font={"size": 11},
                )  # fmt: skip
                labels[i] = ""
        tr.node.label = labels
    return fig.update_layout(margin={**_MARGIN, "r": 130})


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
        colors = sankey_colors(names)
        moves_in, moves_out = tr.groupby("target")["count"].sum(), tr.groupby("source")["count"].sum()
        return go.Sankey(
            domain={"x": list(dom)},
            arrangement="snap",
            textfont={"size": 11},
            node={
                "label": [stage_label(n) for n in names],
                "x": x,
                "pad": 12,
                "color": [colors[n] for n in names],
                "line": {"width": 0},
                "customdata": [
                    f"<b>{human(n)}</b><br>{int(moves_in.get(n, 0)):,} moves in, {int(moves_out.get(n, 0)):,} out"
                    for n in names
                ],
                "hovertemplate": "%{customdata}<extra></extra>",
            },
            link={
                "source": [pos[a] for a in tr.source],
                "target": [pos[b] for b in tr.target],
                "value": tr["count"].tolist(),
                "color": [_rgba(colors[a], 0.35) for a in tr.source],
                "customdata": [f"{c:,} moves {human(a)} → {human(b)}" for a, b, c in tr.itertuples(index=False)],
                "hovertemplate": "%{customdata}<extra></extra>",
            },
        )

    return _one_or_two(trace, filters, compare, title or f"Moves between {on}s")


def funnel_figure(f: pd.DataFrame, title: str = "Funnel") -> go.Figure:
    """A plotly funnel of :func:`funnel` output, with conversion from the previous step; steps in words
    (``product_view`` as "product view")."""
    steps = [name_words(n) for n in f["name"]]  # events in words, one case ("purchase" is an event too)
    fig = go.Figure(go.Funnel(
        y=steps, x=f["customers"],  # 12,501 customers, not plotly's "12.501k"
        texttemplate="%{value:,} customers<br>%{percentPrevious:.0%} of the step before<br>"
        "%{percentInitial:.0%} of the first step",
    ))
    fig.update_layout(title=title)
    return fig


def funnel_table(f: pd.DataFrame) -> pd.DataFrame:
    """:func:`funnel` output as a report shows it beside :func:`funnel_figure`: steps in words, days to a tenth
    (a median of 0.00278 days reads as a measurement it is not), without the ``dropped_to`` lists.

    Examples
    --------
    >>> f = pd.DataFrame({"step": [1, 2], "name": ["add_to_cart", "purchase"], "customers": [10, 4],
    ...                   "median_days_from_previous": [None, 0.00278], "dropped_to": [[], []]})
    >>> funnel_table(f)[["name", "median_days_from_previous"]].values.tolist()
    [['add to cart', nan], ['purchase', 0.0]]
    >>> funnel_table(f.assign(median_days_from_previous=[None, None]))["median_days_from_previous"].tolist()
    [nan, nan]
    """
    out = f.drop(columns=["dropped_to"], errors="ignore").assign(name=f["name"].map(name_words))
    days = [c for c in out.columns if str(c).endswith("days_from_previous")]
    # nobody past the first step: the column is all None (object), which has no round
    return out.assign(**{c: pd.to_numeric(out[c], errors="coerce").astype("float64").round(1) for c in days})


#: The journey map's rows in words.
_MAP_ROWS = {
    "customers": "customers who reached it",
    "conversion_to_next": "went on to the next stage",
    "median_days_in_stage": "median days in the stage",
    "top_touchpoints": "top touchpoints",
    "top_channels": "top channels",
    "csat": "CSAT",
    "nps": "NPS",
    "tickets_per_100": "tickets per 100 customers with a touchpoint in it",
    "pain_points": "pain points",
}


#: rows that hold a list of names ("page_view, add_to_cart"): one name a line, in words
_MAP_LISTS = ("top_touchpoints", "top_channels", "pain_points")
_MAP_FONT, _MAP_LINE = 12, 17  # the cells' font size and the height of one line of it, px


def _lines(text: str, chars: int) -> list[str]:
    """``text`` in lines of at most ``chars`` characters, broken at spaces (a longer word is broken too)."""
    return textwrap.wrap(text, chars, break_on_hyphens=False) or [""]


def _map_cell(row: str, v: object, chars: int = 12) -> str:
    """One journey-map cell as text: shares as percentages, counts with separators, blanks for missing, and the
    lists one name a line, wrapped to ``chars`` characters (a plotly table cuts what does not fit its column).

    Examples
    --------
    >>> _map_cell("pain_points", "pre_sale_question, account", chars=10)
    'pre sale<br>question<br>account'
    """
    if v is None or (isinstance(v, float) and pd.isna(v)):
        return ""
    if row == "conversion_to_next":
        return f"{v:.0%}"
    if row == "customers":
        return f"{int(v):,}"
    if row in _MAP_LISTS:
        names = [n.strip().replace("_", " ") for n in str(v).split(",") if n.strip()]
        return "<br>".join(line for n in names for line in _lines(n, chars))
    return "<br>".join(_lines(f"{v}", chars))


def journey_map_figure(jmap: pd.DataFrame, title: str = "Journey map", width: int = _WIDTH_GUESS) -> go.Figure:
    """The journey map as a table figure: stages as columns, buyer journey first.

    Every cell's text is wrapped to its column (sized for a figure ``width`` px wide) and the figure is as tall
    as the wrapped rows, so nothing is cut off at a cell's edge or below the last row.
    """
    rows = jmap.drop(index="journey", errors="ignore")  # the header says it
    weights = [1.6] + [1.0] * len(rows.columns)  # the row names get more room
    col_px = [(width - 20) * w / sum(weights) for w in weights]
    chars = [max(int((px - 10) / 6), 6) for px in col_px]  # about 6 px a character at 12 px
    journey = jmap.loc["journey"] if "journey" in jmap.index else pd.Series("", index=jmap.columns)
    header = ["", *[f"{stage_label(c)}<br><sub>{journey[c]}</sub>" for c in rows.columns]]
    cells = [["<br>".join(_lines(_MAP_ROWS.get(r, r.replace("_", " ")), chars[0])) for r in rows.index]] + [
        [_map_cell(r, v, chars[i + 1]) for r, v in rows[c].items()] for i, c in enumerate(rows.columns)
    ]
    lines = [max(col[k].count("<br>") + 1 for col in cells) for k in range(len(rows.index))]
    table = go.Table(
        columnwidth=weights,
        header={"values": header, "align": "center", "font": {"size": _MAP_FONT}, "height": 2 * _MAP_LINE + 8},
        cells={"values": cells, "align": "left", "font": {"size": _MAP_FONT}, "height": _MAP_LINE + 8},
    )
    fig = go.Figure(table)
    body = sum(n * _MAP_LINE + 10 for n in lines) + 2 * _MAP_LINE + 8
    fig.update_layout(title=title, height=int(body * 1.1) + 90, margin={"t": 60, "b": 10, "l": 10, "r": 10})
    return fig
