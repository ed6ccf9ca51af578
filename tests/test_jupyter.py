"""The JupyterLab journey explorer runs top to bottom headless, and its controls redraw its figures.

The notebook is executed with nbclient in a python3 kernel against the test workspace; an extra cell,
added to the in-memory copy only, then moves two controls as a user would and reports what the
FigureWidgets hold, which must be what cxlib computes for the same selection.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import ibis
import pytest

import cxlib
from cxlib import journeys

from .conftest import require

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "jupyter" / "journey_explorer.ipynb"
FUNNEL_STEPS = ["product_view", "add_to_cart", "checkout_start", "purchase"]

MOVE_CONTROLS = """
import json
before = len(sankey_fig.data[0].node.label)
steps.value = 7
after_steps = len(sankey_fig.data[0].node.label)
channel.value = (CHANNEL,)
print(json.dumps({"before": before, "after_steps": after_steps, "after_channel": len(sankey_fig.data[0].node.label),
                  "funnel": [int(x) for x in funnel_fig.data[0].x], "title": sankey_fig.layout.title.text}))
"""


def _execute(nb, monkeypatch, workspace: Path | str, cwd: Path):
    try:
        import anywidget  # noqa: F401  (plotly's FigureWidget needs it)
        import ipywidgets  # noqa: F401
        import nbclient
    except ImportError as e:  # pragma: no cover
        require(False, f"{e.name} (pip install -e '.[all]')")
    monkeypatch.setenv("CX_WORKSPACE", str(workspace))
    # the kernel imports the same cxlib as the tests (a worktree may shadow an editable install)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    return client.execute()


def _read():
    import nbformat

    return nbformat.read(NOTEBOOK, as_version=4)


def test_explorer_is_committed_without_outputs():
    nb = json.loads(NOTEBOOK.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)
    assert nb["cells"][0]["cell_type"] == "markdown" and "How to use it" in "".join(nb["cells"][0]["source"])


def test_explorer_runs_headless_and_its_controls_redraw(workspace, monkeypatch):
    import nbformat

    channel = "web"
    nb = _read()
    nb.cells.append(nbformat.v4.new_code_cell(f"CHANNEL = {channel!r}\n" + MOVE_CONTROLS))
    nb = _execute(nb, monkeypatch, workspace, NOTEBOOK.parent)
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    widgets = [
        o
        for c in nb.cells
        for o in c.get("outputs", [])
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "the explorer displayed no widget"
    last = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.get("name") == "stdout")
    state = json.loads(last.strip().splitlines()[-1])
    assert state["after_steps"] > state["before"]  # two more steps: more nodes
    assert state["after_channel"] != state["after_steps"]  # one channel: other flows
    staged = journeys.staged_touchpoints(workspace)
    expected = journeys.funnel(journeys.filter_touchpoints(staged, channels=[channel]), FUNNEL_STEPS, within="30D")
    assert state["funnel"] == expected["customers"].tolist()
    assert state["title"].startswith("Stages, step by step")


def test_explorer_says_what_is_missing(tmp_path, monkeypatch):
    import nbclient

    nb = _read()
    with pytest.raises(nbclient.exceptions.CellExecutionError, match="No workspace at .*make demo"):
        _execute(nb, monkeypatch, tmp_path / "nowhere", tmp_path)


def test_staged_touchpoints_carry_personas_and_filter_by_them(workspace):
    with cxlib.connect(workspace, read_only=True) as src:
        tp = src.table("touchpoints").to_pyarrow()
        links = src.table("identity_links").to_pyarrow()
    mem = ibis.duckdb.connect()
    mem.create_table("touchpoints", tp)
    mem.create_table("identity_links", links)
    t = mem.table("touchpoints")
    ids = t.select("customer_id").distinct()
    mem.create_table("personas", ids.mutate(persona=ibis.ifelse(ids.customer_id.hash() % 2 == 0, "Even", "Odd")))
    staged = journeys.staged_touchpoints(cxlib.connect(mem))
    assert "persona" in staged.columns and not any(c.endswith("_right") for c in staged.columns)
    whole = staged.count().to_pandas()
    assert whole == journeys.analysis_touchpoints(cxlib.connect(mem)).count().to_pandas()
    even = journeys.filter_touchpoints(staged, personas=["Even"])
    odd = journeys.filter_touchpoints(staged, personas=["Odd"])
    assert 0 < even.count().to_pandas() < whole
    assert even.count().to_pandas() + odd.count().to_pandas() == whole
    assert set(even.select("persona").distinct().to_pandas()["persona"]) == {"Even"}
    last_day = staged.ts.max().to_pandas().date()  # a date: the whole day, up to its last touchpoint
    on_last_day = journeys.filter_touchpoints(staged, start=last_day, end=last_day).count().to_pandas()
    assert on_last_day > 0 and on_last_day == staged.filter(staged.ts.date() == last_day).count().to_pandas()


def test_explorer_says_when_a_step_is_older_than_its_inputs(workspace, monkeypatch, tmp_path):
    """Readers say when something is stale: the explorer's first cell prints each stale step and its command."""
    import shutil

    shutil.copy(workspace / "workspace.duckdb", tmp_path / "workspace.duckdb")
    with cxlib.connect(tmp_path) as ws:  # the unify package edited since it ran (as after an upgrade)
        ws.backend.raw_sql("UPDATE workspace_steps SET code = 'edited' WHERE step = 'unify'")
    nb = _read()
    first = next(i for i, c in enumerate(nb.cells) if c.cell_type == "code")
    nb.cells = nb.cells[: first + 1]
    nb = _execute(nb, monkeypatch, tmp_path, tmp_path)
    out = "".join(o.get("text", "") for o in nb.cells[first].outputs if o.get("name") == "stdout")
    assert "warning: unify is stale (its code (cxlib/unify) changed since it ran)" in out, out
    assert f"cx refresh {tmp_path}" in out
