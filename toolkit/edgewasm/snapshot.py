"""Bake a Pyodide memory snapshot into a staged site, so that a first visit restores Python with
edgewasm imported instead of booting it (the boot is most of what a first visit waits for).

Node runs the site's own Pyodide files with `_makeSnapshot`, imports what a page imports, and
writes `makeMemorySnapshot()` (Pyodide 314's private, version-pinned API; the page restores it
with `_loadSnapshot`). A snapshot is only valid for one Pyodide build and one wheel, so its file
name is its key: `pyodide/snapshot/<platform>-<python>-<abi>-<wheel sha256>.bin.gz`, which app.js
computes from pyodide-lock.json; Pyodide itself refuses another build's snapshot (its build id is
in the header), and the page then boots normally. The memory (~30 MiB, mostly zeros) is stored
gzip-compressed (~6 MB) because static hosts rarely compress application/octet-stream; the page
inflates it with DecompressionStream.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from .webassets import cache_dir

SNAPSHOT_DIR = "pyodide/snapshot"
WHEEL_DIR = "/lib/edgewasm-snapshot/"  # app.js writes the wheel back here after a restore (lazy imports)
MAGIC = 1886286592  # the first u32 of a Pyodide snapshot
KEEP_CACHED = 4
NODE_TIMEOUT_S = 300

# What a page imports before its first result, so a restored interpreter has it in memory.
PRELOAD = """
import sys
sys.path.insert(0, WHEEL_PATH)
import array, ast, asyncio, base64, hashlib, json, math, random, struct, time
import js, pyodide.ffi
import edgewasm, edgewasm.runtime.browser_host, edgewasm.runtime.browser_threads, edgewasm.runtime.dom
import edgewasm.runtime.twin
"""

# The site's app.py, compiled: app.js runs this code object when app.py still has this source
# (compiling it in a just-restored interpreter is a good part of a first visit's Python time).
PAGE = """
import ast, builtins
builtins.__edgewasm_page__ = (PAGE_SOURCE, compile(PAGE_SOURCE, "app.py", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT))
del PAGE_SOURCE
"""

# Run by `node --input-type=module`; argv: pyodide.mjs URL, indexURL, wheel file, wheel path, output,
# the site's app.py ("" when it has none).
# `_sysExecutable` as a browser has it, so no path of the build machine ends up in the snapshot.
BAKER = """
const [mjs, indexURL, wheelFile, wheelPath, out, page] = process.argv.slice(1);
const { readFileSync, writeFileSync } = await import("node:fs");
const { loadPyodide } = await import(mjs);
const pyodide = await loadPyodide({ indexURL, _makeSnapshot: true, _sysExecutable: "./this.program" });
pyodide.FS.mkdirTree(wheelPath.slice(0, wheelPath.lastIndexOf("/")));
pyodide.FS.writeFile(wheelPath, readFileSync(wheelFile));
pyodide.runPython(process.env.EDGEWASM_PRELOAD.replace("WHEEL_PATH", JSON.stringify(wheelPath)));
if (page) {
  pyodide.globals.set("PAGE_SOURCE", readFileSync(page, "utf8"));
  pyodide.runPython(process.env.EDGEWASM_PAGE);
}
writeFileSync(out, pyodide.makeMemorySnapshot());
"""

Log = Callable[[str], None]


def snapshot_name(lock: dict) -> str | None:
    """The key of a site's snapshot (its file name), from its pyodide-lock.json; None without a wheel."""
    info, wheel = lock.get("info", {}), lock.get("packages", {}).get("edgewasm")
    if not wheel:
        return None
    return f"{info.get('platform')}-{info.get('python')}-{info.get('abi_version')}-{wheel['sha256']}.bin.gz"


def bake_snapshot(site: Path, log: Log = print) -> Path | None:
    """Write the snapshot for `site`'s Pyodide and wheel into `site/pyodide/snapshot/`; its path.

    `site` is a staged site (`pyodide/` with the edgewasm wheel in its lockfile; its `app.py`, if
    already there, is compiled into the snapshot too). Returns None, and
    logs why, when no snapshot can be made (no Node, or Node failed): the site still works, its
    first visit just boots Python. Snapshots are cached by the bytes they are made from.
    """
    runtime = Path(site) / "pyodide"
    try:
        lock = json.loads((runtime / "pyodide-lock.json").read_text())
    except (OSError, ValueError) as exc:
        log(f"no Python snapshot: {runtime}/pyodide-lock.json is unreadable ({exc})")
        return None
    name = snapshot_name(lock)
    wheel = runtime / lock["packages"]["edgewasm"]["file_name"] if name else None
    if wheel is None or not wheel.is_file():
        log(f"no Python snapshot: {runtime} has no edgewasm wheel registered in its lockfile")
        return None
    target = Path(site) / SNAPSHOT_DIR / name
    for stale in target.parent.glob("*") if target.parent.is_dir() else ():
        if stale.name != name:
            stale.unlink()
    cached = _cached_snapshot(runtime, wheel)
    if not cached.is_file():
        made = _make(runtime, wheel, cached, log)
        if made is None:
            return None
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(cached, target)
    return target


def _cached_snapshot(runtime: Path, wheel: Path) -> Path:
    digest = hashlib.sha256(PRELOAD.encode() + PAGE.encode() + BAKER.encode())
    for path in (runtime / "pyodide.mjs", runtime / "pyodide.asm.mjs", runtime / "pyodide.asm.wasm",
                 runtime / "python_stdlib.zip", wheel, runtime.parent / "app.py"):
        digest.update(hashlib.sha256(path.read_bytes() if path.is_file() else b"").digest())
    return cache_dir() / "snapshots" / f"{digest.hexdigest()[:24]}.bin.gz"


def _make(runtime: Path, wheel: Path, cached: Path, log: Log) -> Path | None:
    node = shutil.which("node")
    if node is None:
        log("no Python snapshot: Node.js is needed to make it (a first visit will boot Python instead)")
        return None
    log("making the Python memory snapshot (Node, once per Pyodide build and wheel)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
        raw = Path(tmp) / "snapshot.bin"
        page = runtime.parent / "app.py"
        args = [(runtime / "pyodide.mjs").resolve().as_uri(), str(runtime.resolve()) + "/", str(wheel),
                WHEEL_DIR + wheel.name, str(raw), str(page) if page.is_file() else ""]
        try:
            result = subprocess.run([node, "--input-type=module", "-e", BAKER, *args], capture_output=True,
                                    text=True, timeout=NODE_TIMEOUT_S, env={**os.environ, "EDGEWASM_PRELOAD": PRELOAD, "EDGEWASM_PAGE": PAGE})
        except subprocess.TimeoutExpired:
            log(f"no Python snapshot: Node did not finish in {NODE_TIMEOUT_S} s")
            return None
        data = raw.read_bytes() if result.returncode == 0 and raw.is_file() else b""
        if len(data) < 16 or int.from_bytes(data[:4], "little") != MAGIC:
            lines = (result.stderr or result.stdout or "no snapshot written").strip().splitlines()
            log(f"no Python snapshot: Node failed ({lines[-1] if lines else result.returncode})")
            return None
        packed = Path(tmp) / "snapshot.bin.gz"
        packed.write_bytes(gzip.compress(data, compresslevel=6, mtime=0))
        os.replace(packed, cached)
    _prune(cached.parent)
    return cached


def _prune(directory: Path) -> None:
    made = sorted(directory.glob("*.bin.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in made[KEEP_CACHED:]:
        stale.unlink(missing_ok=True)
