"""Every notebook runs top to bottom as a script against a real workspace."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from cxlib import metrics, notebook

from .conftest import chromium_path, require

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.py"))


@pytest.fixture(scope="module")
def headline(workspace):
    return metrics.headline(workspace)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, workspace, headline):
    env = {**os.environ, "CX_WORKSPACE": str(workspace), "CX_EXPORT": "1"}
    proc = subprocess.run([sys.executable, str(notebook)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    # the export cell wrote the page's own report: one offline file, no identifiers
    page = workspace / "reports" / f"{notebook.stem}.html"
    assert page.exists(), "the notebook's export cell did not write its report"
    html = page.read_text()
    assert "<h1>" in html and "Privacy" in html and "@" not in html.split("<main>")[1].split("</main>")[0]
    # one number per question: every headline number the page shows is the metrics layer's value
    for name, raw in metrics_tags(html):
        assert float(raw) == pytest.approx(metrics.value(headline, name), rel=1e-9, abs=1e-9), (name, raw)


def metrics_tags(html: str) -> list[tuple[str, str]]:
    """The ``data-metric``/``data-value`` pairs of a page."""
    import re

    return re.findall(r'data-metric="([^"]+)" data-value="([^"]+)"', html)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_passes_marimo_check(notebook):
    marimo = Path(sys.executable).parent / "marimo"
    proc = subprocess.run([str(marimo), "check", str(notebook)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "issue" not in proc.stdout.lower(), proc.stdout + proc.stderr


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_every_page_takes_its_folder_and_exports_through_the_shared_glue(notebook):
    """The attack below is run on one page; every page must be built the same way: the folder from
    notebook.workspace_folder() (fixed in `cx app`), exports through notebook.export (a download in the
    browser), never a folder box of its own or a report saved on the server (05_voice once had both)."""
    src = notebook.read_text()
    assert "notebook.workspace_folder()" in src and "notebook.export(" in src
    assert "notebook.stale_note(folder)" in src  # each page says when a step is older than its inputs
    assert "mo.ui.text(value=os.environ" not in src and "CX_WORKSPACE\", " not in src
    assert ".save(" not in src and "run_button(label=\"Export" not in src


# --- served as an app: the workspace is the server's, exports go to the viewer's browser -----------------------

TOKEN = "notebook-test-token-7c1e"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _files(folder: Path) -> dict[str, float]:
    """Every file under ``folder`` with its modification time: what the server may not change."""
    return {str(p.relative_to(folder)): p.stat().st_mtime for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def unify_app(workspace, tmp_path):
    """`cx app WORKSPACE --notebook unify`, with CX_EXPORT=1 in its environment: its base URL.

    CX_EXPORT makes a script write its report on disk; an app must ignore it. The server's process group is
    killed afterwards.
    """
    port = _free_port()
    log = tmp_path / "server.log"
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))  # this checkout's cxlib
    env = {**os.environ, "CX_EXPORT": "1", "PYTHONPATH": path}
    cmd = [sys.executable, "-m", "cxlib.cli", "app", str(workspace), "--notebook", "unify", "--port", str(port)]
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*cmd, "--token", TOKEN],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "cx app did not answer:\n" + log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.3)
        yield base
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.mark.slow
@pytest.mark.browser
def test_app_viewer_cannot_point_the_page_at_another_folder_or_write_on_the_server(unify_app, workspace, tmp_path):
    """The attack: set every UI element's value to another folder over the API, then export."""
    chromium = chromium_path()
    require(chromium is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    elsewhere = tmp_path / "elsewhere"  # where an attacker would point the page (and an export)
    before = _files(workspace)
    shots = tmp_path / "artifacts"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
            page = context.new_page()
            page.set_default_timeout(120_000)
            headers: dict[str, str] = {}

            def _keep_headers(request):
                if "marimo-session-id" in request.headers and not headers:
                    headers.update({k: v for k, v in request.headers.items() if k.startswith("marimo-")})

            page.on("request", _keep_headers)
            page.goto(f"{unify_app}/?access_token={TOKEN}")
            page.get_by_text(notebook.EXPORT_LABEL).wait_for()  # the last cell ran
            shots.mkdir()
            page.screenshot(path=str(shots / "unify_app.png"))
            # the Customer 360 block shows no one's record before a search
            assert page.get_by_text("nothing is shown before a search").count() == 1
            # the folder is shown, not editable: no input holds it
            assert page.get_by_text(f"{workspace}").count() >= 1
            assert page.get_by_label("Workspace folder").count() == 0
            assert str(workspace) not in page.locator("input").evaluate_all("els => els.map(e => e.value).join()")

            # set_ui_element_value needs no click: send the other folder to every element on the page
            elements = page.locator("marimo-ui-element").evaluate_all(
                "els => els.map(e => [e.getAttribute('object-id'), e.firstElementChild.tagName.toLowerCase()])"
            )
            assert elements and headers, "no UI elements or no API request seen"

            def _set(object_id: str, value: str) -> None:
                r = context.request.post(
                    f"{unify_app}/api/kernel/set_ui_element_value",
                    headers={**headers, "Content-Type": "application/json"},
                    data=json.dumps({"objectIds": [object_id], "values": [value]}),
                )
                assert r.ok, (r.status, r.text())

            for object_id, _ in elements:
                _set(object_id, str(elsewhere))
            # the channel is live: the Customer 360 box takes a value and its cell reruns ...
            (search,) = [object_id for object_id, tag in elements if tag == "marimo-text"]
            _set(search, "C-nobody-here")
            page.get_by_text("No customer for C-nobody-here").wait_for()
            # ... yet the page still reads the server's workspace
            assert page.get_by_text("No workspace at").count() == 0
            assert page.get_by_text(f"{workspace}").count() >= 1
            assert page.get_by_text("rows joined by probabilistic match").count() == 1

            # the export downloads to the browser
            with page.expect_download() as info:
                page.get_by_text(notebook.EXPORT_LABEL).click()
            report = tmp_path / "downloaded.html"
            info.value.save_as(report)
            assert info.value.suggested_filename == "01_unify.html"
        finally:
            browser.close()
    html = report.read_text()
    assert "<h1>Unified customers</h1>" in html and "@" not in html.split("<main>")[1].split("</main>")[0]
    # ... and nothing was written on the server: not in the workspace, not in the other folder
    assert _files(workspace) == before
    assert not elsewhere.exists()


@pytest.fixture(scope="module")
def orders_only(tmp_path_factory):
    from .io_helpers import write_orders_only_shop

    return write_orders_only_shop(tmp_path_factory.mktemp("orders_only"))


@pytest.mark.slow
@pytest.mark.parametrize("name", ["03_journeys", "04_strategy", "05_voice"])
def test_pages_run_on_an_orders_only_shop(name, orders_only):
    """A real shop's first workspace is often its orders alone (CDNOW): no funnel events, no pre-sale
    journeys, no campaign holdout, no customer text. The pages say so and go on (the strategy page crashed on
    the missing pre-sale lever, the journeys page never offered its export, the voice page raised)."""
    env = {**os.environ, "CX_WORKSPACE": str(orders_only), "CX_EXPORT": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / f"{name}.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if name != "05_voice":  # the voice page stops at once: nothing to hear
        assert (orders_only / "reports" / f"{name}.html").exists()
    if name == "04_strategy":  # why there is no attribution, not an empty chart with axes from -1 to 6
        html = (orders_only / "reports" / f"{name}.html").read_text()
        assert "No purchase had a marketing touch" in html and "Attributed revenue by channel" not in html


@pytest.fixture(scope="module")
def a_week_of_web_analytics(tmp_path_factory):
    """A shop whose first workspace is one week of its GA4 export and nothing else: no contact records, one
    system, one month end (issue 17's week of web analytics)."""
    import shutil

    from cxlib import io, journeys, personas, synth, unify
    from cxlib.synth.exports import write_exports

    full, folder = tmp_path_factory.mktemp("ga4_all"), tmp_path_factory.mktemp("ga4_week")
    write_exports(synth.generate(n_customers=400, seed=5, months=3), full)
    (folder / "ga4").mkdir()
    for day in sorted((full / "ga4").glob("events_*.parquet"))[-7:]:
        shutil.copy(day, folder / "ga4" / day.name)
    (folder / "sources.yml").write_text(io.suggest_sources(folder))
    io.load(folder)
    unify.unify(folder)
    journeys.build(folder)
    personas.write_personas(folder, personas.PersonaModel(random_state=0), random_state=0)
    return folder


@pytest.mark.slow
@pytest.mark.parametrize("name", ["01_unify", "04_strategy"])
def test_pages_run_on_a_week_of_web_analytics(name, a_week_of_web_analytics):
    """Both pages raised on it: the unify page looked up contact records that were never loaded, and the
    strategy page fitted a model on one month end. Now the unify page says there is one system and nothing to
    review, and the strategy page stops its forecast with the reason (attribution and impact go on)."""
    env = {**os.environ, "CX_WORKSPACE": str(a_week_of_web_analytics), "CX_EXPORT": "1"}
    proc = subprocess.run(
        [sys.executable, str(ROOT / "notebooks" / f"{name}.py")], env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    if name == "01_unify":
        assert (a_week_of_web_analytics / "reports" / "01_unify.html").exists()


@pytest.mark.slow
def test_personas_on_a_week_of_orders_say_what_they_stand_on(a_week_of_web_analytics):
    """`cx personas` and the report named groups ("long-standing") from a week of orders without a word of
    warning. Now they and the personas page say how many days and buyers the personas stand on."""
    from typer.testing import CliRunner

    from cxlib import notebook, personas, report
    from cxlib.cli import app

    folder = a_week_of_web_analytics
    note = personas.thin_evidence(folder)
    assert note.startswith("These personas stand on 3 days of orders (2024-03-27 to 2024-03-29) from 2 buyers")
    assert "too short to see who buys again, and too few" in note and notebook.persona_evidence(str(folder)) == note
    out = CliRunner().invoke(app, ["personas", str(a_week_of_web_analytics)]).output
    assert f"Note: {note}" in out
    assert note in report.standard_report(a_week_of_web_analytics, sections=["personas"]).to_html()


def test_a_plan_saved_in_an_app_stays_in_the_page_and_writes_nothing(tmp_path, monkeypatch):
    """The strategy page's "Save this plan" wrote plans.json (and its lock) into the workspace from a read-only
    app: a viewer wrote on the server, and every other viewer saw the plan. In an app it is kept for the page; in
    the editor it is saved in the workspace as before."""
    from cxlib import simulate

    plan = simulate.Scenario("your plan: AOV +5%", [simulate.Scenario.aov(1.05)])
    kept, said = notebook.keep_plan(str(tmp_path), plan, [])
    again, _ = notebook.keep_plan(str(tmp_path), plan, kept)
    assert [p.name for p in again] == [plan.name] and "writes nothing in the workspace" in said
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(notebook, "editable", lambda: True)  # marimo's editor (cx edit)
    (tmp_path / "workspace.duckdb").touch()
    kept, said = notebook.keep_plan(str(tmp_path), plan, [])
    assert (tmp_path / simulate.PLANS_FILE).exists() and said.startswith("Saved")
