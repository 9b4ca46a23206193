"""onnxruntime-web from npm, staged for offline use: the wasm-only build and its SIMD module.

`ort.wasm.min.mjs` is the ES module with only the wasm execution provider; it imports
`ort-wasm-simd-threaded.mjs` and fetches `ort-wasm-simd-threaded.wasm` from `ort.env.wasm.wasmPaths`,
which the page points at the local server (never a CDN). Only those files (and the licence) are
kept from the package, cached per version.
"""

from __future__ import annotations

import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Callable

from ..webassets import StagingError, cache_dir, npm_pack

ORT_WEB_VERSION = "1.30.0"
ENTRY = "ort.wasm.min.mjs"
RUNTIME_FILES = (ENTRY, "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
KEPT = tuple(f"package/dist/{name}" for name in RUNTIME_FILES) + ("package/package.json", "package/LICENSE")


def fetch_ort_web(version: str = ORT_WEB_VERSION, log: Callable[[str], None] = print) -> Path:
    """The directory holding onnxruntime-web@version's wasm runtime files (fetched once)."""
    target = cache_dir() / "npm" / f"onnxruntime-web-{version}"
    if all((target / name).is_file() for name in RUNTIME_FILES):
        return target
    log(f"fetching onnxruntime-web@{version} from npm (once; cached in {target.parent})")
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        tarball = npm_pack(f"onnxruntime-web@{version}", Path(tmp))
        staged = Path(tmp) / "staged"
        staged.mkdir()
        with tarfile.open(tarball) as archive:
            members = {m.name: m for m in archive.getmembers()}
            missing = [name for name in KEPT[:len(RUNTIME_FILES)] if name not in members]
            if missing:
                raise StagingError(f"onnxruntime-web@{version} lacks {', '.join(missing)}: pick a version "
                                   "with the wasm backend's ES module build (1.17 or later)")
            for name in KEPT:
                if name in members:
                    source = archive.extractfile(members[name])
                    (staged / Path(name).name).write_bytes(source.read())
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
    return target
