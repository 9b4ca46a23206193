"""Static int8 keeps elementwise activations after quantized layers in uint8: HardSwish /
HardSigmoid / LeakyRelu / Clip of a uint8 tensor is a 256-byte table (x8_lut) to the activation's
own calibrated scale, whose bits onnxruntime gives on the variant's reference graph (which spells
it DequantizeLinear -> op -> QuantizeLinear)."""

from __future__ import annotations

import numpy as np
import pytest

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.ops.qlinear_lookup import table

from quant_models import activation_cnn, static_int8_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return static_int8_bundle(tmp_path_factory.mktemp("lookup"), activation_cnn())


def test_activations_between_quantized_layers_are_tables(bundle):
    model = edgewasm.load(bundle)
    assert "x8_lut" in model.variant.kernels
    assert not {"f32_vhswish", "f32_vlrelu", "f32_vhsigmoid", "f32_vclamp"} & set(model.variant.kernels)
    step = next(s for s in model.variant.report["steps"] if s["pass"] == "int8 static")
    assert sorted(step["lookup_tables"]) == ["Clamp (clip)", "HardSigmoid (hsigmoid)", "HardSwish (hswish)",
                                             "LeakyRelu (lrelu)"]


def test_tables_give_onnxruntimes_bits_on_the_reference(bundle):
    model = edgewasm.load(bundle)
    rng = np.random.default_rng(2)
    for scale in (0.5, 1.0, 3.0):  # inside and past the calibrated range (saturation)
        x = (rng.standard_normal((2, 3, 9, 9)) * scale).astype(np.float32)
        assert bit_identical(model.run({"x": x})["y"], run_onnxruntime(bundle, {"x": x})["y"])


def test_table_is_dequantize_op_quantize_for_every_byte():
    """The compile-time table against a scalar evaluation of the chain, per byte value."""
    chain = [("HardSwish", {}), ("LeakyRelu", {"alpha": 0.2})]
    got = table(chain, 0.037, 131, 0.021, 17)
    f32 = np.float32
    for q in range(256):
        x = f32(q - 131) * f32(0.037)
        x = x * min(max(x * f32(1 / 6) + f32(0.5), f32(0)), f32(1))
        x = x * f32(0.2) if x < 0 else x
        want = int(np.rint(min(max(x / f32(0.021), f32(-17)), f32(255 - 17)))) + 17
        assert got[q] == want, q
