"""The Starlette dev server: the demo page and its server twin (`/api/infer` on wasmtime)."""

from .app import DevServerHeaders, create_app, serve
from .thread import ServerThread

__all__ = ["DevServerHeaders", "ServerThread", "create_app", "serve"]
