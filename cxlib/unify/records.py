"""Contact record ids belong to the system that wrote them.

A CRM and a loyalty system that both number their contacts from 1 hold two different people under the id
``1``. A contact record is ``(source, record_id)``, as splink identifies a record by its ``source_dataset``
and ``unique_id``: when an id is held by contacts of more than one source, each of them is the identifier
``record`` with the value ``source:id`` (``crm:1``, ``loyalty:1``) and the two are joined only by evidence
(a shared e-mail, the probabilistic match), never by the number alone. Ids held by one source keep their
plain value, so nothing changes for the usual workspace (the check is one query on ``contacts``).

A ``contact_ref`` (an order's, a ticket's) whose id is held by several sources refers to the contact of its
own row's source when that source holds the id (a shop's orders, the shop's customers); otherwise to the
first holder by :attr:`UnifyConfig.source_priority` (then by name) -- a guess, logged with the rows it
concerns.

A row may say whose contact records its ``contact_ref`` names (``contact_ref_source``, :func:`ref_systems`):
that system's record when it has one (its own, however many sources hold the id), else the reference
``system:id``, which joins only references to the same system -- a helpdesk that numbers its requesters from 1
is not joined to a shop that numbers its customers from 1 (:func:`own_references`).

Examples
--------
>>> import pandas as pd, cxlib
>>> ws = cxlib.connect()
>>> _ = ws.write("contacts", pd.DataFrame({"source": ["crm", "loyalty", "crm"], "record_id": ["1", "1", "2"]}))
>>> held = shared_records(ws, UnifyConfig())
>>> held.order_by("h_source").to_pandas()[["h_id", "h_source", "d_source"]].values.tolist()
[['1', 'crm', 'crm'], ['1', 'loyalty', 'crm']]
>>> refs = ibis.memtable(pd.DataFrame({"source": ["loyalty", "shop", "shop"], "record": ["1", "1", "2"]}))
>>> qualify(refs, "record", held).to_pandas()["record"].tolist()
['loyalty:1', 'crm:1', '2']
"""

from __future__ import annotations

import logging

import ibis

from cxlib.engine import Workspace
from cxlib.unify.config import UnifyConfig
from cxlib.unify.normalise import trim
from cxlib.unify.spellings import respell

__all__ = [
    "SHARED_RECORDS",
    "contact_record",
    "kept_shared_records",
    "own_references",
    "qualify",
    "ref_systems",
    "run_shared_records",
    "shared_records",
    "warn_guessed",
]

#: The scratch table a unify run keeps :func:`shared_records` in (only when an id is shared), for the steps after
#: the identity graph (the matching's features, an incremental run's records): found once, not again.
SHARED_RECORDS = "_unify_shared_records"

_log = logging.getLogger("cxlib.unify")


def shared_records(ws: Workspace, cfg: UnifyConfig) -> ibis.Table | None:
    """The record ids held by contacts of more than one source: one row per holder (``h_id, h_source``) with
    the id's default source ``d_source`` (for a reference from a source that holds none of them); ``None``
    when every id is one source's (the usual case) or there are no contacts. Lazy (a few rows, computed where
    it is used); the check is one aggregate over ``contacts``."""
    if "contacts" not in ws.held():
        return None
    c = ws.table("contacts")
    c = c.select(h_id=c.record_id.cast("string"), h_source=c.source.cast("string")).distinct()
    many = c.group_by("h_id").aggregate(n=c.h_source.count()).filter(ibis._.n > 1).select("h_id")
    held = c.semi_join(many, "h_id")
    if int(held.count().to_pyarrow().as_py()) == 0:
        return None
    prio = {s: i for i, s in enumerate(cfg.source_priority)}
    rank = held.h_source.substitute(prio, else_=len(prio)) if prio else ibis.literal(0)
    first = ibis.struct({"rank": rank.cast("int64"), "source": held.h_source}).min()
    default = held.group_by("h_id").aggregate(d=first)
    return held.join(default, "h_id").select("h_id", "h_source", d_source=ibis._.d.source)


def kept_shared_records(ws: Workspace, cfg: UnifyConfig) -> ibis.Table | None:
    """:func:`shared_records`, found once per unify run: kept as the scratch table :data:`SHARED_RECORDS` when
    there are any (and any kept by an earlier run on this connection dropped first); later steps of the run read
    it with :func:`run_shared_records`."""
    ws.drop_scratch(SHARED_RECORDS)
    held = shared_records(ws, cfg)
    return None if held is None else ws.scratch(SHARED_RECORDS, held)


def run_shared_records(ws: Workspace, cfg: UnifyConfig) -> ibis.Table | None:
    """The shared record ids this unify run's identity graph kept (:func:`kept_shared_records`); without them
    (none shared, or no graph run on this connection) :func:`shared_records` again (its one check)."""
    return ws.table(SHARED_RECORDS) if ws.has(SHARED_RECORDS) else shared_records(ws, cfg)


def ref_systems(ws: Workspace, tables: list[str]) -> ibis.Table | None:
    """The contact records ``(k_source, k_id)`` that references naming their system (``contact_ref_source``)
    can mean, when a row of ``tables`` names one; ``None`` when none does (the usual case: one check per table)."""
    named = False
    for name in tables:
        t = ws.table(name)
        if "contact_ref_source" in t.columns and t.contact_ref_source.notnull().any().to_pyarrow().as_py():
            named = True
            break
    if not named:
        return None
    if "contacts" not in ws.held():
        return ibis.memtable({"k_source": [], "k_id": []}, schema={"k_source": "string", "k_id": "string"})
    c = ws.table("contacts")
    return c.select(k_source=c.source.cast("string"), k_id=c.record_id.cast("string")).distinct()


def own_references(
    t: ibis.Table, column: str, system: str, keys: ibis.Table | None, type_column: str | None = None
) -> ibis.Table:
    """``t`` with ``column`` (a reference, in rows naming its system in ``system``) written ``system:id`` where
    that system holds no contact record with the id (``keys``, :func:`ref_systems`): it then joins only the
    references to the same system. Rows naming no system, and references to a record the system holds, are left
    as they are (:func:`qualify` resolves the latter with ``system=``). With ``type_column``, only ``record`` rows."""
    if keys is None:
        return t
    ref = t[column]
    j = t.left_join(keys, (t[system] == keys.k_source) & (ref == keys.k_id))
    mine = j[system].notnull() & j.k_id.isnull()
    if type_column is not None:
        mine = mine & (j[type_column] == "record")
    return j.mutate(**{column: ibis.ifelse(mine, j[system] + ":" + j[column], j[column])}).drop("k_source", "k_id")


def qualify(
    t: ibis.Table, column: str, held: ibis.Table | None, type_column: str | None = None, system: str | None = None
) -> ibis.Table:
    """``t`` with ``column`` (a record id, a contact's own or a reference to one, in rows of ``t.source``)
    written ``source:id`` where the id is held by several sources (``held``, :func:`shared_records`): the
    row's own source when it holds the id, else the id's default source. With ``type_column``, only the rows
    whose type there is ``record`` (the others are left as they are). With ``system``, a column naming the
    system a row's reference means (``contact_ref_source``): that system is its own where given."""
    if held is None:
        return t
    own = held.select(o_id="h_id", o_source="h_source")
    dflt = held.select(x_id="h_id", x_source="d_source").distinct()
    mine = t.source if system is None else ibis.coalesce(t[system], t.source)
    j = t.left_join(own, (t[column] == own.o_id) & (mine == own.o_source))
    j = j.left_join(dflt, j[column] == dflt.x_id)
    value = j[column]
    new = ibis.cases(
        (j.x_id.isnull(), value),
        (j.o_id.notnull(), j.o_source + ":" + value),
        else_=j.x_source + ":" + value,
    )
    if type_column is not None:
        new = ibis.ifelse(j[type_column] == "record", new, value)
    return j.mutate(**{column: new}).drop("o_id", "o_source", "x_id", "x_source")


def contact_record(c: ibis.Table, held: ibis.Table | None) -> ibis.StringValue:
    """A ``contacts`` row's record identifier: its ``record_id``, or ``source:record_id`` when another source
    holds the same id."""
    rid = c.record_id.cast("string")
    if held is None:
        return rid
    ids = held.select("h_id").distinct()
    return ibis.ifelse(rid.isin(ids.h_id), c.source.cast("string") + ":" + rid, rid)


def warn_guessed(sig: ibis.Table, held: ibis.Table | None, spelt: ibis.Table | None = None) -> int:
    """Log the rows whose ``contact_ref`` (``c_ref`` of the signatures ``sig``, read in the record id's spelling
    where ``spelt`` has one: :mod:`cxlib.unify.spellings`) names an id several sources hold, none of them the
    row's own: they were linked to the default holder. Returns their number."""
    if held is None:
        return 0
    own = held.select(o_id="h_id", o_source="h_source")
    # a row naming its reference's system is that system's record, or its own reference: never a guess
    s = sig.filter(sig.c_record.isnull() & sig.c_refsys.isnull()).mutate(_ref=trim(sig.c_ref))
    s = respell(s, "_ref", spelt).filter(ibis._._ref.isin(held.h_id))
    s = s.anti_join(own, (s._ref == own.o_id) & (s.source == own.o_source))
    d = held.select(d_id="h_id", d_source="d_source").distinct()
    s = s.join(d, s._ref == d.d_id)
    first = ibis.struct({"ref": s._ref, "to": s.d_source}).min()
    got = s.aggregate(rows=s.rows.sum(), ids=s._ref.nunique(), example=first, sources=s.source.collect(distinct=True))
    row = got.to_pyarrow().to_pylist()[0]
    n = int(row["rows"] or 0)
    if n:
        ex = row["example"]
        _log.warning(
            "unify: %s of %s %s (contact_ref) to %s that contacts of several sources hold and their own "
            "source does not (e.g. %r -> %s): each is linked to the contact of the first holder by "
            "UnifyConfig.source_priority. Put the system they mean first there (cx unify --source-priority) to link "
            "them to its contacts",
            _count(n, "row"),
            ", ".join(sorted(row["sources"])),
            "refers" if n == 1 else "refer",
            _count(int(row["ids"]), "record id"),
            ex["ref"],
            ex["to"],
        )
    return n


def _count(n: int, what: str) -> str:
    """``1 row``, ``12 rows``, ``1,204 record ids``."""
    return f"{n:,} {what}{'' if n == 1 else 's'}"
