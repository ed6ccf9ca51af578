"""The notebooks as apps: how long a viewer waits, in headless Chromium. Prints a markdown table.

Usage: python benchmarks/bench_apps.py [FOLDER] [--shots DIR]   (default: data/demo, built by `cx demo --no-serve`)

Serves FOLDER's notebooks with `cx app` (a free localhost port, a token) and opens each page in a new tab
(a new browser context: a fresh marimo session, so a new kernel runs the notebook from the top), with
Playwright driving the system Chromium (never `playwright install`). For every page:

- **first output**: until the first plotly chart is drawn (pages without a chart: the first table);
- **page done**: until the last cell's export button shows (it depends on the page's other cells), or
  the page stops early because the workspace lacks a table (the row says which);

and on the journeys page, the Sankey drawn (first output), then two controls:

- **Steps slider**: one step more, until the Sankey has redrawn with more nodes;
- **customers behind a link**: the first link in the list under the Sankey, until its customer table shows;
- **Window slider**: the funnel's conversion window one day longer, until the funnel has redrawn;
- **persona filter**: the first persona picked, until the Sankey has redrawn, and until the journey map has;

and on the strategy page, **lever**: the conversion lever one step up, until the plan's fan chart has redrawn;
on the unify page, **threshold**: the match threshold one step up, until both threshold curves show it.

``--pages 03_journeys 03_journeys`` opens the page twice: the second tab is a new marimo session on the same
server (what a second viewer gets).

The server and its marimo children are stopped with their process group afterwards. ``--shots DIR`` also
saves a screenshot of each page once done.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "bench-apps-token-9d3e"
PAGES = ["00_workspace", "01_unify", "02_personas", "03_journeys", "04_strategy", "05_voice"]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
_SANKEY_NODES = (
    "els => els.filter(e => e._fullData && e._fullData.length && e._fullData[0].type === 'sankey')"
    ".map(e => e._fullData[0].node.label.length)"
)
EXPORT_TEXT = re.compile("(Download|Export) this page as a report")  # the last cell (05_voice: a run button)
#: a page stopped early: "The workspace has no `X` table yet. Run ...", or "... no customer text yet" (voice)
STOPPED = re.compile(r"(table|customer text) yet")
#: what marimo's app view shows when a cell raises (the traceback goes to the server's log): the page stops
#: there, and waiting for its figures would take the whole timeout
FAILED = "An internal error occurred"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(folder: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """`cx app FOLDER` on a free port, in its own process group; returns the process and the base URL once up."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "cxlib.cli", "app", str(folder), "--port", str(port), "--token", TOKEN],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"cx app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    stop(proc)
    sys.exit(f"cx app did not answer within 120 s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen) -> None:
    """Stop the server and its marimo children (its process group): SIGTERM, then SIGKILL."""
    for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


_FIGURE = (
    "(els, kind) => { for (const e of els) { const d = e._fullData && e._fullData[0];"
    " if (d && d.type === kind) return JSON.stringify(kind === 'sankey' ? d.link.value :"
    " kind === 'funnel' ? d.x : d.cells.values); } return null; }"
)
WAIT = 120  # seconds a control may take before the row says it did not redraw


def _sankey_nodes(page) -> int:  # noqa: ANN001 - a Playwright page
    nodes = page.locator(".js-plotly-plot").evaluate_all(_SANKEY_NODES)
    return nodes[0] if nodes else 0


def _figure(page, kind: str) -> str | None:  # noqa: ANN001 - a Playwright page
    """What the page's first plotly figure of type ``kind`` (sankey, funnel, table) shows, as text."""
    return page.locator(".js-plotly-plot").evaluate_all(_FIGURE, kind)


def _until_changed(page, kind: str, before: str | None, t0: float) -> float:  # noqa: ANN001
    """Seconds from ``t0`` until the figure of type ``kind`` shows something else than ``before`` (NaN: never)."""
    while time.perf_counter() - t0 < WAIT:
        if _figure(page, kind) not in (before, None):
            return time.perf_counter() - t0
        time.sleep(0.05)
    return float("nan")


def open_page(browser, base: str, name: str, shots: Path | None) -> dict:  # noqa: ANN001 - a Playwright browser
    """Open one page in a new context (tab); the seconds to its first output and to its export button."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(300_000)
    t0 = time.perf_counter()
    page.goto(f"{base}/?file={name}.py&access_token={TOKEN}")
    first = ".js-plotly-plot .sankey-node" if name == "03_journeys" else ".js-plotly-plot, table"
    failed = page.get_by_text(FAILED).first
    # the first output, or the page stopped at once (no table yet), or a cell raised
    page.locator(first).or_(page.get_by_text(STOPPED)).or_(failed).first.wait_for(state="visible")
    t_first = time.perf_counter() - t0
    done = page.get_by_text(EXPORT_TEXT).or_(page.get_by_text(STOPPED)).or_(failed).first
    done.wait_for(state="visible")
    t_done = time.perf_counter() - t0
    row = {"page": name, "first output s": t_first, "page done s": t_done}
    if failed.is_visible():
        row["page"] += " (a cell raised: see the traceback above)"
        context.close()
        return row
    if not EXPORT_TEXT.search(done.inner_text()):
        row["page"] += f" (stopped: {done.inner_text().strip()[:60]})"
    if name == "03_journeys":
        row.update(journeys_controls(page))
    if name == "04_strategy":
        row.update(strategy_controls(page))
    if name == "01_unify":
        row.update(unify_controls(page))
    if shots is not None:  # marimo scrolls inside #App: the window is made as tall as the page first
        height = page.evaluate("() => (document.getElementById('App') || document.body).scrollHeight")
        page.set_viewport_size({"width": 1400, "height": min(height + 100, 16_000)})
        page.wait_for_timeout(1000)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    context.close()
    return row


def journeys_controls(page) -> dict:  # noqa: ANN001 - a Playwright page
    """On the journeys page: seconds for the Steps slider to redraw the Sankey, and for a link's customers to show."""
    out = {}
    before = _sankey_nodes(page)
    steps = page.get_by_role("slider").first
    steps.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowRight")
    while _sankey_nodes(page) <= before and time.perf_counter() - t0 < 120:
        time.sleep(0.05)
    out["Steps slider s"] = time.perf_counter() - t0
    page.wait_for_timeout(1000)  # let the dropdown below the Sankey rerun too
    page.get_by_test_id("marimo-plugin-searchable-dropdown").locator("button").first.click()
    option = page.get_by_role("option").filter(has_text="→").first
    t0 = time.perf_counter()
    option.click()
    page.get_by_text("Download these").first.wait_for(state="visible")
    out["customers behind a link s"] = time.perf_counter() - t0
    page.wait_for_timeout(500)
    before = _figure(page, "funnel")
    window = page.get_by_role("slider").nth(1)
    window.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowRight")
    out["Window slider s"] = _until_changed(page, "funnel", before, t0)
    page.wait_for_timeout(500)
    sankey, table = _figure(page, "sankey"), _figure(page, "table")
    page.locator("marimo-multiselect").nth(1).get_by_role("button").first.click()  # Personas
    option = page.get_by_role("option").first
    t0 = time.perf_counter()
    option.click()
    out["persona filter: Sankey s"] = _until_changed(page, "sankey", sankey, t0)
    out["persona filter: journey map s"] = _until_changed(page, "table", table, t0)
    page.keyboard.press("Escape")
    return out


def unify_controls(page) -> dict:  # noqa: ANN001 - a Playwright page
    """On the unify page (a generated workspace, with its truth): seconds for the match threshold, one step up
    (0.95 -> 0.955), to show in the truth's threshold curve and in the model's own estimated curve."""
    slider = page.get_by_role("slider").first
    if not slider.count():
        return {}
    page.wait_for_timeout(500)
    slider.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowRight")
    while page.get_by_role("cell", name="0.955", exact=True).count() < 2 and time.perf_counter() - t0 < WAIT:
        time.sleep(0.05)
    return {"threshold s": time.perf_counter() - t0}


def strategy_controls(page) -> dict:  # noqa: ANN001 - a Playwright page
    """On the strategy page: seconds for the conversion lever, one step up (+10% -> +15%), to redraw the plan's
    fan chart (its legend names the plan by its levers)."""
    page.wait_for_timeout(500)
    lever = page.get_by_role("slider").first
    lever.focus()
    t0 = time.perf_counter()
    page.keyboard.press("ArrowRight")
    page.locator(".js-plotly-plot", has_text="conversion +15%").first.wait_for(state="visible", timeout=WAIT * 1000)
    return {"lever s": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="data/demo")
    parser.add_argument("--shots", type=Path, default=None, help="save a screenshot of each page here")
    parser.add_argument("--pages", nargs="*", default=PAGES)
    a = parser.parse_args()
    folder = Path(a.folder)
    if not (folder / "workspace.duckdb").exists():
        sys.exit(f"{folder}: no workspace.duckdb; run `cx demo --no-serve` first")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if chromium is None:
        sys.exit("no Chromium on this machine (scripts/install-system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    if a.shots:
        a.shots.mkdir(parents=True, exist_ok=True)
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench_apps_{os.getpid()}.log"
    proc, base = serve(folder, log)
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=ARGS)
            try:
                for name in a.pages:
                    rows.append(open_page(browser, base, name, a.shots))
                    print(f"  {name}: done", file=sys.stderr)
                    if "a cell raised" in rows[-1]["page"]:
                        print(_traceback(log), file=sys.stderr)
            finally:
                browser.close()
    finally:
        stop(proc)
    print_table(rows, folder)


def _traceback(log: Path) -> str:
    """The server log's last traceback (what a raising cell printed)."""
    text = log.read_text(errors="replace")
    return text[text.rfind("Traceback") :][-3000:] if "Traceback" in text else text[-3000:]


def print_table(rows: list[dict], folder: Path) -> None:
    cols = ["page", "first output s", "page done s", "Steps slider s", "customers behind a link s", "Window slider s",
            "persona filter: Sankey s", "persona filter: journey map s", "lever s", "threshold s"]  # fmt: skip
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"\n`cx app {folder}`, headless Chromium, one new tab per page, {os.cpu_count()} cores (load {load})\n")
    print("| " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * (len(cols) - 1))
    for r in rows:
        cells = [r["page"], *(f"{r[c]:.1f}" if c in r else "" for c in cols[1:])]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
