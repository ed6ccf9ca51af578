"""Resolve every source row to one customer: identity graph, over-merge guards, probabilistic matching.

:func:`unify` reads the loaded workspace and writes three tables back to it:

``identity_links``
    One row for **every** row of contacts, events, orders, tickets and surveys:
    ``table_name, source, record_key, customer_id, rule, match_probability``.
``customers``
    The golden record per customer (see :data:`SURVIVORSHIP`), with first/last seen, the number of
    source records, the list of sources, enrichment attributes and ``is_anonymous``.
``touchpoints``
    The unified, time-ordered stream later steps read (see :data:`TOUCHPOINT_COLUMNS`).

and reports: ``unify_demoted`` (identifiers the over-merge guard demoted, and why), ``unify_matches`` (the
probabilistic merges, with their match probability) and ``unify_identifiers`` (every usable normalised
identifier with its customer and number of rows, for :func:`lookup`).

How it works
------------
0. **Signatures**: the rows of each table are grouped by source and raw identifier columns (a web session's
   hundred page views share one cookie and one login). Everything up to the customer ids works on these
   distinct signatures -- a few million at 1M customers instead of 70 million rows -- and each row reaches
   its customer at the end by one null-safe hash join on its raw identifiers.
1. **Identifiers** are normalised in the engine (Ibis): emails lower-cased with plus-tags removed and
   gmail dots folded; phones to E.164 using the record's country (or ``default_country``); cookies and
   devices as given; ``contact_ref`` points at a contact's ``record_id``.
2. **Over-merge guard**: an email, phone or cookie that co-occurs with more distinct contact records than
   its limit (:attr:`UnifyConfig.max_records`) is demoted -- junk addresses, call-centre numbers, shared
   kiosks -- and joins nothing.
3. **Identity graph**: identifiers that occur in the same row are linked; connected components are found
   in the engine by label propagation with pointer jumping over integer node ids (DuckDB by default; the
   same Ibis code runs on Spark).
4. **Probabilistic matching** (splink, Fellegi-Sunter trained by EM without labels) compares contact
   records on names, birth date, street, postcode and city, blocked on postcode, surname + birth date and
   first name + birth date. Pairs above ``match_threshold`` join their components.
5. **Customer ids** are stable: ``C`` + a hash of the customer's oldest member row (by time, then table,
   source and key), so re-running on the same data, in any row order, gives the same ids. Rows with no
   usable identifier get their own anonymous customer (``A`` + hash), flagged, never dropped.

Examples
--------
>>> import tempfile, cxlib
>>> from cxlib import synth, unify
>>> folder = tempfile.mkdtemp()
>>> _ = synth.write_company(folder, n_customers=300, seed=1, months=6, progress=False)
>>> _ = cxlib.load(folder)
>>> result = unify.unify(folder, probabilistic=False)
>>> int(result.summary.loc[0, "rows"]) == int(result.summary.loc[0, "rows_linked"])
True
"""

from __future__ import annotations

import dataclasses
import hashlib
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go
from ibis import _

from cxlib.engine import Workspace, connect
from cxlib.schema import TABLES, DataError

__all__ = [
    "SURVIVORSHIP",
    "TOUCHPOINT_COLUMNS",
    "UnifyConfig",
    "UnifyResult",
    "evaluate",
    "explain",
    "identity_graph",
    "lookup",
    "normalise_email",
    "normalise_phone",
    "rule_contribution",
    "search",
    "source_overlap",
    "threshold_curve",
    "unify",
]

LINKED_TABLES = ("contacts", "events", "orders", "tickets", "surveys")
_KEY = {
    "contacts": "record_id",
    "events": "event_id",
    "orders": "order_id",
    "tickets": "ticket_id",
    "surveys": "response_id",
}
_COUNTRY_CODES = {
    "GB": "44",
    "UK": "44",
    "IE": "353",
    "DE": "49",
    "FR": "33",
    "NL": "31",
    "BE": "32",
    "ES": "34",
    "IT": "39",
    "PT": "351",
    "AT": "43",
    "CH": "41",
    "DK": "45",
    "SE": "46",
    "NO": "47",
    "FI": "358",
    "PL": "48",
    "US": "1",
    "CA": "1",
    "AU": "61",
    "NZ": "64",
}
#: Strength of each identifier type: the rule a row is credited to is its strongest identifier.
_ID_RANK = {"record": 0, "email": 1, "phone": 2, "anonymous_id": 3}

#: Survivorship rules of the golden record, applied per attribute in this order.
SURVIVORSHIP = (
    "validity: only values that pass the loader's checks and are not demoted junk identifiers",
    "frequency: the value most member records agree on (after normalisation)",
    "source priority: UnifyConfig.source_priority, first wins",
    "recency: the most recently updated record",
    "value: alphabetical, so that ties never depend on row order",
)

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
}
TOUCHPOINT_COLUMNS = tuple(_TOUCHPOINT_SCHEMA)


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


@dataclass
class UnifyResult:
    """What :func:`unify` did: ``summary`` (one row), ``rules`` (rows per rule), ``demoted``, ``matches``,
    and ``changes`` since the previous run (``change, old_customer_id, new_customer_id, rows``)."""

    summary: pd.DataFrame
    rules: pd.DataFrame
    demoted: pd.DataFrame
    matches: pd.DataFrame
    changes: pd.DataFrame

    def __str__(self) -> str:
        s = self.summary.iloc[0]
        lines = [
            f"rows in {int(s['rows']):,} -> customers {int(s['customers']):,} "
            f"({int(s['known_customers']):,} known, {int(s['anonymous_customers']):,} anonymous)",
            f"identity graph: {int(s['components']):,} components in {int(s['iterations'])} rounds; "
            f"{int(s['probabilistic_merges']):,} probabilistic merges; {len(self.demoted):,} identifiers demoted",
            "",
            "rows by rule:",
            self.rules.to_string(index=False),
        ]
        if len(self.demoted):
            lines += ["", "demoted identifiers (largest first):", self.demoted.head(10).to_string(index=False)]
        lines += [
            "",
            f"quarantined at load: {int(s['quarantined_rows']):,} rows (table quarantine)",
            f"since the last run: {int(s['customers_merged_since_last_run']):,} customers merged, "
            f"{int(s['customers_split_since_last_run']):,} split (table unify_changes)",
        ]
        return "\n".join(lines)


# --- normalisers (Ibis expressions, so they run in the engine) -----------------------------------------------------


def _trim(s: ibis.StringValue) -> ibis.StringValue:
    """Leading and trailing whitespace removed, the same on every engine.

    Not ``StringValue.strip()``: on PySpark, ibis 12 compiles it to ``TRIM(' \\t\\n\\r\\v\\f' FROM s)``, where Spark
    reads ``\\v`` and ``\\f`` as the letters v and f, so ``"fatima@x.fr"`` lost its first letter.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"s": [" fatima@x.fr\\t", "ck_01f", None]})
    >>> t.select(s=_trim(t.s)).to_pyarrow()["s"].to_pylist()
    ['fatima@x.fr', 'ck_01f', None]
    """
    return s.re_replace(r"^\s+|\s+$", "")


def normalise_email(e: ibis.StringValue) -> ibis.StringValue:
    """Lower-case, trim, drop ``+tags``, fold gmail dots; null when it is not an address.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"e": [" Rob.Smith+shop@GoogleMail.com", "x@y.co", "bad", None]})
    >>> t.select(n=normalise_email(t.e)).to_pyarrow()["n"].to_pylist()
    ['robsmith@gmail.com', 'x@y.co', None, None]
    """
    e = _trim(e).lower()
    valid = e.re_search(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    at = e.find("@")
    local = e.substr(0, at).re_replace(r"\+.*$", "")
    domain = e.substr(at + 1)
    gmail = domain.isin(["gmail.com", "googlemail.com"])
    local = ibis.cases((gmail, local.replace(".", "")), else_=local)
    domain = ibis.cases((gmail, ibis.literal("gmail.com")), else_=domain)
    return ibis.cases((valid & (local.length() > 0), local + "@" + domain), else_=ibis.null("string"))


def normalise_phone(
    phone: ibis.StringValue, country: ibis.StringValue | str | None, default_country: str = "GB"
) -> ibis.StringValue:
    """E.164 (``+447700900123``): international forms as given, national ones with the row's country.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"p": ["07700 900123", "+44 (0)7700-900123", "0044 7700 900123", "n/a"],
    ...                    "c": ["GB", None, "DE", "GB"]})
    >>> t.select(n=normalise_phone(t.p, t.c)).to_pyarrow()["n"].to_pylist()
    ['+447700900123', '+447700900123', '+447700900123', None]
    """
    raw = _trim(phone)
    digits = raw.re_replace(r"\(0\)", "").re_replace(r"[^0-9]", "")
    if country is None or isinstance(country, str):
        country = ibis.literal(country or default_country)
    cc = country.upper().substitute(_COUNTRY_CODES, else_=_COUNTRY_CODES.get(default_country, "44"))
    cc = ibis.coalesce(cc, ibis.literal(_COUNTRY_CODES.get(default_country, "44")))
    e164 = ibis.cases(
        (raw.startswith("+"), "+" + digits),
        (digits.startswith("00"), "+" + digits.substr(2)),
        (digits.startswith("0"), "+" + cc + digits.substr(1)),
        else_=ibis.null("string"),
    )
    n = e164.length()
    return ibis.cases(((n >= 9) & (n <= 16), e164), else_=ibis.null("string"))


# --- the identity graph (engine) -------------------------------------------------------------------------------------


def _row_base(t: ibis.Table, name: str) -> dict[str, ibis.Value]:
    """``table_name, source, record_key, ts`` of a linked table's rows."""
    tcol = TABLES[name].time_column
    return {
        "table_name": ibis.literal(name),
        "source": t.source,
        "record_key": t[_KEY[name]],
        "ts": t[tcol].cast("timestamp") if tcol else ibis.null("timestamp"),
    }


def _candidates(t: ibis.Table, name: str, cfg: UnifyConfig) -> list[tuple[str, ibis.StringValue]]:
    """The identifiers a row of table ``name`` can carry, normalised: ``(id_type, value)`` pairs."""
    country = t.country if "country" in t.columns else None
    out: list[tuple[str, ibis.StringValue]] = []
    if name == "contacts":
        out.append(("record", t[_KEY[name]]))
    if "contact_ref" in t.columns:
        out.append(("record", _trim(t.contact_ref)))
    if "email" in t.columns:
        out.append(("email", normalise_email(t.email)))
    if "phone" in t.columns:
        out.append(("phone", normalise_phone(t.phone, country, cfg.default_country)))
    if "anonymous_id" in t.columns:
        out.append(("anonymous_id", _trim(t.anonymous_id)))
    return [(id_type, value.cast("string")) for id_type, value in out]


#: The raw identifier columns a row can carry, under one name in every table (null where a table has none).
#: Rows with the same source and the same raw identifiers form one *signature*: the graph, the over-merge
#: guard and the normalisers work on signatures (a few million at 1M customers), not on rows (70 million).
_SIG_RAW = ("c_record", "c_ref", "c_email", "c_phone", "c_country", "c_anon")
_SIG_FROM = {"c_ref": "contact_ref", "c_email": "email", "c_phone": "phone", "c_anon": "anonymous_id"}


def _raw_identifiers(t: ibis.Table, name: str) -> dict[str, ibis.Value]:
    """A row's raw identifier columns as strings, keyed by :data:`_SIG_RAW` (only the ones table ``name`` has)."""
    out: dict[str, ibis.Value] = {}
    if name == "contacts":
        out["c_record"] = t[_KEY[name]].cast("string")
    for sig, col in _SIG_FROM.items():
        if col in t.columns:
            out[sig] = t[col].cast("string")
    if "phone" in t.columns and "country" in t.columns:
        out["c_country"] = t.country.cast("string")
    return out


def _signatures(ws: Workspace, cfg: UnifyConfig) -> ibis.Table:
    """One row per distinct ``(table_name, source, raw identifiers)`` with its rows' count, first and last time
    and oldest row key (``first_row``), a dense ``sid`` and the normalised ``record, email, phone, anonymous_id``.
    """
    parts = []
    for name in LINKED_TABLES:
        if not ws.has(name):
            continue
        t = ws.table(name)
        base = _row_base(t, name)
        raw = _raw_identifiers(t, name)
        order_key = base["ts"].cast("string").fill_null("9999") + f"|{name}|" + t.source + "|" + t[_KEY[name]]
        s = t.select(source=t.source.cast("string"), **raw, ts=base["ts"], order_key=order_key)
        s = s.group_by(["source", *raw]).aggregate(
            rows=_.count(), first_ts=_.ts.min(), last_ts=_.ts.max(), first_row=_.order_key.min()
        )
        s = s.mutate(table_name=ibis.literal(name), **{c: ibis.null("string") for c in _SIG_RAW if c not in raw})
        parts.append(s.select("table_name", "source", *_SIG_RAW, "rows", "first_ts", "last_ts", "first_row"))
    if not parts:
        raise DataError("the workspace holds none of contacts, events, orders, tickets, surveys; run `cx load` first")
    sig = _union(parts)
    return sig.mutate(
        sid=ibis.row_number().over(order_by=[sig.table_name, sig.source, *(sig[c] for c in _SIG_RAW)]),
        record=ibis.coalesce(sig.c_record, _trim(sig.c_ref)),
        email=normalise_email(sig.c_email),
        phone=normalise_phone(sig.c_phone, sig.c_country, cfg.default_country),
        anonymous_id=_trim(sig.c_anon),
    )


def _identifiers(ws: Workspace, cfg: UnifyConfig, only: pd.DataFrame | None = None) -> ibis.Table:
    """``table_name, source, record_key, ts, id_type, id_value``: one row per identifier a source row carries.

    With ``only`` (``table_name, source, record_key``), just those rows: a semi-join on each table's key
    before anything is normalised, so explaining one customer does not normalise every row.
    """
    parts = []
    for name in LINKED_TABLES:
        if not ws.has(name):
            continue
        t = ws.table(name)
        if only is not None:
            mine = only.loc[only["table_name"] == name, ["source", "record_key"]].drop_duplicates()
            if mine.empty:
                continue
            m = ibis.memtable(mine.astype("string").rename(columns={"source": "m_source", "record_key": "m_key"}))
            t = t.semi_join(m, (t[_KEY[name]].cast("string") == m.m_key) & (t.source == m.m_source))
        base = _row_base(t, name)
        for id_type, value in _candidates(t, name, cfg):
            parts.append(
                t.select(**base, id_type=ibis.literal(id_type), id_value=value).filter(
                    _.id_value.notnull() & (_.id_value != "")
                )
            )
    if not parts:
        raise DataError("the workspace holds none of contacts, events, orders, tickets, surveys; run `cx load` first")
    return _union(parts, distinct=False)


def _sig_identifiers(sig: ibis.Table) -> ibis.Table:
    """``sid, id_type, id_value, rank``: the usable-looking (non-empty) normalised identifiers of each signature."""
    parts = [
        sig.select("sid", id_type=ibis.literal(id_type), id_value=sig[id_type], rank=ibis.literal(rank, "int64"))
        for id_type, rank in _ID_RANK.items()
    ]
    return _union(parts).filter(_.id_value.notnull() & (_.id_value != ""))


def _demoted(ids: ibis.Table, sig: ibis.Table, cfg: UnifyConfig) -> ibis.Table:
    """Identifiers that co-occur with more distinct contact records than their type allows: ``id_type, id_value,
    records, rows, limit`` (``rows``: the source rows where the identifier and a record occur together)."""
    rec = ids.filter(_.id_type == "record").select("sid", rec=_.id_value)
    other = ids.filter(_.id_type != "record").select("sid", "id_type", "id_value")
    j = other.join(rec, "sid").join(sig.select("sid", "rows"), "sid")
    deg = j.group_by(["id_type", "id_value"]).aggregate(records=j.rec.nunique(), rows=j.rows.sum().cast("int64"))
    limit = deg.id_type.substitute(dict(cfg.max_records), else_=ibis.literal(10**9, "int64")).cast("int64")
    return deg.filter(deg.records > limit).mutate(limit=limit)


def identity_graph(
    ws: Workspace, config: UnifyConfig | None = None, *, progress: bool = False
) -> tuple[ibis.Table, ibis.Table, int]:
    """Connected components of the identifier graph, computed in the engine.

    Returns ``(nodes, demoted, iterations)``: ``nodes`` has ``id_type, id_value, component`` for every
    usable identifier (the component is the smallest node key, ``type:value``, in it), ``demoted`` the
    identifiers the over-merge guard removed (``id_type, id_value, records, rows, limit``). Runs on any Ibis
    backend. Also leaves the scratch table ``_unify_sig`` (the signatures, each with its ``component`` and
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
    cfg = config or UnifyConfig()
    sig = ws.scratch("_unify_sig0", _signatures(ws, cfg))
    ids = ws.scratch("_unify_ids", _sig_identifiers(sig))
    demoted = ws.scratch("_unify_demoted", _demoted(ids, sig, cfg))
    usable = ids.anti_join(demoted, ["id_type", "id_value"])
    # integer node ids, in the order of the node keys: the smallest id in a component is its smallest key
    keys = usable.select("id_type", "id_value").distinct().mutate(node=_.id_type + ":" + _.id_value)
    keys = ws.scratch("_unify_keys", keys.mutate(nid=ibis.row_number().over(order_by=keys.node)))
    members = ws.scratch("_unify_members", usable.join(keys, ["id_type", "id_value"]).select("sid", "nid", "rank"))
    # star edges: each identifier of a signature to its smallest one (both ways)
    anchor = members.group_by("sid").aggregate(anchor=members.nid.min())
    e = members.join(anchor, "sid").filter(_.nid != _.anchor)
    edges = e.select(a=e.nid, b=e.anchor).distinct()
    edges = ws.scratch("_unify_edges", ibis.union(edges, edges.select(a=edges.b, b=edges.a), distinct=True))
    labels = ws.scratch("_unify_labels", keys.select(node="nid", label="nid"))
    iterations = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(desc="identity graph", unit="round")
    while iterations < cfg.max_iterations:
        iterations += 1
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
        new = ws.scratch("_unify_labels_next", jumped)
        changed = new.join(labels, "node").filter(_.label != _.label_right).count().to_pyarrow().as_py()
        labels = ws.scratch("_unify_labels", new)
        if bar is not None:
            bar.update(1)
            bar.set_postfix(changed=changed)
        if changed == 0:
            break
    if bar is not None:
        bar.close()
    comp = labels.join(keys.select(label="nid", component="node"), "label").select(nid="node", component="component")
    nodes = keys.join(comp, "nid").select("id_type", "id_value", "node", "component")
    nodes = ws.scratch("_unify_nodes", nodes)
    # each signature's component (all its usable identifiers share one) and its strongest identifier
    per_sig = (
        members.join(labels, members.nid == labels.node)
        .group_by("sid")
        .aggregate(label=labels.label.min(), best=members.rank.min())
    )
    per_sig = per_sig.join(keys.select(label="nid", component="node"), "label").select("sid", "component", "best")
    sig = sig.left_join(per_sig, "sid").pipe(_tidy)
    ws.scratch("_unify_sig", sig.drop("record", "email", "phone", "anonymous_id"))
    return nodes, demoted, iterations


# --- probabilistic matching (splink) ---------------------------------------------------------------------------------


def _match_records(
    contacts: pd.DataFrame, threshold: float, model: str | None = None, new: set[str] | None = None
) -> tuple[pd.DataFrame, str | None]:
    """Pairs of contact records splink scores at or above ``threshold``, and the trained model (JSON).

    With ``model`` and ``new`` (incremental): no training; only pairs that involve a new record are scored
    (new against existing, and new against new).
    """
    import json
    import logging

    import duckdb
    import pyarrow as pa
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    df = contacts.dropna(subset=["last_name"]).drop(columns="component").rename(columns={"record": "unique_id"})
    empty = pd.DataFrame(columns=["record_a", "record_b", "match_probability"])
    if len(df) < 50 or (new is not None and not new):
        return empty, model
    from cxlib.engine import duckdb_config

    con = duckdb.connect(config=duckdb_config())
    con.execute("SET enable_progress_bar = false")
    db = DuckDBAPI(connection=con)
    sdf = db.register(pa.Table.from_pandas(df, preserve_index=False), table_name="cx_contacts")
    if model is None:
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=[
                # one comparison per independent piece of evidence: street, postcode and city say one thing
                cl.ForenameSurnameComparison("first_name", "last_name"),
                cl.DateOfBirthComparison("birth_date", input_is_string=False),
                cl.LevenshteinAtThresholds("address", [2]),
            ],
            blocking_rules_to_generate_predictions=[
                block_on("postcode"),
                block_on("last_name", "birth_date"),
                block_on("first_name", "birth_date"),
            ],
            retain_intermediate_calculation_columns=False,
        )
        linker = Linker(sdf, settings, log_level=logging.ERROR)
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "birth_date")], recall=0.8
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("birth_date"))
        linker.training.estimate_parameters_using_expectation_maximisation(block_on("postcode"))
        pred = linker.inference.predict(threshold_match_probability=threshold).as_pyarrow_table().to_pandas()
        model = json.dumps(linker.misc.save_model_to_json(), sort_keys=True)
    else:
        is_new = df["unique_id"].isin(new)
        old_sdf = db.register(pa.Table.from_pandas(df[~is_new], preserve_index=False), table_name="cx_old")
        new_sdf = db.register(pa.Table.from_pandas(df[is_new], preserve_index=False), table_name="cx_new")
        linker = Linker(sdf, json.loads(model), log_level=logging.ERROR)
        for col in ("first_name", "last_name"):  # the name comparisons adjust for how common a name is
            linker.table_management.compute_tf_table(col)
        between = linker.inference.predict_between(old_sdf, new_sdf, threshold_match_probability=threshold)
        within = linker.inference.predict_within(new_sdf, threshold_match_probability=threshold)
        pred = pd.concat([between.as_pyarrow_table().to_pandas(), within.as_pyarrow_table().to_pandas()])
    con.close()
    if pred.empty:
        return empty, model
    pred = pred.rename(columns={"unique_id_l": "record_a", "unique_id_r": "record_b"})
    # one orientation per pair, whatever the role each record played
    a, b = pred["record_a"].astype(str), pred["record_b"].astype(str)
    pred["record_a"], pred["record_b"] = a.where(a < b, b), b.where(a < b, a)
    return pred[["record_a", "record_b", "match_probability"]].drop_duplicates(["record_a", "record_b"]), model


def _contact_features(ws: Workspace, nodes: ibis.Table) -> pd.DataFrame:
    """Contact records with the fields splink compares and their deterministic component (pulled: small)."""
    c = ws.table("contacts")
    rec = nodes.filter(nodes.id_type == "record")
    c = c.join(rec, c.record_id == rec.id_value)
    up = lambda x: x.upper().re_replace(r"[^A-Z0-9]", "")  # noqa: E731
    low = lambda x: _trim(x.lower()).re_replace(r"[.,'\-]", "")  # noqa: E731  (keeps letters such as ü)
    out = c.select(
        record=c.record_id,
        component=c.component,
        first_name=low(c.first_name),
        last_name=low(c.last_name),
        birth_date=c.birth_date,
        postcode=up(c.postcode),
        address=ibis.cases(
            (c.street.notnull() & c.postcode.notnull(), low(c.street) + " " + up(c.postcode)),
            else_=ibis.null("string"),
        ),
    )
    # in a fixed order: splink's sampling and EM depend on row order, and engines return rows in any order
    return out.order_by("record").to_pandas()


def _union(parts: list[ibis.Table], distinct: bool = False) -> ibis.Table:
    """Union of one or more tables (``ibis.union`` needs two)."""
    return ibis.union(*parts, distinct=distinct) if len(parts) > 1 else (parts[0].distinct() if distinct else parts[0])


def _tidy(t: ibis.Table) -> ibis.Table:
    """Drop the ``*_right`` copies of join keys that some joins keep."""
    extra = [c for c in t.columns if c.endswith("_right")]
    return t.drop(*extra) if extra else t


def _union_find(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
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


# --- the whole step ------------------------------------------------------------------------------------------------


def _hash_id(prefix: str, s: pd.Series) -> pd.Series:
    return prefix + s.map(lambda x: hashlib.sha1(x.encode()).hexdigest()[:12])


def unify(
    workspace: str | Path | Workspace,
    config: UnifyConfig | None = None,
    *,
    probabilistic: bool | None = None,
    progress: bool = False,
    incremental: bool = False,
) -> UnifyResult:
    """Resolve every source row to one customer and write ``identity_links``, ``customers``, ``touchpoints``.

    Parameters
    ----------
    workspace : folder, .duckdb file or Workspace
        A loaded workspace (``cx load``).
    config : UnifyConfig, optional
    probabilistic : bool, optional
        Override ``config.probabilistic``.
    progress : bool
        Progress bars for the long stages.
    incremental : bool
        Score only contact records that are new since the last run against the existing ones (and each
        other) with the model that run trained; pairs of existing records keep their scores. The identity
        graph is always recomputed in full (it is cheap in the engine), so ids stay stable either way.

    Returns
    -------
    UnifyResult
    """
    cfg = config or UnifyConfig()
    if probabilistic is not None:
        cfg = dataclasses.replace(cfg, probabilistic=probabilistic)
    ws = workspace if isinstance(workspace, Workspace) else connect(workspace)
    try:
        return _unify(ws, cfg, progress, incremental)
    finally:
        if not isinstance(workspace, Workspace):
            ws.close()


class _Phases:
    """With ``progress``, one line per finished phase of unify and its duration (on stderr)."""

    def __init__(self, on: bool) -> None:
        self.on, self.t0 = on, time.perf_counter()

    def done(self, what: str) -> None:
        if self.on:
            peak = ""
            try:
                import resource

                peak = f" (peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB)"
            except ImportError:  # Windows
                pass
            print(f"unify: {what} in {time.perf_counter() - self.t0:.1f}s{peak}", file=sys.stderr, flush=True)
        self.t0 = time.perf_counter()


def _unify(ws: Workspace, cfg: UnifyConfig, progress: bool, incremental: bool = False) -> UnifyResult:
    phase = _Phases(progress)
    nodes, demoted, iterations = identity_graph(ws, cfg, progress=progress)
    phase.done("identifiers, over-merge guard and identity graph")
    # component merges from probabilistic matches (small: contact records only)
    matches = pd.DataFrame(columns=["record_a", "record_b", "match_probability", "component_a", "component_b"])
    merge_map = pd.DataFrame(columns=["component", "cluster", "match_probability"])
    candidates = matches.assign(accepted=pd.Series(dtype="bool"))
    if cfg.probabilistic and ws.has("contacts"):
        feats = _contact_features(ws, nodes)
        ws.write("unify_contact_components", feats[["record", "component"]].astype("string"))
        # score down to 0.5 so that the threshold can be re-examined (threshold_curve) without re-training
        model, new, previous = None, None, None
        if incremental:
            if not all(ws.has(t) for t in ("unify_model", "unify_matches", "identity_links")):
                raise DataError("an incremental unify needs a full run first: run `cx unify` without --incremental")
            model = ws.table("unify_model").to_pandas()["model"].iloc[0]
            lk = ws.table("identity_links")
            seen = set(lk.filter(lk.table_name == "contacts").record_key.to_pandas())
            new = set(feats["record"]) - seen
            previous = ws.table("unify_matches").to_pandas()[["record_a", "record_b", "match_probability"]]
            previous = previous[previous["record_a"].isin(seen) & previous["record_b"].isin(seen)]
        m, model = _match_records(feats, min(0.5, cfg.match_threshold), model, new)
        if previous is not None:  # pairs of existing records keep their scores; only new records were scored
            m = pd.concat([previous, m], ignore_index=True).drop_duplicates(["record_a", "record_b"])
        if model is not None:
            ws.write("unify_model", pd.DataFrame({"model": pd.Series([model], dtype="string")}))
        comp = feats.set_index("record")["component"]
        m["component_a"] = m["record_a"].map(comp)
        m["component_b"] = m["record_b"].map(comp)
        candidates = m[m["component_a"] != m["component_b"]].sort_values(["record_a", "record_b"], ignore_index=True)
        candidates["accepted"] = candidates["match_probability"] >= cfg.match_threshold
        matches = candidates[candidates["accepted"]].drop(columns="accepted").reset_index(drop=True)
        roots = _union_find(zip(matches["component_a"], matches["component_b"], strict=True))
        if roots:
            best = pd.concat(
                [
                    matches[["component_a", "match_probability"]].set_axis(["component", "p"], axis=1),
                    matches[["component_b", "match_probability"]].set_axis(["component", "p"], axis=1),
                ]
            )
            best = best.groupby("component")["p"].max()
            merge_map = pd.DataFrame({"component": list(roots), "cluster": list(roots.values())})
            merge_map["match_probability"] = merge_map["component"].map(best)
    ws.scratch(
        "_unify_merge", merge_map.astype({"component": "string", "cluster": "string", "match_probability": "float64"})
    )
    merge = ws.table("_unify_merge")

    phase.done("probabilistic matching")
    # every signature -> its component -> cluster -> customer; rows follow their signature
    sig = ws.table("_unify_sig")
    s = sig.left_join(merge, sig.component == merge.component).pipe(_tidy)
    rule_det = s.best.substitute(
        {0: "contact_record", 1: "email", 2: "phone", 3: "anonymous_id"}, else_=ibis.literal("no_identifier")
    )
    merged = s.cluster.notnull() & (s.cluster != s.component)
    s = s.mutate(
        cluster=ibis.coalesce(s.cluster, s.component),
        rule=ibis.cases(
            (s.component.isnull(), ibis.literal("no_identifier")),
            (merged, ibis.literal("probabilistic")),
            else_=rule_det,
        ),
        match_probability=ibis.cases((merged, s.match_probability), else_=ibis.null("float64")),
    )
    # stable ids: a hash of the oldest member row, C when the cluster holds a contact record, an email or a
    # phone (else A); rows without a usable identifier each get their own anonymous customer
    first = (
        s.filter(s.cluster.notnull())
        .group_by("cluster")
        .aggregate(first_row=_.first_row.min(), is_known=(_.best <= 2).max())
        .to_pandas()
    )
    first["customer_id"] = np.where(
        first["is_known"].fillna(False).astype(bool),
        _hash_id("C", first["first_row"]),
        _hash_id("A", first["first_row"]),
    )
    ws.scratch("_unify_ids_map", first[["cluster", "customer_id"]].astype("string"))
    idmap = ws.table("_unify_ids_map")
    sigmap = ws.scratch("_unify_sigmap", s.left_join(idmap, "cluster").pipe(_tidy))
    keys = ["table_name", "source", "record_key"]
    prev = None
    if ws.has("identity_links"):
        old = ws.table("identity_links")
        prev = ws.scratch("_unify_prev", old.select(*keys, old_id=old.customer_id))
    ws.write("identity_links", _union([_linked_rows(ws, sigmap, name) for name in _present(ws)]))
    phase.done("every row to its customer (identity_links)")
    links = ws.table("identity_links")
    changes = _changes(ws, links, prev)
    if prev is not None:
        phase.done("merges and splits since the last run (unify_changes)")
    _write_customers(ws, sigmap, cfg)
    phase.done("golden records (customers)")
    _write_touchpoints(ws, sigmap)
    phase.done("touchpoints")
    # every usable identifier with its customer, for lookups by a value that is not the golden one
    ids = ws.table("_unify_ids").anti_join(demoted, ["id_type", "id_value"])
    ids = ids.join(sigmap.filter(sigmap.customer_id.notnull()).select("sid", "customer_id", "rows"), "sid")
    ws.write(
        "unify_identifiers",
        ids.group_by(["id_type", "id_value", "customer_id"])
        .aggregate(rows=ids.rows.sum().cast("int64"))
        .order_by(["id_type", "id_value", "customer_id"]),
    )
    demoted_df = demoted.to_pandas().sort_values(
        ["records", "id_type", "id_value"], ascending=[False, True, True], ignore_index=True
    )
    demoted_df["reason"] = (
        "shared by "
        + demoted_df["records"].astype(str)
        + " contact records (limit "
        + demoted_df["limit"].astype(str)
        + " for "
        + demoted_df["id_type"]
        + ")"
    )
    ws.write("unify_demoted", demoted_df.astype({"id_type": "string", "id_value": "string", "reason": "string"}))
    ws.write(
        "unify_matches",
        candidates.astype(
            {
                "record_a": "string",
                "record_b": "string",
                "component_a": "string",
                "component_b": "string",
                "match_probability": "float64",
                "accepted": "bool",
            }
        ),
    )
    rules = sigmap.group_by("rule").aggregate(rows=sigmap.rows.sum().cast("int64")).to_pandas()
    rules = rules.sort_values("rule", ignore_index=True)
    cust = ws.table("customers")
    summ = cust.aggregate(customers=cust.count(), anonymous_customers=cust.is_anonymous.sum()).to_pandas()
    summary = pd.DataFrame(
        [
            {
                "rows": int(sigmap.rows.sum().to_pyarrow().as_py()),
                "rows_linked": int(links.count().to_pyarrow().as_py()),
                "customers": int(summ.loc[0, "customers"]),
                "known_customers": int(summ.loc[0, "customers"] - summ.loc[0, "anonymous_customers"]),
                "anonymous_customers": int(summ.loc[0, "anonymous_customers"]),
                "components": int(nodes.component.nunique().to_pyarrow().as_py()),
                "iterations": iterations,
                "probabilistic_merges": len(matches),
                "demoted_identifiers": len(demoted_df),
                "quarantined_rows": _quarantined(ws),
                "customers_merged_since_last_run": int((changes["change"] == "merge").sum()),
                "customers_split_since_last_run": int((changes["change"] == "split").sum()),
            }
        ]
    )
    ws.drop_scratch()
    return UnifyResult(summary, rules, demoted_df, matches, changes)


def _quarantined(ws: Workspace) -> int:
    if not ws.has("quarantine"):
        return 0
    q = ws.table("quarantine")
    q = q.filter(q.action == "quarantined").select("table_name", "source_file", "row").distinct()
    return int(q.count().to_pyarrow().as_py())


def _changes(ws: Workspace, links: ibis.Table, prev: ibis.Table | None) -> pd.DataFrame:
    """Customers merged or split since the previous run, written to ``unify_changes``.

    A merge: one new customer holds rows of several previous customers. A split: the rows of one previous
    customer went to several new ones. Ids of customers whose rows did not change stay the same.
    """
    cols = {"change": "string", "old_customer_id": "string", "new_customer_id": "string", "rows": "int64"}
    out = pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})
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


def _present(ws: Workspace) -> list[str]:
    """The linked tables the workspace holds."""
    return [n for n in LINKED_TABLES if ws.has(n)]


def _with_customer(ws: Workspace, sigmap: ibis.Table, name: str, lone_only: bool = False) -> ibis.Table:
    """The rows of table ``name`` with their ``customer_id, rule, match_probability``, by their signature.

    A hash join of the rows on their raw identifiers (null-safe) against the signatures, which are few;
    rows with no usable identifier get their own anonymous customer, ``A`` + a hash of the row's key.
    With ``lone_only``, only those rows.
    """
    t = ws.table(name)
    raw = _raw_identifiers(t, name)
    sm = sigmap.filter(sigmap.table_name == name)
    if lone_only:
        sm = sm.filter(sm.customer_id.isnull())
    sm = sm.select(
        *raw, sm_source="source", sm_customer_id="customer_id", sm_rule="rule", sm_probability="match_probability"
    )
    preds = [t.source.cast("string").identical_to(sm.sm_source)] + [v.identical_to(sm[c]) for c, v in raw.items()]
    j = t.join(sm, preds)
    row_key = ibis.literal(name + "|") + j.source + "|" + j[_KEY[name]].cast("string").fill_null("")
    drop = [c for c in j.columns if c.startswith("sm_") or c in _SIG_RAW]  # the signature's copies
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
        record_key=j[_KEY[name]].cast("string"),
        customer_id="customer_id",
        rule="rule",
        match_probability=j.match_probability.cast("float64"),
    )


def _lone_rows(ws: Workspace, sigmap: ibis.Table, name: str) -> ibis.Table:
    """``customer_id, source, ts, c_email`` of the rows of ``name`` with no usable identifier (each its own
    anonymous customer); ``c_email`` is the raw address outside events, for the enrichment match."""
    j = _with_customer(ws, sigmap, name, lone_only=True)
    email = j.email.cast("string") if "email" in j.columns and name != "events" else ibis.null("string")
    return j.select("customer_id", source=j.source.cast("string"), ts=_row_base(j, name)["ts"], c_email=email)


def _write_customers(ws: Workspace, sigmap: ibis.Table, cfg: UnifyConfig) -> None:
    """The golden record per customer (survivorship in the engine: one window per attribute).

    ``sigmap`` holds the signatures with their customers; rows with no usable identifier are read again.
    """
    links = ws.table("identity_links")
    lk = links.select("table_name", "source", "record_key", "customer_id")
    known = sigmap.filter(sigmap.customer_id.notnull())
    lone = _union([_lone_rows(ws, sigmap, name) for name in _present(ws)])
    base = _union(
        [
            known.select(
                "customer_id",
                "source",
                first_ts=known.first_ts.cast("timestamp"),
                last_ts=known.last_ts.cast("timestamp"),
                rows=known.rows.cast("int64"),
            ),
            lone.select(
                "customer_id",
                "source",
                first_ts=lone.ts.cast("timestamp"),
                last_ts=lone.ts.cast("timestamp"),
                rows=ibis.literal(1, "int64"),
            ),
        ]
    )
    agg = base.group_by("customer_id").aggregate(
        first_seen=base.first_ts.min(),
        last_seen=base.last_ts.max(),
        n_records=base.rows.sum().cast("int64"),
        is_anonymous=base.customer_id.startswith("A").max(),
    )
    srcs = base.select("customer_id", "source").distinct()
    # collect, then sort the array: Spark has no ordered aggregation
    srcs = srcs.group_by("customer_id").aggregate(sources=srcs.source.collect().sort())
    out = agg.join(srcs, "customer_id")
    prio = {s: i for i, s in enumerate(cfg.source_priority)}
    if ws.has("contacts"):
        c = ws.table("contacts")
        c = c.join(lk.filter(lk.table_name == "contacts"), c.record_id == lk.record_key).filter(c.source == lk.source)
        demoted = ws.table("_unify_demoted")
        email_n = normalise_email(c.email)
        phone_n = normalise_phone(c.phone, c.country, cfg.default_country)
        c = c.mutate(
            email_n=email_n,
            phone_n=phone_n,
            prio=c.source.substitute(prio, else_=ibis.literal(len(prio), "int64")).cast("int64"),
        )
        dem_e = demoted.filter(demoted.id_type == "email").select(email_n="id_value", junk_e=ibis.literal(True))
        dem_p = demoted.filter(demoted.id_type == "phone").select(phone_n="id_value", junk_p=ibis.literal(True))
        c = c.left_join(dem_e, "email_n").pipe(_tidy).left_join(dem_p, "phone_n").pipe(_tidy)
        attrs = {
            "first_name": (c.first_name, _trim(c.first_name.lower())),
            "last_name": (c.last_name, _trim(c.last_name.lower())),
            "email": (ibis.cases((c.junk_e.isnull(), c.email_n), else_=ibis.null("string")), None),
            "phone": (ibis.cases((c.junk_p.isnull(), c.phone_n), else_=ibis.null("string")), None),
            "street": (c.street, _trim(c.street.lower())),
            "city": (c.city, _trim(c.city.lower())),
            "postcode": (c.postcode, c.postcode.upper().re_replace(r"[^A-Z0-9]", "")),
            "country": (c.country, c.country.upper()),
            "birth_date": (c.birth_date, c.birth_date.cast("string")),
        }
        for col, (value, norm) in attrs.items():
            norm = value.cast("string") if norm is None else norm
            cand = c.select(
                customer_id=c.customer_id, value=value, norm=norm, prio=c.prio, updated=c.updated_at
            ).filter(_.value.notnull())
            freq = cand.group_by(["customer_id", "norm"]).aggregate(freq=cand.count())
            cand = cand.join(freq, ["customer_id", "norm"]).pipe(_tidy)
            w = ibis.window(
                group_by=cand.customer_id,
                order_by=[ibis.desc(cand.freq), cand.prio, ibis.desc(cand.updated), cand.value.cast("string")],
            )
            best = cand.mutate(rn=ibis.row_number().over(w)).filter(_.rn == 0).select("customer_id", **{col: _.value})
            out = out.left_join(best, "customer_id").pipe(_tidy)
    else:
        for col in ("first_name", "last_name", "email", "phone", "street", "city", "postcode", "country"):
            out = out.mutate(**{col: ibis.null("string")})
        out = out.mutate(birth_date=ibis.null("date"))
    # customers with no contact record: the most frequent email from their orders, tickets, surveys, events
    ids = ws.table("_unify_ids")
    em = ids.filter(ids.id_type == "email").anti_join(ws.table("_unify_demoted"), ["id_type", "id_value"])
    em = em.join(known.select("sid", "customer_id", "rows"), "sid")
    emf = em.group_by(["customer_id", "id_value"]).aggregate(n=em.rows.sum())
    w = ibis.window(group_by=emf.customer_id, order_by=[ibis.desc(emf.n), emf.id_value])
    emf = emf.mutate(rn=ibis.row_number().over(w)).filter(_.rn == 0).select("customer_id", email_any="id_value")
    out = out.left_join(emf, "customer_id").pipe(_tidy)
    out = out.mutate(email=ibis.coalesce(out.email, out.email_any)).drop("email_any")
    # enrichment on the golden email's hash and on the postcode
    if ws.has("enrichment"):
        en = ws.table("enrichment")
        attr_cols = [c for c in en.columns if c not in ("source", "email_sha256", "postcode")]
        by_email = en.filter(en.email_sha256.notnull()).select(
            email_sha256=en.email_sha256.lower(), **{f"{c}": en[c] for c in attr_cols if c != "geo_segment"}
        )
        by_email = by_email.distinct(on="email_sha256", keep="first")
        by_pc = en.filter(en.postcode.notnull()).select(
            pc=en.postcode.upper().re_replace(r"[^A-Z0-9]", ""), geo_segment=en.geo_segment
        )
        by_pc = by_pc.distinct(on="pc", keep="first")
        # partners hash the address as typed (trimmed, lower-cased): try every address the customer's rows carry
        raw_tables = ("contacts", "orders", "tickets", "surveys")
        raw = [
            known.filter(known.table_name.isin(raw_tables) & known.c_email.notnull()).select("customer_id", "c_email"),
            lone.filter(lone.c_email.notnull()).select("customer_id", "c_email"),
        ]
        raw = [r.select("customer_id", email_sha256=_trim(r.c_email).lower().hexdigest("sha256")) for r in raw]
        if raw:
            hashes = _union(raw, distinct=True)
            hit = hashes.join(by_email, "email_sha256")
            w = ibis.window(group_by=hit.customer_id, order_by=hit.email_sha256)
            hit = hit.mutate(rn=ibis.row_number().over(w)).filter(_.rn == 0).drop("rn", "email_sha256")
            out = out.left_join(hit, "customer_id").pipe(_tidy)
        out = out.mutate(pc=out.postcode.upper().re_replace(r"[^A-Z0-9]", ""))
        out = out.left_join(by_pc, "pc").drop("pc", "pc_right")
    ws.write("customers", out.order_by("customer_id"))


def _touchpoint_columns(name: str, t: ibis.Table) -> dict[str, ibis.Value]:
    """What a row of ``name`` says in the stream; every other touchpoint column is null."""
    if name == "events":
        return dict(channel=t.channel, event=t.event, campaign=t.campaign, amount=t.revenue)
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


def _write_touchpoints(ws: Workspace, sigmap: ibis.Table) -> None:
    """The unified stream: every event, order, ticket and survey with its customer, ordered by time."""
    parts = []
    for name in ("events", "orders", "tickets", "surveys"):
        if not ws.has(name):
            continue
        t = _with_customer(ws, sigmap, name)
        cols = dict(
            customer_id=t.customer_id,
            ts=t[TABLES[name].time_column].cast("timestamp"),
            table_name=ibis.literal(name),
            source=t.source,
            record_key=t[_KEY[name]],
            **_touchpoint_columns(name, t),
        )
        parts.append(t.select(**{c: cols.get(c, ibis.null(typ)) for c, typ in _TOUCHPOINT_SCHEMA.items()}))
    if not parts:  # contacts only: an empty stream with the right columns
        ws.backend.create_table("touchpoints", schema=ibis.schema(_TOUCHPOINT_SCHEMA), overwrite=True)
        return
    tp = _union(parts, distinct=False)
    ws.write("touchpoints", tp.order_by(["customer_id", "ts", "table_name", "source", "record_key"]))


# --- explain, lookup, evaluate ----------------------------------------------------------------------------------------


def _open(workspace: str | Path | Workspace) -> tuple[Workspace, bool]:
    if isinstance(workspace, Workspace):
        return workspace, False
    return connect(workspace, read_only=True), True


def explain(workspace: str | Path | Workspace, customer_id: str) -> tuple[pd.DataFrame, go.Figure]:
    """Why these records were merged: the identifiers each member row carries, and the probabilistic matches.

    Returns a table (``table_name, source, record_key, rule, match_probability, identifiers``) and a plotly
    network of rows and the identifiers that join them.
    """
    ws, close = _open(workspace)
    try:
        links = ws.table("identity_links")
        mine = links.filter(links.customer_id == customer_id).to_pandas()
        if mine.empty:
            raise DataError(f"no customer {customer_id!r} in identity_links; run `cx unify` or check the id")
        carried = _identifiers(ws, UnifyConfig(), only=mine).to_pandas()
        matches = ws.table("unify_matches").to_pandas() if ws.has("unify_matches") else pd.DataFrame()
        demoted = ws.table("unify_demoted").to_pandas() if ws.has("unify_demoted") else pd.DataFrame()
    finally:
        if close:
            ws.close()
    if "accepted" in matches:
        matches = matches[matches["accepted"]]
    dem = set(zip(demoted.get("id_type", []), demoted.get("id_value", []), strict=False))
    carried["demoted"] = [(a, b) in dem for a, b in zip(carried["id_type"], carried["id_value"], strict=True)]
    carried["identifier"] = (
        carried["id_type"] + ":" + carried["id_value"] + np.where(carried["demoted"], " (demoted)", "")
    )
    idents = (
        carried.groupby(["table_name", "source", "record_key"])["identifier"]
        .apply(lambda s: ", ".join(sorted(set(s))))
        .rename("identifiers")
    )
    table = mine.merge(idents.reset_index(), on=["table_name", "source", "record_key"], how="left")
    table = table.sort_values(["table_name", "source", "record_key"], ignore_index=True)
    recs = set(mine.loc[mine["table_name"] == "contacts", "record_key"])
    if len(matches):
        m = matches[matches["record_a"].isin(recs) & matches["record_b"].isin(recs)]
    else:
        m = pd.DataFrame(columns=["record_a", "record_b", "match_probability"])
    return table, _explain_figure(carried, m, customer_id)


def _explain_figure(carried: pd.DataFrame, matches: pd.DataFrame, customer_id: str) -> go.Figure:
    """Rows (grouped per contact record or identifier) and identifiers as a small circular network."""
    live = carried[~carried["demoted"]]
    ident_nodes = sorted(set(live["id_type"] + ":" + live["id_value"]))
    # rows without a record of their own are many (events): draw identifiers and contact records only
    edges = set()
    for _key, g in live.groupby(["table_name", "source", "record_key"]):
        ns = sorted(set(g["id_type"] + ":" + g["id_value"]))
        edges |= {(ns[0], n) for n in ns[1:]}
    edges |= {
        ("record:" + a, "record:" + b)
        for a, b in zip(matches.get("record_a", []), matches.get("record_b", []), strict=False)
    }
    n = max(len(ident_nodes), 1)
    pos = {v: (np.cos(2 * np.pi * i / n), np.sin(2 * np.pi * i / n)) for i, v in enumerate(ident_nodes)}
    ex, ey = [], []
    for a, b in edges:
        if a in pos and b in pos:
            ex += [pos[a][0], pos[b][0], None]
            ey += [pos[a][1], pos[b][1], None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line=dict(color="#bbb"), hoverinfo="skip", name="co-occur"))
    colors = {"record": "#1f77b4", "email": "#2ca02c", "phone": "#ff7f0e", "anonymous_id": "#9467bd"}
    for typ, col in colors.items():
        vs = [v for v in ident_nodes if v.startswith(typ + ":")]
        fig.add_trace(
            go.Scatter(
                x=[pos[v][0] for v in vs],
                y=[pos[v][1] for v in vs],
                mode="markers+text",
                text=[v.split(":", 1)[1][:18] for v in vs],
                textposition="top center",
                marker=dict(size=12, color=col),
                name=typ,
            )
        )
    fig.update_layout(
        title=f"Why {customer_id} is one customer",
        showlegend=True,
        xaxis=dict(visible=False),
        yaxis=dict(visible=False),
        height=450,
    )
    return fig


def lookup(
    workspace: str | Path | Workspace,
    *,
    email: str | None = None,
    phone: str | None = None,
    customer_id: str | None = None,
    country: str = "GB",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Customer 360: the golden record(s) and the full cross-source timeline.

    Give exactly one of ``email`` (normalised as in unify), ``phone`` (to E.164 with ``country``) or
    ``customer_id``. Returns ``(golden_records, timeline)``; both are empty when nothing matches.
    """
    given = [x for x in (email, phone, customer_id) if x]
    if len(given) != 1:
        raise ValueError("give exactly one of email=, phone= or customer_id=")
    ws, close = _open(workspace)
    try:
        cust = ws.table("customers")
        if customer_id:
            ids = [customer_id]
        else:
            probe = ibis.memtable({"v": [email or phone]})
            val = (normalise_email(probe.v) if email else normalise_phone(probe.v, country)).name("v")
            norm = probe.select(val).to_pandas()["v"].iloc[0]
            if norm is None:
                return cust.limit(0).to_pandas(), ws.table("touchpoints").limit(0).to_pandas()
            col = "email" if email else "phone"
            ids = cust.filter(cust[col] == norm).customer_id.to_pandas().tolist()
            if not ids and ws.has("unify_identifiers"):  # not the golden value: any row that carried it
                idt = ws.table("unify_identifiers")
                idt = idt.filter((idt.id_type == col) & (idt.id_value == norm))
                ids = sorted(idt.customer_id.to_pandas().unique().tolist())
        golden = cust.filter(cust.customer_id.isin(ids)).to_pandas()
        tp = ws.table("touchpoints")
        timeline = tp.filter(tp.customer_id.isin(ids)).order_by(["ts", "table_name", "record_key"]).to_pandas()
    finally:
        if close:
            ws.close()
    return golden, timeline


def _contact_quality(comp: pd.DataFrame, accepted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """``merges`` and pairwise quality of contact records' customers: deterministic ``comp`` joined by the
    ``accepted`` matches."""
    roots = _union_find(zip(accepted["component_a"], accepted["component_b"], strict=True))
    cid = comp["component"]
    if roots:
        cid = cid.map(roots).where(lambda m: m.notna(), cid)
    links = pd.DataFrame({"table_name": "contacts", "source": "", "record_key": comp["record"], "customer_id": cid})
    q = evaluate(links, truth.assign(source="")).iloc[0]
    cols = ("pairwise_precision", "pairwise_recall", "pairwise_f1")
    return {"merges": len(accepted), **{c: float(q[c]) for c in cols}}


def _scored(workspace: str | Path | Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    ws, close = _open(workspace)
    try:
        if not ws.has("unify_contact_components"):
            raise DataError("no probabilistic scores in this workspace: run `cx unify` (with the probabilistic step)")
        return ws.table("unify_contact_components").to_pandas(), ws.table("unify_matches").to_pandas()
    finally:
        if close:
            ws.close()


def _contact_truth(truth: pd.DataFrame) -> pd.DataFrame:
    return truth[truth["table_name"] == "contacts"].drop_duplicates("record_key")


def threshold_curve(
    workspace: str | Path | Workspace,
    truth: pd.DataFrame,
    thresholds: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999),
) -> pd.DataFrame:
    """Precision and recall of contact records' customers at other match thresholds, without re-training.

    Uses the scored candidate pairs (``unify_matches``, down to 0.5) and the deterministic components
    (``unify_contact_components``) of the last run; ``truth`` is a ``record_map`` as in :func:`evaluate`
    (its contact rows are enough). Returns ``threshold, merges, pairwise_precision, pairwise_recall,
    pairwise_f1`` on contact records.
    """
    comp, cand = _scored(workspace)
    t = _contact_truth(truth)
    return pd.DataFrame(
        [{"threshold": th, **_contact_quality(comp, cand[cand["match_probability"] >= th], t)} for th in thresholds]
    )


def rule_contribution(workspace: str | Path | Workspace, truth: pd.DataFrame) -> pd.DataFrame:
    """What the probabilistic step adds over the deterministic graph alone, on contact records.

    One row per step: ``step`` ("deterministic only", "deterministic + probabilistic"), ``merges`` (the
    probabilistic merges accepted), ``pairwise_precision, pairwise_recall, pairwise_f1`` and
    ``recall_added`` (over deterministic alone). ``truth`` is a ``record_map`` (its contact rows are enough).

    Examples
    --------
    >>> import tempfile, cxlib
    >>> from cxlib import synth, unify
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=400, seed=3, months=6, progress=False)
    >>> _ = cxlib.load(folder)
    >>> _ = unify.unify(folder)
    >>> c = unify.rule_contribution(folder, synth.load_truth(folder).record_map)
    >>> bool(c.loc[1, "pairwise_recall"] >= c.loc[0, "pairwise_recall"])
    True
    """
    comp, cand = _scored(workspace)
    t = _contact_truth(truth)
    accepted = cand[cand["accepted"].astype(bool)] if "accepted" in cand else cand.iloc[:0]
    steps = (("deterministic only", cand.iloc[:0]), ("deterministic + probabilistic", accepted))
    out = pd.DataFrame([{"step": step, **_contact_quality(comp, acc, t)} for step, acc in steps])
    out["recall_added"] = out["pairwise_recall"] - out.loc[0, "pairwise_recall"]
    return out


def source_overlap(workspace: str | Path | Workspace) -> pd.DataFrame:
    """Which systems know which customers: customers known to each pair of sources (engine query).

    Returns ``source_a, source_b, customers`` (the diagonal is each source's own count), known customers only.
    """
    ws, close = _open(workspace)
    try:
        lk = ws.table("identity_links")
        cs = lk.filter(lk.customer_id.startswith("C")).select("customer_id", "source").distinct()
        other = cs.view()
        j = cs.join(other, cs.customer_id == other.customer_id)
        out = (
            j.group_by([cs.source.name("source_a"), other.source.name("source_b")])
            .aggregate(customers=j.count())
            .to_pandas()
        )
    finally:
        if close:
            ws.close()
    return out.sort_values(["source_a", "source_b"], ignore_index=True)


def search(workspace: str | Path | Workspace, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`lookup` from one search box: an email (has ``@``), a customer id (``C…``/``A…``), else a phone."""
    text = text.strip()
    if "@" in text:
        return lookup(workspace, email=text)
    if text[:1] in ("C", "A") and not text[1:].replace(" ", "").isdigit():
        return lookup(workspace, customer_id=text)
    return lookup(workspace, phone=text)


def _pairs(n: pd.Series) -> float:
    n = n.astype("float64")
    return float((n * (n - 1) / 2).sum())


def evaluate(identity_links: pd.DataFrame | ibis.Table, truth: pd.DataFrame | ibis.Table) -> pd.DataFrame:
    """Pairwise and B-cubed precision/recall/F1 of ``identity_links`` against the true persons.

    ``truth`` has ``table_name, source, record_key, person_id`` (``cxlib.synth``'s ``record_map``).
    Rows without a true person (enrichment, planted defects that never loaded) are ignored. Either may be
    an Ibis table (then both should be on one backend): the join and the count per (customer, person) run
    in the engine and only those counts come into pandas, so 70 million links fit.

    Returns one row: ``pairwise_precision, pairwise_recall, pairwise_f1, bcubed_precision, bcubed_recall,
    bcubed_f1, persons_split, customers_merging_persons, largest_customer_persons, rows``.

    Examples
    --------
    >>> links = pd.DataFrame({"table_name": ["t"] * 4, "source": ["s"] * 4, "record_key": list("abcd"),
    ...                       "customer_id": ["C1", "C1", "C2", "C2"]})
    >>> truth = links.assign(person_id=["P1", "P1", "P1", "P2"]).drop(columns="customer_id")
    >>> evaluate(links, truth)[["pairwise_precision", "pairwise_recall", "persons_split"]].to_dict("records")
    [{'pairwise_precision': 0.5, 'pairwise_recall': 0.3333333333333333, 'persons_split': 1}]
    """
    key = ["table_name", "source", "record_key"]
    if isinstance(identity_links, ibis.Table) or isinstance(truth, ibis.Table):
        lk = identity_links if isinstance(identity_links, ibis.Table) else ibis.memtable(identity_links)
        tr = truth if isinstance(truth, ibis.Table) else ibis.memtable(truth[key + ["person_id"]])
        # re-sent rows share a key (and a person)
        tr = tr.filter(tr.person_id.notnull()).group_by(key).aggregate(person_id=tr.person_id.min())
        j = lk.select(*key, "customer_id").join(tr, key)
        cell = j.group_by(["customer_id", "person_id"]).aggregate(n=j.count()).to_pandas()
    else:
        truth = truth[key + ["person_id"]].dropna(subset=["person_id"]).drop_duplicates(key)
        j = identity_links[key + ["customer_id"]].merge(truth, on=key)
        cell = j.groupby(["customer_id", "person_id"]).size().reset_index(name="n")
    cell["n"] = cell["n"].astype("int64")
    by_c = cell.groupby("customer_id")["n"].sum()
    by_p = cell.groupby("person_id")["n"].sum()
    tp, pp, ap = _pairs(cell["n"]), _pairs(by_c), _pairs(by_p)
    prec = tp / pp if pp else 1.0
    rec = tp / ap if ap else 1.0
    c_of = cell
    c_of["nc"] = c_of["customer_id"].map(by_c)
    c_of["np"] = c_of["person_id"].map(by_p)
    n = int(cell["n"].sum())
    bp = float((c_of["n"] ** 2 / c_of["nc"]).sum() / n) if n else 1.0
    br = float((c_of["n"] ** 2 / c_of["np"]).sum() / n) if n else 1.0
    persons_per_c = c_of.groupby("customer_id").size()
    customers_per_p = c_of.groupby("person_id").size()
    f1 = lambda p, r: 2 * p * r / (p + r) if p + r else 0.0  # noqa: E731
    return pd.DataFrame(
        [
            {
                "pairwise_precision": prec,
                "pairwise_recall": rec,
                "pairwise_f1": f1(prec, rec),
                "bcubed_precision": bp,
                "bcubed_recall": br,
                "bcubed_f1": f1(bp, br),
                "persons_split": int((customers_per_p > 1).sum()),
                "customers_merging_persons": int((persons_per_c > 1).sum()),
                "largest_customer_persons": int(persons_per_c.max()) if len(persons_per_c) else 0,
                "rows": n,
            }
        ]
    )
