"""The cx command line: help with examples, clean errors, generate -> load -> summary."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from cxlib.cli import app

runner = CliRunner()
COMMANDS = [
    "generate", "sources", "validate", "load", "summary", "unify", "journeys", "personas", "simulate", "report", "demo",
]  # fmt: skip


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(command):
    r = runner.invoke(app, [command, "--help"])
    assert r.exit_code == 0 and "Example: cx " in r.output


def test_top_level_help_lists_commands():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0 and all(c in r.output for c in COMMANDS)


def test_generate_load_summary(tmp_path):
    ws = tmp_path / "co"
    r = runner.invoke(
        app, ["generate", "--customers", "300", "--seed", "2", "--months", "6", "--out", str(ws), "--no-progress"]
    )
    assert r.exit_code == 0, r.output
    assert (
        (ws / "contacts.csv").exists() and (ws / "events.parquet").exists() and (ws / "truth" / "planted.json").exists()
    )
    r = runner.invoke(app, ["validate", str(ws)])
    assert r.exit_code == 0 and "rows_quarantined" in r.output
    r = runner.invoke(app, ["load", str(ws), "--no-progress"])
    assert r.exit_code == 0 and "loaded in" in r.output, r.output
    r = runner.invoke(app, ["summary", str(ws)])
    assert r.exit_code == 0 and "events" in r.output and "date range: 2024-01" in r.output
    r = runner.invoke(app, ["unify", str(ws), "--no-progress"])
    assert r.exit_code == 0 and "customers" in r.output and "rows by rule" in r.output, r.output
    r = runner.invoke(app, ["unify", str(ws), "--incremental", "--no-progress"])
    assert r.exit_code == 0 and "since the last run: 0 customers merged, 0 split" in r.output, r.output
    r = runner.invoke(app, ["journeys", str(ws)])
    assert r.exit_code == 0 and "customers at each stage now" in r.output, r.output
    r = runner.invoke(app, ["personas", str(ws), "--personas", "3"])
    assert r.exit_code == 0 and "personas written" in r.output, r.output
    r = runner.invoke(app, ["simulate", str(ws), "--draws", "200"])
    assert r.exit_code == 0 and "conversion +10%" in r.output, r.output
    assert "purchase history in the model: months since the last purchase" in r.output, r.output
    # the report's advice, held against the backtest just stored (the CLI printed the gains alone)
    assert "This 12-month forecast has been held against only 3 months" in r.output, r.output
    r = runner.invoke(app, ["simulate", str(ws), "--backtest"])  # 12 on 6 months: as many as the history allows
    assert r.exit_code == 0 and "the history leaves 3 months to hold against the past (not 12)" in r.output, r.output
    r = runner.invoke(app, ["simulate", str(ws), "--backtest", "--months", "2", "--purchases", "count"])
    assert r.exit_code == 0 and "purchase history: months since the last purchase, and one" in r.output, r.output
    assert "(as set)" in r.output
    r = runner.invoke(app, ["simulate", str(ws), "--purchases", "often"])
    assert r.exit_code == 2 and "--purchases must be auto, recency, count, gap; not 'often'" in r.output, r.output


def test_journeys_before_unify_is_a_clear_error(tmp_path):
    ws = tmp_path / "co"
    runner.invoke(app, ["generate", "--customers", "100", "--months", "3", "--out", str(ws), "--no-progress"])
    runner.invoke(app, ["load", str(ws), "--no-progress"])
    r = runner.invoke(app, ["journeys", str(ws)])
    assert r.exit_code == 2 and "run `cx unify" in r.output, r.output


def test_data_error_exits_2_without_a_traceback(tmp_path):
    (tmp_path / "orders.csv").write_text("source,order_id\nshop,1\n")
    proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "load", str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "error: orders.csv: required columns 'ts', 'amount', 'status'" in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_demo_builds_without_serving(tmp_path):
    ws = tmp_path / "demo"
    r = runner.invoke(app, ["demo", "--out", str(ws), "--customers", "500", "--no-serve"])
    assert r.exit_code == 0, r.output
    assert (ws / "workspace.duckdb").exists() and "rows_quarantined" in r.output and "built" in r.output


@contextlib.contextmanager
def _holding(opening: str):
    """A process that runs ``opening`` (a ``with`` line holding the workspace) and waits inside it, once ready."""
    script = textwrap.dedent(opening) + '    print("ready", flush=True); time.sleep(60)\n'
    holder = subprocess.Popen([sys.executable, "-c", "import time\n" + script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        yield holder
    finally:
        holder.kill()
        holder.wait()


def test_two_steps_on_one_workspace(tmp_path):
    """A second step while one runs, and a reader while a writer holds the file: a message, exit 2, no traceback."""
    import os

    from cxlib.engine import BUSY_FILE, busy

    (tmp_path / "orders.csv").write_text("source,order_id,ts,amount,status\nshop,1,2024-03-01,10,completed\n")
    assert runner.invoke(app, ["load", str(tmp_path), "--no-progress"]).exit_code == 0
    with busy(tmp_path, "unify"):  # this process plays the running `cx unify`
        proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "journeys", str(tmp_path)], capture_output=True,
                              text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"is busy: `cx unify` (pid {os.getpid()}) started at" in proc.stderr
    assert not (tmp_path / BUSY_FILE).exists()  # released
    # a mark left by a process that died does not block
    (tmp_path / BUSY_FILE).write_text('{"step": "load", "pid": 999999999, "started": "then"}')
    with busy(tmp_path, "journeys"):
        pass
    # another process holds the DuckDB file for writing: a reader gets the busy message, not DuckDB's lock error
    with _holding(f"""
        from cxlib.engine import busy, connect
        with busy({str(tmp_path)!r}, "unify"), connect({str(tmp_path)!r}) as ws:
    """) as holder:
        proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "summary", str(tmp_path)], capture_output=True,
                              text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"is busy: `cx unify` (pid {holder.pid})" in proc.stderr
    # a reader without a mark (a `cx report`, a notebook) holds the file: a step names it, not itself (it named
    # its own mark: "busy: `cx journeys` (pid <its own>)")
    with _holding(f"""
        from cxlib.engine import connect
        with connect({str(tmp_path)!r}, read_only=True) as ws:
    """) as holder:
        proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "journeys", str(tmp_path)], capture_output=True,
                              text=True)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert f"another process (pid {holder.pid}: " in proc.stderr and "`cx journeys`" not in proc.stderr
