'''The only three ways a value from the user's files reaches SQL in :mod:`cxlib.io`.

Everything read from ``sources.yml`` or from a source file (options, column names, file names, values
maps) goes into a statement as one of:

* a **bound parameter** (:class:`Params`): the value travels beside the SQL text, never inside it.
  Used wherever DuckDB can bind (``SELECT``, ``CREATE TABLE ... AS``, ``UPDATE``, ``read_csv`` options);
* a **checked identifier** (:func:`ident`): double-quoted, embedded quotes doubled, control
  characters refused;
* a **validated literal** (:func:`literal`): for the places DuckDB cannot bind (views, whose text is
  stored): the type is checked, single quotes are doubled and control characters refused.

Never paste a user value into SQL with an f-string: grep for ``f"`` in this package and check that
every ``{...}`` is one of these three or a name the code made up itself.

Examples
--------
>>> ident('Order "No"')
'"Order ""No"""'
>>> literal("it's")
"'it''s'"
>>> p = Params()
>>> p("Europe/London"), p(";"), p("Europe/London"), p.values
('$p0', '$p1', '$p0', {'p0': 'Europe/London', 'p1': ';'})
>>> literal("a\\x00b")
Traceback (most recent call last):
...
ValueError: contains a control character (NUL)
'''

from __future__ import annotations

import re
import unicodedata

__all__ = ["Params", "control_character", "glob_escaped", "ident", "literal"]

_ALLOWED_CONTROL = frozenset("\t")


def control_character(text: str, allow: frozenset[str] = frozenset()) -> str | None:
    """The name of the first control character in ``text`` (``'NUL'``, ``'U+000A'``), or None.

    >>> control_character("a\\nb"), control_character("plain"), control_character("a\\tb", frozenset("\\t"))
    ('U+000A', None, None)
    """
    for ch in text:
        if ch in allow:
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in ("\u2028", "\u2029"):
            return "NUL" if ch == "\x00" else f"U+{ord(ch):04X}"
    return None


def _checked_text(value: object, *, allow: frozenset[str] = frozenset()) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"must be text, not {type(value).__name__}")
    text = str(value)
    bad = control_character(text, allow)
    if bad:
        raise ValueError(f"contains a control character ({bad})")
    return text


def ident(name: object) -> str:
    """A checked identifier: ``name`` in double quotes with embedded quotes doubled.

    Raises ValueError for a name that is not text or holds a NUL or other control character.

    >>> ident("amount")
    '"amount"'
    """
    return '"' + _checked_text(name).replace('"', '""') + '"'


def literal(value: object, *, allow: frozenset[str] = _ALLOWED_CONTROL) -> str:
    """A validated SQL string literal, for the places DuckDB cannot bind (a view's text).

    ``value`` must be text (or a number, written as text); single quotes are doubled; control
    characters other than tab are refused with ValueError.

    >>> literal("shop"), literal(3)
    ("'shop'", "'3'")
    """
    return "'" + _checked_text(value, allow=allow).replace("'", "''") + "'"


def glob_escaped(path: str) -> str:
    """``path`` with the file readers' glob characters (``*``, ``?``, ``[``) taken literally, so that a file
    named ``q*.csv``, or one in a folder named ``tmp[1]``, reads only itself. Bind or :func:`literal` the result.

    >>> glob_escaped("exports/orders*[2024].csv")
    'exports/orders[*][[]2024].csv'
    """
    return re.sub(r"([*?\[])", r"[\1]", path)


class Params:
    """Bound parameters for one statement: ``p(value)`` returns a placeholder (``$p0``) for ``value``.

    Pass ``p.values`` to ``con.execute(sql, p.values)``. The same value gets the same placeholder,
    so that expressions built twice for one value compare equal.
    """

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def __call__(self, value: object) -> str:
        for k, v in self.values.items():
            if type(v) is type(value) and v == value:
                return "$" + k
        k = f"p{len(self.values)}"
        self.values[k] = value
        return "$" + k
