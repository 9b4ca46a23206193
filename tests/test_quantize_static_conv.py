"""Static int8 convolutions: CNNs that onnxruntime's quantize_static made (QDQ and QOperator, per
tensor and per channel) import and give onnxruntime's bits (QLinearConv, uint8 MaxPool,
QLinearGlobalAveragePool, Flatten, QGemm), and QLinearConv matches onnxruntime on random scales,
zero points and geometries."""

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

from models import make_model
from quant_models import input_batches, ort_outputs, ort_quantize_static, static_cnn


CNNS = {
    "conv_pool_depthwise_gap_gemm": ([{"m": 8, "kernel": [3, 3], "pads": [1, 1, 1, 1], "pool": True},
                                      {"m": 8, "kernel": [3, 3], "pads": [1, 1, 1, 1], "group": 8},
                                      {"m": 6, "kernel": [1, 1], "relu": False}], [2, 3, 8, 8], 4),
    "strided_dilated_grouped": ([{"m": 6, "kernel": [3, 2], "strides": [2, 1], "pads": [0, 1, 2, 0], "bias": False},
                                 {"m": 8, "kernel": [3, 3], "dilations": [2, 2], "pads": [2, 2, 2, 2], "group": 2},
                                 {"m": 5, "kernel": [2, 2], "strides": [2, 2], "relu": False}], [1, 4, 11, 9], 3),
    "conv_map_output": ([{"m": 5, "kernel": [3, 3], "pads": [1, 0, 1, 0]},
                         {"m": 3, "kernel": [1, 1], "relu": False}], [3, 2, 6, 7], None),
    "mobilenet_like": ([{"m": 16, "kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
                        {"m": 16, "kernel": [3, 3], "group": 16, "pads": [1, 1, 1, 1]}, {"m": 32, "kernel": [1, 1]},
                        {"m": 32, "kernel": [3, 3], "group": 32, "strides": [2, 2], "pads": [1, 1, 1, 1]},
                        {"m": 24, "kernel": [1, 1], "relu": False}], [1, 3, 24, 24], 10),
    # 3x3 stride-1 layers take the integer Winograd: odd maps, asymmetric pads, channel tails
    "resnet_like": ([{"m": 12, "kernel": [3, 3], "pads": [1, 1, 1, 1]},
                     {"m": 20, "kernel": [3, 3], "pads": [1, 0, 2, 1]},
                     {"m": 9, "kernel": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]},
                     {"m": 16, "kernel": [3, 3], "pads": [0, 0, 0, 0]}], [2, 8, 11, 9], 5),
    "conv1d": ([{"m": 6, "kernel": [4], "strides": [2], "pads": [1, 2]},
                {"m": 6, "kernel": [3], "group": 6, "pads": [1, 1], "relu": False}], [2, 3, 15], 2),
}


def compile_to(tmp_path, proto, batch):
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=batch)
    return tmp_path / "b"


@pytest.mark.parametrize("per_channel", [False, True], ids=["per_tensor", "per_channel"])
@pytest.mark.parametrize("fmt", ["QDQ", "QOperator"])
@pytest.mark.parametrize("name", CNNS)
def test_onnxruntime_static_cnn_imports_with_its_bits(tmp_path, name, fmt, per_channel):
    layers, shape, head = CNNS[name]
    proto = static_cnn(layers, shape, head=head)
    calibration = np.random.default_rng(7).standard_normal((6 * shape[0], *shape[1:])).astype(np.float32)
    theirs = ort_quantize_static(proto, calibration, shape[0], fmt=fmt, per_channel=per_channel)
    bundle = compile_to(tmp_path, theirs, shape[0])
    model = edgewasm.load(bundle)
    assert {"u8_im2col", "f32_qu8_vcvt", "qu8_f32_vcvt"} <= set(model.variant.kernels)
    assert "f32_igemm_4x8" not in model.variant.kernels and "f32_gemm_4x8" not in model.variant.kernels
    if name == "conv_pool_depthwise_gap_gemm":
        assert {"qu8_qc8w_dwconv_c16x2", "u8_maxpool_c16"} <= set(model.variant.kernels)
    assert ("qu8_winograd_input_2x2_3x3" in model.variant.kernels) == (name == "resnet_like")
    for x in input_batches(tuple(shape), 8, seed=11):
        got = model.run({"x": x})["y"]
        assert bit_identical(got, ort_outputs(theirs, {"x": x})["y"]), "vs onnxruntime's quantized model"
        assert bit_identical(got, run_onnxruntime(bundle, {"x": x})["y"]), "vs our reference.onnx"


def qlinear_conv_model(rng, shape, m, kernel, group, per_channel, **attrs) -> onnx.ModelProto:
    """x (float) -> QuantizeLinear -> QLinearConv (random int8 weights, scales, zero points, int32
    bias) -> DequantizeLinear."""
    c = shape[1]
    xs, xz = np.float32(rng.random() * 0.05 + 0.005), np.uint8(rng.integers(0, 256))
    ws = (rng.random(m if per_channel else 1) * 0.02 + 1e-4).astype(np.float32)
    constants = {"xs": xs, "xz": xz, "w": rng.integers(-127, 128, (m, c // group, *kernel)).astype(np.int8),
                 "ws": ws if per_channel else ws.reshape(()),
                 "wz": np.zeros(m if per_channel else (), np.int8),
                 "ys": np.float32(rng.random() * 0.3 + 0.01), "yz": np.uint8(rng.integers(0, 256)),
                 "b": rng.integers(-30000, 30000, m).astype(np.int32)}
    nodes = [helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["xq"]),
             helper.make_node("QLinearConv", ["xq", "xs", "xz", "w", "ws", "wz", "ys", "yz", "b"], ["yq"],
                              kernel_shape=list(kernel), group=group, **attrs),
             helper.make_node("DequantizeLinear", ["yq", "ys", "yz"], ["y"])]
    dims = len(kernel)
    pads = attrs.get("pads", [0] * 2 * dims)
    strides, dilations = attrs.get("strides", [1] * dims), attrs.get("dilations", [1] * dims)
    out = [(s + pads[d] + pads[dims + d] - dilations[d] * (k - 1) - 1) // strides[d] + 1
           for d, (s, k) in enumerate(zip(shape[2:], kernel))]
    return make_model(nodes, [("x", list(shape))], [("y", [shape[0], m, *out])], constants, "qlinear_conv")


GEOMETRIES = [  # (shape, m, kernel, group, attrs)
    ((1, 3, 7, 6), 5, (3, 3), 1, {"pads": [1, 0, 2, 1]}),
    ((2, 4, 9, 8), 6, (3, 2), 2, {"strides": [2, 1], "dilations": [1, 2]}),
    ((1, 6, 8, 8), 6, (3, 3), 6, {"pads": [1, 1, 1, 1], "strides": [2, 2]}),
    ((1, 5, 5, 5), 10, (2, 2), 5, {"pads": [0, 1, 1, 0]}),
    ((3, 7, 4, 5), 9, (1, 1), 1, {}),
    ((1, 8, 3, 3), 4, (1, 1), 2, {"strides": [2, 2]}),
    ((2, 3, 17), 4, (5,), 1, {"pads": [2, 1], "dilations": [2]}),
    ((1, 20, 6, 5), 17, (3, 3), 1, {"pads": [1, 1, 1, 1]}),  # WINOGRAD_FROM: the integer Winograd from here on
    ((2, 8, 7, 9), 8, (3, 3), 1, {"pads": [0, 2, 1, 0]}),
    ((1, 33, 4, 3), 10, (3, 3), 1, {"pads": [1, 1, 1, 1]}),
]

WINOGRAD_FROM = 7


@pytest.mark.parametrize("case", range(len(GEOMETRIES)))
def test_qlinear_conv_random_scales_and_geometries(tmp_path, case):
    shape, m, kernel, group, attrs = GEOMETRIES[case]
    rng = np.random.default_rng(100 + case)
    for trial, per_channel in enumerate([False, True]):
        proto = qlinear_conv_model(rng, shape, m, kernel, group, per_channel, **attrs)
        bundle = compile_to(tmp_path / str(trial), proto, shape[0])
        model = edgewasm.load(bundle)
        assert ("qu8_winograd_input_2x2_3x3" in model.variant.kernels) == (case >= WINOGRAD_FROM)
        for x in input_batches(shape, 6, seed=case):
            got = model.run({"x": x})["y"]
            assert bit_identical(got, ort_outputs(proto, {"x": x})["y"]), (per_channel, np.abs(got - ort_outputs(proto, {"x": x})["y"]).max())
            assert bit_identical(got, run_onnxruntime(bundle, {"x": x})["y"])


def test_qdq_ops_onnxruntime_runs_quantized_are_refused_by_name():
    """DequantizeLinear -> AveragePool -> QuantizeLinear is onnxruntime's QLinearAveragePool, whose
    arithmetic is not ours: refused, not computed in float with other bits."""
    proto = static_cnn([{"m": 4, "kernel": [3, 3]}], [1, 2, 6, 6], head=None)
    out = proto.graph.node.pop()  # the Identity: an AveragePool instead
    proto.graph.node.append(helper.make_node("AveragePool", [out.input[0]], ["y"], kernel_shape=[2, 2], name="avg"))
    proto.graph.output[0].type.tensor_type.shape.dim[2].dim_value = 3
    proto.graph.output[0].type.tensor_type.shape.dim[3].dim_value = 3
    theirs = ort_quantize_static(proto, np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32), 1)
    assert "AveragePool" in [n.op_type for n in theirs.graph.node]
    with pytest.raises(UnsupportedModelError, match="AveragePool"):
        import_onnx(theirs, batch=1)


def test_qoperator_ops_without_a_unit_are_refused_by_name():
    proto = static_cnn([{"m": 4, "kernel": [3, 3], "relu": False}], [1, 2, 6, 6], head=None)
    proto.graph.node.insert(1, helper.make_node("Sigmoid", ["c0"], ["s0"], name="sig"))
    proto.graph.node[-1].input[0] = "s0"
    theirs = ort_quantize_static(proto, np.random.default_rng(0).standard_normal((4, 2, 6, 6)).astype(np.float32), 1,
                                 fmt="QOperator")
    with pytest.raises(UnsupportedModelError, match="QLinearSigmoid"):
        import_onnx(theirs, batch=1)


@pytest.mark.parametrize("name", CNNS)
def test_calibrated_int8_cnn_is_onnxruntimes_quantize_static(tmp_path, name):
    """`--quantize int8 --calibrate`: convolutions, max pooling and global average pooling stay uint8,
    with quantize_static's (QDQ, per-channel) parameters and onnxruntime's bits."""
    layers, shape, head = CNNS[name]
    proto = static_cnn(layers, shape, head=head)
    calibration = np.random.default_rng(7).standard_normal((6 * shape[0], *shape[1:])).astype(np.float32)
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "m.onnx").write_bytes(proto.SerializeToString())
    edgewasm.compile(tmp_path / "m.onnx", tmp_path / "b", batch=shape[0], variants="int8",
                     options=Options(calibrate={"x": calibration}))
    model = edgewasm.load(tmp_path / "b")
    assert model.variant.report["methods"][0] == "int8 static"
    assert "u8_im2col" in model.variant.kernels and "f32_igemm_4x8" not in model.variant.kernels
    theirs = ort_quantize_static(proto, calibration, shape[0])
    for x in input_batches(tuple(shape), 8, seed=1):
        got = model.run({"x": x})["y"]
        assert bit_identical(got, ort_outputs(theirs, {"x": x})["y"]), "vs onnxruntime's quantize_static"
        assert bit_identical(got, run_onnxruntime(tmp_path / "b", {"x": x})["y"]), "vs our reference.onnx"
