"""Hand-made paths shared by the journeys tests."""

from __future__ import annotations

import pandas as pd


def _ev(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    """(customer_id, day, event) rows."""
    return pd.DataFrame(
        {
            "customer_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows]),
            "event": [r[2] for r in rows],
        }
    )


PATHS = _ev(
    [
        ("a", "2024-01-01", "view"),
        ("a", "2024-01-02", "cart"),
        ("a", "2024-01-03", "buy"),
        ("b", "2024-01-01", "view"),
        ("b", "2024-01-02", "view"),
        ("b", "2024-01-05", "help"),
        ("c", "2024-01-01", "cart"),
        ("c", "2024-03-01", "buy"),
    ]
)
