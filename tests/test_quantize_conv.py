"""int8 convolutions: onnxruntime's quantize_dynamic Conv (DynamicQuantizeLinear -> ConvInteger ->
Cast -> Mul -> Add) imports with its bits; our own dynamic int8 variant keeps convolutions float."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper

import edgewasm
from edgewasm.cli import main
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.frontend.onnx import import_onnx

from models import make_model
from quant_models import input_batches, ort_outputs, ort_quantize_dynamic, small_cnn

CNNS = {
    "padded_strided": ([{"m": 6, "kernel": [3, 3], "pads": [1, 1, 1, 1]},
                        {"m": 8, "kernel": [3, 3], "strides": [2, 2]}, {"m": 5, "kernel": [1, 1]}], [2, 3, 9, 9]),
    "dilated_grouped_no_bias": ([{"m": 8, "kernel": [3, 2], "dilations": [2, 1], "pads": [2, 0, 1, 1], "bias": False},
                                 {"m": 8, "kernel": [3, 3], "group": 4, "pads": [1, 1, 1, 1]}], [1, 4, 7, 6]),
    "depthwise_pointwise": ([{"m": 6, "kernel": [3, 3], "group": 3, "pads": [1, 1, 1, 1]},
                             {"m": 6, "kernel": [3, 3], "group": 6, "strides": [2, 2], "pads": [0, 0, 1, 1]},
                             {"m": 7, "kernel": [1, 1]}], [3, 3, 8, 8]),
    "conv1d": ([{"m": 5, "kernel": [4], "strides": [2], "pads": [1, 2]}, {"m": 3, "kernel": [3]}], [2, 2, 13]),
}


def compile_to(tmp_path, proto, batch, variants=None):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=batch, variants=variants)
    return tmp_path / "b"


@pytest.mark.parametrize("name", ["padded_strided", "depthwise_pointwise"])
def test_dynamic_int8_keeps_convolutions_float_and_says_why(tmp_path, name, capsys):
    """Dynamic int8 is slower than fp32 on a convolution (issue 17: MobileNetV3-small 7-9x), so the
    int8 variant runs the fp32 convolutions, bit for bit, and its report and the CLI say why."""
    layers, shape = CNNS[name]
    proto = small_cnn(layers, shape)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    assert main(["compile", str(tmp_path / "m.onnx"), "-o", str(tmp_path / "b"), "--batch", str(shape[0]),
                 "--variants", "fp32,int8"]) == 0
    assert f"int8: {len(layers)} layer(s) kept float: dynamic int8 is slower than fp32" in capsys.readouterr().out
    fp32, int8 = edgewasm.load(tmp_path / "b", "fp32"), edgewasm.load(tmp_path / "b", "int8")
    # (u8_im2col only moves bytes: float convolutions with few input channels use it too)
    assert not [k for k in int8.variant.kernels if k.startswith(("qu8", "qdu8", "u8")) and k != "u8_im2col"]
    assert int8.variant.kernels == fp32.variant.kernels
    step = next(s for s in int8.variant.report["steps"] if s["pass"] == "int8 dynamic")
    assert len(step["kept_float"]["layers"]) == len(layers) and "--calibrate" in step["kept_float"]["reason"]
    for x in input_batches(tuple(shape), 3, seed=1):
        assert bit_identical(int8.run({"x": x})["y"], fp32.run({"x": x})["y"])


@pytest.mark.parametrize("name", ["padded_strided", "depthwise_pointwise"])
def test_onnxruntime_quantized_cnns_import_with_its_bits(tmp_path, name):
    layers, shape = CNNS[name]
    theirs = ort_quantize_dynamic(small_cnn(layers, shape, seed=3))
    assert any(n.op_type == "ConvInteger" for n in theirs.graph.node)
    bundle = compile_to(tmp_path, theirs, shape[0])
    model = edgewasm.load(bundle)
    assert "f32_vclamp" not in model.variant.kernels  # the Relus live in the integer epilogue
    for x in input_batches(tuple(shape), 8, seed=4):
        assert bit_identical(model.run({"x": x})["y"], ort_outputs(theirs, {"x": x})["y"])


@pytest.mark.parametrize("name", ["padded_strided", "depthwise_pointwise"])
def test_quantize_dynamic_cnns_with_uint8_weights_import_with_its_bits(tmp_path, name):
    """weight_type=QUInt8, per tensor: what transformers.js's q8 writes for every model with a
    convolution. Weights minus their zero point leave int8; the int8 kernels take them as int8 plus
    an offset per output channel."""
    layers, shape = CNNS[name]
    theirs = ort_quantize_dynamic(small_cnn(layers, shape, seed=3), per_channel=False, weights="QUInt8")
    bundle = compile_to(tmp_path, theirs, shape[0])
    model = edgewasm.load(bundle)
    assert any(k.startswith("qdu8_") for k in model.variant.kernels) and "i32_matmul" not in model.variant.kernels
    for x in input_batches(tuple(shape), 6, seed=5):
        want = ort_outputs(theirs, {"x": x})["y"]
        assert bit_identical(model.run({"x": x})["y"], want)
        assert bit_identical(run_onnxruntime(bundle, {"x": x})["y"], want)  # the reference.onnx's uint8 weights


def test_conv_integer_outside_the_quantize_dynamic_chain_is_computed_as_the_spec_says(tmp_path):
    nodes = [helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "s", "z"]),
             helper.make_node("ConvInteger", ["q", "w", "z"], ["acc"]),
             helper.make_node("Cast", ["acc"], ["f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", ["f", "s"], ["y"])]
    w = np.random.default_rng(4).integers(-128, 128, (3, 2, 2, 2)).astype(np.int8)
    proto = make_model(nodes, [("x", [1, 2, 4, 4])], [("y", [1, 3, 3, 3])], {"w": w})
    assert not any(n.op == "DynamicQuantizeConv" for n in import_onnx(proto).nodes)
    bundle = compile_to(tmp_path, proto, 1)
    for x in input_batches((1, 2, 4, 4), 4, seed=4):
        assert bit_identical(edgewasm.load(bundle).run({"x": x})["y"], ort_outputs(proto, {"x": x})["y"])
