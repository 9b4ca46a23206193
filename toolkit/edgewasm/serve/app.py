"""The dev server app: `dist/` as static files and `POST /api/infer`, cross-origin isolated.

COOP/COEP make the page cross-origin isolated, which gives `performance.now()` its fine
resolution (the latency the demo shows); CORP keeps every file to this origin. `no-cache` makes
the browser revalidate, so a rebuilt bundle's manifest and chunks are never mixed with old ones.
"""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import EdgewasmError
from ..webshell import HEADERS
from .infer import InferenceApi
from .static import SafeStatic

DEV_HEADERS = {name.lower(): value for name, value in HEADERS.items()}  # what a static host's _headers gives
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


def create_app(dist: Path, workers: int = 4, threads: int | None = None) -> Starlette:
    """Serve `dist/` (index.html at /) and the inference API over `dist/models/` (`threads`: at most
    this many threads per request for a `--threads N` build; None: min(N, cores))."""
    dist = Path(dist)
    if not (dist / "index.html").is_file():
        raise EdgewasmError(f"{dist} has no index.html; build it first (`python build.py`)")
    api = InferenceApi(dist / "models", workers=workers, threads=threads)
    return Starlette(routes=[Route("/api/infer", api, methods=["GET", "POST", "PUT", "DELETE"]),
                             Mount("/", app=SafeStatic(dist))],
                     middleware=[Middleware(DevServerHeaders)])


def serve(dist: Path, host: str = "127.0.0.1", port: int = 8000, processes: int = 1,
          threads: int | None = None) -> None:
    import uvicorn

    if processes > 1:  # uvicorn worker processes, each building the app from the environment
        from .workers import serve_workers

        serve_workers(dist, host, port, processes, threads)
        return
    print(f"serving {dist} at http://{host}:{port}/ (inference API at /api/infer)")
    uvicorn.run(create_app(dist, threads=threads), host=host, port=port, log_level="warning")
