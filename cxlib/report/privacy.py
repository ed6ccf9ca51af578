"""Privacy for a shared report: identifiers removed, contact details masked, small groups merged or left out.

Examples
--------
>>> import pandas as pd
>>> df, note = _merge_small(pd.DataFrame({"channel": ["a", "b", "c"], "customers": [50, 4, 7]}), "customers", 10)
>>> df["customers"].tolist(), note
([50, 11], '2 row(s) describing fewer than 10 customers merged into “other”')
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

__all__ = ["COUNT_COLUMNS", "DIRECT_IDENTIFIERS", "PERSON_COUNT_COLUMNS", "redact_text"]

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

#: Columns that count people beside a table's main count: a persona's high-value customers, a funnel step's
#: drop-outs, a drop-off branch's customers who reached checkout and abandoned it. A cell of one of them (or of
#: any other count column, or one named ``..._customers``) under ``min_group_size`` is blanked, as a row whose
#: main count is that small is merged away: a row of 40 customers must not show that 3 of them did something.
PERSON_COUNT_COLUMNS: frozenset[str] = frozenset(
    {"high_value", "dropped", "reached", "checkout_abandoners", "abandoners_failed_first", "buyers",
     "repeat_buyers", "promoters", "detractors", "passives", "respondents"}
)  # fmt: skip

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# international or national phone numbers: 9+ digits with optional spaces, dots, dashes, brackets
_PHONE = re.compile(r"(?<![\w.])(?:\+|00)?\d[\d\s().\-]{7,}\d(?!\w)(?!\.\d)")


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



def _has_named_index(df: pd.DataFrame) -> bool:
    return any(n is not None for n in df.index.names)


def _small(values: Any, k: int) -> np.ndarray:
    """Which of ``values`` count a group too small to show: ``0 < value < k`` (0 reveals nobody; a value that is
    not a number is not a count). The one rule behind every table cell, chart element and series left out."""
    v = pd.to_numeric(pd.Series(list(values)), errors="coerce")
    return ((v > 0) & (v < k)).to_numpy(dtype=bool)


def _left_out_note(hidden: int, k: int, what: str) -> str:
    """The privacy note for ``hidden`` chart elements of fewer than ``k`` customers left out of ``what``."""
    return f"{hidden} chart element(s) describing fewer than {k} customers were left out of “{what}”."


def _blank_small_cells(
    df: pd.DataFrame, count: str | None, k: int, people: Sequence[str] = ()
) -> tuple[pd.DataFrame, int]:
    """Cells of the columns that count people beside ``count`` (:data:`PERSON_COUNT_COLUMNS`, the other
    :data:`COUNT_COLUMNS`, ``..._customers``, and the columns named in ``people``: a cross-table's, say) with
    ``0 < value < k`` shown as "fewer than k"; how many.

    Examples
    --------
    >>> df = pd.DataFrame({"persona": ["a", "b"], "customers": [64, 36], "high_value": [32, 8]})
    >>> out, n = _blank_small_cells(df, "customers", 10)
    >>> out["high_value"].tolist(), n
    ([32, 'fewer than 10'], 1)
    """
    hidden = 0
    for c in df.columns:
        name = str(c)
        counts_people = name in PERSON_COUNT_COLUMNS or name in COUNT_COLUMNS or name.endswith("_customers")
        if c == count or not (counts_people or c in people):
            continue
        small = _small(df[c], k)
        if small.any():
            hidden += int(small.sum())
            df[c] = df[c].astype(object).where(~small, f"fewer than {k}")
    return df, hidden


def _merge_small(df: pd.DataFrame, count: str, k: int) -> tuple[pd.DataFrame, str]:
    """Rows with ``count < k`` merged into one "other" row (counts summed, other numbers blanked)."""
    n = pd.to_numeric(df[count], errors="coerce")
    small = n < k
    if not small.any():
        return df, ""
    keep, rest = df[~small], df[small]
    other: dict[str, Any] = {}
    label = f"other ({len(rest)} groups under {k})"
    for c in df.columns:
        if c == count or str(c) in COUNT_COLUMNS:
            other[c] = pd.to_numeric(rest[c], errors="coerce").sum()
        elif pd.api.types.is_numeric_dtype(df[c]) or pd.api.types.is_bool_dtype(df[c]):
            other[c] = np.nan
        else:  # the row's name once, in its first text column; its other words (a quote, a trend) are blank
            other[c] = None if label in other.values() else label
    note = f"{len(rest)} row(s) describing fewer than {k} customers merged into “other”"
    if other[count] < k:
        note = f"{len(rest)} row(s) describing fewer than {k} customers left out"
        return keep.reset_index(drop=True), note
    merged = pd.concat([keep, pd.DataFrame([other])], ignore_index=True)
    return merged, note


def _suppress_figure(fig: go.Figure, k: int) -> int:
    """Leave out Sankey links, bars, funnel steps, points of lines and heatmap cells with values under ``k``;
    returns how many."""
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
                _drop_lone_nodes(tr)
        elif tr.type in ("bar", "funnel"):
            # the values' axis: a funnel is horizontal unless set otherwise (plotly's default), a bar vertical
            orientation = getattr(tr, "orientation", None) or ("h" if tr.type == "funnel" else "v")
            axis = "x" if orientation == "h" else "y"
            vals = getattr(tr, axis)
            if vals is None:
                continue
            small = _small(vals, k)
            hidden += int(small.sum())
            if small.any():
                setattr(tr, axis, [None if s else x for x, s in zip(vals, small, strict=True)])
                if tr.text is not None and np.ndim(tr.text) == 1 and len(tr.text) == len(small):
                    tr.text = ["" if s else t for t, s in zip(tr.text, small, strict=True)]
        elif tr.type == "heatmap" and tr.z is not None:  # a cross-table of counts: each small cell left blank
            z = np.asarray(tr.z, dtype=object)
            small = _small(z.ravel(), k).reshape(z.shape)
            hidden += int(small.sum())
            if small.any():
                tr.z = np.where(small, None, z).tolist()
        elif tr.type == "scatter" and tr.y is not None:  # counts over time (a line, a stacked area)
            small = _small(tr.y, k)
            hidden += int(small.sum())
            if small.any():  # no point drawn there (a stacked area counts it as 0), none on hover
                tr.y = [None if s else x for x, s in zip(tr.y, small, strict=True)]
    return hidden


def _drop_lone_nodes(tr: Any) -> None:
    """Leave out the nodes of Sankey trace ``tr`` that no link touches any more (after small links were left
    out), renumbering the links. Kept with their fixed ``x``/``y``, plotly drew such a figure out of place: a
    column's nodes moved into the one before, its labels apart from its bars, the flows cut off below."""
    link, node = tr.link.to_plotly_json(), tr.node.to_plotly_json()
    labels = node.get("label")
    if labels is None or link.get("source") is None:
        return
    n = len(labels)
    used = sorted(set(link["source"]) | set(link["target"]))
    if len(used) == n:
        return
    new = {old: i for i, old in enumerate(used)}
    for key, v in node.items():
        if v is not None and not isinstance(v, str | dict) and np.ndim(v) == 1 and len(v) == n:
            node[key] = [v[i] for i in used]
    link["source"] = [new[i] for i in link["source"]]
    link["target"] = [new[i] for i in link["target"]]
    tr.node, tr.link = node, link


def map_strings(obj: Any, f: Any) -> Any:
    """``obj`` (JSON-like: a figure's spec) with ``f`` applied to every string in it, at any depth: in dicts,
    lists, tuples and numpy arrays of objects or text (plotly keeps a pandas column as such an array).

    Examples
    --------
    >>> map_strings({"x": np.array(["Jane", 3], dtype=object), "t": ("a",)}, str.upper)
    {'x': array(['JANE', 3], dtype=object), 't': ['A']}
    """
    if isinstance(obj, str):
        return f(obj)
    if isinstance(obj, dict):
        return {k: map_strings(v, f) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [map_strings(v, f) for v in obj]
    if isinstance(obj, np.ndarray) and (obj.dtype == object or obj.dtype.kind in "US"):
        out = np.empty(obj.shape, dtype=object)
        for i, v in np.ndenumerate(obj):
            out[i] = map_strings(v.decode("utf-8", "replace") if isinstance(v, bytes) else v, f)
        return out
    return obj


def _redact_json(obj: Any) -> Any:
    """``obj`` with e-mails and phone numbers masked in every string (:func:`map_strings`)."""
    return map_strings(obj, redact_text)

