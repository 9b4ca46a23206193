"""Every ONNX conformance case that passes on wasmtime gives the same bits in Chromium (Pyodide).

Cases are compiled once here and run in the session's one browser; the comparison is on uint32
views (NaN equals any NaN), independent of the conformance runner's own parity check, which the
second test exercises through the CLI's code path.
"""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.conformance import compare, compile_case, fetch_wheel, load_cases, run_conformance
from edgewasm.errors import EdgewasmError

from test_conformance import MIN_PASSED

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def passing_on_wasmtime(tmp_path_factory):
    """(case name, compiled case, wasmtime outputs) for every target-op case that passes on wasmtime."""
    workdir = tmp_path_factory.mktemp("conformance")
    passing = []
    for case in load_cases(fetch_wheel()):
        try:
            compiled = compile_case(case, workdir)
            outputs = edgewasm.load(compiled.bundle).run(compiled.inputs)
        except EdgewasmError:
            continue  # skipped or failed on wasmtime: test_conformance.py accounts for those
        if all(name in outputs and compare(name, outputs[name], expected) is None for name, expected in case.outputs):
            passing.append((case.name, compiled, outputs))
    return passing


def same_bits(actual: np.ndarray, expected: np.ndarray) -> bool:
    if actual.dtype != expected.dtype or actual.shape != expected.shape:
        return False
    if expected.dtype.kind != "f":
        return bool(np.array_equal(actual, expected))
    nan_actual, nan_expected = np.isnan(actual), np.isnan(expected)
    view = np.dtype(f"u{expected.dtype.itemsize}")
    return bool(np.array_equal(nan_actual, nan_expected)
                and np.array_equal(actual[~nan_actual].view(view), expected[~nan_expected].view(view)))


def test_every_passing_case_is_bit_identical_in_the_browser(browser, passing_on_wasmtime):
    assert len(passing_on_wasmtime) >= MIN_PASSED
    differing = []
    for name, compiled, expected in passing_on_wasmtime:
        actual = browser.run(compiled.bundle, compiled.inputs)
        assert sorted(actual) == sorted(expected), name
        differing += [f"{name}: output {output!r}" for output in expected
                      if not same_bits(np.asarray(actual[output]), np.asarray(expected[output]))]
    assert not differing, "browser bits differ from wasmtime:\n" + "\n".join(differing)


def test_browser_engine_of_the_runner_checks_parity(browser):
    report = run_conformance(["Gemm", "Softmax", "Relu"], engine="browser", session=browser, log=lambda m: None)
    assert report.totals["passed"] >= 10, report.summary()
    assert not [o for o in report.outcomes if o.kind in ("parity", "crash")], report.outcomes
