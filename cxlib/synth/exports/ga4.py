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


def _param(key: str, s: str | None = None, i: int | None = None) -> dict:
    return {"key": key, "value": {"string_value": s, "int_value": i, "float_value": None, "double_value": None}}


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


def _rows(e: pd.DataFrame) -> list[dict]:
    rows = []
    for r in e.itertuples(index=False):
        stream, platform, device = _STREAMS[r.source]
        name = "screen_view" if r.event == "page_view" and platform != "WEB" else _GA4_NAMES.get(r.event, r.event)
        session = int(r.us // 1_000_000 // 1800 * 1800)
        params = [_param("ga_session_id", i=session), _param("ga_session_number", i=1),
                  _param("page_location", f"https://shop.example.com/{r.event.replace('_', '-')}"),
                  _param("medium", "(none)"), _param("source", "(direct)"),
                  _param("engagement_time_msec", i=1000)]  # fmt: skip
        buy = r.event == "purchase"
        tid = r.order_id if buy and isinstance(r.order_id, str) else "(not set)"
        if tid != "(not set)":
            params.append(_param("transaction_id", tid))
        if buy and isinstance(r.currency, str):
            params.append(_param("currency", r.currency))
        rev = None if pd.isna(r.revenue) else float(r.revenue)
        rows.append({
            "event_date": pd.Timestamp(r.us, unit="us").strftime("%Y%m%d"), "event_timestamp": int(r.us),
            "event_name": name, "event_params": params, "event_bundle_sequence_id": int(r.batch) + 1,
            "user_id": r.contact_ref if isinstance(r.contact_ref, str) else None, "user_pseudo_id": r.anonymous_id,
            "traffic_source": {"name": "(direct)", "medium": "(none)", "source": "(direct)"},
            "device": {"category": device, "operating_system": "Android" if platform != "WEB" else "Windows"},
            "geo": {"country": "United Kingdom"}, "stream_id": stream, "platform": platform,
            "ecommerce": {"transaction_id": tid, "purchase_revenue": rev, "total_item_quantity": 1,
                          "unique_items": 1} if buy else None,
            "items": [{"item_id": "SKU-1", "item_name": "Basket", "price": rev, "quantity": 1}] if buy else [],
            "batch_event_index": int(r.batch),
        })  # fmt: skip
    return rows


def ga4_table(e: pd.DataFrame) -> pa.Table:
    """The rows of :func:`_frame` as the nested GA4 table (built a day at a time: the rows are Python dicts)."""
    day = pd.to_datetime(e["us"], unit="us").dt.strftime("%Y%m%d")
    parts = [pa.Table.from_pylist(_rows(part), schema=_SCHEMA) for _, part in e.groupby(day, sort=True)]
    return pa.concat_tables(parts) if parts else _SCHEMA.empty_table()


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
    day = pd.to_datetime(e["us"], unit="us").dt.strftime("%Y%m%d")
    for d, part in e.groupby(day, sort=True):
        pq.write_table(pa.Table.from_pylist(_rows(part), schema=_SCHEMA), folder / f"events_{d}.parquet",
                       compression="zstd")  # fmt: skip
    return e[["event_id", "us", "anonymous_id", "batch"]]


def ga4_keys(files: Path, written: pd.DataFrame) -> pd.DataFrame:
    """``event_id`` (ours) -> ``record_key`` (the loader's GA4 event id) for the rows :func:`write_ga4` wrote.

    ``files`` is the folder of the ``events_*.parquet`` files or one file (or glob). The ids are read back
    with the loader's own GA4 reader (:func:`cxlib.io.ga4.read_ga4`) and matched to ours on what identifies a
    written row: its microsecond, its user and its ``batch_event_index``.
    """
    from cxlib.io.ga4 import read_ga4  # noqa: PLC0415
    from cxlib.io.sources import SourceFile  # noqa: PLC0415

    path = files / "events_*.parquet" if files.is_dir() else files
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        read_ga4(con, SourceFile("events", path, format="ga4", source="ga4"), "g", "events")
        got = con.execute("SELECT event_id, CAST(ts AS BIGINT), anonymous_id, CAST(sequence AS BIGINT) FROM g").df()
    finally:
        con.close()
    got.columns = ["record_key", "us", "anonymous_id", "batch"]
    out = written.merge(got, on=["us", "anonymous_id", "batch"], how="left", validate="one_to_one")
    if out["record_key"].isna().any():  # pragma: no cover - a bug in this module or the reader
        raise RuntimeError("GA4 export: a written event was not read back")
    return out[["event_id", "record_key"]]
