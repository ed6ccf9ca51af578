"""Every notebook served by `cx app` on a fully built workspace, in headless Chromium: each page's main content.

The workspace has every step run as the CLI runs them (load, unify, journeys, personas, scenarios), so no page
stops early; each page is screenshotted whole into the test's artifacts folder for review.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from cxlib import personas

from .conftest import chromium_path, require
from .test_app import TOKEN, _serving


@pytest.fixture(scope="module")
def full_server(full_workspace, tmp_path_factory):
    """`cx app` on the fully built test workspace (journeys, personas and scenarios kept): every page's content."""
    with _serving(full_workspace, tmp_path_factory) as base:
        yield base


#: the text of a slider's nearest ancestor that has any (its value when shown, else its label)
_NEAREST_TEXT = (
    "e => { for (let n = e.parentElement, i = 0; n && i < 6; n = n.parentElement, i++) {"
    " const t = (n.textContent || '').trim(); if (t) return t; } return ''; }"
)
#: each page and a text its main content shows once it has run on the fully built workspace
PAGES = {
    "00_workspace": "Rows per table and source system",
    "01_unify": "Customers known to both systems",
    "02_personas": "What sets each persona apart",
    "03_journeys": "Journeys by step (stages)",
    "04_strategy": "Backtest: revenue forecast vs what happened",
    "05_voice": "Topics and their quotes (redacted)",
}


def _open(browser, base: str, name: str):
    """A new tab on notebook ``name``, recording its console errors and every URL it requests."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(240_000)
    errors: list[str] = []
    requested: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda x: errors.append(str(x)))
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{base}/?file={name}.py&access_token={TOKEN}")
    return page, errors, requested


def _whole_page_screenshot(page, path: Path) -> None:
    """The whole page: marimo scrolls inside its ``#App`` element, so the window is made as tall as that."""
    height = page.evaluate("() => document.getElementById('App').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": min(height + 100, 16_000)})
    page.wait_for_timeout(1500)  # plotly redraws for the new size
    page.screenshot(path=str(path), full_page=True)


def _persona_filter_options(page) -> list[str]:
    """The choices the journeys page's persona filter offers (opened, read, closed)."""
    page.get_by_label("Personas (all when empty)").click()
    options = page.get_by_role("option")
    options.first.wait_for(state="visible")
    texts = [t.strip() for t in options.all_inner_texts()]
    page.keyboard.press("Escape")
    return [t for t in texts if t not in ("Select all", "Deselect all")]


#: the right edge of each plotly chart, px (marimo draws them in shadow roots, which Playwright's locators enter)
_PLOT_RIGHTS = "els => els.map(e => Math.round(e.getBoundingClientRect().right))"


def _charts_fit_the_column(page, name: str) -> None:
    """No chart runs past the page's column (the title's width): side by side, one ran off it, legend and all."""
    column = page.locator("h1").first.evaluate("e => Math.round(e.getBoundingClientRect().right)")
    rights = page.locator(".js-plotly-plot").evaluate_all(_PLOT_RIGHTS)
    assert rights and max(rights) <= column + 1, f"{name}: a chart runs past the column ({rights} > {column})"


def _check_content(page, name: str, persona_names: set[str]) -> None:
    """The concrete content of page ``name``, beyond its marker text."""
    buyers = persona_names - {personas.PROSPECTS}
    if name == "02_personas":  # the personas table: one row per persona, by name
        for n in buyers:
            assert page.get_by_role("cell", name=n, exact=True).count() >= 1, f"02_personas: no row for {n!r}"
    elif name == "03_journeys":
        assert page.locator(".js-plotly-plot .sankey-node").count() > 0
        options = _persona_filter_options(page)
        assert set(options) == persona_names, f"03_journeys: the persona filter offers {options}"
        assert not [o for o in options if o.lstrip("-").replace(".", "").isdigit()], options
    elif name == "04_strategy":  # a model per persona (personas exist), held against the past, ranked scenarios
        assert page.get_by_text("fitted on (their monthly stages), per persona").count() == 1
        assert page.get_by_text("one chain").count() == 0
        assert page.get_by_role("cell", name="baseline", exact=True).count() >= 1
    elif name == "05_voice":
        assert page.get_by_text("What customers write about, by journey stage").count() == 1


@pytest.mark.browser
@pytest.mark.xdist_group("app")
def test_every_page_renders_offline_without_console_errors(full_server, full_workspace, tmp_path_factory):
    """Each notebook served as an app on a fully built workspace, in Chromium: its main content drawn (the personas
    table, the persona filter by name, the strategy backtest ...), every chart within the column, no console
    error, no request outside the machine, every slider showing its value; a whole-page screenshot of each in
    the test's artifacts folder."""
    chromium = chromium_path()
    require(chromium is not None, "Chromium")
    from playwright.sync_api import sync_playwright

    import cxlib

    with cxlib.connect(full_workspace, read_only=True) as ws:
        persona_names = set(ws.table("personas").persona_name.to_pandas())
    assert personas.PROSPECTS in persona_names and len(persona_names) > 2
    shots = tmp_path_factory.mktemp("artifacts")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            # every page opened at once: their kernels run side by side, and each is checked when it is done
            tabs = {name: _open(browser, full_server, name) for name in PAGES}
            for name, (page, errors, requested) in tabs.items():
                done = page.get_by_text("this page as a report").or_(page.get_by_text("table yet")).first
                done.wait_for(state="visible")
                assert page.get_by_text("table yet").count() == 0, f"{name} stopped early; see {shots}"
                page.get_by_text(PAGES[name]).first.wait_for(state="visible")
                page.wait_for_timeout(1000)
                _check_content(page, name, persona_names)
                _charts_fit_the_column(page, name)
                for slider in page.get_by_role("slider").all():
                    value = slider.get_attribute("aria-valuenow")
                    shown = slider.evaluate(_NEAREST_TEXT)
                    assert value and value in shown, f"{name}: a slider at {value} does not show it ({shown!r})"
                _whole_page_screenshot(page, shots / f"{name}.png")
                outside = [u for u in requested if urllib.parse.urlsplit(u).hostname not in ("127.0.0.1", None)]
                assert not outside, f"{name}: requests outside the machine: {outside[:5]}"
                assert not errors, f"{name}: console errors: {errors[:5]}"
                page.close()
        finally:
            browser.close()
