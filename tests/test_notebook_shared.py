"""The served pages' shared results (cxlib.notebook.memo, staged, journey_start) and cx app's preload."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from cxlib import journeys, notebook, serve

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def journeys_ws(workspace, tmp_path_factory) -> Path:
    """A copy of the session workspace after `cx journeys` (journey_touchpoints, journey_sankey ...)."""
    folder = tmp_path_factory.mktemp("shared_ws")
    shutil.copy(workspace / "workspace.duckdb", folder / "workspace.duckdb")
    journeys.build(folder)
    return folder


def test_memo_computes_once_per_workspace_file_and_arguments(journeys_ws):
    calls = []

    def frame(n, filters=None):
        calls.append((n, filters))
        return pd.DataFrame({"n": [n]})

    a = notebook.memo(journeys_ws, frame, 1, filters={"channel": ["web", "app"]})
    b = notebook.memo(str(journeys_ws), frame, 1, filters={"channel": ["web", "app"]})
    assert calls == [(1, {"channel": ["web", "app"]})]  # the same folder and values: kept
    assert a.equals(b) and a is not b  # each caller gets its own copy
    b.loc[0, "n"] = 99
    assert notebook.memo(journeys_ws, frame, 1, filters={"channel": ["web", "app"]})["n"].tolist() == [1]
    notebook.memo(journeys_ws, frame, 1, filters={"channel": ["app", "web"]})  # another order: another filter
    assert len(calls) == 2
    stat = (journeys_ws / "workspace.duckdb").stat()  # the workspace file changed: computed again
    os.utime(journeys_ws / "workspace.duckdb", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    notebook.memo(journeys_ws, frame, 1, filters={"channel": ["web", "app"]})
    assert len(calls) == 3


def test_memo_keeps_no_exception_and_tabs_share_one_computation(journeys_ws):
    calls = []
    gate = threading.Event()

    def slow(x):
        calls.append(x)
        gate.wait(5)
        return x

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        notebook.memo(journeys_ws, boom)
    with pytest.raises(RuntimeError):
        notebook.memo(journeys_ws, boom)  # tried again, not kept
    got = []
    tabs = [threading.Thread(target=lambda: got.append(notebook.memo(journeys_ws, slow, 7))) for _ in range(3)]
    for t in tabs:
        t.start()
    gate.set()
    for t in tabs:
        t.join()
    assert got == [7, 7, 7] and calls == [7]


def test_the_first_view_is_what_the_staged_copy_gives(journeys_ws):
    """journey_start (nothing staged) offers what the staged copy holds, and its Sankey is the copy's."""
    start = notebook.journey_start(journeys_ws)
    assert start.kept is not None
    staged = journeys.staged_touchpoints(journeys_ws)
    span = staged.aggregate(lo=staged.ts.min(), hi=staged.ts.max()).to_pandas().iloc[0]
    assert (start.lo, start.hi) == (span["lo"], span["hi"])
    assert start.channels == sorted(staged.select("channel").distinct().to_pandas()["channel"].dropna())
    assert start.events == sorted(staged.select("event").distinct().to_pandas()["event"].dropna())
    assert start.personas == journeys.persona_choices(staged)
    window = {"start": str(start.lo.date()), "end": f"{start.hi.date()} 23:59:59"}
    fresh = staged.select(*staged.columns)  # the same rows, not the kept table: computed from the rows
    for k in (3, 5, 8):
        args = {"on": "stage", "collapse": True, "max_steps": k, "filters": {}, **window}
        pd.testing.assert_frame_equal(start.sankey_links(journeys_ws, **args), journeys.sankey_links(fresh, **args))
    # a filter is computed on the shared staged copy, not read from what was kept
    web = {"on": "stage", "collapse": True, "max_steps": 4, "filters": {"channel": ["web"]}, **window}
    pd.testing.assert_frame_equal(start.sankey_links(journeys_ws, **web), journeys.sankey_links(fresh, **web))


def test_without_cx_journeys_the_page_starts_from_the_staged_copy(workspace):
    start = notebook.journey_start(workspace)  # unified only: nothing kept
    assert start.kept is None and start.channels and start.events
    flows = start.sankey_links(workspace, on="stage", collapse=True, max_steps=3, filters={})
    assert flows["step"].max() == 2


def test_the_server_preloads_what_pages_import_but_not_plotly():
    """cx app imports the pages' common modules before it answers, never plotly (whose figure formatter marimo
    registers only on an import inside a kernel)."""
    code = "import sys; from cxlib import serve; serve.preload(); print(sorted(m for m in sys.modules if m in " \
           f"{serve.PRELOAD!r} or m.split('.')[0] in ('plotly', 'matplotlib')))"  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout
    loaded = ast.literal_eval(out.strip())
    assert "plotly" not in loaded and "matplotlib" not in loaded
    assert {"pandas", "ibis", "cxlib.metrics"} <= set(loaded)


def test_the_personas_page_fits_once_per_choice_and_as_a_fit_by_hand(workspace, monkeypatch):
    from cxlib import personas

    fits = []
    real = personas.PersonaModel.fit
    monkeypatch.setattr(personas.PersonaModel, "fit", lambda self, X, y=None: fits.append(1) or real(self, X, y))
    features = ["orders_per_month", "avg_order_value", "share_web"]
    a = notebook.persona_fit(workspace, features, 3, "kmeans")
    b = notebook.persona_fit(str(workspace), list(features), 3, "kmeans")  # a second tab: kept, a copy
    assert len(fits) == 1 and a is not b and (a.labels_ == b.labels_).all()
    f = personas.customer_features(workspace, anonymous=False)
    by_hand = real(personas.PersonaModel(n_personas=3, features=features, random_state=0),
                   f[f["frequency"] > 0].reset_index(drop=True))
    assert (by_hand.labels_ == a.labels_).all()
    pd.testing.assert_frame_equal(notebook.persona_features(workspace), f)


def test_a_page_says_when_a_step_is_older_than_its_inputs(workspace, monkeypatch, tmp_path):
    """Readers say when something is stale: under each page's opening, the stale steps and their commands; nothing
    when every step is current, or without a workspace (the cells below say what to build)."""
    from cxlib import lineage

    assert "older than the data" not in notebook.stale_note(workspace).text  # (its orders mix EUR and GBP)
    assert notebook.stale_note(tmp_path).text == notebook.mo.md("").text
    real = lineage.code_fingerprint  # the unify package edited since it ran (as after an upgrade)
    monkeypatch.setattr(lineage, "code_fingerprint", lambda step: "edited" if step == "unify" else real(step))
    html = notebook.stale_note(workspace).text
    assert "older than the data" in html and "is stale: its code (cxlib/unify) changed" in html
    assert f"cx refresh {workspace}" in html and f"cx unify {workspace}" in html


def test_an_amount_that_rounds_to_nothing_reads_0_not_minus_0():
    """The strategy page's lifetime values showed "-0 EUR/GBP" for a value of -0.3."""
    import pandas as pd

    t = notebook.table(pd.DataFrame({"gain": [-0.3, -2.6, 1234.4]}), money=("gain",), currency="GBP")
    shown = t._format_mapping["gain"]
    assert [shown(v) for v in (-0.3, -2.6, 1234.4)] == ["0 GBP", "-3 GBP", "1,234 GBP"]


def test_a_stage_nobody_was_in_at_a_month_end_has_no_lifetime_value_not_0():
    """The strategy page's lifetime values read 0 for onboarding in every segment: nobody is in onboarding at a
    month end (it lasts under a month), so the model had nothing to value it by."""
    import pandas as pd

    from cxlib import simulate

    h = pd.DataFrame({"customer_id": ["a", "a", "b", "b"], "stage": ["repeat", "repeat", "repeat", "lost"],
                      "month": pd.to_datetime(["2024-01-31", "2024-02-29"] * 2), "revenue": [10.0, 10, 10, 0]})
    m = simulate.JourneyModel(stages=["onboarding", "repeat", "lost"], prior=0.0).fit(h)
    t = m.clv_table()
    assert t["onboarding"].isna().all() and (t["repeat"] > 0).all()
    assert m.clv()["onboarding"] == 0  # the chain's own number is unchanged; only the table leaves it out
