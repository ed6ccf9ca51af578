"""`cx sources`: common exports recognised by their real column names, a commented sources.yml that loads,
`cx validate` per file, and names that are data (issue 16, item 9). Tiny hand-made files in the vendors' layouts."""

from __future__ import annotations

import duckdb
import pytest
import yaml
from typer.testing import CliRunner

from cxlib import io
from cxlib.cli import app
from cxlib.io.recognise import recognise_folder
from tests.test_io_exports import DAY1, DAY2, _avro_type, _export

runner = CliRunner()


def write(folder, name, text):
    p = folder / name
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")
    return p


def suggested(folder):
    """The suggestion as YAML, after checking that the loader reads it as the folder's sources.yml."""
    text = io.suggest_sources(folder)
    (folder / "sources.yml").write_text(text, encoding="utf-8")
    try:
        io.find_sources(folder)
    finally:
        (folder / "sources.yml").unlink()
    return yaml.safe_load(text), text


def entry(cfg, table, i=0):
    return cfg["tables"][table][i]


RETAIL = (
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:02,3.39,17850.0,United Kingdom\n"
    "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527.0,United Kingdom\n"
    "536414,22139,,56,2010-12-01 11:52:00,0.00,,United Kingdom\n"
)
RETAIL_II = (
    "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
    "489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,01/12/2009 07:45,6.95,13085,United Kingdom\n"
    "489434,79323P,PINK CHERRY LIGHTS,12,01/12/2009 07:45,6.75,13085,United Kingdom\n"
    "C489449,22087,PAPER BUNTING WHITE LACE,-12,13/12/2009 10:33,2.95,16321,Australia\n"
)
SHOPIFY = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Currency,Subtotal,Shipping,Taxes,Total,Discount Code,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Cancelled at,Refunded Amount\n"
    "#1001,ann@example.com,paid,2024-03-01 10:05:00 -0500,fulfilled,USD,30.00,5.00,2.40,37.40,,"
    "2024-03-01 10:00:00 -0500,2,Mug,10.00,MUG-1,,0\n"
    "#1001,,,,,,,,,,,,1,Cup,10.00,CUP-1,,\n"
    "#1002,bob@example.com,refunded,2024-03-02 11:05:00 -0500,fulfilled,USD,15.00,5.00,1.20,21.20,,"
    "2024-03-02 11:00:00 -0500,1,Bowl,15.00,BOWL-1,,21.20\n"
)
ZENDESK = (
    "Id,Requester,Requester id,Requester email,Submitter,Assignee,Group,Subject,Tags,Status,Priority,Via,"
    "Ticket type,Created at,Updated at,Solved at,Satisfaction Score\n"
    "101,Ann Lee,9001,ann@example.com,Ann Lee,Sam,Support,Where is my parcel?,delivery,Solved,Normal,Mail,"
    "Question,2024-03-01 10:00:00,2024-03-02 10:00:00,2024-03-02 09:00:00,Good\n"
    "102,Bob Roe,9002,bob@example.com,Bob Roe,,Support,Refund,,Open,High,Web Widget,Problem,"
    "2024-03-03 12:00:00,2024-03-03 12:00:00,,Unoffered\n"
)
FRESHDESK = (
    "Ticket ID,Subject,Status,Priority,Source,Type,Agent,Group,Created time,Due by Time,Resolved time,"
    "Closed time,Last update time,Initial response time,Full name,Email,Contact ID\n"
    "7,Broken lid,Closed,Low,Email,Incident,Sam,Returns,2024-03-01 10:00:00,2024-03-04 10:00:00,"
    "2024-03-02 10:00:00,2024-03-02 11:00:00,2024-03-02 11:00:00,2024-03-01 10:30:00,Ann Lee,ann@example.com,55\n"
    "8,Where is it,Open,Medium,Portal,Question,,Support,2024-03-05 10:00:00,2024-03-08 10:00:00,,,"
    "2024-03-05 10:00:00,,Bob Roe,bob@example.com,56\n"
)
HUBSPOT = (
    "Record ID,First Name,Last Name,Email,Phone Number,Lifecycle Stage,Contact owner,Create Date,"
    "Last Modified Date,City,Country/Region\n"
    "51,Ann,Lee,ann@example.com,+44 7700 900123,customer,Sam,2024-01-02 09:00,2024-03-01 09:00,Leeds,United Kingdom\n"
)
SALESFORCE = (
    "Id,FirstName,LastName,Email,Phone,MobilePhone,MailingStreet,MailingCity,MailingPostalCode,MailingCountry,"
    "Birthdate,CreatedDate,LastModifiedDate,AccountId\n"
    "0035g00000AbCdEAAV,Ann,Lee,ann@example.com,0113 496 0000,07700 900123,12 High St,Leeds,LS1 4AB,GB,"
    "1984-03-07,2024-01-02T09:00:00.000Z,2024-03-01T09:00:00.000Z,0015g00000XyZwVAAV\n"
)
QUALTRICS = (
    "StartDate,EndDate,Status,IPAddress,Progress,Duration (in seconds),Finished,RecordedDate,ResponseId,"
    "RecipientLastName,RecipientFirstName,RecipientEmail,ExternalReference,LocationLatitude,LocationLongitude,"
    "DistributionChannel,UserLanguage,Q1,Q2,Q1_NPS_GROUP\n"
    'Start Date,End Date,Response Type,IP Address,Progress,Duration (in seconds),Finished,Recorded Date,'
    'Response ID,Recipient Last Name,Recipient First Name,Recipient Email,External Data Reference,'
    'Location Latitude,Location Longitude,Distribution Channel,User Language,'
    '"How likely are you to recommend us to a friend?",Why?,How likely are you to recommend us - Group\n'
    '"{""ImportId"":""startDate"",""timeZone"":""America/Denver""}","{""ImportId"":""endDate"",""timeZone"":'
    '""America/Denver""}","{""ImportId"":""status""}","{""ImportId"":""ipAddress""}","{""ImportId"":""progress""}",'
    '"{""ImportId"":""duration""}","{""ImportId"":""finished""}","{""ImportId"":""recordedDate"",""timeZone"":'
    '""America/Denver""}","{""ImportId"":""_recordId""}","{""ImportId"":""recipientLastName""}",'
    '"{""ImportId"":""recipientFirstName""}","{""ImportId"":""recipientEmail""}",'
    '"{""ImportId"":""externalDataReference""}","{""ImportId"":""locationLatitude""}",'
    '"{""ImportId"":""locationLongitude""}","{""ImportId"":""distributionChannel""}",'
    '"{""ImportId"":""userLanguage""}","{""ImportId"":""QID1""}","{""ImportId"":""QID2_TEXT""}",'
    '"{""ImportId"":""QID1_NPS_GROUP""}"\n'
    "2024-03-01 10:00:00,2024-03-01 10:03:00,0,1.2.3.4,100,180,1,2024-03-01 10:03:01,R_1abc,Lee,Ann,"
    "ann@example.com,CRM-1,53.8,-1.5,email,EN,9,Quick delivery,3\n"
)
TYPEFORM = (
    "#,How likely are you to recommend us to a friend?,What could we do better?,Response Type,Start Date (UTC),"
    "Stage Date (UTC),Submit Date (UTC),Network ID,Tags\n"
    "xk2i1h9dy7lbb7xk2i1h0p3wsyuvbe8u,9,Nothing,completed,2024-03-01 10:00:00,,2024-03-01 10:02:00,a1b2c3d4e5,\n"
)
KLAVIYO = (
    "Event ID,Metric Name,Timestamp,Email,Campaign Name,Subject\n"
    "k1,Received Email,2024-03-01 09:00:00,ann@example.com,Spring sale,Hello\n"
    "k2,Opened Email,2024-03-01 09:30:00,ann@example.com,Spring sale,Hello\n"
    "k3,Clicked Email,2024-03-01 09:31:00,ann@example.com,Spring sale,Hello\n"
    "k4,Unsubscribed,2024-03-02 09:31:00,bob@example.com,Spring sale,Hello\n"
)
MAILCHIMP = (
    "Email Address,Action,Timestamp,Url\n"
    "ann@example.com,open,2024-03-01 09:30:00,\n"
    "ann@example.com,click,2024-03-01 09:31:00,https://shop.example.com/\n"
    "bob@example.com,bounce,2024-03-01 09:00:00,\n"
)


# SurveyMonkey's responses export: the respondent columns, one column per question (a multi-choice question's
# options under one question text, the other header cells blank), a second header row naming what each column
# holds, US dates with AM/PM
SURVEYMONKEY = (
    "Respondent ID,Collector ID,Start Date,End Date,IP Address,Email Address,First Name,Last Name,Custom Data 1,"
    '"How likely is it that you would recommend Acme to a friend or colleague?",What is the main reason for your '
    "score?,Which of these did you use?,,What could we do better?\n"
    ",,,,,,,,,Response,Open-Ended Response,Website,App,Open-Ended Response\n"
    "114000000001,431234567,11/05/2025 10:26:17 AM,11/05/2025 10:41:58 AM,203.0.113.7,ann@example.com,,,,9,"
    "Quick delivery,Website,,Nothing\n"
    '114000000002,431234567,11/16/2025 1:37:48 PM,11/16/2025 1:58:59 PM,203.0.113.8,bob@example.com,,,,3,"Late, '
    'and the box was crushed",,App,Better boxes\n'
)


@pytest.mark.parametrize(
    ("text", "label", "table", "mapped"),
    [
        (RETAIL, "invoice-line export (online-retail layout)", "orders",
         {"order_id": "InvoiceNo", "unit_price": "UnitPrice", "contact_ref": "CustomerID", "sku": "StockCode"}),
        (RETAIL_II, "invoice-line export (online-retail layout)", "orders",
         {"order_id": "Invoice", "unit_price": "Price", "contact_ref": "Customer ID", "quantity": "Quantity"}),
        (SHOPIFY, "Shopify orders export", "orders",
         {"order_id": "Name", "ts": "Created at", "status": "Financial Status", "quantity": "Lineitem quantity"}),
        (ZENDESK, "Zendesk tickets export", "tickets",
         {"ticket_id": "Id", "opened_at": "Created at", "closed_at": "Solved at", "email": "Requester email"}),
        (FRESHDESK, "Freshdesk tickets export", "tickets",
         {"ticket_id": "Ticket ID", "opened_at": "Created time", "closed_at": "Resolved time", "channel": "Source"}),
        (HUBSPOT, "HubSpot contacts export", "contacts",
         {"record_id": "Record ID", "created_at": "Create Date", "phone": "Phone Number"}),
        (SALESFORCE, "Salesforce contacts export", "contacts",
         {"record_id": "Id", "first_name": "FirstName", "postcode": "MailingPostalCode"}),
        (QUALTRICS, "Qualtrics responses export", "surveys",
         {"response_id": "ResponseId", "ts": "RecordedDate", "nps": "Q1", "email": "RecipientEmail"}),
        (SURVEYMONKEY, "SurveyMonkey responses export", "surveys",
         {"response_id": "Respondent ID", "ts": "End Date", "email": "Email Address"}),
        (TYPEFORM, "Typeform responses export", "surveys",
         {"response_id": "#", "ts": "Submit Date (UTC)", "nps": "How likely are you to recommend us to a friend?"}),
        (KLAVIYO, "Klaviyo email activity", "events", {"event": "Metric Name", "ts": "Timestamp", "email": "Email"}),
        (MAILCHIMP, "Mailchimp email activity", "events", {"event": "Action", "email": "Email Address"}),
    ],
)  # fmt: skip
def test_each_export_is_recognised_by_its_real_columns(tmp_path, text, label, table, mapped):
    p = write(tmp_path, "export.csv", text)
    r = io.recognise(p)
    assert (r.label, r.table, r.active) == (label, table, True), r.notes
    assert mapped.items() <= r.entry["columns"].items()
    cfg, _ = suggested(tmp_path)
    assert entry(cfg, table)["file"] == "export.csv"


def test_order_line_exports_get_lines_and_credit_notes(tmp_path):
    write(tmp_path, "retail.csv", RETAIL)
    write(tmp_path, "shopify.csv", SHOPIFY)
    cfg, text = suggested(tmp_path)
    retail, shopify = entry(cfg, "orders", 0), entry(cfg, "orders", 1)
    assert retail["lines"] is True and retail["credit_note_prefix"] == "C"
    assert shopify["lines"] is True and "credit_note_prefix" not in shopify
    assert shopify["values"]["status"]["pending"] == "completed"
    assert "e.g. C536379" in text and "Excel floats (17850.0)" in text


def test_day_first_dates_are_set_and_ambiguous_ones_are_flagged(tmp_path):
    r = io.recognise(write(tmp_path, "retail.csv", RETAIL_II))  # 13/12/2009: day-first
    assert r.entry["dayfirst"] is True
    r = io.recognise(write(tmp_path, "retail.csv", RETAIL_II.replace("13/12/2009", "12/12/2009")))
    assert "dayfirst" not in r.entry
    assert any("set dayfirst: true or monthfirst: true" in n for n in r.notes)
    r = io.recognise(write(tmp_path, "retail.csv", RETAIL_II.replace("13/12/2009", "12/13/2009")))
    assert r.entry["monthfirst"] is True and "dayfirst" not in r.entry


def test_a_few_odd_slash_dates_among_another_format_set_no_order_in_any_row_order(tmp_path):
    """Birth dates as YYYYMMDD with two mangled ones (10/25/1985): `cx sources` set `monthfirst: true` when the
    rows it read held one and not otherwise, so the load followed the file's row order (found by loading an
    export company with its records shuffled). A file's date order is set from its dates, not from strays."""
    head = "Record ID,First Name,Last Name,Email,Date of birth,Create Date\n"
    rows = [f"{i},Ann,Lee,a{i}@x.com,{19700101 + i},2024-01-02" for i in range(60)]
    odd = ["98,Bo,Ray,b@x.com,10/25/1985,2024-01-02", "99,Cy,Ng,c@x.com,09/02/1977,2024-01-02"]
    for lines in (odd + rows, rows + odd, rows[:5] + odd + rows[5:]):
        r = io.recognise(write(tmp_path, "hubspot.csv", head + "\n".join(lines) + "\n"))
        assert r.table == "contacts" and "monthfirst" not in r.entry and "dayfirst" not in r.entry, lines[:3]


def test_qualtrics_extra_header_rows_and_time_zone(tmp_path):
    r = io.recognise(write(tmp_path, "survey.csv", QUALTRICS))
    assert r.entry["timezone"] == "America/Denver"
    assert r.entry["header_rows"] == 3 and any("2 extra header row(s)" in n for n in r.notes)
    (tmp_path / "sources.yml").write_text(suggested(tmp_path)[1])
    s = io.load(tmp_path).summary
    assert s["rows_quarantined"].sum() == 0 and s["rows_loaded"].sum() == 1  # the response, not the header lines


def test_surveymonkey_second_header_row_nps_comment_and_us_dates(tmp_path):
    r = io.recognise(write(tmp_path, "responses.csv", SURVEYMONKEY))
    assert r.table == "surveys" and r.label == "SurveyMonkey responses export" and r.confidence == "high"
    assert r.entry["header_rows"] == 2 and r.entry["monthfirst"] is True
    cols = r.entry["columns"]
    assert cols["response_id"] == "Respondent ID" and cols["ts"] == "End Date" and cols["email"] == "Email Address"
    assert cols["nps"].startswith("How likely") and cols["comment"] == "What is the main reason for your score?"
    assert r.entry["feedback"] == ["What could we do better?"]  # the other open-ended question, for `cx voice`
    (tmp_path / "sources.yml").write_text(suggested(tmp_path)[1])
    s = io.load(tmp_path).summary
    assert s["rows_quarantined"].sum() == 0 and s["rows_loaded"].sum() == 2  # the responses, not the second header
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    got = con.execute("SELECT response_id, ts, nps, comment FROM surveys ORDER BY response_id").fetchall()
    con.close()
    assert [(g[0], str(g[1]), g[2], g[3]) for g in got] == [
        ("114000000001", "2025-11-05 10:41:58", 9, "Quick delivery"),
        ("114000000002", "2025-11-16 13:58:59", 3, "Late, and the box was crushed"),  # 1:58 PM, month first
    ]


def test_older_surveymonkey_column_names_are_recognised_too(tmp_path):
    old = SURVEYMONKEY.replace("Respondent ID,Collector ID,Start Date,End Date", "RespondentID,CollectorID,StartDate,"
                               "EndDate").replace("Last Name,Custom Data 1", "LastName,Custom Data")
    r = io.recognise(write(tmp_path, "responses.csv", old))
    assert r.label == "SurveyMonkey responses export" and r.entry["header_rows"] == 2
    assert r.entry["columns"]["response_id"] == "RespondentID" and r.entry["columns"]["ts"] == "EndDate"


def test_shopify_times_with_a_spaced_offset_load(tmp_path):
    # Shopify writes `2024-03-01 10:00:00 -0500` (a space before the offset): read as it comes
    write(tmp_path, "shopify.csv", SHOPIFY)
    cfg, text = suggested(tmp_path)
    assert not any("offset" in n for n in io.recognise(tmp_path / "shopify.csv").notes)
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert r.summary["rows_quarantined"].sum() == 0, r.quarantine
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    first = con.execute("SELECT min(ts) FROM orders").fetchone()[0]
    con.close()
    assert str(first) == "2024-03-01 15:00:00"  # 10:00 at -05:00, in UTC


def test_shopifys_source_column_is_the_channel_not_the_system(tmp_path):
    """Shopify's ``Source`` (web, pos; on an order's first line only) once became the rows' ``source``: order
    #1001 was split in two, 10.00 as ('web', '#1001') and its second line quarantined as ('shopify', '#1001')."""
    header = "Name,Email,Financial Status,Currency,Created at,Lineitem quantity,Lineitem name,Lineitem price,Source\n"
    write(tmp_path, "orders_export.csv", header + "#1001,a@x.com,paid,USD,2024-03-01 10:00:00 -0500,1,Mug,10.00,web\n"
          "#1001,,,,,2,Plate,10.00,\n#1002,b@x.com,paid,USD,2024-03-02 10:00:00 -0500,1,Bowl,5.00,pos\n")
    cfg, text = suggested(tmp_path)
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert r.quarantine.empty, r.quarantine
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    got = con.execute("SELECT source, order_id, amount, channel FROM orders ORDER BY order_id").fetchall()
    con.close()
    assert got == [("shopify", "#1001", 30.0, "web"), ("shopify", "#1002", 5.0, "store")]


def test_email_activity_maps_event_names_and_channel(tmp_path):
    r = io.recognise(write(tmp_path, "klaviyo.csv", KLAVIYO))
    assert r.entry["values"]["event"]["Opened Email"] == "email_open"
    assert r.entry["constants"] == {"channel": "email"}
    write(tmp_path, "sources.yml", yaml.safe_dump({"tables": {"events": [{"file": "klaviyo.csv", **r.entry}]}}))
    io.load(tmp_path)
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    got = con.execute("SELECT event, channel, campaign FROM events ORDER BY ts").fetchall()
    con.close()
    assert got[:3] == [("email_sent", "email", "Spring sale"), ("email_open", "email", "Spring sale"),
                       ("email_click", "email", "Spring sale")]  # fmt: skip


def test_ga4_daily_files_become_one_glob(tmp_path, monkeypatch):
    import sys

    rec = sys.modules["cxlib.io.recognise"]  # the module (cxlib.io re-exports a function of the same name)
    _export(tmp_path, "events_20240301", DAY1)
    _export(tmp_path, "events_20240302", DAY2)
    read = []
    real = rec.recognise
    monkeypatch.setattr(rec, "recognise", lambda p, con=None, sheet=None: read.append(p.name) or real(p, con, sheet))
    cfg, text = suggested(tmp_path)
    assert read == ["events_20240301.parquet"]  # a file per day (730 for two years): the first one tells
    assert cfg["tables"]["events"] == [{"file": "ga4/events_*.parquet", "format": "ga4", "source": "ga4"}]
    assert "GA4 BigQuery export (confidence: high)" in text and "(+1 more days)" in text
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert int(r.summary.set_index("table_name").loc["events", "rows_loaded"]) == len(DAY1) + len(DAY2)


def test_ga4_days_exported_as_folders_of_shards(tmp_path):
    """BigQuery exports a large day as shards (``events_20240301/000000000000.parquet``): one glob, not an
    entry per shard, and an intraday folder of a day whose daily folder is there is skipped as a file is."""
    import shutil

    for name, rows in (("events_20240301", DAY1), ("events_20240302", DAY2), ("events_intraday_20240302", DAY2)):
        _export(tmp_path, name, rows)
        day = tmp_path / "ga4" / name
        day.mkdir()
        shutil.move(tmp_path / "ga4" / f"{name}.parquet", day / "000000000000.parquet")
        (tmp_path / "ga4" / f"{name}.ndjson").unlink(missing_ok=True)
    cfg, text = suggested(tmp_path)
    assert cfg["tables"]["events"] == [{"file": "ga4/events_*/*.parquet", "format": "ga4", "source": "ga4"}]
    assert "(+2 more files)" in text
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert int(r.summary.set_index("table_name").loc["events", "rows_loaded"]) == len(DAY1) + len(DAY2)


def test_ga4_avro_days_are_recognised_and_load(tmp_path):
    import fastavro

    every = [dict(r, event_date=r.get("event_date", "20240301")) for r in DAY1 + DAY2]
    schema = fastavro.parse_schema(_avro_type(every, "ga4_event")[1])
    (tmp_path / "ga4").mkdir()
    for day, rows in (("20240301", DAY1), ("20240302", DAY2)):
        with (tmp_path / "ga4" / f"events_{day}.avro").open("wb") as out:
            fastavro.writer(out, schema, [dict(r, event_date=r.get("event_date", day)) for r in rows])
    write(tmp_path, "other.avro", "")  # an Avro file that is not GA4 (here: not Avro at all) is named, not loaded
    cfg, text = suggested(tmp_path)
    assert cfg["tables"]["events"] == [{"file": "ga4/events_*.avro", "format": "ga4", "source": "ga4"}]
    (tmp_path / "other.avro").unlink()
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert int(r.summary.set_index("table_name").loc["events", "rows_loaded"]) == len(DAY1) + len(DAY2)


def test_unknown_file_is_a_commented_guess(tmp_path):
    write(tmp_path, "web_log.csv", "visitor,ts,event,page\nv1,2024-03-01 10:00,page_view,/home\n")
    (r,), _ = recognise_folder(tmp_path)
    assert (r.table, r.confidence, r.active) == ("events", "low", False)
    cfg, text = suggested(tmp_path)
    assert cfg["tables"] == {}
    assert "GUESS" in text and "#   events:" in text and "#     - file: web_log.csv" in text


def test_exports_load_after_cx_sources_write(tmp_path):
    for name, text in [("hubspot.csv", HUBSPOT), ("zendesk.csv", ZENDESK), ("shopify.csv", SHOPIFY),
                       ("retail.csv", RETAIL), ("klaviyo.csv", KLAVIYO), ("typeform.csv", TYPEFORM),
                       ("freshdesk.csv", FRESHDESK), ("salesforce.csv", SALESFORCE)]:  # fmt: skip
        write(tmp_path, f"exports/{name}", text)
    res = runner.invoke(app, ["sources", str(tmp_path), "--write"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["load", str(tmp_path), "--no-progress"])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    orders = dict(con.execute("SELECT order_id, status FROM orders WHERE source = 'shopify'").fetchall())
    tickets = con.execute("SELECT source, ticket_id, resolved FROM tickets ORDER BY 1, 2").fetchall()
    channels = dict(con.execute("SELECT ticket_id, channel FROM tickets WHERE source = 'zendesk'").fetchall())
    con.close()
    assert orders == {"#1001": "completed", "#1002": "returned"}
    assert tickets == [("freshdesk", "7", True), ("freshdesk", "8", False), ("zendesk", "101", True),
                       ("zendesk", "102", False)]  # fmt: skip
    assert channels == {"101": "email", "102": "web_form"}  # Zendesk's Via (Mail, Web Widget) in the model's words


def test_canonical_folder_loads_the_same_with_the_written_sources_yml(tmp_path):
    write(tmp_path, "contacts.csv", "source,record_id,first_name,email\ncrm,1,Ann,ann@x.com\ncrm,2,Bob,bob@x.com\n")
    orders = "source,order_id,ts,amount,status\nshop,1,2024-03-01,5,paid\nshop,2,2024-03-02,-1,x\n"
    write(tmp_path, "orders.csv", orders)
    write(tmp_path, "events.tsv", "source\tevent_id\tts\tevent\nweb\te1\t2024-03-01\tpage_view\n")
    before = io.validate(tmp_path)
    assert runner.invoke(app, ["sources", str(tmp_path), "--write"]).exit_code == 0
    cfg = yaml.safe_load((tmp_path / "sources.yml").read_text())
    assert entry(cfg, "events") == {"file": "events.tsv", "delimiter": "\t"}
    after = io.validate(tmp_path)
    cols = ["table_name", "rows_in", "rows_loaded", "rows_quarantined"]
    assert before.summary[cols].equals(after.summary[cols])
    assert before.quarantine["reason"].tolist() == after.quarantine["reason"].tolist()


def test_write_never_overwrites_without_force(tmp_path):
    write(tmp_path, "contacts.csv", "source,record_id\ncrm,1\n")
    write(tmp_path, "sources.yml", "tables: {contacts: contacts.csv}\n")
    res = runner.invoke(app, ["sources", str(tmp_path), "--write"])
    assert res.exit_code == 2 and "--force" in res.output
    assert (tmp_path / "sources.yml").read_text() == "tables: {contacts: contacts.csv}\n"
    res = runner.invoke(app, ["sources", str(tmp_path), "--write", "--force"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "sources.yml.bak").read_text() == "tables: {contacts: contacts.csv}\n"
    assert "canonical layout" in (tmp_path / "sources.yml").read_text()
    res = runner.invoke(app, ["sources", str(tmp_path)])  # --print: the default, writes nothing
    assert res.exit_code == 0 and res.output.startswith("# sources.yml suggested")


def test_zendesk_satisfaction_is_csat_and_its_comment_is_feedback(tmp_path):
    """Zendesk rates a ticket good or bad (or the survey was offered and never answered): csat 5 and 1, and the
    unanswered empty -- not values that fail to read as a number, which the load reported as problems."""
    header = ZENDESK.splitlines()[0] + ",Satisfaction Comment"
    rows = [line + c for line, c in zip(ZENDESK.splitlines()[1:], [",Quick and kind", ","], strict=True)]
    rows.append("103,Cy Dee,9003,cy@example.com,Cy Dee,,Billing,Charged twice,,Closed,Normal,Mail,Question,"
                "2024-03-04 08:00:00,2024-03-05 08:00:00,2024-03-05 08:00:00,bad,Took ages")
    write(tmp_path, "zendesk.csv", "\n".join([header, *rows]) + "\n")
    r = io.recognise(tmp_path / "zendesk.csv")
    assert r.entry["columns"]["csat"] == "Satisfaction Score" and r.entry["feedback"] == ["Satisfaction Comment"]
    (tmp_path / "sources.yml").write_text(suggested(tmp_path)[1])
    rep = io.load(tmp_path)
    assert rep.quarantine.empty and rep.summary["values_nulled"].sum() == 0, rep.quarantine
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    got = con.execute("SELECT ticket_id, csat FROM tickets ORDER BY ticket_id").fetchall()
    con.close()
    assert got == [("101", 5), ("102", None), ("103", 1)]  # Good, Unoffered, bad


def test_validate_prints_each_file(tmp_path):
    write(tmp_path, "zendesk.csv", ZENDESK)
    assert runner.invoke(app, ["sources", str(tmp_path), "--write"]).exit_code == 0
    res = runner.invoke(app, ["validate", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "zendesk.csv -> tickets: 2 rows" in res.output
    assert "ticket_id <- Id" in res.output and "not mapped (kept as extra columns): Requester, " in res.output


def test_hostile_file_and_column_names_are_data(tmp_path):
    cols = ["x'); DROP TABLE orders; --", "# not a comment", "key: value", "- item", '"quoted"', "Invoice'No"]
    header = ",".join('"' + c.replace('"', '""') + '"' for c in cols)
    write(tmp_path, "x'); DROP TABLE t;--.csv", header + "\n1,2,3,4,5,6\n")
    write(tmp_path, "a #b: c.csv", "source,order_id,ts,amount,status,\"we'ird # col\"\nshop,1,2024-03-01,5,paid,z\n")
    write(tmp_path, "line.csv", '"Id","First\nName",LastName,FirstName,AccountId\n1,a,b,c,d\n')
    cfg, text = suggested(tmp_path)
    assert entry(cfg, "orders") == {"file": "a #b: c.csv"}
    for line in text.splitlines():  # every line is a comment, blank, or YAML we wrote
        assert not line.startswith(("x'", "- item", "key")), line
    assert "First\\u000aName" in text  # the newline in a column name is shown escaped, never written raw
    assert "line.csv" in text and "control character in the name" in text
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert r.summary["rows_loaded"].tolist() == [1]
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == 1
    con.close()


def test_skips_hidden_files_the_database_and_unreadable_files(tmp_path):
    write(tmp_path, ".hidden.csv", "source,record_id\ncrm,1\n")
    write(tmp_path, "contacts.csv", "source,record_id\ncrm,1\n")
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "plans.json").write_text('{"plans": []}')  # the strategy page's saved plans
    io.load(tmp_path)  # writes workspace.duckdb
    found, skipped = recognise_folder(tmp_path)
    assert [r.path.name for r in found] == ["contacts.csv"]
    assert any(s.startswith("broken.parquet (") for s in skipped) and "empty.csv (empty)" in skipped
    _, text = suggested(tmp_path)
    assert "# broken.parquet (" in text


def test_gzip_and_cp1252_exports(tmp_path):
    import gzip

    (tmp_path / "hubspot.csv.gz").write_bytes(gzip.compress(HUBSPOT.encode()))
    (tmp_path / "zendesk.csv").write_bytes(ZENDESK.replace("Ann Lee", "Zoë Brontë").encode("cp1252"))
    cfg, text = suggested(tmp_path)
    assert entry(cfg, "contacts")["file"] == "hubspot.csv.gz"
    assert entry(cfg, "tickets")["encoding"] == "cp1252"
    (tmp_path / "sources.yml").write_text(text)
    r = io.validate(tmp_path)
    assert r.summary.set_index("table_name")["rows_loaded"].to_dict() == {"contacts": 1, "tickets": 2}


def test_json_and_workbook_exports(tmp_path):
    """NDJSON and Excel files are recognised like CSVs (the loader reads them too)."""
    import openpyxl

    (tmp_path / "contacts_export.ndjson").write_text('{"source": "crm", "record_id": "1", "email": "a@b.co"}\n')
    wb = openpyxl.Workbook()
    for row in [line.split(",") for line in ZENDESK.strip().splitlines()]:
        wb.active.append(row)
    wb.save(tmp_path / "zendesk.xlsx")
    cfg, text = suggested(tmp_path)
    assert entry(cfg, "contacts")["file"] == "contacts_export.ndjson"
    assert entry(cfg, "tickets")["file"] == "zendesk.xlsx"
    (tmp_path / "sources.yml").write_text(text)
    r = io.validate(tmp_path)
    assert r.summary.set_index("table_name")["rows_loaded"].to_dict() == {"contacts": 1, "tickets": 2}


def test_only_the_first_rows_of_a_file_are_read(tmp_path):
    """``cx sources`` reads a file's first rows only. ``con.sql`` given parameters runs its query at once and
    whole (``cx sources`` on a 1M-customer folder held 4 GB, its events.parquet read in full): every statement
    that reads a Parquet or JSON file has a LIMIT, and nothing but ``execute`` is called."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    from cxlib.io.recognise import recognise

    n = 5000
    rows = {"event_id": [f"e{i}" for i in range(n)], "ts": ["2024-01-01 10:00:00"] * n,
            "event": ["page_view"] * n, "source": ["web"] * n}  # fmt: skip
    pq.write_table(pa.table(rows), tmp_path / "events.parquet")
    lines = (json.dumps({k: v[i] for k, v in rows.items()}) + "\n" for i in range(n))
    (tmp_path / "events.ndjson").write_text("".join(lines))

    class Spy:
        def __init__(self) -> None:
            self.con, self.seen = duckdb.connect(), []

        def execute(self, sql: str, params: object = None) -> duckdb.DuckDBPyConnection:
            self.seen.append(sql)
            return self.con.execute(sql, params or {})

        def __getattr__(self, name: str) -> None:
            raise AssertionError(f"recognise called con.{name}")

    for name in ("events.parquet", "events.ndjson"):
        spy = Spy()
        assert recognise(tmp_path / name, spy).table == "events"
        reads = [s for s in spy.seen if "read_parquet" in s or "read_json" in s]
        assert reads and all("LIMIT 50" in s for s in reads), reads


def test_a_vendors_own_person_ids_come_with_the_hint_to_name_their_system(tmp_path):
    # Zendesk's Requester id is its own user id: the suggestion says how to keep it from another system's numbers
    # (a hint, not a default: Zendesk's users would have to be loaded under the same source to be found)
    write(tmp_path, "zendesk.csv", ZENDESK)
    r = io.recognise(tmp_path / "zendesk.csv")
    assert "constants" not in r.entry
    assert any("add contact_ref_source: zendesk under constants" in n for n in r.notes), r.notes
    assert "contact_ref_source: zendesk" in io.suggest_sources(tmp_path)


def test_a_comma_export_cut_off_mid_line_keeps_its_delimiter_and_loads(tmp_path):
    """A HubSpot export whose download stopped mid-line (and one row with an extra field): DuckDB's strict sniff
    answered '|' for it, which `cx sources --write` put into sources.yml, and `cx load` then read the file as
    one column and stopped. The delimiter is now sniffed as the columns are read, past the unreadable lines: none
    is written (a comma), the load reads every whole row and quarantines the two broken lines."""
    header, row = HUBSPOT.splitlines()
    rows = [row.replace("51,", f"{50 + i},", 1).replace("ann@", f"ann{i}@") for i in range(1, 40)]
    rows[10] += ",one field too many"
    write(tmp_path, "hubspot_contacts.csv", "\n".join([header, *rows]) + "\n" + rows[0][:25])  # cut off
    assert runner.invoke(app, ["sources", str(tmp_path), "--write"]).exit_code == 0
    cfg = yaml.safe_load((tmp_path / "sources.yml").read_text())
    assert "delimiter" not in entry(cfg, "contacts")
    res = runner.invoke(app, ["load", str(tmp_path), "--no-progress"])
    assert res.exit_code == 0, res.output
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    loaded = con.execute("SELECT count(*) FROM contacts").fetchone()[0]
    quarantined = con.execute("SELECT count(DISTINCT row) FROM quarantine WHERE table_name = 'contacts'").fetchone()[0]
    con.close()
    assert (loaded, quarantined) == (38, 2)  # 40 lines of rows: 38 whole, two quarantined


def test_utf16_without_a_byte_order_mark_is_recognised_with_its_encoding(tmp_path):
    """A UTF-16 export without its byte-order mark was skipped by `cx sources` as "binary data"; it is recognised,
    its encoding written into sources.yml, and it loads."""
    text = "source,order_id,ts,email,amount,status\nshop,1,2024-03-01,ann@x.com,5,completed\n"
    (tmp_path / "orders.csv").write_bytes(text.encode("utf-16-le"))
    assert runner.invoke(app, ["sources", str(tmp_path), "--write"]).exit_code == 0
    assert entry(yaml.safe_load((tmp_path / "sources.yml").read_text()), "orders")["encoding"] == "utf-16-le"
    res = runner.invoke(app, ["load", str(tmp_path), "--no-progress"])
    assert res.exit_code == 0, res.output


def test_a_shopify_partial_refund_keeps_what_was_paid(tmp_path):
    """Shopify's ``Refunded Amount`` was unused: an order of 30.00 refunded 10.00 (``partially_refunded``) counted
    30.00 of revenue. It keeps 20.00 now; a refund of the whole leaves the order returned at its amount."""
    header = ("Name,Email,Financial Status,Currency,Created at,Lineitem quantity,Lineitem name,Lineitem price,"
              "Refunded Amount\n")
    write(tmp_path, "orders_export.csv", header
          + "#1001,a@x.com,partially_refunded,USD,2024-03-01 10:00:00 -0500,1,Mug,10.00,10.00\n"
          "#1001,,,,,2,Plate,10.00,\n"
          "#1002,b@x.com,refunded,USD,2024-03-02 10:00:00 -0500,1,Bowl,5.00,5.00\n"
          "#1003,c@x.com,paid,USD,2024-03-03 10:00:00 -0500,1,Cup,7.50,0.00\n")
    cfg, text = suggested(tmp_path)
    assert entry(cfg, "orders")["columns"]["refunded"] == "Refunded Amount"
    assert any("partial refund" in n for n in io.recognise(tmp_path / "orders_export.csv").notes)
    (tmp_path / "sources.yml").write_text(text)
    r = io.load(tmp_path)
    assert r.quarantine.empty, r.quarantine
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    got = con.execute("SELECT order_id, amount, status FROM orders ORDER BY order_id").fetchall()
    lines = con.execute("SELECT sum(line_amount) FROM order_lines").fetchone()[0]
    con.close()
    assert got == [("#1001", 20.0, "completed"), ("#1002", 5.0, "returned"), ("#1003", 7.5, "completed")]
    assert lines == 42.5  # the lines as they are


def test_a_column_called_refunded_is_not_taken_as_an_amount_unless_mapped(tmp_path):
    """Line columns are found by their names; a 0/1 ``refunded`` flag took 1.00 off an order of 50.00 (review)."""
    write(tmp_path, "lines.csv",
          "order_id,ts,quantity,unit_price,refunded\nA1,2024-03-01,1,30,1\nA1,2024-03-01,1,20,\n")
    (tmp_path / "sources.yml").write_text("tables:\n  orders: {file: lines.csv, source: shop, lines: true}\n")
    io.load(tmp_path)
    con = duckdb.connect(str(tmp_path / io.DATABASE_NAME), read_only=True)
    assert con.execute("SELECT amount FROM orders").fetchall() == [(50.0,)]
    con.close()
