"""Never a silent success: a table that quarantines more than ``max_quarantine`` of its rows fails the load.

``cx load`` still writes what it could, then exits with code 3 and prints, per failing table, the share
quarantined and its top reasons, each with the fix that usually applies (duplicate keys in an orders file
that has one row per line: "set `lines: true`").

Examples
--------
>>> import pandas as pd
>>> summary = pd.DataFrame({"table_name": ["orders"], "rows_in": [10], "rows_quarantined": [6]})
>>> q = pd.DataFrame({"table_name": ["orders"] * 6, "source_file": ["o.csv"] * 6, "row": range(6),
...                   "action": ["quarantined"] * 6, "reason": ["duplicate key: another row has the same"] * 6})
>>> msg = quarantine_failures(summary, q, {"orders": 0.05})[0]
>>> print(*msg.splitlines()[:2], sep=chr(10))
orders: 6 of 10 rows (60.0%) quarantined, more than max_quarantine 5.0%. Top reasons:
  6 rows: duplicate key: another row has the same
>>> "fix: if the file has one row per order line, set `lines: true`" in msg and "load each once" in msg
True
"""

from __future__ import annotations

import pandas as pd

from cxlib.io.options import DEFAULT_MAX_QUARANTINE

__all__ = ["fix_for", "quarantine_failures"]

# (table or None for any, a start of the reason, the fix)
_FIXES: tuple[tuple[str | None, str, str], ...] = (
    (
        "orders",
        "duplicate key",
        "if the file has one row per order line, set `lines: true` (and `credit_note_prefix:`) for it in sources.yml; "
        "if it has (or is a GA4 export), the same orders are in two files or sheets (a daily and an intraday GA4 "
        "table of one day, two years' sheets that share an invoice): load each once",
    ),
    (
        None,
        "duplicate key",
        "map the file's real key column under `columns:`, or leave the key out to have it derived from each row",
    ),
    ("orders", "negative value", "credit notes or returns: set `lines: true` and `credit_note_prefix:` in sources.yml"),
    (None, "cannot read as a timestamp (not a date:", "check the mapped column: its values are not dates"),
    (None, "cannot read as a timestamp (not a real date", "correct the impossible dates in the file, or leave them"),
    (None, "implausible date (before 1990-01-01; a number like", "set `ts_unit: excel` for this file"),
    (None, "cannot read as a timestamp (a number", "set `ts_unit:` (s, ms, us, ns, excel) for this file"),
    (None, "cannot read as a timestamp (dates like", "dd/mm/yyyy: `dayfirst: true`; mm/dd/yyyy: `monthfirst: true`"),
    (
        None,
        "cannot read as a timestamp",
        "epoch numbers: set `ts_unit:` (s, ms, us, ns, excel); dd/mm/yyyy: `dayfirst: true`; mm/dd/yyyy: "
        "`monthfirst: true`; check the mapped column",
    ),
    (
        None,
        "cannot read as a date",
        "set `dayfirst: true` for dd/mm/yyyy dates or `monthfirst: true` for mm/dd/yyyy, or check the mapped column",
    ),
    (None, "cannot read as a number", "check the mapped column; amounts with a decimal comma need converting"),
    (None, "required value missing", "map the column under `columns:`, or give it under `constants:`"),
    (None, "unknown status", "map the file's statuses under `values: status:` or set `constants: {status: ...}`"),
    (None, "unreadable line", "check the delimiter (`delimiter:`) and quoting of the file"),
)


def fix_for(table: str, reason: str) -> str | None:
    """The usual fix for a quarantine reason in ``table``, or None."""
    for t, start, fix in _FIXES:
        if (t is None or t == table) and str(reason).startswith(start):
            return fix
    return None


def quarantine_failures(
    summary: pd.DataFrame, quarantine: pd.DataFrame, limits: dict[str, float], top: int = 3
) -> list[str]:
    """A message per table whose quarantined share is over its limit (default 5%), with reasons and fixes."""
    out = []
    for row in summary.itertuples(index=False):
        limit = limits.get(row.table_name, DEFAULT_MAX_QUARANTINE)
        if not row.rows_in or row.rows_quarantined / row.rows_in <= limit:
            continue
        lines = [
            f"{row.table_name}: {row.rows_quarantined:,} of {row.rows_in:,} rows "
            f"({row.rows_quarantined / row.rows_in:.1%}) quarantined, more than max_quarantine {limit:.1%}. "
            "Top reasons:"
        ]
        q = quarantine[(quarantine["table_name"] == row.table_name) & (quarantine["action"] == "quarantined")]
        counts = q.drop_duplicates(["source_file", "row", "reason"])["reason"].value_counts().head(top)
        for reason, n in counts.items():
            lines.append(f"  {n:,} rows: {reason}")
            fix = fix_for(row.table_name, str(reason))
            if fix:
                lines.append(f"    fix: {fix}")
        out.append("\n".join(lines))
    return out
