"""HTML output checked in a real headless Chromium, offline.

The workspace's activity chart, written as one self-contained HTML file, must draw in Chromium with no
network: plotly.js inlined, no external requests. Later report tests reuse the ``render`` helper.
"""

from __future__ import annotations

import subprocess

import plotly.express as px
import pytest

import cxlib

from .conftest import chromium_path, require

pytestmark = pytest.mark.browser

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def render(html_path, tmp_path) -> str:
    """The DOM of a local HTML file after Chromium ran its scripts."""
    chromium = chromium_path()
    require(chromium is not None, "Chromium")
    profile = tmp_path / "profile"
    proc = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            html_path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_activity_chart_draws_offline(workspace, tmp_path):
    with cxlib.connect(workspace, read_only=True) as ws:
        activity = ws.monthly_activity()
    fig = px.line(activity, x="month", y="rows", color="table_name")
    page = tmp_path / "activity.html"
    fig.write_html(page, include_plotlyjs=True, full_html=True)
    html = page.read_text()
    assert "https://" not in html.split("<body>")[1].split("<script")[0]  # nothing fetched from the network
    dom = render(page, tmp_path)
    assert 'class="main-svg"' in dom  # plotly drew its SVG
    assert dom.count('class="scatterlayer') >= 1 and "events" in dom
