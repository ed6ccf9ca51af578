"""Hostile values in sources.yml and in the files themselves never run SQL (issue 15, item 1).

Every value that comes from a user's file reaches the engine as a bound parameter, a checked
identifier or a validated literal (cxlib/io/sql.py). Each test is the attack: a payload that would
write a file and create a table if it were pasted into SQL, in every option, column name and file
name. Each asserts that nothing was written and that the result is a clear DataError naming the file
and the option, or a correct load of the hostile text as plain data.
"""

from __future__ import annotations

import duckdb
import pytest
import yaml

from cxlib import io
from cxlib.io.sql import Params, ident, literal
from cxlib.schema import DataError

ORDERS = "source,order_id,ts,amount,status\nshop,1,2024-03-01 10:00,5,completed\n"


def payloads(folder):
    """SQL that writes ``pwned*.csv`` and creates table ``pwned`` if it ever runs, in several quotings."""
    target = str(folder / "pwned.csv").replace("'", "''")
    return [
        f",'); COPY (SELECT 1) TO '{target}'; CREATE TABLE main.pwned AS SELECT 1; SELECT ('",
        f"'; COPY (SELECT 1) TO '{target}'; CREATE TABLE main.pwned AS SELECT 1; --",
        f'"; COPY (SELECT 1) TO \'{target}\'; CREATE TABLE main.pwned AS SELECT 1; --',
        "x' || (SELECT 1) || '",
        "');",
        "'",
    ]


def assert_nothing_ran(folder):
    assert not list(folder.glob("pwned*")), "a hostile value wrote a file"
    db = folder / io.DATABASE_NAME
    if db.exists():
        con = duckdb.connect(str(db), read_only=True)
        try:
            names = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        finally:
            con.close()
        assert "pwned" not in names, "a hostile value ran an extra statement"


def write_config(folder, entry, **top):
    (folder / "sources.yml").write_text(yaml.safe_dump({**top, "tables": {"orders": entry}}))


def both(folder):
    """Run validate and load; return what each gave (a report or the DataError)."""
    out = []
    for run in (io.validate, io.load):
        try:
            out.append(run(folder))
        except DataError as e:
            out.append(e)
    return out


def loaded(folder, table="orders"):
    con = duckdb.connect(str(folder / io.DATABASE_NAME), read_only=True)
    try:
        return con.execute(f"SELECT * FROM {ident(table)}").df()
    finally:
        con.close()


# --- the three helpers -----------------------------------------------------------------------------------------------


def test_helpers_quote_and_refuse_control_characters():
    assert ident('a"b') == '"a""b"' and literal("a'b") == "'a''b'"
    for bad in ("a\x00b", "a\nb", "a\rb", "a\x1bb"):
        with pytest.raises(ValueError, match="control character"):
            ident(bad)
        with pytest.raises(ValueError, match="control character"):
            literal(bad)
    with pytest.raises(ValueError, match="must be text"):
        literal(["x"])
    p = Params()
    assert (p("x"), p(1), p("x")) == ("$p0", "$p1", "$p0") and p.values == {"p0": "x", "p1": 1}


def test_a_bound_value_is_data_not_sql(tmp_path):
    con = duckdb.connect()
    for evil in payloads(tmp_path):
        p = Params()
        assert con.execute(f"SELECT {p(evil)} AS v", p.values).fetchone()[0] == evil
        assert con.execute(f"SELECT {literal(evil)} AS {ident(evil)}").fetchone()[0] == evil
    assert_nothing_ran(tmp_path)


# --- options that must be refused with a DataError naming the file and the option ------------------------------------


@pytest.mark.parametrize("option", ["delimiter", "encoding", "timezone"])
@pytest.mark.parametrize("where", ["entry", "default"])
def test_hostile_reader_options_are_a_clear_error(tmp_path, option, where):
    (tmp_path / "shop.csv").write_text(ORDERS)
    for evil in payloads(tmp_path):
        if where == "entry":
            write_config(tmp_path, {"file": "shop.csv", option: evil})
        else:
            write_config(tmp_path, {"file": "shop.csv"}, **{option: evil})
        for result in both(tmp_path):
            assert isinstance(result, DataError), (option, evil)
            assert "shop.csv" in str(result) and option in str(result)
        assert_nothing_ran(tmp_path)


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("delimiter", "\x00"),
        ("delimiter", ";\n"),
        ("delimiter", ";;;;;"),
        ("delimiter", ["a"]),
        ("encoding", "utf-8\x00"),
        ("encoding", {"a": 1}),
        ("timezone", "Europe/London\n"),
        ("timezone", 3.5),
        ("dayfirst", "false"),
        ("dayfirst", "yes; DROP TABLE orders"),
        ("source", ["shop"]),
        ("source", "shop\x00"),
        ("columns", ["order_id"]),
        ("columns", {"order_id": ["a"]}),
        ("values", ["x"]),
        ("values", {"status": "Shipped"}),
        ("file", ["shop.csv"]),
        ("file", "shop.csv\x00.parquet"),
    ],
)
def test_options_of_the_wrong_type_or_with_control_characters(tmp_path, option, value):
    (tmp_path / "shop.csv").write_text(ORDERS)
    write_config(tmp_path, {"file": "shop.csv", option: value})
    for result in both(tmp_path):
        assert isinstance(result, DataError), (option, value)
        assert option in str(result) and "sources.yml" in str(result)
    assert_nothing_ran(tmp_path)


def test_a_known_time_zone_with_other_case_still_loads(tmp_path):
    (tmp_path / "shop.csv").write_text(ORDERS)
    write_config(tmp_path, {"file": "shop.csv", "timezone": "Europe/London"})
    io.load(tmp_path)
    assert str(loaded(tmp_path).loc[0, "ts"]) == "2024-03-01 10:00:00"  # GMT in March
    write_config(tmp_path, {"file": "shop.csv", "timezone": "Europe/Londn"})
    with pytest.raises(DataError, match=r"shop.csv: unknown time zone .*timezone.*Europe/London"):
        io.validate(tmp_path)


# --- values that are data: loaded as the plain text they are ----------------------------------------------------------


def test_hostile_source_and_values_maps_load_as_text(tmp_path):
    (tmp_path / "shop.csv").write_text("order_id,ts,amount,status,channel\n1,2024-03-01,5,Weird,web\n")
    for evil in payloads(tmp_path):
        write_config(
            tmp_path,
            {
                "file": "shop.csv",
                "source": evil,
                "values": {"status": {"Weird": "completed", evil: "returned"}, "channel": {"web": evil}},
            },
        )
        r = io.load(tmp_path)
        df = loaded(tmp_path)
        assert r.summary.loc[0, "rows_loaded"] == 1
        assert df.loc[0, "source"] == evil and df.loc[0, "channel"] == evil and df.loc[0, "status"] == "completed"
        assert_nothing_ran(tmp_path)


def test_a_hostile_status_map_target_is_quoted_in_the_reason(tmp_path):
    (tmp_path / "shop.csv").write_text("source,order_id,ts,amount,status\nshop,1,2024-03-01,5,pending\n")
    evil = payloads(tmp_path)[0]
    write_config(tmp_path, {"file": "shop.csv", "values": {"status": {"Weird": evil}}})
    r = io.load(tmp_path)
    assert evil in r.quarantine.loc[0, "reason"] and r.summary.loc[0, "rows_quarantined"] == 1
    assert_nothing_ran(tmp_path)


def test_hostile_column_names_in_the_file_and_in_the_mapping(tmp_path):
    evil = payloads(tmp_path)
    header = ",".join('"' + e.replace('"', '""') + '"' for e in evil[:3])
    row = "shop,7,a@b.co,y,2024-03-01,5,completed,z"
    (tmp_path / "shop.csv").write_text(f"source,{header},ts,amount,status,{evil[3]}\n{row}\n")
    write_config(tmp_path, {"file": "shop.csv", "columns": {"order_id": evil[0], "email": evil[1]}})
    r = io.load(tmp_path)
    df = loaded(tmp_path)
    assert r.summary.loc[0, "rows_loaded"] == 1 and df.loc[0, "order_id"] == "7"
    assert df.loc[0, "email"] == "a@b.co" and r.quarantine.empty
    assert_nothing_ran(tmp_path)


def test_hostile_column_names_kept_as_extra_columns(tmp_path):
    evil = payloads(tmp_path)[0]
    quoted = '"' + evil.replace('"', '""') + '"'
    row = "shop,1,2024-03-01,5,completed,v"
    (tmp_path / "orders.csv").write_text(f"source,order_id,ts,amount,status,{quoted}\n{row}\n")
    io.load(tmp_path)
    df = loaded(tmp_path)
    assert "v" in df.iloc[0].tolist()  # kept under its normalised name
    assert_nothing_ran(tmp_path)


def test_a_column_name_with_a_control_character_is_refused(tmp_path):
    (tmp_path / "orders.csv").write_text('source,order_id,ts,amount,status,"a\nb"\nshop,1,2024-03-01,5,completed,v\n')
    with pytest.raises(DataError, match=r"orders.csv: the name of column 6 contains a control character"):
        io.validate(tmp_path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_hostile_file_names_are_read_as_names(tmp_path, suffix):
    for i, evil in enumerate(payloads(tmp_path)):
        name = f"{i}{evil}".replace("/", "_") + suffix
        path = tmp_path / name
        if suffix == ".csv":
            path.write_text(ORDERS)
        else:
            con = duckdb.connect()
            con.execute(
                "COPY (SELECT 'shop' AS source, '1' AS order_id, '2024-03-01 10:00' AS ts, '5' AS amount, "
                "'completed' AS status) TO $p (FORMAT parquet)",
                {"p": str(path)},
            )
            con.close()
        write_config(tmp_path, {"file": name})
        r = io.load(tmp_path)
        assert r.summary.loc[0, "files"] == name and r.summary.loc[0, "rows_loaded"] == 1
        assert loaded(tmp_path)["order_id"].tolist() == ["1"]
        path.unlink()
        assert_nothing_ran(tmp_path)


def test_glob_characters_in_a_file_name_read_only_that_file(tmp_path):
    (tmp_path / "orders*.csv").write_text(ORDERS)
    (tmp_path / "orders_other.csv").write_text(ORDERS.replace("shop,1", "shop,2"))
    (tmp_path / "a[1].csv").write_text(ORDERS.replace("shop,1", "shop,3"))
    write_config(tmp_path, [{"file": "orders*.csv"}, {"file": "a[1].csv"}])
    io.load(tmp_path)
    assert sorted(loaded(tmp_path)["order_id"]) == ["1", "3"]


def test_normal_options_still_load(tmp_path):
    (tmp_path / "shop.tsv").write_text(ORDERS.replace(",", "\t"))
    (tmp_path / "shop2.csv").write_text(ORDERS.replace(",", ";").replace("shop;1", "shop;2"), encoding="latin-1")
    write_config(
        tmp_path,
        [
            {"file": "shop.tsv", "delimiter": "\t", "dayfirst": False},
            {"file": "shop2.csv", "delimiter": ";", "encoding": "latin-1", "timezone": "UTC", "source": 42},
        ],
    )
    r = io.load(tmp_path)
    assert r.summary.loc[0, "rows_loaded"] == 2
    assert sorted(loaded(tmp_path)["order_id"]) == ["1", "2"]


def test_a_file_that_links_outside_the_workspace_is_refused(tmp_path):
    """`files:` refused a link in the folder to a file outside it, but `file:` followed it (its check read only the
    path's text): the load read a file the workspace was never given."""
    import os

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.csv").write_text("source,record_id,first_name,email\nhr,1,Secret,secret@corp.example\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    os.symlink(outside / "secret.csv", ws / "people.csv")
    (ws / "sources.yml").write_text("tables:\n  contacts:\n    - file: people.csv\n")
    with pytest.raises(DataError, match="links outside the workspace folder"):
        io.load(ws, progress=False)
    # without sources.yml, a link named after its table was read (found by name, never checked)
    (ws / "sources.yml").unlink()
    os.rename(ws / "people.csv", ws / "contacts.csv")
    with pytest.raises(DataError, match="contacts.csv links outside the workspace folder"):
        io.load(ws, progress=False)


def test_a_sources_yml_that_expands_past_reason_or_is_not_utf8_is_an_error(tmp_path):
    """Nine levels of aliases of nine (364 bytes) expand to 387 million values: quoting the option in its error
    took 250 s and 1.7 GB, then a MemoryError. A Latin-1 sources.yml was a UnicodeDecodeError traceback."""
    (tmp_path / "contacts.csv").write_text("source,record_id,email\ncrm,1,a@x.com\n")
    levels = ['&a ["x","x","x","x","x","x","x","x","x"]']
    levels += [f"&{q} [{','.join([f'*{p}'] * 9)}]" for p, q in zip("abcdefgh", "bcdefghi", strict=True)]
    bomb = f"tables:\n  contacts:\n    file: contacts.csv\n    dayfirst: [{', '.join(levels)}]\n"
    (tmp_path / "sources.yml").write_text(bomb)
    with pytest.raises(DataError, match="more than 100,000 values once its aliases"):
        io.find_sources(tmp_path)
    text = 'tables:\n  contacts:\n    file: contacts.csv\n    columns: {email: "Straße"}\n'
    (tmp_path / "sources.yml").write_bytes(text.encode("latin-1"))
    with pytest.raises(DataError, match=r"not UTF-8 text \(line 4"):
        io.find_sources(tmp_path)
