"""The notebooks' shared glue: the workspace folder, the guard that stops a page early, the export button.

Only the marimo notebooks in ``notebooks/`` import this module; no other module of :mod:`cxlib` does. Each
notebook opens with one cell that calls it::

    folder = notebook.workspace_folder()
    notebook.opening(INTRO, folder)            # the title, the text and the folder

takes its headline numbers from the metrics layer (:func:`headline`, shown by :func:`stat` with their name,
raw value and definition on hover, the same numbers as the report and ``cx summary``), reads the workspace
through the guard (which stops the cell with a message saying what to run when the
workspace, or a table the page needs, is missing) and ends with an export::

    with notebook.connect(folder, "identity_links") as ws: ...
    notebook.export(build_report, folder, "01_unify")

Served pages share what they compute: ``cx app``'s kernels are threads of one process, so :func:`memo` keeps a
result per workspace file and argument values for every tab (the headline numbers, the journeys page's funnels,
journey maps and Sankeys), and :func:`staged` holds one staged copy of the touchpoints for all of them
(read through :func:`on_staged`). The journeys page draws its first view from :func:`journey_start`, what
``cx journeys`` kept, before anything is staged.

Where the folder can change, and where an export goes, depends on who is looking:

- served as an app (``cx app``, ``marimo run``: mode ``"run"``), the workspace is the one the server was
  started on (``CX_WORKSPACE``), shown as text: a viewer has no element whose value names a folder, so
  setting element values (which works in an app without any click) cannot point the page at another folder.
  The export is a download: the report is built when the button is pressed and goes to the viewer's
  browser; nothing is written on the server.
- in the editor (``cx edit``, ``marimo edit``: mode ``"edit"``) the folder is a text box the analyst can
  change; the export is the same download.
- run as a script (``python notebooks/00_workspace.py``), ``CX_EXPORT=1`` writes the report to
  ``FOLDER/reports/NAME.html`` without a click.

Examples
--------
Outside marimo's editor (here mode ``None``) the folder is fixed: ``CX_WORKSPACE``, else the demo's:

>>> editable()
False
>>> folder = workspace_folder()
>>> type(folder).__name__, folder.value == (os.environ.get("CX_WORKSPACE") or "data/demo")
('FixedFolder', True)
>>> required_command("personas")
'cx personas'
"""

from __future__ import annotations

import copy
import inspect
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import marimo as mo
import pandas as pd

from cxlib._frames import has_formulas, spreadsheet_safe
from cxlib.schema import column_label, name_words, stage_label

if TYPE_CHECKING:
    import ibis

    from cxlib.engine import Workspace
    from cxlib.report import Report

__all__ = [
    "EXPORT_LABEL",
    "FixedFolder",
    "JourneyStart",
    "ahead",
    "connect",
    "customer_list",
    "editable",
    "export",
    "headline",
    "journey_map",
    "in_words",
    "journey_start",
    "keep_plan",
    "memo",
    "persona_buyers",
    "persona_evidence",
    "persona_features",
    "persona_fit",
    "too_few_buyers",
    "on_staged",
    "opening",
    "require",
    "required_command",
    "sankey_picker",
    "stale_note",
    "stat",
    "stops_with_the_reason",
    "staged",
    "workspace_folder",
]

DEFAULT_WORKSPACE = "data/demo"
EXPORT_LABEL = "Download this page as a report (one HTML file, offline, no personal data)"

# the command that builds each table a notebook may need (anything else comes from `cx unify`)
_BUILT_BY = {"personas": "cx personas", "customer_stages": "cx journeys", "stage_history": "cx journeys"}


@dataclass(frozen=True)
class FixedFolder:
    """The workspace folder of a page that cannot change it: shown as text, not as an input.

    It has the ``value`` of the text box it stands in for, so the cells below read ``folder.value`` either way.

    Examples
    --------
    >>> FixedFolder("data/demo").value
    'data/demo'
    """

    value: str

    def _display_(self) -> Any:
        return mo.md(f"**Workspace:** `{self.value}` (fixed by the server)")


Folder = FixedFolder | mo.ui.text


def editable() -> bool:
    """Whether the page may change its workspace folder: only in marimo's editor (mode ``"edit"``).

    An app (``"run"``), a script, a test or an unknown mode gets the folder it was started with.
    """
    return mo.app_meta().mode == "edit"


def workspace_folder(default: str = DEFAULT_WORKSPACE) -> Folder:
    """The page's workspace folder: ``CX_WORKSPACE``, else ``default``; a text box only in the editor.

    Parameters
    ----------
    default : str
        The folder when ``CX_WORKSPACE`` is not set.

    Returns
    -------
    FixedFolder or marimo.ui.text
        Either way its ``value`` is the folder. Assign it to a global in the notebook's opening cell and
        display it there (:func:`opening`), so that the cells below rerun when an editor changes it.
    """
    path = os.environ.get("CX_WORKSPACE") or default
    if editable():
        return mo.ui.text(value=path, label="Workspace folder", full_width=True)
    return FixedFolder(path)


def opening(intro: str, folder: Folder) -> Any:
    """The notebook's first output: its title and text (markdown), then the workspace folder."""
    return mo.vstack([mo.md(inspect.cleandoc(intro)), folder])


def required_command(table: str) -> str:
    """The ``cx`` command that builds ``table`` in a workspace."""
    return _BUILT_BY.get(table, "cx unify")


def _path(folder: Folder | str | Path) -> str:
    return str(folder if isinstance(folder, str | Path) else folder.value)


def _stop_without_workspace(path: str) -> None:
    from cxlib.io import has_workspace

    mo.stop(
        not has_workspace(path),
        mo.md(f"**No workspace at `{path}`.** Build one with `make demo` or `cx load {path}`."),
    )


def _stop_without_tables(ws: Workspace, path: str, tables: tuple[str, ...]) -> None:
    missing = [t for t in tables if not ws.has(t)]
    if not missing:
        return
    command = required_command(missing[0])
    if command == "cx unify":
        mo.stop(True, mo.md(f"**Not unified yet.** Run `cx unify {path}`."))
    mo.stop(True, mo.md(f"**The workspace has no `{missing[0]}` table yet.** Run `{command} {path}`."))


@contextmanager
def connect(folder: Folder | str | Path, *tables: str) -> Iterator[Workspace]:
    """The workspace, opened read-only and closed after; the cell stops with a message if it or a table is missing.

    Parameters
    ----------
    folder : FixedFolder, marimo.ui.text, str or Path
        The page's workspace folder.
    *tables : str
        Tables the cell needs (``"identity_links"``, ``"touchpoints"``, ...): without one, the cell stops and
        says which command builds it.
    """
    import cxlib

    path = _path(folder)
    _stop_without_workspace(path)
    with cxlib.connect(path, read_only=True) as ws:
        _stop_without_tables(ws, path, tables)
        yield ws


@contextmanager
def stops_with_the_reason(what: str) -> Iterator[None]:
    """Within it, a :class:`~cxlib.schema.DataError` (the data cannot answer: too short a history, no month-end
    transitions ...) stops the cell, and the cells that read it, with ``what`` and the error's own words (what is
    missing and what to do) in a callout, where a traceback would stand otherwise.

    Examples
    --------
    >>> from cxlib.schema import DataError
    >>> try:
    ...     with stops_with_the_reason("No forecast."):
    ...         raise DataError("the history covers 1 month end(s); load a longer export")
    ... except BaseException as stop:  # marimo's stop: the cell shows the callout
    ...     type(stop).__name__
    'MarimoStopError'
    """
    from cxlib.schema import DataError

    try:
        yield
    except DataError as e:
        mo.stop(True, mo.callout(mo.md(f"**{what}** {e}"), kind="warn"))


def require(folder: Folder | str | Path, *tables: str) -> str:
    """The workspace folder as a string, once :func:`connect`'s checks pass (the cell stops otherwise)."""
    path = _path(folder)
    if tables:
        with connect(path, *tables):
            pass
    else:
        _stop_without_workspace(path)
    return path


def headline(folder: Folder | str | Path, *parts: str) -> pd.DataFrame:
    """The page's headline numbers: :func:`cxlib.metrics.headline` of some of its parts (default: all).

    The cell stops with a message when there is no workspace, as :func:`connect` does. Computed once per server
    and workspace file (:func:`memo`): every page and tab shows the same numbers without counting again.
    """
    return memo(folder, _headline, _path(folder), parts or None)


def _headline(path: str, parts: tuple[str, ...] | None) -> pd.DataFrame:
    from cxlib import metrics

    with connect(path) as ws:
        return metrics.headline(ws, parts)


def stat(h: pd.DataFrame, name: str, label: str | None = None, missing: str | None = None) -> Any:
    """A marimo stat of metric ``name`` from :func:`headline`, tagged like the report's cards.

    Its element carries ``data-metric="NAME"`` and ``data-value="RAW"``, and its definition shows on hover.
    A metric the workspace lacks shows a dash, with ``missing`` (why) under it when given.

    Examples
    --------
    >>> import pandas as pd
    >>> h = pd.DataFrame({"metric": ["customers_known"], "value": [14064], "unit": ["customers"],
    ...                   "definition": ["Not anonymous."], "label": ["Known customers"]})
    >>> 'data-metric="customers_known" data-value="14064"' in stat(h, "customers_known").text
    True
    """
    import html

    from cxlib import metrics

    row = h.loc[h["metric"] == name]
    if row.empty:
        return mo.stat("–", label=label or metrics.definition(name).label, caption=missing)
    m = row.iloc[0]
    inner = mo.stat(metrics.shown(m["value"], m["unit"]), label=label or m["label"])
    return mo.Html(
        f'<div data-metric="{html.escape(name)}" data-value="{metrics.raw(m["value"])}" '
        f'title="{html.escape(m["definition"])}">{inner.text}</div>'
    )


def table(
    df: pd.DataFrame, digits: int = 3, money: tuple[str, ...] = (), currency: str = "",
    percent: tuple[str, ...] = (), stages: tuple[str, ...] = ("stage", "top_stage"),
    events: tuple[str, ...] = ("event",), whole: tuple[str, ...] = (), **kwargs: Any,
) -> Any:
    """A table for a reader, not an analyst's scratchpad: no selection, no dtype labels, numbers with
    thousands separators and ``digits`` decimals, dates without a time of midnight, blanks for missing values,
    headers in words (:func:`cxlib.schema.column_label`: ``gain_p5`` as "gain, low (5%)").

    The ``money`` columns show whole amounts with the ``currency`` (the orders' currency: the metrics' unit
    for revenue); the ``percent`` columns (shares, rates) as percentages. ``kwargs`` go to ``mo.ui.table``
    (``page_size``, ``label`` ...). The ``stages`` columns hold stage names, shown as labels (``at_risk`` as ``At
    risk``, :func:`cxlib.schema.stage_label`); the ``events`` columns event names, in words (``product_view`` as
    "product view", :func:`cxlib.schema.name_words`); the ``whole`` columns as whole numbers (customers a month).
    The frame itself is not changed; the table's download holds its full values under the headers shown.

    Examples
    --------
    >>> import pandas as pd
    >>> t = table(pd.DataFrame({"share": [0.123456], "n": [12345], "day": pd.to_datetime(["2024-03-01"]),
    ...                         "gain": [1234.5]}), money=("gain",), currency="GBP", percent=("share",))
    >>> type(t).__name__
    'table'
    """
    from cxlib.report.page import whole_floats  # the report's tables' rule, one definition

    formats: dict[str, Any] = {}
    for col in df.columns:
        s = df[col]
        if pd.api.types.is_bool_dtype(s):
            continue
        if col in percent:
            formats[str(col)] = lambda v: "" if pd.isna(v) else f"{v:.1%}"
            continue
        if col in stages or col in events:
            label = stage_label if col in stages else name_words
            formats[str(col)] = lambda v, f=label: "" if pd.isna(v) else f(str(v))
            continue
        if col in money:
            unit = f" {currency}" if currency and currency != "money" else ""
            # + 0.0: an amount that rounds to nothing reads "0", not "-0"
            formats[str(col)] = lambda v, u=unit: "" if pd.isna(v) else f"{round(v) + 0.0:,.0f}{u}"
            continue
        if pd.api.types.is_integer_dtype(s) or whole_floats(s):  # a rating with gaps is a float of whole numbers
            formats[str(col)] = lambda v: "" if pd.isna(v) else f"{int(v):,}"
        elif col in whole:
            formats[str(col)] = lambda v: "" if pd.isna(v) else f"{round(v):,}"
        elif pd.api.types.is_float_dtype(s):
            formats[str(col)] = lambda v, d=digits: "" if pd.isna(v) else f"{v:,.{d}f}"
        elif pd.api.types.is_datetime64_any_dtype(s):
            midnight = bool((s.dropna() == s.dropna().dt.normalize()).all())
            fmt = "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M"
            formats[str(col)] = lambda v, f=fmt: "" if pd.isna(v) else pd.Timestamp(v).strftime(f)
    options = {"selection": None, "show_data_types": False, "show_column_summaries": False, **kwargs}
    # the table's download is a CSV a viewer may open in a spreadsheet: a table holding a text that would run there
    # as a formula (a customer's "=HYPERLINK(...)") is shown as it is, with no download (marimo's is the rows as
    # they are); lists for download go through customer_list, whose CSV is spreadsheet_safe
    if has_formulas(df):
        options["show_download"] = False
    shown = df.reset_index(drop=True)
    headers = {c: column_label(c) for c in shown.columns}  # "gain, low (5%)", not gain_p5
    if len(set(headers.values())) == len(headers):
        shown = shown.rename(columns=headers)
        formats = {headers.get(c, c): f for c, f in formats.items()}
    return mo.ui.table(shown, format_mapping=formats, **options)


def in_words(names: list[str]) -> dict[str, str]:
    """A control's options for names from the data: shown in words, the names kept as values.

    Examples
    --------
    >>> in_words(["add_to_cart", "purchase"])
    {'add to cart': 'add_to_cart', 'purchase': 'purchase'}
    """
    return {name_words(n): n for n in names}


def export(build: Callable[[], Report], folder: Folder | str | Path, name: str) -> Any:
    """The page's export: a download button in the browser, or the report written to disk by a script.

    Parameters
    ----------
    build : callable
        Makes the page's :class:`cxlib.report.Report`; called only when the report is wanted (a click on the
        button, or the script run), never while the page redraws.
    folder : FixedFolder, marimo.ui.text, str or Path
        The page's workspace folder (a script writes to ``FOLDER/reports/NAME.html``).
    name : str
        The report's file name without ``.html`` (the notebook's name, ``"03_journeys"``).

    Returns
    -------
    marimo.ui download button, or a note that the file was written (script with ``CX_EXPORT`` set)
        Served pages (app or editor) never write on the server: the report downloads to the viewer's
        browser, whatever the server's environment says.
    """
    if mo.app_meta().mode == "script" and os.environ.get("CX_EXPORT"):
        saved = build().save(Path(_path(folder)) / "reports" / f"{name}.html")
        return mo.md(f"Report written to `{saved}`: it opens offline; identifiers and groups under 10 left out.")
    return mo.download(
        data=lambda: build().to_html().encode("utf-8"),
        filename=f"{name}.html",
        mimetype="text/html",
        label=EXPORT_LABEL,
    )


# --- customer lists: what a viewer may see of individual customers ----------------------------------------------


def _min_group_size() -> int:
    from cxlib.report import Report

    return int(Report.min_group_size)  # the shared report's rule: a group under it is neither shown nor listed


def customer_list(customers: pd.DataFrame, name: str, id_column: str = "customer_id") -> Any:
    """A list of customers as a viewer may see it: a table and a CSV download, under the shared pages' rules.

    The privacy rules of :class:`cxlib.report.Report` apply, except that the customer id stays (it is what a
    list is for): a list of fewer than its ``min_group_size`` customers is not shown, no other identifier
    column (:data:`cxlib.report.DIRECT_IDENTIFIERS`: names, e-mails, phones, addresses, raw record ids) is
    kept, and e-mails and phone numbers in text are masked (:func:`cxlib.report.redact_text`). The download
    (``NAME.csv``, the same rows) is built when pressed and goes to the viewer's browser, never to the server.

    Examples
    --------
    >>> import pandas as pd
    >>> few = pd.DataFrame({"customer_id": ["a", "b"], "email": ["a@x.com", "b@x.com"]})
    >>> customer_list(few, "few").text.count("fewer than 10")
    1
    >>> many = pd.DataFrame({"customer_id": [f"c{i}" for i in range(12)], "email": "a@x.com", "note": "call a@x.com"})
    >>> _listable(many, "customer_id").iloc[0].tolist()
    ['c0', 'call [email]']
    """
    k = _min_group_size()
    safe = _listable(customers, id_column)
    if safe is None:
        return mo.md(f"_{len(customers):,} customers: fewer than {k}, not listed (the privacy rule of shared pages)._")
    shown = safe.copy()
    for c in shown.columns:
        if not (pd.api.types.is_numeric_dtype(shown[c]) or pd.api.types.is_datetime64_any_dtype(shown[c])):
            shown[c] = shown[c].astype(object).where(shown[c].notna(), "")
    money = tuple(c for c in shown.columns if c in ("revenue", "revenue_per_year"))
    shown_table = table(shown, digits=2, money=money, show_download=False, page_size=10)
    download = mo.download(
        data=lambda: spreadsheet_safe(safe).to_csv(index=False).encode("utf-8"),
        filename=f"{name}.csv",
        mimetype="text/csv",
        label=f"Download these {len(safe):,} customers (CSV)",
    )
    return mo.vstack([shown_table, download])


def _listable(customers: pd.DataFrame, id_column: str) -> pd.DataFrame | None:
    """``customers`` as :func:`customer_list` may show them, or ``None`` when they are too few to list."""
    from cxlib.report import DIRECT_IDENTIFIERS, redact_text

    if len(customers) < _min_group_size():
        return None
    keep = [c for c in customers.columns if c == id_column or str(c) not in DIRECT_IDENTIFIERS]
    safe = customers[keep].copy()
    for c in safe.columns:
        if c != id_column and (safe[c].dtype == object or pd.api.types.is_string_dtype(safe[c])):
            safe[c] = safe[c].map(lambda v: redact_text(v) if isinstance(v, str) else v)
    return safe


# --- what the served pages compute once per server ----------------------------------------------------------------

#: The pages' kernels are threads of one process: ``_MEMO_LOCK`` guards the kept results (briefly), one lock per
#: key lets one tab compute a result while another waiting for the same one sleeps (and tabs wanting different
#: results go on), and ``_STAGED_LOCK`` lets one query at a time read the shared staged copy (a DuckDB
#: connection is not shared by threads). A key's lock is taken before the staged copy's, never after.
_MEMO_LOCK = threading.Lock()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}
_STAGED_LOCK = threading.RLock()
_MEMO: OrderedDict[tuple, Any] = OrderedDict()
#: How many results :func:`memo` keeps (small frames: a funnel, a journey map, a Sankey's flows ...).
MEMO_SIZE = 256
_STAGED: dict[str, tuple[tuple, Any]] = {}
#: The explorer's copy keeps at most this many customers (:func:`cxlib.journeys.staged_touchpoints`' default):
#: beyond it the copy is a sample, and the kept Sankey of everyone is not its Sankey.
EXPLORER_CUSTOMERS = 100_000


def _identity(path: str) -> tuple:
    """The workspace file (and its write-ahead log) as it is now: a rebuilt or updated workspace is another key."""
    from cxlib.io import DATABASE_NAME

    _stop_without_workspace(path)
    files = [Path(path) / DATABASE_NAME, Path(path) / f"{DATABASE_NAME}.wal"]  # writes not yet checkpointed too
    stats = [(f.stat().st_size, f.stat().st_mtime_ns) for f in files if f.exists()]
    return (str(Path(path).resolve()), *stats)


def _frozen(x: Any) -> Any:
    """``x`` as a hashable key: dicts and lists by content, a page's folder by its value."""
    if isinstance(x, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in x.items()))
    if isinstance(x, list | tuple | set | frozenset):
        items = tuple(_frozen(v) for v in x)
        return tuple(sorted(items, key=repr)) if isinstance(x, set | frozenset) else items
    if isinstance(x, FixedFolder | mo.ui.text):
        return _path(x)
    return x


def _copy(value: Any) -> Any:
    return value.copy() if isinstance(value, pd.DataFrame) else copy.deepcopy(value)


def memo(folder: Folder | str | Path, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``, computed once per server for the workspace file and these argument values.

    A served page's kernel is a thread of the server's process (``marimo run``), so a result kept here serves
    every tab: a second visitor, or a control moved back to a value it had, gets it without computing it again.
    The key is the workspace file as it is now (path, size, modification time: a rebuilt workspace computes
    again), ``fn`` and the arguments by value (dicts and lists by content). The last :data:`MEMO_SIZE` results
    are kept; tabs that want the same result wait for one computation of it; each caller gets its own copy (a
    cell may change it). An exception (a cell stopped by the guard) is not kept.

    Examples
    --------
    >>> calls = []
    >>> def twice(x):
    ...     calls.append(x)
    ...     return 2 * x
    >>> folder = os.environ.get("CX_WORKSPACE") or DEFAULT_WORKSPACE
    >>> from cxlib.io import DATABASE_NAME
    >>> if (Path(folder) / DATABASE_NAME).exists():
    ...     _ = memo(folder, twice, 21), memo(folder, twice, 21), memo(folder, twice, x=21)
    ...     assert calls == [21, 21]
    """
    key = (_identity(_path(folder)), fn.__module__, fn.__qualname__, _frozen(args), _frozen(kwargs))
    with _MEMO_LOCK:
        lock = _KEY_LOCKS.setdefault(key, threading.Lock())
    with lock:  # a tab that wants the same result waits for it instead of computing it too
        with _MEMO_LOCK:
            if key in _MEMO:
                _MEMO.move_to_end(key)
                return _copy(_MEMO[key])
        value = fn(*args, **kwargs)
        with _MEMO_LOCK:
            _MEMO[key] = value
            while len(_MEMO) > MEMO_SIZE:
                _KEY_LOCKS.pop(_MEMO.popitem(last=False)[0], None)
        return _copy(value)


def staged(folder: Folder | str | Path) -> ibis.Table:
    """The explorer's staged copy of the workspace (:func:`cxlib.journeys.staged_touchpoints`), made on first use
    and shared by every tab of this server until the workspace file changes.

    Read it only through :func:`on_staged` (which holds its lock: one query at a time on the copy).
    """
    from cxlib import journeys

    path = _path(folder)
    ident = _identity(path)
    with _STAGED_LOCK:
        held = _STAGED.get(ident[0])
        if held is None or held[0] != ident:
            _STAGED.pop(ident[0], None)  # the old copy goes before the new one is made
            require(path, "touchpoints")
            _STAGED[ident[0]] = (ident, journeys.staged_touchpoints(path, max_customers=EXPLORER_CUSTOMERS))
        return _STAGED[ident[0]][1]


def on_staged(folder: Folder | str | Path, fn: Callable[..., Any], *args: Any, keep: bool = True, **kwargs: Any) -> Any:
    """``fn(staged, *args, **kwargs)`` on the shared staged copy (:func:`staged`): kept by :func:`memo` (``keep``),
    or computed each time (``keep=False``, for arguments too big to be a key, such as a list of customers)."""
    if not keep:
        return _on_staged(_path(folder), fn, *args, **kwargs)
    return memo(folder, _on_staged, _path(folder), fn, *args, **kwargs)


def ahead(folder: Folder | str | Path, fn: Callable[..., Any]) -> None:
    """:func:`on_staged` ``fn`` in a thread of a served page's server, for the cells that will want it: the page's
    kernel goes on meanwhile (a cell that wants it first waits for it). Nothing in a script, which has no viewer."""
    if mo.app_meta().mode in ("run", "edit"):
        threading.Thread(target=on_staged, args=(_path(folder), fn), daemon=True).start()


def _on_staged(path: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with _STAGED_LOCK:
        return fn(staged(path), *args, **kwargs)


# the journeys page's own (after everything above, which they use)
from cxlib.notebook.journeys import JourneyStart, journey_map, journey_start, sankey_picker  # noqa: E402
from cxlib.notebook.personas import (  # noqa: E402
    persona_buyers,
    persona_evidence,
    persona_features,
    persona_fit,
    too_few_buyers,
)
from cxlib.notebook.stale import stale_note  # noqa: E402
from cxlib.notebook.strategy import keep_plan  # noqa: E402
