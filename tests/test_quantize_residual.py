"""Static int8 keeps residual Adds in uint8: Dequantize(a) + Dequantize(b) [-> Relu] -> Quantize
becomes one pass (QLinearAdd, qu8_vadd) over the operands' uint8 twins, and onnxruntime gives the
module's bits on the variant's reference graph (which spells the chain in plain arithmetic)."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime

from quant_models import residual_cnn, static_int8_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return static_int8_bundle(tmp_path_factory.mktemp("residual"), residual_cnn())


def test_residual_adds_run_on_uint8(bundle):
    model = edgewasm.load(bundle)
    assert "qu8_vadd" in model.variant.kernels
    assert "f32_vclamp" not in model.variant.kernels  # the Relu after add0 is its lower bound
    step = next(s for s in model.variant.report["steps"] if s["pass"] == "int8 static")
    assert step["residual_adds"] == ["add0 + Relu"]  # add1 writes the graph's output: it stays float


def test_residual_adds_give_onnxruntimes_bits_on_the_reference(bundle):
    model = edgewasm.load(bundle)
    rng = np.random.default_rng(2)
    for scale in (0.5, 1.0, 4.0):  # inside and past the calibrated ranges (saturation)
        x = (rng.standard_normal((2, 3, 8, 8)) * scale).astype(np.float32)
        assert bit_identical(model.run({"x": x})["y"], run_onnxruntime(bundle, {"x": x})["y"])
