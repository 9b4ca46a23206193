"""int8 and fp16 variants: bit-identical to onnxruntime on their reference.onnx, onnxruntime's own
quantize_dynamic models imported with onnxruntime's bits, and the same weights as its quantizer."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime, within_contract
from edgewasm.frontend.onnx import import_onnx
from edgewasm.passes.quantize import quantize_symmetric

from models import make_mlp, make_model
from quant_models import input_batches, matmul_mlp, ort_outputs, ort_quantize_dynamic


def compile_to(tmp_path, proto, batch, variants=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b", batch=batch, variants=variants)
    return tmp_path / "b"


def assert_bits(got: dict, want: dict, what: str) -> None:
    assert set(got) == set(want)
    for name in want:
        assert bit_identical(got[name], want[name]), (
            f"{what}: {name} differs from onnxruntime in "
            f"{int((np.asarray(got[name]).view(np.uint32) != want[name].view(np.uint32)).sum())} values")


@pytest.mark.parametrize("sizes, batch, rank3", [
    ([20, 13, 7], 1, None), ([64, 32, 10], 3, None), ([5, 9, 17, 3], 7, None), ([33, 16], 4, 5), ([1, 1], 2, None),
])
def test_int8_variant_is_bit_identical_to_its_reference(tmp_path, sizes, batch, rank3):
    bundle = compile_to(tmp_path, matmul_mlp(sizes, rank3=rank3), batch, "int8")
    model = edgewasm.load(bundle, "int8")
    assert "qu8_dynquant" in model.variant.kernels
    for x in input_batches(model.inputs[0].shape, 12):
        assert_bits(model.run({"x": x}), run_onnxruntime(bundle, {"x": x}, "int8"), f"batch {batch}")


def test_gemm_models_quantize_with_relu_and_clip_epilogues(tmp_path):
    """Gemm(transB) + Relu (PyTorch's export) and Clip(0, 6): the clamp lives in the integer epilogue."""
    bundle = compile_to(tmp_path, make_mlp([30, 17, 9, 4], softmax=False), 5, "int8")
    model = edgewasm.load(bundle, "int8")
    assert "f32_vclamp" not in model.variant.kernels
    for x in input_batches((5, 30), 8, seed=1):
        assert_bits(model.run({"x": x}), run_onnxruntime(bundle, {"x": x}, "int8"), "gemm")
    bundle = compile_to(tmp_path / "clip", matmul_mlp([12, 11, 6], activation="Clip"), 2, "int8")
    for x in input_batches((2, 12), 8, seed=2):
        assert_bits(edgewasm.load(bundle).run({"x": x}), run_onnxruntime(bundle, {"x": x}), "clip")


def test_int8_weights_are_onnxruntime_quantize_dynamic_weights(tmp_path):
    """Same int8 weights and scales as quantize_dynamic(per_channel=True), so both graphs agree."""
    float_model = matmul_mlp([40, 23, 11], seed=3)
    theirs = {i.name: numpy_helper.to_array(i) for i in ort_quantize_dynamic(float_model).graph.initializer}
    for name in ("w0", "w1"):
        w = numpy_helper.to_array(next(i for i in float_model.graph.initializer if i.name == name))
        q, scale = quantize_symmetric(w, axis=1)
        np.testing.assert_array_equal(q, theirs[f"{name}_quantized"])
        np.testing.assert_array_equal(scale.view(np.uint32), theirs[f"{name}_scale"].view(np.uint32))
    bundle = compile_to(tmp_path, float_model, 3, "int8")
    reference = onnx.load(bundle / "int8" / "reference.onnx")
    ours = sorted(numpy_helper.to_array(i).tobytes() for i in reference.graph.initializer
                  if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 2)
    assert ours == sorted(theirs[f"{n}_quantized"].tobytes() for n in ("w0", "w1"))
    for x in input_batches((3, 40), 6, seed=4):  # and so the same outputs as onnxruntime's model
        assert_bits(edgewasm.load(bundle).run({"x": x}), ort_outputs(ort_quantize_dynamic(float_model), {"x": x}),
                    "our variant vs onnxruntime's quantized model")


@pytest.mark.parametrize("per_channel", [True, False])
@pytest.mark.parametrize("sizes, batch, bias", [([20, 13, 7], 4, True), ([64, 32, 10], 1, True), ([9, 5, 3], 6, False)])
def test_onnxruntime_quantized_models_import_with_its_bits(tmp_path, per_channel, sizes, batch, bias):
    quantized = ort_quantize_dynamic(matmul_mlp(sizes, bias=bias), per_channel=per_channel)
    assert any(n.op_type == "MatMulInteger" for n in quantized.graph.node)
    bundle = compile_to(tmp_path, quantized, batch)
    model = edgewasm.load(bundle)
    assert "qu8_dynquant" in model.variant.kernels and "f32_vclamp" not in model.variant.kernels
    for x in input_batches((batch, sizes[0]), 12, seed=5):
        want = ort_outputs(quantized, {"x": x})
        assert_bits(model.run({"x": x}), want, "imported")
        assert_bits(run_onnxruntime(bundle, {"x": x}), want, "re-exported reference")


def test_imported_rank3_matmul_integer(tmp_path):
    quantized = ort_quantize_dynamic(matmul_mlp([16, 8, 5], rank3=3))
    bundle = compile_to(tmp_path, quantized, 2)
    for x in input_batches((2, 3, 16), 6, seed=6):
        assert_bits(edgewasm.load(bundle).run({"x": x}), ort_outputs(quantized, {"x": x}), "rank 3")


def test_matmul_integer_outside_the_quantize_dynamic_chain_is_computed_as_the_spec_says(tmp_path):
    """Not onnxruntime's fused chain: MatMulInteger runs on its own (exact int32), then Cast and Mul."""
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             helper.make_node("MatMulInteger", ["q", "w", "z"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "s"], ["y"])]  # scales not multiplied first: not the fused form
    w = np.random.default_rng(3).integers(-128, 128, (4, 3)).astype(np.int8)
    proto = make_model(nodes, [("x", [2, 4])], [("y", [2, 3])], {"w": w})
    assert not any(n.op == "MatMulIntegerToFloat" for n in import_onnx(proto).nodes)
    bundle = compile_to(tmp_path, proto, 2)
    for x in input_batches((2, 4), 4, seed=3):
        assert_bits(edgewasm.load(bundle).run({"x": x}), ort_outputs(proto, {"x": x}), "unfused MatMulInteger")


def quantize_dynamic_chain(weights: np.ndarray, zero_point: np.ndarray) -> onnx.ModelProto:
    """quantize_dynamic's MatMul chain, written by hand around given weights and zero points."""
    n = weights.shape[1]
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             helper.make_node("Mul", ["s", "w_scale"], ["scales"]),
             helper.make_node("MatMulInteger", ["q", "w", "z", "w_zp"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "scales"], ["y"])]
    return make_model(nodes, [("x", [2, weights.shape[0]])], [("y", [2, n])],
                      {"w": weights, "w_zp": zero_point, "w_scale": np.full(n, 0.01, np.float32)})


def test_uint8_weights_import_with_onnxruntimes_bits_centred_or_not(tmp_path):
    """uint8 weights minus their zero point run in the int8 kernels whether they fit int8 or not (a
    zero point far from the middle: int8 weights plus a per-column offset), with onnxruntime's bits."""
    rng = np.random.default_rng(8)
    centred = quantize_dynamic_chain(rng.integers(100, 156, (6, 5)).astype(np.uint8), np.full(5, 128, np.uint8))
    off_centre = quantize_dynamic_chain(rng.integers(0, 256, (6, 5)).astype(np.uint8),
                                        np.array([3, 250, 0, 255, 128], np.uint8))
    for name, proto in (("centred", centred), ("off_centre", off_centre)):
        bundle = compile_to(tmp_path / name, proto, 2)
        model = edgewasm.load(bundle)
        assert "qdu8_f32_qc8w_gemm_1x4c2" in model.variant.kernels and "i32_matmul" not in model.variant.kernels
        for x in input_batches((2, 6), 6, seed=9):
            assert_bits(model.run({"x": x}), ort_outputs(proto, {"x": x}), f"{name} uint8 weights")
            assert_bits(run_onnxruntime(bundle, {"x": x}), ort_outputs(proto, {"x": x}), f"{name} reference")


def test_a_chain_whose_bias_is_made_after_its_matmul_fuses(tmp_path):
    """onnxruntime's quantizer can write the bias's Reshape after the MatMulInteger (transformers.js's
    q8 models do): the fused node takes the chain's last place, after every input it reads."""
    rng = np.random.default_rng(12)
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             helper.make_node("Mul", ["s", "w_scale"], ["scales"]),
             helper.make_node("MatMulInteger", ["q", "w", "z"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "scales"], ["scaled"]),
             helper.make_node("Reshape", ["b", "b_shape"], ["bias"]),
             helper.make_node("Add", ["scaled", "bias"], ["y"])]
    proto = make_model(nodes, [("x", [2, 6])], [("y", [2, 5])],
                       {"w": rng.integers(-128, 128, (6, 5)).astype(np.int8), "w_scale": np.float32(0.02),
                        "b": rng.standard_normal((1, 5)).astype(np.float32), "b_shape": np.array([5], np.int64)})
    assert any(n.op == "IntegerGemm" for n in import_onnx(proto).nodes)
    bundle = compile_to(tmp_path, proto, 2)
    for x in input_batches((2, 6), 4, seed=13):
        assert_bits(edgewasm.load(bundle).run({"x": x}), ort_outputs(proto, {"x": x}), "bias made late")


@pytest.mark.parametrize("per_channel", [True, False])
def test_quantize_dynamic_with_uint8_weights_imports_with_its_bits(tmp_path, per_channel):
    """weight_type=QUInt8 (transformers.js's q8 and uint8 models): zero points anywhere in 0..255."""
    quantized = ort_quantize_dynamic(matmul_mlp([24, 16, 7]), per_channel=per_channel, weights="QUInt8")
    bundle = compile_to(tmp_path, quantized, 3)
    model = edgewasm.load(bundle)
    for x in input_batches((3, 24), 6, seed=10):
        assert_bits(model.run({"x": x}), ort_outputs(quantized, {"x": x}), "QUInt8 weights")


def test_fp16_ships_half_the_weight_bytes_and_expands_in_init(tmp_path):
    proto = make_mlp([100, 37, 13])
    bundle = compile_to(tmp_path, proto, 3, "fp32,fp16")
    fp32, fp16 = edgewasm.load(bundle, "fp32"), edgewasm.load(bundle, "fp16")
    assert fp16.variant.has_init and not fp32.variant.has_init
    assert fp16.variant.report["weight_bytes"] <= fp32.variant.report["weight_bytes"] // 2 + 16
    assert fp16.variant.report["compression"]["weight_bytes_vs_fp32"] <= 0.51
    for x in input_batches((3, 100), 4, seed=7):
        got = fp16.run({"x": x})["y"]
        assert within_contract(got, run_onnxruntime(bundle, {"x": x}, "fp16")["y"])
        assert np.abs(got - fp32.run({"x": x})["y"]).max() < 1e-2
    reference = onnx.load(bundle / "fp16" / "reference.onnx")
    for init in reference.graph.initializer:
        value = numpy_helper.to_array(init)
        if value.dtype == np.float32:
            np.testing.assert_array_equal(value, value.astype(np.float16).astype(np.float32))
