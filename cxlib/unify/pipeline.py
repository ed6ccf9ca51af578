"""The whole step: :func:`unify` runs signatures, guard and graph, probabilistic matching, customer ids,
``identity_links``, ``customers``, ``touchpoints`` and the reports, and returns a :class:`UnifyResult`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import ibis
import pandas as pd

from cxlib.engine import Workspace, opened
from cxlib.schema import DataError
from cxlib.unify.clusters import BELOW, MERGED
from cxlib.unify.config import SETTINGS_TABLE, UnifyConfig, run_config, settings_frame
from cxlib.unify.golden import write_customers
from cxlib.unify.graph import SIGNATURE_TABLES, graph_parts
from cxlib.unify.links import (
    assign_customers,
    previous_links,
    rows_by_rule,
    write_changes,
    write_identity_links,
    write_touchpoints,
)
from cxlib.unify.probabilistic import match_components, merge_map
from cxlib.unify.spellings import SPELLINGS_TABLE, kept_spellings

__all__ = ["UnifyResult", "unify"]


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
            f"identity graph: {int(s['components']):,} components {_rounds(int(s['iterations']))}; "
            f"{int(s['probabilistic_merges']):,} probabilistic merges{_refused(int(s['refused_merges']))}; "
            f"{len(self.demoted):,} identifiers demoted",
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
        Without ``config``, the last run's identifier settings (:func:`~cxlib.unify.config.run_config`).

    Returns
    -------
    UnifyResult
    """
    with opened(workspace) as ws:
        cfg = config or (run_config(ws) if incremental else UnifyConfig())
        if probabilistic is not None:
            cfg = dataclasses.replace(cfg, probabilistic=probabilistic)
        with ws.step("unify"):  # every output swaps in together, or none does
            return _unify(ws, cfg, progress, incremental)


class _Phases:
    """With ``progress``, one line per finished phase of unify and its duration (on stderr)."""

    def __init__(self, on: bool) -> None:
        self.on, self.t0, self.cpu0 = on, time.perf_counter(), time.process_time()

    def done(self, what: str) -> None:
        kill_at = os.environ.get("CX_TEST_KILL_AFTER")  # a fault-injection hook for the tests: die after a phase
        if kill_at and kill_at in what:
            os.kill(os.getpid(), signal.SIGKILL)
        if self.on:
            peak = ""
            try:
                import resource

                peak = f" (peak memory so far {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB)"
            except ImportError:  # Windows
                pass
            # CPU: every thread of the process (the engine's too); on a busy machine it varies less than wall time
            took = f"{time.perf_counter() - self.t0:.1f}s (CPU {time.process_time() - self.cpu0:.1f}s)"
            print(f"unify: {what} in {took}{peak}", file=sys.stderr, flush=True)
        self.t0, self.cpu0 = time.perf_counter(), time.process_time()


def _rounds(iterations: int) -> str:
    """How the identity graph's components were found: in one pass (0 rounds: DuckDB) or rounds of label
    propagation."""
    return "in one pass" if iterations == 0 else f"in {iterations} rounds of label propagation"


def _unify(ws: Workspace, cfg: UnifyConfig, progress: bool, incremental: bool = False) -> UnifyResult:
    phase = _Phases(progress)
    _check_priority(ws, cfg)
    nodes, demoted, iterations, signed = graph_parts(ws, cfg, progress=progress)
    components = int(nodes.component.nunique().to_pyarrow().as_py())
    if components == 0 and int(signed.count().to_pyarrow().as_py()) == 0:  # not a row at all
        raise DataError(_nothing_to_unify(ws))
    phase.done("identifiers, over-merge guard and identity graph")
    # component merges from probabilistic matches (small: contact records only)
    candidates, matches = match_components(ws, cfg, nodes, incremental, demoted=demoted)
    ws.drop_scratch("_unify_nodes")  # the last reader: scratch tables spill to disk at a million customers
    merge = merge_map(matches).astype({"component": "string", "cluster": "string", "match_probability": "float64"})
    merge = ws.scratch("_unify_merge", merge)
    phase.done("probabilistic matching")
    # every signature -> its component -> cluster -> customer; rows follow their signature
    sigmap = assign_customers(ws, signed, merge)
    ws.drop_scratch(*SIGNATURE_TABLES, "_unify_merge")  # all in _unify_sigmap now
    prev = previous_links(ws)
    write_touchpoints(ws, sigmap)  # first: identity_links is a view of its rows and the contact records' links
    phase.done("every row to its customer (touchpoints)")
    links = write_identity_links(ws, sigmap)
    phase.done("the contact records' links (identity_links)")
    changes = write_changes(ws, links, prev)
    if prev is not None:
        phase.done("merges and splits since the last run (unify_changes)")
    write_customers(ws, sigmap, cfg)
    _write_identifiers(ws, sigmap, demoted)
    ws.drop_scratch("_unify_ids")  # read by the two above only
    phase.done("golden records (customers) and identifiers (unify_identifiers)")
    demoted_df = _write_reports(ws, demoted, candidates)
    ws.write(SETTINGS_TABLE, settings_frame(cfg))  # what `cx explain` reads back (run_config)
    ws.write(SPELLINGS_TABLE, kept_spellings(ws))  # and how the references read (cxlib.unify.spellings)
    rules = rows_by_rule(ws)
    summary = _summary(ws, sigmap, rules, components, iterations, candidates["decision"], len(demoted_df), changes)
    ws.drop_scratch()
    return UnifyResult(summary, rules, demoted_df, matches, changes)


def _refused(n: int) -> str:
    """The summary's words for ``n`` matches a guard refused (``unify_matches.decision``)."""
    if not n:
        return ""
    return (f" ({n:,} more scored at the threshold or above, refused for conflicting birth dates or contact points:"
            " unify_matches.decision)")


def _check_priority(ws: Workspace, cfg: UnifyConfig) -> None:
    """Warn about names in a ``source_priority`` given by the user (not the default) that no contact record's
    source has: a typo there would silently leave the golden records' ties and the shared record ids to the
    other names."""
    if cfg.source_priority == UnifyConfig().source_priority or not ws.has("contacts"):
        return
    c = ws.table("contacts")
    held = set(c.select(s=c.source.cast("string")).distinct().to_pandas()["s"].dropna())
    unknown = [s for s in cfg.source_priority if s not in held]
    if unknown:
        logging.getLogger("cxlib.unify").warning(
            "unify: source_priority names %s, which no contact record comes from (their sources: %s); "
            "the other names decide",
            ", ".join(repr(s) for s in unknown),
            ", ".join(sorted(held)) or "none",
        )


def _write_identifiers(ws: Workspace, sigmap: ibis.Table, demoted: ibis.Table) -> None:
    """``unify_identifiers``: every usable identifier with its customer and rows, for lookups by a value that
    is not the golden one."""
    ids = ws.table("_unify_ids").anti_join(demoted, ["id_type", "id_value"])
    ids = ids.join(sigmap.filter(sigmap.customer_id.notnull()).select("sid", "customer_id", "rows"), "sid")
    ws.write(
        "unify_identifiers",
        ids.group_by(["id_type", "id_value", "customer_id"])
        .aggregate(rows=ids.rows.sum().cast("int64"))
        .order_by(["id_type", "id_value", "customer_id"]),
    )


def _write_reports(ws: Workspace, demoted: ibis.Table, candidates: pd.DataFrame) -> pd.DataFrame:
    """``unify_demoted`` (with the reason, largest first; returned) and ``unify_matches`` (every scored pair)."""
    demoted_df = demoted.to_pandas().sort_values(
        ["records", "id_type", "id_value"], ascending=[False, True, True], ignore_index=True
    )
    # what a record is here: a contact record; with no contacts (GA4 or orders alone), the customer ids rows name
    contacts = ws.has("contacts") and int(ws.table("contacts").count().to_pyarrow().as_py()) > 0
    noun = " contact records" if contacts else " customer ids"
    shared = (
        "shared by "
        + demoted_df["records"].astype(str)
        + noun
        + " (limit "
        + demoted_df["limit"].astype(str)
        + " for "
        + demoted_df["id_type"]
        + ")"
    )
    dummy = "a placeholder, not a person's " + demoted_df["id_type"] + " (" + demoted_df["rows"].astype(str) + " rows)"
    apart = "shared by " + demoted_df["records"].astype(str) + noun + " of people with different names"
    mates = ("seen with " + demoted_df["records"].astype(str) + " different e-mails or phones (limit "
             + demoted_df["limit"].astype(str) + " for " + demoted_df["id_type"] + ")")  # fmt: skip
    cause = demoted_df["cause"]
    why = dummy.where(cause == "placeholder", mates.where(cause == "partners", apart))
    demoted_df["reason"] = shared.where(cause == "count", why)
    text = {"id_type": "string", "id_value": "string", "cause": "string", "reason": "string"}
    ws.write("unify_demoted", demoted_df.astype(text))
    types = {"record_a": "string", "record_b": "string", "component_a": "string", "component_b": "string"}
    types |= {"match_probability": "float64", "accepted": "bool", "decision": "string"}
    ws.write("unify_matches", candidates.astype(types))
    return demoted_df


def _nothing_to_unify(ws: Workspace) -> str:
    """Why a workspace whose loaded tables hold no row has nothing to unify, and what to do."""
    q = _quarantined(ws)
    why = f"; the last load quarantined {q:,} rows (the quarantine table names each one's cause)" if q else ""
    folder = ws.folder or "FOLDER"
    held = "the loaded tables hold no row"
    if ws.has("enrichment") and int(ws.table("enrichment").count().to_pyarrow().as_py()):
        # enrichment adds to the customers the other tables make; alone it makes none
        held = ("the loaded tables hold no row but enrichment's, which adds to the customers the contacts, events, "
                "orders, tickets and surveys make, and makes none of its own")
    return (
        f"{folder}: no source rows to unify: {held}{why}. Fix the exports (or map their columns in sources.yml) "
        f"and run `cx load {folder}` again"
    )


def _quarantined(ws: Workspace) -> int:
    if not ws.has("quarantine"):
        return 0
    q = ws.table("quarantine")
    q = q.filter(q.action == "quarantined").select("table_name", "source_file", "row").distinct()
    return int(q.count().to_pyarrow().as_py())


def _summary(
    ws: Workspace,
    sigmap: ibis.Table,
    rules: pd.DataFrame,
    components: int,
    iterations: int,
    decision: pd.Series,
    demoted: int,
    changes: pd.DataFrame,
) -> pd.DataFrame:
    """The one-row ``UnifyResult.summary`` (``decision``: what became of each scored pair,
    :func:`cxlib.unify.clusters.decisions`; the merges are the pairs merged, and a guard refused the others at
    or above the threshold)."""
    cust = ws.table("customers")
    summ = cust.aggregate(customers=cust.count(), anonymous_customers=cust.is_anonymous.sum()).to_pandas()
    row = {
        "rows": int(sigmap.rows.sum().to_pyarrow().as_py()),
        "rows_linked": int(rules["rows"].sum()),
        "customers": int(summ.loc[0, "customers"]),
        "known_customers": int(summ.loc[0, "customers"] - summ.loc[0, "anonymous_customers"]),
        "anonymous_customers": int(summ.loc[0, "anonymous_customers"]),
        "components": components,
        "iterations": iterations,
        "probabilistic_merges": int((decision == MERGED).sum()),
        "refused_merges": int((~decision.isin([MERGED, BELOW])).sum()),
        "demoted_identifiers": demoted,
        "quarantined_rows": _quarantined(ws),
        "customers_merged_since_last_run": int((changes["change"] == "merge").sum()),
        "customers_split_since_last_run": int((changes["change"] == "split").sum()),
    }
    return pd.DataFrame([row])
