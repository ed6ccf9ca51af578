"""The export style: the same company written the way its systems export it (``cx generate --style exports``).

:func:`write_exports` writes a :class:`~cxlib.synth.company.SyntheticCompany` in vendor layouts that
``cx sources`` recognises and the loader's adapters read:

==================  =========================================  ==========================================
canonical rows       written as                                 ``cx sources`` maps it as (``source``)
==================  =========================================  ==========================================
web and app events   ``ga4/events_YYYYMMDD.parquet`` (nested)   ``format: ga4`` (``ga4``)
email events         ``klaviyo_email_activity.csv``             Klaviyo email activity (``klaviyo``)
shop orders          ``online_retail_invoices.csv`` (lines)     invoice lines, ``lines: true`` (``shop``)
helpdesk tickets     ``zendesk_tickets.csv``                    Zendesk tickets (``zendesk``)
CRM contacts         ``hubspot_contacts.csv``                   HubSpot contacts (``hubspot``)
survey responses     ``qualtrics_responses.csv`` (3 headers)    Qualtrics responses (``qualtrics``)
everything else      ``contacts.csv``, ``events.parquet``,      the canonical layout (sources unchanged):
                     ``orders.csv``, ``enrichment.csv``         other contact sources, ads, POS, web
                                                                events with an email (GA4 holds no
                                                                personal data), enrichment
==================  =========================================  ==========================================

Loaded through ``cx sources --write`` and ``cx load``, the workspace holds the same rows, the same revenue
and the same people as the canonical company; ``truth/record_map.parquet`` is the answer key in the
export's own keys (the GA4 events' ids as the loader derives them, credit notes' ``C`` prefix, the
sources above), so identity quality is scored the same way. What the exports cannot carry is listed in
``docs/generator.md``.

Examples
--------
>>> import tempfile
>>> from cxlib.synth import generate
>>> rows = write_exports(generate(n_customers=200, seed=3, months=4), tempfile.mkdtemp())
>>> rows["ga4"] > 0 and rows["online_retail_invoices"] > 0
True
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa

from cxlib.synth.company import SyntheticCompany
from cxlib.synth.exports import layouts
from cxlib.synth.exports.files import EXPORT_SOURCES, FILES, append_csv, canonical_rest, export_record_map, exported
from cxlib.synth.exports.ga4 import ga4_keys, write_ga4
from cxlib.synth.sinks import _TABLE_NAMES, _FileSink

__all__ = ["EXPORT_SOURCES", "write_exports"]


def write_exports(company: SyntheticCompany, out: str | Path) -> dict[str, int]:
    """Write ``company`` the way its systems export it; return rows written per file (GA4: events).

    Parameters
    ----------
    company : SyntheticCompany
        A company from :func:`cxlib.synth.generate` (in memory: up to about 100,000 people; for more, stream
        it with :func:`cxlib.synth.write_company` and ``style="exports"``).
    out : str or Path
        Folder to write to; the truth, in the export's keys, goes to ``out/truth``.

    Returns
    -------
    dict
        Rows per written file stem (``ga4`` counts the GA4 events over all days).

    Examples
    --------
    >>> import tempfile
    >>> from cxlib.synth import generate
    >>> rows = write_exports(generate(n_customers=200, seed=3, months=2), tempfile.mkdtemp())
    >>> sorted(rows)[:3]
    ['contacts', 'enrichment', 'events']
    """
    out = Path(out)
    t = company.tables
    sink = _FileSink(out)
    for stale in [*out.glob("*.csv"), *out.glob("*.parquet")]:
        if stale.stem in _TABLE_NAMES or stale.name in FILES.values():
            stale.unlink()
    rng = np.random.default_rng(int(company.truth.params.get("seed", 7)))
    rows: dict[str, int] = {}
    for table, df in exported(t, rng).items():
        extra = layouts.qualtrics_header(list(df.columns)) if table == "surveys" else []
        append_csv(df, out / FILES[table], True, extra)
        rows[FILES[table].split(".")[0]] = len(df)
    written = write_ga4(t["events"], t["orders"], out / "ga4")
    rows["ga4"] = len(written)
    for name, df in t.items():  # what has no vendor layout stays canonical
        rest = df[canonical_rest(name, df)]
        if len(rest):
            sink.append(name, pa.Table.from_pandas(rest, preserve_index=False))
            rows[name] = len(rest)
    truth = company.truth
    for name in ("people", "stage_history"):
        df = getattr(truth, name).copy()
        if "stage" in df:
            df["stage"] = df["stage"].astype(str)
        sink.append(name, pa.Table.from_pandas(df, preserve_index=False), truth=True)
    m = export_record_map(truth.record_map, t["orders"], ga4_keys(out / "ga4", written))
    sink.append("record_map", pa.Table.from_pandas(m, preserve_index=False), truth=True)
    if truth.verbatims is not None:
        sink.append("verbatims", pa.Table.from_pandas(truth.verbatims, preserve_index=False), truth=True)
    sink.close()
    sink.write_meta(truth)
    return dict(sorted(rows.items()))
