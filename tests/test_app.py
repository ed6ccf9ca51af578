"""`cx app` and `cx edit`: the notebooks served as apps, local by default and behind a token otherwise.

The command-line tests replace the server with a stub; the others start a real `cx app` (marimo run) on a
free localhost port against the test workspace, once for the module, and talk to it over HTTP and from
headless Chromium through Playwright.
"""

from __future__ import annotations

import contextlib
import http.cookiejar
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cxlib import cli, serve

from .conftest import chromium_path, require

runner = CliRunner()
TOKEN = "test-token-4f2a"
NOTEBOOK = "03_journeys.py"


# --- the command line, with the server stubbed out ---------------------------------------------------------------


@pytest.fixture
def served(monkeypatch):
    """Record what `cx app`/`cx edit` would run instead of starting marimo."""
    calls: list[dict] = []

    def fake_run(cmd, env, token):
        calls.append({"cmd": cmd, "env": env, "input": token})

    monkeypatch.setattr(cli.serving, "_run_server", fake_run)
    return calls


@pytest.fixture
def folder(tmp_path) -> Path:
    """A folder that looks like a workspace to the command (the server is stubbed, nothing reads it)."""
    (tmp_path / "workspace.duckdb").touch()
    return tmp_path


@pytest.mark.parametrize("command", ["app", "edit"])
def test_help_has_an_example(command):
    r = runner.invoke(cli.app, [command, "--help"])
    assert r.exit_code == 0 and f"Example: cx {command}" in r.output


def test_the_notebooks_are_found_from_any_folder(tmp_path, monkeypatch):
    """The project's notebooks, not ``./notebooks`` of wherever `cx app` was typed (was cxlib/notebooks: none)."""
    monkeypatch.chdir(tmp_path)
    assert cli.notebooks_dir() == Path(cli.__file__).resolve().parents[2] / "notebooks"
    assert (cli.notebooks_dir() / "03_journeys.py").is_file()


def test_app_on_localhost_has_a_token_unless_told_otherwise(served, folder):
    r = runner.invoke(cli.app, ["app", str(folder)])
    assert r.exit_code == 0, r.output
    cmd = served[0]["cmd"]
    assert cmd[1:4] == ["-m", "cxlib.serve", "run"] and Path(cmd[4]) == cli.notebooks_dir()  # behind the guard
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and cmd[cmd.index("--port") + 1] == "2718"
    token = r.output.split("access_token=")[1].split()[0]
    assert len(token) >= 24 and served[0]["input"] == token and "--no-token" not in cmd
    assert served[0]["env"]["CX_WORKSPACE"] == str(folder.resolve())
    r = runner.invoke(cli.app, ["app", str(folder), "--no-token"])  # an explicit choice, on localhost only
    assert r.exit_code == 0 and "--no-token" in served[1]["cmd"] and served[1]["input"] == ""
    assert "http://127.0.0.1:2718" in r.output and "access_token" not in r.output
    for args in (["--host", "0.0.0.0"], ["--token", "x"], ["--host", "10.0.0.5"]):
        r = runner.invoke(cli.app, ["app", str(folder), "--no-token", *args])
        assert r.exit_code == 2 and "only for `cx app` on localhost" in r.output, args
    assert len(served) == 2


@pytest.mark.parametrize("command", ["app", "edit"])
@pytest.mark.parametrize("token", ["", "  "])
def test_an_empty_token_is_refused_not_served_without_one(served, folder, command, token):
    """`--token ''` once passed the --no-token checks (they looked at the flag) and served with no token at all,
    on any host, `cx edit` included: code execution for anyone on the network."""
    r = runner.invoke(cli.app, [command, str(folder), "--host", "0.0.0.0", "--token", token])
    assert r.exit_code == 2 and "--token is empty" in r.output
    assert served == []


def test_app_off_localhost_gets_a_random_token(served, folder):
    r = runner.invoke(cli.app, ["app", str(folder), "--host", "0.0.0.0", "--port", "8080"])
    assert r.exit_code == 0, r.output
    token = r.output.split("access_token=")[1].split()[0]
    assert len(token) >= 24
    (call,) = served
    assert call["cmd"][-3:] == ["--token", "--token-password-file", "-"]
    assert call["input"] == token and token not in " ".join(call["cmd"])  # on stdin, not in the process list
    again = runner.invoke(cli.app, ["app", str(folder), "--host", "0.0.0.0"])
    assert again.output.split("access_token=")[1].split()[0] != token


def test_app_uses_the_given_token_or_password(served, folder, monkeypatch):
    r = runner.invoke(cli.app, ["app", str(folder), "--host", "10.0.0.5", "--token", "mine"])
    assert r.exit_code == 0 and "http://10.0.0.5:2718?access_token=mine" in r.output
    monkeypatch.setenv("CX_APP_TOKEN", "from-env")
    runner.invoke(cli.app, ["app", str(folder), "--host", "10.0.0.5"])
    monkeypatch.delenv("CX_APP_TOKEN")
    r = runner.invoke(cli.app, ["app", str(folder), "--host", "10.0.0.5", "--password"], input="pa55\npa55\n")
    assert r.exit_code == 0 and "password login" in r.output
    assert "pa55" not in r.output and "access_token" not in r.output
    assert [c["input"] for c in served] == ["mine", "from-env", "pa55"]
    r = runner.invoke(cli.app, ["app", str(folder), "--token", "x", "--password"])
    assert r.exit_code == 2 and "either --token or --password" in r.output


def test_edit_always_has_a_token_and_serves_one_notebook(served, folder):
    r = runner.invoke(cli.app, ["edit", str(folder), "--notebook", "journeys"])
    assert r.exit_code == 0, r.output
    (call,) = served
    assert call["cmd"][3] == "edit" and Path(call["cmd"][4]).name == NOTEBOOK
    assert call["cmd"][2] == "cxlib.serve"
    assert "--token" in call["cmd"] and call["input"] and f"access_token={call['input']}" in r.output
    r = runner.invoke(cli.app, ["edit", str(folder), "--notebook", "nope"])
    assert r.exit_code == 2 and "03_journeys" in r.output


@pytest.mark.parametrize("command", ["app", "edit"])
def test_clear_errors_without_a_workspace(command, tmp_path):
    def cx(*args):
        return subprocess.run([sys.executable, "-m", "cxlib.cli", command, *args], capture_output=True, text=True)

    missing = cx(str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no such workspace folder" in missing.stderr
    empty = cx(str(tmp_path))
    assert empty.returncode == 2 and "has no workspace.duckdb" in empty.stderr and "cx load" in empty.stderr
    assert "Traceback" not in missing.stderr + empty.stderr


# --- a real server ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_until_up(base: str, proc: subprocess.Popen, log: Path, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"cx app exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    pytest.fail(f"cx app did not answer within {timeout:.0f}s:\n{log.read_text()[-3000:]}")


@contextlib.contextmanager
def _serving(folder: Path, tmp_path_factory):
    """`cx app FOLDER --token TOKEN` on a free localhost port: its base URL. The whole group is killed after."""
    port = _free_port()
    log = tmp_path_factory.mktemp("app") / "server.log"
    # the server imports the same cxlib as the tests (a worktree may shadow an editable install)
    root = str(Path(cli.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxlib.cli", "app", str(folder), "--port", str(port), "--token", TOKEN],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            start_new_session=True,  # its own process group: cx, marimo and the kernels go down together
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(base, proc, log)
        yield base
    finally:
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue


@pytest.fixture(scope="module")
def server(workspace, tmp_path_factory):
    """`cx app` on the test workspace (loaded and unified): the later pages compute what is not kept."""
    with _serving(workspace, tmp_path_factory) as base:
        yield base


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _get(url: str, opener: urllib.request.OpenerDirector | None = None, **headers: str) -> tuple[int, str, str]:
    """Status, Location header and body of one GET, redirects not followed."""
    opener = opener or urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=60) as r:
            return r.status, r.headers.get("Location", ""), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Location", ""), e.read().decode()


@pytest.mark.xdist_group("app")
def test_app_refuses_requests_without_the_token(server):
    # marimo answers a page request without a valid token with a redirect to its login page
    for path in ("/", f"/?file={NOTEBOOK}", "/?access_token=wrong"):
        status, location, _ = _get(server + path)
        assert status == 303 and "/auth/login" in location, (path, status, location)
    status, _, body = _get(server + "/api/status")  # and the API with 401
    assert status == 401, body
    status, _, body = _get(server + "/", Authorization="Bearer wrong")
    assert status in (303, 401)


@pytest.mark.xdist_group("app")
def test_app_admits_the_token(server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(_NoRedirect, urllib.request.HTTPCookieProcessor(jar))
    status, location, _ = _get(f"{server}/?access_token={TOKEN}", opener)
    assert status == 303 and "/auth/login" not in location and any(True for _ in jar)  # signed in: a session cookie
    status, _, page = _get(f"{server}/?file={NOTEBOOK}", opener)
    assert status == 200 and "CX Workspace: where are our customers in their journey?" in page
    status, _, page = _get(server + "/", Authorization=f"Bearer {TOKEN}")
    assert status == 200 and "<title>" in page


def _handshake(base: str, path: str, **headers: str) -> int:
    """The HTTP status a WebSocket upgrade request to ``path`` gets (101 = accepted)."""
    host, port = base.removeprefix("http://").split(":")
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: {headers.pop('Host', f'{host}:{port}')}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return int(s.recv(4096).split(b"\r\n", 1)[0].split()[1])


@pytest.mark.xdist_group("app")
def test_a_page_of_another_site_cannot_open_the_websocket(server):
    ws = f"/ws?session_id=s-attack&file={NOTEBOOK}&access_token={TOKEN}"
    assert _handshake(server, ws, Origin="http://evil.example.com") == 403
    assert _handshake(server, ws, Origin="null") == 403
    # DNS rebinding: the attacker's name resolves to 127.0.0.1, so the browser sends its own Host and Origin
    port = server.rsplit(":", 1)[1]
    rebound = {"Host": f"evil.example.com:{port}", "Origin": f"http://evil.example.com:{port}"}
    assert _handshake(server, ws, **rebound) == 403
    assert _get(f"{server}/?access_token={TOKEN}", Host=f"evil.example.com:{port}")[0] == 403
    assert _get(f"{server}/api/status", Origin="http://evil.example.com")[0] == 403


@pytest.mark.xdist_group("app")
def test_login_attempts_are_rate_limited(server):
    statuses = []
    for i in range(12):
        req = urllib.request.Request(
            f"{server}/auth/login", data=f"password=guess{i}".encode(), method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        try:
            with urllib.request.build_opener(_NoRedirect).open(req, timeout=30) as r:
                statuses.append(r.status)
        except urllib.error.HTTPError as e:
            statuses.append(e.code)
    assert 429 not in statuses[:10] and statuses[10:] == [429, 429], statuses


_SANKEY_NODES = (
    "els => els.filter(e => e._fullData && e._fullData.length && e._fullData[0].type === 'sankey')"
    ".map(e => e._fullData[0].node.label.length)"
)


@pytest.mark.browser
@pytest.mark.xdist_group("app")
def test_moving_a_control_redraws_the_chart(server, tmp_path_factory):
    chromium = chromium_path()
    require(chromium is not None, "Chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        require(False, "playwright (pip install -e .[test])")
    shots = tmp_path_factory.mktemp("artifacts")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(120_000)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
            page.goto(f"{server}/?file={NOTEBOOK}&access_token={TOKEN}")
            page.wait_for_selector(".js-plotly-plot .sankey-node")  # the notebook ran and plotly drew the Sankey
            outside = [u for u in requested if urllib.parse.urlsplit(u).hostname not in ("127.0.0.1", None)]
            assert not outside, f"the page made requests outside the machine: {outside[:5]}"
            assert any(u.endswith(serve.OFFLINE_MATHJAX) for u in requested)  # marimo's MathJax, from the stub
            plots = page.locator(".js-plotly-plot")
            (before,) = plots.evaluate_all(_SANKEY_NODES)
            page.screenshot(path=str(shots / "journeys_app_before.png"))
            steps = page.get_by_role("slider").first  # "Steps": columns of the Sankey
            assert steps.get_attribute("aria-valuenow") == "5"
            steps.focus()
            page.keyboard.press("ArrowRight")
            assert steps.get_attribute("aria-valuenow") == "6"
            deadline = time.monotonic() + 120
            after = before
            while after == before and time.monotonic() < deadline:
                time.sleep(0.25)
                nodes = plots.evaluate_all(_SANKEY_NODES)
                after = nodes[0] if nodes else before
            page.wait_for_timeout(1500)  # plotly animates the new layout
            page.screenshot(path=str(shots / "journeys_app_after.png"))
            assert after > before, f"the Sankey did not gain a column of nodes ({before} -> {after}); see {shots}"
        finally:
            browser.close()


# --- the guard on its own --------------------------------------------------------------------------------------


def _call_guard(guard, kind="http", method="GET", path="/", **headers):
    import asyncio

    sent = []

    async def app(scope, receive, send):
        sent.append("app")

    async def send(msg):
        sent.append(msg)

    async def receive():
        return {}

    g = serve.Guard(app, **guard)
    scope = {
        "type": kind, "method": method, "path": path, "client": ("1.2.3.4", 5),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }
    asyncio.run(g(scope, receive, send))
    if sent[0] == "app":
        return 200
    return sent[0].get("status", 403 if sent[0]["type"] == "websocket.close" else 0)


def test_guard_checks_host_and_origin():
    guard = {"hosts": serve.allowed_hosts("127.0.0.1", 2718)}
    assert _call_guard(guard, Host="127.0.0.1:2718") == 200
    assert _call_guard(guard, Host="localhost:2718", Origin="http://localhost:2718") == 200
    assert _call_guard(guard, Host="127.0.0.1:2718", Origin="http://localhost:2718") == 403  # another origin
    assert _call_guard(guard, kind="websocket", Host="127.0.0.1:2718", Origin="http://evil.example.com") == 403
    assert _call_guard(guard, Host="evil.example.com:2718") == 403
    assert _call_guard(guard, Host="127.0.0.1:9999") == 403
    assert serve.same_origin("https://127.0.0.1", "127.0.0.1:443")
    assert not serve.same_origin("javascript:alert(1)", "127.0.0.1:2718")
    assert not serve.same_origin("http://127.0.0.1:notaport", "127.0.0.1:2718")


def test_guard_limits_logins_per_client():
    guard = {"hosts": serve.allowed_hosts("127.0.0.1", 2718), "attempts": 3}
    g_statuses = []
    g = serve.Guard(lambda *a: None, **guard)  # one guard: the limit is its state
    import asyncio

    async def run_one():
        out = []

        async def app(scope, receive, send):
            out.append(200)

        async def send(msg):
            if msg["type"] == "http.response.start":
                out.append(msg["status"])

        g.app = app
        scope = {"type": "http", "method": "POST", "path": "/auth/login", "client": ("1.2.3.4", 5),
                 "headers": [(b"host", b"127.0.0.1:2718")]}
        await g(scope, None, send)
        return out[0]

    for _ in range(5):
        g_statuses.append(asyncio.run(run_one()))
    assert g_statuses == [200, 200, 200, 429, 429]


def test_guard_keeps_pages_offline():
    """Every HTML page gets the script that points marimo's MathJax CDN URL at the guard's empty stub."""
    import asyncio

    page = b"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>"

    async def app(scope, receive, send):
        if scope["path"] == "/app.js":
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/js")]})
            await send({"type": "http.response.body", "body": b"js"})
            return
        headers = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", str(len(page)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": page[:20], "more_body": True})
        await send({"type": "http.response.body", "body": page[20:]})

    def get(path):
        sent = []

        async def send(msg):
            sent.append(msg)

        scope = {"type": "http", "method": "GET", "path": path, "client": ("1.2.3.4", 5),
                 "headers": [(b"host", b"127.0.0.1:2718")]}  # fmt: skip
        asyncio.run(serve.Guard(app, hosts=serve.allowed_hosts("127.0.0.1", 2718))(scope, None, send))
        headers = dict(sent[0]["headers"])
        return headers, b"".join(m.get("body", b"") for m in sent[1:])

    headers, body = get("/")
    assert body.startswith(b"<!DOCTYPE html><html><head><script>") and body.endswith(page[40:])
    assert int(headers[b"content-length"]) == len(body)
    assert b"cdn.jsdelivr.net/npm/mathjax" in body and serve.OFFLINE_MATHJAX.encode() in body
    chunk = serve.plotly_chunk()  # marimo's plotly, imported once the page's WebSocket opens
    assert chunk and chunk.startswith("Plot-") and f'import("./assets/{chunk}")'.encode() in body
    assert get("/app.js")[1] == b"js"  # other responses untouched
    headers, body = get(serve.OFFLINE_MATHJAX)
    assert headers[b"content-type"] == b"application/javascript" and body.startswith(b"/*")


def test_stopping_cx_app_stops_marimo_and_its_kernels(workspace, tmp_path):
    """SIGTERM to `cx app` (as a service manager sends): the server and every child it started go down too."""
    port = _free_port()
    root = str(Path(cli.__file__).resolve().parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxlib.cli", "app", str(workspace), "--port", str(port), "--token", TOKEN],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    try:
        _wait_until_up(f"http://127.0.0.1:{port}", proc, log)
        children = _descendants(proc.pid)
        assert children, "cx app started no server process"
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and any(_alive(p) for p in children):
            time.sleep(0.2)
        assert not [p for p in children if _alive(p)], "marimo outlived cx app"
    finally:
        proc.kill()


def _descendants(pid: int) -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
