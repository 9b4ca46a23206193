"""A uvicorn server on a background thread, for tests and the Playwright driver."""

from __future__ import annotations

import socket
import threading
import time

from starlette.types import ASGIApp


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
