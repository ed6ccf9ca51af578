"""The ``sources.yml`` options for real exports, checked: ``constants``, ``lines``, ``credit_note_prefix``,
``adjustment_prefix``, ``ts_unit``, ``format``, ``max_quarantine`` and ``sheet`` (see ``docs/sources.md``).

Each option is checked for its type (text without control characters, a boolean, a share) before any
file is read; a bad one is a :class:`cxlib.DataError` naming the table, the file and the option.

Examples
--------
>>> export_options({"constants": {"status": "completed"}, "lines": True}, "orders", "here")["constants"]
{'status': 'completed'}
>>> export_options({"ts_unit": "hours"}, "events", "here")
Traceback (most recent call last):
...
cxlib.schema.DataError: here: option `ts_unit` must be one of s, ms, us, ns, excel, not 'hours'
"""

from __future__ import annotations

from cxlib.io.sql import control_character
from cxlib.schema import TABLES, DataError

__all__ = ["DERIVED_TABLES", "EXPORT_OPTIONS", "LINE_COLUMNS", "export_options", "line_columns", "quarantine_share"]

EXPORT_OPTIONS = (
    "constants", "lines", "credit_note_prefix", "adjustment_prefix", "ts_unit", "format", "max_quarantine", "sheet",
    "header_rows", "orders", "feedback", "skip_lines",
)  # fmt: skip

#: Columns of an order-line export (``lines: true``), mapped under ``columns:`` like any other.
#: ``refunded`` is the order's refunded amount (Shopify's ``Refunded Amount``, on one or every line of it).
LINE_COLUMNS = ("quantity", "unit_price", "line_amount", "sku", "description", "refunded")

#: Tables the loader fills from other tables' files, never from a file of their own.
DERIVED_TABLES = ("order_lines",)

TS_UNITS = ("s", "ms", "us", "ns", "excel")
FORMATS = ("ga4",)
DEFAULT_MAX_QUARANTINE = 0.05


def line_columns(table: str, opts: dict) -> tuple[str, ...]:
    """The line columns ``columns:`` may map for this entry (only orders with ``lines: true``)."""
    return LINE_COLUMNS if table == "orders" and opts.get("lines") is True else ()


def _text(value: object, where: str, option: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise DataError(f"{where}: option `{option}` must be text, not {type(value).__name__}")
    text = str(value)
    bad = control_character(text)
    if bad:
        raise DataError(f"{where}: option `{option}` contains a control character ({bad}); remove it")
    return text


def _feedback(value: object, where: str) -> tuple[str, ...]:
    """``feedback``: the file's free-text columns read as customer verbatims by ``cx voice`` (one or a list)."""
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise DataError(
            f"{where}: option `feedback` names the file's free-text columns, one or a list "
            f"(feedback: [Comment, Review text]), not {value!r:.60}"
        )
    return tuple(_text(n, where, "feedback") or "" for n in names)


def _header_rows(value: object, where: str) -> int:
    """``header_rows``: how many lines the header takes (the first holds the names); 1 to 20."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 20:
        raise DataError(
            f"{where}: option `header_rows` must be a whole number from 1 to 20 (Qualtrics exports: 3), "
            f"not {value!r:.40}"
        )
    return value


def _skip_lines(value: object, where: str) -> int:
    """``skip_lines``: how many lines above the header to pass over (a report's title and date range, as Google
    Ads and CRM report exports write them); 0 to 100."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise DataError(
            f"{where}: option `skip_lines` must be a whole number from 0 to 100 (the lines above the column "
            f"names), not {value!r:.40}"
        )
    return value


def quarantine_share(value: object, where: str) -> float | None:
    """``max_quarantine`` as a share of rows: ``0.05``, ``5%`` or ``'5 %'``; None stays None."""
    if value is None:
        return None
    share: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        share = float(value)
    elif isinstance(value, str) and value.strip().endswith("%"):
        try:
            share = float(value.strip()[:-1]) / 100
        except ValueError:
            share = None
    if share is None or not 0 <= share <= 1:
        raise DataError(
            f"{where}: option `max_quarantine` must be a share of rows between 0 and 1 (0.05) or a "
            f"percentage ('5%'), not {value!r:.40}"
        )
    return share


def _constants(value: object, table: str, opts: dict, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise DataError(f"{where}: option `constants` must be a mapping of columns to values, not {kind}")
    out = {}
    allowed = TABLES[table].names + line_columns(table, opts)
    for k, v in value.items():
        col = _text(k, where, "constants")
        if col not in allowed and table != "enrichment":
            raise DataError(
                f"{where}: option `constants` sets {col!r}, which is not a column of {table}; "
                f"columns are {', '.join(allowed)}"
            )
        out[col] = _text(v, where, f"constants.{col}") or ""
    return out


def export_options(opts: dict, table: str, where: str) -> dict:
    """The checked export options of one ``tables.<table>`` entry, as :class:`SourceFile` fields."""
    lines = opts.get("lines", False)
    if not isinstance(lines, bool):
        raise DataError(f"{where}: option `lines` must be true or false (unquoted), not {lines!r:.40}")
    if lines and table != "orders":
        raise DataError(f"{where}: option `lines` is for orders files (one row per order line), not {table}")
    ts_unit = _text(opts.get("ts_unit"), where, "ts_unit")
    if ts_unit is not None and ts_unit not in TS_UNITS:
        raise DataError(f"{where}: option `ts_unit` must be one of {', '.join(TS_UNITS)}, not {ts_unit!r:.40}")
    fmt = _text(opts.get("format"), where, "format")
    if fmt is not None and fmt not in FORMATS:
        raise DataError(f"{where}: option `format` must be one of {', '.join(FORMATS)}, not {fmt!r:.40}")
    if fmt == "ga4" and table != "events":
        raise DataError(f"{where}: `format: ga4` is for the events table (GA4 events become events and orders)")
    orders = opts.get("orders")
    if orders is not None and (not isinstance(orders, bool) or fmt != "ga4"):
        raise DataError(
            f"{where}: option `orders` is true or false (unquoted) on a `format: ga4` entry: whether its purchases "
            f"also become orders; not {orders!r:.40}"
        )
    sheet = _text(opts.get("sheet"), where, "sheet")
    if sheet is not None and not str(opts.get("file", "")).lower().endswith((".xlsx", ".xlsm")):
        raise DataError(f"{where}: option `sheet` is for Excel workbooks (.xlsx), not {opts.get('file')!r:.80}")
    credit, adjust = (_text(opts.get(k), where, k) for k in ("credit_note_prefix", "adjustment_prefix"))
    if credit and adjust and (credit.startswith(adjust) or adjust.startswith(credit)):
        raise DataError(
            f"{where}: `credit_note_prefix: {credit}` and `adjustment_prefix: {adjust}` overlap, so an order "
            "numbered with both would be two things; give prefixes that do not start one another"
        )
    return {
        "header_rows": _header_rows(opts.get("header_rows", 1), where),
        "skip_lines": _skip_lines(opts.get("skip_lines", 0), where),
        "orders": orders,
        "feedback": _feedback(opts.get("feedback"), where),
        "sheet": sheet,
        "constants": _constants(opts.get("constants"), table, opts, where),
        "lines": lines,
        "credit_note_prefix": credit,
        "adjustment_prefix": adjust,
        "ts_unit": ts_unit,
        "format": fmt,
        "max_quarantine": quarantine_share(opts.get("max_quarantine"), where),
    }
