"""The company's other tables in the layouts their systems export (column names as the vendors write them).

Each function takes the canonical rows of one system and returns the export as a data frame (and the
record keys the loader will give its rows, where they differ from ours):

* :func:`retail_lines` -- shop orders as invoice lines (the Online Retail layout): 1-3 lines per order
  summing to its amount to the cent, cancelled orders as credit notes ``C<order id>`` with negative
  quantities; ``Email``, ``Currency``, ``Status``, ``Channel`` and ``Return Reason`` as extra columns (an
  ERP export with its order fields), so the orders load as they were;
* :func:`klaviyo` -- email events as Klaviyo metric rows (``Received Email``, ``Opened Email``, ...);
* :func:`zendesk` -- helpdesk tickets as the Zendesk ticket export;
* :func:`hubspot` -- CRM contacts as the HubSpot contacts export;
* :func:`qualtrics` -- survey responses as the Qualtrics CSV (its two extra header rows are added by
  :func:`qualtrics_header`).

Examples
--------
>>> o = pd.DataFrame({"source": ["shop"], "order_id": ["O1"], "ts": ["2024-01-02 10:00:00"], "contact_ref": ["S1"],
...                   "email": [None], "amount": ["10.01"], "currency": ["GBP"], "status": ["cancelled"],
...                   "channel": ["web"], "return_reason": [None]})
>>> lines = retail_lines(o, np.random.default_rng(1))
>>> lines["InvoiceNo"].unique().tolist(), round(float((lines["Quantity"] * lines["UnitPrice"].astype(float)).sum()), 2)
(['CO1'], -10.01)
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

_PRODUCTS = (("85123A", "WHITE HANGING HEART T-LIGHT HOLDER"), ("22423", "REGENCY CAKESTAND 3 TIER"),
             ("47566", "PARTY BUNTING"), ("84879", "ASSORTED COLOUR BIRD ORNAMENT"),
             ("20725", "LUNCH BAG RED RETROSPOT"),
             ("22720", "SET OF 3 CAKE TINS PANTRY DESIGN"), ("21212", "PACK OF 72 RETROSPOT CAKE CASES"),
             ("23203", "JUMBO BAG DOILEY PATTERNS"))  # fmt: skip
_COUNTRY = {"GBP": "United Kingdom", "EUR": "France"}
CREDIT_PREFIX = "C"


def _ts(s: pd.Series) -> pd.Series:
    return pd.to_datetime(s, format="mixed")


def _split(cents: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each order's lines: ``(order index, quantity, unit price in cents)``, 1-3 a line for amounts of 3.00 or
    more (cut at distinct random cents), whose totals are ``cents`` exactly."""
    n = np.where(cents >= 300, rng.integers(1, 4, size=len(cents)), 1)
    c1 = rng.integers(1, np.maximum(cents, 2))  # a cut in 1..cents-1
    c2 = rng.integers(1, np.maximum(cents - 1, 2))  # another, distinct: 1..cents-2 shifted past c1
    c2 = np.where(c2 >= c1, c2 + 1, c2)
    lo, hi = np.minimum(c1, c2), np.maximum(c1, c2)
    one, two = cents[:, None] * [1, 0, 0], np.column_stack([c1, cents - c1, 0 * c1])
    parts = np.select([(n == 1)[:, None], (n == 2)[:, None]], [one, two], np.column_stack([lo, hi - lo, cents - hi]))
    keep = np.arange(3)[None, :] < n[:, None]
    order = np.broadcast_to(np.arange(len(cents))[:, None], keep.shape)[keep]
    p = parts[keep]
    q = np.where((p % 3 == 0) & (p >= 3), 3, np.where((p % 2 == 0) & (p >= 2), 2, 1))
    q = np.where(rng.random(len(p)) < 0.5, q, 1)
    return order, q, p // q


def retail_lines(orders: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Shop orders as invoice lines (InvoiceNo, StockCode, Description, Quantity, InvoiceDate, UnitPrice,
    CustomerID, Country, and the order fields the canonical orders carry)."""
    if not len(orders):
        return pd.DataFrame()
    o = orders.reset_index(drop=True)
    cents = np.round(pd.to_numeric(o["amount"]).to_numpy("float64") * 100).astype("int64")
    i, q, price = _split(cents, rng)
    line = pd.Series(i).groupby(i).cumcount().to_numpy()
    credit = o["status"].astype(str).str.strip().str.lower().eq("cancelled").to_numpy()[i]
    product = rng.integers(len(_PRODUCTS), size=len(i))
    first = line == 0
    at = _ts(o["ts"]).to_numpy()[i] + pd.to_timedelta(7 * line, unit="s").to_numpy()
    return pd.DataFrame({
        "InvoiceNo": np.where(credit, CREDIT_PREFIX, "") + o["order_id"].to_numpy(object)[i],
        "StockCode": np.array([c for c, _ in _PRODUCTS], dtype=object)[product],
        "Description": np.array([d for _, d in _PRODUCTS], dtype=object)[product],
        "Quantity": np.where(credit, -q, q), "InvoiceDate": pd.Series(at).dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
        "UnitPrice": [f"{c / 100:.2f}" for c in price], "CustomerID": o["contact_ref"].to_numpy(object)[i],
        "Country": o["currency"].map(_COUNTRY).to_numpy(object)[i],
        "Email": np.where(first, o["email"].to_numpy(object)[i], None), "Currency": o["currency"].to_numpy(object)[i],
        "Status": o["status"].to_numpy(object)[i], "Channel": o["channel"].to_numpy(object)[i],
        "Return Reason": np.where(first, o["return_reason"].to_numpy(object)[i], None),
    })  # fmt: skip


def order_keys(orders: pd.DataFrame) -> pd.Series:
    """The order id each shop order loads under (credit notes carry the prefix)."""
    credit = orders["status"].astype(str).str.strip().str.lower().eq("cancelled")
    return orders["order_id"].where(~credit, CREDIT_PREFIX + orders["order_id"])


_KLAVIYO = {"email_sent": "Received Email", "email_open": "Opened Email", "email_click": "Clicked Email"}


def klaviyo(events: pd.DataFrame) -> pd.DataFrame:
    """Email events as Klaviyo metric rows (Event ID, Profile ID, Email, Metric Name, Timestamp, Campaign Name)."""
    return pd.DataFrame({
        "Event ID": events["event_id"], "Profile ID": events["contact_ref"], "Email": events["email"],
        "Metric Name": events["event"].map(_KLAVIYO).fillna(events["event"]),
        "Timestamp": _ts(events["ts"]).dt.strftime("%Y-%m-%d %H:%M:%S+00:00"), "Campaign Name": events["campaign"],
    })  # fmt: skip


_VIA = {"email": "Email", "phone": "Phone", "chat": "Chat", "web_form": "Web form"}


def zendesk(tickets: pd.DataFrame) -> pd.DataFrame:
    """Tickets as the Zendesk export (Id, Subject, Status, Requester, Requester id, Requester email, Created at,
    Solved at, Via, ...; the topic, phone and 1-5 rating as custom fields)."""
    solved = tickets["resolved"].astype(str).str.lower().eq("true")
    csat = pd.to_numeric(tickets["csat"], errors="coerce")
    score = np.select([csat >= 4, csat <= 2, csat.notna()], ["good", "bad", "offered"], "unoffered")
    return pd.DataFrame({
        "Id": tickets["ticket_id"], "Subject": tickets["subject"], "Description": tickets["description"],
        "Status": np.where(solved, "solved", "open"), "Priority": "normal", "Requester": tickets["email"],
        "Requester id": tickets["contact_ref"], "Requester email": tickets["email"], "Phone": tickets["phone"],
        "Created at": tickets["opened_at"], "Updated at": tickets["closed_at"].fillna(tickets["opened_at"]),
        "Solved at": tickets["closed_at"], "Via": tickets["channel"].map(_VIA).fillna(tickets["channel"]),
        "Topic": tickets["topic"], "Satisfaction Score": score, "CSAT": tickets["csat"],
        "Group": "Support", "Tags": tickets["topic"],
    })  # fmt: skip


def hubspot(contacts: pd.DataFrame) -> pd.DataFrame:
    """CRM contacts as the HubSpot contacts export."""
    return pd.DataFrame({
        "Record ID": contacts["record_id"], "First Name": contacts["first_name"], "Last Name": contacts["last_name"],
        "Email": contacts["email"], "Phone Number": contacts["phone"], "Street Address": contacts["street"],
        "City": contacts["city"], "Postal Code": contacts["postcode"], "Country/Region": contacts["country"],
        "Date of birth": contacts["birth_date"], "Create Date": contacts["created_at"],
        "Last Modified Date": contacts["updated_at"], "Lifecycle Stage": "customer", "Contact owner": None,
    })  # fmt: skip


_QUESTIONS = {"StartDate": "Start Date", "EndDate": "End Date", "Status": "Response Type", "Progress": "Progress",
              "Duration (in seconds)": "Duration (in seconds)", "Finished": "Finished",
              "RecordedDate": "Recorded Date", "ResponseId": "Response ID", "RecipientEmail": "Recipient Email",
              "ExternalReference": "External Data Reference", "DistributionChannel": "Distribution Channel",
              "UserLanguage": "User Language",
              "NPS": "How likely are you to recommend us to a friend or colleague?",
              "NPS_NPS_GROUP": "How likely are you to recommend us to a friend or colleague? - Group",
              "Comment": "What is the main reason for your score?"}  # fmt: skip
_IMPORT = {"StartDate": "startDate", "EndDate": "endDate", "Status": "status", "Progress": "progress",
           "Duration (in seconds)": "duration", "Finished": "finished", "RecordedDate": "recordedDate",
           "ResponseId": "_recordId", "RecipientEmail": "recipientEmail", "ExternalReference": "externalDataReference",
           "DistributionChannel": "distributionChannel", "UserLanguage": "userLanguage", "NPS": "QID1",
           "NPS_NPS_GROUP": "QID1_NPS_GROUP", "Comment": "QID2_TEXT"}  # fmt: skip


def qualtrics(surveys: pd.DataFrame) -> pd.DataFrame:
    """Responses as the Qualtrics CSV (without its two extra header rows: :func:`qualtrics_header`)."""
    end = _ts(surveys["ts"])
    nps = pd.to_numeric(surveys["nps"], errors="coerce")
    group = np.select([nps >= 9, nps >= 7, nps.notna()], ["Promoter", "Passive", "Detractor"], "")
    fmt = "%Y-%m-%d %H:%M:%S"
    return pd.DataFrame({
        "StartDate": (end - pd.Timedelta(seconds=95)).dt.strftime(fmt), "EndDate": end.dt.strftime(fmt),
        "Status": "IP Address", "Progress": "100", "Duration (in seconds)": "95", "Finished": "True",
        "RecordedDate": end.dt.strftime(fmt), "ResponseId": surveys["response_id"],
        "RecipientEmail": surveys["email"], "ExternalReference": surveys["contact_ref"],
        "DistributionChannel": "email", "UserLanguage": "EN", "NPS": surveys["nps"], "NPS_NPS_GROUP": group,
        "Comment": surveys["comment"],
    })  # fmt: skip


def qualtrics_header(columns: list[str], timezone: str = "UTC") -> list[dict[str, str]]:
    """Qualtrics' two rows under the column names: the question texts, then the ``ImportId`` JSON."""
    texts = {c: _QUESTIONS.get(c, c) for c in columns}
    imports = {c: json.dumps({"ImportId": _IMPORT.get(c, c), "timeZone": timezone}
                             if c in ("StartDate", "EndDate", "RecordedDate") else {"ImportId": _IMPORT.get(c, c)},
                             separators=(",", ":")) for c in columns}  # fmt: skip
    return [texts, imports]
