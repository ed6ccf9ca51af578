"""The identity graph: the over-merge guard, then connected components by label propagation in the engine.

Identifiers that occur in the same signature are linked. Before that, an email, phone or cookie that
co-occurs with more distinct contact records than its limit (:attr:`UnifyConfig.max_records`) is demoted
-- junk addresses, call-centre numbers, shared kiosks -- and joins nothing; so is a placeholder, and one that
two contact records of people with different names share, however few share them. Components are found over integer
node ids: on DuckDB (in this process) in one pass by scipy's connected components over the edges the engine
made; on other engines (Spark) by label propagation with pointer jumping in Ibis. Both label a component by its
smallest node id, so the customers are the same on every engine.

Examples
--------
>>> sorted(union_find([("b", "a"), ("c", "b"), ("x", "y")]).items())
[('a', 'a'), ('b', 'a'), ('c', 'a'), ('x', 'x'), ('y', 'x')]
"""

from __future__ import annotations

from collections.abc import Iterable

import ibis
import numpy as np
import pandas as pd
from ibis import _

from cxlib._frames import drop_join_copies
from cxlib.engine import Workspace
from cxlib.unify.config import UnifyConfig, present
from cxlib.unify.normalise import _name_key, placeholder, trim
from cxlib.unify.records import contact_record, kept_shared_records, ref_systems, warn_guessed
from cxlib.unify.signatures import sig_identifiers, signatures, with_record
from cxlib.unify.spellings import SPELLINGS, spellings, warn_references

__all__ = ["identity_graph", "union_find"]

#: the two scratch tables label propagation writes in turn
_LABELS = ("_unify_labels_0", "_unify_labels_1")


def _demoted(ids: ibis.Table, sig: ibis.Table, cfg: UnifyConfig, names: ibis.Table | None = None) -> ibis.Table:
    """Identifiers that join no one: ``id_type, id_value, records, rows, limit, cause``.

    ``cause`` says why: ``count``, an identifier that co-occurs with more distinct contact records than its type
    allows (``rows``: the source rows where the identifier and a record occur together), unless every one of
    those records carries the same name (one person's many records: a CRM that makes a lead per web form);
    ``partners``, one seen with more distinct e-mails or phones (another kind than its own; ``records``: that
    count) than its limit allows -- a switchboard number typed on every ticket beside the customer's own e-mail,
    a till's cookie -- which reaches people through their own identifiers, not beside a contact record;
    ``placeholder`` (:func:`cxlib.unify.normalise.placeholder`), however few share it, with ``limit`` 0
    (``records`` and ``rows`` counted over every signature that carries it, with a record or not); ``names``,
    one within its limit shared by two contact records of different people (:func:`_name_conflicts`, with
    ``names``: the records' ``rec, fn, ln``)."""
    rec = ids.filter(_.id_type == "record").select("sid", rec=_.id_value)
    other = ids.filter(_.id_type != "record").select("sid", "id_type", "id_value")
    rows = sig.select("sid", "rows")
    j = other.join(rec, "sid").join(rows, "sid")
    # the records as a list, counted by its length: the pairs of a shared identifier's records come from it
    # without a second pass over the signatures (``names``)
    deg = j.group_by(["id_type", "id_value"]).aggregate(
        recs=j.rec.collect(distinct=True), rows=j.rows.sum().cast("int64")
    )
    deg = deg.mutate(records=deg.recs.length().cast("int64"))
    deg = deg.mutate(limit=_limit(deg.id_type, cfg), dummy=placeholder(deg.id_type, deg.id_value))
    cols = ["id_type", "id_value", "records", "rows", "limit", "cause"]
    over = deg.filter((deg.records > deg["limit"]) & ~deg.dummy)
    if names is not None:  # one person's records, every one with the same name, are not many people
        over = over.anti_join(_one_name(over, names), ["id_type", "id_value"]).select(*over.columns)
    over = over.mutate(cause=ibis.literal("count"))
    wide = _partners(other, rows, cfg)
    wide = wide.anti_join(over, ["id_type", "id_value"]).select(*wide.columns)
    p = other.filter(placeholder(other.id_type, other.id_value)).left_join(rec, "sid").join(rows, "sid")
    p = p.group_by(["id_type", "id_value"]).aggregate(records=p.rec.nunique(), rows=p.rows.sum().cast("int64"))
    parts = [over.select(cols), wide.select(cols),
             p.mutate(limit=ibis.literal(0, "int64"), cause=ibis.literal("placeholder"))]  # fmt: skip
    if names is not None:
        shared = deg.filter((deg.records >= 2) & (deg.records <= deg["limit"]) & ~deg.dummy)
        shared = shared.anti_join(wide, ["id_type", "id_value"]).select(*shared.columns)
        apart = _name_conflicts(shared.select("id_type", "id_value", rec=shared.recs.unnest()), names)
        parts.append(shared.semi_join(apart, ["id_type", "id_value"]).mutate(cause=ibis.literal("names")).select(cols))
    return ibis.union(*parts)


def _limit(id_type: ibis.StringValue, cfg: UnifyConfig) -> ibis.IntegerValue:
    """The over-merge guard's limit of an identifier type (:attr:`UnifyConfig.max_records`)."""
    return id_type.substitute(dict(cfg.max_records), else_=ibis.literal(10**9, "int64")).cast("int64")


def _partners(other: ibis.Table, rows: ibis.Table, cfg: UnifyConfig) -> ibis.Table:
    """``id_type, id_value, records, rows, limit, cause``: the e-mails, phones and cookies seen in the same source
    rows as more distinct e-mails, or more distinct phones, than their limit allows (``records``: the larger
    count; ``rows``: the rows that carry the identifier), placeholders aside (demoted as such). Cookies are no
    one's partner here: one person has many."""
    mate = other.filter(_.id_type != "anonymous_id").select("sid", m_type="id_type", m_value="id_value")
    pairs = other.join(mate, "sid").filter(_.m_type != _.id_type)
    n = pairs.group_by(["id_type", "id_value", "m_type"]).aggregate(k=pairs.m_value.nunique())
    n = n.group_by(["id_type", "id_value"]).aggregate(records=n.k.max().cast("int64"))
    n = n.mutate(limit=_limit(n.id_type, cfg))
    n = n.filter((n.records > n["limit"]) & ~placeholder(n.id_type, n.id_value))
    carried = other.semi_join(n, ["id_type", "id_value"]).join(rows, "sid")
    carried = carried.group_by(["id_type", "id_value"]).aggregate(rows=carried.rows.sum().cast("int64"))
    return n.join(carried, ["id_type", "id_value"]).mutate(cause=ibis.literal("partners"))


def _one_name(over: ibis.Table, names: ibis.Table) -> ibis.Table:
    """``id_type, id_value`` of the identifiers in ``over`` (with ``recs``, their records) whose records all carry
    one first name and surname (as compared: :func:`~cxlib.unify.normalise._name_key`)."""
    r = over.select("id_type", "id_value", rec=over.recs.unnest()).left_join(names, "rec")
    whole = ibis.cases((r.fn.notnull() & r.ln.notnull(), r.fn + " " + r.ln), else_=ibis.null("string"))
    r = r.mutate(_name=whole)
    g = r.group_by(["id_type", "id_value"]).aggregate(
        n_names=r._name.nunique(), nameless=r._name.isnull().sum().cast("int64")
    )
    return g.filter((g.n_names == 1) & (g.nameless == 0)).select("id_type", "id_value")


def _differ(x: ibis.StringValue, y: ibis.StringValue) -> ibis.BooleanValue:
    """Two names that are not one name mistyped or shortened: they start with different letters and more than
    half of the longer one must change (``ann``/``bob``; not ``morris``/``mroris``, ``dan``/``daniel`` or
    ``cathy``/``kathy``). A nickname that changes the first letter (``liz``/``elizabeth``) differs: two records
    are two people only when their surnames differ as well (:func:`_name_conflicts`).

    Examples
    --------
    >>> t = ibis.memtable({"x": ["ann", "cole", "morris", "dan", "cathy", "liz"],
    ...                    "y": ["bob", "marsh", "mroris", "daniel", "kathy", "elizabeth"]})
    >>> t.select(d=_differ(t.x, t.y)).to_pyarrow()["d"].to_pylist()
    [True, True, False, False, False, True]
    """
    return (x.substr(0, 1) != y.substr(0, 1)) & (x.levenshtein(y) * 2 > ibis.greatest(x.length(), y.length()))


def _name_conflicts(j: ibis.Table, names: ibis.Table) -> ibis.Table:
    """``id_type, id_value`` of the identifiers in ``j`` (``id_type, id_value, rec``, distinct) that two contact
    records of different people share: both their first names and their surnames differ (:func:`_differ`), either way
    round (a record with the two swapped is the same person). A shop's inbox, a switchboard's number, a kiosk's
    cookie: a household's members share a surname and are not told apart here, nor a person's records with a
    typo, a nickname or an initial (``v``/``victoria``) in one of the two."""
    a = j.join(names, "rec")
    b = a.select("id_type", "id_value", rec_b="rec", fn_b="fn", ln_b="ln")
    pairs = a.join(b, ["id_type", "id_value"]).filter(_.rec < _.rec_b)
    apart = (
        _differ(pairs.fn, pairs.fn_b)
        & _differ(pairs.ln, pairs.ln_b)
        & _differ(pairs.fn, pairs.ln_b)
        & _differ(pairs.ln, pairs.fn_b)
    )
    return pairs.filter(apart).select("id_type", "id_value").distinct()


def _record_names(ws: Workspace, held: ibis.Table | None) -> ibis.Table | None:
    """Each contact record's ``rec`` (its identifier, :func:`~cxlib.unify.records.contact_record`) with its
    first name and surname as compared (lower-case, without ``. , ' -``): ``rec, fn, ln``, both present.
    ``None`` when the contacts have no names."""
    if not ws.has("contacts"):
        return None
    c = ws.table("contacts")
    if not {"first_name", "last_name"} <= set(c.columns):
        return None
    key = {n: _name_key(c[n].cast("string")) for n in ("first_name", "last_name")}
    out = c.select(rec=contact_record(c, held), fn=key["first_name"], ln=key["last_name"])
    return out.filter((out.fn != "") & (out.ln != "")).distinct()


def _graph(ws: Workspace, usable: ibis.Table) -> tuple[ibis.Table, ibis.Table, ibis.Table]:
    """``(keys, members, edges)`` of the usable identifiers: integer node ids (``id_type, id_value, node,
    nid``), each signature's nodes (``sid, nid, rank``) and the graph's edges (``a, b``, both ways)."""
    # integer node ids, in the order of the node keys: the smallest id in a component is its smallest key
    keys = usable.select("id_type", "id_value").distinct().mutate(node=_.id_type + ":" + _.id_value)
    keys = ws.scratch("_unify_keys", keys.mutate(nid=ibis.row_number().over(order_by=keys.node)))
    members = ws.scratch("_unify_members", usable.join(keys, ["id_type", "id_value"]).select("sid", "nid", "rank"))
    # star edges: each identifier of a signature to its smallest one (both ways)
    anchor = members.group_by("sid").aggregate(anchor=members.nid.min())
    e = members.join(anchor, "sid").filter(_.nid != _.anchor)
    edges = e.select(a=e.nid, b=e.anchor).distinct()
    edges = ws.scratch("_unify_edges", ibis.union(edges, edges.select(a=edges.b, b=edges.a), distinct=True))
    return keys, members, edges


def _propagate_once(ws: Workspace, labels: ibis.Table, edges: ibis.Table, name: str) -> tuple[ibis.Table, int]:
    """One round: each node takes the smallest label among its neighbours, then the label of its label
    (pointer jumping). Returns the new labels (scratch table ``name``, which ``labels`` must not be) and how
    many changed."""
    nb = edges.join(labels, edges.b == labels.node).group_by(edges.a).aggregate(nl=labels.label.min())
    step = labels.left_join(nb, labels.node == nb.a).select(
        node=labels.node, label=ibis.least(labels.label, ibis.coalesce(nb.nl, labels.label))
    )
    # pointer jumping: adopt the label of one's label
    step = ws.scratch("_unify_step", step)
    hop = ws.table("_unify_step").view()
    jumped = step.left_join(hop, step.label == hop.node).select(
        node=step.node, label=ibis.least(step.label, ibis.coalesce(hop.label, step.label))
    )
    new = ws.scratch(name, jumped)
    changed = new.join(labels, "node").filter(_.label != _.label_right).count().to_pyarrow().as_py()
    return new, changed


def _propagate(
    ws: Workspace, keys: ibis.Table, edges: ibis.Table, max_iterations: int, progress: bool
) -> tuple[ibis.Table, int]:
    """Label propagation to a fixed point (or ``max_iterations``): ``(labels, iterations)``, where ``labels``
    has ``node, label`` and the label is the smallest node id of the node's component."""
    labels = keys.select(node="nid", label="nid")
    iterations = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="identity graph", unit="round")
    while iterations < max_iterations:
        iterations += 1
        # two tables in turn: each round reads the other's labels (not a copy per round)
        labels, changed = _propagate_once(ws, labels, edges, _LABELS[iterations % 2])
        if bar is not None:
            bar.update(1)
            bar.set_postfix(changed=changed)
        if changed == 0:
            break
    if bar is not None:
        bar.close()
    return labels, iterations


def _components(ws: Workspace, keys: ibis.Table, edges: ibis.Table) -> ibis.Table:
    """The fixed point of :func:`_propagate` in one pass, in process: scipy's connected components over the
    engine's integer node ids (the edges come out as two integer columns), each node labelled by the smallest
    node id of its component. On DuckDB, where the engine is in this process: label propagation reads the whole
    graph once per round (1M customers: 7 rounds of about 8 s); this reads it once. Returns the scratch table
    ``_unify_labels_0`` (``node, label``)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    # the ids are the keys' row numbers: every one from the lowest to the highest is a node
    span = keys.aggregate(lo=keys.nid.min(), hi=keys.nid.max()).to_pyarrow().to_pylist()[0]
    lo, n = int(span["lo"] or 0), 0 if span["hi"] is None else int(span["hi"]) - int(span["lo"]) + 1
    if n == 0:
        return ws.scratch(_LABELS[0], pd.DataFrame({"node": np.zeros(0, np.int64), "label": np.zeros(0, np.int64)}))
    half = edges.filter(edges.a < edges.b).to_pyarrow()  # the edges are there both ways
    a, b = (half[c].to_numpy().astype(np.int64) - lo for c in ("a", "b"))
    graph = coo_matrix((np.ones(len(a), dtype=np.int8), (a, b)), shape=(n, n)).tocsr()
    comp = connected_components(graph, directed=False)[1]
    first = np.unique(comp, return_index=True)[1]  # the nodes in ascending id: a component's first is its smallest
    labels = pd.DataFrame({"node": np.arange(n, dtype=np.int64) + lo, "label": first[comp].astype(np.int64) + lo})
    return ws.scratch(_LABELS[0], labels)


def _signature_components(members: ibis.Table, labels: ibis.Table, keys: ibis.Table) -> ibis.Table:
    """``sid, component, best``: each signature's component (all its usable identifiers share one) and strongest
    identifier, for the signatures with a usable identifier."""
    per_sig = (
        members.join(labels, members.nid == labels.node)
        .group_by("sid")
        .aggregate(label=labels.label.min(), best=members.rank.min())
    )
    return per_sig.join(keys.select(label="nid", component="node"), "label").select("sid", "component", "best")


def _with_components(sig: ibis.Table, components: ibis.Table) -> ibis.Table:
    """The signatures with their ``component`` and ``best``, both null for a signature with no usable
    identifier."""
    return sig.left_join(components, "sid").pipe(drop_join_copies).drop("record", "email", "phone", "anonymous_id")


#: what :func:`graph_parts` leaves for the caller to drop once it has read the signatures: the signatures the
#: graph read (``_unify_sig1`` when references were respelt) and their components
SIGNATURE_TABLES = ("_unify_sig0", "_unify_sig1", "_unify_sig_components")


def _respelt(
    ws: Workspace, sig: ibis.Table, held: ibis.Table | None, systems: ibis.Table | None
) -> tuple[ibis.Table, ibis.Table | None]:
    """The signatures ``sig`` again with each reference written in another format than its contact's record id
    (``4.0``, ``0003``, ``cust-7``) read as that id (:mod:`cxlib.unify.spellings`), and the spellings (the
    scratch table :data:`SPELLINGS`); ``sig`` and ``None`` when none is (one query). Logs what was respelt and
    the references that reach no contact."""
    # a reference naming its system (contact_ref_source) means that system's record as written: not respelt
    refs = sig.filter(sig.c_record.isnull() & sig.c_ref.notnull() & sig.c_refsys.isnull())
    refs = refs.select(f_ref=trim(refs.c_ref))
    ws.drop_scratch(SPELLINGS)
    spelt = ws.scratch(SPELLINGS, spellings(ws, refs))
    if int(spelt.count().to_pyarrow().as_py()) == 0:
        ws.drop_scratch(SPELLINGS)
        warn_references(ws, sig, None)
        return sig, None
    warn_references(ws, sig, spelt)
    again = ws.scratch("_unify_sig1", with_record(sig.drop("record"), held, systems, spelt))
    ws.drop_scratch("_unify_sig0")
    return again, spelt


def identity_graph(
    ws: Workspace, config: UnifyConfig | None = None, *, progress: bool = False
) -> tuple[ibis.Table, ibis.Table, int]:
    """Connected components of the identifier graph, computed in the engine.

    Returns ``(nodes, demoted, iterations)``: ``nodes`` has ``id_type, id_value, component`` for every
    usable identifier (the component is the smallest node key, ``type:value``, in it), ``demoted`` the
    identifiers the over-merge guard removed (``id_type, id_value, records, rows, limit``), ``iterations`` the
    rounds of label propagation (0 on DuckDB: the components in one pass, :func:`_components`). Runs on any
    Ibis backend. Also leaves the scratch table ``_unify_sig`` (the signatures, each with its ``component`` and
    strongest identifier ``best``; both null when it has no usable identifier) for :func:`unify`.

    Examples
    --------
    >>> import pandas as pd, cxlib
    >>> ws = cxlib.connect()
    >>> _ = ws.write("contacts", pd.DataFrame({"source": ["a", "b", "c"], "record_id": ["1", "2", "3"],
    ...     "email": ["x@y.com", "X@Y.com", None], "phone": [None, "+44 7700 900123", "07700900123"],
    ...     "country": ["GB"] * 3, "updated_at": pd.to_datetime(["2024-01-01"] * 3)}))
    >>> nodes, demoted, _ = identity_graph(ws)
    >>> nodes.to_pandas()["component"].nunique()
    1
    """
    nodes, demoted, iterations, signed = graph_parts(ws, config, progress=progress)
    ws.scratch("_unify_sig", signed)
    ws.drop_scratch(*SIGNATURE_TABLES)
    return nodes, demoted, iterations


def graph_parts(
    ws: Workspace, config: UnifyConfig | None = None, *, progress: bool = False
) -> tuple[ibis.Table, ibis.Table, int, ibis.Table]:
    """:func:`identity_graph`'s ``nodes, demoted, iterations`` and the signatures with their components, as a
    join of the signatures the graph read and a narrow table of their components (``sid, component, best``),
    not a copy of every signature (1M customers: 9.5M wide rows, 12 s, 4 GB spilled to the temporary folder).
    The caller drops :data:`SIGNATURE_TABLES` once it has read them."""
    cfg = config or UnifyConfig()
    held = kept_shared_records(ws, cfg)  # record ids two systems both use (a CRM and a loyalty system from 1)
    systems = ref_systems(ws, present(ws))  # None unless a row names its reference's system (contact_ref_source)
    sig = ws.scratch("_unify_sig0", signatures(ws, cfg, held, systems), row_id="sid")
    sig, spelt = _respelt(ws, sig, held, systems)
    warn_guessed(sig, held, spelt)
    ids = ws.scratch("_unify_ids", sig_identifiers(sig))
    names = _record_names(ws, held)  # read three times by the guard: normalised once (1M: 2M records)
    names = None if names is None else ws.scratch("_unify_names", names)
    demoted = ws.scratch("_unify_demoted", _demoted(ids, sig, cfg, names))
    keys, members, edges = _graph(ws, ids.anti_join(demoted, ["id_type", "id_value"]))
    if ws.name == "duckdb":  # in process: one pass, not a round per hop (the same labels: test_identity_graph)
        labels, iterations = _components(ws, keys, edges), 0
    else:
        labels, iterations = _propagate(ws, keys, edges, cfg.max_iterations, progress)
    comp = labels.join(keys.select(label="nid", component="node"), "label").select(nid="node", component="component")
    nodes = ws.scratch("_unify_nodes", keys.join(comp, "nid").select("id_type", "id_value", "node", "component"))
    components = ws.scratch("_unify_sig_components", _signature_components(members, labels, keys))
    # what only the graph read: at 1M customers several GB that would otherwise go to the temporary folder
    ws.drop_scratch("_unify_names", "_unify_keys", "_unify_members", "_unify_edges", "_unify_step", *_LABELS)
    return nodes, demoted, iterations, _with_components(sig, components)


def union_find(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Each element of ``pairs`` mapped to the smallest element of its connected set (small, in Python)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    return {x: find(x) for x in parent}
