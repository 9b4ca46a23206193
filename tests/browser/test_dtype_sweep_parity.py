"""A sample of the dtype sweep's paths (tests/dtype_sweep.py) in headless Chromium (Pyodide): the same
bits as wasmtime. The sample is the paths the sweep added (float64 convolution and pooling, integer
Shrink, integer Pow by a float exponent, signed BitShift, float64/integer Resize, float16 LayerNormalization statistics, TensorScatter
in float8) and one op per rare dtype (bfloat16, the float8 types, the sub-byte ones, unsigned
64-bit), each op's dtypes merged into one model as the sweep compiles them."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.engines import bit_identical

import dtype_sweep

pytestmark = pytest.mark.browser

SAMPLE = {
    "Conv": ["float64", "float32"],
    "AveragePool": ["float64"],
    "GlobalAveragePool": ["float64"],
    "GlobalMaxPool": ["float64"],
    "Shrink": ["int8", "uint16", "int32", "int64"],
    "Pow": ["int32", "int64"],
    "LayerNormalization": ["float16", "bfloat16"],
    "TensorScatter": ["float8_e4m3fn", "int4", "float4_e2m1fn"],
    "Erf": ["float64", "bfloat16"],
    "Transpose": ["float8_e5m2", "uint4", "int2", "uint64"],
    "Add": ["uint64", "int16", "bfloat16"],
    "BitShift": ["int8", "int64", "uint32"],
    "Resize": ["float64", "uint8", "int32"],
}


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    root = tmp_path_factory.mktemp("dtype_sweep_parity")
    templates = dtype_sweep.templates()
    built = {}
    for op, wanted in SAMPLE.items():
        cases = [dtype_sweep.retype(templates[op], dtype) for dtype in wanted]
        assert all(not isinstance(c, str) for c in cases), cases
        merged = dtype_sweep.merge(cases) if len(cases) > 1 else cases[0]
        firsts = [f"{c.inputs[0][0].name}__{k}" if len(cases) > 1 else c.inputs[0][0].name for k, c in enumerate(cases)]
        built[op] = dtype_sweep._compile(merged, [[vi.name for vi, _ in merged.inputs], firsts], root)
    return built


@pytest.mark.parametrize("op", SAMPLE)
def test_browser_matches_wasmtime_bit_for_bit(browser, bundles, op):
    bundle, inputs = bundles[op]
    expected = edgewasm.load(bundle).run(inputs)
    actual = browser.run(bundle, inputs)
    assert sorted(actual) == sorted(expected)
    for name in expected:
        assert actual[name].dtype == expected[name].dtype, name
        assert bit_identical(actual[name], expected[name]), name
    assert any(np.asarray(v).size for v in expected.values())
