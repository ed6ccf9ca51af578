"""What the times of a file look like, from a few rows: day-first or month-first dates, epoch numbers.

Used by :mod:`cxlib.io.recognise` to say what to check (and to set ``dayfirst: true`` when the rows show
it: a first number above 12). Month-first dates (``12/31/2024``) are not read by the loader: the note says
so and how to fix the file.

Examples
--------
>>> from cxlib.io.vendors import Head
>>> slash_order(["03/04/2024 10:00", "31/01/2024"]), slash_order(["12/31/2010 8:26"]), slash_order(["03/04/2024"])
('day', 'month', 'either')
"""

from __future__ import annotations

import re

from cxlib.io.vendors import Head
from cxlib.schema import Table

__all__ = ["date_notes", "slash_order"]

_SLASH = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2,4})\b")
_EPOCH = re.compile(r"^\d{10}$|^\d{13}$|^\d{16}$|^\d{19}$")


def slash_order(values: list[str]) -> str | None:
    """``'day'``, ``'month'`` or ``'either'`` for dates such as ``03/04/2024``; None when none are."""
    pairs = [(int(m.group(1)), int(m.group(2))) for v in values if (m := _SLASH.match(v))]
    if not pairs:
        return None
    day = any(a > 12 for a, _ in pairs)
    month = any(b > 12 for _, b in pairs)
    if day and not month:
        return "day"
    if month and not day:
        return "month"
    return "either"


def date_notes(head: Head, r, t: Table) -> list[str]:  # noqa: ANN001 - a Recognition
    """What to check about the time columns of ``r``'s entry; sets ``dayfirst: true`` when the rows show it."""
    mapped = dict(r.entry.get("columns") or {})
    for c in t.names:
        if c not in mapped and head.col(c):
            mapped[c] = head.col(c)
    notes = []
    for canon, col in mapped.items():
        if canon not in t.names or t.column(canon).dtype not in ("timestamp", "date"):
            continue
        values = head.values(col)
        # a file's order is that of its dates, not of a few odd ones among another format (YYYYMMDD with a stray
        # 10/25/1985): which of those the rows read happen to hold would set it, so it would follow the row order
        order = slash_order(values) if 2 * sum(bool(_SLASH.match(v)) for v in values) > len(values) else None
        example = next((v for v in values if _SLASH.match(v)), "")
        if order == "day":
            r.entry["dayfirst"] = True
            notes.append(f"dates are day-first ({col}: {example}): dayfirst: true")
        elif order == "month":
            r.entry["monthfirst"] = True
            notes.append(f"dates are month-first ({col}: {example}): monthfirst: true")
        elif order == "either":
            notes.append(
                f"dates look like {example} ({col}): day-first or month-first cannot be told from the rows "
                "read; set dayfirst: true or monthfirst: true"
            )
        elif values and all(_EPOCH.match(v) for v in values):
            notes.append(
                f"{col} holds epoch numbers ({values[0]}): read by their size as s/ms/us/ns since 1970 (UTC); "
                "set ts_unit: if not"
            )
    return notes

