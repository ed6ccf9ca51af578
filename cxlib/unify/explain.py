"""Looking at single customers: why their rows were merged (:func:`explain`), their golden record and
timeline (:func:`lookup`, :func:`search`).
"""

from __future__ import annotations

from pathlib import Path

import ibis
import numpy as np
import pandas as pd
import plotly.graph_objects as go

from cxlib.engine import Workspace, opened
from cxlib.schema import DataError
from cxlib.unify.config import UnifyConfig, run_config
from cxlib.unify.normalise import normalise_email, normalise_phone
from cxlib.unify.signatures import identifiers

__all__ = ["explain", "lookup", "search", "waterfall"]


def explain(workspace: str | Path | Workspace, customer_id: str) -> tuple[pd.DataFrame, go.Figure]:
    """Why these records were merged: the identifiers each member row carries, and the probabilistic matches.

    Returns a table (``table_name, source, record_key, rule, match_probability, identifiers``) and a plotly
    network of rows and the identifiers that join them.
    """
    with opened(workspace, read_only=True) as ws:
        links = ws.table("identity_links")
        mine = links.filter(links.customer_id == customer_id).to_pandas()
        if mine.empty:
            raise DataError(f"no customer {customer_id!r} in identity_links; run `cx unify` or check the id")
        carried = identifiers(ws, run_config(ws), only=mine).to_pandas()  # as the run saw them
        matches = ws.table("unify_matches").to_pandas() if ws.has("unify_matches") else pd.DataFrame()
        demoted = ws.table("unify_demoted").to_pandas() if ws.has("unify_demoted") else pd.DataFrame()
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
    with opened(workspace, read_only=True) as ws:
        cust = ws.table("customers")
        if customer_id:
            ids = [customer_id]
        else:
            probe = ibis.memtable({"v": [email or phone]})
            val = (normalise_email(probe.v) if email else normalise_phone(probe.v, country)).name("v")
            norm = probe.select(val).to_pandas()["v"].iloc[0]
            if norm is None or pd.isna(norm):  # nothing usable left after normalising: nobody
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
    return golden, timeline


def search(workspace: str | Path | Workspace, text: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`lookup` from one search box: an email (has ``@``), a customer id (``C…``/``A…``), else a phone."""
    text = text.strip()
    if not text:  # an empty box shows nobody
        with opened(workspace, read_only=True) as ws:
            return ws.table("customers").limit(0).to_pandas(), ws.table("touchpoints").limit(0).to_pandas()
    if "@" in text:
        return lookup(workspace, email=text)
    if text[:1] in ("C", "A") and not text[1:].replace(" ", "").isdigit():
        return lookup(workspace, customer_id=text)
    return lookup(workspace, phone=text)


def waterfall(
    workspace: str | Path | Workspace, record_a: str, record_b: str, config: UnifyConfig | None = None
) -> tuple[pd.DataFrame, go.Figure]:
    """Why the model scores two contact records as it does: the prior and each comparison's match weight.

    Uses the last run's model (``unify_model``), its settings (:func:`~cxlib.unify.config.run_config`, unless
    ``config`` is given) and the term frequencies of all contact records. Returns a
    table (``step, values, level, match_weight, cumulative``: the prior, one row per comparison, the cap of
    the household prior (``household``: 0 unless it lowered the score, :mod:`cxlib.unify.households`), and
    the final score with its ``match_probability``) and a plotly waterfall of it.
    """
    from cxlib.unify.saved import saved_linker

    with opened(workspace, read_only=True) as ws:
        linker, records, con = saved_linker(ws, config or run_config(ws))
        saved = ws.table("unify_model").to_pandas()
        held = _components_held(ws, [record_a, record_b])
    share = float(saved["household_share"].iloc[0]) if "household_share" in saved else 1.0
    contact = float(saved["household_contact_share"].iloc[0]) if "household_contact_share" in saved else share
    try:
        pair = linker.inference.score_pair(records([record_a]), records([record_b]))
        row = pair.as_pyarrow_table().to_pandas().iloc[0]
        model = linker.misc.save_model_to_json()
    finally:
        con.close()
    table = _waterfall_table(row, model, share, contact, held)
    fig = go.Figure(
        go.Waterfall(
            x=table["step"],
            y=table["match_weight"],
            measure=["absolute"] + ["relative"] * (len(table) - 2) + ["total"],
            text=table["level"],
        )
    )
    fig.update_layout(title=f"{record_a} vs {record_b}: {table['level'].iloc[-1].replace('p =', 'match probability')}",
                      yaxis_title="match weight (log2 Bayes factor)")
    return table, fig


def _level_label(comp: dict, gamma: object) -> str:
    """The chart label of the level a comparison vector value ``gamma`` stands for (splink numbers the
    non-null levels from the last, 0, upwards; null is -1)."""
    levels = [lvl for lvl in comp["comparison_levels"] if not lvl.get("is_null_level")]
    g = int(gamma) if gamma is not None and not pd.isna(gamma) else -1
    return "null" if g < 0 else levels[len(levels) - 1 - g].get("label_for_charts", str(g))


def _components_held(ws: Workspace, records: list[str]) -> pd.DataFrame | None:
    """Whether the last run's components of ``records`` hold an e-mail or a phone (by record, as
    :func:`cxlib.unify.households.component_contacts`: the ``contacts`` the run kept in
    ``unify_contact_components``); ``None`` for a run that kept none."""
    from cxlib.unify.households import CONTACT

    if not ws.has("unify_contact_components"):
        return None
    comps = ws.table("unify_contact_components")
    if "contacts" not in comps.columns:
        return None
    mine = comps.filter(comps.record.isin(records)).select("record", "contacts").to_pandas()
    kinds = mine["contacts"].astype(object).fillna("").astype(str)
    return pd.DataFrame({c: kinds.str.split(",").map(lambda k, c=c: c in k).to_numpy(bool) for c in CONTACT},
                        index=mine["record"].astype(str).to_numpy())


def _household_step(
    row: pd.Series, model: dict, share: float, contact: float | None = None, held: pd.DataFrame | None = None
) -> tuple[dict, float, float]:
    """The waterfall's ``household`` row, and the pair's final match weight and probability (capped by the
    household prior ``share``, or ``contact`` when both components hold an e-mail or both a phone: ``held``,
    :func:`cxlib.unify.households.component_contacts`)."""
    import json

    from cxlib.unify.households import contact_pairs, household_scores

    contact = share if contact is None else contact
    pair = pd.DataFrame([row])
    both = bool(contact_pairs(pair, held)[0])  # as household_scores judges it
    prior = contact if both else share
    weight, p = float(row["match_weight"]), float(row["match_probability"])
    capped = float(household_scores(pair, json.dumps(model), share, contact, held).iloc[0]) if prior < 1 else p
    final = float(np.log2(capped / (1 - capped))) if capped < p else weight
    whose = "same surname and address, each with their own e-mail or phone," if both else "same surname and address"
    level = f"{prior:.2f} of {whose} are one person" if prior < 1 else "no households"
    return {"step": "household", "values": "", "level": level, "match_weight": final - weight}, final, min(p, capped)


def _waterfall_table(
    row: pd.Series, model: dict, share: float = 1.0, contact: float | None = None, held: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row for the prior, one per comparison (its weight with any term-frequency adjustment), the cap of
    the household prior, the total."""
    prior = model["probability_two_random_records_match"]
    rows = [{"step": "prior", "values": "", "level": "", "match_weight": float(np.log2(prior / (1 - prior)))}]
    for comp in model["comparisons"]:
        n = comp["output_column_name"]
        w = float(row.get(f"mw_{n}", 0.0) or 0.0) + float(row.get(f"mw_tf_adj_{n}", 0.0) or 0.0)
        cols = [n] if f"{n}_l" in row else ["street_number", "street", "postcode", "city"]
        side = [" ".join(str(row[f"{c}_{s}"]) for c in cols if pd.notna(row.get(f"{c}_{s}"))) for s in "lr"]
        rows.append({"step": n, "values": " | ".join(side), "level": _level_label(comp, row.get(f"gamma_{n}")),
                     "match_weight": w})
    household, final, p = _household_step(row, model, share, contact, held)
    out = pd.DataFrame([*rows, household])
    out["cumulative"] = out["match_weight"].cumsum()
    total = {"step": "total", "values": "", "level": f"p = {p:.4f}", "match_weight": final, "cumulative": final}
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)
