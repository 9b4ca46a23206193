"""float64 Conv, ConvTranspose, AveragePool, GlobalAveragePool and GlobalMaxPool through the public API, computed in
float64 (ops/float64_spatial.py): against onnx's evaluator (numpy float64) within 1e-12, so a path
that rounds through float32 (errors near 1e-7) fails."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import edgewasm

F64 = TensorProto.DOUBLE


def run(tmp_path, node, inputs: dict, constants: dict | None = None, opset: int = 19):
    constants = constants or {}
    probe = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info(k, F64, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], F64, None)],
        initializer=[numpy_helper.from_array(v, k) for k, v in constants.items()]),
        opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    want = ReferenceEvaluator(probe).run(None, inputs)[0]
    model = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info(k, F64, list(v.shape)) for k, v in inputs.items()],
        [helper.make_tensor_value_info(node.output[0], F64, list(want.shape))],
        initializer=[numpy_helper.from_array(v, k) for k, v in constants.items()]),
        opset_imports=[helper.make_opsetid("", opset)], ir_version=9)
    edgewasm.compile(model, tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run(inputs)[node.output[0]]
    assert got.dtype == np.float64 and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    return got


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape) * (1 + 1e-9)  # needs all of float64's bits


@pytest.mark.parametrize("attrs, w_shape, bias", [
    ({}, (4, 3, 3, 3), True),
    ({"strides": [2, 1], "pads": [1, 0, 1, 2], "dilations": [1, 2]}, (4, 3, 3, 2), False),
    ({"group": 3, "pads": [1, 1, 1, 1]}, (6, 1, 3, 3), True),
    ({"auto_pad": "SAME_UPPER", "strides": [2, 2]}, (2, 3, 2, 2), True),
])
def test_conv(tmp_path, attrs, w_shape, bias):
    names = ["x", "w"] + (["b"] if bias else [])
    constants = {"w": rand(*w_shape, seed=1)} | ({"b": rand(w_shape[0], seed=2)} if bias else {})
    run(tmp_path, helper.make_node("Conv", names, ["y"], **attrs), {"x": rand(1, 3, 7, 6)}, constants)


def test_conv_with_run_time_weights_1d(tmp_path):
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[2, 1])
    run(tmp_path, node, {"x": rand(2, 2, 9), "w": rand(3, 2, 4, seed=3)})


@pytest.mark.parametrize("attrs", [
    {"kernel_shape": [3, 3]},
    {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 1, 1, 0], "count_include_pad": 1},
    {"kernel_shape": [2, 3], "strides": [2, 2], "pads": [1, 0, 0, 1], "ceil_mode": 1},
    {"kernel_shape": [2, 2], "dilations": [2, 1], "pads": [1, 1, 1, 1]},
])
def test_average_pool(tmp_path, attrs):
    run(tmp_path, helper.make_node("AveragePool", ["x"], ["y"], **attrs), {"x": rand(1, 2, 7, 6)})


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
def test_global_pools(tmp_path, op):
    run(tmp_path, helper.make_node(op, ["x"], ["y"]), {"x": rand(2, 3, 5, 4)})


@pytest.mark.parametrize("attrs, w_shape", [
    ({}, (3, 2, 3, 3)),
    ({"strides": [2, 3], "pads": [1, 0, 0, 2], "output_padding": [1, 1]}, (3, 4, 3, 2)),
    ({"strides": [2, 2], "dilations": [2, 1]}, (3, 2, 2, 3)),
    ({"strides": [2, 2], "output_shape": [12, 11], "auto_pad": "SAME_UPPER"}, (3, 1, 3, 3)),
])
def test_conv_transpose(tmp_path, attrs, w_shape):
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)
    run(tmp_path, node, {"x": rand(1, 3, 6, 5)},
        {"w": rand(*w_shape, seed=1), "b": rand(w_shape[1] * attrs.get("group", 1), seed=2)})


def test_grouped_conv_transpose(tmp_path):
    """group 3 (onnx's evaluator takes group 1 only: the want is its per-group results side by side)."""
    x, w, bias = rand(1, 3, 5, 4), rand(3, 2, 2, 3, seed=1), rand(6, seed=2)
    attrs = {"strides": [2, 1], "dilations": [1, 2], "pads": [1, 0, 0, 1]}
    node = helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], group=3, **attrs)
    parts = []
    for g in range(3):
        single = helper.make_model(helper.make_graph(
            [helper.make_node("ConvTranspose", ["x", "w", "b"], ["y"], **attrs)], "g",
            [helper.make_tensor_value_info(n, F64, None) for n in ("x", "w", "b")],
            [helper.make_tensor_value_info("y", F64, None)]), opset_imports=[helper.make_opsetid("", 19)], ir_version=9)
        parts.append(ReferenceEvaluator(single).run(None, {"x": x[:, g:g + 1], "w": w[g:g + 1],
                                                          "b": bias[2 * g:2 * g + 2]})[0])
    want = np.concatenate(parts, axis=1)
    model = helper.make_model(helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", F64, list(x.shape))],
        [helper.make_tensor_value_info("y", F64, list(want.shape))],
        initializer=[numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")]),
        opset_imports=[helper.make_opsetid("", 19)], ir_version=9)
    edgewasm.compile(model, tmp_path / "b")
    np.testing.assert_allclose(edgewasm.load(tmp_path / "b").run({"x": x})["y"], want, rtol=1e-12, atol=1e-12)
