"""Shared reports leak nothing through labels: hostile source names, planted names and addresses, tiny groups."""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from hypothesis import given
from hypothesis import strategies as st

import cxlib
from cxlib import io
from cxlib.report import Report, standard_report
from cxlib.report.personal import PersonalTerms

TERMS = PersonalTerms.from_frame(
    pd.DataFrame({"first_name": ["Jane"], "last_name": ["Doe"], "street": ["12 Mill Lane"], "postcode": ["LS1 4AB"]})
)
LEAKS = ("jane.doe", "Jane Doe", "Mill Lane", "LS1 4AB", "LS14AB", "07700 900123")


def test_every_label_and_text_passes_the_redactor(tmp_path):
    r = Report("Report for Jane Doe", sources=["jane.doe.export@example.com", "crm"], personal=TERMS)
    r.section("About Jane Doe")
    r.markdown("Jane Doe (12 Mill Lane, LS1 4AB) called 07700 900123.")
    r.metric("Jane Doe's orders", 3)
    r.table(pd.DataFrame({"jane.doe@x.com": ["12 mill lane", "ok"], "customers": [20, 30]}), caption="LS14AB")
    fig = go.Figure(go.Bar(x=["Jane Doe", "crm"], y=[20, 30]))
    fig.update_layout(title="by source: jane.doe.export@example.com")
    r.figure(fig, caption="Jane Doe")
    html = r.save(tmp_path / "r.html").read_text()
    for leak in LEAKS:
        assert leak not in html, leak
    assert "[name]" in html and "[street]" in html and "[postcode]" in html and "[email]" in html


def test_small_groups_are_suppressed_in_any_customer_count(tmp_path):
    r = Report("t", personal=TERMS)
    r.table(pd.DataFrame({"channel": ["web", "kiosk"], "active_customers": [120, 3]}), caption="channels")
    html = r.to_html()
    assert "kiosk" not in html and "fewer than 10 customers" in html


def test_standard_report_redacts_a_hostile_source_and_the_contacts_own_details(tmp_path):
    contacts = (
        "source,record_id,first_name,last_name,email,street,postcode\n"
        "jane.doe.export@example.com,1,Jane,Doe,jane@example.com,12 Mill Lane,LS1 4AB\n"
        "crm,2,Ann,Lee,ann@example.com,3 High Street,M1 1AA\n"
    )
    (tmp_path / "contacts.csv").write_text(contacts)
    io.load(tmp_path)
    html = standard_report(tmp_path, sections=["customers"]).to_html()
    for leak in (*LEAKS, "Ann Lee", "High Street", "M1 1AA"):
        assert leak not in html, leak


def test_the_workspace_terms_are_every_name_street_and_postcode_its_contacts_hold():
    contacts = pd.DataFrame({
        "first_name": ["Jane", "Jane", None, "Omar"],
        "last_name": ["Doe", "Doe", "Khan", "Khan"],
        "street": ["12 Mill Lane", None, "4 Elm Row", "4  Elm Row"],
        "postcode": ["LS1 4AB", "LS1 4AB", None, "m1 1aa"],
    })
    ws = cxlib.connect()
    ws.write("contacts", contacts)
    terms = PersonalTerms.from_workspace(ws)
    assert terms == PersonalTerms.from_frame(contacts)  # each kind made distinct on its own: the same terms
    assert terms.names == {("jane", "doe"), ("omar", "khan")} and terms.postcodes == {"LS14AB", "M11AA"}
    assert terms.streets == {"12 mill lane", "4 elm row"}


@given(st.text(alphabet=st.characters(), max_size=12))
def test_a_postcode_is_compared_without_any_space_or_hyphen(text):
    """The postcode key drops exactly what ``[\\s\\-]`` matches (every Unicode space, a no-break space too) and
    upper-cases the rest, as the regular expression it replaced did."""
    import re

    from cxlib.report.personal import _pc

    assert _pc(text) == re.sub(r"[\s\-]", "", text.upper())


def test_a_sankey_with_no_link_to_draw_is_a_sentence_not_a_blank_box():
    """A CRM and helpdesk's "moves between stages" had no link at all, and small flows can all be left out for
    privacy: the report drew an empty white box above its caption."""
    none = go.Figure(go.Sankey(node={"label": []}, link={"source": [], "target": [], "value": []}))
    small = go.Figure(go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1], "value": [3]}))
    kept = go.Figure(go.Sankey(node={"label": ["a", "b"]}, link={"source": [0], "target": [1], "value": [30]}))
    r = Report("flows", min_group_size=10)
    r.figure(none, "Moves between stages")
    r.figure(small, "Journeys by step", counts=True)
    r.figure(kept, "Journeys kept", counts=True)
    html = r.to_html()
    assert "Moves between stages: no flow to draw." in html
    assert "Journeys by step: no flow of at least 10 customers to draw." in html
    assert html.count("Plotly.newPlot") == 1 and "Journeys kept" in html


def test_a_cell_counting_fewer_customers_than_the_smallest_group_is_blanked_beside_its_row(tmp_path):
    """The report's personas table showed "high value: 1" and the funnel table "dropped: 3" in rows of 27 and 48
    customers: the row's main count was checked, its other counts of people were not."""
    r = Report("t", personal=TERMS)
    r.table(pd.DataFrame({"persona_name": ["loyal", "deal seekers"], "customers": [64, 27], "high_value": [32, 1],
                          "mean_value": [622.5, 3.0]}), caption="personas")
    r.table(pd.DataFrame({"step": [1, 2], "customers": [48, 12], "dropped": [36, 0]}), caption="funnel")
    html = r.to_html()
    assert ">fewer than 10<" in html and ">32<" in html and ">3.00<" in html  # a value of 3 is money, kept
    assert "1 cell(s) counting fewer than 10 customers shown as “fewer than 10” in “personas”." in r.privacy_notes
    assert not any("funnel" in n for n in r.privacy_notes)  # 0 dropped reveals nobody


def test_a_cross_table_of_systems_says_fewer_than_k_not_zero_for_a_small_overlap(tmp_path):
    """The report's "which systems know which customers" masked a pair sharing 4 customers to 0 -- a zendesk
    whose 4 customers are its own read 0 on its own diagonal, as if it knew nobody."""
    import re

    r = Report("t", personal=TERMS)
    ov = pd.DataFrame({"crm": [40, 0], "zendesk": [0, 4]}, index=pd.Index(["crm", "zendesk"], name="known to"))
    r.table(ov, caption="systems", people=list(ov.columns))
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", r.to_html().split("systems")[1].split("</table>")[0])
    assert cells == ["crm", "40", "0", "zendesk", "0", "fewer than 10"]  # 0 reveals nobody: shown as it is
    assert any("shown as “fewer than 10” in “systems”" in n for n in r.privacy_notes)


def test_a_count_with_a_blank_in_a_merged_row_reads_whole_not_with_decimals():
    """The voice topics' verbatims read "12.00": the "other" row a small group is merged into leaves the column
    blank there, which made it a float column, and the report showed floats with two decimals (the page: 12)."""
    import re

    r = Report("t", personal=TERMS)
    r.table(pd.DataFrame({"label": ["a", "b"], "verbatims": [12.0, float("nan")], "mean_nps": [2.92, 7.0]}),
            caption="topics")
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", r.to_html().split("topics")[1].split("</table>")[0])
    assert cells == ["a", "12", "2.92", "b", "", "7.00"]  # a mean beside other means keeps its decimals


def test_the_other_row_names_itself_once_not_in_every_text_column():
    """The voice topics' "other" row read "other (3 groups under 10)" under label, side, trend, stage and quote."""
    r = Report("t", personal=TERMS)
    r.table(pd.DataFrame({"label": ["a", "b", "c"], "customers": [40, 6, 5], "trend": ["up", "down", "flat"]}),
            caption="topics")
    html = r.to_html()
    assert html.count("other (2 groups under 10)") == 1 and ">down<" not in html and ">flat<" not in html


def test_data_in_report_text_is_shown_never_run():
    """Report prose carries values from the data (an order's currency, a channel's name): raw HTML, character
    references and javascript: links in them are written out as text. Was: an order currency of
    `<img src=x onerror=...>` (its script written as character references, which survive upper-casing) ran in
    the report, and `jane&#64;example.com` passed the redactor and showed as an address."""
    r = Report("t", personal=TERMS)
    r.markdown("Currencies: **<IMG SRC=X ONERROR=&#97;&#108;&#101;&#114;&#116;(1)>**, <script>x()</script>; "
               "mail jane&#64;example.com; [open](javascript:alert(1)) ![pixel](https://tracker.example/p.png)")
    html = r.blocks[-1].html
    assert "<IMG" not in html and "<script" not in html and "&#97;" not in html.replace("&amp;#97;", "")
    assert "&lt;IMG SRC=X" in html and "jane&amp;#64;example.com" in html
    assert "javascript:" not in html and 'href="#"' in html and "tracker.example" not in html and "pixel" in html
    r.markdown("R&D > 0, `a & b`, | x |")  # an ampersand is an ampersand, in text and in code
    assert "R&amp;D" in r.blocks[-1].html and "<code>a &amp; b</code>" in r.blocks[-1].html


def test_names_in_figures_from_pandas_columns_are_masked():
    """plotly keeps a pandas column as a numpy array of objects: names, streets and postcodes in it were not
    masked (only lists were walked), while the table beside the figure showed `[name]`."""
    df = pd.DataFrame({"who": ["referral Jane Doe", "12 Mill Lane", "LS1 4AB"], "customers": [20, 30, 40]})
    for fig in (go.Figure(go.Bar(x=df["who"], y=df["customers"])), px.bar(df, x="who", y="customers")):
        fig.update_traces(customdata=df[["who"]].to_numpy())  # a 2-d array of objects too
        r = Report("t", personal=TERMS)
        r.figure(fig, "by who")
        html = r.to_html()
        for leak in ("Jane Doe", "Mill Lane", "LS1 4AB"):
            assert leak not in html, leak
        assert "referral [name]" in html


def test_privacy_notes_and_list_cells_are_redacted():
    """A table's caption and a figure's title are quoted in the privacy notes, and a table cell can hold a list
    (shown joined): both reached the page unredacted."""
    r = Report("t", personal=TERMS)
    r.table(pd.DataFrame({"channel": ["web", "kiosk"], "customers": [120, 3]}), caption="calls for Jane Doe")
    r.table(pd.DataFrame({"label": ["a"], "quotes": [["mail jane.doe@example.com", "Jane Doe"]], "customers": [30]}))
    fig = go.Figure(go.Bar(x=["a", "b"], y=[50, 3]))
    fig.update_layout(title="Calls from Jane Doe 07700 900123")
    r.figure(fig, counts=True)
    html = r.to_html()
    for leak in LEAKS:
        assert leak not in html, leak
    assert "calls for [name]" in html


def test_postcodes_after_a_short_word_and_names_of_several_words_are_masked():
    """The postcode pattern took a short word and the postcode's first half together ("in LS1") and never tried
    the postcode itself; names were pairs of single words, so "Mary Ann van der Berg" was never masked."""
    terms = PersonalTerms.from_frame(pd.DataFrame({
        "first_name": ["Jane", "Mary Ann"], "last_name": ["Doe", "van der Berg"],
        "street": ["12 Mill Lane", "1 High St"], "postcode": ["LS1 4AB", "M1 1AA"]}))  # fmt: skip
    assert terms.redact("Call Jane in LS1 4AB") == "Call Jane in [postcode]"
    assert terms.redact("Deliver to M1 1AA now, or ls1-4ab") == "Deliver to [postcode] now, or [postcode]"
    assert terms.redact("Mary Ann van der Berg's order; MARY ANN VAN DER BERG") == "[name]'s order; [name]"
    assert terms.redact("Jane Doe Jane Doe, Mary Ann, Ann van der Berg") == "[name] [name], Mary Ann, Ann van der Berg"


def test_small_cells_of_a_heatmap_of_customers_are_left_out():
    """The voice section's heatmap (customers who wrote about a topic at a stage) went into the report without the
    small-group rule: a cell of 2 customers showed. Its small cells are now blank and the privacy note counts them."""
    fig = go.Figure(go.Heatmap(z=[[120, 3], [0, 45]], x=["delivery", "refund"], y=["Purchase", "Repeat"]))
    r = Report("t")
    r.figure(fig, "Topics by journey stage", counts=True)
    html = r.to_html()
    assert '"z":[[120,null],[0,45]]' in html.replace(" ", "")
    assert "1 chart element(s) describing fewer than 10 customers" in html


def test_the_voice_heatmap_counts_each_customer_once():
    """A customer who wrote five tickets about a topic at a stage is one customer in that cell, not five."""
    import ibis

    from cxlib.voice.report import stage_topic_figure

    v = ibis.memtable(pd.DataFrame({"customer_id": ["a"] * 5 + ["b", None], "stage": ["purchase"] * 7,
                                    "topic": [0] * 7}))  # fmt: skip
    fig = stage_topic_figure(v, pd.DataFrame({"topic": [0], "label": ["delivery"]}))
    assert fig.data[0].z.tolist() == [[2.0]]


def test_a_report_that_cannot_be_written_leaves_the_earlier_one_whole(tmp_path, monkeypatch):
    """`cx report` on a full disk wrote the file in place: a traceback and the HTML cut off mid-text, the earlier
    good report gone. It is written beside it and renamed over it now; a full disk is said, not a traceback."""
    import errno
    import os

    import pytest

    from cxlib.report.page import Report
    from cxlib.schema import DataError

    out = tmp_path / "r.html"
    Report("Journey review").save(out)
    before = out.read_text()
    real = os.replace

    def full(src, dst):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(DataError, match="the disk is full"):
        Report("Another review").save(out)
    monkeypatch.setattr(os, "replace", real)
    assert out.read_text() == before and [p.name for p in tmp_path.iterdir()] == ["r.html"]
    mask = os.umask(0o077)  # a report with personal data, written by a user who shares nothing: the owner's alone
    try:
        Report("Private review").save(tmp_path / "p.html")
    finally:
        os.umask(mask)
    assert (tmp_path / "p.html").stat().st_mode & 0o777 == 0o600
