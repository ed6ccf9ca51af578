"""A file's own typed values -- UTC timestamps, doubles, whole numbers -- taken as they are by the loader's parse
instead of written as text and read back (:func:`cxlib.io.load._typed_columns` picks the columns)."""

from __future__ import annotations

from cxlib.io.files import text_of

__all__ = ["TYPED_SOURCES", "typed_text", "typed_value"]

#: The column types a file's own typed values are taken as they are for (no text round trip), and the
#: engine types taken: UTC timestamps, doubles, whole numbers. Not ``FLOAT`` (its text is shorter than the
#: double's), nor whole numbers for a ``float`` column (a 19-digit number's text is not the double's).
TYPED_SOURCES: dict[str, tuple[str, ...]] = {
    "timestamp": ("TIMESTAMP",),
    "float": ("DOUBLE",),
    "int": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT"),
}


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
