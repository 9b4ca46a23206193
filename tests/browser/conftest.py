"""One headless Chromium with Pyodide booted once for the whole test session (boot costs ~5 s)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:  # the shared model builders live in tests/models.py
    sys.path.insert(0, str(TESTS))


@pytest.fixture(scope="session")
def browser():
    if shutil.which("chromium") is None:
        pytest.skip("no `chromium` on PATH (apt-get install chromium)")
    from edgewasm.browser import BrowserSession

    with BrowserSession() as session:
        yield session
