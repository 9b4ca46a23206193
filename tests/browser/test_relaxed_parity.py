"""The relaxed-SIMD tier in Chromium: int8-relaxed (deterministic relaxed dot products) gives
wasmtime's bits and onnxruntime's on its reference; Chromium validates relaxed SIMD, and a browser
that does not loads (or switches to) the baseline twin with the reason in model.choice."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.engines import run_onnxruntime

from bits import assert_same_bits
from edgewasm.errors import BundleError
from relaxed_models import inputs, relaxed_bundle

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return relaxed_bundle(tmp_path_factory.mktemp("relaxed_browser"))


@pytest.mark.parametrize("variant", ["int8-relaxed", "int8"])
def test_tier_matches_wasmtime_and_onnxruntime_bit_for_bit(browser, bundle, variant):
    server = edgewasm.load(bundle, variant)
    assert server.variant.name == variant
    for x in inputs():
        expected = server.run(x)["y"]
        assert_same_bits(expected, run_onnxruntime(bundle, x, variant=variant)["y"])
        assert_same_bits(browser.run(bundle, x, variant=variant)["y"], expected)


def test_browser_choice_and_fallback(browser, bundle):
    url = browser.register(bundle)
    first, loaded, fallback = browser.evaluate_python(f"""
import edgewasm
from edgewasm.runtime import browser_host
loaded = await edgewasm.load({url!r}, variant='int8-relaxed')
first = [loaded.variant.name, loaded.choice.explain()]
probe = browser_host.RELAXED_SIMD_PROBE
browser_host.RELAXED_SIMD_PROBE = probe[:-1]  # an engine that does not validate the tier's instruction
try:
    fallback = await edgewasm.load({url!r}, variant='int8-relaxed', cache=False)
    await loaded.switch('fp32')
    await loaded.switch('int8-relaxed')
finally:
    browser_host.RELAXED_SIMD_PROBE = probe
[first, [loaded.variant.name, loaded.choice.explain()], [fallback.variant.name, fallback.choice.explain()]]
""")
    assert first == ["int8-relaxed", "int8-relaxed: chosen by name"]
    why = "int8-relaxed needs relaxed SIMD, which this browser does not validate: its baseline twin int8"
    assert fallback[0] == "int8" and why in fallback[1]
    assert loaded[0] == "int8" and why in loaded[1]  # switching to the tier without relaxed SIMD: the twin


def test_a_module_using_relaxed_simd_undeclared_is_refused(browser, tmp_path):
    """Chromium validates relaxed SIMD and cannot be told not to, so the page refuses a bring-your-own
    module that uses it (no manifest declares the tier for it); wasmtime refuses it too."""
    import json

    import wasmtime

    from test_relaxed_simd import RELAXED_WAT

    module = tmp_path / "own.wasm"
    module.write_bytes(bytes(wasmtime.wat2wasm(RELAXED_WAT)))
    tensor = {"dtype": "float32", "shape": [1, 4], "nbytes": 16}
    module.with_suffix(".json").write_text(json.dumps({"inputs": [{"name": "x", "offset": 0, **tensor}],
                                                       "outputs": [{"name": "y", "offset": 32, **tensor}]}))
    x = {"x": np.ones((1, 4), np.float32)}
    with pytest.raises(BundleError, match="uses relaxed SIMD but does not declare"):
        browser.run(module, x)
    with pytest.raises(BundleError, match="uses relaxed SIMD but does not declare"):
        edgewasm.load(module)
