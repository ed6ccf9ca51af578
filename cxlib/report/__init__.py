"""Self-contained, privacy-safe HTML reports that open offline.

A :class:`Report` collects sections, prose (Markdown), metrics, plotly figures and tables, and
:meth:`Report.save` writes **one HTML file**: plotly.js inlined once, no request of any kind leaves the
page, a table of contents, the data date, the generation time and the data sources. Tables sort on a
click without a network.

Privacy is on by default. Unless ``include_pii=True``:

- columns that hold direct identifiers (:data:`DIRECT_IDENTIFIERS`: names, emails, phones, street,
  postcode, birth date, raw record and customer ids, free-text comments) are removed from tables;
- e-mail addresses and phone numbers left in any text (prose, table cells, figure labels) are masked;
- any table row or chart element that describes fewer than ``min_group_size`` customers is merged into
  "other" (tables) or left out (charts), and the report says so in its privacy note.

:func:`standard_report` builds the executive report from whatever steps a workspace holds.

Examples
--------
>>> import pandas as pd, plotly.graph_objects as go, tempfile, pathlib
>>> r = Report("Quarterly journey review", as_of="2026-09-30", sources=["crm", "web"])
>>> r.section("Customers")
>>> r.metric("Customers", 12_345, delta="+4% on last quarter")
>>> r.markdown("Most customers arrive through **search**. Contact: jane@example.com")
>>> r.table(pd.DataFrame({"channel": ["search", "social", "tv"], "customers": [900, 120, 3]}))
>>> r.figure(go.Figure(go.Bar(x=["a", "b"], y=[1, 2])), caption="A chart")
>>> path = r.save(pathlib.Path(tempfile.mkdtemp()) / "r.html")
>>> html = path.read_text()
>>> "jane@example.com" in html, html.count("Plotly.newPlot"), "merged into" in html
(False, 1, True)
"""

from __future__ import annotations

import datetime as dt
import functools
import html as _html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import markdown as _markdown
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

__all__ = ["DIRECT_IDENTIFIERS", "COUNT_COLUMNS", "Report", "redact_text", "standard_report"]

#: Column names that hold a direct identifier of a person (or a raw id that leads to one). Removed from
#: every table of a shared report unless ``include_pii=True``. Persona or channel *names* are not here.
DIRECT_IDENTIFIERS: frozenset[str] = frozenset(
    {
        "first_name", "last_name", "full_name", "surname", "forename", "email", "email_norm",
        "email_sha256", "phone", "mobile", "street", "address", "postcode", "birth_date",
        "date_of_birth", "dob", "customer_id", "person_id", "record_id", "record_key", "event_id",
        "order_id", "ticket_id", "response_id", "contact_ref", "anonymous_id", "cookie_id",
        "device_id", "ip", "ip_address", "comment",
    }
)  # fmt: skip

#: Column names read as "number of customers in this row" for small-group suppression (first match wins).
COUNT_COLUMNS: tuple[str, ...] = ("customers", "n_customers", "size", "people", "count", "n")

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# international or national phone numbers: 9+ digits with optional spaces, dots, dashes, brackets
_PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d\s().\-]{7,}\d(?![\w.])")


def redact_text(text: str) -> str:
    """Mask e-mail addresses and phone numbers in free text.

    A phone is a run of at least nine digits, optionally with ``+``, spaces, dots, dashes or brackets;
    shorter numbers, amounts and dates are left alone.

    Examples
    --------
    >>> redact_text("Call +44 7700 900123 or mail a.b@shop.co.uk, order 1,234.50 on 2026-01-02")
    'Call [phone] or mail [email], order 1,234.50 on 2026-01-02'
    """

    def phone(m: re.Match) -> str:
        return "[phone]" if sum(c.isdigit() for c in m.group(0)) >= 9 else m.group(0)

    return _PHONE.sub(phone, _EMAIL.sub("[email]", text))


@dataclass
class _Block:
    kind: str
    html: str
    anchor: str = ""
    title: str = ""


@dataclass
class Report:
    """An offline HTML report, built block by block.

    Parameters
    ----------
    title : str
        Shown at the top and in the browser tab.
    as_of : str, date or None
        The data date: the last day the data describes.
    sources : sequence of str, optional
        The data sources, listed under the title.
    min_group_size : int
        Table rows and chart elements describing fewer customers than this are merged into "other" or
        left out (default 10). ``0`` turns suppression off.
    include_pii : bool
        Keep direct identifiers (default ``False``: they are removed and masked).

    Examples
    --------
    >>> r = Report("Journey review")
    >>> r.section("Overview")
    >>> r.markdown("Hello")
    >>> [b.kind for b in r.blocks]
    ['section', 'markdown']
    """

    title: str
    as_of: Any = None
    sources: Sequence[str] | None = None
    min_group_size: int = 10
    include_pii: bool = False
    blocks: list[_Block] = field(default_factory=list)
    privacy_notes: list[str] = field(default_factory=list)
    _figures: int = 0

    # -- building blocks -------------------------------------------------------------------------------

    def section(self, name: str) -> None:
        """Start a section: a heading and an entry in the table of contents."""
        anchor = f"s{sum(b.kind == 'section' for b in self.blocks) + 1}"
        self.blocks.append(_Block("section", f'<h2 id="{anchor}">{_html.escape(name)}</h2>', anchor, name))

    def markdown(self, text: str) -> None:
        """Add prose written in Markdown (tables and fenced code supported)."""
        if not self.include_pii:
            text = redact_text(text)
        self.blocks.append(_Block("markdown", _markdown.markdown(text, extensions=["tables", "fenced_code"])))

    def metric(self, label: str, value: Any, delta: Any = None) -> None:
        """Add a headline number (a card); consecutive metrics sit side by side."""
        if isinstance(value, int | np.integer):
            shown = f"{int(value):,}"
        elif isinstance(value, float | np.floating):
            shown = f"{float(value):,.2f}" if abs(value) < 100 else f"{float(value):,.0f}"
        else:
            shown = str(value)
        if not self.include_pii:
            label, shown = redact_text(label), redact_text(shown)
            delta = None if delta is None else redact_text(str(delta))
        d = ""
        if delta is not None:
            sign = "neg" if str(delta).lstrip().startswith(("-", "−")) else "pos"
            d = f'<div class="delta {sign}">{_html.escape(str(delta))}</div>'
        self.blocks.append(
            _Block(
                "metric",
                f'<div class="metric"><div class="label">{_html.escape(label)}</div>'
                f'<div class="value">{_html.escape(shown)}</div>{d}</div>',
            )
        )

    def figure(self, fig: go.Figure, caption: str = "", counts: bool = False) -> None:
        """Add a plotly figure, interactive in the page.

        With ``counts=True`` the figure's values are numbers of customers: Sankey links, bars and funnel
        steps under ``min_group_size`` are left out and the privacy note says how many. Text in the
        figure (labels, hover text, titles) has e-mails and phone numbers masked unless ``include_pii``.
        """
        fig = go.Figure(fig)
        if counts and self.min_group_size > 0:
            hidden = _suppress_figure(fig, self.min_group_size)
            if hidden:
                self.privacy_notes.append(
                    f"{hidden} chart element(s) describing fewer than {self.min_group_size} customers were "
                    f"left out of “{caption or _figure_title(fig) or 'a chart'}”."
                )
        spec = fig.to_plotly_json()
        if not self.include_pii:
            spec = _redact_json(spec)
        fig = go.Figure(spec)
        self._figures += 1
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig{self._figures}",
            config={"displaylogo": False, "responsive": True},
        )
        caption = caption if self.include_pii else redact_text(caption)
        cap = f"<figcaption>{_html.escape(caption)}</figcaption>" if caption else ""
        self.blocks.append(_Block("figure", f"<figure>{div}{cap}</figure>"))

    def table(
        self, df: pd.DataFrame, caption: str = "", count: str | None = None, max_rows: int = 200, digits: int = 3
    ) -> None:
        """Add a table, sortable by clicking its headers.

        Direct identifier columns are removed (unless ``include_pii``). ``count`` names the column that
        counts customers (default: the first of :data:`COUNT_COLUMNS` present); rows under
        ``min_group_size`` are merged into one "other" row, which is itself left out if still too small.
        At most ``max_rows`` rows are shown.
        """
        df = df.reset_index(drop=True).copy() if not _has_named_index(df) else df.reset_index()
        if not self.include_pii:
            dropped = [c for c in df.columns if str(c).lower() in DIRECT_IDENTIFIERS]
            if dropped:
                df = df.drop(columns=dropped)
                self.privacy_notes.append(
                    f"Identifier column(s) {', '.join(map(str, dropped))} removed from “{caption or 'a table'}”."
                )
            for c in df.columns:
                if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                    df[c] = df[c].map(lambda v: redact_text(v) if isinstance(v, str) else v)
        if count is None:
            count = next((c for c in COUNT_COLUMNS if c in df.columns), None)
        if count is not None and self.min_group_size > 0 and count in df.columns:
            df, note = _merge_small(df, count, self.min_group_size)
            if note:
                self.privacy_notes.append(f"{note} in “{caption or 'a table'}”.")
        total = len(df)
        shown = df.head(max_rows)
        more = f'<p class="note">First {max_rows:,} of {total:,} rows.</p>' if total > max_rows else ""
        caption = caption if self.include_pii else redact_text(caption)
        cap = f"<caption>{_html.escape(caption)}</caption>" if caption else ""
        head = "".join(f"<th>{_html.escape(str(c))}</th>" for c in shown.columns)
        rows = []
        for rec in shown.itertuples(index=False):
            cells = "".join(_cell(v, digits) for v in rec)
            rows.append(f"<tr>{cells}</tr>")
        self.blocks.append(
            _Block(
                "table",
                f'<div class="tablewrap"><table class="sortable">{cap}<thead><tr>{head}</tr></thead>'
                f"<tbody>{''.join(rows)}</tbody></table></div>{more}",
            )
        )

    # -- output ----------------------------------------------------------------------------------------

    def to_html(self) -> str:
        """The whole page as a string (what :meth:`save` writes)."""
        from plotly.offline import get_plotlyjs

        generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        meta = [f"Generated {generated}"]
        if self.as_of is not None:
            meta.insert(0, f"Data as of {pd.Timestamp(self.as_of).date().isoformat()}")
        if self.sources:
            meta.append("Sources: " + ", ".join(_html.escape(str(s)) for s in self.sources))
        toc = "".join(
            f'<li><a href="#{b.anchor}">{_html.escape(b.title)}</a></li>' for b in self.blocks if b.kind == "section"
        )
        body: list[str] = []
        in_metrics = False
        for b in self.blocks:
            if b.kind == "metric" and not in_metrics:
                body.append('<div class="metrics">')
                in_metrics = True
            elif b.kind != "metric" and in_metrics:
                body.append("</div>")
                in_metrics = False
            body.append(b.html)
        if in_metrics:
            body.append("</div>")
        privacy = self._privacy_html()
        plotly_js = get_plotlyjs() if self._figures else ""
        return _PAGE.format(
            title=_html.escape(self.title),
            meta=" · ".join(meta),
            toc=f'<nav><h2>Contents</h2><ol>{toc}<li><a href="#privacy">Privacy</a></li></ol></nav>' if toc else "",
            body="\n".join(body),
            privacy=privacy,
            css=_CSS,
            plotly=f"<script>{plotly_js}</script>" if plotly_js else "",
            sort_js=_SORT_JS,
        )

    def save(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file (parent folders are created)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_html(), encoding="utf-8")
        return path

    def _privacy_html(self) -> str:
        if self.include_pii:
            lines = [
                "This report <b>includes personal data</b> (built with <code>include_pii</code>). Do not share it."
            ]
        else:
            lines = [
                "Direct identifiers (names, e-mails, phones, addresses, birth dates, raw ids) are not shown.",
            ]
            if self.min_group_size > 0:
                lines.append(
                    f"Groups of fewer than {self.min_group_size} customers are merged into “other” or left out."
                )
        lines += [_html.escape(n) for n in dict.fromkeys(self.privacy_notes)]
        items = "".join(f"<li>{x}</li>" for x in lines)
        return f'<section id="privacy"><h2>Privacy</h2><ul>{items}</ul></section>'


# -- privacy helpers ---------------------------------------------------------------------------------


def _has_named_index(df: pd.DataFrame) -> bool:
    return any(n is not None for n in df.index.names)


def _merge_small(df: pd.DataFrame, count: str, k: int) -> tuple[pd.DataFrame, str]:
    """Rows with ``count < k`` merged into one "other" row (counts summed, other numbers blanked)."""
    n = pd.to_numeric(df[count], errors="coerce")
    small = n < k
    if not small.any():
        return df, ""
    keep, rest = df[~small], df[small]
    other: dict[str, Any] = {}
    for c in df.columns:
        if c == count or str(c) in COUNT_COLUMNS:
            other[c] = pd.to_numeric(rest[c], errors="coerce").sum()
        elif pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            other[c] = np.nan
        else:
            other[c] = f"other ({len(rest)} groups under {k})"
    note = f"{len(rest)} row(s) describing fewer than {k} customers merged into “other”"
    if other[count] < k:
        note = f"{len(rest)} row(s) describing fewer than {k} customers left out"
        return keep.reset_index(drop=True), note
    merged = pd.concat([keep, pd.DataFrame([other])], ignore_index=True)
    return merged, note


def _suppress_figure(fig: go.Figure, k: int) -> int:
    """Leave out Sankey links, bars and funnel steps with values under ``k``; returns how many."""
    hidden = 0
    for tr in fig.data:
        if tr.type == "sankey" and tr.link is not None and tr.link.value is not None:
            v = np.asarray(tr.link.value, dtype=float)
            ok = v >= k
            hidden += int((~ok).sum())
            if not ok.all():
                link = tr.link.to_plotly_json()
                for key in ("source", "target", "value", "label", "color", "customdata"):
                    if link.get(key) is not None and np.ndim(link[key]) == 1 and len(link[key]) == len(v):
                        link[key] = [x for x, keep in zip(link[key], ok, strict=True) if keep]
                tr.link = link
        elif tr.type in ("bar", "funnel"):
            axis = "x" if getattr(tr, "orientation", None) == "h" else "y"
            vals = getattr(tr, axis)
            if vals is None:
                continue
            v = pd.to_numeric(pd.Series(list(vals)), errors="coerce")
            small = (v < k) & v.notna() & (v > 0)
            hidden += int(small.sum())
            if small.any():
                setattr(tr, axis, [None if s else x for x, s in zip(vals, small, strict=True)])
                if tr.text is not None and np.ndim(tr.text) == 1 and len(tr.text) == len(v):
                    tr.text = ["" if s else t for t, s in zip(tr.text, small, strict=True)]
    return hidden


def _redact_json(obj: Any) -> Any:
    if isinstance(obj, str):
        return redact_text(obj)
    if isinstance(obj, dict):
        return {k: _redact_json(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_redact_json(v) for v in obj]
    if isinstance(obj, np.ndarray) and obj.dtype == object:
        return np.array([_redact_json(v) for v in obj], dtype=object)
    return obj


def _figure_title(fig: go.Figure) -> str:
    t = fig.layout.title
    return str(t.text) if t is not None and t.text else ""


def _cell(v: Any, digits: int) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return '<td data-v=""></td>'
    if isinstance(v, bool | np.bool_):
        return f"<td>{'yes' if v else 'no'}</td>"
    if isinstance(v, int | np.integer):
        return f'<td class="num" data-v="{int(v)}">{int(v):,}</td>'
    if isinstance(v, float | np.floating):
        f = float(v)
        shown = f"{f:,.0f}" if abs(f) >= 1000 else f"{f:,.{digits}g}" if abs(f) < 1 else f"{f:,.2f}"
        return f'<td class="num" data-v="{f!r}">{shown}</td>'
    if isinstance(v, pd.Timestamp | dt.date):
        s = pd.Timestamp(v).strftime("%Y-%m-%d") if pd.Timestamp(v) == pd.Timestamp(v).normalize() else str(v)
        return f'<td data-v="{_html.escape(s)}">{_html.escape(s)}</td>'
    if isinstance(v, list | tuple | np.ndarray):
        v = ", ".join(map(str, v))
    return f"<td>{_html.escape(str(v))}</td>"


# -- the standard executive report -------------------------------------------------------------------


def standard_report(
    workspace: Any,
    *,
    title: str = "Customer journey report",
    include_pii: bool = False,
    min_group_size: int = 10,
    sections: Iterable[str] | None = None,
    progress: bool = False,
) -> Report:
    """The executive report of a workspace, built from whatever steps it holds.

    It opens with **At a glance**, one headline from each section that had something to say. Sections (each
    only when its step has run; otherwise a line says which command adds it): ``customers`` (sources and
    unified customers), ``personas``, ``journeys`` (stages now and over time, Sankey, funnel, drop-off
    diagnosis), ``strategy`` (scenario comparison and fan chart) and ``attribution``.

    Parameters
    ----------
    workspace : folder, ``.duckdb`` file or :class:`cxlib.engine.Workspace`
    include_pii, min_group_size : see :class:`Report`
    sections : iterable of str, optional
        A subset of the sections above, in the order given.
    progress : bool
        Show a progress bar over the sections.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from cxlib import io, synth
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = synth.write_company(d, n_customers=300, seed=3, progress=False)
    >>> _ = io.load(d)
    >>> r = standard_report(d, sections=["customers"])
    >>> [b.title for b in r.blocks if b.kind == "section"]
    ['Customers and sources']
    """
    from tqdm.auto import tqdm

    from cxlib.engine import Workspace, connect

    ws = workspace if isinstance(workspace, Workspace) else connect(workspace, read_only=True)
    by_source = ws.rows_by_source()  # one scan of every table, shared by the header and the customers section
    builders = {
        "customers": functools.partial(_customers_section, by_source=by_source),
        "personas": _personas_section,
        "journeys": _journeys_section,
        "strategy": _strategy_section,
        "attribution": _attribution_section,
    }
    chosen = list(sections) if sections is not None else list(builders)
    unknown = [s for s in chosen if s not in builders]
    if unknown:
        raise ValueError(f"unknown report section(s) {unknown}; choose from {list(builders)}")
    summary = ws.summary()
    last = pd.to_datetime(summary["last_ts"]).max() if len(summary) else None
    sources = sorted(by_source["source"].astype(str).unique())
    report = Report(
        title,
        as_of=None if last is None or pd.isna(last) else last,
        sources=sources,
        min_group_size=min_group_size,
        include_pii=include_pii,
    )
    glance: list[str] = []  # one headline per section, gathered into "At a glance" at the top
    for name in tqdm(chosen, desc="report", unit="section", disable=not progress):
        builders[name](ws, report, glance)
    if glance:
        start = len(report.blocks)
        report.section("At a glance")
        report.markdown("\n".join(f"- {line}" for line in glance))
        head = report.blocks[start:]
        del report.blocks[start:]
        report.blocks[:0] = head
    return report


def _missing(report: Report, what: str, command: str) -> None:
    report.markdown(f"*No {what} in this workspace yet: run `{command}` to add this section.*")


def _customers_section(ws: Any, r: Report, glance: list[str], by_source: pd.DataFrame) -> None:
    r.section("Customers and sources")
    r.metric("Source records", int(by_source["rows"].sum()))
    r.metric("Source systems", int(by_source["source"].nunique()))
    if not ws.has("customers"):
        r.table(by_source, "Source records by table and system")
        _missing(r, "unified customers", "cx unify FOLDER")
        return
    cust = ws.table("customers")
    known = cust.filter(~cust.is_anonymous)
    counts = known.aggregate(customers=known.count(), multi=(known.sources.length() > 1).sum()).to_pandas()
    n = int(counts["customers"].iloc[0])
    multi = int(counts["multi"].iloc[0] or 0)
    r.metric("Known customers", n)
    if n:
        glance.append(
            f"**{n:,}** known customers across {by_source['source'].nunique()} systems; "
            f"{multi / n:.0%} of them are known to more than one system."
        )
    r.metric("Known to more than one system", f"{multi / n:.0%}" if n else "–")
    links = ws.table("identity_links")
    rules = links.group_by("rule").aggregate(records=links.count()).order_by(ibis.desc("records")).to_pandas()
    r.markdown(
        "One customer per real person, resolved across every system: each source record is linked to exactly "
        "one customer, by a shared identifier or a probabilistic match on name, birth date and address."
    )
    r.table(by_source, "Source records by table and system")
    r.table(rules, "How records were linked (rule)")
    from cxlib.unify import source_overlap

    ov = source_overlap(ws).pivot(index="source_a", columns="source_b", values="customers").fillna(0)
    ov = ov.astype("int64")
    if r.min_group_size > 0:
        ov = ov.mask(ov < r.min_group_size, 0)
    ov.index.name = "customers known to"
    r.table(ov, "Which systems know which customers (customers in both)")


def _personas_section(ws: Any, r: Report, glance: list[str]) -> None:
    r.section("Personas")
    if not ws.has("personas"):
        _missing(r, "personas", "cx personas FOLDER")
        return
    p = ws.table("personas")
    df = (
        p.group_by(["persona", "persona_name"])
        .aggregate(
            customers=p.count(),
            mean_value=p.value.mean(),
            revenue=p.value.sum(),
            high_value=(p.value_tier == "high").sum(),
        )
        .order_by("persona")
        .to_pandas()
    )
    total_rev = df["revenue"].sum()
    df["share"] = df["customers"] / df["customers"].sum()
    df["revenue_share"] = df["revenue"] / total_rev if total_rev else np.nan
    df = df[["persona_name", "customers", "share", "mean_value", "revenue_share", "high_value"]]
    best = df[df["customers"] >= max(r.min_group_size, 1)].sort_values("revenue_share", ascending=False)
    if len(best):
        top = best.iloc[0]
        glance.append(
            f"The most valuable persona is **{top['persona_name']}**: {top['share']:.0%} of customers, "
            f"{top['revenue_share']:.0%} of revenue."
        )
        r.markdown(
            f"**{top['persona_name']}** is the most valuable persona: {top['share']:.0%} of customers and "
            f"{top['revenue_share']:.0%} of revenue. High-value customers are the top tier by observed value."
        )
    r.table(df, "Personas: size, value and high-value customers")
    fig = go.Figure(go.Bar(x=df["persona_name"], y=df["customers"], text=df["customers"], name="customers"))
    fig.update_layout(title="Customers per persona", yaxis_title="customers")
    r.figure(fig, "Customers per persona", counts=True)


def _journeys_section(ws: Any, r: Report, glance: list[str]) -> None:
    from cxlib import journeys as jr

    r.section("Journeys")
    if not ws.has("touchpoints"):
        _missing(r, "touchpoints", "cx unify FOLDER")
        return
    if ws.has("customer_stages"):
        cs = ws.table("customer_stages")
        now = cs.group_by("stage").aggregate(customers=cs.count()).to_pandas()
    else:
        now = None
    # the workspace's stage_map.yml applies, as in `cx journeys`; staged inside the workspace (a temporary
    # table within its memory limit), not in memory: a report may be of millions of customers
    staged = jr.staged_touchpoints(ws, in_memory=False)
    try:
        _journeys_views(ws, r, glance, staged, now)
    finally:
        ws.drop_scratch()  # the staged copy


def _journeys_views(ws: Any, r: Report, glance: list[str], staged: Any, now: pd.DataFrame | None) -> None:
    """The journeys section's figures and tables, from the staged touchpoints."""
    from cxlib import journeys as jr
    from cxlib.schema import STAGES

    if now is None:
        now = jr.current_stage(staged)["stage"].value_counts().rename("customers").reset_index()
    now = now.set_index("stage").reindex(list(STAGES), fill_value=0).reset_index()
    fig = go.Figure(go.Bar(x=now["stage"], y=now["customers"], text=now["customers"]))
    fig.update_layout(title="Where customers are now", yaxis_title="customers")
    r.markdown(
        "Every touchpoint is mapped to a stage: the buyer journey before the first purchase, the "
        "customer journey after it."
    )
    r.figure(fig, "Customers at each stage now", counts=True)
    if ws.has("stage_history"):
        h = ws.table("stage_history")
        hist = h.group_by(["month", "stage"]).aggregate(customers=h.count()).to_pandas()
        wide = hist.pivot(index="month", columns="stage", values="customers").reindex(columns=list(STAGES))
        wide = wide.fillna(0).sort_index()
        if r.min_group_size > 0:
            wide = wide.mask(wide < r.min_group_size, 0)
        r.figure(jr.stage_counts_figure(wide), "Customers at each stage, month by month")
    r.figure(
        jr.sankey(staged, on="stage", align="stage", title="Moves between stages"),
        "How customers move between journey stages",
        counts=True,
    )
    events = set(staged.select("event").distinct().to_pandas()["event"].astype(str))
    steps = [s for s in ("product_view", "add_to_cart", "checkout_start", "purchase") if s in events]
    if len(steps) >= 2:
        f = jr.funnel(staged, steps)
        r.figure(jr.funnel_figure(f, "Purchase funnel"), "Purchase funnel", counts=True)
        r.table(f.drop(columns=["dropped_to"], errors="ignore"), "Funnel steps")
    d = jr.diagnose_dropoff(staged)
    sf, mk = d.set_index("branch").loc["service failure"], d.set_index("branch").loc["marketing only"]
    glance.append(
        f"Of those who considered and did not buy, {sf['share']:.0%} had an unresolved pre-sale question; they "
        f"converted at {sf['conversion']:.0%} against {mk['conversion']:.0%} without one"
        + (f" (about {sf['excess_dropoffs']:,.0f} lost first purchases)." if sf["excess_dropoffs"] > 0 else ".")
    )
    r.markdown("**Why did they not buy?** " + jr.dropoff_verdict(d))
    r.table(d, "Drop-off diagnosis: service failure vs marketing")


def _strategy_section(ws: Any, r: Report, glance: list[str]) -> None:
    from cxlib import simulate as sim

    r.section("Strategy")
    if not ws.has("scenarios"):
        _missing(r, "scenarios", "cx simulate FOLDER")
        return
    results = ws.table("scenarios").to_pandas()
    ranked = sim.compare(results)
    months = int(results["month"].max())
    if len(ranked):
        top = ranked.iloc[0]
        glance.append(
            f"Of the strategies simulated, **{top['scenario']}** adds the most revenue over {months} months: "
            f"{top['gain']:,.0f} (5–95%: {top['gain_p5']:,.0f} to {top['gain_p95']:,.0f})."
        )
        r.markdown(
            f"Over {months} months, **{top['scenario']}** adds the most revenue: "
            f"{top['gain']:,.0f} (5–95%: {top['gain_p5']:,.0f} to {top['gain_p95']:,.0f}). "
            "Scenarios are simulated on the journey model fitted from the data, with its uncertainty."
        )
    r.table(ranked, f"Scenarios ranked by revenue gain over {months} months")
    r.figure(sim.fan_chart(results, "cumulative_revenue"), "Cumulative revenue gain over baseline, with 5–95% bands")


def _attribution_section(ws: Any, r: Report, glance: list[str]) -> None:
    from cxlib import attribution as at

    r.section("Attribution")
    if not ws.has("touchpoints"):
        _missing(r, "touchpoints", "cx unify FOLDER")
        return
    from cxlib.journeys import analysis_touchpoints

    paths = at.paths_from_touchpoints(analysis_touchpoints(ws))
    if paths.empty or paths["conversions"].sum() == 0:
        r.markdown("*No converting paths to attribute.*")
        return
    comp = at.compare(paths)
    r.markdown(
        "Revenue attributed to the channels that touched customers in the 30 days before a purchase, by "
        "several models. Attribution is association, not causal effect: use the measured uplift of a "
        "randomised campaign for the causal answer."
    )
    r.figure(at.compare_figure(comp), "Attributed revenue by channel and model")
    wide = comp.pivot_table(index="channel", columns="model", values="value", aggfunc="sum").reset_index()
    wide.columns.name = None
    r.table(wide, "Attributed revenue by channel (columns: models)")


# -- page template -----------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:1.5rem;
color:#1f2933;line-height:1.45}
header h1{margin-bottom:.2rem} .meta{color:#52606d;font-size:.9rem}
nav{background:#f5f7fa;border-radius:6px;padding:.5rem 1rem;margin:1rem 0} nav h2{font-size:1rem;margin:.3rem 0}
h2{border-bottom:1px solid #e4e7eb;padding-bottom:.2rem;margin-top:2rem}
.metrics{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.metric{border:1px solid #e4e7eb;border-radius:6px;padding:.6rem 1rem;min-width:10rem}
.metric .label{color:#52606d;font-size:.85rem}.metric .value{font-size:1.6rem;font-weight:600}
.delta.pos{color:#1b7f3b}.delta.neg{color:#b42318}
figure{margin:1rem 0} figcaption{color:#52606d;font-size:.9rem}
.tablewrap{overflow-x:auto;margin:1rem 0} table{border-collapse:collapse;font-size:.9rem}
caption{text-align:left;color:#52606d;padding:.3rem 0} th,td{border-bottom:1px solid #e4e7eb;padding:.3rem .6rem}
th{cursor:pointer;background:#f5f7fa;text-align:left;user-select:none} th:after{content:" \\2195";color:#9aa5b1}
td.num{text-align:right;font-variant-numeric:tabular-nums} .note{color:#52606d;font-size:.85rem}
#privacy{font-size:.9rem;color:#3e4c59}
"""

_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function(t){
  t.querySelectorAll("th").forEach(function(th,i){
    th.addEventListener("click",function(){
      var body=t.tBodies[0], rows=Array.prototype.slice.call(body.rows);
      var asc=th.getAttribute("data-dir")!=="asc";
      t.querySelectorAll("th").forEach(function(h){h.removeAttribute("data-dir")});
      th.setAttribute("data-dir",asc?"asc":"desc");
      function key(r){var c=r.cells[i];var v=c.hasAttribute("data-v")?c.getAttribute("data-v"):c.textContent;
        var n=parseFloat(v);return (v!==""&&!isNaN(n)&&isFinite(v))?n:v.toLowerCase();}
      rows.sort(function(a,b){var x=key(a),y=key(b);
        if(typeof x!==typeof y){return (typeof x==="number"?-1:1)*(asc?1:-1);}
        return (x<y?-1:x>y?1:0)*(asc?1:-1);});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline' 'unsafe-eval'; \
style-src 'unsafe-inline'; img-src data: blob:; font-src data:">
<title>{title}</title><style>{css}</style>{plotly}</head>
<body><header><h1>{title}</h1><div class="meta">{meta}</div></header>
{toc}
<main>
{body}
</main>
{privacy}
<script>{sort_js}</script>
</body></html>
"""
