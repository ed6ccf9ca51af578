"""What the two export writers share: which rows go to which vendor file, the CSV writing, the answer key.

:func:`cxlib.synth.exports.write_exports` (a company in memory) and
:func:`cxlib.synth.exports.stream.write_exports_blocks` (block by block) both split the canonical rows with
:func:`exported` and :func:`canonical_rest`, append the vendor files with :func:`append_csv` and translate the
truth's record map with :func:`export_record_map`.

Examples
--------
>>> FILES["orders"], EXPORT_SOURCES[("orders", "shop")]
('online_retail_invoices.csv', 'shop')
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from cxlib.synth.exports import layouts
from cxlib.synth.exports.ga4 import in_ga4

#: (table, canonical source) -> the source the export loads under (what ``cx sources`` names it)
EXPORT_SOURCES = {
    ("events", "email_platform"): "klaviyo",
    ("orders", "shop"): "shop", ("tickets", "helpdesk"): "zendesk", ("contacts", "crm"): "hubspot",
    ("surveys", "survey_tool"): "qualtrics",
}  # fmt: skip
#: table -> the vendor file its moved rows go to
FILES = {"events": "klaviyo_email_activity.csv", "orders": "online_retail_invoices.csv",
         "tickets": "zendesk_tickets.csv", "contacts": "hubspot_contacts.csv",
         "surveys": "qualtrics_responses.csv"}  # fmt: skip


def append_csv(df: pd.DataFrame, path: Path, header: bool, extra_rows: list[dict[str, str]] = ()) -> None:
    """Append ``df`` to a vendor CSV (quoted where needed, empty for missing values), with the column names and
    ``extra_rows`` first when ``header``."""
    with path.open("w" if header else "a", newline="", encoding="utf-8") as fh:
        if header:
            w = csv.writer(fh)
            w.writerow(df.columns)
            for r in extra_rows:
                w.writerow([r.get(c, "") for c in df.columns])
        if len(df):  # as csv.writer writes rows (minimal quoting, CRLF, missing values empty)
            df.to_csv(fh, header=False, index=False, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)


def exported(t: dict[str, pd.DataFrame], rng: np.random.Generator) -> dict[str, pd.DataFrame]:
    """The vendor files (but GA4), by table."""
    e, o = t["events"], t["orders"]
    return {
        "events": layouts.klaviyo(e[e["source"] == "email_platform"]),
        "orders": layouts.retail_lines(o[o["source"] == "shop"], rng),
        "tickets": layouts.zendesk(t["tickets"][t["tickets"]["source"] == "helpdesk"]),
        "contacts": layouts.hubspot(t["contacts"][t["contacts"]["source"] == "crm"]),
        "surveys": layouts.qualtrics(t["surveys"][t["surveys"]["source"] == "survey_tool"]),
    }


def canonical_rest(name: str, df: pd.DataFrame) -> pd.Series:
    """Which rows of table ``name`` have no vendor layout and stay in the canonical file."""
    moved = [s for (tab, s) in EXPORT_SOURCES if tab == name]
    return ~(df["source"].isin(moved) | (in_ga4(df) if name == "events" else False))


def export_record_map(m: pd.DataFrame, orders: pd.DataFrame, ga4: pd.DataFrame) -> pd.DataFrame:
    """The truth's record map ``m`` in the export's keys and sources.

    ``orders`` are the canonical orders the rows of ``m`` name (the shop's become invoices, credit notes
    prefixed); ``ga4`` maps the GA4 events' ``event_id`` (ours) to ``record_key`` (the loader's).
    """
    m = m.astype({"table_name": object, "source": object, "record_key": object})  # hashed, not Arrow, lookups
    moved = (m["table_name"] + "|" + m["source"]).map({f"{t}|{s}": v for (t, s), v in EXPORT_SOURCES.items()})
    shop = orders[orders["source"] == "shop"]
    keys = dict(zip(shop["order_id"], layouts.order_keys(shop), strict=True))
    is_shop = (m["table_name"] == "orders") & (m["source"] == "shop")
    m.loc[is_shop, "record_key"] = m.loc[is_shop, "record_key"].map(keys).fillna(m.loc[is_shop, "record_key"])
    is_ga4 = (m["table_name"] == "events") & m["record_key"].isin(set(ga4["event_id"]))
    person = m[is_ga4].drop_duplicates("record_key").set_index("record_key")[["person_id", "defect"]]
    g = ga4.join(person, on="event_id").drop(columns="event_id").assign(table_name="events", source="ga4")
    m = m.assign(source=moved.fillna(m["source"]))[~is_ga4]
    return pd.concat([m, g[m.columns]], ignore_index=True)
