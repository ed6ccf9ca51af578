"""Columns a file lacks: constants from ``sources.yml``, derived keys and a default ``source``.

* ``constants: {column: value}`` gives a column the file does not have (or fills its blanks).
* A missing key column (``event_id``, ``order_id``, ``ticket_id``, ``response_id``) is derived from
  the row itself: the MD5 of the row's values (all its columns, in the file's order, as JSON text)
  and, for rows that are identical, their position among those identical rows
  (``k<first 20 hex digits>-<n>``). The same file always gives the same keys, whatever the order
  of the other rows; the load notes it.
* A missing ``source`` becomes the table's name, with a note.

Examples
--------
>>> from pathlib import Path
>>> from cxlib.io.sources import SourceFile
>>> from cxlib.schema import TABLES
>>> f, notes = fill_defaults(SourceFile("events", Path("web.csv")), TABLES["events"], ["ts", "event"])
>>> f.source, derived_keys(f, TABLES["events"], {"ts": "ts", "event": "event"})
('events', ['event_id'])
>>> notes[0]
"web.csv: no source column; source set to 'events' (set `source:` for this file in sources.yml to name the system)"
"""

from __future__ import annotations

from dataclasses import replace

from cxlib.io.sources import SourceFile, _norm
from cxlib.io.sql import ident
from cxlib.schema import TABLES, Table

__all__ = [
    "DERIVABLE_KEYS",
    "IDENTIFIER_COLUMNS",
    "derived_key_expr",
    "derived_keys",
    "fill_defaults",
    "identifier_notes",
    "key_notes",
]

#: Key columns the loader derives when a file has none.
DERIVABLE_KEYS = ("event_id", "order_id", "ticket_id", "response_id")


def fill_defaults(f: SourceFile, t: Table, cols: list[str]) -> tuple[SourceFile, list[str]]:
    """``f`` with ``source`` set to the table's name when neither the file nor sources.yml gives one."""
    has_source = (
        f.source
        or "source" in f.columns
        or "source" in f.constants
        or any(_norm(c) == "source" for c in cols)
    )
    if has_source:
        return f, []
    note = (
        f"{f.label}: no source column; source set to {t.name!r} (set `source:` for this file in sources.yml "
        "to name the system)"
    )
    return replace(f, source=t.name), [note]


def derived_keys(f: SourceFile, t: Table, mapping: dict[str, str]) -> list[str]:
    """The key columns of ``t`` this file lacks and that are derived from its rows."""
    return [k for k in t.key if k in DERIVABLE_KEYS and k not in mapping and k not in f.constants]


def key_notes(f: SourceFile, keys: list[str]) -> list[str]:
    """The note the load prints for each derived key column."""
    return [
        f"{f.label}: no {k} column; {k} derived from each row's values (a hash of the row and its position "
        "among identical rows; map a key column in sources.yml if the file has one)"
        for k in keys
    ]


def derived_key_expr(cols: list[str]) -> str:
    """SQL for a derived key over the raw columns ``cols`` (checked identifiers) of a table with ``_row``.

    >>> "PARTITION BY md5" in derived_key_expr(["Order No", "Date"])
    True
    """
    values = ", ".join(f"CAST({ident(c)} AS VARCHAR)" for c in cols)
    h = f"md5(CAST(to_json(list_value({values})) AS VARCHAR))"
    return (
        f"'k' || substr({h}, 1, 20) || '-' || "
        f"CAST(row_number() OVER (PARTITION BY {h} ORDER BY _row) AS VARCHAR)"
    )


#: The columns by which a row of each table reaches its customer (``cx unify``): those of the schema's that say
#: whose a row is. A file of one of these tables that maps none of them loads rows that each become their own
#: unidentified customer.
IDENTIFIER_COLUMNS = {
    name: tuple(c for c in ("contact_ref", "email", "phone", "anonymous_id") if c in TABLES[name].names)
    for name in ("events", "orders", "tickets", "surveys")
}
#: Words in a column name that suggest it identifies a person (for the note's "is it ...?").
_PERSON_WORDS = ("mail", "phone", "mobile", "customer", "client", "contact", "member", "user", "visitor", "cookie",
                 "device", "buyer", "requester", "account")  # fmt: skip


def identifier_notes(f: SourceFile, table: str, mapping: dict[str, str], cols: list[str]) -> list[str]:
    """The note the load prints when a file of a table that links to customers maps none of its identifier
    columns (:data:`IDENTIFIER_COLUMNS`): every row would be a customer of its own, silently (a Magento order
    export's ``customer_email`` is not ``email`` until sources.yml says so). Names the file's columns that look
    like a person's identifier, and the fix.

    >>> from pathlib import Path
    >>> f = SourceFile("orders", Path("orders.csv"))
    >>> identifier_notes(f, "orders", {"order_id": "order_id"}, ["order_id", "customer_email", "ts"])[0][:62]
    'orders.csv: no column says whose each row is (contact_ref, ema'
    >>> identifier_notes(f, "orders", {"email": "Email"}, ["Email"])
    []
    """
    wanted = IDENTIFIER_COLUMNS.get(table)
    if not wanted or any(c in mapping for c in wanted):
        return []
    looks = [c for c in cols if c not in mapping.values() and any(w in c.lower() for w in _PERSON_WORDS)]
    hint = f" Is it {', '.join(repr(c) for c in looks[:3])}?" if looks else ""
    return [
        f"{f.label}: no column says whose each row is ({', '.join(wanted)}): its rows cannot be linked to a "
        f"customer, and `cx unify` makes each one a customer of its own.{hint} Fix: map it in sources.yml under "
        f"tables: {table}: columns: {wanted[1] if len(wanted) > 1 else wanted[0]}: <your column name>"
    ]
