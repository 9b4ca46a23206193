"""The int16 variant: int16 activations (dynamic, symmetric per tensor) x int16 weights (per output
column), exact integer accumulation, float epilogue. Bit-identical to onnxruntime running the
variant's reference.onnx (standard ONNX ops only), and far closer to fp32 than int8."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import onnx
import pytest

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime

from models import make_mlp
from quant_models import input_batches, matmul_mlp, small_cnn


def compile_to(tmp_path, proto, batch, variants):
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "m.onnx"
    path.write_bytes(proto.SerializeToString())
    edgewasm.compile(path, tmp_path / "b", batch=batch, variants=variants)
    return tmp_path / "b"


def inputs(shape, seed):
    """Varied ranges and signs, plus all zeros, a huge outlier, tiny and subnormal ranges, and ties."""
    batches = input_batches(shape, 9, seed=seed)
    rng = np.random.default_rng(seed)
    batches.append(np.zeros(shape, np.float32))
    spiky = (rng.standard_normal(shape) * 1e-3).astype(np.float32)
    spiky.reshape(-1)[0] = 1e4
    batches.append(spiky)
    for tiny in (1e-20, 1e-36, 1e-41):  # 1e-36: a subnormal scale; 1e-41: max|x| / 32767 underflows to 0
        batches.append((rng.standard_normal(shape) * tiny).astype(np.float32))
    batches.append((rng.integers(-4, 5, shape) * 0.5).astype(np.float32))  # x / scale lands on .5
    return batches


def assert_bits(got, want, what):
    for name in want:
        assert bit_identical(got[name], want[name]), (
            f"{what}: {name} differs from onnxruntime in "
            f"{int((np.asarray(got[name]).view(np.uint32) != want[name].view(np.uint32)).sum())} values")


@pytest.mark.parametrize("sizes, batch, rank3, activation", [
    ([20, 13, 7], 1, None, "Relu"), ([64, 32, 10], 3, None, "Relu"), ([5, 9, 17, 3], 7, None, "Clip"),
    ([33, 16], 4, 5, "Relu"), ([1, 1], 2, None, "Relu"), ([300, 8], 2, None, None),
])
def test_int16_matmul_models_are_bit_identical_to_their_reference(tmp_path, sizes, batch, rank3, activation):
    bundle = compile_to(tmp_path, matmul_mlp(sizes, rank3=rank3, activation=activation), batch, "int16")
    model = edgewasm.load(bundle, "int16")
    tile = "1x4c2" if batch * (rank3 or 1) < 4 else "4x4c2"
    assert {"qs16_dynquant", f"qds16_f32_qc16w_gemm_{tile}"} <= set(model.variant.kernels)
    assert not model.variant.has_init
    reference = onnx.load(bundle / "int16" / "reference.onnx")
    assert {n.op_type for n in reference.graph.node} >= {"ReduceMax", "Round", "MatMul", "Cast"}
    for i, x in enumerate(inputs(model.inputs[0].shape, seed=len(sizes) + batch)):
        assert_bits(model.run({"x": x}), run_onnxruntime(bundle, {"x": x}, "int16"), f"input {i}")


def test_int16_gemm_mlp_is_bit_identical_and_close_to_fp32(tmp_path):
    """Gemm(transB) + Relu (PyTorch's export): int16 is ~2^8 times closer to fp32 than int8."""
    bundle = compile_to(tmp_path, make_mlp([100, 37, 13], softmax=False), 3, "fp32,int8,int16")
    fp32, int8, int16 = (edgewasm.load(bundle, v) for v in ("fp32", "int8", "int16"))
    assert int16.variant.report["compression"]["weight_bytes_vs_fp32"] < 0.6
    err8 = err16 = 0.0
    for i, x in enumerate(inputs((3, 100), seed=8)):
        got = int16.run({"x": x})
        assert_bits(got, run_onnxruntime(bundle, {"x": x}, "int16"), f"input {i}")
        want = fp32.run({"x": x})["logits"]
        scale = np.abs(want).max() + 1e-30
        err16 = max(err16, float(np.abs(got["logits"] - want).max() / scale))
        err8 = max(err8, float(np.abs(int8.run({"x": x})["logits"] - want).max() / scale))
    assert err16 < 2e-4 and err16 * 30 < err8, (err16, err8)


def test_int16_with_pruning_ships_sparse_and_keeps_the_bits(tmp_path):
    bundle = compile_to(tmp_path, make_mlp([100, 37, 13], softmax=False), 3, "int16,int16+prune")
    dense, pruned = edgewasm.load(bundle, "int16"), edgewasm.load(bundle, "int16+prune")
    assert pruned.variant.has_init
    assert pruned.variant.report["weight_bytes"] < 0.7 * dense.variant.report["weight_bytes"]
    for i, x in enumerate(inputs((3, 100), seed=4)):
        assert_bits(pruned.run({"x": x}), run_onnxruntime(bundle, {"x": x}, "int16+prune"), f"input {i}")


def test_int16_pointwise_convolutions_are_dense_layers_over_pixels(tmp_path):
    """1x1 convolutions (+ Relu) become the int16 GEMM over the channels-last pixels: onnxruntime's bits."""
    cnn = small_cnn([{"m": 6, "kernel": [1, 1]}, {"m": 9, "kernel": [1, 1]}, {"m": 5, "kernel": [1, 1], "bias": False}],
                    [2, 4, 7, 7])
    bundle = compile_to(tmp_path, cnn, 2, "fp32,int16")
    model, fp32 = edgewasm.load(bundle, "int16"), edgewasm.load(bundle, "fp32")
    assert "qds16_f32_qc16w_gemm_4x4c2" in model.variant.kernels and "f32_igemm_4x8" not in model.variant.kernels
    for i, x in enumerate(inputs((2, 4, 7, 7), seed=5)):
        got = model.run({"x": x})
        assert_bits(got, run_onnxruntime(bundle, {"x": x}, "int16"), f"input {i}")
        want = fp32.run({"x": x})["y"]
        assert np.abs(got["y"] - want).max() <= 2e-4 * np.abs(want).max()


@pytest.mark.parametrize("layers, shape", [
    ([{"m": 6, "kernel": [3, 3], "pads": [1, 1, 1, 1]}, {"m": 8, "kernel": [1, 1]},
      {"m": 6, "kernel": [3, 3], "group": 2, "strides": [2, 2]}], [2, 4, 9, 9]),
    ([{"m": 6, "kernel": [3, 3], "group": 2, "pads": [1, 0, 1, 2], "dilations": [1, 2]},
      {"m": 6, "kernel": [3, 3], "group": 6, "pads": [1, 1, 1, 1], "bias": False}], [1, 4, 8, 7]),  # depthwise
    ([{"m": 5, "kernel": [3], "pads": [2, 1], "strides": [2]}, {"m": 3, "kernel": [1], "strides": [2]}], [3, 2, 11]),
])
def test_int16_convolutions_are_bit_identical_to_their_reference(tmp_path, layers, shape):
    """Any kernel, stride, padding, dilation and group: int16 im2col + the int16 GEMM; the reference
    sums four ConvInteger byte products in int64 and onnxruntime gives the same bits."""
    bundle = compile_to(tmp_path, small_cnn(layers, shape), shape[0], "fp32,int16")
    model, fp32 = edgewasm.load(bundle, "int16"), edgewasm.load(bundle, "fp32")
    assert {"u8_im2col", "qs16_dynquant"} <= set(model.variant.kernels)
    assert not any(k.startswith("f32_igemm") or k.startswith("f32_dwconv") for k in model.variant.kernels)
    for i, x in enumerate(inputs(tuple(shape), seed=6)):
        got = model.run({"x": x})
        assert_bits(got, run_onnxruntime(bundle, {"x": x}, "int16"), f"input {i}")
        want = fp32.run({"x": x})["y"]
        assert np.abs(got["y"] - want).max() <= 3e-4 * np.abs(want).max() + 1e-30


def test_int16_accumulates_past_int32(tmp_path):
    """k = 4096 inputs at full scale with weights of one sign: sums of ~2^42, exact in the module and in
    onnxruntime's int64 MatMul (an int32 accumulator would wrap)."""
    k = 4096
    proto = matmul_mlp([k, 4], activation=None, bias=False)
    for init in proto.graph.initializer:
        if init.name == "w0":
            init.CopyFrom(onnx.numpy_helper.from_array(np.full((k, 4), 0.5, np.float32), "w0"))
    bundle = compile_to(tmp_path, proto, 1, "fp32,int16")
    x = np.ones((1, k), np.float32)
    got = edgewasm.load(bundle, "int16").run({"x": x})
    assert_bits(got, run_onnxruntime(bundle, {"x": x}, "int16"), "full scale")
    np.testing.assert_allclose(got["y"], np.full((1, 4), 2048, np.float32), rtol=1e-6)


def test_int16_cli_eval_reports_accuracy(tmp_path):
    """`compile --variants fp32,int8,int16 --eval`: int16's accuracy is recorded next to int8's."""
    proto = make_mlp([12, 10, 4], softmax=False)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    rng = np.random.default_rng(3)
    x = rng.standard_normal((60, 12)).astype(np.float32)
    fp32 = compile_to(tmp_path / "fp32", proto, 60, "fp32")
    np.savez(tmp_path / "eval.npz", x=x, labels=edgewasm.load(fp32).run({"x": x})["logits"].argmax(1))
    result = subprocess.run([sys.executable, "-m", "edgewasm.cli", "compile", str(tmp_path / "m.onnx"),
                             "-o", str(tmp_path / "b"), "--variants", "fp32,int8,int16",
                             "--eval", str(tmp_path / "eval.npz")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line for line in result.stdout.splitlines()[1:]}
    assert "int16 dynamic" in rows["int16"]
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    accuracy = manifest["variants"]["int16"]["report"]["accuracy"]
    assert accuracy["samples"] == 60 and accuracy["accuracy"] == pytest.approx(1.0)
    model = edgewasm.load(tmp_path / "b", "int16")
    x = x[:model.inputs[0].shape[0]]
    assert_bits(model.run({"x": x}), run_onnxruntime(tmp_path / "b", {"x": x}, "int16"), "cli")
