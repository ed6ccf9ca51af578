"""The ``cx`` command line: every command takes the workspace folder.

Examples
--------
::

    cx generate --customers 20000 --seed 7 --out data/demo
    cx validate data/demo
    cx load data/demo
    cx summary data/demo
    cx report data/demo
    cx demo --no-serve
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cxlib.schema import DataError

app = typer.Typer(
    name="cx",
    help="CX Workspace: from raw customer data to journey decisions. Every command takes a workspace folder.\n\n"
    "Example: cx demo --no-serve",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Folder = Annotated[Path, typer.Argument(help="The workspace folder (source files + workspace.duckdb).")]


def _fail(e: Exception) -> None:
    typer.secho(f"error: {e}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


def _exclusive(step: str):
    """Run a command that writes the workspace with :func:`cxlib.engine.busy` held: a second step on the same
    workspace stops with "the workspace is busy: `cx STEP` (pid N) started at T" (exit 2), not a lock traceback."""
    import functools

    def deco(f):
        @functools.wraps(f)
        def inner(*args, **kwargs):
            from cxlib.engine import busy

            folder = kwargs["folder"] if "folder" in kwargs else args[0]
            try:
                with busy(folder, step):
                    _warn_stale(folder, upstream_of=step)
                    return f(*args, **kwargs)
            except DataError as e:
                _fail(e)

        return inner

    return deco


def _warn_stale(folder: Path, upstream_of: str | None = None) -> list:
    """Print the stale steps of ``folder`` (only those ``upstream_of`` reads from, when given)."""
    from cxlib import lineage
    from cxlib.engine import DATABASE_NAME, connect

    if not (Path(folder) / DATABASE_NAME).exists():
        return []
    with connect(folder, read_only=True) as ws:
        stale = lineage.stale_steps(ws)
    if upstream_of is not None:
        stale = [s for s in stale if s.step in lineage.STEPS.get(upstream_of, ())]
    for s in stale:
        typer.secho(f"warning: {s}".replace("FOLDER", str(folder)), fg=typer.colors.YELLOW, err=True)
    return stale


def _print_summary(folder: Path, headline: bool = True) -> None:
    import pandas as pd

    from cxlib import metrics
    from cxlib.engine import connect

    with connect(folder, read_only=True) as ws:
        s = ws.summary()
        log = ws.table("load_log").to_pandas() if ws.has("load_log") else pd.DataFrame()
        if s.empty:  # a load that was interrupted (its transaction rolled back) or never ran
            raise DataError(
                f"{folder}: the workspace holds no loaded tables (the last `cx load` did not finish, or none ran); "
                f"run `cx load {folder}`"
            )
        h = metrics.headline(ws) if headline else pd.DataFrame()
    if not log.empty:
        s = s.merge(log[["table_name", "rows_in", "rows_quarantined", "values_nulled"]], on="table_name", how="left")
        s = s[["table_name", "rows_in", "rows", "rows_quarantined", "values_nulled", "first_ts", "last_ts"]]
        s = s.rename(columns={"rows": "rows_loaded"})
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        typer.echo(s.to_string(index=False))
    if not s.empty:
        typer.echo(f"date range: {s['first_ts'].min()} .. {s['last_ts'].max()}")
    if not h.empty:  # the headline numbers, as the notebooks and the report show them (cxlib.metrics)
        typer.echo("\nheadline numbers (cxlib.metrics):")
        width = int(h["metric"].str.len().max())
        for m in h.itertuples():
            typer.echo(f"  {m.metric:<{width}}  {metrics.shown(m.value, m.unit):>16}  {m.definition}")


@app.command()
def generate(
    out: Annotated[Path, typer.Option(help="Folder to write the company's source files to (truth goes to OUT/truth).")],
    customers: Annotated[int, typer.Option(help="People to simulate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed; same arguments, same bytes.")] = 7,
    start: Annotated[str, typer.Option(help="First month, YYYY-MM-DD.")] = "2024-01-01",
    months: Annotated[int, typer.Option(help="Months to simulate.")] = 24,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    file_format: Annotated[
        str, typer.Option("--format", help="mixed: events as Parquet, the rest as CSV; parquet: all Parquet.")
    ] = "mixed",
) -> None:
    """Generate a synthetic company with known truth.

    Example: cx generate --customers 20000 --seed 7 --out data/demo
    """
    from cxlib import synth

    t0 = time.perf_counter()
    try:
        counts = synth.write_company(
            out, n_customers=customers, seed=seed, start=start, months=months, progress=progress
        )
    except ValueError as e:
        _fail(e)
    rows = ", ".join(f"{k} {v:,}" for k, v in counts.items())
    typer.echo(f"wrote {out} in {time.perf_counter() - t0:.1f}s: {rows} (truth in {out / 'truth'})")


@app.command()
def validate(folder: Folder) -> None:
    """Check the workspace's source files without loading them; exit 2 on a structural problem.

    Example: cx validate data/demo
    """
    from cxlib import io

    try:
        report = io.validate(folder)
    except DataError as e:
        _fail(e)
    typer.echo(str(report))


@app.command()
@_exclusive("load")
def load(folder: Folder, progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True) -> None:
    """Validate the source files and load them into FOLDER/workspace.duckdb (quarantining bad rows).

    Example: cx load data/demo
    """
    from cxlib import io

    t0 = time.perf_counter()
    try:
        report = io.load(folder, progress=progress)
    except DataError as e:
        _fail(e)
    typer.echo(str(report))
    typer.echo(f"loaded in {time.perf_counter() - t0:.1f}s into {folder / io.DATABASE_NAME}")
    failures = report.failures()
    if failures:  # never a silent success: too many rows quarantined (max_quarantine in sources.yml)
        typer.echo("\n\n".join(["error: too many rows quarantined", *failures]), err=True)
        raise typer.Exit(3)


@app.command()
def summary(
    folder: Folder,
    headline: Annotated[bool, typer.Option(help="Also print the headline numbers, each with its definition.")] = True,
) -> None:
    """Print rows, rejected rows and date range of each table, then the workspace's headline numbers.

    Example: cx summary data/demo
    """
    try:
        _print_summary(folder, headline)
        _warn_stale(folder)
    except DataError as e:
        _fail(e)


@app.command()
def refresh(folder: Folder) -> None:
    """Rerun, in order, every step whose inputs changed since it ran (see `workspace_steps`).

    Example: cx refresh data/demo
    """
    from cxlib import lineage

    try:
        stale = _warn_stale(folder)
    except DataError as e:
        _fail(e)
    if not stale:
        typer.echo("every step is up to date")
        return
    for s in lineage.STEPS:  # run order; a rerun step makes the ones after it stale in turn
        if s in {x.step for x in stale} or (stale and s in _stale_names(folder)):
            typer.echo(f"refreshing {s} ...")
            _refresh_one(folder, s)
    typer.echo("every step is up to date")


def _stale_names(folder: Path) -> set[str]:
    from cxlib import lineage
    from cxlib.engine import connect

    with connect(folder, read_only=True) as ws:
        return {x.step for x in lineage.stale_steps(ws)}


def _refresh_one(folder: Path, step: str) -> None:
    """Rerun one step with its defaults, holding the workspace."""
    from cxlib.engine import busy

    runners = {
        "load": lambda: __import__("cxlib.io", fromlist=["load"]).load(folder),
        "unify": lambda: __import__("cxlib.unify", fromlist=["unify"]).unify(folder),
        "journeys": lambda: __import__("cxlib.journeys", fromlist=["build"]).build(folder),
        "personas": lambda: __import__("cxlib.personas", fromlist=["write_personas"]).write_personas(folder),
        "simulate": lambda: __import__("cxlib.simulate", fromlist=["build"]).build(folder),
        "voice": lambda: __import__("cxlib.voice", fromlist=["build"]).build(folder),
    }
    try:
        with busy(folder, step):
            runners[step]()
    except DataError as e:
        _fail(e)


@app.command()
@_exclusive("unify")
def unify(
    folder: Folder,
    probabilistic: Annotated[bool, typer.Option(help="Run the probabilistic (splink) step.")] = True,
    threshold: Annotated[float, typer.Option(help="Match probability a probabilistic merge needs.")] = 0.95,
    incremental: Annotated[
        bool, typer.Option(help="Score only new contact records against existing customers (needs a full run).")
    ] = False,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = True,
) -> None:
    """Resolve every source row to one customer: identity_links, customers, touchpoints.

    Example: cx unify data/demo
    """
    from cxlib import unify as _unify

    t0 = time.perf_counter()
    try:
        result = _unify.unify(
            folder,
            _unify.UnifyConfig(match_threshold=threshold),
            probabilistic=probabilistic,
            progress=progress,
            incremental=incremental,
        )
    except DataError as e:
        _fail(e)
    typer.echo(str(result))
    typer.echo(f"unified in {time.perf_counter() - t0:.1f}s")


@app.command()
@_exclusive("journeys")
def journeys(
    folder: Folder,
    stage_map: Annotated[
        Path | None, typer.Option(help="A stage map YAML (default: FOLDER/stage_map.yml, else the built-in map).")
    ] = None,
    include_unidentified: Annotated[
        bool, typer.Option(help="Keep rows that carried no identifier at all (one-touch customers).")
    ] = False,
) -> None:
    """Assign journey stages: customer_stages (where each customer is now) and stage_history (month by month).

    Example: cx journeys data/demo
    """
    from cxlib import journeys as _journeys

    t0 = time.perf_counter()
    try:
        counts = _journeys.build(folder, stage_map, include_unidentified=include_unidentified)
    except DataError as e:
        _fail(e)
    typer.echo("customers at each stage now:")
    for row in counts.itertuples():
        typer.echo(f"  {row.stage:<14} {row.customers:>10,}")
    typer.echo(f"journeys built in {time.perf_counter() - t0:.1f}s")


@app.command()
@_exclusive("simulate")
def simulate(
    folder: Folder,
    months: Annotated[int, typer.Option(help="Months ahead.")] = 12,
    draws: Annotated[int, typer.Option(help="Posterior draws for the bands.")] = 2000,
    arrivals: Annotated[
        str, typer.Option(help="New customers a month: auto (chosen by backtest), none, recent, seasonal, or N.")
    ] = "auto",
    backtest: Annotated[
        bool, typer.Option("--backtest", help="Only hold the model against the past: fit up to a cutoff, compare.")
    ] = False,
    cutoff: Annotated[str | None, typer.Option(help="Last month the backtest fits on (YYYY-MM).")] = None,
) -> None:
    """Fit the journey model and compare the preset strategies: journey_transitions and scenarios tables.

    Example: cx simulate data/demo --backtest
    """
    from cxlib import simulate as _simulate

    t0 = time.perf_counter()
    try:
        how = _simulate.parse_arrivals(arrivals)
        if backtest:
            _print_backtest(_simulate.backtest(folder, months=months, cutoff=cutoff, arrivals=how))
            return
        ranked = _simulate.build(folder, months=months, draws=draws, arrivals=how)
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(f"revenue gain over {months} months vs baseline (5-95%):")
    for r in ranked.itertuples():
        typer.echo(f"  {r.scenario:<32} {r.gain:>14,.0f}  [{r.gain_p5:,.0f} .. {r.gain_p95:,.0f}]")
    typer.echo(f"simulated in {time.perf_counter() - t0:.1f}s")


def _print_backtest(bt) -> None:  # noqa: ANN001 - the frame simulate.backtest returns
    total = bt[bt["period"] == "total"]
    typer.echo(f"fitted up to {bt.attrs.get('cutoff')}, arrivals: {bt.attrs.get('arrivals')}; next months' revenue:")
    for r in total.itertuples():
        typer.echo(f"  {r.model:<34} forecast {r.forecast:>14,.0f}  actual {r.actual:>14,.0f}  {r.pct_error:+.1%}")
    for model, why in (bt.attrs.get("skipped") or {}).items():
        typer.echo(f"  {model}: left out ({why})")


@app.command()
@_exclusive("voice")
def voice(
    folder: Folder,
    topics: Annotated[int | None, typer.Option(help="Number of topics (default: chosen by stability).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """What customers say: verbatims, topics, feedback drivers and the follow-up list (after cx unify).

    Example: cx voice data/demo
    """
    from cxlib import voice as _voice

    t0 = time.perf_counter()
    try:
        result = _voice.build(folder, n_topics=topics, seed=seed)
    except DataError as e:
        _fail(e)
    typer.echo(result.summary())
    typer.echo(f"voice built in {time.perf_counter() - t0:.1f}s")


@app.command()
def report(
    folder: Folder,
    out: Annotated[Path | None, typer.Option(help="HTML file to write.")] = None,
    title: Annotated[str, typer.Option(help="Report title.")] = "Customer journey report",
    include_pii: Annotated[
        bool, typer.Option("--include-pii", help="Keep names, e-mails, phones, addresses and raw ids.")
    ] = False,
    min_group_size: Annotated[
        int, typer.Option(help="Merge or leave out groups of fewer customers than this (0: off).")
    ] = 10,
) -> None:
    """Write the executive report: one HTML file that opens offline, personal data left out.

    Default output: FOLDER/reports/journey_report.html. Sections appear for the steps the workspace holds.

    Example: cx report data/demo --out reports/journey_report.html
    """
    from cxlib import report as _report

    t0 = time.perf_counter()
    out = out or folder / "reports" / "journey_report.html"
    try:
        if not (folder / "workspace.duckdb").exists():
            raise DataError(f"{folder}: no workspace.duckdb; run `cx load {folder}` first")
        rep = _report.standard_report(
            folder, title=title, include_pii=include_pii, min_group_size=min_group_size, progress=True
        )
        path = rep.save(out)
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(f"report written to {path} ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f}s")
    if include_pii:
        typer.echo("warning: this report includes personal data; do not share it")


def notebooks_dir() -> Path:
    """The project's ``notebooks/`` folder (next to the package, or in the current directory)."""
    here = Path(__file__).resolve().parent.parent / "notebooks"
    return here if here.is_dir() else Path.cwd() / "notebooks"


# --- serving the notebooks (cx app, cx edit, cx demo) ----------------------------------------------------------

_LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def _marimo_command(mode: str, target: Path, host: str, port: int, authenticated: bool) -> list[str]:
    """The ``marimo run|edit`` command line, behind :mod:`cxlib.serve`'s guard (Host and Origin checks, login
    rate limit); the token itself goes on stdin (``--token-password-file -``).

    Passed on stdin, not as ``--token-password``, so that it never shows in the process list. marimo's own
    ``run --token`` without a password derives the token from the notebook's source: anyone with the code
    could compute it, so a token is always ours.
    """
    cmd = [sys.executable, "-m", "cxlib.serve", mode, str(target), "--host", host, "--port", str(port), "--headless"]
    cmd += ["--token", "--token-password-file", "-"] if authenticated else ["--no-token"]
    if mode == "edit":
        cmd.append("--skip-update-check")  # no call to the internet from a server that holds customer data
    return cmd


def _serve_notebooks(
    mode: str,
    folder: Path,
    target: Path,
    host: str,
    port: int,
    token: str | None = None,
    password: bool = False,
    no_token: bool = False,
) -> None:
    """Serve ``target`` (a notebook or the notebooks folder) with ``marimo run|edit`` on ``folder``'s workspace.

    Local-only by default, and always behind a token, as JupyterLab is: the given one, a typed password, or a
    random one printed in the URL (kept nowhere else). ``no_token`` turns it off, only for ``app`` on localhost.
    Every request passes :mod:`cxlib.serve`'s Host and Origin checks.
    """
    import secrets
    import socket

    from cxlib.io import DATABASE_NAME

    if not folder.is_dir():
        _fail(FileNotFoundError(f"no such workspace folder: {folder}"))
    if not (folder / DATABASE_NAME).exists():
        _fail(FileNotFoundError(f"{folder} has no {DATABASE_NAME}: build it with `cx load {folder}` (or `make demo`)"))
    if not target.exists():
        _fail(FileNotFoundError(f"no such notebook or folder: {target}"))
    if token is not None and password:
        _fail(ValueError("give either --token or --password, not both"))
    if no_token and (token is not None or password or mode == "edit" or host not in _LOCAL_HOSTS):
        _fail(ValueError("--no-token is only for `cx app` on localhost (127.0.0.1, localhost, ::1) without a token"))
    if password:
        token = typer.prompt("password for the app", hide_input=True, confirmation_prompt=True)
    elif token is None and not no_token:
        token = secrets.token_urlsafe(24)
    shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
    url = f"http://{f'[{shown}]' if ':' in shown else shown}:{port}"
    if token and not password:
        url += f"?access_token={token}"
    env = {**os.environ, "CX_WORKSPACE": str(folder.resolve())}
    what = "editing" if mode == "edit" else "serving"
    typer.echo(f"{what} {target.name} on {folder} at {url}" + (" (password login)" if password else ""))
    typer.echo("Ctrl+C to stop")
    _run_server(_marimo_command(mode, target, host, port, bool(token)), env, token or "")


def _run_server(cmd: list[str], env: dict[str, str], token: str) -> None:
    """Run the server in its own process group and take it down with us: on its own exit, Ctrl-C, SIGTERM or
    SIGHUP, the whole group (marimo and its kernels) is stopped, so no child outlives ``cx app``."""
    import signal

    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.PIPE, text=True, start_new_session=True)

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        if proc.stdin is not None:
            proc.stdin.write(token)
            proc.stdin.close()
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
                proc.wait(timeout=wait)
                break
            except (ProcessLookupError, PermissionError):
                break
            except subprocess.TimeoutExpired:
                continue
        for s, handler in old.items():
            signal.signal(s, handler)


def _notebook(name: str | None) -> Path:
    """A notebook of the project by file or short name (``journeys`` → ``notebooks/03_journeys.py``), or all."""
    if name is None:
        return notebooks_dir()
    if Path(name).suffix == ".py" and Path(name).exists():
        return Path(name)
    hits = sorted(p for p in notebooks_dir().glob("*.py") if name in (p.name, p.stem, p.stem.partition("_")[2]))
    if not hits:
        names = ", ".join(p.stem for p in sorted(notebooks_dir().glob("*.py")))
        _fail(FileNotFoundError(f"no notebook {name!r}; the project has {names}"))
    return hits[0]


Host = Annotated[str, typer.Option(help="Interface to bind (customer data: keep it local; others need a token).")]
Port = Annotated[int, typer.Option(help="Port to serve on.")]
Token = Annotated[
    str | None,
    typer.Option(
        envvar="CX_APP_TOKEN",
        help="Access token (or env CX_APP_TOKEN). Required off localhost: a random one is made if not given.",
    ),
]
Password = Annotated[
    bool, typer.Option("--password", help="Ask for a password that users type on the login page instead of a token.")
]
NoToken = Annotated[
    bool,
    typer.Option(
        "--no-token", help="Serve without a token (localhost only): any program on this machine can then read the app."
    ),
]
NotebookName = Annotated[
    str | None, typer.Option(help="One notebook (e.g. journeys or notebooks/03_journeys.py) instead of all.")
]


@app.command("app")
def app_command(
    folder: Folder,
    host: Host = "127.0.0.1",
    port: Port = 2718,
    token: Token = None,
    password: Password = False,
    notebook: NotebookName = None,
    no_token: NoToken = False,
) -> None:
    """Serve the notebooks read-only as apps (marimo run) on the workspace in FOLDER, behind a token.

    Example: cx app data/demo --host 0.0.0.0 --port 8080 --token "$(openssl rand -hex 16)"
    """
    _serve_notebooks("run", folder, _notebook(notebook), host, port, token, password, no_token)


@app.command()
def edit(
    folder: Folder,
    host: Host = "127.0.0.1",
    port: Port = 2718,
    token: Token = None,
    password: Password = False,
    notebook: NotebookName = None,
) -> None:
    """Open the notebooks for editing (marimo edit) on the workspace in FOLDER; always behind a token.

    Example: cx edit data/demo --notebook journeys
    """
    _serve_notebooks("edit", folder, _notebook(notebook), host, port, token, password)


@app.command()
def demo(
    out: Annotated[Path, typer.Option(help="Workspace folder for the demo company.")] = Path("data/demo"),
    customers: Annotated[int, typer.Option(help="People to simulate.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 7,
    serve: Annotated[bool, typer.Option(help="Serve the notebooks with marimo after building.")] = True,
    host: Annotated[str, typer.Option(help="Interface to serve on (customer data: keep it local).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 2718,
) -> None:
    """Generate the demo company, load, unify, map journeys, find personas, simulate, and serve the notebooks.

    Example: cx demo --no-serve
    """
    from cxlib import io, synth

    t0 = time.perf_counter()
    try:
        counts = synth.write_company(out, n_customers=customers, seed=seed, progress=True)
        typer.echo(f"generated {sum(counts.values()):,} source rows in {time.perf_counter() - t0:.1f}s")
        io.load(out, progress=True)
        _print_summary(out)
        from cxlib import unify as _unify

        typer.echo(str(_unify.unify(out, progress=True)))
        from cxlib import journeys as _journeys
        from cxlib import personas as _personas
        from cxlib import simulate as _simulate

        _journeys.build(out)
        _, profiles = _personas.write_personas(out)
        typer.echo(f"personas: {', '.join(profiles['name'].astype(str))}")
        typer.echo(_simulate.build(out).round(0).to_string(index=False))
        from cxlib import report as _report

        path = _report.standard_report(out).save(out / "reports" / "journey_report.html")
        typer.echo(f"report written to {path}")
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(f"built {out} in {time.perf_counter() - t0:.1f}s")
    if not serve:
        return
    _serve_notebooks("run", out, notebooks_dir(), host, port)


@app.command("personas")
@_exclusive("personas")
def personas_command(
    folder: Folder,
    n: Annotated[
        str, typer.Option("--personas", help="Number of personas, or 'auto' (chosen by silhouette).")
    ] = "auto",
    method: Annotated[str, typer.Option(help="kmeans or gmm.")] = "kmeans",
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
) -> None:
    """Find behavioural personas of the unified customers and write the `personas` table.

    Example: cx personas data/demo --personas auto
    """
    import pandas as pd

    from cxlib import personas as _personas

    t0 = time.perf_counter()
    try:
        k = n if n == "auto" else int(n)
        model = _personas.PersonaModel(n_personas=k, method=method, random_state=seed)
        model, profiles = _personas.write_personas(folder, model, random_state=seed)
    except (DataError, ValueError) as e:
        _fail(e)
    cols = ["name", "size", "share", "value", "revenue_share", "description"]
    with pd.option_context("display.width", 200, "display.max_colwidth", 90):
        typer.echo(profiles[cols].round(3).to_string(index=False))
    typer.echo(f"{model.n_personas_} personas written to table personas in {time.perf_counter() - t0:.1f}s")


# --- the hiring case: cx case new / cx case grade ------------------------------------------------------------

case_app = typer.Typer(
    help="The hiring case: a generated company per candidate, graded against its truth.\n\n"
    'Example: cx case new --candidate "A. Candidate" --seed 1234 --out cases/a-candidate/',
    no_args_is_help=True,
)
app.add_typer(case_app, name="case")


@case_app.command("new")
def case_new(
    candidate: Annotated[str, typer.Option(help="The candidate's name (brief, notebooks, scorecard).")],
    out: Annotated[Path, typer.Option(help="A new folder for the case bundle.")],
    seed: Annotated[
        int | None, typer.Option(help="Decides the company and its right answers (default: a random 9-digit seed).")
    ] = None,
    customers: Annotated[int, typer.Option(help="People to simulate (a few thousand: runs in seconds).")] = 3_000,
    progress: Annotated[bool, typer.Option(help="Show progress bars.")] = False,
) -> None:
    """Create a candidate's case: data (loaded, not unified), BRIEF.md, case.py, case.ipynb, answers.yml.

    The key (case.yml: candidate, seed) stays with you; send the zip, which leaves it out.

    Example: cx case new --candidate "A. Candidate" --seed 1234 --out cases/a-candidate/
    """
    from cxlib import case as _case

    t0 = time.perf_counter()
    try:
        folder = _case.new_case(out, candidate, seed=seed, n_customers=customers, progress=progress)
    except (DataError, ValueError) as e:
        _fail(e)
    z = next(folder.glob("*-case.zip"))
    typer.echo(f"case for {candidate} written to {folder} in {time.perf_counter() - t0:.1f}s")
    typer.echo(f"  send the candidate: {z} (everything but case.yml)")
    typer.echo(f"  keep: {folder / 'case.yml'} (the seed: with it the answers can be re-derived)")
    typer.echo(f"  grade: copy their answers.yml / case.py / case.ipynb into {folder} and run `cx case grade {folder}`")


@case_app.command("grade")
def case_grade(
    folder: Annotated[Path, typer.Argument(help="The case folder (with case.yml and the candidate's answers).")],
    scorecard: Annotated[bool, typer.Option(help="Write FOLDER/scorecard.html.")] = True,
) -> None:
    """Score the candidate's answers against the truth regenerated from the seed; write scorecard.html.

    Example: cx case grade cases/a-candidate/
    """
    from cxlib import case as _case

    t0 = time.perf_counter()
    try:
        table, total = _case.grade_case(folder)
    except (DataError, ValueError) as e:
        _fail(e)
    for note in table.attrs.get("notes", []):
        typer.secho(f"note: {note}", fg=typer.colors.YELLOW, err=True)
    _case.print_scores(table, total, typer.echo)
    if scorecard:
        typer.echo(f"scorecard written to {_case.write_scorecard(folder, table, total)}")
    typer.echo(f"graded in {time.perf_counter() - t0:.1f}s")


def main() -> None:  # pragma: no cover - the console script
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
