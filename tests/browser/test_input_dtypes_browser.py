"""Inputs of other dtypes (float16, float64, bfloat16, int4, float8) in Chromium: every input kind
the page can build (numpy is absent there: array.array, memoryview, lists or raw bytes) gives the
bits wasmtime gives."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from onnx import TensorProto

import edgewasm
from edgewasm.browser import INPUT_KINDS

from bits import assert_same_bits
from test_input_dtypes import SHAPE, compile_bundle

pytestmark = pytest.mark.browser

DTYPES = [(TensorProto.FLOAT16, np.float16, 17), (TensorProto.DOUBLE, np.float64, 17),
          (TensorProto.BFLOAT16, ml_dtypes.bfloat16, 17), (TensorProto.INT4, ml_dtypes.int4, 21),
          (TensorProto.FLOAT8E4M3FN, ml_dtypes.float8_e4m3fn, 19)]


@pytest.mark.parametrize("elem_type, dtype, opset", DTYPES)
def test_every_input_kind_gives_wasmtime_bits(browser, tmp_path, elem_type, dtype, opset):
    rng = np.random.default_rng(elem_type)
    inputs = {"x": (rng.standard_normal(SHAPE) * 3).astype(dtype), "b": rng.standard_normal(SHAPE).astype(np.float32)}
    bundle = compile_bundle(tmp_path, elem_type, opset)
    expected = edgewasm.load(bundle).run(inputs)["y"]
    for kind in INPUT_KINDS:
        assert_same_bits(browser.run(bundle, inputs, kind=kind)["y"], expected)
