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

import csv
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from cxlib.synth.company import SyntheticCompany
from cxlib.synth.exports import layouts
from cxlib.synth.exports.ga4 import ga4_keys, in_ga4, write_ga4
from cxlib.synth.sinks import _TABLE_NAMES, _FileSink

__all__ = ["EXPORT_SOURCES", "write_exports"]

#: (table, canonical source) -> the source the export loads under (what ``cx sources`` names it)
EXPORT_SOURCES = {
    ("events", "email_platform"): "klaviyo",
    ("orders", "shop"): "shop", ("tickets", "helpdesk"): "zendesk", ("contacts", "crm"): "hubspot",
    ("surveys", "survey_tool"): "qualtrics",
}  # fmt: skip
_FILES = {"events": "klaviyo_email_activity.csv", "orders": "online_retail_invoices.csv",
          "tickets": "zendesk_tickets.csv", "contacts": "hubspot_contacts.csv",
          "surveys": "qualtrics_responses.csv"}  # fmt: skip


def _csv(df: pd.DataFrame, path: Path, extra_rows: list[dict[str, str]] = ()) -> None:
    """Write ``df`` as a vendor CSV (every field quoted where needed, empty for missing values)."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(df.columns)
        for r in extra_rows:
            w.writerow([r.get(c, "") for c in df.columns])
        for row in df.itertuples(index=False):
            w.writerow(["" if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in row])


def _exported(t: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The vendor files (but GA4), by table."""
    e, o = t["events"], t["orders"]
    return {
        "events": layouts.klaviyo(e[e["source"] == "email_platform"]),
        "orders": layouts.retail_lines(o[o["source"] == "shop"], rng),
        "tickets": layouts.zendesk(t["tickets"][t["tickets"]["source"] == "helpdesk"]),
        "contacts": layouts.hubspot(t["contacts"][t["contacts"]["source"] == "crm"]),
        "surveys": layouts.qualtrics(t["surveys"][t["surveys"]["source"] == "survey_tool"]),
    }


def _record_map(company: SyntheticCompany, ga4: pd.DataFrame) -> pd.DataFrame:
    """The truth's record map in the export's keys and sources."""
    m = company.truth.record_map.copy()
    moved = pd.Series([EXPORT_SOURCES.get(k) for k in zip(m["table_name"], m["source"], strict=True)], index=m.index)
    shop = company.tables["orders"]
    shop = shop[shop["source"] == "shop"]
    keys = dict(zip(shop["order_id"], layouts.order_keys(shop), strict=True))
    is_shop = (m["table_name"] == "orders") & (m["source"] == "shop")
    m.loc[is_shop, "record_key"] = m.loc[is_shop, "record_key"].map(keys).fillna(m.loc[is_shop, "record_key"])
    is_ga4 = (m["table_name"] == "events") & m["record_key"].isin(ga4["event_id"])
    person = m[is_ga4].drop_duplicates("record_key").set_index("record_key")[["person_id", "defect"]]
    g = ga4.join(person, on="event_id").drop(columns="event_id").assign(table_name="events", source="ga4")
    m = m.assign(source=moved.fillna(m["source"]))[~is_ga4]
    return pd.concat([m, g[m.columns]], ignore_index=True)


def write_exports(company: SyntheticCompany, out: str | Path) -> dict[str, int]:
    """Write ``company`` the way its systems export it; return rows written per file (GA4: events).

    Parameters
    ----------
    company : SyntheticCompany
        A company from :func:`cxlib.synth.generate` (in memory: the export style suits up to about 100,000
        people).
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
        if stale.stem in _TABLE_NAMES or stale.name in _FILES.values():
            stale.unlink()
    rng = np.random.default_rng(int(company.truth.params.get("seed", 7)))
    rows: dict[str, int] = {}
    for table, df in _exported(t, rng).items():
        extra = layouts.qualtrics_header(list(df.columns)) if table == "surveys" else []
        _csv(df, out / _FILES[table], extra)
        rows[_FILES[table].split(".")[0]] = len(df)
    written = write_ga4(t["events"], t["orders"], out / "ga4")
    rows["ga4"] = len(written)
    for name, df in t.items():  # what has no vendor layout stays canonical
        moved = [s for (tab, s) in EXPORT_SOURCES if tab == name]
        rest = df[~(df["source"].isin(moved) | (in_ga4(df) if name == "events" else False))]
        if len(rest):
            sink.append(name, pa.Table.from_pandas(rest, preserve_index=False))
            rows[name] = len(rest)
    truth = company.truth
    for name in ("people", "stage_history"):
        df = getattr(truth, name).copy()
        if "stage" in df:
            df["stage"] = df["stage"].astype(str)
        sink.append(name, pa.Table.from_pandas(df, preserve_index=False), truth=True)
    sink.append("record_map", pa.Table.from_pandas(_record_map(company, ga4_keys(out / "ga4", written)),
                                                   preserve_index=False), truth=True)  # fmt: skip
    if truth.verbatims is not None:
        sink.append("verbatims", pa.Table.from_pandas(truth.verbatims, preserve_index=False), truth=True)
    sink.close()
    sink.write_meta(truth)
    return dict(sorted(rows.items()))
