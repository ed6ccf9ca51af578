"""Web and app events written as the GA4 BigQuery export: one nested Parquet file per day.

The layout is Google's "BigQuery Export schema": ``event_date`` (``YYYYMMDD``), ``event_timestamp``
(microseconds, UTC), ``event_name`` in GA4's vocabulary, ``event_params`` (a repeated record of ``key`` and
``value {string_value, int_value, float_value, double_value}``), ``user_id``, ``user_pseudo_id``,
``traffic_source``, ``device``, ``geo``, ``stream_id``, ``platform``, ``ecommerce`` and ``items`` on
purchases (``transaction_id`` = the order the purchase placed), and ``batch_event_index`` (the order of the
events one user sent in the same microsecond).

Examples
--------
>>> _GA4_NAMES["product_view"], _GA4_NAMES["checkout_start"]
('view_item', 'begin_checkout')
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from cxlib.synth.material import _KIOSK_COOKIES

#: our event name -> GA4's (app page views are ``screen_view``; others keep their name)
_GA4_NAMES = {"product_view": "view_item", "checkout_start": "begin_checkout"}
_STREAMS = {"web_analytics": ("4012345678", "WEB", "desktop"), "app_analytics": ("4098765432", "ANDROID", "mobile")}
GA4_SOURCES = tuple(_STREAMS)
#: the anonymous ids that people of different blocks share (the shop's kiosk cookies)
SHARED_COOKIES = frozenset(_KIOSK_COOKIES)
_VALUE = pa.struct([("string_value", pa.string()), ("int_value", pa.int64()), ("float_value", pa.float64()),
                    ("double_value", pa.float64())])  # fmt: skip
_SCHEMA = pa.schema([
    ("event_date", pa.string()), ("event_timestamp", pa.int64()), ("event_name", pa.string()),
    ("event_params", pa.list_(pa.struct([("key", pa.string()), ("value", _VALUE)]))),
    ("event_bundle_sequence_id", pa.int64()), ("user_id", pa.string()), ("user_pseudo_id", pa.string()),
    ("traffic_source", pa.struct([("name", pa.string()), ("medium", pa.string()), ("source", pa.string())])),
    ("device", pa.struct([("category", pa.string()), ("operating_system", pa.string())])),
    ("geo", pa.struct([("country", pa.string())])), ("stream_id", pa.string()), ("platform", pa.string()),
    ("ecommerce", pa.struct([("transaction_id", pa.string()), ("purchase_revenue", pa.float64()),
                             ("total_item_quantity", pa.int64()), ("unique_items", pa.int64())])),
    ("items", pa.list_(pa.struct([("item_id", pa.string()), ("item_name", pa.string()), ("price", pa.float64()),
                                  ("quantity", pa.int64())]))),
    ("batch_event_index", pa.int64()),
])  # fmt: skip


def in_ga4(events: pd.DataFrame) -> pd.Series:
    """The events the GA4 export holds: web and app events, but those with an email address (GA4 forbids
    personal data: such events come from the site's own tracking) or without an id (a defect of the canonical
    feed that its load quarantines; GA4 rows have no id to lose). The others stay in the canonical file."""
    return events["source"].isin(GA4_SOURCES) & events["email"].isna() & events["event_id"].notna()


def _frame(events: pd.DataFrame, orders: pd.DataFrame, shared: dict | None = None) -> pd.DataFrame:
    """The web and app events with the GA4 fields they need, in time order (one user's ties numbered).

    ``shared`` (when the events come block by block) carries the ties already numbered for the cookies that
    several blocks' people share (:func:`_number_shared`), so that ``batch_event_index`` stays unique.
    """
    e = events[in_ga4(events)].copy()
    e["us"] = pd.to_datetime(e["ts"]).astype("datetime64[us]").astype("int64")
    e = e.sort_values(["us", "anonymous_id", "event_id"], kind="stable")
    e["batch"] = e.groupby(["anonymous_id", "us"]).cumcount()
    if shared is not None:
        _number_shared(e, shared)
    # the order each purchase placed: same moment and amount (a purchase without one has "(not set)")
    o = orders.assign(us=pd.to_datetime(orders["ts"]).astype("datetime64[us]").astype("int64"),
                      rev=pd.to_numeric(orders["amount"], errors="coerce").round(2))  # fmt: skip
    o = o.drop_duplicates(["us", "rev"])[["us", "rev", "order_id", "currency"]]
    e["rev"] = e["revenue"].round(2)
    e = e.merge(o, on=["us", "rev"], how="left")
    return e


def _number_shared(e: pd.DataFrame, shared: dict[tuple[str, int], int]) -> None:
    """Number on from ``shared`` the ties of the shop's kiosk cookies (the only anonymous ids people of
    different blocks share); record this block's ties in ``shared``."""
    kiosk = e["anonymous_id"].isin(SHARED_COOKIES)
    if not kiosk.any():
        return
    k = e.loc[kiosk, ["anonymous_id", "us", "batch"]]
    keys = list(zip(k["anonymous_id"], k["us"].astype(int), strict=True))
    offset = np.array([shared.get(key, 0) for key in keys], dtype="int64")
    e.loc[kiosk, "batch"] = k["batch"].to_numpy() + offset
    for key, b in zip(keys, e.loc[kiosk, "batch"], strict=True):
        shared[key] = max(shared.get(key, 0), int(b) + 1)


def _params(e: pd.DataFrame, buy: np.ndarray, tid: np.ndarray) -> pa.ListArray:
    """``event_params``: six a row (session, page, medium, source, engagement), then ``transaction_id`` and
    ``currency`` on purchases that have them."""
    n = len(e)
    session = (e["us"].to_numpy() // 1_000_000 // 1800 * 1800).astype("int64")
    page = "https://shop.example.com/" + e["event"].astype(str).str.replace("_", "-", regex=False).to_numpy(object)
    cur = e["currency"].to_numpy(object)
    has_tid = tid != "(not set)"
    has_cur = buy & np.array([isinstance(c, str) for c in cur], dtype=bool)
    none_s, none_i = np.full(n, None, dtype=object), np.full(n, None, dtype=object)
    cols = [("ga_session_id", none_s, session), ("ga_session_number", none_s, np.ones(n, "int64")),
            ("page_location", page, none_i), ("medium", np.full(n, "(none)", object), none_i),
            ("source", np.full(n, "(direct)", object), none_i),
            ("engagement_time_msec", none_s, np.full(n, 1000, "int64")),
            ("transaction_id", tid, none_i), ("currency", cur, none_i)]  # fmt: skip
    present = np.column_stack([np.ones((n, 6), bool), has_tid, has_cur])
    keys = np.array([c[0] for c in cols], dtype=object)
    strs = np.column_stack([c[1] for c in cols])[present]
    ints = np.column_stack([c[2].astype(object) for c in cols])[present]
    value = pa.StructArray.from_arrays(
        [pa.array(strs, pa.string()), pa.array(ints, pa.int64()), pa.nulls(len(strs), pa.float64()),
         pa.nulls(len(strs), pa.float64())], fields=list(_VALUE))  # fmt: skip
    kv = pa.StructArray.from_arrays([pa.array(np.broadcast_to(keys, (n, 8))[present], pa.string()), value],
                                    fields=list(_SCHEMA.field("event_params").type.value_type))  # fmt: skip
    offsets = np.concatenate([[0], np.cumsum(present.sum(axis=1))]).astype("int32")
    return pa.ListArray.from_arrays(pa.array(offsets), kv, type=_SCHEMA.field("event_params").type)


def _purchases(buy: np.ndarray, tid: np.ndarray, rev: np.ndarray) -> tuple[pa.StructArray, pa.ListArray]:
    """``ecommerce`` (purchases only) and ``items`` (one basket line a purchase, else empty)."""
    ones = np.ones(len(buy), "int64")
    eco_t = _SCHEMA.field("ecommerce").type
    eco = pa.StructArray.from_arrays(
        [pa.array(tid, pa.string()), pa.array(rev, pa.float64()), pa.array(ones), pa.array(ones)],
        fields=list(eco_t), mask=pa.array(~buy))  # fmt: skip
    items_t = _SCHEMA.field("items").type
    k = int(buy.sum())
    item = pa.StructArray.from_arrays(
        [pa.array(["SKU-1"] * k, pa.string()), pa.array(["Basket"] * k, pa.string()),
         pa.array(rev[buy], pa.float64()), pa.array(np.ones(k, "int64"))], fields=list(items_t.value_type))  # fmt: skip
    offsets = np.concatenate([[0], np.cumsum(buy)]).astype("int32")
    return eco, pa.ListArray.from_arrays(pa.array(offsets), item, type=items_t)


def ga4_table(e: pd.DataFrame) -> pa.Table:
    """The rows of :func:`_frame` as the nested GA4 export table (:data:`_SCHEMA`), built column by column."""
    n = len(e)
    src = e["source"].to_numpy(object)
    stream = np.array([_STREAMS[x][0] for x in src], dtype=object)
    platform = np.array([_STREAMS[x][1] for x in src], dtype=object)
    event = e["event"].astype(str).to_numpy(object)
    name = np.array([_GA4_NAMES.get(x, x) for x in event], dtype=object)
    name[(event == "page_view") & (platform != "WEB")] = "screen_view"
    buy = event == "purchase"
    order = e["order_id"].to_numpy(object)
    tid = np.where(buy & np.array([isinstance(x, str) for x in order], dtype=bool), order, "(not set)")
    rev = e["revenue"].to_numpy("float64", na_value=np.nan)
    rev = np.where(np.isnan(rev), None, rev).astype(object)
    ref = e["contact_ref"].to_numpy(object)
    batch = e["batch"].to_numpy("int64")
    const = {"name": "(direct)", "medium": "(none)", "source": "(direct)"}
    eco, items = _purchases(buy, tid, rev)
    cols = {
        "event_date": pd.to_datetime(e["us"], unit="us").dt.strftime("%Y%m%d").to_numpy(object),
        "event_timestamp": e["us"].to_numpy("int64"), "event_name": name, "event_params": _params(e, buy, tid),
        "event_bundle_sequence_id": batch + 1,
        "user_id": np.array([x if isinstance(x, str) else None for x in ref], dtype=object),
        "user_pseudo_id": e["anonymous_id"].to_numpy(object),
        "traffic_source": pa.array([const] * n, _SCHEMA.field("traffic_source").type),
        "device": pa.StructArray.from_arrays(
            [pa.array(np.where(platform == "WEB", "desktop", "mobile"), pa.string()),
             pa.array(np.where(platform == "WEB", "Windows", "Android"), pa.string())], names=["category",
                                                                                           "operating_system"]),
        "geo": pa.array([{"country": "United Kingdom"}] * n, _SCHEMA.field("geo").type),
        "stream_id": stream, "platform": platform, "ecommerce": eco, "items": items, "batch_event_index": batch,
    }  # fmt: skip
    return pa.Table.from_arrays([pa.array(cols[f.name], f.type) if not isinstance(cols[f.name], pa.Array)
                                 else cols[f.name] for f in _SCHEMA], schema=_SCHEMA)  # fmt: skip


def write_ga4(events: pd.DataFrame, orders: pd.DataFrame, folder: Path) -> pd.DataFrame:
    """Write the web and app events to ``folder/events_YYYYMMDD.parquet``; return ``event_id, us, anonymous_id,
    batch`` (what identifies each written row) for the answer key.

    Purchases carry the shop's order id as ``ecommerce.transaction_id`` and as the event parameter
    ``transaction_id``, with ``ecommerce.purchase_revenue`` and ``items`` (a purchase the shop has no order for
    has ``(not set)``). They do not become orders a second time: the loader leaves GA4 purchases out of
    ``orders`` when the shop's own orders (here the invoice lines) are mapped too.
    """
    folder.mkdir(parents=True, exist_ok=True)
    for stale in folder.glob("events_*.parquet"):
        stale.unlink()
    e = _frame(events, orders)
    for day, part in day_slices(ga4_table(e)):
        pq.write_table(part, folder / f"events_{day}.parquet", compression="zstd")
    return e[["event_id", "us", "anonymous_id", "batch"]]


def day_slices(t: pa.Table) -> list[tuple[str, pa.Table]]:
    """``(YYYYMMDD, rows)`` for each day of GA4 table ``t`` (stably sorted by day first, when it is not)."""
    days = t["event_date"].to_numpy(zero_copy_only=False)
    if len(days) and (days[1:] < days[:-1]).any():
        t = t.sort_by("event_date")
        days = t["event_date"].to_numpy(zero_copy_only=False)
    _, first = np.unique(days, return_index=True)
    ends = [*first[1:], len(days)]
    return [(str(days[a]), t.slice(a, b - a)) for a, b in zip(first, ends, strict=True)]


def ga4_keys(files: Path | pa.Table, written: pd.DataFrame) -> pd.DataFrame:
    """``event_id`` (ours) -> ``record_key`` (the loader's GA4 event id) for the rows :func:`write_ga4` wrote.

    ``files`` is the folder of the ``events_*.parquet`` files, or the GA4 table of one block (whose rows are
    appended to the day files: as no two rows there are identical, each row's id is its content's). The ids
    are derived with the loader's own SQL (:func:`cxlib.io.ga4.event_ids_sql`, the ids of
    :func:`cxlib.io.ga4.read_ga4`) and matched to ours on what identifies a written row: its microsecond, its
    user and its ``batch_event_index``.
    """
    from cxlib.io.ga4 import event_ids_sql, read_event_ids  # noqa: PLC0415
    from cxlib.io.sources import SourceFile  # noqa: PLC0415

    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        if isinstance(files, pa.Table):
            con.register("_cx_block", files)
            rel = "(SELECT *, 'block' AS filename, row_number() OVER () AS _row FROM _cx_block)"
            con.execute(f"CREATE TEMP TABLE g AS {event_ids_sql(files.column_names, rel)}")
        else:
            source = SourceFile("events", files / "events_*.parquet", format="ga4", source="ga4")
            read_event_ids(con, source, "g")
        got = con.execute("SELECT event_id, CAST(ts AS BIGINT), anonymous_id, CAST(sequence AS BIGINT) FROM g").df()
    finally:
        con.close()
    got.columns = ["record_key", "us", "anonymous_id", "batch"]
    out = written.merge(got, on=["us", "anonymous_id", "batch"], how="left", validate="one_to_one")
    if out["record_key"].isna().any():  # pragma: no cover - a bug in this module or the reader
        raise RuntimeError("GA4 export: a written event was not read back")
    return out[["event_id", "record_key"]]
