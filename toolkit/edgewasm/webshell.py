"""The shell every edgewasm site shares: Pyodide with the runtime wheel, the boot code, the service
worker and the header file static hosts read.

`build.py` (the digits demo) and `edgewasm web` (a page generated from bundles) both stage a site
with `stage_shell`, add their page, then `seal` it. The shell's files are package data
(edgewasm/site/), so a pip install can stage a site without a source checkout.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from typing import Callable

from .errors import EdgewasmError
from .offline import write_service_worker
from .webassets import stage_runtime

SHELL_DIR = Path(__file__).resolve().parent / "site"
BOOT_FILES = ("app.js", "snapshot-worker.mjs")  # boot Python, then run the page's app.py
SERVICE_WORKER = SHELL_DIR / "sw.js"  # a template: `seal` injects the precache list

# Cross-origin isolation (precise timers, SharedArrayBuffer for --threads builds) on every file;
# no-cache makes browsers revalidate, so a new build is seen at once (the service worker still
# answers offline visits). Netlify and Cloudflare Pages read this file; docs/deploy.md has nginx's.
HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-cache",
}

Log = Callable[[str], None]


class SiteError(EdgewasmError):
    """A site could not be staged (unwritable output, a missing shell file)."""


def headers_file() -> str:
    """The `_headers` file: every path gets HEADERS."""
    return "/*\n" + "".join(f"  {name}: {value}\n" for name, value in HEADERS.items())


def prepare_output(site: Path) -> Path:
    """Create `site` (and parents) or say clearly why it cannot be written."""
    site = Path(site)
    if site.exists() and not site.is_dir():
        raise SiteError(f"{site} exists and is not a directory")
    try:
        site.mkdir(parents=True, exist_ok=True)
        probe = site / ".edgewasm-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise SiteError(f"cannot write the site to {site}: {exc.strerror or exc}") from None
    return site


def stage_shell(site: Path, log: Log = print) -> Path:
    """Pyodide + the edgewasm wheel (in its lockfile), the boot files and `_headers` into `site`."""
    site = prepare_output(site)
    if importlib.util.find_spec("pyodide_lock") is None:
        raise SiteError("staging a site needs the browser extra (Pyodide's lockfile tooling): "
                        "pip install 'edgewasm[browser]'")
    stage_runtime(site, log=log)
    for name in BOOT_FILES:
        source = SHELL_DIR / name
        if not source.is_file():
            raise SiteError(f"edgewasm's site files lack {name} ({source}); reinstall edgewasm")
        shutil.copyfile(source, site / name)
    (site / "_headers").write_text(headers_file())
    return site


def seal(site: Path, log: Log = print) -> dict:
    """Write sw.js with the precache list; call it last, when every shell and page file is in place."""
    precache = write_service_worker(SERVICE_WORKER, site)
    log(f"service worker: {len(precache['files'])} files precached for offline visits (build {precache['build']})")
    return precache
