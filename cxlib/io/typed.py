"""A file's own typed values -- UTC timestamps, doubles, whole numbers -- taken as they are by the loader's parse
instead of written as text and read back (:func:`typed_columns` picks the columns)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cxlib.io.files import text_of

if TYPE_CHECKING:
    from cxlib.io.sources import SourceFile
    from cxlib.schema import Table

__all__ = ["TYPED_SOURCES", "typed_columns", "typed_text", "typed_value"]

#: The column types a file's own typed values are taken as they are for (no text round trip), and the
#: engine types taken: UTC timestamps, doubles, whole numbers. Not ``FLOAT`` (its text is shorter than the
#: double's), nor whole numbers for a ``float`` column (a 19-digit number's text is not the double's).
TYPED_SOURCES: dict[str, tuple[str, ...]] = {
    "timestamp": ("TIMESTAMP",),
    "float": ("DOUBLE",),
    "int": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT"),
}


def typed_columns(t: Table, f: SourceFile, mapping: dict[str, str], types: dict[str, str]) -> list[str]:
    """The columns of table ``t`` that file ``f`` (its columns ``mapping``, their engine ``types``) already holds as
    values of their type (:data:`TYPED_SOURCES`), taken as they are by the loader's parse: writing each value as
    text and reading it back cost several regular expressions a value and a copy of every value as text (1M
    customers' events: a third of the parse).

    Not when the file's values are mapped by ``values:`` or filled from a constant, nor timestamps when the
    file's values are local time.

    >>> from cxlib.io.sources import SourceFile
    >>> from cxlib.schema import TABLES
    >>> typed_columns(TABLES["events"], SourceFile("events", None), {"ts": "ts", "revenue": "value"},
    ...               {"ts": "TIMESTAMP", "value": "VARCHAR"})
    ['ts']
    """
    local = bool(f.timezone and f.timezone.upper() != "UTC")
    return [
        c.name
        for c in t.columns
        if c.dtype in TYPED_SOURCES
        and not (c.dtype == "timestamp" and local)
        and c.name in mapping
        and c.name not in f.values
        and c.name not in f.constants
        and types.get(mapping[c.name]) in TYPED_SOURCES[c.dtype]
    ]


def typed_value(dtype: str, v: str) -> tuple[str, str]:
    """``(condition, value)`` for a typed source value ``v`` of a ``dtype`` column: where the condition holds the
    value is taken as it is, and the row stores no text for it; elsewhere (a year the text reader would not read,
    an infinite number) its text is stored and read as text is, as before.

    Taken values are those the text would have read: a double's zero without its sign (the text is ``0``).

    >>> typed_value("float", "v")
    ('isfinite(v)', 'CASE WHEN v = 0 THEN 0.0 ELSE v END')
    """
    if dtype == "timestamp":
        return f"year({v}) BETWEEN 1000 AND 9999", v
    if dtype == "float":
        return f"isfinite({v})", f"CASE WHEN {v} = 0 THEN 0.0 ELSE {v} END"
    return f"{v} IS NOT NULL", f"CAST({v} AS BIGINT)"


def typed_text(dtype: str, p: str) -> str:
    """The text a typed value taken as it is would have had (:func:`~cxlib.io.files.text_of`), from its parsed
    value ``p``: what ``_r_<col>`` shows for it (a quarantine row's value, a key)."""
    return text_of(p, "DOUBLE") if dtype == "float" else f"CAST({p} AS VARCHAR)"
