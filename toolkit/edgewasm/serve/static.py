"""Static files from one directory, refusing every way out of it.

Refused with 404 (no hint of what exists): `..` segments, encoded separators (%2F, %5C) and NULs in
the raw request path, backslashes, hidden files, and any path with a symlink on its way, even one
pointing inside the root. Only GET and HEAD.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response

FORBIDDEN_RAW = (b"%2f", b"%5c", b"%00", b"\\", b"\x00")


class SafeStatic:
    def __init__(self, root: Path, index: str = "index.html"):
        self.root = Path(root).resolve()
        self.index = index

    def resolve(self, raw_path: bytes) -> Path | None:
        """The regular file a request path names inside the root, or None."""
        lowered = raw_path.lower()
        if any(bad in lowered for bad in FORBIDDEN_RAW):
            return None
        try:
            parts = [p for p in unquote(raw_path.decode("ascii"), errors="strict").split("/") if p]
        except (UnicodeDecodeError, UnicodeEncodeError):
            return None
        if any(p in (".", "..") or p.startswith(".") for p in parts):
            return None
        current = self.root
        for part in parts:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except OSError:
                return None
            if stat.S_ISLNK(mode):
                return None
        if stat.S_ISDIR(os.lstat(current).st_mode):
            current = current / self.index
            try:
                if not stat.S_ISREG(os.lstat(current).st_mode):
                    return None
            except OSError:
                return None
        elif not stat.S_ISREG(os.lstat(current).st_mode):
            return None
        return current

    async def __call__(self, scope, receive, send) -> None:
        request = Request(scope)
        if request.method not in ("GET", "HEAD"):
            response: Response = PlainTextResponse("method not allowed", status_code=405)
        else:
            path = self.resolve(scope.get("raw_path") or scope["path"].encode())
            response = FileResponse(path) if path else PlainTextResponse("not found", status_code=404)
        await response(scope, receive, send)
