"""The ``verbatims`` table: every piece of customer text, with who wrote it, when, where and in which stage.

Gathered in the engine from the loaded tables and ``identity_links``: ticket ``subject`` and ``description``
(one verbatim per ticket, the two joined), survey ``comment``, order ``return_reason``, and any further text
column named in ``text_columns``. Each row gets the customer, the time, the channel, the rating given with it
(CSAT for a ticket, NPS for a survey), whether a ticket was resolved, the customer's journey stage in that
month (``stage_history``, else the current ``customer_stages``) and persona (``personas``) when the workspace
has them. Language and sentiment are added in Python (:func:`annotate`): the text is small next to events.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import ibis
import pandas as pd
from ibis import _

from cxlib.engine import Workspace
from cxlib.schema import TABLES, DataError
from cxlib.unify.normalise import trim
from cxlib.voice.language import detect_all
from cxlib.voice.sentiment import sentiments

__all__ = ["TEXT_COLUMNS", "VERBATIM_COLUMNS", "annotate", "collect"]

#: table -> its text columns read as verbatims (joined with ". " when a row has several).
TEXT_COLUMNS: dict[str, tuple[str, ...]] = {
    "tickets": ("subject", "description"),
    "surveys": ("comment",),
    "orders": ("return_reason",),
}

VERBATIM_COLUMNS = (
    "verbatim_id", "customer_id", "ts", "table_name", "source", "record_key", "field", "channel", "rating",
    "rating_scale", "resolved", "stage", "persona", "text", "language", "sentiment",
)  # fmt: skip


def _part(ws: Workspace, name: str, cols: Sequence[str]) -> ibis.Table | None:
    """One table's verbatims (without customer, stage or persona), or ``None`` when it has no text column."""
    if name not in TABLES:
        raise ValueError(f"text columns of {name!r}: only the source tables ({', '.join(TABLES)}) can hold verbatims")
    if not ws.has(name):
        return None
    t = ws.table(name)
    cols = [c for c in cols if c in t.columns]
    if not cols:
        return None
    texts = [trim(t[c].cast("string")).nullif("") for c in cols]  # not .strip(): see trim
    text = texts[0] if len(texts) == 1 else ibis.coalesce(texts[0] + ". " + texts[1], texts[0], texts[1])
    for more in texts[2:]:
        text = ibis.coalesce(text + ". " + more, text, more)
    key = [c for c in TABLES[name].key if c != "source"][0]
    rating = {"tickets": "csat", "surveys": "nps"}.get(name)
    has = lambda c: c in t.columns  # noqa: E731
    return t.select(
        ts=t[TABLES[name].time_column].cast("timestamp") if TABLES[name].time_column else ibis.null("timestamp"),
        table_name=ibis.literal(name),
        source=t.source.cast("string"),
        record_key=t[key].cast("string"),
        field=ibis.literal("+".join(cols)),
        channel=(t.channel.cast("string") if has("channel") and name != "surveys" else ibis.literal(
            "survey" if name == "surveys" else None, "string")),
        rating=t[rating].cast("float64") if rating and has(rating) else ibis.null("float64"),
        rating_scale=ibis.literal({"tickets": "csat", "surveys": "nps"}.get(name), "string"),
        resolved=t.resolved.cast("boolean") if has("resolved") else ibis.null("boolean"),
        text=text,
    ).filter(text.notnull())


def collect(ws: Workspace, text_columns: Mapping[str, Sequence[str]] | None = None) -> ibis.Table:
    """The verbatims as an engine expression: ``VERBATIM_COLUMNS`` but ``verbatim_id``, ``language`` and
    ``sentiment``, one row per source row with text, ordered by customer and time."""
    cols = {t: tuple(c) for t, c in TEXT_COLUMNS.items()}
    for t, more in (text_columns or {}).items():  # further columns, beside the table's usual ones
        cols[t] = tuple(dict.fromkeys([*cols.get(t, ()), *more]))
    parts = [p for p in (_part(ws, n, c) for n, c in cols.items()) if p is not None]
    if not parts:
        raise DataError("the workspace has no customer text: no tickets (subject, description), survey comments "
                        "or return reasons were loaded. Fix: add the helpdesk or survey export to the folder, map it "
                        "in sources.yml (`cx sources FOLDER` suggests the entry) and run `cx load` and `cx unify`")
    v = ibis.union(*parts, distinct=True)  # a re-sent export repeats a row
    links = ws.table("identity_links").select("table_name", "source", "record_key", "customer_id")
    v = v.left_join(links, ["table_name", "source", "record_key"]).select(v, "customer_id")
    v = v.mutate(_month=v.ts.truncate("M"))
    if ws.has("stage_history"):
        sh = ws.table("stage_history").select(_c="customer_id", _m=_.month.cast("timestamp"), stage="stage")
        v = v.left_join(sh, [v.customer_id == sh._c, v._month == sh._m]).drop("_c", "_m")
    elif ws.has("customer_stages"):
        v = v.left_join(ws.table("customer_stages").select("customer_id", "stage"), "customer_id")
        v = v.drop([c for c in v.columns if c.endswith("_right")])
    else:
        v = v.mutate(stage=ibis.null("string"))
    if ws.has("personas"):
        p = ws.table("personas")
        name = "persona_name" if "persona_name" in p.columns else "persona"
        ps = p.select(_pc="customer_id", persona=p[name].cast("string"))
        v = v.left_join(ps, v.customer_id == ps._pc).drop("_pc")
    else:
        v = v.mutate(persona=ibis.null("string"))
    return v.drop("_month").order_by(["customer_id", "ts", "table_name", "source", "record_key"])


def annotate(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``verbatim_id`` (1..n in the frame's order), ``language`` and ``sentiment``; columns in order."""
    df = df.reset_index(drop=True)
    # their own types when every value is missing (no ticket says whether it was resolved): pandas then holds
    # them as objects, which the workspace cannot store as a column type
    df = df.astype({"resolved": "boolean", "rating": "float64"})
    df["verbatim_id"] = pd.array(range(1, len(df) + 1), dtype="int64")
    df["language"] = pd.array(detect_all(df["text"]), dtype="string")
    df["sentiment"] = sentiments(df["text"])
    return df[list(VERBATIM_COLUMNS)]
