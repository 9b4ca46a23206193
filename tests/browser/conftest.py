"""One headless Chromium with Pyodide booted once for the whole test session (boot costs ~5 s)."""

from __future__ import annotations

import os
import shutil

import pytest


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
