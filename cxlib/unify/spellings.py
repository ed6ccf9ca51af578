"""References written in another format than the contact records they mean.

An order export names its customer ``4.0`` (a spreadsheet made the id a number), ``0003`` (another system pads
its ids) or ``cust-7`` (typed by hand), where the CRM holds ``4``, ``3`` and ``CUST-7``. Compared as written,
such a reference reaches no contact: the rows become a customer of their own, and nothing says so.

A reference that no contact record holds as written is read as the one contact record id with the same
:func:`record_key` -- upper case, a whole number's ``.0`` and leading zeros dropped -- when exactly one record
id has that key (held by one source or several: :mod:`cxlib.unify.records` then chooses as for the id written
alike); when two ids do (``4`` and ``04`` in one CRM) it is left as it is. References with no contact written
in several ways with one key are read as the smallest of them. Contact record ids themselves are never
rewritten, so two contacts are never joined by this; nor is a reference that names its system
(``contact_ref_source``): it means that system's records as written. Unify logs how many rows were read so, and
-- where some references name contact records -- how many name none (:func:`warn_references`).

Examples
--------
>>> import pandas as pd, cxlib
>>> ws = cxlib.connect()
>>> _ = ws.write("contacts", pd.DataFrame({"source": "crm", "record_id": ["4", "3", "CUST-7", "8", "08"]}))
>>> refs = ibis.memtable({"f_ref": ["4.0", "0003", "cust-7", "4", "008", "x9"]})
>>> sorted(map(tuple, spellings(ws, refs).to_pandas().values.tolist()))
[('0003', '3', 'contact'), ('4.0', '4', 'contact'), ('cust-7', 'CUST-7', 'contact')]
"""

from __future__ import annotations

import logging

import ibis
import pandas as pd
from ibis import _

from cxlib.engine import Workspace
from cxlib.unify.normalise import trim

__all__ = [
    "SPELLINGS",
    "SPELLINGS_TABLE",
    "kept_spellings",
    "record_key",
    "respell",
    "run_spellings",
    "spellings",
    "warn_references",
]

#: The scratch table a unify run keeps its references' other spellings in (only when there are any).
SPELLINGS = "_unify_spellings"

#: The run's spellings, kept for explaining a row as the run read it (empty when nothing was respelt).
SPELLINGS_TABLE = "unify_spellings"

_SCHEMA = {"f_ref": "string", "f_id": "string", "f_kind": "string"}

_log = logging.getLogger("cxlib.unify")


def record_key(value: ibis.StringValue) -> ibis.StringValue:
    """How a record id is compared when it is not found as written: trimmed, upper case, a whole number's
    decimal zeros (``4.0``) and an all-digit id's leading zeros (``0003``) dropped.

    Examples
    --------
    >>> t = ibis.memtable({"v": [" 4.0", "0003", "cust-7", "0", "00", "1.5", "007.00", None]})
    >>> t.select(k=record_key(t.v)).to_pyarrow()["k"].to_pylist()
    ['4', '3', 'CUST-7', '0', '0', '1.5', '7', None]
    """
    v = trim(value).upper()
    v = ibis.coalesce(v.re_extract(r"^([0-9]+)\.0+$", 1).nullif(""), v)  # each step read twice, not more
    return ibis.coalesce(v.re_extract(r"^0+([0-9]+)$", 1).nullif(""), v)


def spellings(ws: Workspace, refs: ibis.Table) -> ibis.Table:
    """``f_ref, f_id, f_kind``: each reference of ``refs`` (a column ``f_ref``, trimmed) that no contact record
    holds as written, with the one contact record id of the same :func:`record_key` (``f_kind`` ``contact``);
    else, where references with no contact are written in several ways with one key (``12346.0`` in an analytics
    export, ``12346`` in the shop's), the smallest of them (``reference``): the same customer number."""
    ids = _contact_ids(ws)
    odd = refs.select(f_ref=refs.f_ref.cast("string")).distinct()
    odd = odd.anti_join(ids, odd.f_ref == ids.k_id)
    odd = odd.mutate(k=record_key(odd.f_ref))
    keys = ids.mutate(k=record_key(ids.k_id)).group_by("k").aggregate(n=_.k_id.count(), f_id=_.k_id.min())
    to_contact = odd.join(keys.filter(_.n == 1), "k").select("f_ref", "f_id", f_kind=ibis.literal("contact"))
    rest = odd.anti_join(keys, "k")  # a key two contacts hold (4 and 04) is no one's: left as written
    many = rest.group_by("k").aggregate(n=_.f_ref.count(), rep=_.f_ref.min()).filter(_.n > 1)
    among = rest.join(many, "k").filter(_.f_ref != _.rep)
    return to_contact.union(among.select("f_ref", f_id="rep", f_kind=ibis.literal("reference")))


def _contact_ids(ws: Workspace) -> ibis.Table:
    """``k_id``: the contact records' distinct ids (no rows without contacts)."""
    if "contacts" not in ws.held():
        return ibis.memtable({"k_id": []}, schema={"k_id": "string"})
    c = ws.table("contacts")
    return c.select(k_id=c.record_id.cast("string")).distinct()


def run_spellings(ws: Workspace, refs: ibis.Table) -> ibis.Table:
    """The spellings the last unify run read its references in (:data:`SPELLINGS_TABLE`); found again among
    ``refs`` (every reference, as the run read them: :func:`spellings`) in a workspace unified before they
    were kept."""
    return ws.table(SPELLINGS_TABLE) if ws.has(SPELLINGS_TABLE) else spellings(ws, refs)


def kept_spellings(ws: Workspace) -> ibis.Table | pd.DataFrame:
    """What a unify run writes as :data:`SPELLINGS_TABLE`: its scratch :data:`SPELLINGS`, or no rows."""
    return ws.table(SPELLINGS) if ws.has(SPELLINGS) else pd.DataFrame({c: pd.Series(dtype="string") for c in _SCHEMA})


def respell(
    t: ibis.Table, column: str, spelt: ibis.Table | None, type_column: str | None = None, system: str | None = None
) -> ibis.Table:
    """``t`` with each reference in ``column`` that ``spelt`` (:func:`spellings`) names written as its contact's
    record id; with ``type_column``, only in the rows whose type there is ``record``; with ``system`` (a column
    naming the system a reference means, ``contact_ref_source``), not in the rows that name one."""
    if spelt is None:
        return t
    spelt = spelt.select("f_ref", "f_id")
    j = t.left_join(spelt, t[column] == spelt.f_ref)
    new = ibis.coalesce(j.f_id, j[column])
    if type_column is not None:
        new = ibis.ifelse(j[type_column] == "record", new, j[column])
    if system is not None:
        new = ibis.ifelse(j[system].isnull(), new, j[column])
    return j.mutate(**{column: new}).drop("f_ref", "f_id")


def warn_references(ws: Workspace, sig: ibis.Table, spelt: ibis.Table | None) -> dict[str, int]:
    """Log the rows whose ``contact_ref`` (``c_ref`` of the signatures ``sig``) reached their contact, or the
    other rows with the same customer number, only in another spelling (``spelt``), and -- where some references
    do name contact records -- those whose reference no contact record holds in any. Returns the numbers of rows
    by what became of them (``as written, contact, reference, own, none``)."""
    ids = _contact_ids(ws)
    s = sig.filter(sig.c_record.isnull() & sig.c_ref.notnull())
    s = s.select("table_name", "rows", "c_refsys", ref=trim(s.c_ref)).filter(_.ref != "")
    if spelt is None:
        spelt = ibis.memtable({col: [] for col in _SCHEMA}, schema=_SCHEMA)
    s = s.left_join(spelt, s.ref == spelt.f_ref)
    s = s.left_join(ids, s.ref == ids.k_id)
    # a reference naming its own system (contact_ref_source) that holds no such contact is that system's own
    how = ibis.cases(
        (s.k_id.notnull(), "as written"), (s.c_refsys.notnull(), "own"), (s.f_kind.notnull(), s.f_kind), else_="none"
    )
    example = ibis.struct({"ref": s.ref, "id": s.f_id}).min()
    got = s.group_by(how=how).aggregate(rows=s.rows.sum(), tables=s.table_name.collect(distinct=True), ex=example)
    found = {r["how"]: r for r in got.to_pyarrow().to_pylist()}
    for kind, words in _WORDS.items():
        if kind in found and (kind != "none" or {"as written", "contact"} & set(found)):
            r = found[kind]
            one = r["rows"] == 1
            rows = f"{r['rows']:,} row{'' if one else 's'} of {', '.join(sorted(r['tables']))} name{'s' if one else ''}"
            _log.warning("unify: " + words, rows, r["ex"]["ref"], r["ex"]["id"])
    return {k: int(r["rows"]) for k, r in found.items()}


#: What :func:`warn_references` says of each kind of reference (the rows, an example and what it was read as).
_WORDS = {
    "contact": "%s their contact (contact_ref) in another format than its record_id (e.g. %r for %r): each "
    "is read as the one record id that reads the same in upper case without a number's .0 or leading zeros",
    "reference": "%s their customer (contact_ref) in another format than other rows do (e.g. %r and %r): "
    "read as one customer number (the same in upper case without a number's .0 or leading zeros)",
    "none": "%s a contact (contact_ref, e.g. %r%.0s) that no contact record holds as written, nor one alone "
    "in another format: each is a customer of its own unless an e-mail or phone joins it. Are the contacts' "
    "record_id and these references the same system's ids?",
}
