"""Bytes shipped: what a page really fetched on a cold start, split into model and runtime.

The page reports its Resource Timing entries (URL and decoded body size); the local server
serves plain files, so each URL maps back to the file it came from and the gzip size a
production server would send is computed here (level 6, what nginx and most CDNs use).
"""

from __future__ import annotations

import gzip
from pathlib import Path
from urllib.parse import unquote, urlsplit

GZIP_LEVEL = 6
_gzip_sizes: dict[tuple[Path, int, int], int] = {}


def gzip_size(path: Path) -> int:
    stat = path.stat()
    key = (path, stat.st_size, stat.st_mtime_ns)
    if key not in _gzip_sizes:
        _gzip_sizes[key] = len(gzip.compress(path.read_bytes(), compresslevel=GZIP_LEVEL))
    return _gzip_sizes[key]


class ServedFiles:
    """URL path prefix -> local directory, for every directory the bench's server exposes."""

    def __init__(self):
        self.prefixes: dict[str, Path] = {}

    def add(self, prefix: str, directory: Path) -> None:
        self.prefixes[prefix if prefix.endswith("/") else prefix + "/"] = Path(directory)

    def resolve(self, url: str) -> Path | None:
        path = unquote(urlsplit(url).path)
        for prefix, directory in self.prefixes.items():
            if path.startswith(prefix):
                candidate = (directory / path[len(prefix):]).resolve()
                if candidate.is_file() and candidate.is_relative_to(directory.resolve()):
                    return candidate
        return None


def bytes_shipped(resources: list[dict], model_prefix: str, served: ServedFiles) -> dict:
    """{"model", "runtime", "total", "total_gzip", "files"} from the page's resource entries
    ({"name": url, "size": decoded bytes}); a URL under `model_prefix` is the model's."""
    model = runtime = compressed = 0
    unresolved = False
    files = []
    for entry in resources:
        size = int(entry.get("size") or 0)
        if size == 0:  # failed or empty (the browser's own /favicon.ico probe): nothing shipped
            continue
        is_model = urlsplit(entry["name"]).path.startswith(model_prefix)
        if is_model:
            model += size
        else:
            runtime += size
        local = served.resolve(entry["name"])
        if local is None:
            unresolved = True
        else:
            compressed += gzip_size(local)
        files.append({"url": urlsplit(entry["name"]).path, "bytes": size, "part": "model" if is_model else "runtime"})
    return {"model": model, "runtime": runtime, "total": model + runtime,
            "total_gzip": None if unresolved else compressed, "files": files}
