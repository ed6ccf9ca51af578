"""Quality of the unification against a known truth: :func:`evaluate` (pairwise and B-cubed),
:func:`threshold_curve` (other match thresholds without re-training) and :func:`rule_contribution`
(what the probabilistic step adds); and without a truth, diagnostics of a real run: the trained model's
parameters (:func:`model_parameters`), the distribution of match weights (:func:`match_weight_histogram`), the
model's own precision and recall by threshold (:func:`estimated_threshold_curve`),
customer sizes (:func:`cluster_sizes`) and the largest customers to review (:func:`largest_clusters`).
The waterfall of one pair is :func:`cxlib.unify.explain.waterfall`.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlib.engine import Workspace, opened
from cxlib.schema import DataError
from cxlib.unify.clusters import MERGED, accept, birth_dates_by_component, contacts_by_component
from cxlib.unify.config import UnifyConfig
from cxlib.unify.graph import union_find

__all__ = [
    "cluster_sizes",
    "doubtful_pairs",
    "estimated_threshold_curve",
    "evaluate",
    "largest_clusters",
    "match_weight_histogram",
    "model_parameters",
    "rule_contribution",
    "threshold_curve",
]


def _contact_quality(comp: pd.DataFrame, accepted: pd.DataFrame, truth: pd.DataFrame) -> dict[str, float]:
    """``merges`` and pairwise quality of contact records' customers: deterministic ``comp`` joined by the
    ``accepted`` matches."""
    roots = union_find(zip(accepted["component_a"], accepted["component_b"], strict=True))
    cid = comp["component"]
    if roots:
        cid = cid.map(roots).where(lambda m: m.notna(), cid)
    links = pd.DataFrame({"table_name": "contacts", "source": "", "record_key": comp["record"], "customer_id": cid})
    q = evaluate(links, truth.assign(source="")).iloc[0]
    cols = ("pairwise_precision", "pairwise_recall", "pairwise_f1")
    return {"merges": len(accepted), **{c: float(q[c]) for c in cols}}


def _scored(workspace: str | Path | Workspace) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The last run's ``unify_contact_components`` and ``unify_matches``."""
    with opened(workspace, read_only=True) as ws:
        if not ws.has("unify_contact_components"):
            raise DataError("no probabilistic scores in this workspace: run `cx unify` (with the probabilistic step)")
        return ws.table("unify_contact_components").to_pandas(), ws.table("unify_matches").to_pandas()


def _contact_truth(truth: pd.DataFrame) -> pd.DataFrame:
    """The truth of contact records, keyed as the run keys them: ``source:id`` where two sources hold the same
    id (:mod:`cxlib.unify.records`)."""
    t = truth[truth["table_name"] == "contacts"].drop_duplicates(["source", "record_key"])
    key = t["record_key"].astype(str)
    shared = key.isin(t.groupby(key)["source"].nunique().loc[lambda n: n > 1].index)
    return t.assign(record_key=key.mask(shared, t["source"].astype(str) + ":" + key))


def threshold_curve(
    workspace: str | Path | Workspace,
    truth: pd.DataFrame,
    thresholds: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999),
    config: UnifyConfig | None = None,
) -> pd.DataFrame:
    """Precision and recall of contact records' customers at other match thresholds, without re-training.

    Uses the scored candidate pairs (``unify_matches``, down to 0.5) and the deterministic components
    (``unify_contact_components``) of the last run, accepted as the run accepts them (evidence of the
    person, and with ``config.birth_date_conflicts`` and ``contact_conflicts`` no conflicting birth dates or
    contact points joined; ``config`` the run's, by default :class:`UnifyConfig`); ``truth`` is a
    ``record_map`` as in :func:`evaluate` (its contact rows are enough). Returns ``threshold, merges,
    pairwise_precision, pairwise_recall, pairwise_f1`` on contact records.
    """
    comp, cand = _scored(workspace)
    t = _contact_truth(truth)
    cfg = config or UnifyConfig()
    dates = birth_dates_by_component(comp, cand) if cfg.birth_date_conflicts and "birth_date" in comp else None
    held = contacts_by_component(comp) if cfg.contact_conflicts else None
    return pd.DataFrame(
        [{"threshold": th, **_contact_quality(comp, cand[accept(cand, th, dates, held)], t)} for th in thresholds]
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


def _pairs(n: pd.Series) -> float:
    n = n.astype("float64")
    return float((n * (n - 1) / 2).sum())


def _cells(identity_links: pd.DataFrame | ibis.Table, truth: pd.DataFrame | ibis.Table) -> pd.DataFrame:
    """``customer_id, person_id, n``: rows per (customer, true person), in the engine when either is a table."""
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
    return cell


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
    cell = _cells(identity_links, truth)
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


# --- diagnostics without a truth --------------------------------------------------------------------------------


def model_parameters(workspace: str | Path | Workspace) -> pd.DataFrame:
    """The last run's trained model: one row per comparison level, ``comparison, level, m_probability,
    u_probability, match_weight`` (log2 m/u; how much a pair at this level moves towards a match), and a first
    row ``prior`` with the probability that two random records match. Null levels (no evidence) are left out.
    """
    import json

    with opened(workspace, read_only=True) as ws:
        if not ws.has("unify_model"):
            raise DataError("no trained model in this workspace: run `cx unify` (with the probabilistic step)")
        model = json.loads(ws.table("unify_model").to_pandas()["model"].iloc[0])
    lam = float(model["probability_two_random_records_match"])
    rows = [{"comparison": "prior", "level": "two random records match", "m_probability": lam,
             "u_probability": np.nan, "match_weight": float(np.log2(lam / (1 - lam)))}]
    for comp in model["comparisons"]:
        for lvl in comp["comparison_levels"]:
            if lvl.get("is_null_level"):
                continue
            m, u = lvl.get("m_probability"), lvl.get("u_probability")
            ok = isinstance(m, float | int) and isinstance(u, float | int) and m > 0 and u > 0
            rows.append({"comparison": comp["output_column_name"], "level": lvl.get("label_for_charts", ""),
                         "m_probability": m if ok else np.nan, "u_probability": u if ok else np.nan,
                         "match_weight": float(np.log2(m / u)) if ok else np.nan})
    return pd.DataFrame(rows)


def match_weight_histogram(workspace: str | Path | Workspace, bins: int = 40) -> tuple[pd.DataFrame, go.Figure]:
    """How sure the model is about the pairs it scored (at probability 0.5 or more, ``unify_matches``): the
    count of pairs per match-weight bin (``bin_start, bin_end, pairs, accepted``) and a bar chart. A clear gap
    between a few doubtful pairs and a mass of sure ones is what a healthy run looks like; a mass near the
    threshold means the threshold decides many merges.
    """
    _, cand = _scored(workspace)
    p = cand["match_probability"].astype("float64").clip(1e-12, 1 - 1e-12)
    w = np.log2(p / (1 - p))
    acc = cand["accepted"].astype(bool) if "accepted" in cand else pd.Series(False, index=cand.index)
    edges = np.histogram_bin_edges(w, bins=bins) if len(w) else np.array([0.0, 1.0])
    counts, _ = np.histogram(w, edges)
    acc_counts, _ = np.histogram(w[acc], edges)
    out = pd.DataFrame({"bin_start": edges[:-1], "bin_end": edges[1:], "pairs": counts, "accepted": acc_counts})
    fig = go.Figure(go.Bar(x=(out["bin_start"] + out["bin_end"]) / 2, y=out["pairs"], name="pairs scored"))
    fig.add_bar(x=(out["bin_start"] + out["bin_end"]) / 2, y=out["accepted"], name="accepted")
    fig.update_layout(barmode="overlay", title="Match weights of the scored pairs",
                      xaxis_title="match weight (log2 odds)", yaxis_title="pairs")
    return out, fig


def estimated_threshold_curve(
    workspace: str | Path | Workspace,
    thresholds: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999),
) -> pd.DataFrame:
    """Precision and recall by threshold as the model itself estimates them, without labels.

    Each scored pair (``unify_matches``: every pair at probability 0.5 or more) is a match with its
    ``match_probability``, so at a threshold the expected true matches among the pairs above it are the sum
    of their probabilities: precision is their mean, recall their share of the expected matches among all
    scored pairs. Pairs below 0.5 are not kept, so recall is relative to those (an upper bound). A model
    that is well calibrated gives what a clerical review would; compare with :func:`threshold_curve` where a
    truth exists. Returns ``threshold, pairs, expected_matches, estimated_precision, estimated_recall``.

    Examples
    --------
    >>> import tempfile, cxlib
    >>> from cxlib import synth, unify
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=400, seed=3, months=6, progress=False)
    >>> _ = cxlib.load(folder)
    >>> _ = unify.unify(folder)
    >>> c = unify.estimated_threshold_curve(folder, [0.5, 0.99])
    >>> bool(c["estimated_precision"].is_monotonic_increasing and c["estimated_recall"].is_monotonic_decreasing)
    True
    """
    _, cand = _scored(workspace)
    p = np.sort(cand["match_probability"].astype("float64").to_numpy())
    total = float(p.sum())
    rows = []
    for th in thresholds:
        above = p[p >= th]
        expected = float(above.sum())
        rows.append({
            "threshold": float(th),
            "pairs": int(len(above)),
            "expected_matches": expected,
            "estimated_precision": expected / len(above) if len(above) else np.nan,
            "estimated_recall": expected / total if total else np.nan,
        })
    return pd.DataFrame(rows)


def doubtful_pairs(workspace: str | Path | Workspace, n: int = 10) -> pd.DataFrame:
    """The scored pairs nearest the line: the ``n // 2`` merged pairs with the lowest probability and the
    rest of ``n`` from the pairs kept apart with the highest. ``record_a, record_b, match_probability,
    accepted, decision`` (merged, or why a pair was kept apart: below the threshold, or refused for
    conflicting birth dates or contact points, :func:`cxlib.unify.clusters.decisions`; "kept apart" from a
    run before unify kept the decision): what to review (with :func:`cxlib.unify.waterfall`) before trusting
    or moving the threshold.
    """
    _, cand = _scored(workspace)
    acc = cand["accepted"].astype(bool) if "accepted" in cand else pd.Series(False, index=cand.index)
    if "decision" not in cand:
        cand = cand.assign(decision=acc.map({True: MERGED, False: "kept apart"}))
    cols = ["record_a", "record_b", "match_probability", "decision"]
    keys = ["match_probability", "record_a", "record_b"]
    merged = cand[acc].sort_values(keys).head(n // 2)
    apart = cand[~acc].sort_values(keys, ascending=[False, True, True]).head(n - len(merged))
    out = pd.concat([merged[cols].assign(accepted=True), apart[cols].assign(accepted=False)], ignore_index=True)
    out = out[["record_a", "record_b", "match_probability", "accepted", "decision"]]
    return out.sort_values(["match_probability", "record_a", "record_b"], ignore_index=True)


def _contact_customers(ws: Workspace) -> pd.DataFrame:
    lk = ws.table("identity_links")
    return lk.filter(lk.table_name == "contacts").select("customer_id", "record_key").to_pandas()


def cluster_sizes(workspace: str | Path | Workspace) -> tuple[pd.DataFrame, go.Figure]:
    """How many contact records the customers have: ``records, customers`` (customers with that many) and a
    bar chart (log scale). A long tail of very large customers is the sign of over-merging.

    Examples
    --------
    >>> import tempfile, cxlib
    >>> from cxlib import synth, unify
    >>> folder = tempfile.mkdtemp()
    >>> _ = synth.write_company(folder, n_customers=200, seed=5, months=3, progress=False)
    >>> _ = cxlib.load(folder)
    >>> _ = unify.unify(folder, probabilistic=False)
    >>> sizes, fig = unify.cluster_sizes(folder)
    >>> int((sizes["records"] * sizes["customers"]).sum()) == len(cxlib.connect(folder).table("contacts").to_pandas())
    True
    """
    with opened(workspace, read_only=True) as ws:
        cc = _contact_customers(ws)
    sizes = cc.groupby("customer_id").size().value_counts().sort_index()
    out = pd.DataFrame({"records": sizes.index.astype("int64"), "customers": sizes.to_numpy().astype("int64")})
    fig = go.Figure(go.Bar(x=out["records"], y=out["customers"], texttemplate="%{y:,}", textposition="outside"))
    ticks = _log_ticks(int(out["customers"].max()) if len(out) else 1)
    # a log axis labelled 1, 2, 5, 10, 20 ... in full (plotly's own labels its minor ticks with a lone digit)
    fig.update_layout(title="Contact records per customer", xaxis_title="contact records", yaxis_title="customers",
                      yaxis={"type": "log", "tickvals": ticks, "ticktext": [f"{t:,}" for t in ticks]})
    return out, fig


def one_system_words(overlap: pd.DataFrame) -> str | None:
    """What the page and the report say in place of :func:`overlap_figure` when fewer than two systems know
    customers, else ``None``.

    Examples
    --------
    >>> one_system_words(pd.DataFrame({"source_a": ["ga4"], "source_b": ["ga4"], "customers": [329]}))
    'Only one system knows customers by name or id (ga4): nothing to compare.'
    """
    systems = sorted(set(overlap["source_a"]) | set(overlap["source_b"]))
    if len(systems) >= 2:
        return None
    named = ", ".join(map(str, systems)) or "none"
    return f"Only one system knows customers by name or id ({named}): nothing to compare."


def overlap_figure(overlap: pd.DataFrame) -> go.Figure | None:
    """:func:`~cxlib.unify.source_overlap` as a heatmap: customers known to each pair of systems, each system's
    own count on the diagonal. ``None`` with fewer than two systems (one system has nothing to overlap with: a
    one-cell chart with a colour scale would say nothing).

    Examples
    --------
    >>> ov = pd.DataFrame({"source_a": ["crm", "crm", "web", "web"], "source_b": ["crm", "web", "crm", "web"],
    ...                    "customers": [10, 4, 4, 7]})
    >>> overlap_figure(ov).data[0].z.tolist()
    [[10, 4], [4, 7]]
    >>> overlap_figure(ov[ov["source_a"] == "web"].iloc[1:]) is None
    True
    """
    if one_system_words(overlap) is not None:
        return None
    systems = sorted(set(overlap["source_a"]) | set(overlap["source_b"]))
    wide = overlap.pivot(index="source_b", columns="source_a", values="customers")
    wide = wide.reindex(index=systems, columns=systems).fillna(0).astype("int64")
    fig = go.Figure(go.Heatmap(z=wide.to_numpy(), x=systems, y=systems, text=wide.to_numpy(),
                               texttemplate="%{text:,}", colorscale="Blues", showscale=False))
    fig.update_layout(title="Customers known to both systems (the diagonal: each system's own)",
                      xaxis_title="system", yaxis_title="system")
    return fig


def _log_ticks(top: int) -> list[int]:
    """Ticks for a log axis from 1 to ``top``: 1, 2, 5, 10, 20, 50 ... up to the first at or above ``top``.

    Examples
    --------
    >>> _log_ticks(600)
    [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    >>> _log_ticks(1), _log_ticks(200_000)
    ([1], [1, 10, 100, 1000, 10000, 100000])
    """
    ticks = [1]
    while ticks[-1] < top:
        ticks.append((1, 2, 5)[len(ticks) % 3] * 10 ** (len(ticks) // 3))
    return ticks if len(ticks) <= 12 else ticks[::3]  # over four decades: the powers of ten alone


def largest_clusters(workspace: str | Path | Workspace, n: int = 10) -> pd.DataFrame:
    """The ``n`` customers with the most contact records, each record on a row for review: ``customer_id,
    records, record_key, source, first_name, last_name, birth_date, street, postcode, city`` (the columns
    contacts has), largest customer first."""
    with opened(workspace, read_only=True) as ws:
        cc = _contact_customers(ws)
        size = cc.groupby("customer_id").size().rename("records").reset_index()
        top = size.sort_values(["records", "customer_id"], ascending=[False, True]).head(n)
        keep = cc[cc["customer_id"].isin(top["customer_id"])]
        if keep.empty:  # no contact records (a workspace of web analytics or orders alone): nothing to review
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "records" else "string")
                                 for c in ("customer_id", "records", "record_key")})
        c = ws.table("contacts")
        cols = [x for x in ("source", "first_name", "last_name", "birth_date", "street", "postcode", "city")
                if x in c.columns]
        recs = c.filter(c.record_id.isin(list(keep["record_key"]))).select(*cols, record_key=c.record_id)
        recs = recs.to_pandas()
    out = top.merge(keep, on="customer_id").merge(recs, on="record_key", how="left")
    order = {cid: i for i, cid in enumerate(top["customer_id"])}
    out["_o"] = out["customer_id"].map(order)
    return out.sort_values(["_o", "record_key"]).drop(columns="_o").reset_index(drop=True)
