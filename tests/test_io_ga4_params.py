"""GA4's other event parameters as typed columns ``param_<key>`` (issue 16, item 1)."""

from __future__ import annotations

from cxlib import io
from tests.io_helpers import conserved, db_types, loaded
from tests.test_io_exports import DAY1, T0, _export, _ga4, _param, write


def test_every_other_event_parameter_is_a_typed_column(tmp_path):
    rows = [
        *DAY1,
        _ga4(T0 + 40_000_000, "scroll", "p1", [_param("percent_scrolled", integer=90),
                                              _param("engaged_session_event", integer=1)]),
        _ga4(T0 + 41_000_000, "video_progress", "p1", [_param("video_percent", double=0.5),
                                                      _param("video_title", "How to"),
                                                      _param("Custom Key!", "x")]),
        _ga4(T0 + 42_000_000, "search", "p1", [_param("search_term", "lamp"), _param("percent_scrolled", integer=50)]),
        _ga4(T0 + 43_000_000, "mixed", "p1", [_param("value_mix", integer=3)]),
        _ga4(T0 + 44_000_000, "mixed", "p1", [_param("value_mix", "three")]),
        _ga4(T0 + 45_000_000, "cased", "p1", [_param("Medium", "print"), _param("Foo", "A"), _param("foo", "b")]),
    ]
    _export(tmp_path, "events_20240301", rows, fmt="ndjson")
    write(tmp_path, "sources.yml", "tables:\n  events:\n    file: ga4/events_*.ndjson\n    format: ga4\n")
    r = io.load(tmp_path)
    assert conserved(r) and r.quarantine.empty
    t = db_types(tmp_path, "events")
    assert (t["param_percent_scrolled"], t["param_video_percent"], t["param_search_term"]) == (
        "BIGINT", "DOUBLE", "VARCHAR")
    assert t["param_value_mix"] == "VARCHAR" and t["param_custom_key"] == "VARCHAR"  # mixed: text; name cleaned
    ev = loaded(tmp_path, "events", "ts, event_id").set_index("raw_event")
    assert ev.loc["scroll", "param_percent_scrolled"] == 90 and ev.loc["search", "param_search_term"] == "lamp"
    assert ev.loc["video_progress", "param_video_percent"] == 0.5
    assert sorted(ev.loc["mixed", "param_value_mix"]) == ["3", "three"]
    # keys that differ from another only in case keep their own values (identifiers ignore case, keys do not)
    assert ev.loc["cased", "param_medium"] == "print" and ev.loc["session_start", "channel"] == "paid_search"
    assert {ev.loc["cased", "param_foo"], ev.loc["cased", "param_foo_2"]} == {"A", "b"}
    # the parameters read into columns of their own are not repeated
    assert not {"param_page_location", "param_ga_session_id", "param_campaign"} & set(t)


def test_the_export_s_other_nested_fields_are_kept_as_exported(tmp_path):
    from tests.test_io_exports import _ga4_workspace

    _ga4_workspace(tmp_path)
    assert conserved(io.load(tmp_path))
    t = db_types(tmp_path, "events")
    assert t["device"].startswith("STRUCT(") and t["geo"].startswith("STRUCT(") and t["items"].endswith("[]")
    ev = loaded(tmp_path, "events", "ts, event_id")
    first = ev.iloc[0]
    assert first["device"]["operating_system"] == "Windows" and first["geo"]["city"] == "Leeds"  # not a repr
    assert first["traffic_source"]["medium"] == "(none)" and "event_params" not in t  # its values are columns


def test_the_parameter_columns_do_not_depend_on_the_row_order(tmp_path, monkeypatch):
    from cxlib.io import ga4

    monkeypatch.setattr(ga4, "PARAM_SAMPLE_ROWS", 4)  # a sample smaller than the export
    rows = [_ga4(T0 + k, "scroll", f"p{k}", [_param(f"key_{k % 7}", integer=k)]) for k in range(40)]
    found = []
    for name, order in (("a", rows), ("b", rows[::-1])):
        folder = tmp_path / name
        folder.mkdir()
        _export(folder, "events_20240301", order, fmt="ndjson")
        write(folder, "sources.yml", "tables:\n  events:\n    file: ga4/events_*.ndjson\n    format: ga4\n")
        assert conserved(io.load(folder))
        found.append({c: t for c, t in db_types(folder, "events").items() if c.startswith("param_")})
    assert found[0] == found[1] and found[0]


def test_record_fields_read_as_their_json_text():
    """Parameters and record fields read from the records (ga4.record_fields) give the text their JSON gave:
    a double in JSON's spelling (1e20 as 100000000000000000000.0), a whole number, text, a date, a missing field."""
    import duckdb

    from cxlib.io import ga4
    from cxlib.io.sources import SourceFile

    con = duckdb.connect()
    def param(key, s="NULL", i="NULL", d="NULL", other="NULL"):  # float_value of another type: a date
        return f"{{'key': '{key}', 'value': {{'string_value': {s}, 'int_value': {i}, 'double_value': {d}, " \
               f"'float_value': {other}}}}}"

    params = ", ".join([param("medium", d="1e20"), param("campaign", s="'spring'"), param("ga_session_id", i="42"),
                        param("currency", d="0.1"), param("x", other="DATE '2024-03-01'")])
    con.execute(f"""CREATE TABLE t AS SELECT * FROM (VALUES
        ([{params}], {{'purchase_revenue': 1e-7::DOUBLE, 'transaction_id': 'T1'}}, {{'country': 'GB'}}, 'purchase', 1,
         'f', 1),
        ([], NULL, NULL, 'page_view', 2, 'f', 2)
    ) v(event_params, ecommerce, geo, event_name, event_timestamp, filename, _row)""")
    cols = ["event_params", "ecommerce", "geo", "event_name", "event_timestamp", "filename", "_row"]
    records = ga4.record_fields(con, "t", {})
    assert set(records) == {"event_params", "ecommerce", "geo"} and records["geo"] == {"country": "VARCHAR"}
    f = SourceFile("events", None, format="ga4")
    others = [("x", "param_x", "VARCHAR")]
    got = con.execute(ga4._event_select(cols, f, "t", others, records) + " ORDER BY _row").fetchall()
    want = con.execute(ga4._event_select(cols, f, "t", others) + " ORDER BY _row").fetchall()
    assert got == want
    assert con.execute(f"SELECT currency, revenue, param_x FROM ({ga4._event_select(cols, f, 't', others, records)}) "
                       "ORDER BY _row").fetchone() == ("0.1", "1e-7", "2024-03-01")
