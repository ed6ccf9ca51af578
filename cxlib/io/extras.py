"""The types of the columns a file has beyond the data model (its "extra" columns, kept in the table).

Parquet, Excel and JSON columns keep their type: numbers stay numbers, timestamps timestamps, nested
values structs, lists or JSON (never the text of a Python or engine ``repr``). CSV is text, so a CSV
column is typed here when every value in it is a plain number: an integer without a leading zero and
of at most 18 digits (``BIGINT``; ``007`` or a 20-digit id stays text) or a decimal with a ``.``
(``DOUBLE``; ``1,5`` or ``1.234,56`` stays text). Blank values and the usual spellings of nothing
(``NULL``, ``nan``) are NULL either way. When the files of one table disagree, a column is ``BIGINT``
if all of them have integers, ``DOUBLE`` if all have numbers, otherwise text, where each value is
written as it was (a nested value as JSON text).

Examples
--------
>>> import duckdb
>>> con = duckdb.connect()
>>> _ = con.execute("CREATE TABLE raw AS SELECT * FROM (VALUES ('7', '1.5', '007', 'x')) t(a, b, c, d)")
>>> final, per_part = extra_plan(con, [("raw", ["a", "b", "c"], True)])
>>> final
{'a': 'BIGINT', 'b': 'DOUBLE', 'c': 'VARCHAR'}
>>> con.execute(f"SELECT {extra_expr('a', per_part[0]['a'], final['a'])} FROM raw").fetchone()
(7,)
"""

from __future__ import annotations

from collections.abc import Collection

import duckdb

from cxlib.io.files import text_of
from cxlib.io.parse import NULL_TOKENS, text_expr
from cxlib.io.sources import _norm
from cxlib.io.sql import ident, literal

__all__ = ["extra_expr", "extra_plan", "raw_types"]

_NUM_RE = r"\s*-?(0|[1-9][0-9]*)(\.[0-9]+)?\s*"
_SAMPLE = 10_000
_INTS = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER")
_NUMBERS = (*_INTS, "FLOAT", "DOUBLE", "UBIGINT", "HUGEINT")


def raw_types(con: duckdb.DuckDBPyConnection, raw: str) -> dict[str, str]:
    """Column name -> engine type of temp table or view ``raw``."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {ident(raw)}").fetchall()}


def _counts(con: duckdb.DuckDBPyConnection, src: str, cols: list[str]) -> list[tuple[int, ...]]:
    """Per column: its values, those that are numbers, those with a ``.``, the longest number, the non-numbers
    that are not a spelling of nothing (``NULL``, ``nan``; counted only where a column has non-numbers)."""
    inner, aggs = [], []
    for i, c in enumerate(cols):  # the pattern once per value, in a subquery
        v, n = ident(f"_v{i}"), ident(f"_n{i}")
        inner += [f"{ident(c)} AS {v}", f"regexp_full_match({ident(c)}, {literal(_NUM_RE)}) AS {n}"]
        aggs += [
            f"count({v})",
            f"count(*) FILTER (WHERE {n})",
            f"count(*) FILTER (WHERE {n} AND contains({v}, '.'))",
            f"max(length({v})) FILTER (WHERE {n})",
        ]
    sub = f"(SELECT {', '.join(inner)} FROM {src})"
    row = con.execute(f"SELECT {', '.join(aggs)} FROM {sub}").fetchone()
    out = [tuple(row[4 * i : 4 * i + 4]) for i in range(len(cols))]
    mixed = [i for i, r in enumerate(out) if r[0] > r[1]]
    if mixed:  # rare: the sample rules most text columns out
        tokens = ", ".join(literal(t) for t in NULL_TOKENS)
        other = ", ".join(
            f"count(*) FILTER (WHERE NOT {ident(f'_n{i}')} AND trim({ident(f'_v{i}')}) NOT IN ({tokens}))"
            for i in mixed
        )
        extra = dict(zip(mixed, con.execute(f"SELECT {other} FROM {sub}").fetchone(), strict=True))
    return [(*r, extra[i] if i in mixed else 0) for i, r in enumerate(out)]


def _sniff(con: duckdb.DuckDBPyConnection, raw: str, cols: list[str]) -> dict[str, str]:
    """Of text columns ``cols``, each one's type: BIGINT or DOUBLE when every value is such a number, NULL when it
    has no value, else VARCHAR. The first rows rule most text columns out before the whole table is read."""
    out: dict[str, str] = {}
    for sample in (True, False):
        todo = [c for c in cols if c not in out]
        if not todo:
            break
        src = f"(SELECT * FROM {ident(raw)} LIMIT {_SAMPLE})" if sample else ident(raw)
        for c, (_, nums, dots, longest, other) in zip(todo, _counts(con, src, todo), strict=True):
            if other:
                out[c] = "VARCHAR"
            elif not sample:  # an integer of up to 18 characters fits BIGINT; a longer one is a DOUBLE
                out[c] = "NULL" if nums == 0 else "BIGINT" if dots == 0 and longest <= 18 else "DOUBLE"
    return out


def _common(types: set[str]) -> str:
    if len(types) == 1:
        return next(iter(types))
    if types <= set(_INTS):
        return "BIGINT"
    if all(t in _NUMBERS or t.startswith("DECIMAL") for t in types):
        return "DOUBLE"
    return "VARCHAR"


def extra_plan(
    con: duckdb.DuckDBPyConnection, parts: list[tuple[str, list[str], bool | Collection[str]]]
) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The type of each extra column (by its normalised name) and, per part, each of its columns' type in the file.

    ``parts`` holds, per file, its raw table, its extra columns, and whether its text columns are sniffed
    for numbers (True for CSV and the tables the loader builds from text; or the names of those to sniff).
    """
    per_part: list[dict[str, str]] = []
    seen: dict[str, set[str]] = {}
    for raw, extras, sniff in parts:
        types = raw_types(con, raw)
        own = {c: types[c] for c in extras}
        per_part.append(types)
        if sniff:
            text = [c for c in extras if own[c] == "VARCHAR" and (sniff is True or c in sniff)]
            own |= _sniff(con, raw, text)
        for c, t in own.items():
            seen.setdefault(_norm(c), set()).add(t)
    # a CSV column that is empty in one file takes the type the other files give it
    return {c: _common(ts - {"NULL"} or {"VARCHAR"}) for c, ts in seen.items()}, per_part


def extra_expr(col: str | None, own: str | None, final: str) -> str:
    """SQL: extra column ``col`` of type ``own`` (in the file) as type ``final`` (NULL when the file lacks it).

    A type is written into the SQL only when it is BIGINT or DOUBLE (a nested type's text holds the
    file's field names): other columns keep their own type, which is then the column's.
    """
    if col is None or own is None:
        return "NULL"
    c = ident(col)
    if final == "VARCHAR":
        return text_expr(text_of(c, own))
    if own == final:
        return c
    if final not in ("BIGINT", "DOUBLE"):  # pragma: no cover - _common gives no other type to convert to
        raise ValueError(final)
    if own == "VARCHAR":  # a text column sniffed as numbers (else the column would be text)
        return f"TRY_CAST({text_expr(c)} AS {final})"
    return f"CAST({c} AS {final})"
