"""One headless Chromium with Pyodide booted once for the whole test session (boot costs ~5 s),
and the demo site built once by `build.py` for the page tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def browser():
    if shutil.which("chromium") is None:
        message = "no `chromium` on PATH (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must prove browser parity, never skip it
        pytest.skip(message)
    from edgewasm.browser import BrowserSession

    with BrowserSession() as session:
        yield session


@pytest.fixture(scope="session")
def site(tmp_path_factory):
    """dist/ built once by `python build.py --dist ...`, served on a free local port: (dist, origin)."""
    from edgewasm.serve import ServerThread, create_app

    dist = tmp_path_factory.mktemp("site") / "dist"
    paths = [str(ROOT / "toolkit"), os.environ.get("PYTHONPATH", "")]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, paths))}
    result = subprocess.run([sys.executable, str(ROOT / "build.py"), "--dist", str(dist)], env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    with ServerThread(create_app(dist)) as server:
        yield dist, server.origin
