"""The guard in front of ``cx app`` / ``cx edit``: Host and Origin checks and a login rate limit.

marimo's server checks its token, and its CORS middleware answers cross-origin *HTTP* requests, but it
accepts a WebSocket from any page: a page on ``http://evil.example.com`` could open
``ws://127.0.0.1:2718/ws`` and read what the notebooks show, and a DNS-rebinding page could do the same
under its own host name. So, as JupyterLab does, every request to a served notebook passes this guard:

- the ``Host`` header must name the server itself (the interface it is bound to, ``localhost``/``127.0.0.1``/
  ``::1``, and the machine's own names when bound to every interface; more with ``CX_APP_ALLOWED_HOSTS``);
- an ``Origin`` header, when present, must be the same origin as the ``Host`` (browsers always send one on a
  WebSocket; a page of another site is refused with 403 before marimo sees the request);
- attempts at the login page are limited per client address (``CX_APP_LOGIN_ATTEMPTS`` per minute, default 10;
  then 429), so a password cannot be guessed at speed;
- no page makes a request outside the machine: marimo's plotly component loads MathJax from a CDN
  (``cdn.jsdelivr.net``) on every page with a chart, which leaks that the app is open and fails offline. Every
  HTML page gets a small script that points that one URL at :data:`OFFLINE_MATHJAX`, an empty script this
  guard serves (charts render; LaTeX in labels, which no page uses, stays plain text).
- every HTML page also imports marimo's plotly chunk (:func:`plotly_chunk`, 4.6 MB of JavaScript) as soon as
  its WebSocket to the kernel opens, while the kernel runs the first cells, instead of when the first chart
  arrives: the chart's 2-3 s of evaluating plotly (a loaded 2-core machine) become 0.5-1 s. Not earlier: as the
  page starts (``modulepreload`` or an idle callback), it slows marimo's own start as much as it saves.

``cx app`` (``marimo run``) runs every tab's kernel as a thread of this process, so a module is imported once
per server: :data:`PRELOAD` (pandas, pyarrow, Ibis with its DuckDB backend, the cxlib modules every page
uses, and ``nbformat``, which plotly imports to show its first figure) is imported as the server starts, before
it answers, so that the first tab does not wait for it (5-10 s of the first page's first chart on a loaded
2-core machine). Not plotly, nor anything that imports it: marimo
registers its formatter for plotly figures only when plotly is first imported inside a kernel (imported by
the server, figures would show as plotly's own HTML, which loads plotly.js from a CDN).

marimo offers a registry for server middleware (``marimo.server.asgi.middleware``); the guard is registered
there by :func:`main`, which then runs marimo's own command line in the same process. The settings come
from environment variables that ``cx app`` sets, so a plain ``marimo`` run elsewhere is untouched.

Examples
--------
>>> allowed_hosts("127.0.0.1", 2718)[:2]
['127.0.0.1:2718', 'localhost:2718']
>>> same_origin("http://127.0.0.1:2718", "127.0.0.1:2718"), same_origin("http://evil.example.com", "127.0.0.1:2718")
(True, False)
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import socket
import sys
import time
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Guard", "allowed_hosts", "main", "plotly_chunk", "preload", "same_origin"]

LOCAL_NAMES = ("127.0.0.1", "localhost", "::1")
#: Where the pages load "MathJax" from instead of the CDN: an empty script served by the guard.
OFFLINE_MATHJAX = "/cx-offline/mathjax.js"
_CDN_MATHJAX = "https://cdn.jsdelivr.net/npm/mathjax"
#: Injected at the top of every HTML page: a script element whose src is the CDN's MathJax loads the stub.
_OFFLINE_SCRIPT = (
    f"<script>(function(){{var cdn={json.dumps(_CDN_MATHJAX)},to={json.dumps(OFFLINE_MATHJAX)},"
    "d=Object.getOwnPropertyDescriptor(HTMLScriptElement.prototype,'src');"
    "function fix(v){return String(v).indexOf(cdn)===0?to:v}"
    "Object.defineProperty(HTMLScriptElement.prototype,'src',{configurable:true,get:d.get,"
    "set:function(v){d.set.call(this,fix(v))}});var sa=Element.prototype.setAttribute;"
    "Element.prototype.setAttribute=function(n,v){return sa.call(this,n,"
    "(this.tagName==='SCRIPT'&&String(n).toLowerCase()==='src')?fix(v):v)}})();</script>"
)
#: Imports marimo's plotly chunk once the page's WebSocket to its kernel opens: the browser then has the page
#: drawn and waits for the kernel's first cells, time in which the 4.6 MB of plotly is evaluated (a module
#: evaluated once; the chart's own import later gets it). Earlier, it would slow the page's own start.
_PLOTLY_AT_OPEN = (
    "<script>(function(){var W=window.WebSocket,done=false;if(!W)return;"
    "window.WebSocket=class extends W{constructor(...a){super(...a);if(!done){done=true;"
    "this.addEventListener('open',function(){setTimeout(function(){import(CHUNK).catch(function(){})},0)},"
    "{once:true})}}}})();</script>"
)
#: What every page imports, imported by the server of ``cx app`` as it starts (its tabs' kernels are its
#: threads). Nothing here may import plotly (see the module's docstring).
#: ``nbformat`` (when installed: JupyterLab's extra) is what plotly imports when a page shows its first figure;
#: its ``jsonschema`` builds some 40 parsers as it is imported (4 s of the first chart of a loaded machine).
PRELOAD = ("pandas", "pyarrow", "duckdb", "ibis", "ibis.backends.duckdb", "cxlib.engine", "cxlib.io",
           "cxlib.lineage", "cxlib.metrics", "nbformat")  # fmt: skip
HOSTS_ENV = "CX_APP_ALLOWED_HOSTS"
ATTEMPTS_ENV = "CX_APP_LOGIN_ATTEMPTS"

Scope = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def allowed_hosts(bound: str, port: int) -> list[str]:
    """The ``Host`` values (``name:port``) a server bound to ``bound`` answers to."""
    names = list(LOCAL_NAMES)
    if bound not in names:
        names.append(bound)
    if bound in ("0.0.0.0", "::"):
        names += [socket.gethostname(), socket.getfqdn()]
    return [_hostport(n.lower(), port) for n in dict.fromkeys(names)]


def same_origin(origin: str, host: str) -> bool:
    """Whether a browser's ``Origin`` header (``scheme://name[:port]``) is the server's own ``host``."""
    parts = urlsplit(origin)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return False
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return False
    return _hostport(parts.hostname.lower(), port) == host.lower()


class Guard:
    """ASGI middleware: refuse foreign hosts and origins, and limit login attempts (see the module docstring)."""

    def __init__(self, app: ASGIApp, hosts: list[str] | None = None, attempts: int | None = None) -> None:
        self.app = app
        env_hosts = [h.strip().lower() for h in os.environ.get(HOSTS_ENV, "").split(",") if h.strip()]
        self.hosts = {h.lower() for h in (hosts or [])} | set(env_hosts)
        self.attempts = attempts if attempts is not None else int(os.environ.get(ATTEMPTS_ENV, "10"))
        self._tries: dict[str, deque[float]] = defaultdict(deque)

    async def __call__(self, scope: Scope, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        host = headers.get("host", "").lower()
        refusal = None
        if self.hosts and host not in self.hosts:
            refusal = (403, f"host {host!r} is not this server")
        elif "origin" in headers and not same_origin(headers["origin"], host):
            refusal = (403, "cross-origin request refused")
        elif scope["type"] == "http" and self._too_many_logins(scope):
            refusal = (429, "too many login attempts; wait a minute")
        if refusal is not None:
            return await _refuse(scope, send, *refusal)
        if scope["type"] == "http" and scope.get("path") == OFFLINE_MATHJAX:
            return await _answer(send, 200, b"/* cx: MathJax is not loaded; no request leaves the machine */",
                                 b"application/javascript")  # fmt: skip
        if scope["type"] == "http":
            return await self.app(scope, receive, _OfflinePages(send))
        return await self.app(scope, receive, send)

    def _too_many_logins(self, scope: Scope) -> bool:
        if scope.get("method") != "POST" or not scope.get("path", "").rstrip("/").endswith("/auth/login"):
            return False
        client = (scope.get("client") or ("?", 0))[0]
        now, tries = time.monotonic(), self._tries[client]
        while tries and now - tries[0] > 60:
            tries.popleft()
        tries.append(now)
        return len(tries) > self.attempts


class _OfflinePages:
    """A ``send`` that adds :data:`_OFFLINE_SCRIPT` to the ``<head>`` of uncompressed HTML responses."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self.start: dict | None = None
        self.body: list[bytes] = []

    async def __call__(self, message: dict) -> None:
        if message["type"] == "http.response.start":
            headers = {k.lower(): v for k, v in message.get("headers", [])}
            html = headers.get(b"content-type", b"").startswith(b"text/html")
            if html and b"content-encoding" not in headers:
                self.start = message
                return
        elif message["type"] == "http.response.body" and self.start is not None:
            self.body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            return await self._flush()
        await self.send(message)

    async def _flush(self) -> None:
        body = b"".join(self.body)
        at = body.find(b"<head>")
        chunk = plotly_chunk()
        preload = _PLOTLY_AT_OPEN.replace("CHUNK", json.dumps(f"./assets/{chunk}")) if chunk else ""
        script = (_OFFLINE_SCRIPT + preload).encode()
        body = body[: at + 6] + script + body[at + 6 :] if at >= 0 else script + body
        assert self.start is not None
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.send({**self.start, "headers": headers})
        await self.send({"type": "http.response.body", "body": body})


@functools.cache
def plotly_chunk() -> str | None:
    """The file name of the plotly chunk among marimo's static assets (``Plot-<hash>.js``), or None when there is
    not exactly one (another marimo build: the pages then load it when the first chart arrives, as before)."""
    import marimo

    found = sorted(p.name for p in (Path(marimo.__file__).parent / "_static" / "assets").glob("Plot-*.js"))
    return found[0] if len(found) == 1 else None


async def _answer(send: Any, status: int, body: bytes, content_type: bytes) -> None:
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(scope: Scope, send: Any, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        # closing before accepting makes the server answer the handshake with 403
        await send({"type": "websocket.close", "code": 1008})
        return
    await _answer(send, status, text.encode(), b"text/plain; charset=utf-8")


def main(argv: list[str] | None = None) -> None:
    """Run ``marimo ARGV`` with the guard in front (the process ``cx app`` starts).

    The bound host and port are read from ``--host`` and ``--port`` in ``argv``.
    """
    from marimo._cli.cli import main as marimo_main
    from marimo._server.registry import MIDDLEWARE_REGISTRY
    from starlette.middleware import Middleware

    args = list(sys.argv[1:] if argv is None else argv)
    host = args[args.index("--host") + 1] if "--host" in args else "127.0.0.1"
    port = int(args[args.index("--port") + 1]) if "--port" in args else 2718
    MIDDLEWARE_REGISTRY.register("cx_guard", Middleware(Guard, hosts=allowed_hosts(host, port)))
    if args and args[0] == "run":  # kernels are threads of this process: what it imports, they have
        preload()  # before the server answers: no tab waits for these imports
    marimo_main(args, prog_name="marimo")


def preload(modules: tuple[str, ...] = PRELOAD) -> None:
    """Import ``modules`` (what the pages import), skipping any that fail: the page that needs one says why."""
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001, S112 - a page importing it reports the error, not the server
            continue


if __name__ == "__main__":  # pragma: no cover - run by cx app
    main()
