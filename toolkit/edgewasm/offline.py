"""The offline app shell: which files of a built site the service worker precaches.

A second visit must work with the network off, and the page cannot start without Pyodide's own
files and the edgewasm wheel, which Python's chunk loader cannot fetch for it (Python is not
running yet). So `web/sw.js` precaches the shell and the runtime; model bundles stay with the chunk
loader, which verifies them. The list is injected into sw.js at build time, with a build id over
the files' bytes: a new build changes sw.js, which is how browsers notice a new version.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import EdgewasmError

PLACEHOLDER = "self.__EDGEWASM_PRECACHE"
SHELL_FILES = ("index.html", "app.js", "app.py", "style.css", "snapshot-worker.mjs", "models/index.json")
RUNTIME_FILES = ("pyodide/pyodide.js", "pyodide/pyodide.mjs", "pyodide/pyodide.asm.mjs", "pyodide/pyodide.asm.wasm",
                 "pyodide/python_stdlib.zip", "pyodide/pyodide-lock.json")


def precache_list(dist: Path) -> list[str]:
    """Site-relative URLs to precache: "./" (the page), the shell, each model's samples, the runtime."""
    dist = Path(dist)
    lock = json.loads((dist / "pyodide" / "pyodide-lock.json").read_text())
    wheel = lock.get("packages", {}).get("edgewasm", {}).get("file_name")
    if not wheel:
        raise EdgewasmError(f"{dist}/pyodide/pyodide-lock.json does not register the edgewasm wheel")
    samples = sorted(p.relative_to(dist).as_posix() for p in dist.glob("models/*/samples.json"))
    snapshots = sorted(p.relative_to(dist).as_posix() for p in dist.glob("pyodide/snapshot/*.bin.gz"))
    files = [*SHELL_FILES, *samples, *RUNTIME_FILES, f"pyodide/{wheel}", *snapshots]  # snapshot: edgewasm/snapshot.py
    missing = [f for f in files if not (dist / f).is_file()]
    if missing:
        raise EdgewasmError(f"the site in {dist} lacks {', '.join(missing)}")
    return ["./", *files]


def write_service_worker(template: Path, dist: Path) -> dict:
    """Write dist/sw.js from the template with the precache list injected; returns the list."""
    files = precache_list(dist)
    digest = hashlib.sha256()
    for name in files[1:]:
        digest.update(name.encode() + b"\0" + hashlib.sha256((Path(dist) / name).read_bytes()).digest())
    precache = {"build": digest.hexdigest()[:16], "files": files}
    source = Path(template).read_text()
    if source.count(PLACEHOLDER) != 1:
        raise EdgewasmError(f"{template} must contain {PLACEHOLDER} exactly once")
    (Path(dist) / "sw.js").write_text(source.replace(PLACEHOLDER, json.dumps(precache)))
    return precache
