"""Resolve every source row to one customer: identity graph, over-merge guards, probabilistic matching.

:func:`unify` reads the loaded workspace and writes three tables back to it:

``identity_links``
    One row for **every** row of contacts, events, orders, tickets and surveys:
    ``table_name, source, record_key, customer_id, rule, match_probability``. On DuckDB a view: the contact
    records' links (the table ``identity_links_contacts``) and the stream's rows of ``touchpoints``, which
    carry their ``rule`` and ``match_probability`` (the event stream is stored once).
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
3. **Identity graph**: identifiers that occur in the same row are linked; the engine numbers them and makes
   the edges, and the connected components are found in one pass by scipy over those integer ids (DuckDB,
   in this process) or by label propagation with pointer jumping in Ibis (Spark): the same components.
4. **Probabilistic matching** (splink, Fellegi-Sunter trained by EM without labels) compares contact
   records on first name and last name (term-frequency adjusted, with a swapped-names level), birth date
   (tolerant of typos) and the address (one graded comparison), blocked by a dozen two-field rules so that
   a typo cannot hide a pair; all of it configurable in :class:`UnifyConfig` (``docs/unify.md``). Pairs
   above ``match_threshold`` join their components.
5. **Customer ids** are stable: ``C`` + a hash of the customer's oldest member row (by time, then table,
   source and key), so re-running on the same data, in any row order, gives the same ids. Rows with no
   usable identifier get their own anonymous customer (``A`` + hash), flagged, never dropped.

Where each part lives
---------------------
:mod:`~cxlib.unify.normalise` (emails, phones, postcodes, names), :mod:`~cxlib.unify.signatures` (step 0),
:mod:`~cxlib.unify.graph` (steps 2-3), :mod:`~cxlib.unify.probabilistic` (step 4, with the model built in
:mod:`~cxlib.unify.model`), :mod:`~cxlib.unify.links`
(step 5: customer ids, ``identity_links``, ``touchpoints``, ``unify_changes``, :func:`rows_by_rule`),
:mod:`~cxlib.unify.golden` (``customers``), :mod:`~cxlib.unify.pipeline` (:func:`unify`),
:mod:`~cxlib.unify.explain` (:func:`explain`, :func:`lookup`, :func:`search`, :func:`waterfall`) and
:mod:`~cxlib.unify.quality` (with a truth: :func:`evaluate`, :func:`threshold_curve`, :func:`rule_contribution`;
without: :func:`model_parameters`, :func:`match_weight_histogram`, :func:`estimated_threshold_curve`,
:func:`doubtful_pairs`, :func:`cluster_sizes`, :func:`largest_clusters`); settings in
:mod:`~cxlib.unify.config`; the FEBRL benchmark data in :mod:`~cxlib.unify.febrl`, splink's own
example data in :mod:`~cxlib.unify.splink_data`.

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
>>> int(unify.rows_by_rule(folder)["rows"].sum()) == int(result.summary.loc[0, "rows"])
True
"""

from __future__ import annotations

from cxlib.unify.config import LINKED_TABLES, UnifyConfig, run_config  # noqa: F401  (LINKED_TABLES: importable as before)
from cxlib.unify.explain import explain, lookup, search, waterfall
from cxlib.unify.golden import SURVIVORSHIP
from cxlib.unify.graph import identity_graph
from cxlib.unify.links import TOUCHPOINT_COLUMNS, rows_by_rule, source_overlap
from cxlib.unify.normalise import normalise_email, normalise_phone, normalise_postcode
from cxlib.unify.pipeline import UnifyResult, unify
from cxlib.unify.quality import (
    cluster_sizes,
    doubtful_pairs,
    estimated_threshold_curve,
    evaluate,
    largest_clusters,
    match_weight_histogram,
    model_parameters,
    one_system_words,
    overlap_figure,
    rule_contribution,
    threshold_curve,
)
from cxlib.unify.signatures import identifiers as _identifiers  # noqa: F401  (tests: explain's scan vs the full one)

__all__ = [
    "SURVIVORSHIP",
    "TOUCHPOINT_COLUMNS",
    "UnifyConfig",
    "UnifyResult",
    "cluster_sizes",
    "doubtful_pairs",
    "estimated_threshold_curve",
    "evaluate",
    "explain",
    "identity_graph",
    "largest_clusters",
    "lookup",
    "match_weight_histogram",
    "model_parameters",
    "one_system_words",
    "overlap_figure",
    "normalise_email",
    "normalise_phone",
    "normalise_postcode",
    "rows_by_rule",
    "rule_contribution",
    "run_config",
    "search",
    "source_overlap",
    "threshold_curve",
    "unify",
    "waterfall",
]
