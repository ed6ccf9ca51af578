"""Reports: one offline HTML file, privacy by default, rendered in a real headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from typer.testing import CliRunner

import cxlib
from cxlib import metrics, report, simulate, synth, unify
from cxlib.cli import app

from .conftest import chromium_path, require
from .test_metrics import _same, _tagged

pytestmark = pytest.mark.xdist_group("report")

ARTIFACTS = Path(os.environ.get("CX_TEST_ARTIFACTS", Path(__file__).resolve().parent.parent / "artifacts"))


def _page_without_plotly(html: str) -> str:
    """The report without the inlined plotly.js library (which holds many words and numbers of its own)."""
    return html.replace(get_plotlyjs(), "")


# -- building blocks -------------------------------------------------------------------------------------


def test_redact_text_masks_emails_and_phones_not_numbers():
    s = "Mail jo.b+x@shop.co.uk or call 07903-125-291, +44 7000 031069, 00447155345287; 12,345.60 on 2026-01-31"
    out = report.redact_text(s)
    assert "@" not in out and out.count("[phone]") == 3 and "12,345.60" in out and "2026-01-31" in out


def test_metrics_and_captions_are_masked_too():
    r = report.Report("t")
    r.metric("Top complainer jo@x.com", "+44 7700 900123", delta="ask jo@x.com")
    r.table(pd.DataFrame({"a": [1]}), "from jo@x.com")
    r.figure(go.Figure(), "sent by jo@x.com")
    html = r.to_html()
    assert "jo@x.com" not in html and "7700 900123" not in html and html.count("[email]") == 4


def test_identifier_columns_removed_unless_include_pii(tmp_path):
    df = pd.DataFrame(
        {"email": ["a@b.co"], "last_name": ["Moore"], "persona_name": ["Big spenders"], "customers": [50]}
    )
    safe = report.Report("t")
    safe.table(df, "people")
    html = safe.to_html()
    assert "a@b.co" not in html and "Moore" not in html and "Big spenders" in html
    assert "Identifier column(s) email, last_name removed" in html
    full = report.Report("t", include_pii=True)
    full.table(df, "people")
    html = full.to_html()
    assert "a@b.co" in html and "Moore" in html and "includes personal data" in html


def test_small_groups_merged_into_other_or_left_out():
    df = pd.DataFrame({"channel": ["web", "tv", "radio", "fax"], "customers": [100, 6, 5, 2], "rate": [0.1] * 4})
    r = report.Report("t", min_group_size=10)
    r.table(df, "channels")
    html = r.to_html()
    assert "other (3 groups under 10)" in html and ">13<" in html and ">radio<" not in html
    assert "3 row(s) describing fewer than 10 customers merged into “other”" in html
    r2 = report.Report("t", min_group_size=10)
    r2.table(df.iloc[[0, 3]], "channels")
    assert "left out" in r2.to_html() and ">fax<" not in r2.to_html()
    r3 = report.Report("t", min_group_size=0)
    r3.table(df, "channels")
    assert ">fax<" in r3.to_html()


def test_figure_suppression_of_small_sankey_links_and_bars():
    sk = go.Figure(
        go.Sankey(node={"label": ["a", "b", "c"]}, link={"source": [0, 0], "target": [1, 2], "value": [50, 3]})
    )
    bar = go.Figure(go.Bar(x=["x", "y"], y=[40, 4], text=[40, 4]))
    r = report.Report("t")
    r.figure(sk, "flows", counts=True)
    r.figure(bar, "bars", counts=True)
    r.figure(go.Figure(go.Bar(x=["x", "y"], y=[40, 4])), "revenue, not counts")
    assert "1 chart element(s) describing fewer than 10 customers were left out of “flows”." in r.privacy_notes
    assert "1 chart element(s) describing fewer than 10 customers were left out of “bars”." in r.privacy_notes
    assert len(r.privacy_notes) == 2


def test_a_funnel_step_of_fewer_customers_than_the_smallest_group_is_left_out():
    """The report's purchase funnel showed "8 customers" at its last step under a table that left that step out
    (fewer than 10): a funnel is horizontal by default, and the values were looked for on its axis of names."""
    from cxlib import journeys
    from cxlib.report.privacy import _suppress_figure

    f = pd.DataFrame({"step": [1, 2, 3], "name": ["product_view", "add_to_cart", "purchase"],
                      "customers": [356, 155, 8]})
    r = report.Report("t")
    r.figure(journeys.funnel_figure(f, "Purchase funnel"), "Purchase funnel", counts=True)
    assert "1 chart element(s) describing fewer than 10 customers were left out of “Purchase funnel”." in (
        r.privacy_notes)
    fig = journeys.funnel_figure(f, "Purchase funnel")
    assert _suppress_figure(fig, 10) == 1
    assert list(fig.data[0].x) == [356, 155, None]
    assert list(fig.data[0].y) == ["product view", "add to cart", "purchase"]


def test_points_of_a_count_over_time_under_the_smallest_group_are_left_out():
    """The journeys page's export drew "customers at each stage over time" with months of 3 customers in a stage;
    the standard report masked them. Now any figure of counts leaves such points out."""
    from cxlib import journeys

    wide = pd.DataFrame({"awareness": [40, 3, 0], "repeat": [12, 15, 9]},
                        index=pd.to_datetime(["2024-01-31", "2024-02-29", "2024-03-31"]))
    r = report.Report("t")
    r.figure(journeys.stage_counts_figure(wide), "Stages over time", counts=True)
    assert "2 chart element(s) describing fewer than 10 customers were left out of “Stages over time”." in (
        r.privacy_notes)


def test_a_sankey_node_left_without_links_is_left_out_and_the_links_renumbered():
    """Small links left out, a node that no link touches any more kept its fixed place: plotly then drew the
    figure out of place (a column's nodes in the one before, labels apart from their bars)."""
    from cxlib.report.privacy import _suppress_figure

    sk = go.Figure(go.Sankey(
        node={"label": ["a", "b", "tiny", "c"], "x": [0.0, 0.5, 0.5, 1.0], "y": [0.5, 0.3, 0.9, 0.3],
              "color": ["red", "green", "blue", "grey"]},
        link={"source": [0, 0, 1], "target": [1, 2, 3], "value": [50, 3, 40]},
    ))  # fmt: skip
    assert _suppress_figure(sk, 10) == 1
    tr = sk.data[0]
    assert list(tr.node.label) == ["a", "b", "c"] and list(tr.node.x) == [0.0, 0.5, 1.0]
    assert list(tr.node.color) == ["red", "green", "grey"]
    assert list(tr.link.source) == [0, 1] and list(tr.link.target) == [1, 2] and list(tr.link.value) == [50, 40]


def test_page_is_self_contained_with_plotly_inlined_once(tmp_path):
    r = report.Report("Quarter", as_of="2026-03-31", sources=["crm", "web"])
    r.section("One")
    for i in range(3):
        r.figure(go.Figure(go.Scatter(x=[1, 2], y=[i, i + 1])), f"fig {i}")
    r.section("Two")
    r.metric("Customers", 1234, "+5%")
    r.markdown("Some *prose* with a [link](#s1).")
    html = r.save(tmp_path / "deep" / "r.html").read_text()
    assert html.count(get_plotlyjs()) == 1 and html.count("Plotly.newPlot") == 3
    rest = _page_without_plotly(html)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", rest), "no external resource"
    assert "<link" not in rest and "@import" not in rest
    assert "Data as of 2026-03-31" in html and "Sources: crm, web" in html and "Generated " in html
    assert '<a href="#s1">One</a>' in html and '<a href="#s2">Two</a>' in html


def test_shares_show_as_percentages_and_sort_by_their_number():
    r = report.Report("t", min_group_size=0)
    r.table(pd.DataFrame({"step": ["view", "buy"], "conversion_from_start": [1.0, 0.0241], "conversions": [5, 2],
                          "order_rate": [0.5, 2.5], "error": [1.354, -0.2]}))  # fmt: skip
    html = r.to_html()
    assert 'data-v="0.0241">2.4%</td>' in html and ">100.0%</td>" in html
    assert ">135.4%</td>" in html and ">-20.0%</td>" in html  # an error over 100% too
    assert ">2.50</td>" in html and ">5</td>" in html  # a rate over 1 and a count stay numbers


def test_page_without_figures_has_no_plotly():
    r = report.Report("t")
    r.markdown("just text")
    assert "Plotly" not in r.to_html()


# -- the standard report on a generated workspace ---------------------------------------------------------


@pytest.fixture(scope="module")
def standard(full_workspace, tmp_path_factory) -> Path:
    r = report.standard_report(full_workspace)
    return r.save(tmp_path_factory.mktemp("report") / "journey_report.html")


def test_the_scenario_table_shows_money_in_whole_units(standard):
    """Gains under 1,000 showed two decimals (779.71) beside 16,487 and the strategy page's 780; attributed
    revenue likewise."""
    import re

    html = standard.read_text()
    table = html.split("Scenarios ranked by revenue gain")[1].split("</table>")[0]
    rows = [re.findall(r"<td[^>]*>([^<]*)</td>", r) for r in table.split("<tr>")[2:]]
    assert rows and all(len(r) >= 6 for r in rows)
    money = [cell for r in rows for cell in (r[1], r[2], r[3], r[4], r[6]) if cell]
    assert money and all(re.fullmatch(r"-?[0-9]{1,3}(,[0-9]{3})*", c) for c in money), money
    # and the customers a lever reaches a month as whole customers (556, not 556.00)
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", table.split("<tr>")[1])
    at = next(i for i, h in enumerate(heads) if "reached" in h)
    reach = [r[at] for r in rows if r[at]]
    assert reach and all(re.fullmatch(r"[0-9]{1,3}(,[0-9]{3})*", c) for c in reach), reach
    # the attributed revenue too (625.98 beside 108,941)
    table = html.split("Attributed revenue by channel (columns: models)")[1].split("</table>")[0]
    cells = [c for r in table.split("<tr>")[2:] for c in re.findall(r'<td class="num"[^>]*>([^<]*)</td>', r)]
    assert cells and all(re.fullmatch(r"-?[0-9]{1,3}(,[0-9]{3})*", c) for c in cells), cells


def test_standard_report_has_every_section(standard):
    html = standard.read_text()
    names = ("At a glance", "Customers and sources", "Personas", "Journeys", "Strategy", "Attribution", "Privacy")
    positions = [html.find(f">{name}</a>") for name in names]
    assert -1 not in positions and positions == sorted(positions), dict(zip(names, positions, strict=True))
    glance = html.split('">At a glance</h2>')[1].split("<h2")[0]
    assert glance.count("<li>") == 4 and "most valuable persona" in glance and "this model was within" in glance
    assert "Why did they not buy?" in html and "Scenarios ranked by revenue gain" in html
    assert "New customers in the forecast:" in html and "New customers a month: observed" in html
    assert "Did the win-back campaign work?</strong> The campaign " in html  # the verdict in words
    assert standard.stat().st_size < 6_000_000


def test_the_persona_bars_print_their_counts_with_separators(full_workspace, monkeypatch):
    # as the stage chart does ("1,200"): a bare "346382" on a million customers was hard to read
    seen: dict[str, go.Figure] = {}
    figure = report.Report.figure

    def kept(self, fig, caption="", counts=False):  # noqa: ANN001, ANN202
        seen[caption] = go.Figure(fig)
        return figure(self, fig, caption, counts)

    monkeypatch.setattr(report.Report, "figure", kept)
    report.standard_report(full_workspace, sections=["personas"])
    (bar,) = seen["Customers per persona"].data
    assert list(bar.text) == [f"{int(v):,}" for v in bar.y] and "%{y:,}" in bar.hovertemplate


def test_a_personas_share_is_the_one_cx_personas_and_the_page_give(standard, full_workspace):
    """The report took a persona's share over every row of `personas`, prospects included (15.6% on the demo),
    while `cx personas` and the personas page give it among the customers with orders (27.1%): the same label,
    two numbers. Now the report's is theirs; the glance also puts the revenue share against all revenue."""
    with cxlib.connect(full_workspace, read_only=True) as ws:
        p = ws.table("personas").to_pandas()
    buyers = p[p["persona"] >= 0]
    want = buyers.groupby("persona_name").size() / len(buyers)  # profiles_["share"]: the mean of each mask
    html = standard.read_text()
    table = html.split("Personas: size, value and high-value customers")[1].split("</table>")[0]
    shown = {}
    for row in table.split("<tr>")[2:]:
        cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
        shown[cells[0]] = cells[2]
    for name, share in want.items():
        if name in shown and shown[name] != "fewer than 10":
            assert shown[name] == f"{share:.1%}", (name, shown[name], share)
    assert "of the customers with orders and" in html.split('">At a glance</h2>')[1].split("<h2")[0]


def test_the_strategy_page_shows_the_backtest_cx_simulate_stored_and_the_report_shows(
    standard, full_workspace, tmp_path
):
    """One number: the strategy page's backtest error is the one `cx simulate` stored (personas as of the
    cutoff), which the report and the metrics layer show -- not one of its own from the whole workspace's
    personas; with nothing stored, the page computes that same backtest."""
    import subprocess
    import sys

    with cxlib.connect(full_workspace, read_only=True) as ws:
        stored = simulate.stored_backtest(ws)
        again = simulate.workspace_backtest(ws, simulate.complete_history(ws), arrivals=str(stored.attrs["arrivals"]))
    err = simulate.backtest_error(stored)
    assert err == pytest.approx(simulate.backtest_error(again), abs=1e-12)
    assert metrics.value(metrics.headline(full_workspace, ["levers"]), "backtest_error") == pytest.approx(err, abs=1e-4)
    assert f'data-metric="backtest_error" data-value="{round(err, 4)}"' in standard.read_text()
    kind = stored.attrs["purchases"].split(" -- ")[0]  # what the backtest's purchase buckets kept apart, and why
    assert f"What its purchase history kept apart in this backtest: {kind} -- " in standard.read_text()
    notebook = Path(__file__).resolve().parent.parent / "notebooks" / "04_strategy.py"
    shutil.copy(full_workspace / "workspace.duckdb", tmp_path / "workspace.duckdb")  # the export writes reports/
    env = {**os.environ, "CX_WORKSPACE": str(tmp_path), "CX_EXPORT": "1"}
    proc = subprocess.run([sys.executable, str(notebook)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    page = (tmp_path / "reports" / "04_strategy.html").read_text()
    assert f'data-metric="backtest_error" data-value="{round(err, 4)}"' in page
    assert f"was off by <strong>{err:+.0%}</strong>" in page
    assert "purchase history keeps apart: months since the last purchase" in page


def test_the_strategy_page_reads_the_presets_cx_simulate_stored(full_workspace):
    """The page's presets at `cx simulate`'s horizon are the stored ones (the report's lever gains), in
    simulate's shape and order -- equal to simulating them again; at another horizon there are none to read."""
    names = [s.name for s in simulate.PRESETS]
    with cxlib.connect(full_workspace, read_only=True) as ws:
        months = int(ws.table("scenarios").to_pandas()["month"].max())
        kept = simulate.stored_scenarios(ws, names, months)
        history = simulate.complete_history(ws)
        assert simulate.stored_scenarios(ws, names, months + 1) is None
    live = simulate.simulate(simulate.persona_model(history), list(simulate.PRESETS), months=months, draws=500)
    pd.testing.assert_frame_equal(kept, live)  # the fixture's `cx simulate` drew 500 too
    # the page's list is `cx simulate`'s: the pre-sale fix too (the page left it out; the CLI and report show it)
    with cxlib.connect(full_workspace, read_only=True) as ws:
        stored = set(ws.table("scenarios").to_pandas()["scenario"]) - {"baseline"}
    assert {s.name for s in simulate.workspace_scenarios(history)} == stored and simulate.SERVICE_FIX in stored


def test_each_metric_has_one_value_in_the_full_report(standard, full_workspace):
    """The whole report: each tagged metric shows one value, the metrics layer's. (Every notebook's export is
    checked against the same layer by tests/test_notebooks.py::test_notebook_runs, so the pages agree.)"""
    h = metrics.headline(full_workspace)
    html = standard.read_text()
    assert "why the customer counts differ" in html
    seen = _tagged(html)
    assert {"rows_loaded", "customers_known", "journey_customers", "attribution_value"} <= set(seen)
    for name, values in seen.items():
        assert len(values) == 1, (name, values)
        assert _same(next(iter(values)), metrics.value(h, name)), name


def test_standard_report_holds_no_personal_data(standard, full_workspace):
    """None of the workspace's e-mails, phones or surnames appear anywhere in the shared report."""
    rest = _page_without_plotly(standard.read_text())
    with cxlib.connect(full_workspace, read_only=True) as ws:
        c = ws.table("contacts").select("email", "phone", "last_name").to_pandas()
        emails = set(ws.table("events").email.to_pandas().dropna()) | set(c["email"].dropna())
    for e in emails:
        assert e not in rest, e
    for p in c["phone"].dropna().unique():
        digits = re.sub(r"\D", "", p)
        assert p not in rest and digits not in rest, p
    surnames = {s for s in c["last_name"].dropna().unique() if len(s) >= 3}
    found = [s for s in surnames if re.search(rf"(?<![A-Za-z0-9+/]){re.escape(s)}(?![A-Za-z0-9+/])", rest)]
    assert not found


def test_sections_missing_steps_say_which_command_adds_them(workspace):
    r = report.standard_report(workspace, sections=["personas", "strategy"])
    html = r.to_html()
    assert "run `cx personas" not in html  # rendered as code
    assert "cx personas FOLDER</code>" in html and "cx simulate FOLDER</code>" in html


def test_unknown_section_is_a_clear_error(workspace):
    with pytest.raises(ValueError, match="unknown report section"):
        report.standard_report(workspace, sections=["nope"])


def test_cli_report(full_workspace, tmp_path):
    out = tmp_path / "r.html"
    res = CliRunner().invoke(app, ["report", str(full_workspace), "--out", str(out), "--min-group-size", "5"])
    assert res.exit_code == 0, res.output
    assert out.exists() and "report written to" in res.output
    res = CliRunner().invoke(app, ["report", str(tmp_path / "nowhere")])
    assert res.exit_code == 2 and "run `cx load" in res.output


@pytest.mark.slow
def test_report_and_attribution_paths_close_what_they_open(workspace, tmp_path):
    folder = tmp_path / "ws"
    folder.mkdir()
    shutil.copy(workspace / "workspace.duckdb", folder / "workspace.duckdb")
    report.standard_report(folder, sections=["customers"])  # read-only
    cxlib.connect(folder).close()  # read-write: fails while a read-only handle is open
    paths = report.attribution_paths(folder)
    cxlib.connect(folder).close()
    assert paths["conversions"].sum() > 0


def test_page_assets_are_package_data():
    """The page's template, CSS and JS ship in the wheel: pyproject's package-data patterns cover each one."""
    import fnmatch
    import tomllib

    root = Path(__file__).resolve().parent.parent
    patterns = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["cxlib"]
    assets = [p.relative_to(root / "cxlib").as_posix() for p in (root / "cxlib" / "report" / "assets").iterdir()]
    assert len(assets) == 3
    assert [a for a in assets if not any(fnmatch.fnmatch(a, pat) for pat in patterns)] == []


# -- in a real browser ------------------------------------------------------------------------------------


@pytest.mark.browser
def test_report_renders_offline_in_chromium(standard):
    chromium = chromium_path()
    require(chromium is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    requests: list[str] = []
    problems: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            page = ctx.new_page()
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))
            page.goto(standard.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('svg.main-svg').length >= 8", timeout=30_000)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "journey_report_first_screen.png"))
            assert page.locator("g.sankey-node").count() >= 5  # the stage Sankey drew its nodes
            assert page.locator("g.funnellayer path").count() >= 1 or page.locator(".funnellayer").count() >= 1
            fan = page.locator(".js-plotly-plot", has_text="Cumulative revenue against the baseline")
            assert fan.count() == 1 and fan.locator("g.scatterlayer g.trace").count() >= 2
            # tables sort without a network: click "customers" in the personas table, largest last → first
            table = page.locator("table.sortable", has_text="Personas: size, value")
            header = table.locator("th", has_text="customers")
            header.click()
            header.click()
            first = table.locator("tbody tr").first.locator("td").nth(1).inner_text()
            values = [int(x.replace(",", "")) for x in table.locator("tbody tr td:nth-child(2)").all_inner_texts()]
            assert int(first.replace(",", "")) == max(values)
        finally:
            browser.close()
    assert not problems, problems
    assert [u for u in requests if not u.startswith("file://")] == [], "no request leaves the file"


def test_an_orders_only_shop_gets_sentences_not_empty_diagnoses(tmp_path):
    """A shop that exports its orders alone (CDNOW-like: no browsing, no e-mail, one system): the report says
    there is nothing before a purchase to diagnose or attribute, instead of "0% ... converted at 0% against 0%"
    and a bar of "(none)" per attribution model."""
    from .io_helpers import write_orders_only_shop

    write_orders_only_shop(tmp_path)
    html = report.standard_report(tmp_path, sections=["customers", "journeys", "attribution"]).to_html()
    assert "Nobody was seen considering a purchase" in html and "converted at 0% against 0%" not in html
    assert "No purchase had a marketing touch" in html and "Attributed revenue by channel" not in html
    assert re.search(r">1</span> system;", html)


def _report_without(folder: Path, *left_out: str) -> str:
    """The standard report of a small generated company whose ``left_out`` source tables were never exported."""
    from cxlib import journeys

    from .io_helpers import write_company_tables

    company = synth.generate(n_customers=300, seed=4, months=6)
    company.tables = {n: df for n, df in company.tables.items() if n not in left_out}
    write_company_tables(folder, company)
    cxlib.load(folder)
    unify.unify(folder)
    journeys.build(folder)
    return report.standard_report(folder).to_html()


def test_a_workspace_without_orders_is_told_what_is_missing_not_shown_zeros(tmp_path):
    """A CRM, a helpdesk and surveys without the orders (or web purchases): the report's glance said the
    customers with a pre-sale question "converted at 0% against 0%", and the personas and strategy sections
    said to run steps that stop for want of buyers."""
    html = _report_without(tmp_path, "orders", "events")
    assert "converted at 0% against 0%" not in html
    assert "Nobody who considered a purchase made one" in html
    assert "this workspace has no orders" in html and "run <code>cx personas" not in html
    assert "No forecast: the journey model forecasts revenue" in html


def test_without_a_helpdesk_the_drop_off_is_not_split_into_zero_and_everyone(tmp_path):
    """A week of GA4 alone: the glance said "0% had an unresolved pre-sale question; they converted at 0%
    against 6% without one" -- a comparison with an empty group."""
    html = _report_without(tmp_path, "tickets")
    assert "had an unresolved pre-sale question; they converted at" not in html
    assert "Nobody who considered a purchase had a pre-sale service failure in the data" in html


def test_one_system_is_said_not_tabled_against_itself(tmp_path):
    """An orders export alone: the report tabled the one system against itself."""
    (tmp_path / "orders.csv").write_text(
        "source,order_id,email,ts,amount,status\n"
        "shop,1,a@example.com,2024-03-01,10,completed\nshop,2,b@example.com,2024-03-02,12,completed\n"
    )
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    html = report.standard_report(tmp_path).to_html()
    assert "Only one system knows customers by name or id (shop): nothing to compare." in html
    assert "Which systems know which customers" not in html


def test_a_report_on_anonymous_rows_alone_says_why_not_a_timestamp_error(tmp_path):
    """Orders with no customer column: every customer anonymous, no touchpoint to stage. ``cx report`` failed
    with "NaTType does not support timestamp"; now it says what journeys need (exit 2)."""
    (tmp_path / "orders.csv").write_text(
        "source,order_id,ts,amount,status\nshop,1,2024-03-01,10,completed\nshop,2,2024-03-02,12,completed\n"
    )
    cxlib.load(tmp_path)
    unify.unify(tmp_path)
    r = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert r.exit_code == 2 and "NaT" not in r.output, r.output
    assert "Journeys need the events, orders, tickets or surveys of known people" in r.output


def test_the_glance_says_a_step_is_stale_in_the_words_the_pages_use():
    """A step whose code changed read "load ran before its changed" in the report's glance (the first word of the
    reason taken for a step's name). Now the glance gives the reason as the pages do."""
    from cxlib.lineage import Stale
    from cxlib.report.standard import _at_a_glance

    r = report.Report("t")
    _at_a_glance(r, ["a headline"], [Stale("load", "its code (cxlib/io) changed since it ran"),
                                      Stale("unify", "load is stale")])
    html = r.to_html()
    assert "load is stale (its code (cxlib/io) changed since it ran): run <code>cx load</code>" in html
    assert "unify is stale (load is stale): run <code>cx unify</code>" in html and "ran before its" not in html


def test_observed_months_of_few_new_customers_are_left_out_of_the_arrivals_chart():
    """The report's "new customers a month" drew months of 3 new customers, where the stage counts month by month
    leave such a month out; the forecast's months (model numbers, not people) stay."""
    from cxlib.report.standard import _observed_groups_only

    t = pd.DataFrame({"month_start": pd.date_range("2024-01-01", periods=5, freq="MS"),
                      "arrivals": [90.0, 3, 12, 0, 4.2], "model": "recent", "chosen_by": "backtest",
                      "kind": ["already there", "observed", "observed", "observed", "forecast"]})
    r = report.Report("t")
    out = _observed_groups_only(t, r, "New customers")
    assert out["arrivals"].iloc[0] == 90 and pd.isna(out["arrivals"].iloc[1])  # "already there": not drawn
    assert out["arrivals"].iloc[2] == 12 and out["arrivals"].iloc[3] == 0 and out["arrivals"].iloc[4] == 4.2
    assert r.privacy_notes == [
        "1 chart element(s) describing fewer than 10 customers were left out of “New customers”."]
    assert _observed_groups_only(t, report.Report("t", min_group_size=0), "x") is t
