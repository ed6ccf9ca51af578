"""Every notebook runs top to bottom as a script against a real workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.py"))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(notebook, workspace):
    env = {**os.environ, "CX_WORKSPACE": str(workspace), "CX_EXPORT": "1"}
    proc = subprocess.run([sys.executable, str(notebook)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]
    # the export cell wrote the page's own report: one offline file, no identifiers
    page = workspace / "reports" / f"{notebook.stem}.html"
    assert page.exists(), "the notebook's export cell did not write its report"
    html = page.read_text()
    assert "<h1>" in html and "Privacy" in html and "@" not in html.split("<main>")[1].split("</main>")[0]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_passes_marimo_check(notebook):
    marimo = Path(sys.executable).parent / "marimo"
    proc = subprocess.run([str(marimo), "check", str(notebook)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "issue" not in proc.stdout.lower(), proc.stdout + proc.stderr
