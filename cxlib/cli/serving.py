"""Serving the notebooks: cx app, cx edit, cx demo -- behind a token and :mod:`cxlib.serve`'s guard."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from cxlib.cli.base import Folder, _fail, app
from cxlib.cli.steps import _print_summary
from cxlib.schema import DataError


def notebooks_dir() -> Path:
    """The project's ``notebooks/`` folder (next to the package, or in the current directory)."""
    here = Path(__file__).resolve().parents[2] / "notebooks"  # cxlib/cli/serving.py -> the project's folder
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

    from cxlib.io import DATABASE_NAME, has_workspace

    if not folder.is_dir():
        _fail(FileNotFoundError(f"no such workspace folder: {folder}"))
    if not has_workspace(folder):
        _fail(FileNotFoundError(f"{folder} has no {DATABASE_NAME}: build it with `cx load {folder}` (or `make demo`)"))
    if not target.exists():
        _fail(FileNotFoundError(f"no such notebook or folder: {target}"))
    if token is not None and password:
        _fail(ValueError("give either --token or --password, not both"))
    if token is not None and not token.strip():  # an empty token would serve with none at all
        _fail(ValueError("--token is empty: give a token, or leave --token out for a random one"))
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
    if not no_token and not token:  # never served without one unless --no-token said so (checked above)
        _fail(ValueError("no token to serve with: give --token or --password, or leave both out"))
    _run_server(_marimo_command(mode, target, host, port, not no_token), env, token or "")


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
    """Generate the demo company, load, unify, map journeys, find personas, simulate, read what customers say,
    write the report and serve the notebooks.

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
        from cxlib import voice as _voice

        typer.echo(_voice.build(out).summary())
        from cxlib import report as _report

        path = _report.standard_report(out).save(out / "reports" / "journey_report.html")
        typer.echo(f"report written to {path}")
    except (DataError, ValueError) as e:
        _fail(e)
    typer.echo(f"built {out} in {time.perf_counter() - t0:.1f}s")
    if not serve:
        return
    _serve_notebooks("run", out, notebooks_dir(), host, port)
