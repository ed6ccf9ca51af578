"""The settings of :func:`cxlib.unify.unify` and the linked tables it reads.

Examples
--------
>>> UnifyConfig().max_records["email"]
10
>>> key_column("orders")
'order_id'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import ibis
import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.schema import TABLES

__all__ = ["LINKED_TABLES", "SETTINGS_TABLE", "UnifyConfig", "key_column", "present", "run_config", "settings_frame",
           "union"]

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
    comparisons : tuple
        The probabilistic model's evidence: built-in comparisons by name (see :mod:`cxlib.unify.model`:
        ``first_name, last_name, birth_date, address, email, phone`` by default; ``street_number, street,
        postcode, city`` separately) or splink comparison objects.
    term_frequency : tuple of str
        Built-in comparisons whose exact agreement is weighted by how rare the value is.
    blocking_rules : tuple
        Pairs of contact records are scored only when they agree exactly on all fields of at least one rule
        (a tuple of field names) or satisfy it (splink SQL over ``l.`` and ``r.``). Many rules on different
        fields: a typo in one field does not hide a pair.
    max_block : int or None
        A tuple blocking rule's groups of more records than this (a common name at a million people, a first
        name and a house number) are left to the other rules: their pairs grow with the square of the
        population and their agreement says little (:mod:`cxlib.unify.blocks`; logged when it happens).
        ``None``: every group is scored.
    max_block_pairs : float or None
        The most pairs a tuple blocking rule may score per contact record (default 4): past it the rule's
        largest groups are left to the other rules, the largest first, so that a rule on fields of few values
        (a first name and a house number) costs in proportion to the records, not to their square. At a
        million people it binds three rules of fourteen; ``None``: only ``max_block`` limits the groups.
    training_rules : tuple
        Blocking rules of the EM sessions; each estimates the comparisons it does not block on. Two by
        default (as splink's FEBRL example): between them every built-in comparison is estimated at least once.
    prior_rules : tuple
        Near-certain matches, for the prior probability that two records match (with ``prior_recall``).
    prior_recall : float
        The share of true matches ``prior_rules`` are assumed to find.
    u_max_pairs : float
        Random pairs sampled to estimate how often non-matches agree (u).
    em_max_pairs : float
        Each EM session trains on about this many of the pairs its rule blocks (a sample, the same whatever
        the row order); more add time, not accuracy.
    m_floor : float
        The smallest m probability EM may estimate for a level: "at least this share of true matches look
        like this". Without it, a level never seen among matches in training (a moved house on data whose
        people never move) becomes a veto.
    correct_u : bool
        Free the u probabilities of the true matches among the random pairs they are estimated from
        (:func:`cxlib.unify.model.correct_u`; matters when many records are duplicates).
    match_columns : tuple of str
        Other contacts columns handed to splink (lower-cased, trimmed) for comparisons given as objects.
    household_correction : bool
        Every score is capped by the share of same-surname same-address pairs that are one person in this
        data (members of one household share both; estimated from their birth dates) as the prior, with
        only the evidence a household does not share (first name, birth date)
        (:mod:`cxlib.unify.households`): surname and address alone do not merge a household. A pair whose
        components both hold an e-mail or both a phone (each customer their own) takes the share estimated
        among such pairs instead. No change where the data show no households.
    birth_date_conflicts : bool
        Components are joined strongest match first, and a join that would put birth dates further apart
        than two typos (or a day and month swap) in one customer is refused
        (:func:`cxlib.unify.clusters.join_components`): no chain of matches makes two people one.
    contact_conflicts : bool
        The same for contact points: a join that would put two components that each hold an e-mail (or each
        a phone) of their own in one customer is refused unless a match between those two was accepted --
        a record without e-mail or phone matching two namesakes does not join them.
    """

    max_records: dict[str, int] = field(default_factory=lambda: {"email": 10, "phone": 10, "anonymous_id": 4})
    match_threshold: float = 0.95
    probabilistic: bool = True
    default_country: str = "GB"
    source_priority: tuple[str, ...] = ("crm", "loyalty", "shop", "legacy_crm", "helpdesk", "email_platform")
    max_iterations: int = 50
    comparisons: tuple = ("first_name", "last_name", "birth_date", "address", "email", "phone")
    term_frequency: tuple[str, ...] = ("first_name", "last_name", "street_number", "street", "postcode", "city")
    blocking_rules: tuple = (
        ("first_name", "last_name"),
        ("first_name", "birth_date"),
        ("last_name", "birth_date"),
        ("birth_date", "postcode"),
        ("first_name", "postcode"),
        ("last_name", "postcode"),
        ("street_number", "postcode"),
        ("street_number", "street", "city"),
        ("street", "postcode"),
        ("first_name", "street_number"),
        ("last_name", "street_number"),
        ("birth_date", "city"),
        ("last_name", "city"),
        ("birth_date", "street_number"),
        "l.first_name = r.last_name AND l.last_name = r.first_name",
    )
    max_block: int | None = 100
    max_block_pairs: float | None = 4.0
    training_rules: tuple = (("birth_date",), ("postcode",))
    prior_rules: tuple = (
        ("first_name", "last_name", "birth_date"),
        "l.first_name = r.last_name AND l.last_name = r.first_name AND l.birth_date = r.birth_date",
    )
    prior_recall: float = 0.8
    u_max_pairs: float = 1e6
    em_max_pairs: float = 1e6
    m_floor: float = 1e-3
    correct_u: bool = True
    match_columns: tuple[str, ...] = ()
    household_correction: bool = True
    birth_date_conflicts: bool = True
    contact_conflicts: bool = True


#: The settings of the last unify run that its readers need to see its identifiers as it saw them.
SETTINGS_TABLE = "unify_settings"


def settings_frame(cfg: UnifyConfig) -> pd.DataFrame:
    """The row of :data:`SETTINGS_TABLE` for a run with ``cfg``: ``source_priority`` (a JSON list: a source's
    name is free text, a comma and all) and ``default_country``, the settings that decide how a row's
    identifiers read (a shared record id's holder, a phone number without a country)."""
    return pd.DataFrame({"source_priority": [json.dumps(list(cfg.source_priority))],
                         "default_country": [cfg.default_country]}, dtype="string")


def run_config(workspace: Workspace | str | Path, config: UnifyConfig | None = None) -> UnifyConfig:
    """``config`` (default :class:`UnifyConfig`) with the settings the workspace's last unify run used for its
    identifiers (:func:`settings_frame`); ``config`` as it is where the workspace holds none (a workspace
    unified before they were kept, or never).

    Examples
    --------
    >>> from cxlib.engine import connect
    >>> ws = connect()
    >>> run_config(ws).default_country
    'GB'
    >>> _ = ws.write(SETTINGS_TABLE, settings_frame(UnifyConfig(source_priority=("loyalty", "crm, UK"))))
    >>> run_config(ws).source_priority
    ('loyalty', 'crm, UK')
    """
    config = config or UnifyConfig()
    with opened(workspace, read_only=True) as ws:
        if not ws.has(SETTINGS_TABLE):
            return config
        row = ws.table(SETTINGS_TABLE).to_pandas().iloc[0]
    order = tuple(json.loads(str(row["source_priority"])))
    return replace(config, source_priority=order, default_country=str(row["default_country"]))


def key_column(name: str) -> str:
    """The column that identifies a row of linked table ``name`` within its source (``record_key``).

    The last column of the table's key in :data:`cxlib.schema.TABLES` (the first is ``source``).
    """
    return TABLES[name].key[-1]


def present(ws: Workspace) -> list[str]:
    """The linked tables the workspace holds."""
    held = ws.held()  # one catalogue query, not one per table
    return [n for n in LINKED_TABLES if n in held]


def union(parts: list[ibis.Table], distinct: bool = False) -> ibis.Table:
    """Union of one or more tables (``ibis.union`` needs two)."""
    return ibis.union(*parts, distinct=distinct) if len(parts) > 1 else (parts[0].distinct() if distinct else parts[0])
