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


def parse_headers_file(text: str) -> list[tuple[str, dict[str, str]]]:
    """(path pattern, headers) rules of a `_headers` file, as static hosts read it."""
    rules: list[tuple[str, dict[str, str]]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            rules.append((line.strip(), {}))
        elif rules:
            name, sep, value = line.strip().partition(":")
            if sep:
                rules[-1][1][name.strip()] = value.strip()
    return rules


def headers_for(rules: list[tuple[str, dict[str, str]]], path: str) -> dict[str, str]:
    """The headers the rules give `path` ('*' matches any run of characters, as in Netlify's rules)."""
    import fnmatch

    found: dict[str, str] = {}
    for pattern, headers in rules:
        if fnmatch.fnmatchcase(path, pattern.replace("[", "[[]")):
            found.update(headers)
    return found


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
