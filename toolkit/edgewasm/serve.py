"""Starlette dev server for a built `dist/`: static files, cross-origin isolated, never stale.

COOP/COEP make the page cross-origin isolated, which gives `performance.now()` its fine
resolution (the latency the demo shows); CORP keeps every file to this origin. `no-cache` makes
the browser revalidate, so a rebuilt bundle's manifest and chunks are never mixed with old ones.
"""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import EdgewasmError

DEV_HEADERS = {
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-embedder-policy": "require-corp",
    "cross-origin-resource-policy": "same-origin",
    "cache-control": "no-cache",
}
CONTENT_TYPES = {  # the ones browsers insist on, whatever the system's mimetypes table says
    ".wasm": "application/wasm",
    ".mjs": "text/javascript",
    ".js": "text/javascript",
}


class DevServerHeaders:
    """ASGI middleware: DEV_HEADERS on every response, strict types for wasm and JS modules."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        content_type = CONTENT_TYPES.get(Path(scope["path"]).suffix)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                replaced = set(DEV_HEADERS) | ({"content-type"} if content_type else set())
                headers = [(k, v) for k, v in message.get("headers", []) if k.decode().lower() not in replaced]
                headers += [(k.encode(), v.encode()) for k, v in DEV_HEADERS.items()]
                if content_type:
                    headers.append((b"content-type", content_type.encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def create_app(dist: Path) -> Starlette:
    """Serve `dist/` (index.html at /) with DEV_HEADERS."""
    dist = Path(dist)
    if not (dist / "index.html").is_file():
        raise EdgewasmError(f"{dist} has no index.html; build it first (`python build.py`)")
    app = Starlette(routes=[Mount("/", app=StaticFiles(directory=dist, html=True))])
    app.add_middleware(DevServerHeaders)
    return app


def serve(dist: Path, host: str = "127.0.0.1", port: int = 8000) -> None:
    import uvicorn

    print(f"serving {dist} at http://{host}:{port}/")
    uvicorn.run(create_app(dist), host=host, port=port, log_level="warning")


class ServerThread:
    """Serve an ASGI app from a background thread on a free port of 127.0.0.1 (tests, Playwright).

    The socket is bound before the thread starts, so the port cannot be taken in between.
    """

    def __init__(self, app: ASGIApp, start_timeout: float = 10.0):
        import uvicorn

        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self.origin = f"http://127.0.0.1:{self._socket.getsockname()[1]}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._socket]},
                                        daemon=True, name="edgewasm-server")
        self._start_timeout = start_timeout

    def __enter__(self) -> "ServerThread":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the local server at {self.origin} did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self._socket.close()
