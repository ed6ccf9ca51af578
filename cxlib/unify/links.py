"""Every row to its customer: customer ids, ``identity_links``, ``touchpoints`` and ``unify_changes``.

Each signature's component (:mod:`cxlib.unify.graph`), joined by the probabilistic merges
(:mod:`cxlib.unify.probabilistic`), is a customer with a stable id: ``C`` + a hash of its oldest member
row (by time, then table, source and key) when it holds a contact record, an email or a phone, else ``A``.
Rows reach their customer by a null-safe hash join on their raw identifiers against the signatures; rows
with no usable identifier get their own anonymous customer (``A`` + a hash of the row's key).

The figures read back from ``identity_links`` are defined here once: :func:`rows_by_rule` and
:func:`source_overlap`.

Examples
--------
>>> import pandas as pd, cxlib
>>> ws = cxlib.connect()
>>> _ = ws.write("identity_links", pd.DataFrame({"table_name": ["contacts"] * 3, "source": ["crm", "shop", "crm"],
...     "record_key": ["1", "2", "3"], "customer_id": ["C1", "C1", "A9"],
...     "rule": ["contact_record", "email", "no_identifier"]}))
>>> rows_by_rule(ws).to_dict("list")
{'rule': ['contact_record', 'email', 'no_identifier'], 'rows': [1, 1, 1]}
>>> source_overlap(ws).to_dict("list")
{'source_a': ['crm', 'crm', 'shop', 'shop'], 'source_b': ['crm', 'shop', 'crm', 'shop'], 'customers': [1, 1, 1, 1]}
"""

from __future__ import annotations

from pathlib import Path

import ibis
import pandas as pd
from ibis import _

from cxlib._frames import drop_join_copies, empty_frame
from cxlib.categories import distinct_values
from cxlib.engine import Workspace, opened
from cxlib.schema import STREAM_CATEGORIES, TABLES
from cxlib.unify.config import key_column, present, union
from cxlib.unify.signatures import ID_RANK, SIG_RAW, raw_identifiers, row_base

__all__ = [
    "CONTACT_LINKS_TABLE",
    "LINK_COLUMNS",
    "TOUCHPOINT_COLUMNS",
    "assign_customers",
    "customer_ids",
    "lone_rows",
    "previous_links",
    "rows_by_rule",
    "source_overlap",
    "write_changes",
    "write_identity_links",
    "write_touchpoints",
]

#: Columns of ``touchpoints`` and their types.
_TOUCHPOINT_SCHEMA = {
    "customer_id": "string",
    "ts": "timestamp",
    "table_name": "string",
    "source": "string",
    "record_key": "string",
    "channel": "string",
    "event": "string",
    "campaign": "string",
    "revenue": "float64",
    "amount": "float64",
    "status": "string",
    "return_reason": "string",
    "topic": "string",
    "resolved": "boolean",
    "closed_at": "timestamp",
    "csat": "int64",
    "nps": "int64",
    "sequence": "int64",
    "rule": "string",
    "match_probability": "float64",
}
TOUCHPOINT_COLUMNS = tuple(_TOUCHPOINT_SCHEMA)

#: Columns of ``identity_links`` and their types.
_LINK_SCHEMA = {
    "table_name": "string",
    "source": "string",
    "record_key": "string",
    "customer_id": "string",
    "rule": "string",
    "match_probability": "float64",
}
LINK_COLUMNS = tuple(_LINK_SCHEMA)

#: The contact records' rows of ``identity_links`` (a table): on DuckDB ``identity_links`` is a view of these
#: and of the stream's rows in ``touchpoints`` (:func:`write_identity_links`).
CONTACT_LINKS_TABLE = "identity_links_contacts"

#: The deterministic rule a row is credited to, by the rank of its strongest identifier (:data:`ID_RANK`).
_RULE_OF_RANK = {
    ID_RANK["record"]: "contact_record",
    ID_RANK["email"]: "email",
    ID_RANK["phone"]: "phone",
    ID_RANK["anonymous_id"]: "anonymous_id",
}


def _empty(schema: dict[str, str]) -> ibis.Table:
    """A table with no rows and ``schema``'s columns and types."""
    return ibis.memtable(pd.DataFrame(columns=list(schema))).cast(schema)


@ibis.udf.scalar.builtin(name="sha1")
def _sha1(text: str) -> str:  # type: ignore[empty-body]
    """The engine's SHA-1 of ``text`` (its UTF-8 bytes) as 40 lower-case hex digits: DuckDB's and Spark's own
    ``sha1`` (ibis's ``hexdigest`` offers SHA-1 on Spark only); what ``hashlib.sha1(text.encode()).hexdigest()``
    gives."""


def customer_ids(first_row: ibis.StringValue, known: ibis.BooleanValue) -> ibis.StringValue:
    """A customer's stable id from its oldest member row ``first_row``: ``C`` (``known``: it holds a contact
    record, an email or a phone; else ``A``) and the first 12 hex digits of the row's SHA-1. In the engine, one
    per customer (millions at a million people), not pulled into pandas to be hashed there.

    Examples
    --------
    >>> import hashlib, ibis
    >>> rows = ["2024-01-01|contacts|crm|1", "2024-02-01|events|web|é"]
    >>> t = ibis.memtable({"first_row": rows, "known": [True, None]})
    >>> ids = t.select(id=customer_ids(t.first_row, t.known)).to_pandas()["id"].tolist()
    >>> ids
    ['Cebeae5af9f21', 'Af5b54a3bb28f']
    >>> [p + hashlib.sha1(r.encode()).hexdigest()[:12] for p, r in zip("CA", rows)] == ids
    True
    """
    return ibis.ifelse(known.fill_null(False), "C", "A") + _sha1(first_row).substr(0, 12)


def _with_rule(sig: ibis.Table, merge: ibis.Table) -> ibis.Table:
    """The signatures with their ``cluster`` (component after probabilistic merges), ``rule`` and
    ``match_probability`` (of the merge that joined them, if one did)."""
    s = sig.left_join(merge, sig.component == merge.component).pipe(drop_join_copies)
    rule_det = s.best.substitute(_RULE_OF_RANK, else_=ibis.literal("no_identifier"))
    merged = s.cluster.notnull() & (s.cluster != s.component)
    return s.mutate(
        cluster=ibis.coalesce(s.cluster, s.component),
        rule=ibis.cases(
            (s.component.isnull(), ibis.literal("no_identifier")),
            (merged, ibis.literal("probabilistic")),
            else_=rule_det,
        ),
        match_probability=ibis.cases((merged, s.match_probability), else_=ibis.null("float64")),
    )


def assign_customers(ws: Workspace, sig: ibis.Table, merge: ibis.Table) -> ibis.Table:
    """The signatures with their ``customer_id`` (null for those with no usable identifier), ``cluster``,
    ``rule`` and ``match_probability``: the scratch table ``_unify_sigmap``.

    Stable ids: a hash of the oldest member row, ``C`` when the cluster holds a contact record, an email or
    a phone (else ``A``).
    """
    s = _with_rule(sig, merge)
    first = (
        s.filter(s.cluster.notnull())
        .group_by("cluster")
        .aggregate(first_row=_.first_row.min(), is_known=(_.best <= ID_RANK["phone"]).max())
    )
    idmap = first.select("cluster", customer_id=customer_ids(first.first_row, first.is_known))
    return ws.scratch("_unify_sigmap", s.left_join(idmap, "cluster").pipe(drop_join_copies))


def _with_customer(ws: Workspace, sigmap: ibis.Table, name: str, lone_only: bool = False) -> ibis.Table:
    """The rows of table ``name`` with their ``customer_id, rule, match_probability``, by their signature.

    A hash join of the rows on their raw identifiers (null-safe) against the signatures, which are few;
    rows with no usable identifier get their own anonymous customer, ``A`` + a hash of the row's key.
    With ``lone_only``, only those rows.
    """
    t = ws.table(name)
    raw = raw_identifiers(t, name)
    sm = sigmap.filter(sigmap.table_name == name)
    if lone_only:
        sm = sm.filter(sm.customer_id.isnull())
    sm = sm.select(
        *raw, sm_source="source", sm_customer_id="customer_id", sm_rule="rule", sm_probability="match_probability"
    )
    preds = [t.source.cast("string").identical_to(sm.sm_source)] + [v.identical_to(sm[c]) for c, v in raw.items()]
    j = t.join(sm, preds)
    row_key = ibis.literal(name + "|") + j.source + "|" + j[key_column(name)].cast("string").fill_null("")
    drop = [c for c in j.columns if c.startswith("sm_") or c in SIG_RAW]  # the signature's copies
    return j.mutate(
        customer_id=ibis.coalesce(j.sm_customer_id, ibis.literal("A") + row_key.hexdigest("md5").substr(0, 12)),
        rule=j.sm_rule,
        match_probability=j.sm_probability,
    ).drop(*drop)


def _linked_rows(ws: Workspace, sigmap: ibis.Table, name: str) -> ibis.Table:
    """``identity_links`` rows of table ``name``."""
    j = _with_customer(ws, sigmap, name)
    return j.select(
        table_name=ibis.literal(name),
        source=j.source.cast("string"),
        record_key=j[key_column(name)].cast("string"),
        customer_id="customer_id",
        rule="rule",
        match_probability=j.match_probability.cast("float64"),
    )


def _links_of(ws: Workspace) -> ibis.Table:
    """``identity_links`` as a query: the contact records' links and the stream's rows of ``touchpoints``
    (each with its customer, rule and match probability)."""
    tp = ws.table("touchpoints")
    stream = tp.select(
        table_name="table_name",
        source="source",
        record_key=tp.record_key.cast("string"),
        customer_id="customer_id",
        rule="rule",
        match_probability="match_probability",
    )
    return union([ws.table(CONTACT_LINKS_TABLE), stream])


def write_identity_links(ws: Workspace, sigmap: ibis.Table) -> ibis.Table:
    """Write ``identity_links`` (one row for every row of every linked table) and return it.

    The stream's rows are already in ``touchpoints`` (:func:`write_touchpoints`, written first) with their
    customer, rule and match probability, so on DuckDB ``identity_links`` is a view of them and of the contact
    records' links (:data:`CONTACT_LINKS_TABLE`), not a second copy of every event: at a million customers
    71M rows written twice (a plain copy of them alone took 27.5 s).
    """
    if "contacts" in present(ws):
        ws.write(CONTACT_LINKS_TABLE, _linked_rows(ws, sigmap, "contacts"))
    else:  # empty, not absent: a previous run's contact links must not stay in the view
        ws.write(CONTACT_LINKS_TABLE, _empty(_LINK_SCHEMA))
    return ws.write_view("identity_links", _links_of)


def lone_rows(ws: Workspace, sigmap: ibis.Table) -> ibis.Table:
    """``customer_id, source, ts, c_email`` of the rows with no usable identifier (each its own anonymous
    customer), over every linked table; ``c_email`` is the raw address outside events, for the enrichment match.

    The events' are read from ``touchpoints`` when it is written (:func:`write_touchpoints`; its rule says which
    rows had no identifier) instead of joining every event to the signatures again.
    """
    tp = ws.table("touchpoints") if "touchpoints" in ws.held() else None
    parts = []
    for name in present(ws):
        if name == "events" and tp is not None and "rule" in tp.columns:
            ev = tp.filter((tp.table_name == "events") & (tp.rule == "no_identifier"))
            lone = dict(source=ev.source.cast("string"), ts=ev.ts.cast("timestamp"), c_email=ibis.null("string"))
            parts.append(ev.select("customer_id", **lone))
            continue
        j = _with_customer(ws, sigmap, name, lone_only=True)
        email = j.email.cast("string") if "email" in j.columns and name != "events" else ibis.null("string")
        parts.append(j.select("customer_id", source=j.source.cast("string"), ts=row_base(j, name)["ts"], c_email=email))
    return union(parts)


def _touchpoint_columns(name: str, t: ibis.Table) -> dict[str, ibis.Value]:
    """What a row of ``name`` says in the stream; every other touchpoint column is null."""
    if name == "events":
        seq = dict(sequence=t.sequence.cast("int64")) if "sequence" in t.columns else {}
        return dict(channel=t.channel, event=t.event, campaign=t.campaign, amount=t.revenue, **seq)
    if name == "orders":
        return dict(
            channel=t.channel,
            event=ibis.literal("order"),
            amount=t.amount,
            status=t.status,
            revenue=ibis.cases((t.status == "completed", t.amount), else_=0.0),
            return_reason=t.return_reason,
        )
    if name == "tickets":
        return dict(
            channel=t.channel,
            event=ibis.literal("ticket"),
            topic=t.topic,
            resolved=t.resolved,
            closed_at=t.closed_at.cast("timestamp"),
            csat=t.csat.cast("int64"),
        )
    return dict(channel=ibis.literal("survey"), event=ibis.literal("survey"), nps=t.nps.cast("int64"))


def write_touchpoints(ws: Workspace, sigmap: ibis.Table) -> None:
    """The unified stream: every event, order, ticket and survey with its customer, and the ``rule`` and
    ``match_probability`` that linked it (the stream's half of ``identity_links``).

    Written in whatever order the engine makes it, not sorted: every reader orders the rows it needs itself
    (by customer, time and the ordering rule: :func:`cxlib.journeys.inputs.ties`). A global sort of every
    source row cost a fifth of the write and most of its memory (100k customers: 9.1 -> 7.4 s, peak 3.4 ->
    2.2 GB).
    """
    parts, raw = [], []
    held = ws.held()  # one catalogue query, not one per table
    for name in ("events", "orders", "tickets", "surveys"):
        if name not in held:
            continue
        base = ws.table(name)
        own = dict(table_name=ibis.literal(name), source=base.source, **_touchpoint_columns(name, base))
        raw.append(base.select(**{c: own.get(c, ibis.null()).cast("string") for c in STREAM_CATEGORIES}))
        t = _with_customer(ws, sigmap, name)
        cols = dict(
            customer_id=t.customer_id,
            ts=t[TABLES[name].time_column].cast("timestamp"),
            table_name=ibis.literal(name),
            source=t.source,
            record_key=t[key_column(name)],
            **_touchpoint_columns(name, t),
            rule=t.rule,
            match_probability=t.match_probability.cast("float64"),
        )
        parts.append(t.select(**{c: cols.get(c, ibis.null(typ)) for c, typ in _TOUCHPOINT_SCHEMA.items()}))
    if not parts:  # contacts only: an empty stream with the right columns
        ws.write("touchpoints", _empty(_TOUCHPOINT_SCHEMA))
        return
    tp = union(parts, distinct=False)
    ws.write("touchpoints", tp, categories=_categories(ws, sigmap, raw) if ws.name == "duckdb" else None)


def _categories(ws: Workspace, sigmap: ibis.Table, raw: list[ibis.Table]) -> dict[str, list[str]]:
    """The values of each of the stream's columns of few values (:data:`~cxlib.schema.STREAM_CATEGORIES` and
    ``rule``), read from the source tables' own columns (without the join to the signatures that gives each row
    its customer) and the signatures' rules: what the write declares them with."""
    cats = distinct_values(union(raw), STREAM_CATEGORIES)
    rules = sigmap.select("rule").distinct().to_pyarrow().column("rule").to_pylist()
    cats["rule"] = sorted({r for r in rules if r is not None} | {"no_identifier"})
    return cats


def previous_links(ws: Workspace) -> ibis.Table | None:
    """The last run's ``table_name, source, record_key, old_id``, if there was one.

    Read from the last run's own table, by its name, not copied: inside the step the new ``identity_links`` is
    written under a staging name and swapped in when the step ends, so the old one is there, unchanged, until
    after :func:`write_changes` has read it (a copy was a second write of every source row: at a million
    customers 71M rows).
    """
    if not ws.has("identity_links"):
        return None
    old = ws.backend.table("identity_links")  # the table under its own name, never the step's staged one
    return old.select("table_name", "source", "record_key", old_id=old.customer_id)


def write_changes(ws: Workspace, links: ibis.Table, prev: ibis.Table | None) -> pd.DataFrame:
    """Customers merged or split since the previous run, written to ``unify_changes``.

    A merge: one new customer holds rows of several previous customers. A split: the rows of one previous
    customer went to several new ones. Ids of customers whose rows did not change stay the same.
    """
    cols = {"change": "string", "old_customer_id": "string", "new_customer_id": "string", "rows": "int64"}
    out = empty_frame(cols)
    if prev is not None:
        j = links.join(prev, ["table_name", "source", "record_key"])
        pairs = j.group_by([j.old_id, j.customer_id]).aggregate(rows=j.count()).to_pandas()
        pairs = pairs.rename(columns={"old_id": "old_customer_id", "customer_id": "new_customer_id"})
        n_old = pairs.groupby("new_customer_id")["old_customer_id"].transform("nunique")
        n_new = pairs.groupby("old_customer_id")["new_customer_id"].transform("nunique")
        merged = pairs[n_old > 1].assign(change="merge")
        split = pairs[n_new > 1].assign(change="split")
        out = pd.concat([out, merged, split], ignore_index=True)[list(cols)].astype(cols)
        out = out.sort_values(["change", "new_customer_id", "old_customer_id"], ignore_index=True)
    ws.write("unify_changes", out)
    return out


def rows_by_rule(workspace: str | Path | Workspace) -> pd.DataFrame:
    """How the source rows were linked: ``rule, rows`` (int64), one row per rule, sorted by rule.

    The one definition of "rows by rule" (computed in the engine from ``identity_links``): :func:`unify`'s
    ``UnifyResult.rules``, the report and the notebooks show this. Rules: ``contact_record``, ``email``,
    ``phone``, ``anonymous_id`` (the row's strongest usable identifier), ``probabilistic`` (its component
    was joined by a probabilistic match) and ``no_identifier`` (its own anonymous customer).
    """
    with opened(workspace, read_only=True) as ws:
        lk = ws.table("identity_links")
        out = lk.group_by("rule").aggregate(rows=lk.count().cast("int64")).to_pandas()
    return out.sort_values("rule", ignore_index=True)


def source_overlap(workspace: str | Path | Workspace) -> pd.DataFrame:
    """Which systems know which customers: customers known to each pair of sources (engine query).

    Returns ``source_a, source_b, customers`` (the diagonal is each source's own count), known customers only.
    """
    with opened(workspace, read_only=True) as ws:
        lk = ws.table("identity_links")
        cs = lk.filter(lk.customer_id.startswith("C")).select("customer_id", "source").distinct()
        other = cs.view()
        j = cs.join(other, cs.customer_id == other.customer_id)
        out = (
            j.group_by([cs.source.name("source_a"), other.source.name("source_b")])
            .aggregate(customers=j.count())
            .to_pandas()
        )
    return out.sort_values(["source_a", "source_b"], ignore_index=True)
