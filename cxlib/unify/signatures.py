"""Signatures: the rows of each linked table grouped by source and raw identifiers, and their identifiers.

Rows with the same source and the same raw identifier columns (a web session's hundred page views share one
cookie and one login) form one *signature*. The over-merge guard, the normalisers and the identity graph work
on signatures -- a few million at 1M customers instead of 70 million rows -- and each row reaches its
customer at the end by one null-safe hash join on its raw identifiers (:mod:`cxlib.unify.links`).

Examples
--------
>>> import pandas as pd, cxlib
>>> ws = cxlib.connect()
>>> _ = ws.write("contacts", pd.DataFrame({"source": ["crm", "shop"], "record_id": ["1", "2"],
...     "email": ["A@x.com", "a@x.com"], "updated_at": pd.to_datetime(["2024-01-01"] * 2)}))
>>> signatures(ws, UnifyConfig()).order_by("first_row").to_pandas()["email"].tolist()
['a@x.com', 'a@x.com']
"""

from __future__ import annotations

import ibis
import pandas as pd
from ibis import _

from cxlib.engine import Workspace
from cxlib.schema import TABLES, DataError
from cxlib.unify.config import UnifyConfig, key_column, present, union
from cxlib.unify.normalise import normalise_email, normalise_phone, trim
from cxlib.unify.records import own_references, qualify, ref_systems, shared_records
from cxlib.unify.spellings import respell, run_spellings

__all__ = [
    "ID_RANK",
    "SIG_RAW",
    "identifiers",
    "raw_identifiers",
    "row_base",
    "sig_identifiers",
    "signatures",
    "with_record",
]

#: Strength of each identifier type: the rule a row is credited to is its strongest identifier.
ID_RANK = {"record": 0, "email": 1, "phone": 2, "anonymous_id": 3}

#: The raw identifier columns a row can carry, under one name in every table (null where a table has none).
SIG_RAW = ("c_record", "c_ref", "c_refsys", "c_email", "c_phone", "c_country", "c_anon")
_SIG_FROM = {
    "c_ref": "contact_ref",
    "c_refsys": "contact_ref_source",
    "c_email": "email",
    "c_phone": "phone",
    "c_anon": "anonymous_id",
}

_NO_TABLES = (
    "the workspace holds none of contacts, events, orders, tickets, surveys (enrichment alone adds to the "
    "customers they make and makes none); add one of those exports to the folder or sources.yml (`cx sources "
    "FOLDER` suggests the entries) and run `cx load`"
)


def row_base(t: ibis.Table, name: str) -> dict[str, ibis.Value]:
    """``table_name, source, record_key, ts`` of a linked table's rows."""
    tcol = TABLES[name].time_column
    return {
        "table_name": ibis.literal(name),
        "source": t.source,
        "record_key": t[key_column(name)],
        "ts": t[tcol].cast("timestamp") if tcol else ibis.null("timestamp"),
    }


def _candidates(t: ibis.Table, name: str, cfg: UnifyConfig) -> list[tuple[str, ibis.StringValue]]:
    """The identifiers a row of table ``name`` can carry, normalised: ``(id_type, value)`` pairs."""
    country = t.country if "country" in t.columns else None
    out: list[tuple[str, ibis.StringValue]] = []
    if name == "contacts":
        out.append(("record", t[key_column(name)]))
    if "contact_ref" in t.columns:
        out.append(("record", trim(t.contact_ref)))
    if "email" in t.columns:
        out.append(("email", normalise_email(t.email)))
    if "phone" in t.columns:
        out.append(("phone", normalise_phone(t.phone, country, cfg.default_country)))
    if "anonymous_id" in t.columns:
        out.append(("anonymous_id", trim(t.anonymous_id)))
    return [(id_type, value.cast("string")) for id_type, value in out]


def raw_identifiers(t: ibis.Table, name: str) -> dict[str, ibis.Value]:
    """A row's raw identifier columns as strings, keyed by :data:`SIG_RAW` (only the ones table ``name`` has)."""
    out: dict[str, ibis.Value] = {}
    if name == "contacts":
        out["c_record"] = t[key_column(name)].cast("string")
    for sig, col in _SIG_FROM.items():
        if col in t.columns:
            out[sig] = t[col].cast("string")
    if "phone" in t.columns and "country" in t.columns:
        out["c_country"] = t.country.cast("string")
    return out


#: Stands in for a missing time when a signature's oldest row is chosen: rows with a time come first.
_NO_TIME = ibis.timestamp("9999-12-31 23:59:59")


def _table_signatures(t: ibis.Table, name: str) -> ibis.Table:
    """The signatures of one table, with the :data:`SIG_RAW` columns it lacks as nulls.

    ``first_row``, the oldest row (``time|table|source|key``: the earliest time, then the smallest key; a row
    with no time last, as ``9999``), is written out once per signature from the smallest ``(time, key)`` pair
    of its rows, not for every row and then compared as text (1M customers: 68M event times formatted as text
    in the signatures' scan; 100k: its events' group-by 1.0 -> 0.7 s). The same text: a group's rows share
    table and source, and the times' text orders as the times do.
    """
    base = row_base(t, name)
    raw = raw_identifiers(t, name)
    s = t.select(source=t.source.cast("string"), **raw, ts=base["ts"], _key=t[key_column(name)].cast("string"))
    oldest = ibis.struct({"ts": ibis.coalesce(s.ts, _NO_TIME), "key": s._key})
    s = s.group_by(["source", *raw]).aggregate(
        rows=_.count(), first_ts=_.ts.min(), last_ts=_.ts.max(), _oldest=oldest.min(where=s._key.notnull())
    )
    when = ibis.cases((s._oldest.ts == _NO_TIME, ibis.literal("9999")), else_=s._oldest.ts.cast("string"))
    s = s.mutate(
        table_name=ibis.literal(name),
        first_row=when + f"|{name}|" + s.source + "|" + s._oldest.key,
        **{c: ibis.null("string") for c in SIG_RAW if c not in raw},
    )
    return s.select("table_name", "source", *SIG_RAW, "rows", "first_ts", "last_ts", "first_row")


def signatures(
    ws: Workspace, cfg: UnifyConfig, held: ibis.Table | None = None, systems: ibis.Table | None = None
) -> ibis.Table:
    """One row per distinct ``(table_name, source, raw identifiers)`` with its rows' count, first and last time
    and oldest row key (``first_row``) and the normalised ``record, email, phone, anonymous_id``.

    Not numbered: the identity graph writes them as a scratch table with ``sid``, a join key
    (:meth:`cxlib.engine.Workspace.scratch`'s ``row_id``), so that this statement runs on every thread.
    ``held``: the record ids several sources hold (:func:`cxlib.unify.records.shared_records`), written
    ``source:id``; ``systems``: the contact records that references naming their system can mean
    (:func:`cxlib.unify.records.ref_systems`; :mod:`cxlib.unify.records`).
    """
    parts = [_table_signatures(ws.table(name), name) for name in present(ws)]  # one catalogue query
    if not parts:
        raise DataError(_NO_TABLES)
    sig = with_record(union(parts), held, systems)
    return sig.mutate(
        email=normalise_email(sig.c_email),
        phone=normalise_phone(sig.c_phone, sig.c_country, cfg.default_country),
        anonymous_id=trim(sig.c_anon),
    )


def with_record(
    sig: ibis.Table, held: ibis.Table | None, systems: ibis.Table | None, spelt: ibis.Table | None = None
) -> ibis.Table:
    """Signatures ``sig`` with ``record``: the contact's own record id, or the reference (``c_ref``) -- in the
    record id's spelling where ``spelt`` (:func:`cxlib.unify.spellings.spellings`) has one -- qualified by its
    system where ids are shared (:mod:`cxlib.unify.records`)."""
    sig = respell(sig.mutate(record=trim(sig.c_ref)), "record", spelt, system="c_refsys")
    sig = sig.mutate(record=ibis.coalesce(sig.c_record, sig.record))
    return qualify(own_references(sig, "record", "c_refsys", systems), "record", held, system="c_refsys")


def identifiers(ws: Workspace, cfg: UnifyConfig, only: pd.DataFrame | None = None) -> ibis.Table:
    """``table_name, source, record_key, ts, id_type, id_value``: one row per identifier a source row carries.

    With ``only`` (``table_name, source, record_key``), just those rows: a semi-join on each table's key
    before anything is normalised, so explaining one customer does not normalise every row.
    """
    parts, refs = [], []
    tables = present(ws)
    for name in tables:
        t = ws.table(name)
        if "contact_ref" in t.columns:  # every reference, not only ``only``'s (where the run kept no spellings)
            named = t.contact_ref_source.isnull() if "contact_ref_source" in t.columns else ibis.literal(True)
            refs.append(t.filter(named).select(f_ref=trim(t.contact_ref).cast("string")))
        if only is not None:
            mine = only.loc[only["table_name"] == name, ["source", "record_key"]].drop_duplicates()
            if mine.empty:
                continue
            m = ibis.memtable(mine.astype("string").rename(columns={"source": "m_source", "record_key": "m_key"}))
            t = t.semi_join(m, (t[key_column(name)].cast("string") == m.m_key) & (t.source == m.m_source))
        base = row_base(t, name)
        for id_type, value in _candidates(t, name, cfg):
            # the system a reference names (contact_ref_source), for a contact_ref's record only
            ref = id_type == "record" and name != "contacts" and "contact_ref_source" in t.columns
            system = t.contact_ref_source.cast("string") if ref else ibis.null("string")
            parts.append(
                t.select(**base, id_type=ibis.literal(id_type), id_value=value, _sys=system).filter(
                    _.id_value.notnull() & (_.id_value != "")
                )
            )
    if not parts:
        raise DataError(_NO_TABLES)
    ids = union(parts, distinct=False)
    if refs:  # as the run read them (cxlib.unify.spellings)
        ids = respell(ids, "id_value", run_spellings(ws, union(refs)), "id_type", system="_sys")
    ids = own_references(ids, "id_value", "_sys", ref_systems(ws, tables), "id_type")
    return qualify(ids, "id_value", shared_records(ws, cfg), type_column="id_type", system="_sys").drop("_sys")


def sig_identifiers(sig: ibis.Table) -> ibis.Table:
    """``sid, id_type, id_value, rank``: the usable-looking (non-empty) normalised identifiers of each signature."""
    parts = [
        sig.select("sid", id_type=ibis.literal(id_type), id_value=sig[id_type], rank=ibis.literal(rank, "int64"))
        for id_type, rank in ID_RANK.items()
    ]
    return union(parts).filter(_.id_value.notnull() & (_.id_value != ""))
