"""Voice of the customer, scored against the generator's planted topics and churn link."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_mutual_info_score

from cxlib import io, journeys, synth, unify, voice
from cxlib.report.personal import PersonalTerms
from cxlib.voice.redact import Redactor

# its module fixtures are costly: one worker builds them once (pytest-xdist --dist loadgroup)
pytestmark = pytest.mark.xdist_group("voice")

# --- sentiment, language, redaction (no workspace) ------------------------------------------------------------

LABELLED = [
    ("I love this jacket, great quality", 1),
    ("Excellent service and friendly staff", 1),
    ("Really happy with my order, thank you!", 1),
    ("Fast delivery, would recommend", 1),
    ("Brilliant app, easy to use", 1),
    ("The box arrived damaged and the lamp was broken", -1),
    ("My parcel is two weeks late", -1),
    ("The app keeps crashing at checkout", -1),
    ("Not happy at all with the service", -1),
    ("I was charged twice and nobody answered", -1),
    ("Terrible experience, very disappointed", -1),
    ("Too expensive for such poor quality", -1),
    ("Nice design but the delivery was awful", -1),
    ("Never again, the worst shop", -1),
    ("The kettle is not bad", 1),
    ("Good product, but the refund took ages and the support was rude", -1),
]


def test_sentiment_on_a_labelled_set():
    got = np.sign(voice.sentiments([t for t, _ in LABELLED]))
    want = np.array([y for _, y in LABELLED])
    assert (got == want).mean() >= 0.9, [t for (t, y), g in zip(LABELLED, got, strict=True) if g != y]
    assert voice.sentiment("") == 0.0 and voice.sentiment(None) == 0.0
    assert -1 <= voice.sentiment("awful " * 50) <= 1


def test_language_detection_and_odd_text():
    assert voice.detect("The delivery was late and the box was broken") == "en"
    assert voice.detect("Die Lieferung war zu spät und das Paket ist nicht da") == "de"
    assert voice.detect("Le colis est arrivé en retard et le produit était abîmé") == "fr"
    assert voice.detect("El pedido llegó tarde y la caja estaba rota") == "es"
    for odd in ("", "   ", "!!!", "12345", "😀😀", "配送が遅れました"):
        assert voice.detect(odd) in (None, "und")
        assert voice.sentiment(odd) == 0.0


def test_redaction_of_planted_personal_data():
    terms = PersonalTerms.from_frame(
        pd.DataFrame({"first_name": ["Amelia"], "last_name": ["Griffiths"], "street": ["4 Church Road"],
                      "postcode": ["M14 5TQ"]})
    )
    r = Redactor(terms)
    text = ("Order O00012345678 never came. Kind regards, Amelia Griffiths, 4 Church Road, M14 5TQ. "
            "amelia.griffiths186@orange.fr or +44 7112 307941; my order number 88812345. Also SW1A 1AA.")
    out = r(text)
    for secret in ("O00012345678", "Amelia", "Griffiths", "Church Road", "M14", "orange.fr", "7112", "88812345",
                   "SW1A"):
        assert secret not in out, (secret, out)
    assert "[order]" in out and "[name]" in out and "[street]" in out and "[email]" in out and "[phone]" in out
    assert r("The parcel was 5 days late, 2 items missing") == "The parcel was 5 days late, 2 items missing"
    assert r(None) is None and r("") == ""


def test_annotate_handles_empty_and_foreign_text():
    from cxlib.voice.collect import annotate

    df = pd.DataFrame({c: [None] * 5 for c in voice.VERBATIM_COLUMNS if c not in ("verbatim_id", "language",
                                                                                  "sentiment")})
    df["text"] = ["", "   ", "Das Paket ist nicht da", "配送が遅れました", "My parcel is late"]
    out = annotate(df)
    assert out["language"].tolist()[2:] == ["de", "und", "en"] and out["language"].isna()[:2].all()
    assert out["sentiment"].between(-1, 1).all() and out["sentiment"].iloc[4] < 0
    assert out["verbatim_id"].tolist() == [1, 2, 3, 4, 5]


def test_topics_on_empty_input_are_clear():
    with pytest.raises(ValueError, match="no text"):
        voice.fit_topics([])


def test_risk_ratio_handles_empty_cells():
    rr, lo, hi = voice.risk_ratio(0, 10, 5, 100)
    assert np.isfinite([rr, lo, hi]).all() and lo < rr < hi


# --- the generator ---------------------------------------------------------------------------------------------


def test_text_leaves_every_other_column_unchanged_and_is_deterministic():
    a = synth.generate(n_customers=400, seed=5, months=8)
    b = synth.generate(n_customers=400, seed=5, months=8)
    pd.testing.assert_frame_equal(a.truth.verbatims, b.truth.verbatims)
    pd.testing.assert_frame_equal(a.tables["tickets"], b.tables["tickets"])
    t = a.tables["tickets"]
    assert {"subject", "description"} <= set(t.columns) and t["description"].notna().all()
    v = a.truth.verbatims
    from cxlib.synth.verbatims import TOPICS

    assert set(v["topic"].dropna()) <= set(TOPICS)
    assert a.truth.planted["voice"]["churn_topic"] == "late_delivery"
    keys = set(zip(v["table_name"], v["record_key"], strict=True))
    assert all(("tickets", k) in keys for k in t["ticket_id"])


# --- the workspace step (a 3,000-person company built once: slow) -------------------------------------------


@pytest.fixture(scope="module")
def voiced(tmp_path_factory):
    folder = tmp_path_factory.mktemp("voice")
    synth.write_company(folder, n_customers=3_000, seed=11, months=24, progress=False)
    io.load(folder)
    unify.unify(folder)
    journeys.build(folder)
    return folder, voice.build(folder), synth.load_truth(folder).verbatims


def _with_truth(res, truth):
    v = res.verbatims[res.verbatims["topic"] >= 0]
    return v.merge(truth, on=["table_name", "source", "record_key"], suffixes=("", "_true"))


@pytest.mark.slow
def test_topics_recover_the_planted_topics(voiced):
    _, res, truth = voiced
    j = _with_truth(res, truth)
    assert len(j) > 0.9 * (res.verbatims["topic"] >= 0).sum()
    ami = adjusted_mutual_info_score(j["topic_true"], j["topic"])
    assert ami >= 0.7, ami
    assert set(res.topics.columns) >= {"label", "verbatims", "trend", "mean_sentiment", "stage_mix", "quote_1"}
    assert res.model.stability and len(res.topics) == len(res.model.labels)


@pytest.mark.slow
def test_the_planted_churn_topic_ranks_first(voiced):
    _, res, truth = voiced
    j = _with_truth(res, truth)
    planted_of = j.groupby("topic")["topic_true"].agg(lambda s: s.value_counts().index[0])
    churn = res.feedback_drivers[res.feedback_drivers["outcome"] == "churn"].sort_values("rank")
    assert planted_of[churn.iloc[0]["topic"]] == "late_delivery", churn[["label", "lift", "lift_low"]]
    assert churn.iloc[0]["lift_low"] > 1
    drop = res.feedback_drivers[res.feedback_drivers["outcome"] == "dropoff"].sort_values("rank")
    assert planted_of[drop.iloc[0]["topic"]] == "presale_question"


@pytest.mark.slow
def test_quotes_are_redacted_and_non_english_is_reported(voiced):
    folder, res, truth = voiced
    import cxlib

    with cxlib.connect(folder, read_only=True) as ws:
        terms = PersonalTerms.from_workspace(ws)
        tables = set(ws.list_tables())
    assert {"verbatims", "topics", "verbatim_topics", "topic_months", "feedback_drivers", "follow_up"} <= tables
    quotes = res.topics[["quote_1", "quote_2", "quote_3"]].to_numpy().ravel()
    assert all(terms.redact(q) == q for q in quotes)
    assert not any("@" in q or "O000" in q for q in quotes)
    foreign = res.verbatims[res.verbatims["language"].isin(["de", "fr", "es"])]
    assert len(foreign) > 0 and (foreign["topic"] == -1).all()


@pytest.mark.slow
def test_follow_up_is_negative_unresolved_and_by_value(voiced):
    _, res, _ = voiced
    fu = res.follow_up
    assert len(fu) > 0 and fu["customer_id"].is_unique
    assert fu["revenue_per_year"].is_monotonic_decreasing
    assert ((fu["sentiment"] < -0.05) | (fu["rating"].fillna(10) <= 6)).all()


@pytest.mark.slow
def test_topic_model_is_deterministic(voiced):
    _, res, _ = voiced
    texts = res.verbatims.loc[res.verbatims["topic"] >= 0, "text"].head(1500)
    a, b = voice.fit_topics(texts, n_topics=6, seed=3), voice.fit_topics(texts, n_topics=6, seed=3)
    assert a.labels == b.labels and np.array_equal(a.assign(texts), b.assign(texts))


@pytest.mark.slow
def test_report_section(voiced):
    folder, _, _ = voiced
    import cxlib
    from cxlib.report.page import Report

    with cxlib.connect(folder, read_only=True) as ws:
        r = Report("t", personal=PersonalTerms.from_workspace(ws))
        glance: list[str] = []
        voice.report_section(ws, r, glance)
    html = r.to_html()
    assert "Voice of the customer" in html and glance and "churn" in glance[0]


@pytest.mark.slow
def test_no_measured_outcome_is_said_in_the_report_not_left_out(voiced, tmp_path):
    """Feedback from customers none of whom churned, dropped off, returned or gave a low NPS has no drivers: the
    report said nothing where the drivers' tables go; now it says why (the voice page shows the same words)."""
    import shutil

    import cxlib
    from cxlib._frames import empty_frame
    from cxlib.report.page import Report
    from cxlib.voice.drivers import DRIVER_COLUMNS

    folder, _, _ = voiced
    shutil.copy(folder / "workspace.duckdb", tmp_path / "workspace.duckdb")
    with cxlib.connect(tmp_path) as ws:
        ws.write("feedback_drivers", empty_frame(DRIVER_COLUMNS))
        r = Report("t", personal=PersonalTerms.from_workspace(ws))
        voice.report_section(ws, r, [])
    assert voice.measured_outcomes(empty_frame(DRIVER_COLUMNS)) == {}
    assert "No topic could be tied to an outcome" in r.to_html()


def test_feedback_columns_named_in_sources_yml_become_verbatims(tmp_path):
    """A review-text column of an order export, named `feedback:` in sources.yml, is read beside return_reason."""
    import cxlib
    from cxlib import io, unify
    from cxlib.io.sources import feedback_columns
    from cxlib.voice.collect import collect

    (tmp_path / "shop.csv").write_text(
        "Order,Placed,Total,State,E-mail,Review Text\n"
        "1,2024-03-01,10,completed,ann@example.com,Lovely mug but the box was crushed\n"
        "2,2024-03-02,20,completed,bob@example.com,\n"
    )
    (tmp_path / "sources.yml").write_text(
        "tables:\n  orders:\n    file: shop.csv\n    source: shop\n    feedback: [Review Text]\n"
        "    columns: {order_id: Order, ts: Placed, amount: Total, status: State, email: E-mail}\n"
    )
    assert feedback_columns(tmp_path) == {"orders": ["review_text"]}
    io.load(tmp_path)
    unify.unify(tmp_path)
    with cxlib.connect(tmp_path, read_only=True) as ws:
        v = collect(ws, feedback_columns(tmp_path)).to_pandas()
    assert v[["record_key", "field", "text"]].values.tolist() == [
        ["1", "return_reason+review_text", "Lovely mug but the box was crushed"]
    ]
    (tmp_path / "sources.yml").write_text("tables:\n  orders: {file: shop.csv, feedback: {a: 1}}\n")
    with pytest.raises(cxlib.DataError, match="option `feedback`"):
        feedback_columns(tmp_path)


@pytest.mark.slow
def test_call_back_list_is_redacted_unless_personal_data_is_asked_for(voiced, tmp_path):
    folder, res, _ = voiced
    from typer.testing import CliRunner

    import cxlib
    from cxlib.cli import app

    with cxlib.connect(folder, read_only=True) as ws:
        terms = PersonalTerms.from_workspace(ws)
    calls = voice.call_back_list(folder)
    assert calls["customer_id"].tolist() == res.follow_up["customer_id"].tolist()
    assert not set(voice.CONTACT_COLUMNS) & set(calls.columns)
    assert all(terms.redact(t) == t and "@" not in t for t in calls["text"].dropna())
    personal = voice.call_back_list(folder, personal=True)
    assert personal.columns[:4].tolist() == ["customer_id", *voice.CONTACT_COLUMNS]
    assert personal["text"].tolist() == res.follow_up["text"].tolist() and personal["name"].notna().mean() > 0.9
    out = tmp_path / "calls.csv"
    r = CliRunner().invoke(app, ["voice", str(folder), "--follow-up", str(out)])
    assert r.exit_code == 0, r.output
    assert "texts redacted" in r.output and len(pd.read_csv(out)) == len(calls)


def test_voice_on_tickets_that_never_say_whether_they_were_resolved(tmp_path):
    """A helpdesk export without resolved or CSAT values: `cx voice` failed (NaN times compared with times, then a
    verbatims column of no type); found by running made-up exports through every step."""
    (tmp_path / "tickets.csv").write_text(
        "source,ticket_id,opened_at,email,topic,resolved,csat,comment\n"
        + "".join(f"helpdesk,t{i},2024-0{1 + i % 9}-10 10:00,p{i % 7}@x.com,delivery,,,late parcel again\n"
                  for i in range(12))
    )
    (tmp_path / "surveys.csv").write_text(
        "source,response_id,ts,email,nps,comment\n"
        + "".join(f"survey,r{i},2024-0{1 + i % 9}-12,p{i % 7}@x.com,{i % 11},\"slow delivery, refund took weeks\"\n"
                  for i in range(12))
    )
    io.load(tmp_path)
    unify.unify(tmp_path)
    res = voice.build(tmp_path)
    assert len(res.verbatims) == 12 and res.verbatims["resolved"].isna().all()
    assert set(res.follow_up["customer_id"]) <= set(res.verbatims["customer_id"])


def test_follow_up_reads_a_missing_resolved_as_not_resolved():
    """A ticket export with an empty ``resolved`` cell reaches the verbatims as a nullable boolean (NA): the
    follow-up list stopped `cx voice` with pandas' "Cannot mask with non-boolean array containing NA". A ticket
    whose resolved is missing is not resolved: its customer is followed up; a resolved ticket later closes a
    survey's complaint."""
    from cxlib.voice.drivers import follow_up

    ts = pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-05"])
    v = pd.DataFrame({
        "customer_id": ["a", "b", "c", "c"], "ts": ts, "table_name": ["tickets", "tickets", "surveys", "tickets"],
        "rating": [np.nan, np.nan, 2.0, np.nan], "rating_scale": [None, None, "nps", None],
        "resolved": pd.array([pd.NA, False, pd.NA, True], dtype="boolean"), "sentiment": [-0.5, -0.5, -0.5, 0.2],
        "topic": 0, "text": "late", "source": "s", "record_key": ["1", "2", "3", "4"],
    })
    out = pd.DataFrame({"customer_id": ["a", "b", "c"], "revenue_per_year": [10.0, 5.0, 1.0]})
    last = pd.DataFrame({"customer_id": ["a", "b", "c"], "last_touch_ts": ts[:3], "last_touch": "web"})
    fu = follow_up(v, out, {0: "delivery"}, last)
    assert fu["customer_id"].tolist() == ["a", "b"]  # c's survey complaint was followed by a resolved ticket


def test_a_workspace_without_customer_text_is_told_what_to_load_not_shown_a_traceback(tmp_path):
    """E-mail activity and a CRM list hold no text: ``cx voice`` raised a bare ValueError (a traceback, exit 1)."""
    from typer.testing import CliRunner

    from cxlib.cli import app

    (tmp_path / "events.csv").write_text(
        "source,event_id,ts,anonymous_id,event,channel\n"
        "klaviyo,1,2024-03-01 10:00:00,a1,email_open,email\nklaviyo,2,2024-03-02 10:00:00,a2,email_click,email\n"
    )
    io.load(tmp_path)
    unify.unify(tmp_path)
    r = CliRunner().invoke(app, ["voice", str(tmp_path)])
    assert r.exit_code == 2, r.output
    assert "no customer text" in r.output and "sources.yml" in r.output and "Traceback" not in r.output


def test_a_topic_nobody_mentions_any_more_is_falling_not_steady():
    """The trend was fitted on the months a topic was mentioned in, one after the other: a topic of three early
    months and nine silent ones read "steady". Its silent months are now shares of 0, in calendar order, each month
    weighted by its verbatims."""
    from types import SimpleNamespace

    from cxlib.voice.build import topic_table
    from cxlib.voice.redact import Redactor

    months = pd.date_range("2024-01-01", periods=12, freq="MS")
    rows = [(m, 0 if i < 3 and j == 0 else 1) for i, m in enumerate(months) for j in range(10)]
    v = pd.DataFrame({"ts": [m for m, _ in rows], "topic": [t for _, t in rows]})
    v = v.assign(customer_id=[f"c{i}" for i in range(len(v))], rating_scale=None, rating=np.nan, sentiment=0.0,
                 stage="repeat", text="the parcel came late again", topic_weight=1.0)
    model = SimpleNamespace(labels=["early / gone", "always / there"], terms=[["early"], ["always"]])
    topics, tm = topic_table(v, model, Redactor())
    assert len(tm) == 24 and (tm.loc[tm["topic"] == 0, "verbatims"] == 0).sum() == 9  # the silent months, as 0
    assert topics.set_index("label").loc["early / gone", "trend"] == "falling"
    assert topics.set_index("label").loc["always / there", "trend"] == "rising"


def test_an_outcome_nobody_had_has_no_drivers_not_a_lift_from_nothing():
    """With no survey loaded nobody gave an NPS, and the report still ranked topics by it: 0% against 0%, a lift
    of 7 (0.1 to 349). An outcome nobody (or everybody) among the writers had has no lift to measure."""
    from cxlib.voice.drivers import drivers

    ids = [f"c{i}" for i in range(40)]
    vt = pd.DataFrame({"customer_id": ids, "topic": [0] * 20 + [1] * 20, "table_name": "tickets"})
    out = pd.DataFrame({"customer_id": ids, "churn": [True] * 12 + [False] * 28, "dropoff": False, "returns": True,
                        "low_nps": False, "revenue_per_year": 10.0})
    topics = pd.DataFrame({"topic": [0, 1], "label": ["late / parcel", "app / crash"], "side": "service"})
    d = drivers(vt, out, topics)
    assert set(d["outcome"]) == {"churn"} and len(d) == 2
    assert d.set_index("topic").loc[0, "rate"] == 0.6 and d.set_index("topic").loc[1, "rate"] == 0.0


def test_the_last_touch_of_a_follow_up_does_not_depend_on_row_order():
    """A GA4 purchase and the shop's order at the same moment: the follow-up list named one or the other as the
    customer's last touch depending on the files' row order (found by loading an export company's files with
    their records shuffled). Now the journeys' ordering rule breaks the tie."""
    from cxlib import engine
    from cxlib.voice.build import _last_touch

    ts = pd.to_datetime(["2024-01-01", "2024-02-01", "2024-02-01"])
    rows = pd.DataFrame({"customer_id": ["a", "a", "a"], "ts": ts,
                         "event": ["page_view", "purchase", "order"], "channel": ["web", "web", "web"],
                         "table_name": ["events", "events", "orders"], "source": ["ga4", "ga4", "shop"],
                         "record_key": ["e1", "e2", "o1"]})  # fmt: skip
    got = set()
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        ws = engine.connect()
        ws.write("touchpoints", rows.iloc[order].reset_index(drop=True))
        got.add(tuple(_last_touch(ws).iloc[0][["last_touch_ts", "last_touch"]]))
    assert got == {(pd.Timestamp("2024-02-01"), "order (web)")}


def test_what_customers_wrote_is_never_a_spreadsheet_formula_in_a_download(tmp_path):
    """A survey comment of ``=HYPERLINK("http://evil.example/x","click")`` reached the follow-up CSV (called safe
    to share) and the pages' table downloads as it was: a live link when the file is opened in Excel."""
    from typer.testing import CliRunner

    from cxlib.cli import app
    from cxlib.notebook import table

    evil = '=HYPERLINK(""http://evil.example/x"",""click"") slow delivery'
    (tmp_path / "surveys.csv").write_text(
        "source,response_id,ts,email,nps,comment\n"
        + "".join(f'survey,r{i},2024-0{1 + i % 9}-12,p{i % 7}@x.com,{i % 4},"{evil}"\n' for i in range(12))
    )
    io.load(tmp_path)
    unify.unify(tmp_path)
    out = tmp_path / "calls.csv"
    r = CliRunner().invoke(app, ["voice", str(tmp_path), "--follow-up", str(out)])
    assert r.exit_code == 0, r.output
    texts = pd.read_csv(out)["text"]
    assert len(texts) and texts.str.startswith("'=HYPERLINK").all(), texts.tolist()
    # a page's table shows what was written, and offers no download of it then (marimo's is the rows as they are)
    quotes = pd.DataFrame({"quote": ["=1+1", "@SUM(A1)", "-5", "+44 7700 900123", "fine"]})
    shown = table(quotes)
    assert shown._data.iloc[:, 0].tolist() == quotes["quote"].tolist()
    assert "data-show-download='false'" in shown.text
    assert "data-show-download='true'" in table(quotes.iloc[2:]).text  # numbers and phones are no formulas


def test_an_address_a_customer_typed_is_masked_though_no_contact_holds_it():
    """The call-back list ("texts redacted") showed "I live at 167 Green Lane, 19943." from a ticket: only the
    streets and postcodes the contacts hold, and UK-shaped postcodes, were masked."""
    from cxlib.voice.redact import Redactor

    r = Redactor()
    assert r("I live at 167 Green Lane, 19943.") == "I live at [street], [postcode]."
    assert r("send it to 12b Baker St., Springfield 62704") == "send it to [street], Springfield [postcode]"
    assert r("Hauptstraße? no: Lindenallee 5, PLZ 10115") == "Hauptstraße? no: [street], PLZ [postcode]"
    for kept in ("waited 3 days, called 5 times way too many", "a close call on 2 orders", "1st order, 20% off",
                 "a 2 hour drive", "Waited 2 weeks in court", "2 sq m smaller", "The zip on my jacket broke",
                 "plz help me asap", "Zip was broken"):  # (the last six were masked: found by review)
        assert r(kept) == kept
