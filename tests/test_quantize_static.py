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
    assert any(k.startswith("qu8_qc8w_gemm_") for k in model.variant.kernels)
    theirs = ort_quantize_static(proto, calibration, batch)
    for x in input_batches((batch, sizes[0]), 12, seed=1):
        got = model.run({"x": x})
        assert_same_outputs(got, ort_outputs(theirs, {"x": x}))
        assert_same_outputs(got, run_onnxruntime(bundle, {"x": x}))


@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
def test_onnxruntime_static_gemm_models_import_with_its_bits(tmp_path, fmt):
    proto = make_mlp([30, 17, 9, 5], batch=3, softmax=False)  # (a quantized Softmax is onnxruntime's
    calibration = np.random.default_rng(2).standard_normal((30, 30)).astype(np.float32)  # table op: not ours)
    theirs = ort_quantize_static(proto, calibration, 3, fmt=fmt)
    bundle = compile_to(tmp_path, theirs, 3)
    model = edgewasm.load(bundle)
    assert {"f32_qu8_vcvt", "qu8_f32_vcvt", "qu8_qc8w_gemm_1x4c2"} <= set(model.variant.kernels)
    for x in input_batches((3, 30), 10, seed=3):
        got = model.run({"x": x})
        assert_same_outputs(got, ort_outputs(theirs, {"x": x}))
        assert_same_outputs(got, run_onnxruntime(bundle, {"x": x}))


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


def test_a_bias_declared_in_another_scale_is_added_as_onnxruntime_adds_it(tmp_path):
    """onnxruntime's QDQ Gemm fusion adds the int32 bias to the accumulator whatever scale its
    DequantizeLinear declares (unoptimized, it would honour the scale): we give its bits."""
    proto = make_mlp([10, 6], batch=2, softmax=False)
    theirs = ort_quantize_static(proto, np.random.default_rng(8).standard_normal((8, 10)).astype(np.float32), 2)
    scale = next(i for i in theirs.graph.initializer if i.name == "b0_quantized_scale")
    scale.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(scale) * np.float32(2), scale.name))
    bundle = compile_to(tmp_path, theirs, 2)
    for x in input_batches((2, 10), 6, seed=9):
        assert_same_outputs(edgewasm.load(bundle).run({"x": x}), ort_outputs(theirs, {"x": x}))


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


def test_cli_quantize_int8_with_calibrate(tmp_path):
    import subprocess
    import sys

    proto = make_mlp([12, 8, 4], batch=2, softmax=False)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    calibration = np.random.default_rng(12).standard_normal((20, 12)).astype(np.float32)
    np.savez(tmp_path / "calib.npz", x=calibration)
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "compile", str(tmp_path / "m.onnx"), "-o",
                             str(tmp_path / "b"), "--batch", "2", "--quantize", "int8", "--calibrate",
                             str(tmp_path / "calib.npz")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "int8 static" in result.stdout.splitlines()[1]
    theirs = ort_quantize_static(proto, calibration, 2)
    for x in input_batches((2, 12), 4, seed=13):
        assert_same_outputs(edgewasm.load(tmp_path / "b", "int8").run({"x": x}), ort_outputs(theirs, {"x": x}))


def test_malformed_constant_dequantize_is_a_model_format_error():
    from edgewasm.errors import ModelFormatError

    nodes = [helper.make_node("DequantizeLinear", ["w", "s", "z"], ["wf"], axis=1),
             helper.make_node("MatMul", ["x", "wf"], ["y"])]
    proto = make_model(nodes, [("x", [1, 4])], [("y", [1, 3])],
                       {"w": np.ones((4, 3), np.int8), "s": np.ones(5, np.float32), "z": np.zeros(5, np.int8)})
    with pytest.raises(ModelFormatError, match="cannot dequantize"):
        import_onnx(proto)
