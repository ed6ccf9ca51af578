"""The last run's matching model over the workspace's contact records, as the run compared them: for waterfalls.

The records are read by the run's own definition (:func:`cxlib.unify.probabilistic.contact_rows`): keyed as the
run keyed them (``source:id`` where two systems hold one id), with the e-mails and phones the over-merge guard
demoted (``unify_demoted``) or that more records hold than it allows blanked, and only the records with a name
(the only ones the run compared). So a waterfall explains the score the run gave, not another one.
"""

from __future__ import annotations

import itertools
import json
import logging

import pyarrow as pa

from cxlib.engine import Workspace
from cxlib.schema import DataError
from cxlib.unify.blocks import without_block_keys
from cxlib.unify.config import UnifyConfig
from cxlib.unify.probabilistic import _COUNTS, _contact_points, _named, contact_rows, features, tf_columns, with_counts

__all__ = ["saved_linker"]

#: Numbers the tables a waterfall registers: each pair's records get names of their own, so asking for the same
#: record twice (or twice in one process) registers no table twice.
_PICKS = itertools.count()


def _compared(ws: Workspace, cfg: UnifyConfig):  # noqa: ANN202  (a pandas frame)
    """The contact records the run compared, with the fields it compared, keyed ``unique_id``."""
    demoted = ws.table("unify_demoted") if ws.has("unify_demoted") else None
    c = contact_rows(ws, cfg, demoted)
    feats = c.select(unique_id=c._record.cast("string"), **features(c, cfg)).order_by("unique_id").to_pandas()
    feats = feats.sort_values(list(feats.columns), na_position="last", kind="stable").drop_duplicates("unique_id")
    named, _ = _contact_points(_named(feats).reset_index(drop=True), cfg)
    return with_counts(named)


def saved_linker(ws: Workspace, cfg: UnifyConfig):  # noqa: ANN201  (a splink Linker and its DuckDB connection)
    """The last run's model (``unify_model``) over the workspace's contact records, with the intermediate
    columns kept (for waterfalls) and the term-frequency tables of the population it was run on.

    Returns ``(linker, records, connection)``: ``records(ids)`` registers those contact records (a list of ids as
    the run keyed them, ``unify_matches``' ``record_a`` / ``record_b``) as a splink table, for
    ``linker.inference.score_pair``; close the connection when done.
    """
    import duckdb
    from splink import DuckDBAPI, Linker

    from cxlib.memory import duckdb_config

    if not ws.has("unify_model"):
        raise DataError("no trained model in this workspace: run `cx unify` (with the probabilistic step)")
    settings = without_block_keys(json.loads(ws.table("unify_model").to_pandas()["model"].iloc[0]))
    settings["retain_intermediate_calculation_columns"] = True
    settings["retain_matching_columns"] = True
    feats = _compared(ws, cfg)
    con = duckdb.connect(config=duckdb_config())
    con.execute("SET enable_progress_bar = false")
    db = DuckDBAPI(connection=con)
    schema = pa.schema([(c, pa.int64() if c == "birth_days" or c in _COUNTS else pa.string()) for c in feats.columns])
    sdf = db.register(pa.Table.from_pandas(feats, schema=schema, preserve_index=False), table_name="cx_all")
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    for col in tf_columns(settings):
        linker.table_management.compute_tf_table(col)
    by_id = feats.set_index("unique_id", drop=False)

    def records(ids: list[str]):  # noqa: ANN202
        missing = [r for r in ids if r not in by_id.index]
        if missing:
            raise DataError(
                f"no contact record {missing[0]!r} that the matching compared in this workspace: give the ids as "
                "`unify_matches` names them (`source:id` where two systems hold the same id); a record without "
                "a first name or surname is not compared"
            )
        rows = pa.Table.from_pandas(by_id.loc[ids], schema=schema, preserve_index=False)
        return db.register(rows, table_name=f"cx_pick_{next(_PICKS)}")

    return linker, records, con
