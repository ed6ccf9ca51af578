"""Faults, caused: a step killed half-way, a full disk, changed inputs. The workspace stays consistent."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pandas as pd
import pytest

from cxlib import lineage
from cxlib.engine import STAGING_PREFIX, connect
from cxlib.schema import DataError


def _tables(folder) -> dict[str, list]:
    with connect(folder, read_only=True) as ws:
        return {t: sorted(ws.table(t).to_pandas()["v"].tolist()) for t in ("customers", "touchpoints")}


def test_a_step_killed_half_way_leaves_the_previous_state(tmp_path):
    with connect(tmp_path) as ws, ws.step("unify"):
        ws.write("customers", pd.DataFrame({"v": [1, 2]}))
        ws.write("touchpoints", pd.DataFrame({"v": [1, 1, 2]}))
    before = _tables(tmp_path)
    script = textwrap.dedent(f"""
        import os, signal
        import pandas as pd
        from cxlib.engine import connect
        ws = connect({str(tmp_path)!r})
        with ws.step("unify"):
            ws.write("customers", pd.DataFrame({{"v": [7]}}))       # the new customers are written ...
            os.kill(os.getpid(), signal.SIGKILL)                     # ... and the step dies before touchpoints
            ws.write("touchpoints", pd.DataFrame({{"v": [7]}}))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert _tables(tmp_path) == before  # no mix of new customers and old touchpoints
    with connect(tmp_path) as ws:  # the next writer cleans what the killed one left
        assert not [t for t in ws.list_tables() if t.startswith(STAGING_PREFIX)]


def test_a_step_killed_after_its_view_leaves_the_previous_view(tmp_path):
    """A step's view is staged like its tables: killed before the swap, the old view still reads the old rows."""
    script = textwrap.dedent(f"""
        import os, signal, sys
        import pandas as pd
        from cxlib.engine import connect
        ws = connect({str(tmp_path)!r})
        with ws.step("unify"):
            ws.write("touchpoints", pd.DataFrame({{"v": [int(sys.argv[1])] * 3}}))
            ws.write_view("identity_links", lambda w: w.table("touchpoints").select("v"))
            if sys.argv[2] == "kill":
                os.kill(os.getpid(), signal.SIGKILL)
    """)
    assert subprocess.run([sys.executable, "-c", script, "1", "live"], capture_output=True).returncode == 0
    proc = subprocess.run([sys.executable, "-c", script, "7", "kill"], capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with connect(tmp_path) as ws:  # the next writer drops the staged view and table
        assert ws.table("identity_links").to_pandas()["v"].tolist() == [1, 1, 1]
        assert not [t for t in ws.list_tables() if t.startswith(STAGING_PREFIX)]


def test_an_error_inside_a_step_changes_nothing(tmp_path):
    with connect(tmp_path) as ws:
        with ws.step("unify"):
            ws.write("customers", pd.DataFrame({"v": [1]}))
            ws.write("touchpoints", pd.DataFrame({"v": [1]}))
        with pytest.raises(RuntimeError), ws.step("unify"):
            ws.write("customers", pd.DataFrame({"v": [2]}))
            raise RuntimeError("boom")
        assert ws.table("customers").to_pandas()["v"].tolist() == [1]
        assert not [t for t in ws.list_tables() if t.startswith(STAGING_PREFIX)]


def test_a_full_disk_is_a_clear_message_and_no_half_state(tmp_path, monkeypatch):
    """The disk fills during the step's write: DuckDB's error becomes a DataError, the old tables stay."""
    with connect(tmp_path) as ws:
        with ws.step("journeys"):
            ws.write("customer_stages", pd.DataFrame({"v": [1]}))
        real = ws._create  # where every write creates its table
        calls = []

        def full(name, obj=None, **kw):
            calls.append(name)
            if len(calls) == 2:
                raise OSError(28, "No space left on device")
            return real(name, obj, **kw)

        monkeypatch.setattr(ws, "_create", full)
        with pytest.raises(DataError, match="no space left on the device.*CX_TEMP_DIR") as e:
            with ws.step("journeys"):
                ws.write("customer_stages", pd.DataFrame({"v": [2]}))
                ws.write("stage_history", pd.DataFrame({"v": [2]}))
        assert "Traceback" not in str(e.value) and "unchanged" in str(e.value)
        monkeypatch.undo()
        assert ws.table("customer_stages").to_pandas()["v"].tolist() == [1]
        assert not ws.has("stage_history")
        assert not [t for t in ws.list_tables() if t.startswith((STAGING_PREFIX, "ibis_duckdb_table_"))]


def test_a_real_full_disk(tmp_path):
    """A tiny filesystem (tmpfs, needs root): the step fails with the message, the workspace stays as it was."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("needs root to mount a tiny tmpfs")
    try:
        with connect(mnt) as ws:
            with ws.step("unify"):
                ws.write("customers", pd.DataFrame({"v": [1]}))
            big = pd.DataFrame({"v": range(2_000_000), "w": [f"text {i}" for i in range(2_000_000)]})
            with pytest.raises(DataError, match="no space left"):
                with ws.step("unify"):
                    ws.write("customers", big)
        with connect(mnt, read_only=True) as ws:
            assert ws.table("customers").count().execute() == 1
    finally:
        subprocess.run(["umount", str(mnt)])


def test_a_full_disk_during_the_load_is_said_not_blamed_on_a_file(tmp_path):
    """`cx load` on a disk that fills: it was a traceback ("cannot rollback - no transaction is active" after the
    failed commit), or, when the scratch copy of a file filled it, "contacts.csv: cannot be read as a CSV table".
    Now the no-space message, and the workspace as it was."""
    mnt = tmp_path / "tiny"
    mnt.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)]).returncode:
        pytest.skip("needs root to mount a tiny tmpfs")
    try:
        rows = "".join(f"shop,O{i:08d},2024-03-01 10:{i % 60:02d}:00,{i % 500}.25,completed,c{i}@x.com\n"
                       for i in range(25_000))  # fmt: skip
        (mnt / "orders.csv").write_text("source,order_id,ts,amount,status,email\n" + rows)
        proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "load", str(mnt), "--no-progress"],
                              capture_output=True, text=True)  # fmt: skip
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
        assert "no space left on the device" in proc.stderr and "cannot be read" not in proc.stderr
    finally:
        subprocess.run(["umount", str(mnt)])


def test_a_killed_loads_scratch_files_are_removed_by_the_next_load(tmp_path):
    """`cx load` killed mid-way left its scratch Parquet copies in workspace.duckdb.tmp, and no later load removed
    them (a million customers': gigabytes). The next load removes those of loads whose process is gone."""
    from cxlib import io

    (tmp_path / "orders.csv").write_text("source,order_id,ts,amount,status\nshop,1,2024-03-01,10,completed\n")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    root = tmp_path / "workspace.duckdb.tmp"
    left = root / f"cx-load-{dead.stdout.strip()}-abc123"
    left.mkdir(parents=True)
    (left / "_cx_raw0-0.parquet").write_bytes(b"x" * 1000)
    alive = root / f"cx-load-{os.getppid()}-def456"  # a running process's: kept
    alive.mkdir()
    io.load(tmp_path, progress=False)
    assert not left.exists() and alive.exists()


def test_a_stale_step_names_the_inputs_that_ran_again_not_all_of_them():
    """personas reads unify and journeys; only journeys ran again: the reason named both ("unify, journeys ran again
    since")."""
    from cxlib import engine

    ws = engine.connect()
    for step in ("load", "unify", "journeys", "personas"):
        with ws.step(step):
            ws.write(f"t_{step}", pd.DataFrame({"v": [1]}))
    rows = lineage.steps_table(ws)
    rows.loc[rows["step"] != "personas", ["started", "finished"]] = "2026-01-01T00:00:00+00:00"
    rows.loc[rows["step"] == "personas", ["started", "finished"]] = "2026-01-02T00:00:00+00:00"
    ws.write(lineage.LINEAGE_TABLE, rows)
    with ws.step("journeys"):  # runs again now, after personas
        ws.write("t_journeys", pd.DataFrame({"v": [2]}))
    (stale,) = [s for s in lineage.stale_steps(ws) if s.step == "personas"]
    assert stale.reason == "journeys ran again since"


def test_the_engine_out_of_memory_is_said_not_a_traceback(workspace, tmp_path):
    """A memory limit too small for the step: DuckDB's OutOfMemoryException came out as a traceback."""
    shutil.copytree(workspace, tmp_path / "ws")
    env = {**os.environ, "CX_DUCKDB_MEMORY_LIMIT": "20MB"}
    proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "journeys", str(tmp_path / "ws")], capture_output=True,
                          text=True, env=env)  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-2000:]
    assert "ran out of the engine's memory (20MB" in proc.stderr and "CX_DUCKDB_MEMORY_LIMIT" in proc.stderr


def _loaded_and_two_steps(folder) -> None:
    """One order loaded, then a unify and a journeys step that write a table each: nothing is stale."""
    from cxlib import io

    (folder / "orders.csv").write_text("source,order_id,ts,amount,status\nshop,1,2024-03-01,10,completed\n")
    io.load(folder)
    with connect(folder) as ws:
        for step in ("unify", "journeys"):
            with ws.step(step):
                ws.write(f"out_{step}", pd.DataFrame({"v": [1]}))
        assert lineage.stale_steps(ws) == []


def test_changed_inputs_make_later_steps_stale(tmp_path):
    from cxlib import io

    _loaded_and_two_steps(tmp_path)
    (tmp_path / "orders.csv").write_text("source,order_id,ts,amount,status\nshop,2,2024-03-02,20,completed\n")
    io.load(tmp_path)
    with connect(tmp_path, read_only=True) as ws:
        stale = lineage.stale_steps(ws)
    assert [s.step for s in stale] == ["unify", "journeys"]
    assert "load ran again" in stale[0].reason and "cx unify" in str(stale[0])


def test_a_change_to_a_steps_code_makes_it_and_what_reads_it_stale(tmp_path, monkeypatch):
    _loaded_and_two_steps(tmp_path)
    with connect(tmp_path, read_only=True) as ws:
        assert lineage.steps_table(ws).set_index("step").loc["unify", "code"] == lineage.code_fingerprint("unify")
    # the unify package edited (or cxlib upgraded): what unify built may not be what it builds now
    real = lineage.code_fingerprint
    monkeypatch.setattr(lineage, "code_fingerprint", lambda step: "edited" if step == "unify" else real(step))
    with connect(tmp_path, read_only=True) as ws:
        stale = lineage.stale_steps(ws)
    assert [s.step for s in stale] == ["unify", "journeys"]
    assert "its code (cxlib/unify) changed" in stale[0].reason and "unify is stale" in stale[1].reason
    # a workspace built before the code was kept says nothing about it
    with connect(tmp_path) as ws:
        old = lineage.steps_table(ws).drop(columns="code")
        ws.backend.create_table(lineage.LINEAGE_TABLE, old, overwrite=True)
        assert lineage.stale_steps(ws) == []


def _consistent(folder) -> dict[str, int]:
    """Counts of the unify outputs, after checking that they describe one run: every touchpoint and link points
    at an existing customer."""
    with connect(folder, read_only=True) as ws:
        cust = ws.table("customers").select("customer_id")
        for name in ("touchpoints", "identity_links"):
            t = ws.table(name)
            orphans = t.filter(t.customer_id.notnull()).anti_join(cust, "customer_id").count().execute()
            assert orphans == 0, f"{orphans} {name} rows point at customers that do not exist"
        return {n: int(ws.table(n).count().execute()) for n in ("customers", "touchpoints", "identity_links")}


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["identity_links", "golden records"])
def test_unify_killed_at_each_phase_leaves_the_previous_run(tmp_path, workspace, phase):
    import shutil

    shutil.copytree(workspace, tmp_path, dirs_exist_ok=True)  # the session's unified company: a copy to kill
    before = _consistent(tmp_path)
    env = {**os.environ, "CX_TEST_KILL_AFTER": phase}
    proc = subprocess.run([sys.executable, "-m", "cxlib.cli", "unify", str(tmp_path), "--no-progress",
                           "--threshold", "0.5"], env=env, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    assert _consistent(tmp_path) == before
    with connect(tmp_path) as ws:  # the next writer starts clean
        assert not [t for t in ws.list_tables() if t.startswith(STAGING_PREFIX)]
    assert lineage.stale_steps(connect(tmp_path, read_only=True)) == []


def test_stale_steps_are_named_and_refreshed(tmp_path):
    """cx load of changed data: summary names the stale steps with their command; cx refresh reruns them."""
    from typer.testing import CliRunner

    from cxlib import synth
    from cxlib.cli import app

    runner = CliRunner()
    synth.write_company(tmp_path, n_customers=300, seed=2, months=6, progress=False)
    # the identity graph alone: what is stale and what refresh reruns do not depend on the matching
    for cmd in (["load", "--no-progress"], ["unify", "--no-progress", "--no-probabilistic"], ["journeys"]):
        r = runner.invoke(app, [cmd[0], str(tmp_path), *cmd[1:]])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["summary", str(tmp_path)])
    assert "stale" not in r.output
    orders = tmp_path / "orders.csv"
    orders.write_text("\n".join(orders.read_text().splitlines()[:-5]) + "\n")  # the export changed
    assert runner.invoke(app, ["load", str(tmp_path), "--no-progress"]).exit_code == 0
    r = runner.invoke(app, ["summary", str(tmp_path)])
    assert "unify is stale (load ran again since): run `cx unify" in r.output, r.output
    assert "journeys is stale (unify is stale)" in r.output
    r = runner.invoke(app, ["journeys", str(tmp_path)])  # a later step says what it reads is stale
    assert "warning: unify is stale" in r.output
    r = runner.invoke(app, ["report", str(tmp_path), "--out", str(tmp_path / "r.html")])  # and the report, first
    assert r.exit_code == 0 and r.output.index("warning: unify is stale") < r.output.index("report written"), r.output
    assert f"`cx refresh {tmp_path}` first" in r.output
    r = runner.invoke(app, ["refresh", str(tmp_path)])
    assert r.exit_code == 0 and "refreshing unify" in r.output and "refreshing journeys" in r.output, r.output
    with connect(tmp_path, read_only=True) as ws:
        assert lineage.stale_steps(ws) == []
        assert set(lineage.steps_table(ws)["step"]) == {"load", "unify", "journeys"}
    # the export changes and nobody runs `cx load`: the load itself is stale, and what it fed (was: nothing said,
    # `cx refresh` "every step is up to date", the report on the old orders)
    orders.write_text("\n".join(orders.read_text().splitlines()[:-5]) + "\n")
    (tmp_path / "tickets.csv").unlink()
    r = runner.invoke(app, ["summary", str(tmp_path)])
    assert "load is stale (its source files changed since it ran: orders.csv, tickets.csv)" in r.output, r.output
    assert "unify is stale (load is stale)" in r.output
    r = runner.invoke(app, ["refresh", str(tmp_path)])
    assert r.exit_code == 0 and "refreshing load" in r.output and "refreshing journeys" in r.output, r.output
    with connect(tmp_path, read_only=True) as ws:
        assert lineage.stale_steps(ws) == [] and not ws.has("tickets")


def test_refresh_reruns_each_step_as_it_last_ran_and_what_makes_a_step_stale(tmp_path):
    """`cx refresh` reran every stale step with its defaults: a workspace unified with --threshold 0.5 and
    staged with --include-unidentified was silently rebuilt at 0.95 and without them (5,004 customers with a
    stage -> 2,194). It reloaded files that `cx load` refuses (half the orders unreadable), exited 0 and built
    every later step on them. Editing stage_map.yml after `cx journeys` made nothing stale (churned 80 -> 221
    once rerun), and a workspace built before lineage was kept said nothing was stale."""
    import duckdb
    from typer.testing import CliRunner

    from cxlib import synth
    from cxlib.cli import app

    runner = CliRunner()
    synth.write_company(tmp_path, n_customers=200, seed=2, months=6, progress=False)
    for cmd in (["load", "--no-progress"], ["unify", "--no-progress", "--no-probabilistic"],
                ["journeys", "--include-unidentified"]):  # fmt: skip
        assert runner.invoke(app, [cmd[0], str(tmp_path), *cmd[1:]]).exit_code == 0
    with connect(tmp_path, read_only=True) as ws:
        staged = ws.table("customer_stages").count().to_pyarrow().as_py()
        assert lineage.step_options(ws, "unify")["probabilistic"] is False
    (tmp_path / "surveys.csv").write_text((tmp_path / "surveys.csv").read_text() + "\n")  # delivered again
    r = runner.invoke(app, ["refresh", str(tmp_path)])
    assert r.exit_code == 0, r.output
    assert "refreshing unify as it last ran (--no-probabilistic)" in r.output, r.output
    assert "refreshing journeys as it last ran (--include-unidentified)" in r.output
    with connect(tmp_path, read_only=True) as ws:
        assert ws.table("customer_stages").count().to_pyarrow().as_py() == staged
        assert lineage.step_options(ws, "unify")["probabilistic"] is False and lineage.stale_steps(ws) == []
    # the stage map it would use now is not the one it staged with
    (tmp_path / "stage_map.yml").write_text("inactivity: {at_risk_days: 10, churned_days: 20, lost_days: 20}\n")
    with connect(tmp_path, read_only=True) as ws:
        assert [str(s) for s in lineage.stale_steps(ws)] == [
            "journeys is stale (its stage map changed since it ran (stage_map.yml)): run `cx journeys FOLDER` or "
            "`cx refresh FOLDER`"]  # fmt: skip
    r = runner.invoke(app, ["refresh", str(tmp_path)])
    assert r.exit_code == 0 and "refreshing journeys" in r.output, r.output
    with connect(tmp_path, read_only=True) as ws:
        assert lineage.stale_steps(ws) == []
    con = duckdb.connect(str(tmp_path / "workspace.duckdb"))
    con.execute("DELETE FROM workspace_steps WHERE step = 'journeys'")  # as a workspace older than lineage
    con.close()
    with connect(tmp_path, read_only=True) as ws:
        assert [s.reason for s in lineage.stale_steps(ws)] == [
            "built before the workspace kept what each step was built from"]  # fmt: skip
    # a notebook's own stage map: not an option on record, so nothing to compare (it was "changed" at once)
    from cxlib import journeys

    (tmp_path / "stage_map.yml").unlink()
    journeys.build(tmp_path, {"inactivity": {"at_risk_days": 15, "churned_days": 30, "lost_days": 30}})
    with connect(tmp_path, read_only=True) as ws:
        assert lineage.stale_steps(ws) == []
    # a reload that `cx load` refuses
    orders = tmp_path / "orders.csv"
    lines = orders.read_text().splitlines()
    ts = lines[0].split(",").index('"ts"')
    bad = [",".join("not a date" if i == ts else v for i, v in enumerate(x.split(","))) for x in lines[1::2]]
    orders.write_text("\n".join([lines[0], *bad, *lines[2::2]]) + "\n")
    r = runner.invoke(app, ["refresh", str(tmp_path)])
    assert r.exit_code == 3 and "too many rows quarantined" in r.output, r.output
    assert "refreshing unify" not in r.output  # nothing built on what the load refused


def test_two_databases_spilling_into_one_temp_folder(tmp_path):
    """``CX_TEMP_DIR`` shared by two DuckDB databases at once (``cx unify``: the workspace's and splink's; or two
    steps running): each spills into a folder of its own, so neither reads the other's blocks. With one folder
    for both, DuckDB 1.5 crashed here (a segmentation fault; at 1M people, "Could not read enough bytes")."""
    code = textwrap.dedent("""
        import duckdb
        from cxlib.engine import duckdb_config
        cons = [duckdb.connect(config={**duckdb_config(), "memory_limit": "60MB"}) for _ in range(2)]
        for k, con in enumerate(cons):
            con.execute("SET enable_progress_bar = false")
            con.execute(f"CREATE TEMP TABLE t AS SELECT md5((range + {k})::VARCHAR) AS s FROM range(3000000)")
        for k, con in enumerate(cons):
            got = con.execute("SELECT sum(hash(s)) FROM t").fetchone()[0]
            want = con.execute(f"SELECT sum(hash(md5((range + {k})::VARCHAR))) FROM range(3000000)").fetchone()[0]
            assert got == want, k
            con.close()
        print("intact")
    """)
    temp = tmp_path / "temp"
    temp.mkdir()
    env = {**os.environ, "CX_TEMP_DIR": str(temp)}
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and r.stdout.strip() == "intact", r.stderr[-2000:]
    assert list(temp.iterdir()) == []  # each database removed its folder on close


def test_splinks_duckdb_is_closed_when_scoring_fails(tmp_path, workspace, monkeypatch):
    """An error inside splink's run (at a million people: DuckDB out of memory in predict) closes its DuckDB
    on the way out, so the blocks it spilled to ``CX_TEMP_DIR`` are removed (3.1 GB were left behind)."""
    import shutil

    import duckdb

    from cxlib import unify
    from cxlib.unify import probabilistic

    shutil.copytree(workspace, tmp_path, dirs_exist_ok=True)
    opened, connect_ = [], duckdb.connect

    def recording(*args, **kwargs):
        con = connect_(*args, **kwargs)
        if sys._getframe(1).f_code.co_name == "_match_records":  # splink's, not the workspace's
            opened.append(con)
        return con

    def failing(*args, **kwargs):
        raise RuntimeError("Out of Memory Error: failed to pin block")

    monkeypatch.setattr(duckdb, "connect", recording)
    monkeypatch.setattr(probabilistic, "_train_and_score", failing)
    with pytest.raises(RuntimeError, match="failed to pin block"):
        unify.unify(tmp_path, progress=False)
    def closed(con) -> bool:
        try:
            con.execute("SELECT 1")
        except duckdb.ConnectionException:
            return True
        return False

    assert len(opened) == 1 and closed(opened[0])


def test_a_mark_left_by_a_killed_step_whose_pid_came_back_holds_nothing(tmp_path):
    """A step killed in a container left its busy mark with pid 1, and every later `cx` there is pid 1 too: the
    workspace was "busy" for good, the process asking named as its holder. The mark keeps when its process
    started; the same pid started later is another process."""
    import json

    from cxlib.busy import BUSY_FILE, _started, busy

    mark = tmp_path / BUSY_FILE
    mine = _started(os.getpid())
    assert mine is not None  # Linux: the tests run there
    mark.write_text(json.dumps({"step": "unify", "pid": os.getpid(), "started": "2026-12-07T10:00:00",
                                "proc_start": mine.rsplit(":", 1)[0] + ":1"}))  # fmt: skip
    with busy(tmp_path, "journeys"):  # was: "busy: `cx unify` (pid N)", N this very process
        assert json.loads(mark.read_text())["step"] == "journeys"
    mark.write_text(json.dumps({"step": "unify", "pid": os.getpid(), "started": "x", "proc_start": mine}))
    with pytest.raises(DataError, match="busy"):  # the process that made it is alive: it holds the workspace
        with busy(tmp_path, "journeys"):
            pass


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_workspace_file_is_named_with_its_fix_by_every_command(tmp_path, damage):
    """A workspace.duckdb cut short, not a database, or empty: a DuckDB traceback from every command, `cx load`
    included (its own message was never reached: the staleness check opened the file first)."""
    from typer.testing import CliRunner

    from cxlib.cli import app

    runner = CliRunner()
    (tmp_path / "surveys.csv").write_text("source,response_id,ts,nps\nsurvey,1,2024-03-01,9\n")
    assert runner.invoke(app, ["load", str(tmp_path), "--no-progress"]).exit_code == 0
    db = tmp_path / "workspace.duckdb"
    if damage == "truncated":
        with open(db, "r+b") as fh:
            fh.truncate(20_000)
    else:
        db.write_bytes(os.urandom(300_000) if damage == "garbage" else b"")
    for cmd in (["load", "--no-progress"], ["summary"], ["journeys"], ["refresh"]):
        r = runner.invoke(app, [cmd[0], str(tmp_path), *cmd[1:]])
        assert r.exit_code == 2 and "cannot be opened" in r.output and "delete it and run `cx load" in r.output, (
            cmd, r.output)


def test_the_load_out_of_memory_is_said_not_blamed_on_the_csv(tmp_path, monkeypatch):
    """Under a small memory limit `cx load` and `cx validate` said "contacts.csv: cannot be read as a CSV table
    (could not allocate block ...); check that it is a delimited text file" of a valid file."""
    from typer.testing import CliRunner

    from cxlib.cli import app

    (tmp_path / "surveys.csv").write_text("source,response_id,ts,nps\nsurvey,1,2024-03-01,9\n")
    monkeypatch.setenv("CX_DUCKDB_MEMORY_LIMIT", "200MB")  # under the reader's 256 MB line buffer
    for cmd in (["load", "--no-progress"], ["validate"]):
        r = CliRunner().invoke(app, [cmd[0], str(tmp_path), *cmd[1:]])
        assert r.exit_code == 2 and "ran out of the engine's memory (200MB" in r.output, r.output
        assert "cannot be read as a CSV" not in r.output


def test_engine_settings_that_do_not_work_are_named_not_a_traceback(tmp_path):
    """CX_DUCKDB_MEMORY_LIMIT=lots was a DuckDB parser traceback from every command, and a CX_TEMP_DIR that did
    not exist a "Failed to create directory" traceback."""
    (tmp_path / "surveys.csv").write_text("source,response_id,ts,nps\nsurvey,1,2024-03-01,9\n")
    run = lambda env, *a: subprocess.run([sys.executable, "-m", "cxlib.cli", *a, str(tmp_path)],  # noqa: E731
                                         env={**os.environ, **env}, capture_output=True, text=True)  # fmt: skip
    p = run({"CX_TEMP_DIR": str(tmp_path / "not" / "yet"), "CX_DUCKDB_MEMORY_LIMIT": "4G"}, "load", "--no-progress")
    assert p.returncode == 0 and (tmp_path / "not" / "yet").is_dir(), p.stderr  # DuckDB reads 4G: so do we
    for limit, cmd in (("lots", ("load", "--no-progress")), ("lots", ("summary",)), ("4000000000", ("summary",))):
        p = run({"CX_DUCKDB_MEMORY_LIMIT": limit}, *cmd)
        assert p.returncode == 2 and f"CX_DUCKDB_MEMORY_LIMIT='{limit}' is not a size" in p.stderr, p.stderr
        assert "Traceback" not in p.stderr and "delete it" not in p.stderr  # a setting, not a damaged file


def test_ctrl_c_inside_a_query_is_a_line_not_a_traceback(monkeypatch, capsys):
    """Ctrl-C while DuckDB ran a query (`cx load`, `cx report`, `cx journeys`) printed "RuntimeError: Query
    interrupted" with a traceback, exit 1; between queries it was exit 130 already."""
    import cxlib.cli as cli

    def interrupted() -> None:
        raise RuntimeError("Query interrupted")

    monkeypatch.setattr(cli, "app", interrupted)
    with pytest.raises(SystemExit) as e:
        cli.main()
    assert e.value.code == 130 and "interrupted: the command stopped" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("columns", "lacks"),
    [("id INTEGER, total DOUBLE", "'source', 'order_id'"),
     ("source VARCHAR, order_id VARCHAR, ts TIMESTAMP, amount DOUBLE, status VARCHAR", "'contact_ref'")],
)  # fmt: skip
def test_another_programs_duckdb_file_is_named_with_its_fix_not_a_traceback(tmp_path, columns, lacks):
    """A workspace.duckdb that another program wrote (an ``orders`` table with its own columns, or with only the
    required ones): a traceback from `cx summary`, `cx unify` and `cx report`. Now the table, what it lacks and
    the fix; `cx load` with the source files writes the tables again."""
    import duckdb
    from typer.testing import CliRunner

    from cxlib.cli import app

    con = duckdb.connect(str(tmp_path / "workspace.duckdb"))
    con.execute(f"CREATE TABLE orders ({columns})")
    con.close()
    runner = CliRunner()
    for cmd in ("summary", "unify", "report"):
        r = runner.invoke(app, [cmd, str(tmp_path)])
        assert r.exit_code == 2, (cmd, r.output)
        assert f"its table 'orders' has no column {lacks}" in r.output, (cmd, r.output)
        assert "run `cx load` on the folder" in r.output and "Traceback" not in r.output
    (tmp_path / "orders.csv").write_text("source,order_id,ts,amount,status\nshop,1,2024-03-01,9,completed\n")
    assert runner.invoke(app, ["load", str(tmp_path), "--no-progress"]).exit_code == 0
    assert runner.invoke(app, ["unify", str(tmp_path), "--no-progress"]).exit_code == 0
