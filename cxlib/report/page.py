"""The page: a :class:`Report` built block by block and written as one self-contained HTML file.

The page's template, style sheet and table-sorting script are package data (``cxlib/report/assets``); plotly.js
is inlined once when the page has a figure, so the file opens offline and requests nothing.

Examples
--------
>>> r = Report("Journey review", as_of="2026-09-30")
>>> r.section("Overview")
>>> r.metric("Customers", 1234)
>>> html = r.to_html()
>>> "Data as of 2026-09-30" in html, '<div class="value">1,234</div>' in html, "Plotly" in html
(True, True, False)
"""

from __future__ import annotations

import datetime as dt
import functools
import html as _html
from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import markdown as _markdown
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from cxlib.metrics import raw as _raw
from cxlib.report.personal import PersonalTerms
from cxlib.report.privacy import (
    COUNT_COLUMNS,
    DIRECT_IDENTIFIERS,
    _blank_small_cells,
    _has_named_index,
    _left_out_note,
    _merge_small,
    _suppress_figure,
    map_strings,
    redact_text,
)
from cxlib.schema import column_label

__all__ = ["Report"]


@functools.cache
def _asset(name: str) -> str:
    """A file of the page's package data: ``page.html`` (the template), ``page.css``, ``sort.js``."""
    return resources.files("cxlib.report").joinpath("assets", name).read_text(encoding="utf-8")


class _SafeLinks(_markdown.treeprocessors.Treeprocessor):
    """Links to the web, e-mail and the page itself only (no ``javascript:``), and no images (an offline page
    requests nothing): an image becomes its alt text."""

    def run(self, root: Any) -> None:
        for parent in root.iter():
            for el in list(parent):
                if el.tag == "img":
                    i = list(parent).index(el)
                    parent.remove(el)
                    alt = el.get("alt") or ""
                    if i == 0:
                        parent.text = (parent.text or "") + alt + (el.tail or "")
                    else:
                        prev = parent[i - 1]
                        prev.tail = (prev.tail or "") + alt + (el.tail or "")
                elif el.tag == "a" and not el.get("href", "").strip().lower().startswith(_SAFE_LINKS):
                    el.set("href", "#")


_SAFE_LINKS = ("http://", "https://", "mailto:", "#")


def _safe_markdown(text: str) -> str:
    """Markdown (tables, fenced code) to HTML that shows any HTML in ``text`` as text: raw tags, character
    references (``&#64;``) and ``javascript:`` links of a value from the data (a currency, a channel's name) are
    written out, never run or decoded.

    Examples
    --------
    >>> _safe_markdown("**<img src=x onerror=alert(1)>** jane&#64;example.com")
    '<p><strong>&lt;img src=x onerror=alert(1)&gt;</strong> jane&amp;#64;example.com</p>'
    >>> _safe_markdown("[x](javascript:alert(1)) [docs](https://example.org)")
    '<p><a href="#">x</a> <a href="https://example.org">docs</a></p>'
    """
    md = _markdown.Markdown(extensions=["tables", "fenced_code"])
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.inlinePatterns.deregister("entity")
    md.treeprocessors.register(_SafeLinks(md), "cx_safe_links", 0)
    # every "&" kept out of markdown's reach (it passes character references through) and written as "&amp;"
    return md.convert(text.replace(_AMP, "").replace("&", _AMP)).replace(_AMP, "&amp;")


_AMP = "\ue000"  # a private-use character: an "&" of the text while markdown converts it


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
    personal: PersonalTerms = field(default_factory=PersonalTerms)
    blocks: list[_Block] = field(default_factory=list)
    privacy_notes: list[str] = field(default_factory=list)
    #: The named headline numbers the page shows: metric name -> (label, definition), listed in its appendix.
    definitions: dict[str, tuple[str, str]] = field(default_factory=dict)
    _refs: dict[str, str] = field(default_factory=dict)
    _figures: int = 0

    # -- building blocks -------------------------------------------------------------------------------

    def _redact(self, text: str) -> str:
        """``text`` with e-mails, phones and the workspace's own names, streets and postcodes masked."""
        return self.personal.redact(redact_text(text))

    def _redact_cell(self, v: Any) -> Any:
        """A table cell with :meth:`_redact` applied: text, or a list of values shown joined (as :func:`_cell`
        shows it); anything else as it is."""
        if isinstance(v, list | tuple | np.ndarray):
            v = ", ".join(map(str, v))
        return self._redact(v) if isinstance(v, str) else v

    def section(self, name: str) -> None:
        """Start a section: a heading and an entry in the table of contents."""
        name = name if self.include_pii else self._redact(name)
        anchor = f"s{sum(b.kind == 'section' for b in self.blocks) + 1}"
        self.blocks.append(_Block("section", f'<h2 id="{anchor}">{_html.escape(name)}</h2>', anchor, name))

    def markdown(self, text: str) -> None:
        """Add prose written in Markdown (tables and fenced code supported).

        Tokens from :meth:`number` in ``text`` become the named numbers they stand for.
        """
        if not self.include_pii:
            text = self._redact(text)
        out = _safe_markdown(text)
        for token, span in self._refs.items():
            out = out.replace(token, span)
        self.blocks.append(_Block("markdown", out))

    def _named(self, name: str, raw: Any, label: str, definition: str) -> str:
        """The attributes of a named headline number (``data-metric``, ``data-value``, its definition on hover);
        the definition also goes to the page's appendix."""
        if not self.include_pii:
            label, definition = self._redact(label), self._redact(definition)
        self.definitions.setdefault(name, (label, definition))
        return (
            f' data-metric="{_html.escape(name)}" data-value="{_raw(raw)}" title="{_html.escape(definition)}"'
        )

    def number(self, name: str, raw: Any, shown: str, label: str = "", definition: str = "") -> str:
        """A named headline number for :meth:`markdown` text: a token the text carries, shown as ``shown``.

        In the page it is ``<span data-metric=NAME data-value=RAW title=DEFINITION>``, with the definition in
        the appendix. The raw number goes in after the text is redacted, so that masking cannot touch it.

        Examples
        --------
        >>> r = Report("x")
        >>> r.markdown(f"We know {r.number('customers_known', 14064, '14,064', 'Known customers', 'Not anonymous.')}.")
        >>> 'data-metric="customers_known" data-value="14064"' in r.blocks[0].html
        True
        """
        attrs = self._named(name, raw, label or name, definition)
        token = f"\u27e6{len(self._refs)}\u27e7"
        self._refs[token] = f'<span class="metric-ref"{attrs}>{_html.escape(shown)}</span>'
        return token

    def metric(
        self,
        label: str,
        value: Any,
        delta: Any = None,
        *,
        name: str | None = None,
        raw: Any = None,
        definition: str = "",
    ) -> None:
        """Add a headline number (a card); consecutive metrics sit side by side.

        With ``name`` (a :mod:`cxlib.metrics` name) the card carries ``data-metric="NAME"`` and
        ``data-value="RAW"`` (``raw``, default ``value``), shows ``definition`` on hover and lists it in the
        page's appendix.
        """
        if isinstance(value, int | np.integer):
            shown = f"{int(value):,}"
        elif isinstance(value, float | np.floating):
            shown = f"{float(value):,.2f}" if abs(value) < 100 else f"{float(value):,.0f}"
        else:
            shown = str(value)
        if not self.include_pii:
            label, shown = self._redact(label), self._redact(shown)
            delta = None if delta is None else self._redact(str(delta))
        attrs = "" if name is None else self._named(name, value if raw is None else raw, label, definition)
        d = ""
        if delta is not None:
            sign = "neg" if str(delta).lstrip().startswith(("-", "−")) else "pos"
            d = f'<div class="delta {sign}">{_html.escape(str(delta))}</div>'
        self.blocks.append(
            _Block(
                "metric",
                f'<div class="metric"{attrs}><div class="label">{_html.escape(label)}</div>'
                f'<div class="value">{_html.escape(shown)}</div>{d}</div>',
            )
        )

    def figure(self, fig: go.Figure, caption: str = "", counts: bool = False) -> None:
        """Add a plotly figure, interactive in the page.

        With ``counts=True`` the figure's values are numbers of customers: Sankey links, bars, funnel
        steps and points of lines under ``min_group_size`` are left out and the privacy note says how many. Text in the
        figure (labels, hover text, titles) has e-mails and phone numbers masked unless ``include_pii``.
        """
        fig = go.Figure(fig)
        if counts and self.min_group_size > 0:
            hidden = _suppress_figure(fig, self.min_group_size)
            if hidden:
                what = caption or _figure_title(fig) or "a chart"
                self.privacy_notes.append(_left_out_note(hidden, self.min_group_size, what))
        if _empty_sankey(fig):  # no flow at all, or none left after the above: a blank box says nothing
            what = _html.escape(self._redact(caption or _figure_title(fig) or "The flow chart"))
            small = f" of at least {self.min_group_size} customers" if counts and self.min_group_size > 0 else ""
            self.blocks.append(_Block("markdown", f"<p><em>{what}: no flow{small} to draw.</em></p>"))
            return
        spec = fig.to_plotly_json()
        if not self.include_pii:  # every string, in lists and in the arrays plotly keeps columns as
            spec = map_strings(spec, self._redact)
        fig = go.Figure(spec)
        self._figures += 1
        div = pio.to_html(
            fig,
            full_html=False,
            include_plotlyjs=False,
            div_id=f"fig{self._figures}",
            config={"displaylogo": False, "responsive": True},
        )
        caption = caption if self.include_pii else self._redact(caption)
        cap = f"<figcaption>{_html.escape(caption)}</figcaption>" if caption else ""
        self.blocks.append(_Block("figure", f"<figure>{div}{cap}</figure>"))

    def table(
        self,
        df: pd.DataFrame,
        caption: str = "",
        count: str | None = None,
        max_rows: int = 200,
        digits: int = 3,
        percent: Sequence[str] | None = None,
        money: Sequence[str] = (),
        whole: Sequence[str] = (),
        people: Sequence[str] = (),
    ) -> None:
        """Add a table, sortable by clicking its headers.

        Direct identifier columns are removed (unless ``include_pii``). ``count`` names the column that
        counts customers (default: the first of :data:`COUNT_COLUMNS` present); rows under
        ``min_group_size`` are merged into one "other" row, which is itself left out if still too small.
        At most ``max_rows`` rows are shown. ``percent`` columns (default: those named as shares,
        :func:`is_share`) show their numbers as percentages (``0.468`` as ``46.8%``; sorting keeps the number).
        ``money`` columns show whole amounts, as the pages show them (not ``779.71`` beside ``16,487``); ``whole``
        columns whole numbers too (customers a month: ``556``, not ``556.00``). ``people``: further columns whose
        every cell counts customers (a cross-table of systems), each under ``min_group_size`` shown as "fewer than k".
        """
        df = df.reset_index(drop=True).copy() if not _has_named_index(df) else df.reset_index()
        df = df.assign(**{c: df[c].round().astype("Int64") for c in (*money, *whole) if c in df.columns})
        if not self.include_pii:
            dropped = [c for c in df.columns if str(c).lower() in DIRECT_IDENTIFIERS]
            if dropped:
                df = df.drop(columns=dropped)
                self.privacy_notes.append(
                    f"Identifier column(s) {', '.join(map(str, dropped))} removed from “{caption or 'a table'}”."
                )
            for c in df.columns:
                if df[c].dtype == object or pd.api.types.is_string_dtype(df[c]):
                    df[c] = df[c].map(self._redact_cell)
            df.columns = [self._redact(str(c)) for c in df.columns]
        if count is None:  # a named count column, else any column that counts customers by its name
            count = next((c for c in COUNT_COLUMNS if c in df.columns), None) or next(
                (c for c in df.columns if str(c).lower().endswith("customers")), None
            )
        if count is not None and self.min_group_size > 0 and count in df.columns:
            df, note = _merge_small(df, count, self.min_group_size)
            if note:
                self.privacy_notes.append(f"{note} in “{caption or 'a table'}”.")
        if self.min_group_size > 0:  # a row's other counts of people: 3 of a row's 40 is a small group too
            df, cells = _blank_small_cells(df, count, self.min_group_size, people)
            if cells:
                self.privacy_notes.append(f"{cells} cell(s) counting fewer than {self.min_group_size} customers "
                                          f"shown as “fewer than {self.min_group_size}” in “{caption or 'a table'}”.")
        total = len(df)
        shown = df.head(max_rows)
        more = f'<p class="note">First {max_rows:,} of {total:,} rows.</p>' if total > max_rows else ""
        caption = caption if self.include_pii else self._redact(caption)
        cap = f"<caption>{_html.escape(caption)}</caption>" if caption else ""
        head = "".join(f"<th>{_html.escape(column_label(c))}</th>" for c in shown.columns)  # gain_p5: "gain, low (5%)"
        pct = [is_share(c, shown[c]) if percent is None else c in percent for c in shown.columns]
        # a float column of whole numbers (a count with a blank in a merged row) reads 12, not 12.00, as on the pages
        whole = [not p and whole_floats(shown[c]) for c, p in zip(shown.columns, pct, strict=True)]
        rows = []
        for rec in shown.itertuples(index=False):
            cells = "".join(
                _percent_cell(v) if p else _cell(int(v) if w and pd.notna(v) else v, digits)
                for v, p, w in zip(rec, pct, whole, strict=True)
            )
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
            shown = [str(s) if self.include_pii else self._redact(str(s)) for s in self.sources]
            meta.append("Sources: " + ", ".join(_html.escape(s) for s in shown))
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
        privacy = self._definitions_html() + self._privacy_html()
        defs = '<li><a href="#definitions">Definitions of the numbers</a></li>' if self.definitions else ""
        privacy_li = '<li><a href="#privacy">Privacy</a></li>'
        plotly_js = get_plotlyjs() if self._figures else ""
        return _asset("page.html").format(
            title=_html.escape(self.title if self.include_pii else self._redact(self.title)),
            meta=" · ".join(meta),
            toc=f'<nav><h2>Contents</h2><ol>{toc}{defs}{privacy_li}</ol></nav>' if toc else "",
            body="\n".join(body),
            privacy=privacy,
            css=_asset("page.css"),
            plotly=f"<script>{plotly_js}</script>" if plotly_js else "",
            sort_js=_asset("sort.js"),
        )

    def save(self, path: str | Path) -> Path:
        """Write the report as one self-contained HTML file (parent folders are created).

        Written beside it under a temporary name, then renamed over it: a full disk or an interrupted write
        leaves the earlier report whole (it was cut off mid-text) and no partial file. A full disk is a
        :class:`~cxlib.schema.DataError` that says so."""
        import errno
        import os
        import tempfile

        from cxlib.schema import DataError

        path = Path(path)
        html = self.to_html()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        except OSError as e:
            raise DataError(f"{path}: cannot write the report there ({e.strerror}); give another --out") from None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(html)
            os.chmod(tmp, 0o666 & ~_umask())  # as a file written in place gets it (mkstemp's is the owner's alone)
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            room = " (the disk is full: free some room)" if e.errno == errno.ENOSPC else ""
            raise DataError(f"{path}: the report could not be written ({e.strerror}){room}; an earlier report "
                            "there is unchanged") from None  # fmt: skip
        return path

    def _definitions_html(self) -> str:
        """The appendix: each named number the page shows, with its definition (one hover or one click away)."""
        if not self.definitions:
            return ""
        items = "".join(
            f'<dt id="def-{_html.escape(name)}"><b>{_html.escape(label)}</b> <code>{_html.escape(name)}</code></dt>'
            f"<dd>{_html.escape(definition)}</dd>"
            for name, (label, definition) in self.definitions.items()
        )
        style = "<style>.metric-ref,[data-metric]{cursor:help}.metric-ref{border-bottom:1px dotted}</style>"
        return (
            f'<section id="definitions">{style}<h2>Definitions of the numbers</h2>'
            "<p>Each headline number in this report is a named metric (<code>cxlib.metrics</code>); hover a "
            f"number to read its definition. The app shows the same numbers.</p><dl>{items}</dl></section>"
        )

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
        notes = dict.fromkeys(n if self.include_pii else self._redact(n) for n in self.privacy_notes)  # captions
        lines += [_html.escape(n) for n in notes]
        items = "".join(f"<li>{x}</li>" for x in lines)
        return f'<section id="privacy"><h2>Privacy</h2><ul>{items}</ul></section>'


def _empty_sankey(fig: go.Figure) -> bool:
    """Whether ``fig`` is a Sankey with no link to draw (none at all, or every one left out as too small).

    Examples
    --------
    >>> _empty_sankey(go.Figure(go.Sankey(node={"label": []}, link={"source": [], "target": [], "value": []})))
    True
    >>> _empty_sankey(go.Figure(go.Sankey(link={"source": [0], "target": [1], "value": [5]})))
    False
    """
    traces = [t for t in fig.data if t.type == "sankey"]
    return bool(traces) and all(not len(t.link.value if t.link.value is not None else ()) for t in traces)


def _figure_title(fig: go.Figure) -> str:
    t = fig.layout.title
    return str(t.text) if t is not None and t.text else ""


def is_share(column: Any, values: pd.Series | None = None) -> bool:
    """Whether a column holds shares (shown as percentages): named ``error`` or ``pct_error`` (a forecast's
    error, as a share of what happened), or named ``share``, ``conversion``, ``conversion_...``, ``..._share``
    or ``..._rate`` with every number between 0 and 1 (``values``, when given: ``order_rate`` 2.5 a month is
    no share).

    >>> [is_share(c) for c in ("share", "conversion_from_start", "repeat_rate", "conversions", "lift")]
    [True, True, True, False, False]
    >>> is_share("order_rate", pd.Series([0.5, 2.5]))
    False
    """
    c = str(column).lower()
    if c in ("error", "pct_error"):
        return True
    if not (c in ("share", "conversion") or c.startswith("conversion_") or c.endswith(("_share", "_rate"))):
        return False
    if values is None:
        return True
    x = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(x)) and bool(x.between(0, 1).all())


def _percent_cell(v: Any) -> str:
    """A share as a percentage (``46.8%``; ``0.28%`` under one percent), the number kept for sorting."""
    if not isinstance(v, float | np.floating | int | np.integer) or isinstance(v, bool | np.bool_):
        return _cell(v, 3)
    f = float(v)
    if np.isnan(f):
        return _cell(v, 3)
    shown = f"{f:.1%}" if abs(f) >= 0.01 or f == 0 else f"{f:.2%}"
    return f'<td class="num" data-v="{f!r}">{shown}</td>'


def whole_floats(s: pd.Series) -> bool:
    """Whether ``s`` is a float column whose values are all whole numbers (shown without decimals, in the report's
    tables and the pages' alike: :func:`cxlib.notebook.table` asks the same)."""
    if not pd.api.types.is_float_dtype(s):
        return False
    v = s.dropna()
    return bool(len(v)) and bool((v % 1 == 0).all())


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


def _umask() -> int:
    """The process's umask, read without setting it where Linux says it (``/proc/self/status``): setting it to
    read it back changes it for every thread meanwhile (an app serving several users writes files too)."""
    import os

    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and restored at once
    os.umask(mask)
    return mask
