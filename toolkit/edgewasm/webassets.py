"""Stage the browser runtime: vendored Pyodide plus the edgewasm wheel, registered in its lockfile.

The page then boots with `loadPyodide({indexURL: "/pyodide/"})` and
`await pyodide.loadPackage("edgewasm")`. Both downloads are cached (Pyodide by version, the wheel
by the content of the sources it is built from), so staging again is a local copy.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

from .errors import EdgewasmError

PYODIDE_VERSION = "314.0.7"
KEEP_WHEELS = 8
PACKAGE_FILES = ("pyproject.toml", "setup.cfg", "setup.py", "MANIFEST.in", "README.md", "README.rst", "LICENSE",
                 "LICENSE.txt", "NOTICE")  # top-level files a wheel build may read

Log = Callable[[str], None]


class StagingError(EdgewasmError):
    """The browser runtime could not be fetched or built."""


def cache_dir() -> Path:
    return Path(os.environ.get("EDGEWASM_CACHE") or Path.home() / ".cache" / "edgewasm")


def stage_runtime(dest: Path, log: Log = print) -> Path:
    """Put Pyodide and the edgewasm wheel into `dest/pyodide/`; returns that directory."""
    target = Path(dest) / "pyodide"
    pyodide = fetch_pyodide(log)
    wheel = build_wheel(log)
    log(f"staging the browser runtime into {target}")
    _sync_tree(pyodide, target, skip={"pyodide-lock.json"})  # written below, with edgewasm in it
    for stale in target.glob("edgewasm-*.whl"):
        if stale.name != wheel.name:
            stale.unlink()
    _replace_file(target / wheel.name, wheel.read_bytes())
    _register_wheel(pyodide / "pyodide-lock.json", target / wheel.name, target / "pyodide-lock.json")
    return target


def _replace_file(path: Path, data: bytes) -> None:
    """Write-then-rename, so a server reading `path` meanwhile sees the old or the new file whole."""
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_bytes(data)
    os.replace(partial, path)


# -- Pyodide ---------------------------------------------------------------------------------


def npm_pack(spec: str, directory: Path) -> Path:
    """`npm pack spec` into directory: the package's tarball, or a StagingError that says why."""
    npm = shutil.which("npm")
    if npm is None:
        raise StagingError(f"npm is needed to fetch {spec}; install Node.js and npm")
    result = subprocess.run([npm, "pack", spec, "--pack-destination", str(directory)], capture_output=True, text=True)
    if result.returncode != 0:
        raise StagingError(f"npm pack {spec} failed:\n{result.stderr.strip()[-2000:]}")
    tarballs = list(Path(directory).glob("*.tgz"))
    if len(tarballs) != 1:
        raise StagingError(f"npm pack {spec} left {len(tarballs)} tarballs, expected one")
    return tarballs[0]


def fetch_pyodide(log: Log = print, version: str = PYODIDE_VERSION) -> Path:
    """The extracted npm package `pyodide@version`, downloaded once into the cache."""
    extracted = cache_dir() / "npm" / f"pyodide-{version}"
    if (extracted / "pyodide-lock.json").is_file():
        return extracted
    log(f"fetching pyodide@{version} from npm (once; cached in {extracted.parent})")
    extracted.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=extracted.parent) as tmp:
        tarball = npm_pack(f"pyodide@{version}", Path(tmp))
        unpacked = Path(tmp) / "unpacked"
        with tarfile.open(tarball) as archive:
            archive.extractall(unpacked, filter="data")
        if not (unpacked / "package" / "pyodide-lock.json").is_file():
            raise StagingError(f"pyodide@{version} from npm has no pyodide-lock.json")
        shutil.rmtree(extracted, ignore_errors=True)
        (unpacked / "package").rename(extracted)
    return extracted


def _sync_tree(source: Path, target: Path, skip: set[str]) -> None:
    """Copy files whose size or mtime differ, so staging again costs almost nothing."""
    for path in source.rglob("*"):
        if not path.is_file() or path.relative_to(source).as_posix() in skip:
            continue
        copy = target / path.relative_to(source)
        stat = path.stat()
        if copy.is_file() and copy.stat().st_size == stat.st_size and copy.stat().st_mtime == stat.st_mtime:
            continue
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, copy)


# -- the edgewasm wheel ----------------------------------------------------------------------


def project_root() -> Path:
    """The source checkout this edgewasm was imported from (the wheel is built from it)."""
    package = Path(__file__).resolve().parent
    root = package.parent.parent
    if not (root / "pyproject.toml").is_file() or package.parent.name != "toolkit":
        raise StagingError(
            f"edgewasm was imported from {package}, which is not a source checkout "
            "(toolkit/edgewasm beside pyproject.toml); the browser runtime wheel is built from the sources"
        )
    return root


def _source_files(root: Path) -> list[tuple[str, Path]]:
    files = [(name, root / name) for name in PACKAGE_FILES if (root / name).is_file()]
    package = root / "toolkit" / "edgewasm"
    for directory, subdirs, names in os.walk(package, followlinks=True):  # wat/ is a link to wasm-kernels/
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith(".pyc"):
                path = Path(directory) / name
                files.append((path.relative_to(root).as_posix(), path))
    return files


def _sources_digest(files: list[tuple[str, Path]]) -> str:
    digest = hashlib.sha256()
    for rel, path in files:
        digest.update(rel.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:20]


def build_wheel(log: Log = print) -> Path:
    """Build the pure-Python wheel from a clean copy of the sources (cached by their content).

    Building from a copy keeps stale `build/` leftovers in the checkout out of the wheel.
    """
    try:
        root = project_root()
    except StagingError:  # a pip install: the wheel is made from the installed package itself
        return build_installed_wheel(log)
    files = _source_files(root)
    cached = cache_dir() / "wheels" / _sources_digest(files)
    wheels = list(cached.glob("edgewasm-*-py3-none-any.whl"))
    if len(wheels) == 1:
        return wheels[0]
    log("building the edgewasm wheel (pip wheel)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cached.parent) as tmp:
        source, out = Path(tmp) / "src", Path(tmp) / "out"
        for rel, path in files:
            (source / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, source / rel)
        result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", str(source),
                                 "-w", str(out)], capture_output=True, text=True)
        built = list(out.glob("edgewasm-*-py3-none-any.whl"))
        if result.returncode != 0 or len(built) != 1:
            output = (result.stderr or result.stdout).strip()[-2000:]
            raise StagingError(f"pip wheel failed to build edgewasm:\n{output}")
        shutil.rmtree(cached, ignore_errors=True)
        out.rename(cached)
    _prune(cached.parent, keep=KEEP_WHEELS)
    return cached / built[0].name


def _prune(directory: Path, keep: int) -> None:
    """Drop all but the `keep` most recently built wheels (one per source state)."""
    builds = sorted((p for p in directory.iterdir() if p.is_dir()), key=lambda p: p.stat().st_mtime, reverse=True)
    for stale in builds[keep:]:
        shutil.rmtree(stale, ignore_errors=True)


def _register_wheel(pristine_lock: Path, wheel: Path, lock_out: Path) -> None:
    """Write Pyodide's lockfile with an `edgewasm` entry pointing at the wheel beside it."""
    from pyodide_lock import PyodideLockSpec
    from pyodide_lock.utils import add_wheels_to_spec

    spec = PyodideLockSpec.from_json(pristine_lock)
    try:
        spec = add_wheels_to_spec(spec, [wheel], base_path=wheel.parent)
    except RuntimeError as exc:
        raise StagingError(f"cannot register {wheel.name} in pyodide-lock.json: {exc}") from None
    _replace_file(lock_out, json.dumps(spec.to_dict(), sort_keys=True).encode())


# -- the wheel of an installed edgewasm (no source checkout) -----------------------------------

WHEEL_EPOCH = (1980, 1, 1, 0, 0, 0)  # fixed zip timestamps: the same files give the same wheel bytes


def installed_package_files(package: Path) -> list[tuple[str, Path]]:
    """(name in the wheel, path) of every file of the installed package, sorted, without bytecode."""
    files = []
    for directory, subdirs, names in os.walk(package, followlinks=True):  # a checkout's wat/ is a link
        subdirs[:] = sorted(d for d in subdirs if d != "__pycache__")
        for name in sorted(names):
            if not name.endswith((".pyc", ".pyo")):
                path = Path(directory) / name
                files.append((f"{package.name}/{path.relative_to(package).as_posix()}", path))
    return files


def installed_metadata(package: Path | None = None, distribution: str = "edgewasm") -> tuple[str, str]:
    """(METADATA text, entry_points.txt text or "") of the installed distribution: the one installed
    beside `package` (site-packages) if there is one, else the first on sys.path."""
    from importlib import metadata

    beside = [] if package is None else [d for d in metadata.distributions(path=[str(Path(package).parent)])
                                         if (d.metadata["Name"] or "").lower() == distribution]
    try:
        dist = beside[0] if beside else metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        raise StagingError(f"{distribution} is neither a source checkout nor an installed distribution "
                           "(no .dist-info found), so its browser wheel cannot be made") from None
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO")
    if not text:
        raise StagingError(f"the installed {distribution} has no METADATA; reinstall it with pip")
    return text, dist.read_text("entry_points.txt") or ""


def wheel_bytes(files: list[tuple[str, bytes]], metadata_text: str, entry_points: str = "") -> tuple[str, bytes]:
    """A pure-Python wheel (file name, bytes) of `files`, reproducible byte for byte."""
    fields = {}
    for line in metadata_text.splitlines():
        if not line.strip():
            break  # the description follows the headers
        key, sep, value = line.partition(":")
        if sep:
            fields.setdefault(key.strip().lower(), value.strip())
    name, version = fields.get("name"), fields.get("version")
    if not name or not version:
        raise StagingError("the installed METADATA lacks Name or Version")
    stem = f"{name.replace('-', '_').lower()}-{version}"
    info = f"{stem}.dist-info"
    entries = sorted(files) + [(f"{info}/METADATA", metadata_text.encode()),
                               (f"{info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: edgewasm\n"
                                                 b"Root-Is-Purelib: true\nTag: py3-none-any\n"),
                               (f"{info}/top_level.txt", f"{files[0][0].split('/')[0]}\n".encode())]
    if entry_points:
        entries.append((f"{info}/entry_points.txt", entry_points.encode()))
    record = []
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for arcname, data in entries:
            _write_entry(archive, arcname, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{arcname},sha256={digest},{len(data)}")
        record.append(f"{info}/RECORD,,")
        _write_entry(archive, f"{info}/RECORD", ("\n".join(record) + "\n").encode())
    return f"{stem}-py3-none-any.whl", buffer.getvalue()


def _write_entry(archive: zipfile.ZipFile, arcname: str, data: bytes) -> None:
    entry = zipfile.ZipInfo(arcname, WHEEL_EPOCH)
    entry.external_attr = 0o644 << 16
    entry.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(entry, data)


def build_installed_wheel(log: Log = print, package: Path | None = None,
                          metadata: tuple[str, str] | None = None) -> Path:
    """The browser runtime wheel of an installed edgewasm (site-packages), cached by its content.

    Pyodide needs only the package's files and its METADATA (whose `sys_platform != 'emscripten'`
    markers keep numpy, onnx and wasmtime out of the page), so they are zipped as they are installed.
    """
    package = Path(package or Path(__file__).resolve().parent)
    metadata_text, entry_points = metadata or installed_metadata(package)
    files = [(arcname, path.read_bytes()) for arcname, path in installed_package_files(package)]
    digest = hashlib.sha256(metadata_text.encode() + b"\0" + entry_points.encode())
    for arcname, data in files:
        digest.update(arcname.encode() + b"\0" + hashlib.sha256(data).digest())
    cached = cache_dir() / "wheels" / f"installed-{digest.hexdigest()[:20]}"
    wheels = list(cached.glob("*-py3-none-any.whl"))
    if len(wheels) == 1:
        return wheels[0]
    log(f"making the browser runtime wheel from the installed package ({package})")
    name, data = wheel_bytes(files, metadata_text, entry_points)
    cached.mkdir(parents=True, exist_ok=True)
    _replace_file(cached / name, data)
    _prune(cached.parent, keep=KEEP_WHEELS)
    return cached / name
