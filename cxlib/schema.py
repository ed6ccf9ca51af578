"""The canonical customer data model: the contract every step reads.

Six tables describe what a company's systems record about its customers:
``contacts`` (identity records), ``events`` (behavioural touchpoints),
``orders``, ``tickets``, ``surveys`` and ``enrichment`` (second/third-party
attributes). Users' exports are mapped onto these names by ``sources.yml``
(see :mod:`cxlib.io`).

The model is data, not prose: :data:`TABLES` drives validation in
:mod:`cxlib.io`, the generator in :mod:`cxlib.synth` writes it, and
``docs/data-model.md`` is generated from it by :func:`data_model_markdown`.

Examples
--------
>>> from cxlib.schema import TABLES
>>> TABLES["orders"].required
('source', 'order_id', 'ts', 'amount', 'status')
>>> TABLES["contacts"].key
('source', 'record_id')
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

#: Journey stages in presentation order: the buyer journey (awareness .. purchase), then the customer journey.
#: The generator simulates them, the journeys step assigns them, the simulator models moves between them.
STAGES: tuple[str, ...] = (
    "awareness",
    "consideration",
    "purchase",
    "onboarding",
    "repeat",
    "advocate",
    "at_risk",
    "churned",
    "win_back",
    "lost",
)

#: 18 distinguishable colours for the names of a figure (events, scenarios): Tableau 20 without its greys, the
#: strong nine, then their light pairs
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#ff9896", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)  # fmt: skip

#: the Sankey's synthetic nodes (where every path starts, where a path stopped) as a reader names them
_NODE_WORDS = {"path_start": "start", "path_end": "left"}


def name_words(name: object) -> str:
    """A name from the data as a reader sees it: underscores as spaces, its case kept (``product_view`` is
    "product view", ``first_touch`` "first touch"); the data keeps its names. Stages: :func:`stage_label`.

    Examples
    --------
    >>> name_words("add_to_cart"), name_words("purchase")
    ('add to cart', 'purchase')
    """
    return str(name).replace("_", " ")


def stage_label(name: str) -> str:
    """A stage's name as a figure or table shows it: ``at_risk`` is ``At risk``; the data keeps ``at_risk``.

    A Sankey's synthetic nodes read ``start`` and ``left``; any other name (an event, ``other``, ``unknown``)
    keeps its case, with underscores as spaces. For a stage inside a sentence, lower-case it.

    Examples
    --------
    >>> [stage_label(s) for s in ("at_risk", "win_back", "awareness", "path_end", "path_start", "product_view")]
    ['At risk', 'Win back', 'Awareness', 'left', 'start', 'product view']
    """
    if name in _NODE_WORDS:
        return _NODE_WORDS[name]
    words = name_words(name)
    return words.capitalize() if name in STAGES else words


#: Column names whose words are not just the name with spaces (the bands of a simulation, the lever's size).
_COLUMN_WORDS = {
    "p5": "low (5%)",
    "p95": "high (95%)",
    "gain_p5": "gain, low (5%)",
    "gain_p95": "gain, high (95%)",
    "diff_p5": "difference, low (5%)",
    "diff_p95": "difference, high (95%)",
    "lever_size_pct": "lever size (%)",
    "gain_per_pct": "gain per 1% of lever",
    "n_customers": "customers",
    "pct": "%",
}


def column_label(name: object) -> str:
    """A column's header as a table for a reader shows it: the name's words (``revenue_at_stake`` is "revenue at
    stake"), a simulation's band edges and lever sizes spelled out; the data keeps its names.

    Examples
    --------
    >>> [column_label(c) for c in ("gain_p5", "lever_size_pct", "revenue_at_stake", "customers", 3)]
    ['gain, low (5%)', 'lever size (%)', 'revenue at stake', 'customers', '3']
    """
    text = str(name)
    return _COLUMN_WORDS.get(text, name_words(text))


__all__ = [
    "Column",
    "DataError",
    "ORDER_STATUSES",
    "PALETTE",
    "STATUS_SYNONYMS",
    "STREAM_CATEGORIES",
    "TABLES",
    "TICKET_TOPICS",
    "Table",
    "column_label",
    "data_model_markdown",
    "foreign_table",
    "name_words",
    "stage_label",
]

DType = Literal["string", "timestamp", "date", "float", "int", "bool"]


class DataError(ValueError):
    """A structural problem with the user's data that stops a step.

    The message names the file, the table, the column and how to fix it.
    Row-level problems never raise: they go to the ``quarantine`` table.

    Examples
    --------
    >>> raise DataError("orders.csv: required column 'amount' is missing")
    Traceback (most recent call last):
    ...
    cxlib.schema.DataError: orders.csv: required column 'amount' is missing
    """


ORDER_STATUSES: tuple[str, ...] = ("completed", "returned", "cancelled")

#: Spellings that real order exports use, folded onto :data:`ORDER_STATUSES`
#: (compared lower-cased and trimmed).
STATUS_SYNONYMS: dict[str, str] = {
    "completed": "completed",
    "complete": "completed",
    "paid": "completed",
    "shipped": "completed",
    "delivered": "completed",
    "fulfilled": "completed",
    "returned": "returned",
    "return": "returned",
    "refunded": "returned",
    "cancelled": "cancelled",
    "canceled": "cancelled",
    "void": "cancelled",
    "voided": "cancelled",
}

TICKET_TOPICS: tuple[str, ...] = (
    "pre_sale_question",
    "delivery",
    "return",
    "billing",
    "technical",
    "account",
)


@dataclass(frozen=True)
class Column:
    """One column of a canonical table.

    ``check`` names an extra rule beyond the type: ``email``, ``phone``,
    ``nonnegative``, ``nps`` (0-10), ``csat`` (1-5), ``status``,
    ``birth_date`` (a plausible date of birth) or ``past`` (not in the future).
    """

    name: str
    dtype: DType
    required: bool
    meaning: str
    example: str
    check: str | None = None


@dataclass(frozen=True)
class Table:
    """A canonical table: its key, its time column and its columns."""

    name: str
    description: str
    key: tuple[str, ...]
    time_column: str | None
    columns: tuple[Column, ...] = field(default_factory=tuple)

    @property
    def required(self) -> tuple[str, ...]:
        """Names of the columns a file must have."""
        return tuple(c.name for c in self.columns if c.required)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of all canonical columns, in order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column:
        """The column called ``name``; ``KeyError`` if there is none."""
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


def _c(name: str, dtype: DType, required: bool, meaning: str, example: str, check: str | None = None) -> Column:
    return Column(name, dtype, required, meaning, example, check)


_SOURCE = _c("source", "string", True, "System the row came from (free text, stable per system).", "crm")
_REF_SOURCE = _c(
    "contact_ref_source",
    "string",
    False,
    "The `source` whose contact records `contact_ref` names, for a system that numbers its customers on its own "
    "(`constants: {contact_ref_source: helpdesk}`): the reference is that system's record, or, where it has no "
    "contacts export, joins only references to the same system. Empty: a contact record of any source, and "
    "references no contact holds join by value.",
    "helpdesk",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "contacts",
            "Identity records from any system (CRM, shop accounts, helpdesk, email platform, loyalty). "
            "One person usually has several, with different spellings.",
            key=("source", "record_id"),
            time_column="updated_at",
            columns=(
                _SOURCE,
                _c(
                    "record_id",
                    "string",
                    True,
                    "Key of the record in its system; unique within `source`. "
                    "Other tables refer to it as `contact_ref`.",
                    "CRM-0001234",
                ),
                _c("first_name", "string", False, "Given name as typed.", "Robert"),
                _c("last_name", "string", False, "Family name as typed.", "Smith"),
                _c(
                    "email",
                    "string",
                    False,
                    "Email address as typed (any case, tags, dots).",
                    "Rob.Smith+shop@gmail.com",
                    "email",
                ),
                _c(
                    "phone",
                    "string",
                    False,
                    "Phone number in any national or international format.",
                    "07700 900123",
                    "phone",
                ),
                _c("street", "string", False, "Street address line.", "12 High Street"),
                _c("city", "string", False, "Town or city.", "Leeds"),
                _c("postcode", "string", False, "Postal code.", "LS1 4AB"),
                _c("country", "string", False, "ISO 3166-1 alpha-2 country code.", "GB"),
                _c("birth_date", "date", False, "Date of birth.", "1984-03-07", "birth_date"),
                _c(
                    "created_at",
                    "timestamp",
                    False,
                    "When the record was created (UTC).",
                    "2024-02-01T09:30:00Z",
                    "past",
                ),
                _c(
                    "updated_at",
                    "timestamp",
                    False,
                    "When the record last changed (UTC).",
                    "2024-06-11T17:02:00Z",
                    "past",
                ),
            ),
        ),
        Table(
            "events",
            "Behavioural touchpoints: web and app analytics, email engagement, ads, store visits.",
            key=("source", "event_id"),
            time_column="ts",
            columns=(
                _SOURCE,
                _c("event_id", "string", True, "Key of the event; unique within `source`.", "E000000000042"),
                _c(
                    "ts",
                    "timestamp",
                    True,
                    "When it happened (UTC; offsets are converted).",
                    "2024-03-02T18:04:11Z",
                    "past",
                ),
                _c(
                    "event",
                    "string",
                    True,
                    "What happened: page_view, product_view, add_to_cart, checkout_start, "
                    "purchase, login, app_open, email_sent, email_open, email_click, email_holdout, ad_click, "
                    "store_visit, referral.",
                    "add_to_cart",
                ),
                _c("anonymous_id", "string", False, "Cookie or device id.", "ck_5f2a9c"),
                _c(
                    "contact_ref",
                    "string",
                    False,
                    "`record_id` of the contact when the person is logged in or known.",
                    "SHOP-0004411",
                ),
                _REF_SOURCE,
                _c("email", "string", False, "Email address (email platforms).", "rob.smith@gmail.com", "email"),
                _c("channel", "string", False, "web, app, email, paid_search, paid_social, display, store.", "web"),
                _c("campaign", "string", False, "Campaign name, if the touchpoint belongs to one.", "spring_sale"),
                _c(
                    "revenue",
                    "float",
                    False,
                    "Revenue recorded by analytics on purchase events (the `orders` table is the system of record).",
                    "59.90",
                    "nonnegative",
                ),
                _c(
                    "sequence",
                    "int",
                    False,
                    "Order of the events that share a timestamp (GA4: `batch_event_index`, else "
                    "`event_bundle_sequence_id`); lower first. Without it, ties are broken by the key.",
                    "3",
                ),
            ),
        ),
        Table(
            "orders",
            "Orders from the shop and the stores; the system of record for revenue.",
            key=("source", "order_id"),
            time_column="ts",
            columns=(
                _SOURCE,
                _c("order_id", "string", True, "Key of the order; unique within `source`.", "O00001234"),
                _c("ts", "timestamp", True, "When the order was placed (UTC).", "2024-03-02T18:09:40Z", "past"),
                _c(
                    "amount",
                    "float",
                    True,
                    "Order value, not negative; thousands separators are accepted.",
                    "1,249.00",
                    "nonnegative",
                ),
                _c(
                    "status",
                    "string",
                    True,
                    "completed, returned or cancelled (common synonyms accepted).",
                    "completed",
                    "status",
                ),
                _c("contact_ref", "string", False, "`record_id` of the buyer's contact record.", "SHOP-0004411"),
                _REF_SOURCE,
                _c("email", "string", False, "Email given at checkout.", "rob.smith@gmail.com", "email"),
                _c("currency", "string", False, "ISO 4217 currency code.", "GBP"),
                _c("channel", "string", False, "web, app or store.", "web"),
                _c("return_reason", "string", False, "Why it was returned, for returned orders.", "arrived damaged"),
                _c("anonymous_id", "string", False, "Cookie or device id of the buyer (GA4: `user_pseudo_id`).",
                   "ck_5f2a9c"),
            ),
        ),
        Table(
            "order_lines",
            "The lines of orders read from a line export (`lines: true` in sources.yml): every line kept, "
            "one order per `(source, order_id)` in `orders`. Filled by `cx load`, never from a file of its own.",
            key=("source", "order_id", "source_file", "line"),
            time_column="ts",
            columns=(
                _SOURCE,
                _c("order_id", "string", True, "The order (invoice) the line belongs to.", "536365"),
                _c("source_file", "string", True, "File the line was read from.", "invoices.csv"),
                _c("line", "int", True, "1-based data row of the line in that file.", "17"),
                _c("ts", "timestamp", False, "When the line was recorded (UTC).", "2024-03-02T18:09:40Z"),
                _c("sku", "string", False, "Product code.", "85123A"),
                _c("description", "string", False, "Product description.", "WHITE HANGING HEART"),
                _c("quantity", "float", False, "Quantity; negative on credit notes.", "6"),
                _c("unit_price", "float", False, "Price of one unit.", "2.55"),
                _c("line_amount", "float", False, "quantity x unit_price (or the file's line amount).", "15.30"),
                _c("credit_note", "bool", False, "Whether the line's order is a credit note or cancellation.", "false"),
            ),
        ),
        Table(
            "tickets",
            "Support tickets from the helpdesk.",
            key=("source", "ticket_id"),
            time_column="opened_at",
            columns=(
                _SOURCE,
                _c("ticket_id", "string", True, "Key of the ticket; unique within `source`.", "T0000123"),
                _c("opened_at", "timestamp", True, "When the ticket was opened (UTC).", "2024-03-01T10:00:00Z", "past"),
                _c(
                    "closed_at",
                    "timestamp",
                    False,
                    "When it was closed (UTC); empty while open.",
                    "2024-03-03T16:20:00Z",
                    "past",
                ),
                _c("contact_ref", "string", False, "`record_id` of the requester's contact record.", "HD-0000881"),
                _REF_SOURCE,
                _c("email", "string", False, "Requester's email.", "rob.smith@gmail.com", "email"),
                _c("phone", "string", False, "Requester's phone.", "+44 7700 900123", "phone"),
                _c("channel", "string", False, "email, phone, chat or web_form.", "chat"),
                _c(
                    "topic",
                    "string",
                    False,
                    "pre_sale_question, delivery, return, billing, technical, account.",
                    "pre_sale_question",
                ),
                _c("resolved", "bool", False, "Whether the issue was resolved.", "true"),
                _c("csat", "int", False, "Satisfaction score 1-5.", "4", "csat"),
            ),
        ),
        Table(
            "surveys",
            "Survey responses (NPS).",
            key=("source", "response_id"),
            time_column="ts",
            columns=(
                _SOURCE,
                _c("response_id", "string", True, "Key of the response; unique within `source`.", "R000042"),
                _c("ts", "timestamp", True, "When the response was given (UTC).", "2024-04-12T08:15:00Z", "past"),
                _c("contact_ref", "string", False, "`record_id` of the respondent's contact record.", "CRM-0001234"),
                _REF_SOURCE,
                _c("email", "string", False, "Respondent's email.", "rob.smith@gmail.com", "email"),
                _c("nps", "int", False, "Likelihood to recommend, 0-10.", "9", "nps"),
                _c("comment", "string", False, "Free-text comment.", "Quick delivery"),
            ),
        ),
        Table(
            "enrichment",
            "Second/third-party attributes keyed by `email_sha256` (a partner's data) or `postcode` "
            "(geo-demographics). Each row needs at least one of the two keys; further attribute columns are kept.",
            key=("source", "email_sha256", "postcode"),
            time_column=None,
            columns=(
                _SOURCE,
                _c(
                    "email_sha256",
                    "string",
                    False,
                    "SHA-256 hex of the normalised (trimmed, lower-cased) email.",
                    "9f86d08188…",
                ),
                _c("postcode", "string", False, "Postal code the attributes describe.", "LS1 4AB"),
                _c("income_band", "string", False, "Household income band.", "40-60k"),
                _c("age_band", "string", False, "Age band.", "35-44"),
                _c("interest", "string", False, "Main declared interest.", "outdoors"),
                _c("geo_segment", "string", False, "Geo-demographic segment of the postcode.", "urban professionals"),
            ),
        ),
    ]
}

#: The touchpoints' columns of few values taken from the source tables' own columns, which ``cx unify`` stores
#: as ``ENUM`` types (:mod:`cxlib.categories`) beside ``rule``; ``cx journeys`` adds ``stage``, ``journey`` and
#: ``next_event`` in the staged rows.
STREAM_CATEGORIES: tuple[str, ...] = (
    "table_name", "source", "channel", "event", "campaign", "status", "return_reason", "topic"
)  # fmt: skip

#: Columns of the ``quarantine`` table that :func:`cxlib.io.load` writes.
QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("table_name", "Canonical table the row belongs to."),
    ("source_file", "File the row was read from."),
    ("row", "1-based data row in that file (the header is not counted)."),
    ("record_key", "The row's key, when it has one."),
    ("column", "Canonical column the problem is in."),
    ("value", "The original value, as text."),
    ("reason", "What is wrong and how to fix it."),
    ("action", "`quarantined` (the row was not loaded) or `nulled` (the row was loaded with this value empty)."),
    ("raw_row", "The whole original row as JSON, for quarantined rows."),
)


def data_model_markdown() -> str:
    """Render the data model as Markdown (the body of ``docs/data-model.md``).

    Examples
    --------
    >>> md = data_model_markdown()
    >>> "## contacts" in md and "| record_id | string | yes |" in md
    True
    """
    lines = [
        "# Canonical data model",
        "",
        "Generated from `cxlib/schema.py` by `python -m cxlib.schema > docs/data-model.md`; "
        "a test keeps the two in step.",
        "",
        "A workspace folder holds one file per table, named after it (`contacts.csv`, `events.parquet`, …), "
        "or files mapped onto these tables by `sources.yml` (see [sources.md](sources.md)). "
        "Only the required columns must exist; every other column is optional. Columns not listed here are "
        "kept as text. Timestamps are stored in UTC.",
        "",
    ]
    for t in TABLES.values():
        lines += [
            f"## {t.name}",
            "",
            t.description,
            "",
            f"Key: `{', '.join(t.key)}`. "
            + (f"Time column: `{t.time_column}`." if t.time_column else "No time column."),
            "",
        ]
        lines += ["| column | type | required | meaning | example |", "|---|---|---|---|---|"]
        for c in t.columns:
            lines.append(f"| {c.name} | {c.dtype} | {'yes' if c.required else 'no'} | {c.meaning} | `{c.example}` |")
        lines.append("")
    lines += [
        "## quarantine",
        "",
        "Written by `cx load`: one row per problem found in a source row.",
        "",
        "| column | meaning |",
        "|---|---|",
    ]
    lines += [f"| {n} | {m} |" for n, m in QUARANTINE_COLUMNS]
    lines += ["", *_enum_note(), ""]
    return "\n".join(lines)


def _enum_note() -> list[str]:
    """What a reader of the workspace file meets in the stream's columns of few values (:mod:`cxlib.categories`),
    named from :data:`STREAM_CATEGORIES` and the limit the writer applies."""
    import textwrap

    from cxlib.categories import MAX_CATEGORIES  # cxlib.categories reads cxlib.io, which reads this module

    cols = ", ".join(f"`{c}`" for c in (*STREAM_CATEGORIES, "rule"))
    text = (
        f"In `touchpoints` and `journey_touchpoints`, the text columns of few values ({cols}; and `stage`, "
        f"`journey`, `next_event` in the staged rows) are stored as DuckDB `ENUM` types when they hold at most "
        f"{MAX_CATEGORIES:,} values: writing and sorting a one-byte code is several times faster than the text "
        "(`cxlib/categories.py`). Through `cxlib` (Ibis) they read as text, and a comparison with a value they do "
        "not hold is simply false. Read with DuckDB directly, pandas gets them as ordered `Categorical` columns: "
        "add `.astype(str)` (or select `CAST(event AS VARCHAR)`) before filling in or adding values, and write new "
        "values to a copy, not into these columns."
    )
    return ["## Columns of few values (ENUM types)", "", *textwrap.wrap(text, 111, break_on_hyphens=False)]


def foreign_table(folder: Path | None, name: str, columns: tuple[str, ...], missing: list[str]) -> str:
    """Why an input table without columns that `cx load` writes (``missing``) stops a step, and the fix: a
    ``workspace.duckdb`` another program wrote, or a table written by hand."""
    where = folder / "workspace.duckdb" if folder else "the workspace"
    return (f"{where}: its table {name!r} has no column {', '.join(map(repr, missing))} (it has "
            f"{', '.join(columns)}): `cx load` did not write it -- another program's DuckDB file, a table written "
            f"by hand, or an older cx. Fix: move {where} aside and run `cx load` on the folder, which writes every "
            "table again from the source files")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    print(data_model_markdown(), end="")

