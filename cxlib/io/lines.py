"""Order-line exports (``lines: true``): one row per line becomes one order per ``(source, order_id)``.

An invoice-line export (ERP, web shop) has one row per product line: the order number, product code,
description, quantity, unit price, date and customer on every line. With ``lines: true`` on an orders
file entry:

* the lines sharing ``(source, order_id)`` become one order: ``amount`` = the absolute value of
  Σ ``quantity`` × ``unit_price`` (or Σ ``line_amount``) rounded to the cent, ``ts`` = the earliest line,
  other columns (customer, email, currency, extras) from the first line that has them (a Shopify export
  fills them on the first line only);
* an order whose number starts with ``credit_note_prefix`` (``C536379``) or whose total is negative is a
  credit note or cancellation: status ``cancelled``, amount positive. Other orders take their
  ``status`` column, ``constants: {status: ...}``, or ``completed``; with ``refunded`` mapped (the order's
  refunded amount: Shopify's ``Refunded Amount``), an order refunded in part keeps the rest as its ``amount``;
* an adjustment -- an order whose number starts with ``adjustment_prefix``, or, not a credit note, with a line
  of negative unit price or only lines of negative quantity at no value (a stock write-off: "damaged" at price
  0), such as the bad-debt write-offs of the online-retail export
  (``A563185`` at +11,062.06, reversed by ``A563186`` and booked again by ``A563187`` at -11,062.06, stock
  code ``B``, "Adjust bad debt") -- is neither: it is quarantined with that reason (its lines are kept in
  ``order_lines``, not as a credit note) and counts in no revenue, gross or net;
* every line is kept in table ``order_lines`` (lines in = lines kept), with its file and row; a line's date
  outside the plausible range the checks allow is null there, and its order takes the earliest plausible
  line's date (quarantined, with the reason, when no line has one).

The order then goes through the same checks as a row of an ordinary orders file; its row number is
its first line's. All values reach SQL as checked identifiers or bound parameters (:mod:`cxlib.io.sql`).

Examples
--------
>>> import duckdb
>>> from pathlib import Path
>>> from cxlib.io.sources import SourceFile
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TEMP TABLE raw AS SELECT * FROM (VALUES "
...     "('C1', '2024-01-02', '-2', '1.50', 1), ('A1', '2024-01-01', '3', '0.10', 2), "
...     "('A1', '2023-12-31', '1', '0.20', 3)) v(inv, ts, qty, price, _row)")
>>> f = SourceFile("orders", Path("lines.csv"), source="shop", lines=True, credit_note_prefix="C")
>>> mapping = {"order_id": "inv", "ts": "ts", "quantity": "qty", "unit_price": "price"}
>>> cols, m, extras = collapse_lines(con, f, "raw", mapping, [], "_orders", "_lines")
>>> con.execute("SELECT order_id, ts, amount, status, _row FROM _orders ORDER BY 1").fetchall()
[('A1', '2023-12-31', '0.5', 'completed', 2), ('C1', '2024-01-02', '3.0', 'cancelled', 1)]
>>> con.execute("SELECT count(*), sum(_amount) FROM _lines").fetchone()
(3, -2.5)
"""

from __future__ import annotations

import duckdb

from cxlib.io.checks import plausible_time
from cxlib.io.options import LINE_COLUMNS
from cxlib.io.parse import parse_expr, text_expr
from cxlib.io.sources import SourceFile, _norm
from cxlib.io.sql import Params, ident
from cxlib.schema import TABLES, DataError

__all__ = ["collapse_lines", "line_mapping", "lines_table_sql", "stage_order_lines"]

_ORDER_COLUMNS = ("contact_ref", "email", "currency", "channel", "return_reason")

_OVER = " OVER (PARTITION BY _t_source, _t_order_id)"

#: SQL (over an order's lines ``l``): a refund of part of the order (``refunded``, Shopify's ``Refunded Amount``,
#: on one line or on each): the order keeps what was not refunded. A refund of the whole leaves the amount as it
#: is (the order's status says it was refunded: Shopify's ``refunded`` reads as ``returned``).
_PARTIAL = "COALESCE(max(l._refunded) > 0 AND max(l._refunded) < sum(l._amount) - 0.005, FALSE)"


def _adjustment_sql(alias: str = "", over: str = "") -> str:
    """SQL: whether the lines' order is an adjustment: numbered with ``adjustment_prefix``; or, not being a credit
    note, with a line of negative unit price (a bad-debt write-off) or only lines of negative quantity at no value
    (a stock write-off: "damaged", "missing" at price 0 in the online-retail export). ``over`` is empty in a
    ``GROUP BY`` (the lines table's ``alias``), :data:`_OVER` in a window.

    >>> _adjustment_sql("l.")[:100]
    'COALESCE(bool_or(l._adjust), FALSE) OR COALESCE(NOT bool_or(l._credit) AND (bool_or(l._price < 0) OR'
    """
    a = alias
    stock = f"(bool_and({a}_q < 0){over} AND bool_and(COALESCE({a}_amount, 0) = 0){over})"
    return (
        f"COALESCE(bool_or({a}_adjust){over}, FALSE) OR "
        f"COALESCE(NOT bool_or({a}_credit){over} AND (bool_or({a}_price < 0){over} OR {stock}), FALSE)"
    )


def line_mapping(f: SourceFile, cols: list[str], mapping: dict[str, str]) -> dict[str, str]:
    """``mapping`` with the line columns the file names as they are (``Quantity``, ``SKU``) added."""
    by_norm = {_norm(c): c for c in cols}
    out = dict(mapping)
    for c in LINE_COLUMNS:
        if c == "refunded":  # an amount only when mapped: a column of that name may be a 0/1 flag
            continue
        if c not in out and c in by_norm and by_norm[c] not in out.values():
            out[c] = by_norm[c]
    if "order_id" not in out:
        raise DataError(
            f"{f.label}: `lines: true` groups lines by order_id, but the file has no order_id column; map the "
            "invoice or order number under columns: order_id: <your column>"
        )
    if "line_amount" not in out and "unit_price" not in out:
        raise DataError(
            f"{f.label}: `lines: true` needs unit_price (with quantity) or line_amount; map them under columns:"
        )
    return out


def _line_select(f: SourceFile, raw: str, m: dict[str, str], bind: Params) -> str:
    """Each line with its text columns ``_t_*`` and typed values (``_q``, ``_price``, ``_amount``, ``_ts``)."""

    def txt(c: str) -> str:
        return text_expr(ident(m[c])) if c in m else "NULL"

    source = txt("source") if "source" in m else "NULL"
    source = f"COALESCE({source}, {bind(f.source or f.constants.get('source') or 'orders')})"
    qty = parse_expr(txt("quantity"), "float", f, bind) if "quantity" in m else "1.0"
    price = parse_expr(txt("unit_price"), "float", f, bind) if "unit_price" in m else "NULL"
    amount = parse_expr(txt("line_amount"), "float", f, bind) if "line_amount" in m else f"({qty}) * ({price})"
    refunded = parse_expr(txt("refunded"), "float", f, bind) if "refunded" in m else "CAST(NULL AS DOUBLE)"
    prefix = bind(f.credit_note_prefix) if f.credit_note_prefix else "NULL"
    adjust = bind(f.adjustment_prefix) if f.adjustment_prefix else "NULL"
    return f"""
        SELECT *, COALESCE(starts_with(_t_order_id, {prefix}), FALSE) AS _credit,
               COALESCE(starts_with(_t_order_id, {adjust}), FALSE) AS _adjust FROM (
            SELECT _row, {source} AS _t_source, {txt("order_id")} AS _t_order_id, {txt("ts")} AS _t_ts,
                   {parse_expr(txt("ts"), "timestamp", f, bind)} AS _ts,
                   {txt("sku")} AS _t_sku, {txt("description")} AS _t_description,
                   {qty} AS _q, {price} AS _price, {amount} AS _amount, {refunded} AS _refunded
            FROM {ident(raw)})"""


def lines_table_sql(f: SourceFile, name: str) -> str:
    """The typed ``order_lines`` rows of staged lines table ``name`` (the file name as a bound ``$file``)."""
    cols = ", ".join(ident(c.name) for c in TABLES["order_lines"].columns)
    return f"""
        SELECT {cols} FROM (
            SELECT _t_source AS source, _t_order_id AS order_id, $file AS source_file, _row AS line,
                   CASE WHEN {plausible_time("_ts")} THEN _ts END AS ts, _t_sku AS sku,
                   _t_description AS description, _q AS quantity,
                   _price AS unit_price, round(_amount, 4) AS line_amount,
                   NOT ({_adjustment_sql(over=_OVER)}) AND (_credit OR sum(_amount){_OVER} < 0) AS credit_note
            FROM {ident(name)})"""


def collapse_lines(
    con: duckdb.DuckDBPyConnection,
    f: SourceFile,
    raw: str,
    mapping: dict[str, str],
    extras: list[str],
    orders: str,
    lines: str,
) -> tuple[list[str], dict[str, str], list[str]]:
    """Stage the lines of raw table ``raw`` as ``lines`` and their orders as ``orders`` (one row each).

    Returns the orders table's columns, its mapping (canonical name -> its column) and its extra columns.
    """
    bind = Params()
    m = mapping
    extras = [c for c in extras if c not in m.values()]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(lines)} AS {_line_select(f, raw, m, bind)}", bind.values)
    bind = Params()
    first = {c: f"arg_min({text_expr(ident(m[c]))}, r._row) FILTER (WHERE {text_expr(ident(m[c]))} IS NOT NULL)"
             for c in (*_ORDER_COLUMNS, "status") if c in m}
    first |= {c: f"arg_min({text_expr(ident(c))}, r._row) FILTER (WHERE {text_expr(ident(c))} IS NOT NULL)"
              for c in extras}
    status = first.pop("status", None) or "NULL"
    const_status = bind(f.constants["status"]) if "status" in f.constants else "NULL"
    total = "sum(l._amount)"
    # an adjustment (a bad-debt write-off) is neither a sale nor a credit note: its amount is made negative,
    # so the check quarantines it
    adjustment = f"({_adjustment_sql('l.')})"
    credit = f"(bool_or(l._credit) OR ({total} < 0 AND NOT {adjustment}))"
    # an order with a line whose amount cannot be read has no amount: it is quarantined, its lines are kept
    amount = (
        f"CASE WHEN count(*) FILTER (WHERE l._amount IS NULL) > 0 THEN {bind('unreadable line amount')} "
        # (a write-off that nets to zero still reads as negative: -0.001, so it is quarantined too)
        f"WHEN {adjustment} THEN CAST(-greatest(round(abs({total}), 2), 0.001) AS VARCHAR) "
        f"WHEN NOT {credit} AND {_PARTIAL} THEN CAST(round({total} - max(l._refunded), 2) AS VARCHAR) "
        f"ELSE CAST(round(abs({total}), 2) AS VARCHAR) END"
    )
    sel = [
        "l._t_source AS source",
        "l._t_order_id AS order_id",
        # the earliest line with a plausible date; else the earliest line's text, which the checks quarantine
        f"COALESCE(arg_min(l._t_ts, l._ts) FILTER (WHERE {plausible_time('l._ts')}), arg_min(l._t_ts, l._ts), "
        "min(l._t_ts)) AS ts",
        f"{amount} AS amount",
        f"CASE WHEN {credit} THEN 'cancelled' ELSE COALESCE({status}, {const_status}, 'completed') END AS status",
        *(f"{e} AS {ident(k)}" for k, e in first.items()),
        "min(l._row) AS _row",
    ]
    sel_names = ("source", "order_id", "ts", "amount", "status", *first)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {ident(orders)} AS SELECT {', '.join(sel)} "
        f"FROM {ident(lines)} l JOIN {ident(raw)} r ON r._row = l._row "
        "GROUP BY l._t_source, l._t_order_id",
        bind.values,
    )
    new_mapping = {c: c for c in ("source", "order_id", "ts", "amount", "status", *_ORDER_COLUMNS) if c in sel_names}
    return [*new_mapping, *extras], new_mapping, extras


def stage_order_lines(con: duckdb.DuckDBPyConnection, files: list[SourceFile]) -> int | None:
    """Temp table ``_cx_order_lines``: the typed lines of every ``lines: true`` file; None if there is none."""
    selects, values = [], {}
    for i, f in enumerate(files):
        if f.lines:
            selects.append(lines_table_sql(f, f"_cx_lines{i}").replace("$file", f"$file{i}"))
            values[f"file{i}"] = f.label
    if not selects:
        return None
    con.execute(f"CREATE OR REPLACE TEMP TABLE _cx_order_lines AS {' UNION ALL '.join(selects)}", values)
    return con.execute("SELECT count(*) FROM _cx_order_lines").fetchone()[0]
