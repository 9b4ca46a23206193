"""Every in-scope ONNX conformance case (`--all`, every dtype) gives the same bits in Chromium
(Pyodide) as on wasmtime.

The runner's browser engine runs every case that compiles on both engines in the session's one
browser and fails any case whose outputs differ in a single bit (unsigned views of the dtype's
bytes, NaN equals NaN; tests/test_conformance.py proves it notices). Here the browser must pass
exactly the cases wasmtime passes, and differ on none.
"""

from __future__ import annotations

import pytest

from edgewasm.conformance import run_conformance

from test_conformance import IN_SCOPE

pytestmark = pytest.mark.browser


def quiet(message: str) -> None:
    pass


def test_browser_passes_what_wasmtime_passes_with_the_same_bits(browser):
    # onnxruntime's anchor is the same in both runs: tests/test_conformance.py checks it
    on_wasmtime = run_conformance(all_ops=True, onnxruntime=False, log=quiet)
    in_browser = run_conformance(all_ops=True, engine="browser", session=browser, onnxruntime=False, log=quiet)
    assert len(in_browser.outcomes) == IN_SCOPE
    differing = [f"{o.case}: {o.reason}" for o in in_browser.outcomes if o.kind == "parity"]
    assert not differing, "browser bits differ from wasmtime:\n" + "\n".join(differing)
    status = {o.case: (o.status, o.reason) for o in on_wasmtime.outcomes}
    only_here = [f"{o.case}: {o.status} {o.reason}" for o in in_browser.outcomes if (o.status, o.reason) != status[o.case]]
    assert not only_here, "the browser disagrees with wasmtime on:\n" + "\n".join(only_here)
    assert in_browser.totals["passed"] == IN_SCOPE  # every in-scope case compiles and passes here too
