"""The settings of :func:`cxlib.unify.unify` and the linked tables it reads.

Examples
--------
>>> UnifyConfig().max_records["email"]
10
>>> key_column("orders")
'order_id'
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis

from cxlib.engine import Workspace
from cxlib.schema import TABLES

__all__ = ["LINKED_TABLES", "UnifyConfig", "key_column", "present", "union"]

#: The tables whose every row is linked to a customer.
LINKED_TABLES = ("contacts", "events", "orders", "tickets", "surveys")


@dataclass(frozen=True)
class UnifyConfig:
    """Settings of :func:`unify`.

    Attributes
    ----------
    max_records : dict
        Over-merge guard: an identifier of this type that co-occurs with more distinct contact records
        than this is demoted. A person has up to about 8 records across systems.
    match_threshold : float
        Probabilistic merges need a match probability at least this high.
    probabilistic : bool
        Run the probabilistic step (splink) after the deterministic graph.
    default_country : str
        Country for phone numbers whose row has no country.
    source_priority : tuple of str
        Survivorship: earlier sources win ties on frequency.
    max_iterations : int
        Cap on label-propagation rounds (a safety net; convergence takes a handful).
    """

    max_records: dict[str, int] = field(default_factory=lambda: {"email": 10, "phone": 10, "anonymous_id": 4})
    match_threshold: float = 0.95
    probabilistic: bool = True
    default_country: str = "GB"
    source_priority: tuple[str, ...] = ("crm", "loyalty", "shop", "legacy_crm", "helpdesk", "email_platform")
    max_iterations: int = 50


def key_column(name: str) -> str:
    """The column that identifies a row of linked table ``name`` within its source (``record_key``).

    The last column of the table's key in :data:`cxlib.schema.TABLES` (the first is ``source``).
    """
    return TABLES[name].key[-1]


def present(ws: Workspace) -> list[str]:
    """The linked tables the workspace holds."""
    return [n for n in LINKED_TABLES if ws.has(n)]


def union(parts: list[ibis.Table], distinct: bool = False) -> ibis.Table:
    """Union of one or more tables (``ibis.union`` needs two)."""
    return ibis.union(*parts, distinct=distinct) if len(parts) > 1 else (parts[0].distinct() if distinct else parts[0])
