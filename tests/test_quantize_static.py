"""Static int8: `--quantize int8 --calibrate` makes onnxruntime's quantize_static model (same
parameters, same bits), and onnxruntime's static models (QDQ and QOperator) import with its bits."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.errors import UnsupportedModelError
from edgewasm.frontend.onnx import import_onnx
from edgewasm.variants import Options

from models import make_mlp, make_model
from quant_models import input_batches, matmul_mlp, ort_outputs, ort_quantize_static


def compile_to(tmp_path, proto, batch, **kwargs):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=batch, **kwargs)
    return tmp_path / "b"


def assert_same_outputs(got: dict, want: dict) -> None:
    assert set(got) == set(want)
    for name in want:
        assert bit_identical(got[name], want[name]), (name, np.abs(got[name] - want[name]).max())


@pytest.mark.parametrize("sizes, batch", [([20, 13, 9, 7], 4), ([64, 32, 10], 1), ([5, 17, 3], 6)])
def test_calibrated_int8_is_onnxruntimes_quantize_static(tmp_path, sizes, batch):
    calibration = np.random.default_rng(0).standard_normal((12 * batch, sizes[0])).astype(np.float32)
    proto = make_mlp(sizes, batch=batch, softmax=False)
    bundle = compile_to(tmp_path, proto, batch, variants="int8", options=Options(calibrate={"x": calibration}))
    model = edgewasm.load(bundle)
    assert model.variant.report["methods"][0] == "int8 static"
    assert "qu8_qc8w_gemm_4x4c2" in model.variant.kernels or "qu8_qc8w_gemm_1x4c2" in model.variant.kernels
    theirs = ort_quantize_static(proto, calibration, batch)
    for x in input_batches((batch, sizes[0]), 12, seed=1):
        got = model.run({"x": x})
        assert_same_outputs(got, ort_outputs(theirs, {"x": x}))
        assert_same_outputs(got, run_onnxruntime(bundle, {"x": x}))


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_onnxruntime_static_gemm_models_import_with_its_bits(tmp_path, fmt):
    proto = make_mlp([30, 17, 9, 5], batch=3, softmax=True)
    calibration = np.random.default_rng(2).standard_normal((30, 30)).astype(np.float32)
    theirs = ort_quantize_static(proto, calibration, 3, fmt=fmt)
    bundle = compile_to(tmp_path, theirs, 3)
    model = edgewasm.load(bundle)
    assert {"f32_qu8_vcvt", "qu8_f32_vcvt", "qu8_qc8w_gemm_1x4c2"} <= set(model.variant.kernels)
    for x in input_batches((3, 30), 10, seed=3):
        got, want = model.run({"x": x}), ort_outputs(theirs, {"x": x})
        # the softmax after the last DequantizeLinear is float: compare the integer path's bits
        # through onnxruntime running our reference, and the probabilities within the contract
        assert_same_outputs(got, run_onnxruntime(bundle, {"x": x}))
        assert np.allclose(got["y"], want["y"], atol=1e-5, rtol=1e-4)


def test_onnxruntime_static_matmul_without_bias_imports_as_qlinear_matmul(tmp_path):
    proto = matmul_mlp([24, 12, 6], batch=2, bias=False)
    theirs = ort_quantize_static(proto, np.random.default_rng(4).standard_normal((20, 24)).astype(np.float32), 2)
    bundle = compile_to(tmp_path, theirs, 2)
    reference = onnx.load(bundle / "fp32" / "reference.onnx")
    assert [n.op_type for n in reference.graph.node].count("QLinearMatMul") == 2
    for x in input_batches((2, 24), 10, seed=5):
        assert_same_outputs(edgewasm.load(bundle).run({"x": x}), ort_outputs(theirs, {"x": x}))


def test_qlinear_matmul_with_per_column_scales_and_rank3_input(tmp_path):
    rng = np.random.default_rng(6)
    w = rng.integers(-127, 128, (9, 7)).astype(np.int8)
    constants = {"sx": np.float32(0.05), "zx": np.uint8(120), "w": w, "sw": (rng.random(7) * 0.01 + 1e-3).astype(np.float32),
                 "zw": np.zeros(7, np.int8), "sy": np.float32(0.11), "zy": np.uint8(77), "xs": np.float32(0.05)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "zx"], ["xq"]),
             helper.make_node("QLinearMatMul", ["xq", "sx", "zx", "w", "sw", "zw", "sy", "zy"], ["yq"]),
             helper.make_node("DequantizeLinear", ["yq", "sy", "zy"], ["y"])]
    proto = make_model(nodes, [("x", [2, 3, 9])], [("y", [2, 3, 7])], constants)
    bundle = compile_to(tmp_path, proto, 2)
    for x in input_batches((2, 3, 9), 8, seed=7):
        assert_same_outputs(edgewasm.load(bundle).run({"x": x * 4}), ort_outputs(proto, {"x": x * 4}))


def test_int8_activations_are_refused():
    proto = make_mlp([8, 5], batch=2, softmax=False)
    theirs = ort_quantize_static(proto, np.ones((4, 8), np.float32), 2, fmt="QOperator", activation="QInt8")
    with pytest.raises(UnsupportedModelError, match="uint8"):
        import_onnx(theirs, batch=2)


def test_a_bias_in_another_scale_is_not_fused_but_still_runs(tmp_path):
    """QGemm adds the int32 bias as is; a QDQ bias in another scale keeps the float Gemm."""
    proto = make_mlp([10, 6], batch=2, softmax=False)
    theirs = ort_quantize_static(proto, np.random.default_rng(8).standard_normal((8, 10)).astype(np.float32), 2)
    for init in theirs.graph.initializer:
        if init.name.endswith("_quantized_scale") or (init.name.startswith("b0") and "scale" in init.name):
            init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(2), init.name))
    bundle = compile_to(tmp_path, theirs, 2)
    assert "f32_gemm_1x8" in edgewasm.load(bundle).variant.kernels
    x = input_batches((2, 10), 1, seed=9)[0]
    assert np.allclose(edgewasm.load(bundle).run({"x": x})["logits"], ort_outputs(theirs, {"x": x})["logits"], atol=1e-4)


def test_unfoldable_clamp_keeps_the_layer_float(tmp_path):
    nodes = [helper.make_node("MatMul", ["x", "w0"], ["h"]), helper.make_node("Clip", ["h", "lo", "hi"], ["c"]),
             helper.make_node("MatMul", ["c", "w1"], ["y"])]
    rng = np.random.default_rng(10)
    proto = make_model(nodes, [("x", [2, 8])], [("y", [2, 3])],
                       {"w0": rng.standard_normal((8, 6)).astype(np.float32), "lo": np.float32(1), "hi": np.float32(4),
                        "w1": rng.standard_normal((6, 3)).astype(np.float32)})
    bundle = compile_to(tmp_path, proto, 2, variants="int8",
                        options=Options(calibrate={"x": rng.standard_normal((10, 8)).astype(np.float32)}))
    model = edgewasm.load(bundle)
    assert "f32_gemm_1x8" in model.variant.kernels and "qu8_qc8w_gemm_1x4c2" in model.variant.kernels
    for x in input_batches((2, 8), 4, seed=11):
        assert_same_outputs(model.run({"x": x}), run_onnxruntime(bundle, {"x": x}))
