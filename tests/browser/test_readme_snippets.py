"""The README's plain-page and PyScript snippets, read from README.md and run offline in Chromium.

The pages are served next to the demo site (`models/digits/`, `pyodide/` with the edgewasm wheel in
its lockfile) and PyScript's `@pyscript/core` from npm under `pyscript/`; the browser may reach
nothing but this local server, so a snippet that needs a CDN fails here. What each page prints must
be the bits wasmtime computes for the variant the page chose.
"""

from __future__ import annotations

import os
import re
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

import edgewasm

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
PYSCRIPT_VERSION = "0.7.31"  # the version the README's PyScript section names


def readme_snippet(marker: str) -> str:
    """The first ```html block after the paragraph that contains `marker`."""
    text = (ROOT / "README.md").read_text()
    start = text.index(marker)
    match = re.compile(r"```html\n(.*?)```", re.S).search(text, start)
    assert match, f"no html block after {marker!r} in README.md"
    return match.group(1)


def fetch_pyscript() -> Path:
    """`@pyscript/core@PYSCRIPT_VERSION`'s dist/ from npm, cached like Pyodide."""
    from edgewasm.webassets import StagingError, cache_dir, npm_pack

    extracted = cache_dir() / "npm" / f"pyscript-core-{PYSCRIPT_VERSION}"
    if (extracted / "dist" / "core.js").is_file():
        return extracted / "dist"
    extracted.parent.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=extracted.parent) as tmp:
            tarball = npm_pack(f"@pyscript/core@{PYSCRIPT_VERSION}", Path(tmp))
            with tarfile.open(tarball) as archive:
                archive.extractall(Path(tmp) / "unpacked", filter="data")
            (Path(tmp) / "unpacked" / "package").rename(extracted)
    except StagingError as exc:
        if os.environ.get("CI") == "true":
            raise
        pytest.skip(f"cannot fetch @pyscript/core from npm: {exc}")
    return extracted / "dist"


@pytest.fixture(scope="module")
def snippet_site(site):
    """The demo site plus the two README pages and PyScript, on one local origin."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import HTMLResponse
    from starlette.routing import Mount, Route
    from starlette.staticfiles import StaticFiles

    from edgewasm.serve import DevServerHeaders, ServerThread
    from edgewasm.serve.static import SafeStatic

    dist, _ = site
    pages = {"/plain.html": readme_snippet("A plain page"), "/pyscript.html": readme_snippet("With PyScript")}

    async def page(request):
        return HTMLResponse(pages[request.url.path])

    app = Starlette(routes=[*(Route(path, page) for path in pages),
                            Mount("/pyscript", app=StaticFiles(directory=fetch_pyscript())),
                            Mount("/", app=SafeStatic(dist))],
                    middleware=[Middleware(DevServerHeaders)])
    with ServerThread(app) as server:
        yield dist, server.origin


def printed_result(browser, origin: str, path: str) -> tuple[str, list[float], list[str]]:
    """Open the page; wait for the line it prints: (variant, probabilities, requests outside origin)."""
    page = browser.new_page(origin)
    lines, blocked, errors = [], [], []
    page.on("console", lambda m: lines.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("requestfailed", lambda r: blocked.append(r.url))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status} for {r.url}"))
    try:
        page.goto(origin + path)
        pattern = re.compile(r"^(\w+): .*?(\[+[-0-9.e, ]+\]+)\s*$", re.S)
        for _ in range(1200):
            found = [pattern.match(line) for line in lines]
            found = [m for m in found if m]
            if found or errors:
                break
            page.wait_for_timeout(100)
        assert not errors, errors
        assert found, f"{path} printed no result; console:\n" + "\n".join(lines[-20:])
        variant, values = found[0].group(1), found[0].group(2)
        return variant, [float(v) for v in values.strip("[]").split(",")], blocked
    finally:
        page.context.close()


@pytest.mark.parametrize("path", ["/plain.html", "/pyscript.html"])
def test_readme_page_snippet_predicts_offline_with_wasmtimes_bits(browser, snippet_site, path):
    dist, origin = snippet_site
    variant, probabilities, blocked = printed_result(browser, origin, path)
    assert not blocked, f"{path} asked for files outside the local site: {blocked}"
    model = edgewasm.load(dist / "models" / "digits", variant=variant)
    expected = model.run({"pixels": np.full((1, 64), 0.5, np.float32)})["probabilities"]
    got = np.asarray(probabilities, np.float64).astype(np.float32).reshape(expected.shape)
    assert np.array_equal(got.view(np.uint32), expected.view(np.uint32)), (variant, got, expected)


def test_readme_pyscript_section_names_the_tested_version():
    text = (ROOT / "README.md").read_text()
    section = text[text.index("With PyScript"):]
    assert f"@pyscript/core@{PYSCRIPT_VERSION}" in section[:1500]
