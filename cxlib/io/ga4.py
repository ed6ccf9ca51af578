"""``format: ga4``: the Google Analytics 4 BigQuery export, read as Google documents it.

The export has one table per day (``events_YYYYMMDD``, and with streaming ``events_intraday_YYYYMMDD``),
exported to files (Parquet, Avro or newline-delimited JSON, one file or a folder of shards per day). One row
per event: ``event_timestamp`` (microseconds since 1970, UTC), ``event_name``, ``event_params`` (a
repeated record of ``key`` and ``value {string_value, int_value, float_value, double_value}``),
``user_id``, ``user_pseudo_id``, ``traffic_source {name, medium, source}``, ``ecommerce
{transaction_id, purchase_revenue, ...}``, ``items``, ``device``, ``geo``, and in newer exports
``batch_event_index`` and friends. Days with different columns are read together (missing ones are
empty); an ``events_intraday_D`` file is skipped when the daily ``events_D`` is there (it replaces it).

Events (table ``events``), one per row:

* ``event_id`` = ``ga4-`` + the first 20 hex digits of the MD5 of the event's identity (its
  ``event_timestamp``, ``event_name``, ``user_pseudo_id``, ``user_id``, ``stream_id``, ``platform``,
  ``event_bundle_sequence_id``, ``batch_event_index``, ``batch_ordering_id``, ``batch_page_id``,
  ``event_server_timestamp_offset``, ``event_params``, ``ecommerce``, ``items``; absent = empty) + ``-n``,
  the position among identical events of the same file. The same file always gives the same ids;
* ``ts`` from ``event_timestamp``; ``anonymous_id`` = ``user_pseudo_id``; ``contact_ref`` = ``user_id``;
* ``event``: the GA4 name mapped to ours (:data:`EVENT_NAMES`; others kept), the original in ``raw_event``;
* ``campaign`` from the event parameter ``campaign``, else ``traffic_source.name`` (values in
  parentheses such as ``(direct)`` are empty); ``channel`` from the parameter ``medium``, else
  ``traffic_source.medium`` (:func:`channel_sql`);
* ``revenue`` = ``ecommerce.purchase_revenue`` on ``purchase`` events;
* typed columns: ``page_location``, ``page_title``, ``page_referrer``, ``ga_session_id``,
  ``ga_session_number``, ``engagement_time_msec``, ``transaction_id``, ``currency``, ``country``,
  ``device_category``, ``platform``, ``event_date``, ``sequence`` (``batch_event_index``, else
  ``event_bundle_sequence_id``: the order of events that share a timestamp);
* every other event parameter as a typed column ``param_<key>`` (the key in lower case, other characters
  ``_``): a whole number (``int_value``) is a BIGINT, a ``double_value``/``float_value`` a DOUBLE, text (or
  a key whose values mix text and numbers) VARCHAR; the keys are those of about :data:`PARAM_SAMPLE_ROWS`
  events sampled by the hash of their parameters, the :data:`MAX_PARAM_COLUMNS` most frequent (custom parameters beyond
  them: ask for them in ``event_params``' place);
* nested, as exported (:data:`NESTED_KEPT`): ``items`` (the products of e-commerce events),
  ``user_properties``, ``device``, ``geo``, ``app_info``, ``traffic_source``, ``collected_traffic_source``,
  ``session_traffic_source_last_click``, ``event_dimensions``, ``ecommerce``, ``privacy_info``, ``user_ltv``,
  ``publisher`` -- those the export has.

Orders (table ``orders``, unless the shop's own orders are loaded too or the entry says ``orders: false``):
every ``transaction_id`` (``ecommerce.transaction_id``, else the event parameter ``transaction_id``; empty and
``(not set)`` are none) on ``purchase`` events is one order: ``amount`` = its ``purchase_revenue``, ``ts`` =
its purchase, ``currency`` from the event parameter ``currency``, the buyer's ``user_id`` as ``contact_ref`` and
``user_pseudo_id`` as ``anonymous_id`` (the order joins its visitor's journey without a login), status
``completed``, or ``returned`` when ``refund`` events name it for the whole of it (their ``ecommerce.refund_value``
at least the revenue, or none given); a partial refund leaves it ``completed`` with ``amount`` what was kept.
"""

from __future__ import annotations

import contextlib
import decimal
import glob
import json
import re
import tempfile
from pathlib import Path

import duckdb

from cxlib.io.files import refuse_deep_json
from cxlib.io.read import materialize, number_rows
from cxlib.io.sources import SourceFile
from cxlib.io.sql import control_character, ident, literal
from cxlib.schema import DataError

__all__ = [
    "EVENT_NAMES", "channel_sql", "daily_days", "event_ids_sql", "export_day", "ga4_files", "read_event_ids",
    "read_ga4",
]

#: GA4 recommended/automatic event names -> our event vocabulary (others are kept as they are).
EVENT_NAMES = {
    "page_view": "page_view",
    "screen_view": "page_view",
    "view_item": "product_view",
    "add_to_cart": "add_to_cart",
    "begin_checkout": "checkout_start",
    "purchase": "purchase",
    "login": "login",
}

#: medium (lower case) -> channel; anything else is ``web`` (``app`` on app streams).
MEDIUM_CHANNELS = {
    "cpc": "paid_search",
    "ppc": "paid_search",
    "paidsearch": "paid_search",
    "paid_search": "paid_search",
    "email": "email",
    "e-mail": "email",
    "newsletter": "email",
    "paid_social": "paid_social",
    "paidsocial": "paid_social",
    "social_paid": "paid_social",
    "display": "display",
    "cpm": "display",
    "banner": "display",
}

_IDENTITY = (
    "event_timestamp",
    "event_name",
    "user_pseudo_id",
    "user_id",
    "stream_id",
    "platform",
    "event_bundle_sequence_id",
    "batch_event_index",
    "batch_ordering_id",
    "batch_page_id",
    "event_server_timestamp_offset",
    "event_params",
    "ecommerce",
    "items",
)
_PARAMS = ("page_location", "page_title", "page_referrer", "ga_session_id", "ga_session_number",
           "engagement_time_msec", "currency")
_DAY = re.compile(r"events_(intraday_)?(\d{8})")
#: The other event parameters kept as ``param_<key>`` columns are found among about this many events (a sample
#: by the hash of their parameters, the same whatever the row order) ...
PARAM_SAMPLE_ROWS = 100_000
#: ... and at most this many of them, the most frequent first (GA4 sends at most 25 parameters per event).
MAX_PARAM_COLUMNS = 40
#: Nested columns kept as they are (lists of records or records; days with different fields are unioned by name):
#: every nested field of the export but ``event_params`` (its values are columns of their own).
NESTED_KEPT = ("items", "user_properties", "device", "geo", "app_info", "traffic_source", "collected_traffic_source",
               "session_traffic_source_last_click", "event_dimensions", "ecommerce", "privacy_info", "user_ltv",
               "publisher")
#: The kept columns that are integers in the export (the others, ids and ``event_date`` included, are text).
NUMERIC_COLUMNS = ("ga_session_id", "ga_session_number", "engagement_time_msec", "sequence")


def _matched(f: SourceFile) -> list[str]:
    found = sorted(glob.glob(str(f.path))) if glob.has_magic(str(f.path)) else [str(f.path)]
    return [p for p in found if Path(p).is_file()]


def daily_days(f: SourceFile) -> set[str]:
    """The days (``YYYYMMDD``) of the daily tables (``events_D``, not intraday) among the files ``f.path`` names."""
    return {m.group(2) for p in _matched(f) if (m := export_day(p)) and not m.group(1)}


def ga4_files(f: SourceFile, daily: frozenset[str] = frozenset()) -> list[str]:
    """The files ``f.path`` names (a glob allowed), sorted; intraday files of days with a daily file (among them,
    or among ``daily``: the days of the table's other GA4 entries) left out: Google replaces the intraday table
    of a day by its daily one, so the same events are in both."""
    found = _matched(f)
    if not found:
        raise DataError(f"{f.label}: no GA4 export file matches {f.path}; fix the `file:` entry in sources.yml")
    daily = daily | daily_days(f)
    return [p for p in found if not ((m := export_day(p)) and m.group(1) and m.group(2) in daily)]


def export_day(path: str | Path) -> re.Match | None:
    """The day of a GA4 export file (group 2) and whether it is intraday (group 1): from its name
    (``events_20240101.parquet``), or from its folder's when the day was exported as shards
    (``events_20240101/000000000000.parquet``); None for another file.

    >>> export_day("ga4/events_intraday_20240101/000000000001.parquet").groups()
    ('intraday_', '20240101')
    """
    p = Path(path)
    return _DAY.search(p.name) or _DAY.fullmatch(p.parent.name)


def _read_files(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str) -> tuple[list[str], str, dict]:
    """The export's columns, and the relation (SQL and its parameters) that reads its rows with ``_row``."""
    files = ga4_files(f, f.ga4_daily)
    suffixes = {"".join(Path(p).suffixes[-2:]).lower() for p in files}
    if suffixes and all(s.endswith(".parquet") for s in suffixes):
        return _parquet(con, f, name, files)
    if suffixes and all(s.endswith(".avro") for s in suffixes):
        # BigQuery's Avro export: each file re-read as newline-delimited JSON (one to one, so the derived
        # event ids are the same as from the Parquet or JSON export of the same days)
        with tempfile.TemporaryDirectory(prefix="cx-ga4-avro-") as tmp:
            return _read(con, f, name, _avro_as_ndjson(f, files, Path(tmp))), ident(name), {}
    return _read(con, f, name, files), ident(name), {}


def _parquet(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, files: list[str]) -> tuple[list[str], str, dict]:
    """Parquet files are read where they are, not copied (nested rows are large): ``_row`` is the row's
    position over the files in order, as :func:`_read`'s copy numbers it (each file's rows after those of the
    files before it, from the files' own row counts)."""
    reader = "read_parquet($files, union_by_name=true, filename=true, file_row_number=true)"
    off = ident(name + "_offsets")
    try:
        cols = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}", {"files": files}).fetchall()]
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {off} AS SELECT file_name, COALESCE(sum(num_rows) OVER ("
            "ORDER BY list_position($files, file_name) ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS off "
            "FROM parquet_file_metadata($files)",
            {"files": files},
        )
    except duckdb.Error as e:
        raise _unreadable(f, e, _damaged(files)) from None
    rel = (
        f"(SELECT r.* EXCLUDE (file_row_number), CAST(o.off + r.file_row_number + 1 AS BIGINT) AS _row "
        f"FROM {reader} r JOIN {off} o ON o.file_name = r.filename)"
    )
    return [c for c in cols if c != "file_row_number"] + ["_row"], rel, {"files": files}


def _damaged(files: list[str]) -> str | None:
    """The first of ``files`` whose Parquet footer cannot be read (a day's file cut short by a failed copy), if
    one is: read one at a time, only once reading them together has failed."""
    probe = duckdb.connect()  # its own: the load's connection may be in a transaction the failure aborted
    try:
        for p in files:
            try:
                probe.execute("SELECT count(*) FROM parquet_file_metadata($p)", {"p": [p]}).fetchone()
            except duckdb.Error:
                return p
    finally:
        probe.close()
    return None


def _unreadable(f: SourceFile, e: duckdb.Error, damaged: str | None = None) -> DataError:
    why = str(e).splitlines()[0]
    if damaged is not None:  # one day's file among many: name it, not the whole export
        return DataError(
            f"{f.label}: {Path(damaged).name} is damaged or not a Parquet file ({why}); copy or export that "
            "day's events table again, or move the file out of the folder to load the other days"
        )
    return DataError(
        f"{f.label}: cannot be read as a GA4 export ({why}); export the events_* tables "
        "as Parquet, Avro or newline-delimited JSON"
    )


def _avro_as_ndjson(f: SourceFile, files: list[str], out: Path) -> list[str]:
    """Each Avro file as an NDJSON file in ``out`` (same order; nested records and arrays kept)."""
    import fastavro

    written = []
    for i, path in enumerate(files):
        target = out / f"{i:05d}.ndjson"
        try:
            with open(path, "rb") as src, target.open("w", encoding="utf-8") as dst:
                for record in fastavro.reader(src):
                    dst.write(json.dumps(record, default=_json_value, ensure_ascii=False) + "\n")
        except (ValueError, EOFError, OSError, StopIteration) as e:
            raise DataError(
                f"{f.label}: {Path(path).name} cannot be read as Avro ({type(e).__name__}: {str(e)[:120]}); "
                "export the events_* tables again as Avro, Parquet or newline-delimited JSON"
            ) from None
        written.append(str(target))
    return written


def _json_value(v: object) -> object:
    """Avro values JSON does not have: bytes as text, dates and times as ISO text, decimals as numbers."""
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, decimal.Decimal):
        return float(v)
    return v.isoformat() if hasattr(v, "isoformat") else str(v)


def _read(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, files: list[str]) -> list[str]:
    """Newline-delimited JSON files copied into temp table ``name``, numbered (``_row``) in order; its columns."""
    reader = "read_json($files, format='newline_delimited', union_by_name=true, filename=true)"
    for path in files:
        refuse_deep_json(f"{f.label}: {Path(path).name}", Path(path), lines=True)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS SELECT * FROM {reader}", {"files": files})
    except duckdb.Error as e:
        raise _unreadable(f, e) from None
    number_rows(con, name)
    return [r[0] for r in con.execute(f"DESCRIBE {ident(name)}").fetchall()]


def _field(cols: list[str], col: str, path: str | None = None, records: dict | None = None) -> str:
    """SQL text of top-level column ``col`` (or its JSON ``path``), NULL when the export lacks it.

    A field of a record column whose fields are known (``records``, :func:`record_fields`) is read from the
    record, as the text its JSON would give, not through the JSON of the whole record."""
    if col not in cols:
        return "CAST(NULL AS VARCHAR)"
    if path is None:
        return f"CAST({ident(col)} AS VARCHAR)"
    fields = (records or {}).get(col)
    if fields is not None and re.fullmatch(r"\$\.[a-z_]+", path):
        name = path[2:]
        return _field_text(ident(col), name, fields[name]) if name in fields else "CAST(NULL AS VARCHAR)"
    return f"json_extract_string(to_json({ident(col)}), {literal(path)})"


_KEYS = ("medium", "campaign", "transaction_id", *_PARAMS)


def _param_json(key: str, alias: str | None = None, fields: dict[str, str] | None = None) -> str:
    """SQL: event parameter ``key``'s value (computed once a row, in :func:`_event_select`'s subquery), as
    ``_pj_<key>`` or ``alias`` (the other parameters are numbered: identifiers ignore case, keys do not): the
    value's record as it is when its ``fields`` are known (:func:`record_fields`), else as JSON.

    The first parameter of that key, found in the row's list of keys (``_cx_keys``, made once a row by
    :data:`_KEYS_SQL`), not by a lambda over the parameters for each key."""
    value = f"event_params[list_position(_cx_keys, {literal(key)})].value"
    return f"{value if fields is not None else f'to_json({value})'} AS {ident(alias or '_pj_' + key)}"


#: SQL: the keys of a row's event parameters, in order (``_cx_keys``, read by :func:`_param_json`).
_KEYS_SQL = "list_transform(event_params, x -> x.key) AS _cx_keys"


_VALUE_FIELDS = ("string_value", "int_value", "double_value", "float_value")
_WHOLE = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT")


def record_fields(con: duckdb.DuckDBPyConnection, rel: str, params: dict) -> dict[str, dict[str, str]]:
    """The fields (name -> type) of the records of relation ``rel``: of each top-level record column by its name,
    and of ``event_params[].value`` as ``event_params``; a column whose values are not records (JSON) is not
    there, and is read through its JSON."""
    out: dict[str, dict[str, str]] = {}
    rel_ = con.sql(f"SELECT * FROM {rel} LIMIT 0", params=params)
    for name, t in zip(rel_.columns, rel_.types, strict=True):
        if name == "event_params" and t.id == "list" and t.child.id == "struct":
            t = dict(t.child.children).get("value")
            if t is None:
                continue
        if t.id == "struct":
            out[name] = {n: str(ty) for n, ty in t.children}
    return out


def _field_text(v: str, name: str, ty: str) -> str:
    """SQL: field ``name`` (of type ``ty``) of record ``v`` as the text ``json_extract_string`` gives of it."""
    f = f"struct_extract({v}, {literal(name)})"
    if ty == "VARCHAR":
        return f
    if ty in _WHOLE:
        return f"CAST({f} AS VARCHAR)"
    return f"json_extract_string(to_json({f}), '$')"  # a number's JSON text (1e20 is 100000000000000000000.0)


def _param(cols: list[str], key: str, alias: str | None = None, fields: dict[str, str] | None = None) -> str:
    """The value of event parameter ``key`` (its column ``alias``) as text, whichever typed value is set: the
    text ``json_extract_string`` gives of it, read from the record's ``fields`` when they are known, else from
    its JSON."""
    if "event_params" not in cols:
        return "CAST(NULL AS VARCHAR)"
    v = ident(alias or "_pj_" + key)
    if fields is not None:
        parts = [_field_text(v, t, fields[t]) for t in _VALUE_FIELDS if t in fields]
        return f"COALESCE({', '.join(parts)})" if parts else "CAST(NULL AS VARCHAR)"
    return "COALESCE(" + ", ".join(f"json_extract_string({v}, '$.{t}')" for t in _VALUE_FIELDS) + ")"


def other_params(con: duckdb.DuckDBPyConnection, cols: list[str], rel: str, params: dict) -> list[tuple[str, str, str]]:
    """``(key, column, type)`` of the event parameters of relation ``rel`` not read into a column already
    (:data:`_KEYS`): among about :data:`PARAM_SAMPLE_ROWS` rows sampled by the hash of their parameters (the
    same sample whatever the order of the rows), the :data:`MAX_PARAM_COLUMNS` most frequent keys (then by
    key), each typed by the values it holds."""
    if "event_params" not in cols:
        return []
    n = con.execute(f"SELECT count(*) FROM {rel}", params).fetchone()[0]
    keep = 1000 if n <= PARAM_SAMPLE_ROWS else max(1, -(-1000 * PARAM_SAMPLE_ROWS // n))  # per mille, rounded up
    v = "to_json(p.value)"
    rows = con.execute(
        f"""SELECT p.key AS k, count(*) AS n,
                count(json_extract_string({v}, '$.string_value')) AS s,
                count(json_extract_string({v}, '$.int_value')) AS i,
                count(COALESCE(json_extract_string({v}, '$.double_value'),
                               json_extract_string({v}, '$.float_value'))) AS d
            FROM (SELECT unnest(event_params) AS p FROM {rel} WHERE hash(event_params) % 1000 < {int(keep)})
            WHERE p.key IS NOT NULL AND NOT list_contains($known, p.key)
            GROUP BY k ORDER BY n DESC, k""",
        {**params, "known": list(_KEYS)},
    ).fetchall()
    out, names = [], set()
    for key, _, text, whole, real in rows:
        if control_character(key):
            continue
        base = "param_" + (re.sub(r"[^0-9a-z]+", "_", key.lower()).strip("_") or "key")
        name, n = base, 1
        while name in names:  # keys that differ in case or punctuation only: param_foo, param_foo_2
            n += 1
            name = f"{base}_{n}"
        names.add(name)
        out.append((key, name, "VARCHAR" if text or not (whole or real) else "DOUBLE" if real else "BIGINT"))
        if len(out) == MAX_PARAM_COLUMNS:
            break
    return out


def channel_sql(medium: str, platform: str) -> str:
    """SQL: the channel of a GA4 medium (:data:`MEDIUM_CHANNELS`; else ``app`` on app streams, else ``web``)."""
    cases = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in MEDIUM_CHANNELS.items())
    return (
        f"CASE lower(trim({medium})) {cases} ELSE "
        f"CASE WHEN upper({platform}) IN ('ANDROID', 'IOS') THEN 'app' ELSE 'web' END END"
    )


def _not_placeholder(v: str) -> str:
    return f"CASE WHEN {v} IS NULL OR {v} = '' OR starts_with({v}, '(') THEN NULL ELSE {v} END"


def _hash_sql(cols: list[str]) -> str:
    """SQL: the MD5 of an event's identity (:data:`_IDENTITY`), as ``_cx_h``."""
    identity = ", ".join(
        f"COALESCE(CAST(to_json({ident(c)}) AS VARCHAR), '')" if c in cols else "''" for c in _IDENTITY
    )
    return f"md5(concat_ws('|', {identity})) AS _cx_h"


#: SQL: the event id from ``_cx_h`` and the row's position among identical events of its file
_ID_SQL = (
    "'ga4-' || substr(_cx_h, 1, 20) || '-' || "
    "CAST(row_number() OVER (PARTITION BY _cx_h, filename ORDER BY _row) AS VARCHAR)"
)


def _sequence_sql(cols: list[str]) -> str:
    return f"COALESCE({_field(cols, 'batch_event_index')}, {_field(cols, 'event_bundle_sequence_id')})"


def _event_select(
    cols: list[str], f: SourceFile, rel: str, others: list[tuple[str, str, str]] = (),
    records: dict[str, dict[str, str]] | None = None,
) -> str:
    """SQL: the canonical columns of the events of ``rel``; the fields of its records read from them where
    their types are known (``records``, :func:`record_fields`), else through their JSON."""
    records = records or {}
    fields = records.get("event_params")
    names = " ".join(f"WHEN {literal(k)} THEN {literal(v)}" for k, v in EVENT_NAMES.items())
    source = {k: _field(cols, "traffic_source", f"$.{k}", records) for k in ("medium", "name")}
    medium = f"COALESCE({_param(cols, 'medium', fields=fields)}, {source['medium']})"
    campaign = f"COALESCE({_param(cols, 'campaign', fields=fields)}, {source['name']})"
    platform = _field(cols, "platform")
    name = _field(cols, "event_name")
    sequence = _sequence_sql(cols)
    sel = [
        f"{literal(f.source or 'ga4')} AS source",
        "_cx_h", "filename",  # the event id's parts (:func:`_with_ids`)
        f"{_field(cols, 'event_timestamp')} AS ts",
        f"CASE {name} {names} ELSE {name} END AS event",
        f"{name} AS raw_event",
        f"{_field(cols, 'user_pseudo_id')} AS anonymous_id",
        f"{_field(cols, 'user_id')} AS contact_ref",
        f"{channel_sql(medium, platform)} AS channel",
        f"{_not_placeholder(campaign)} AS campaign",
        f"CASE WHEN {name} = 'purchase' THEN {_field(cols, 'ecommerce', '$.purchase_revenue', records)} END AS revenue",
        *(f"{_param(cols, k, fields=fields)} AS {ident(k)}" for k in _PARAMS),
        f"COALESCE({_not_placeholder(_field(cols, 'ecommerce', '$.transaction_id', records))}, "
        f"{_not_placeholder(_param(cols, 'transaction_id', fields=fields))}) AS transaction_id",
        f"{_field(cols, 'geo', '$.country', records)} AS country",
        f"{_field(cols, 'device', '$.category', records)} AS device_category",
        f"{platform} AS platform",
        f"{_field(cols, 'event_date')} AS event_date",
        f"{sequence} AS sequence",
        *(ident(c) for c in NESTED_KEPT if c in cols),  # as exported: lists of records
        *(f"TRY_CAST({_param(cols, k, f'_pjo_{n}', fields)} AS {ty}) AS {ident(c)}"
          for n, (k, c, ty) in enumerate(others)),
        "_row",
    ]
    # the row's hash and each parameter's JSON once, not once per use
    inner = [_hash_sql(cols)]
    if "event_params" not in cols:
        return f"SELECT {', '.join(sel)} FROM (SELECT *, {', '.join(inner)} FROM {rel})"
    inner += [_param_json(k, fields=fields) for k in _KEYS]
    inner += [_param_json(k, f"_pjo_{n}", fields) for n, (k, _, _) in enumerate(others)]
    return f"SELECT {', '.join(sel)} FROM (SELECT *, {', '.join(inner)} FROM (SELECT *, {_KEYS_SQL} FROM {rel}))"


def _order_select(events: str, cols: list[str]) -> str:  # ``events``: the relation of the events (SQL text)
    """SQL: one order per transaction id of the purchases in ``events``, with the buyer's ids (``user_id`` as
    ``contact_ref``, ``user_pseudo_id`` as ``anonymous_id``: a visitor who never logs in still buys on the
    journey of their cookie). A refund of the whole purchase (``ecommerce.refund_value`` at least the purchase's
    revenue, or no value given) makes it ``returned``; a partial one leaves it ``completed`` at what was kept."""
    tid = "transaction_id"
    refund = "CAST(NULL AS DOUBLE)"
    if "ecommerce" in cols:  # read for the refunds only: a few rows
        refund = "TRY_CAST(json_extract_string(to_json(ecommerce), '$.refund_value') AS DOUBLE)"
    return f"""
        SELECT source, order_id, ts,
               CAST(CASE WHEN status = 'completed' AND refunded > 0 THEN paid - refunded ELSE paid END AS VARCHAR)
                   AS amount,
               status, contact_ref, anonymous_id, currency, channel, _row
        FROM (
            SELECT *, CASE WHEN refunds > 0 AND (refunded IS NULL OR refunded >= paid - 0.005 OR paid IS NULL)
                           THEN 'returned' ELSE 'completed' END AS status
            FROM (
                SELECT source, {tid} AS order_id,
                       arg_min(ts, TRY_CAST(ts AS BIGINT)) FILTER (WHERE raw_event = 'purchase') AS ts,
                       max(TRY_CAST(revenue AS DOUBLE)) AS paid,
                       count(*) FILTER (WHERE raw_event = 'refund') AS refunds,
                       sum({refund}) FILTER (WHERE raw_event = 'refund') AS refunded,
                       arg_min(contact_ref, _row) AS contact_ref,
                       arg_min(anonymous_id, _row) FILTER (WHERE raw_event = 'purchase') AS anonymous_id,
                       arg_min(currency, _row) AS currency, arg_min(channel, _row) AS channel,
                       min(_row) AS _row
                FROM {events}
                WHERE raw_event IN ('purchase', 'refund') AND {tid} IS NOT NULL
                      AND trim({tid}) NOT IN ('', '(not set)')
                GROUP BY source, {tid}
                HAVING bool_or(raw_event = 'purchase')))"""


def event_ids_sql(cols: list[str], rel: str) -> str:
    """SQL: ``event_id`` (as :func:`read_ga4` derives it), ``ts``, ``anonymous_id`` and ``sequence`` of the
    rows of ``rel``, a relation with the export's columns ``cols``, ``filename`` and ``_row`` (what the
    generator's answer key needs, without the other columns' cost)."""
    return (
        f"SELECT {_ID_SQL} AS event_id, {_field(cols, 'event_timestamp')} AS ts, "
        f"{_field(cols, 'user_pseudo_id')} AS anonymous_id, {_sequence_sql(cols)} AS sequence "
        f"FROM (SELECT *, {_hash_sql(cols)} FROM {rel})"
    )


def read_event_ids(con: duckdb.DuckDBPyConnection, f: SourceFile, name: str) -> None:
    """Read the GA4 export ``f`` into table ``name`` as :func:`event_ids_sql`'s columns."""
    cols, rel, params = _read_files(con, f, f"{name}_ga4")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {ident(name)} AS {event_ids_sql(cols, rel)}", params)


def _with_ids(con: duckdb.DuckDBPyConnection, name: str, events: str) -> str:
    """The relation of ``events`` with their ``event_id`` (as :data:`_ID_SQL` defines it) second.

    The rank among identical events of a file is computed for the rows whose identity occurs more than once
    (a hash aggregate finds them; temp table ``<name>_dupids``): a window over every event, which holds all
    of their columns, spilled gigabytes. Without any (the usual case) the relation reads the events alone.
    """
    dups = ident(name + "_dupids")
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {dups} AS
        SELECT _row, row_number() OVER (PARTITION BY _cx_h, filename ORDER BY _row) AS _n
        FROM {events} SEMI JOIN (
            SELECT hash(_cx_h, filename) AS _k FROM {events} GROUP BY _k HAVING count(*) > 1
        ) d ON hash(_cx_h, filename) = d._k""")
    if not con.execute(f"SELECT count(*) FROM {dups}").fetchone()[0]:  # no identical events: every id ends -1
        return (
            f"(SELECT e.source, 'ga4-' || substr(e._cx_h, 1, 20) || '-1' AS event_id, "
            f"e.* EXCLUDE (source, _cx_h, filename) FROM {events} e)"
        )
    return (
        f"(SELECT e.source, 'ga4-' || substr(e._cx_h, 1, 20) || '-' || CAST(COALESCE(d._n, 1) AS VARCHAR) "
        f"AS event_id, e.* EXCLUDE (source, _cx_h, filename) FROM {events} e LEFT JOIN {dups} d ON d._row = e._row)"
    )


def read_ga4(
    con: duckdb.DuckDBPyConnection, f: SourceFile, name: str, table: str, scratch: Path | None = None
) -> list[str]:
    """Read the GA4 export ``f`` into ``name`` as canonical ``events`` or ``orders`` columns; its columns.

    The events are stored once (:func:`~cxlib.io.read.materialize`: a Parquet file in ``scratch`` during
    ``cx load``, else a temporary table); ``name`` is a view of them, or a table of the orders among them.
    """
    cols, rel, params = _read_files(con, f, f"{name}_ga4")
    for kind in ("VIEW", "TABLE"):
        with contextlib.suppress(duckdb.CatalogException):
            con.execute(f"DROP {kind} IF EXISTS {ident(name)}")
    select = _event_select(cols, f, rel, other_params(con, cols, rel, params), record_fields(con, rel, params))
    events = _with_ids(con, name, materialize(con, f"{name}_ga4events", select, params, scratch))
    if table == "orders":
        con.execute(f"CREATE TEMP TABLE {ident(name)} AS {_order_select(events, cols)}")
    else:  # the events as they are, not a second copy
        con.execute(f"CREATE TEMP VIEW {ident(name)} AS SELECT * FROM {events}")
    return [r[0] for r in con.execute(f"DESCRIBE {ident(name)}").fetchall() if r[0] != "_row"]
