"""int8 convolutions: our variant is onnxruntime's quantize_dynamic Conv (DynamicQuantizeLinear ->
ConvInteger -> Cast -> Mul -> Add) with its bits, and its own quantized models import with them."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import bit_identical, run_onnxruntime
from edgewasm.errors import UnsupportedModelError
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


@pytest.mark.parametrize("name", CNNS)
def test_int8_cnn_is_onnxruntimes_quantize_dynamic(tmp_path, name):
    layers, shape = CNNS[name]
    proto = small_cnn(layers, shape)
    bundle = compile_to(tmp_path, proto, shape[0], "int8")
    model = edgewasm.load(bundle)
    assert "qu8_dynquant" in model.variant.kernels and "f32_igemm_4x8" not in model.variant.kernels
    theirs = ort_quantize_dynamic(proto)
    for x in input_batches(tuple(shape), 8, seed=1):
        got = model.run({"x": x})["y"]
        assert bit_identical(got, run_onnxruntime(bundle, {"x": x})["y"]), "vs our reference.onnx"
        assert bit_identical(got, ort_outputs(theirs, {"x": x})["y"]), "vs onnxruntime's quantized model"


def test_conv_weights_are_quantized_per_tensor_as_onnxruntime_does(tmp_path):
    proto = small_cnn(CNNS["padded_strided"][0], CNNS["padded_strided"][1], seed=2)
    theirs = {i.name: numpy_helper.to_array(i) for i in ort_quantize_dynamic(proto).graph.initializer}
    bundle = compile_to(tmp_path, proto, 2, "int8")
    ours = {numpy_helper.to_array(i).tobytes() for i in onnx.load(bundle / "int8" / "reference.onnx").graph.initializer
            if i.data_type == onnx.TensorProto.INT8 and len(i.dims) == 4}
    assert ours == {theirs[f"w{i}_quantized"].tobytes() for i in range(3)}


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
