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


def silu_cnn(seed: int = 0):
    """conv0 -> SiLU (x * Sigmoid(x), as torch exports it) -> conv1 -> Sigmoid -> conv2 -> Tanh -> conv3:
    EfficientNet's activations between quantized layers."""
    from onnx import helper

    from models import make_model

    rng = np.random.default_rng(seed)
    w = lambda *shape: (rng.standard_normal(shape) * 0.4).astype(np.float32)  # noqa: E731
    constants = {"w0": w(8, 3, 3, 3), "w1": w(8, 1, 3, 3), "w2": w(8, 8, 1, 1), "w3": w(6, 8, 1, 1)}
    nodes = [helper.make_node("Conv", ["x", "w0"], ["c0"], pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c0"], ["g0"]), helper.make_node("Mul", ["c0", "g0"], ["h0"], name="silu"),
             helper.make_node("Conv", ["h0", "w1"], ["c1"], group=8, pads=[1, 1, 1, 1]),
             helper.make_node("Sigmoid", ["c1"], ["h1"], name="sigmoid"),
             helper.make_node("Conv", ["h1", "w2"], ["c2"]),
             helper.make_node("Tanh", ["c2"], ["h2"], name="tanh"),
             helper.make_node("Conv", ["h2", "w3"], ["y"])]
    return make_model(nodes, [("x", [2, 3, 9, 9])], [("y", [2, 6, 9, 9])], constants, "silu_cnn")


def test_transcendental_activations_are_tables_of_the_exact_function(tmp_path):
    """SiLU (fused into one Swish first), Sigmoid and Tanh between quantized layers are tables of
    the float64 function, quantized; the reference graph holds each table (a Gather), so onnxruntime
    gives the module's bits on it; and the int8 model stays close to the float one."""
    bundle = static_int8_bundle(tmp_path, silu_cnn())
    model = edgewasm.load(bundle)
    step = next(s for s in model.variant.report["steps"] if s["pass"] == "int8 static")
    assert [t.split(" ")[0] for t in step["lookup_tables"]] == ["Swish", "Sigmoid", "Tanh"]
    assert not {"f32_vsigmoid", "f32_vtanh", "f32_vunary_op"} & set(model.variant.kernels)
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 3, 9, 9)).astype(np.float32)
    y = model.run({"x": x})["y"]
    assert bit_identical(y, run_onnxruntime(bundle, {"x": x})["y"])
    from oracles import ort_outputs

    want = ort_outputs(silu_cnn(), {"x": x})["y"]
    assert np.abs(y - want).max() < 0.1 * np.abs(want).max()
    lut = table([("Swish", {"alpha": 1.0})], 0.05, 128, 0.02, 20)
    q = np.arange(256)
    silu = (q - 128) * 0.05 / (1 + np.exp(-(q - 128) * 0.05))
    assert np.array_equal(lut, np.clip(np.rint(silu / 0.02) + 20, 0, 255).astype(np.uint8))
