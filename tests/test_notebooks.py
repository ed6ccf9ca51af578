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
    env = {**os.environ, "CX_WORKSPACE": str(workspace)}
    proc = subprocess.run([sys.executable, str(notebook)], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr[-3000:]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_passes_marimo_check(notebook):
    marimo = Path(sys.executable).parent / "marimo"
    proc = subprocess.run([str(marimo), "check", str(notebook)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "issue" not in proc.stdout.lower(), proc.stdout + proc.stderr
