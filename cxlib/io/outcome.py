"""What a load did: :class:`LoadReport` (the tables' counts, the quarantine, the warnings and the limits)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from cxlib.io.limits import quarantine_failures

__all__ = ["LoadReport"]


@dataclass
class LoadReport:
    """What :func:`load` or :func:`validate` found.

    Attributes
    ----------
    summary : DataFrame
        One row per table: ``table_name, files, rows_in, rows_loaded, rows_quarantined,
        values_nulled, first_ts, last_ts``.
    quarantine : DataFrame
        One row per problem (see ``docs/data-model.md``).
    warnings : list of str
        Things worth knowing that lose no data (mixed time zones, tables with no file, derived keys).
    limits : dict
        ``max_quarantine`` per table (share of rows; 5% when not set in sources.yml).
    """

    workspace: Path
    summary: pd.DataFrame
    quarantine: pd.DataFrame
    warnings: list[str]
    limits: dict[str, float] = field(default_factory=dict)

    def failures(self) -> list[str]:
        """A message per table that quarantined more than its ``max_quarantine`` (``cx load`` exits 3)."""
        return quarantine_failures(self.summary, self.quarantine, self.limits)

    def reasons(self) -> pd.DataFrame:
        """Problems counted by table, column, reason and action."""
        q = self.quarantine
        if q.empty:
            return pd.DataFrame(columns=["table_name", "column", "reason", "action", "rows"])
        return (
            q.groupby(["table_name", "column", "reason", "action"], dropna=False)
            .size()
            .rename("rows")
            .reset_index()
            .sort_values(["table_name", "rows"], ascending=[True, False], ignore_index=True)
        )

    def __str__(self) -> str:
        s = self.summary
        lines = [f"workspace {self.workspace}"]
        if not s.empty:
            lines.append(s.to_string(index=False))
            lines.append(f"date range: {s['first_ts'].min()} .. {s['last_ts'].max()}")
        r = self.reasons()
        if not r.empty:
            lines.append("\nproblems found (rows quarantined or values set to null; see the quarantine table):")
            lines.append(r.to_string(index=False))
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)
