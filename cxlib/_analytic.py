"""Window functions that Ibis does not compile the same way on every engine: a frame's first or last non-null
value (``FIRST_VALUE`` / ``LAST_VALUE`` with ``IGNORE NULLS``).

Ibis rewrites ``first()`` / ``last()`` over a window to ``FIRST_VALUE`` / ``LAST_VALUE`` and then loses
``include_null=False`` on DuckDB (it keeps nulls there, and ignores them on Spark; ibis issue 11726, whose fix,
ibis pull request 11763, was still open), so these are operations of their own, compiled with ``IGNORE NULLS``
by every SQL engine. They extend ibis 12's compilers, hence ``ibis-framework<13`` in ``pyproject.toml``.

Why they exist: along a path ordered by time, a running maximum of a time-ordered value (the latest inbound
touch so far, a rule's latest moment) is the frame's last non-null value, and DuckDB finds that without the
segment tree its ``MAX`` over a growing frame builds: the window operator of a ``cx journeys`` staging chunk
took about a fifth less CPU (the step as a whole at 1M: within the noise; docs/journeys.md).

Examples
--------
>>> import ibis, pandas as pd
>>> t = ibis.memtable(pd.DataFrame({"g": ["a"] * 4, "o": [1, 2, 3, 4], "v": [1.0, None, 3.0, None]}))
>>> cum = ibis.cumulative_window(group_by=t.g, order_by=t.o)
>>> before = ibis.window(group_by=t.g, order_by=t.o, rows=(None, -1))
>>> out = t.mutate(last=last_non_null(t.v).over(cum), prev=last_non_null(t.v).over(before))
>>> out.order_by("o").to_pandas()[["last", "prev"]].to_dict("list")
{'last': [1.0, 1.0, 3.0, 3.0], 'prev': [nan, 1.0, 1.0, 3.0]}
"""

from __future__ import annotations

import ibis
import sqlglot.expressions as sge
from ibis.backends.sql.compilers.base import SQLGlotCompiler
from ibis.backends.sql.rewrites import FirstValue, LastValue

__all__ = ["first_non_null", "last_non_null"]


# subclasses of Ibis's own FIRST_VALUE / LAST_VALUE: the compilers keep their window frames (the PySpark one
# drops the frame of any other analytic function), and find their rule by the class's own name below
class FirstNonNull(FirstValue):
    """The first non-null value of the window frame."""


class LastNonNull(LastValue):
    """The last non-null value of the window frame."""


def _visit_first(self: SQLGlotCompiler, op: FirstNonNull, *, arg: sge.Expression) -> sge.Expression:
    return sge.IgnoreNulls(this=self.f.first_value(arg))


def _visit_last(self: SQLGlotCompiler, op: LastNonNull, *, arg: sge.Expression) -> sge.Expression:
    return sge.IgnoreNulls(this=self.f.last_value(arg))


# every SQL compiler finds an operation's rule by its class name (visit_<name>); sqlglot places IGNORE NULLS
# where each dialect wants it (inside the parentheses on DuckDB, after them on Spark)
SQLGlotCompiler.visit_FirstNonNull = _visit_first  # type: ignore[attr-defined]
SQLGlotCompiler.visit_LastNonNull = _visit_last  # type: ignore[attr-defined]


def first_non_null(value: ibis.Value) -> ibis.Value:
    """``value``'s first non-null value in the window frame it is taken ``.over()`` (null if none)."""
    return FirstNonNull(value).to_expr()


def last_non_null(value: ibis.Value) -> ibis.Value:
    """``value``'s last non-null value in the window frame it is taken ``.over()`` (null if none)."""
    return LastNonNull(value).to_expr()
