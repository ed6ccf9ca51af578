"""Common exports recognised by their column names, each with the ``sources.yml`` entry that loads it.

Used by :mod:`cxlib.io.recognise` (``cx sources``). A recogniser looks at a file's header (its column
names, compared in any case and spacing, as the loader does) and at a few of its rows, and returns a
:class:`Match`: the table, the entry (``columns``, ``constants``, ``values``, ``lines``, ...), the columns
that identified the export, a confidence and what the user should check. The column names are the
vendors' own, as their exports write them (see ``/docs/sources.md``, "cx sources"):

* GA4 BigQuery export: ``event_date``, ``event_timestamp``, ``event_name``, ``event_params``, ``user_pseudo_id``;
* invoice-line exports (the online-retail layout): ``InvoiceNo``/``Invoice``, ``StockCode``, ``Description``,
  ``Quantity``, ``InvoiceDate``, ``UnitPrice``/``Price``, ``CustomerID``/``Customer ID``, ``Country``;
* Shopify orders: ``Name``, ``Email``, ``Financial Status``, ``Created at``, ``Lineitem quantity``, ...;
* Zendesk tickets (``Id``, ``Requester email``, ``Via``, ``Solved at``, ...), Freshdesk tickets
  (``Ticket ID``, ``Created time``, ``Resolved time``, ...);
* HubSpot contacts (``Record ID``, ``First Name``, ``Create Date``, ...), Salesforce contacts (``Id``,
  ``FirstName``, ``LastName``, ``AccountId``, ``MailingCity``, ...), Mailchimp audience exports
  (``Email Address``, ``MEMBER_RATING``, ``OPTIN_TIME``, ``LEID``, ...);
* Qualtrics responses (``ResponseId``, ``RecordedDate``, ``Finished``, ...), SurveyMonkey responses
  (``Respondent ID``, ``Collector ID``, ``End Date``, ...; a second header row), Typeform responses (``#``,
  ``Submit Date (UTC)``, ``Network ID``);
* email activity: Klaviyo metrics (``Received Email``, ``Opened Email``, ``Clicked Email``; ``Profile ID`` and
  ``Event ID`` when exported) and Mailchimp activity (``open``, ``click``, ``bounce``), recognised by the values
  of their event column.

Examples
--------
>>> h = Head(["Id", "FirstName", "LastName", "Email", "AccountId", "CreatedDate"], [])
>>> m = best_match(h)
>>> m.label, m.table, m.entry["columns"]["record_id"], m.confidence
('Salesforce contacts export', 'contacts', 'Id', 'high')
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from cxlib.io.sources import _norm

__all__ = ["Head", "Match", "RECOGNISERS", "best_match"]


@dataclass
class Head:
    """A file's column names and a few of its rows (as text), as :mod:`cxlib.io.recognise` read them."""

    columns: list[str]
    rows: list[dict[str, str | None]]
    delimiter: str | None = None

    def col(self, *names: str) -> str | None:
        """The file's column whose normalised name is that of the first of ``names`` the file has."""
        by_norm: dict[str, str] = {}
        for c in self.columns:
            by_norm.setdefault(_norm(c), c)
        for n in names:
            if _norm(n) in by_norm:
                return by_norm[_norm(n)]
        return None

    def has_all(self, *names: str) -> bool:
        """Whether the file has every one of ``names``."""
        return all(self.col(n) is not None for n in names)

    def norms(self) -> set[str]:
        return {_norm(c) for c in self.columns}

    def values(self, col: str | None) -> list[str]:
        """The non-empty sampled values of column ``col``."""
        if col is None:
            return []
        return [str(r[col]).strip() for r in self.rows if r.get(col) not in (None, "") and str(r[col]).strip()]


@dataclass
class Match:
    """A recognised export: which table it feeds and the ``sources.yml`` entry (without ``file``)."""

    label: str
    table: str
    confidence: str
    entry: dict
    matched: list[str]
    notes: list[str] = field(default_factory=list)
    score: float = 0.0


def _found(h: Head, wanted: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """``{canonical: the file's column}`` for each canonical column whose candidate names the file has."""
    out = {}
    for canon, names in wanted.items():
        c = h.col(*names)
        if c is not None and c not in out.values():
            out[canon] = c
    return out


def _count(h: Head, names: tuple[str, ...]) -> int:
    return len({_norm(n) for n in names} & h.norms())


def _confidence(hits: int, of: int) -> str:
    """High when at least half of an export's usual columns (and three) are there: exports let users pick them."""
    return "high" if hits >= max(3, of // 2) else "medium"


# --- GA4 -------------------------------------------------------------------------------------------------------------

_GA4 = ("event_date", "event_timestamp", "event_name", "event_params", "user_pseudo_id", "user_properties",
        "traffic_source", "stream_id", "platform", "ecommerce", "items", "device", "geo")  # fmt: skip


def _ga4(h: Head) -> Match | None:
    if not h.has_all("event_timestamp", "event_name", "user_pseudo_id"):
        return None
    hits = _count(h, _GA4)
    notes = ["one event per row; GA4 purchases with a transaction id also become orders (docs/sources.md)"]
    if not h.col("event_params"):
        notes.append("no event_params column: page and session parameters will be empty")
    return Match("GA4 BigQuery export", "events", _confidence(hits, len(_GA4)),
                 {"format": "ga4", "source": "ga4"}, [c for c in h.columns if _norm(c) in _GA4], notes, 10 + hits)


# --- orders ----------------------------------------------------------------------------------------------------------


def _retail(h: Head) -> Match | None:
    m = _found(h, {
        "order_id": ("InvoiceNo", "Invoice"), "ts": ("InvoiceDate",), "quantity": ("Quantity",),
        "unit_price": ("UnitPrice", "Price"), "sku": ("StockCode",), "description": ("Description",),
        "contact_ref": ("CustomerID", "Customer ID"),
    })  # fmt: skip
    if not {"order_id", "ts", "quantity", "unit_price", "sku"} <= set(m):
        return None
    invoices = h.values(m["order_id"])
    credit = [v for v in invoices if v.upper().startswith("C")]
    notes = [
        "one row per invoice line: lines sharing an invoice number become one order (lines: true)",
        "credit notes are invoices starting with C (credit_note_prefix: C)"
        + (f", e.g. {credit[0]}" if credit else "; none among the rows sampled"),
        "adjustments (bad-debt write-offs such as A563185) are invoices starting with A (adjustment_prefix: A): "
        "quarantined, in no revenue",
        "set the currency: add `currency: <code>` under constants (the export has no currency column)",
    ]
    ids = h.values(m.get("contact_ref"))
    floats = [v for v in ids if re.fullmatch(r"\d+\.0", v)]
    if floats:
        notes.append(f"customer ids look like Excel floats ({floats[0]}): they match contacts only if theirs are too")
    if h.col("Country"):
        notes.append("Country is kept as an extra column (orders have no country)")
    entry = {"source": "shop", "lines": True, "credit_note_prefix": "C", "adjustment_prefix": "A", "columns": m}
    notes.append("`source: shop` names the system: rename it if you like")
    return Match("invoice-line export (online-retail layout)", "orders", "high", entry, list(m.values()), notes, 9)


_SHOPIFY_CHANNELS = {"web": "web", "pos": "store", "iphone": "app", "android": "app"}
_SHOPIFY_STATUS = {"authorized": "completed", "partially_paid": "completed", "partially_refunded": "completed",
                   "pending": "completed", "expired": "cancelled"}  # fmt: skip


def _shopify(h: Head) -> Match | None:
    m = _found(h, {
        "order_id": ("Name",), "ts": ("Created at", "Paid at"), "email": ("Email",),
        "status": ("Financial Status",), "currency": ("Currency",), "quantity": ("Lineitem quantity",),
        "unit_price": ("Lineitem price",), "sku": ("Lineitem sku",), "description": ("Lineitem name",),
        "refunded": ("Refunded Amount",),
    })  # fmt: skip
    if not {"order_id", "quantity", "unit_price"} <= set(m) or not ({"ts", "status"} & set(m)):
        return None
    notes = [
        "one row per line item: lines sharing Name (#1001) become one order (lines: true)",
        "amount = sum of Lineitem quantity x Lineitem price: without shipping, taxes and discounts "
        "(the Total column holds what was charged and is kept as an extra column)",
        "Financial Status pending/authorized/partially paid or refunded are read as completed, expired as "
        "cancelled (values: status:); check that this is what you want",
    ]
    if "refunded" in m:
        notes.append(f"{m['refunded']}: a partial refund keeps the order completed at the lines' total less what was "
                     "refunded; a refunded order is returned")
    if h.col("Cancelled at"):
        notes.append("orders with a `Cancelled at` date are not marked cancelled unless their Financial Status says so")
    entry = {"source": "shopify", "lines": True, "columns": m, "values": {"status": dict(_SHOPIFY_STATUS)}}
    if h.col("Source"):  # the order's origin (web, pos, shopify_draft_order, an app), not the system
        entry["columns"] = m = {**m, "channel": h.col("Source")}
        entry["values"]["channel"] = dict(_SHOPIFY_CHANNELS)
        notes.append(f"channel is read from {h.col('Source')} (web -> web, pos -> store, iphone/android -> app; "
                     "draft orders and apps keep their name); source is shopify for every line")
    hits = _count(h, ("Name", "Email", "Financial Status", "Paid at", "Total", "Lineitem quantity",
                      "Lineitem price", "Lineitem name", "Fulfillment Status", "Created at"))  # fmt: skip
    return Match("Shopify orders export", "orders", _confidence(hits, 10), entry, list(m.values()), notes, 9)


# --- tickets ---------------------------------------------------------------------------------------------------------

_SOLVED = ("solved", "closed", "resolved")
_OPEN = ("new", "open", "pending", "hold", "on-hold", "waiting on customer", "waiting on third party")


def _resolved_values(h: Head, col: str) -> dict[str, str]:
    """``values: resolved:`` for a status column: each spelling of solved/closed is true, the rest false."""
    seen = set(h.values(col))
    out = {}
    for s in (*_SOLVED, *_OPEN, *seen):
        for v in (s, s.capitalize(), s.title()):
            key = v.strip().lower()
            if key in _SOLVED or key in _OPEN:
                out[v] = "true" if key in _SOLVED else "false"
    return dict(sorted(out.items()))


#: The helpdesks' channel names (Zendesk ``Via``, Freshdesk ``Source``) in the model's words.
TICKET_CHANNELS = {
    "Mail": "email", "Email": "email", "Outbound Email": "email", "Web Form": "web_form", "Web form": "web_form",
    "Web Widget": "web_form", "Portal": "web_form", "Feedback Widget": "web_form", "Chat": "chat",
    "Messaging": "chat", "Phone": "phone", "Phone call (incoming)": "phone", "Phone call (outgoing)": "phone",
    "Voicemail": "phone",
}  # fmt: skip


def _own_ids_note(column: str, source: str, who: str) -> str:
    """The note for a ``contact_ref`` that is the vendor's own id of the person (docs/unify.md): set
    ``contact_ref_source`` if another system's customers can have the same numbers. A note, not a default: the
    vendor's contact records would have to be loaded under the same source name to be found."""
    return (f"contact_ref is {column}, {source}'s own id of the {who}: if another system's customers can have "
            f"the same numbers, add contact_ref_source: {source} under constants (and load {source}'s own "
            f"contact export with source {source})")


def _tickets(h: Head, label: str, source: str, wanted: dict, key: str, marks: tuple[str, ...]) -> Match | None:
    m = _found(h, wanted)
    hits = _count(h, marks)
    if key not in m or "opened_at" not in m or hits < 2:
        return None
    status = h.col("Status")
    entry: dict = {"source": source, "columns": m}
    notes = []
    if status:
        m["resolved"] = status
        entry["values"] = {"resolved": _resolved_values(h, status)}
        notes.append(f"resolved is read from {status} (solved/resolved/closed = true); check the spellings")
    if "channel" in m:
        seen = {v for v in h.values(m["channel"]) if v}
        entry.setdefault("values", {})["channel"] = dict(TICKET_CHANNELS)  # whole: rows not sampled may use others
        unknown = sorted(seen - set(TICKET_CHANNELS))
        if unknown:
            notes.append(f"channel values {', '.join(unknown[:5])} are kept as they are: map them under values")
    if "contact_ref" in m:
        notes.append(_own_ids_note(m["contact_ref"], source, "requester"))
    notes.append("topic and csat are left unmapped: map a category field to topic and a 1-5 rating to csat")
    matched = list(dict.fromkeys([m[key], *(c for c in h.columns if _norm(c) in {_norm(x) for x in marks})]))
    return Match(label, "tickets", _confidence(hits, len(marks)), entry, matched, notes, 5 + hits)


#: Zendesk's satisfaction ratings as ``csat`` (1-5): good and bad as the scale's ends, a survey offered or never
#: offered (no answer) empty.
ZENDESK_CSAT = {"good": "5", "bad": "1", "offered": "", "unoffered": ""}


def _zendesk(h: Head) -> Match | None:
    wanted = {"ticket_id": ("Id", "Ticket ID"), "opened_at": ("Created at",), "closed_at": ("Solved at",),
              "email": ("Requester email",), "contact_ref": ("Requester id",), "channel": ("Via",)}  # fmt: skip
    marks = ("Requester", "Requester id", "Requester email", "Submitter", "Assignee", "Via", "Solved at",
             "Satisfaction Score", "Ticket type", "Group", "Subject", "Tags")  # fmt: skip
    found = _tickets(h, "Zendesk tickets export", "zendesk", wanted, "ticket_id", marks)
    score, comment = h.col("Satisfaction Score", "Satisfaction Rating"), h.col("Satisfaction Comment")
    if found is None or not (score or comment):
        return found
    found.notes[:] = [n for n in found.notes if not n.startswith("topic and csat")]
    if h.col("csat"):  # a 1-5 rating of the company's own (a custom field named CSAT): read by its name
        score = None
    if score:
        found.entry["columns"]["csat"] = score
        found.entry.setdefault("values", {})["csat"] = dict(ZENDESK_CSAT)
        found.notes.append(f"csat is read from {score}: good as 5 and bad as 1 (Zendesk's rating is good or bad), "
                           "offered and unoffered (no answer) as empty")
    if comment:  # what the customer wrote with the rating: voice of the customer (`cx voice`)
        found.entry["feedback"] = [comment]
        found.notes.append(f"{comment} is read as feedback (free text for `cx voice`)")
    found.notes.append("topic is left unmapped: map a category field (Ticket type, a custom field) to topic")
    return found


def _freshdesk(h: Head) -> Match | None:
    wanted = {"ticket_id": ("Ticket ID",), "opened_at": ("Created time",),
              "closed_at": ("Resolved time", "Closed time"), "email": ("Email", "Requester email", "Contact email"),
              "contact_ref": ("Contact ID",), "channel": ("Source",)}  # fmt: skip
    marks = ("Ticket ID", "Created time", "Resolved time", "Closed time", "Due by Time", "Last update time",
             "Initial response time", "Agent", "Group", "Priority", "Source", "Type")  # fmt: skip
    found = _tickets(h, "Freshdesk tickets export", "freshdesk", wanted, "ticket_id", marks)
    if found and "channel" in found.entry["columns"]:
        found.notes.append("Freshdesk's Source column (Email, Portal, Phone, Chat) is the channel")
    return found


# --- contacts --------------------------------------------------------------------------------------------------------


def _contacts(h: Head, label: str, source: str, wanted: dict, marks: tuple[str, ...], need: int) -> Match | None:
    m = _found(h, wanted)
    hits = _count(h, marks)
    if "record_id" not in m or hits < need:
        return None
    return Match(label, "contacts", _confidence(hits, len(marks)), {"source": source, "columns": m},
                 list(m.values()), [], 5 + hits)  # fmt: skip


def _hubspot(h: Head) -> Match | None:
    wanted = {"record_id": ("Record ID",), "first_name": ("First Name",), "last_name": ("Last Name",),
              "email": ("Email",), "phone": ("Phone Number", "Mobile Phone Number"),
              "street": ("Street Address",), "city": ("City",), "postcode": ("Postal Code",),
              "country": ("Country/Region", "Country"), "birth_date": ("Date of birth",),
              "created_at": ("Create Date",), "updated_at": ("Last Modified Date",)}  # fmt: skip
    marks = ("Record ID", "First Name", "Last Name", "Email", "Phone Number", "Create Date", "Last Modified Date",
             "Lifecycle Stage", "Contact owner", "Associated Company")  # fmt: skip
    return _contacts(h, "HubSpot contacts export", "hubspot", wanted, marks, 3)


def _salesforce(h: Head) -> Match | None:
    wanted = {"record_id": ("Id",), "first_name": ("FirstName",), "last_name": ("LastName",), "email": ("Email",),
              "phone": ("Phone", "MobilePhone"), "street": ("MailingStreet",), "city": ("MailingCity",),
              "postcode": ("MailingPostalCode",), "country": ("MailingCountry",), "birth_date": ("Birthdate",),
              "created_at": ("CreatedDate",), "updated_at": ("LastModifiedDate",)}  # fmt: skip
    marks = ("Id", "FirstName", "LastName", "Email", "MobilePhone", "MailingStreet", "MailingCity", "MailingPostalCode",
             "MailingCountry", "Birthdate", "CreatedDate", "LastModifiedDate", "AccountId")  # fmt: skip
    if not h.has_all("Id", "FirstName", "LastName"):
        return None
    return _contacts(h, "Salesforce contacts export", "salesforce", wanted, marks, 4)


def _mailchimp_audience(h: Head) -> Match | None:
    wanted = {"record_id": ("Email Address",), "first_name": ("First Name",), "last_name": ("Last Name",),
              "phone": ("Phone Number",), "created_at": ("OPTIN_TIME",), "updated_at": ("LAST_CHANGED",)}  # fmt: skip
    marks = ("MEMBER_RATING", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP", "LAST_CHANGED", "LEID", "EUID")
    found = _contacts(h, "Mailchimp audience export", "mailchimp", wanted, marks, 2)
    if found:
        found.entry["columns"]["email"] = found.entry["columns"]["record_id"]
        found.notes.append("each member is keyed by its email address (record_id and email: Email Address)")
    return found


# --- surveys ---------------------------------------------------------------------------------------------------------


def _nps_column(h: Head, question_row: dict | None = None) -> str | None:
    """The 0-10 question: ``X`` when the export has ``X_NPS_GROUP``, else a column (or question) about recommending."""
    for c in h.columns:
        if c.upper().endswith("_NPS_GROUP") and h.col(c[: -len("_NPS_GROUP")]):
            return h.col(c[: -len("_NPS_GROUP")])
    for c in h.columns:
        text = f"{c} {(question_row or {}).get(c) or ''}".lower()
        if "recommend" in text and not c.upper().endswith("_NPS_GROUP"):
            return c
    return None


def _map_nps(h: Head, m: dict, notes: list[str], question_row: dict | None = None) -> None:
    """``nps`` mapped to the question about recommending (:func:`_nps_column`) in ``m``, and the note saying so."""
    nps = _nps_column(h, question_row)
    if nps:
        m["nps"] = nps
        notes.append(f"nps is read from the question {nps[:60]!r}: check it is the 0-10 question")
    else:
        notes.append("nps is left unmapped: map it to your 0-10 'how likely to recommend' question")


def _qualtrics(h: Head) -> Match | None:
    marks = ("ResponseId", "StartDate", "EndDate", "Status", "Progress", "Duration (in seconds)", "Finished",
             "RecordedDate", "RecipientEmail", "ExternalReference", "DistributionChannel", "UserLanguage")  # fmt: skip
    m = _found(h, {"response_id": ("ResponseId",), "ts": ("RecordedDate", "EndDate"),
                   "email": ("RecipientEmail",), "contact_ref": ("ExternalReference",)})  # fmt: skip
    hits = _count(h, marks)
    if "response_id" not in m or "ts" not in m or hits < 4:
        return None
    entry: dict = {"source": "qualtrics", "columns": m}
    notes = []
    first = h.rows[0] if h.rows else {}
    extra = [r for r in h.rows[:2] if str(r.get(m["response_id"]) or "").startswith(("Response ID", '{"ImportId"'))]
    if extra:
        entry["header_rows"] = 1 + len(extra)
        notes.append(
            f"this file has {len(extra)} extra header row(s) under the column names (question texts, ImportId): "
            f"header_rows: {1 + len(extra)} skips them"
        )
        tz = _qualtrics_timezone(h.rows[:2])
        if tz:
            entry["timezone"] = tz
            notes.append(f"dates are in the survey's time zone ({tz}, from the ImportId row)")
    _map_nps(h, m, notes, first if extra else None)
    notes.append("comment is left unmapped: map it to a free-text question")
    return Match("Qualtrics responses export", "surveys", _confidence(hits, len(marks)), entry,
                 [c for c in h.columns if _norm(c) in {_norm(x) for x in marks}], notes, 5 + hits)  # fmt: skip


def _qualtrics_timezone(rows: list[dict]) -> str | None:
    for r in rows:
        for v in r.values():
            if isinstance(v, str) and v.startswith('{"ImportId"'):
                try:
                    tz = json.loads(v).get("timeZone")
                except (ValueError, AttributeError):
                    continue
                if isinstance(tz, str) and re.fullmatch(r"[A-Za-z_]+(/[A-Za-z0-9_+\-]+){0,2}", tz):
                    return tz
    return None


def _surveymonkey(h: Head) -> Match | None:
    """SurveyMonkey's responses export: the respondent columns, then one column per question (its text the column
    name), and a second header row saying what each holds (``Response``, ``Open-Ended Response``, an option)."""
    # the names of today's export, then those of older ones (RespondentID, CollectorID, LastName, Custom Data)
    marks = ("Respondent ID", "Collector ID", "Start Date", "End Date", "IP Address", "Email Address",
             "First Name", "Last Name", "Custom Data 1", "RespondentID", "CollectorID", "StartDate", "EndDate",
             "LastName", "Custom Data")  # fmt: skip
    m = _found(h, {"response_id": ("Respondent ID", "RespondentID"), "ts": ("End Date", "EndDate", "Start Date"),
                   "email": ("Email Address",)})  # fmt: skip
    hits = _count(h, marks)
    if "response_id" not in m or "ts" not in m or hits < 4 or not h.col("Collector ID", "CollectorID"):
        return None
    entry: dict = {"source": "surveymonkey", "columns": m}
    notes = []
    kinds = h.rows[0] if h.rows and not (h.rows[0].get(m["response_id"]) or "").strip() else None
    if kinds is not None:  # the second header row: no respondent, the answer kinds under the questions
        entry["header_rows"] = 2
        notes.append("this file has a second header row (Response, Open-Ended Response, ...): header_rows: 2 skips it")
    _map_nps(h, m, notes)
    open_ended = [c for c in h.columns if kinds and kinds.get(c) == "Open-Ended Response"]
    if open_ended:
        m["comment"] = comment = open_ended[0]
        notes.append(f"comment is read from the first open-ended question, {comment[:60]!r}: check it")
        if open_ended[1:]:  # what else they wrote, for `cx voice`
            entry["feedback"] = open_ended[1:]
            notes.append(f"{len(open_ended) - 1} more open-ended question(s) are read as feedback (free text for "
                         "`cx voice`)")
    else:
        notes.append("comment is left unmapped: map it to a free-text question")
    notes.append("dates are in the SurveyMonkey account's time zone: set timezone: (e.g. America/New_York) if not UTC")
    return Match("SurveyMonkey responses export", "surveys", _confidence(hits, 9), entry,
                 [c for c in h.columns if _norm(c) in {_norm(x) for x in marks}], notes, 5 + hits)  # fmt: skip


def _typeform(h: Head) -> Match | None:
    m = _found(h, {"response_id": ("#",), "ts": ("Submit Date (UTC)", "Submitted At")})
    hits = _count(h, ("#", "Start Date (UTC)", "Submit Date (UTC)", "Stage Date (UTC)", "Network ID", "Response Type"))
    if "response_id" not in m or "ts" not in m or hits < 3:
        return None
    notes = ["the question texts are the column names"]
    _map_nps(h, m, notes)
    if h.col("Response Type"):
        notes.append("partial responses (Response Type = partial) load too")
    entry = {"source": "typeform", "timezone": "UTC", "columns": m}
    return Match("Typeform responses export", "surveys", _confidence(hits, 6), entry,
                 [c for c in h.columns if c in m.values()], notes, 5 + hits)  # fmt: skip


# --- email activity --------------------------------------------------------------------------------------------------

_KLAVIYO = {"Received Email": "email_sent", "Opened Email": "email_open", "Clicked Email": "email_click"}
_KLAVIYO_OTHER = ("Bounced Email", "Dropped Email", "Marked Email as Spam", "Unsubscribed", "Unsubscribed from List")
_MAILCHIMP = {"sent": "email_sent", "open": "email_open", "click": "email_click"}
_MAILCHIMP_OTHER = ("bounce", "unsub", "unsubscribe", "abuse")
_EVENT_COLS = ("Metric", "Metric Name", "Event", "Event Name", "Activity", "Activity Type", "Action", "Type")
_TIME_COLS = ("Timestamp", "Datetime", "Event Time", "Time", "Date", "Event Date")
_EMAIL_COLS = ("Email", "Email Address", "$email", "Profile Email")


def _email_activity(h: Head) -> Match | None:
    ev, ts, em = h.col(*_EVENT_COLS), h.col(*_TIME_COLS), h.col(*_EMAIL_COLS)
    if not (ev and ts and em):
        return None
    seen = set(h.values(ev))
    if seen & set(_KLAVIYO) or seen & set(_KLAVIYO_OTHER):
        label, source, names, known = "Klaviyo email activity", "klaviyo", _KLAVIYO, (*_KLAVIYO, *_KLAVIYO_OTHER)
    elif {s.lower() for s in seen} & {*_MAILCHIMP, *_MAILCHIMP_OTHER}:
        label, source, names = "Mailchimp email activity", "mailchimp", _MAILCHIMP
        known = (*_MAILCHIMP, *_MAILCHIMP_OTHER)
    else:
        return None
    m = {"ts": ts, "event": ev, "email": em}
    camp = h.col("Campaign Name", "Campaign", "$campaign_name", "Message Name", "Flow Name")
    if camp:
        m["campaign"] = camp
    profile = h.col("Profile ID", "Klaviyo ID", "$id") if source == "klaviyo" else None
    if profile:  # the email platform's own id of the person: links the events to its profile records
        m["contact_ref"] = profile
    values = dict(names) | ({k.capitalize(): v for k, v in names.items()} if source == "mailchimp" else {})
    other = sorted(s for s in seen if s not in values and (s in known or s.lower() in known))
    notes = [f"event names mapped to ours: {', '.join(f'{k} -> {v}' for k, v in names.items())}"]
    if profile:
        notes.append(_own_ids_note(profile, source, "profile"))
    if other:
        notes.append(f"kept under their own names: {', '.join(other[:6])}")
    eid = h.col("Event ID", "$event_id")
    if eid:
        m["event_id"] = eid
    notes.append(("event_id is read from " + eid if eid else "each row gets a derived event_id (no id column)")
                 + "; channel is email for every row")
    entry = {"source": source, "constants": {"channel": "email"}, "columns": m, "values": {"event": values}}
    conf = "high" if len(seen & set(values)) >= 2 else "medium"
    return Match(label, "events", conf, entry, list(m.values()), notes, 6)


#: Every recogniser, tried in turn; the highest score wins.
RECOGNISERS: tuple[Callable[[Head], Match | None], ...] = (
    _ga4, _retail, _shopify, _zendesk, _freshdesk, _hubspot, _salesforce, _mailchimp_audience, _qualtrics,
    _surveymonkey, _typeform, _email_activity,
)  # fmt: skip


def best_match(h: Head) -> Match | None:
    """The recognised export with the highest score, or None."""
    found = [m for r in RECOGNISERS if (m := r(h)) is not None]
    return max(found, key=lambda m: m.score) if found else None
