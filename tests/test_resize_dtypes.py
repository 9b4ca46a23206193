"""Resize of float64 and the integers (ops/resize.py _import_generic) through the public API:
nearest exact in every dtype, linear in float64 within 1e-12 of onnx's evaluator (the same taps as
the float32 kernel), linear of int8/uint8/int32 exactly onnxruntime's (float result truncated);
cubic and antialiased integer Resize are refused with the reason."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator

import edgewasm
from edgewasm.errors import UnsupportedModelError

CODES = {"float64": TensorProto.DOUBLE, "int8": TensorProto.INT8, "uint8": TensorProto.UINT8,
         "int32": TensorProto.INT32, "int64": TensorProto.INT64, "uint16": TensorProto.UINT16}


def model(dtype: str, scales, **attrs):
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], **attrs)
    inits = [numpy_helper.from_array(np.array(scales, np.float32), "s")]
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", CODES[dtype], [1, 2, 4, 5])],
                              [helper.make_tensor_value_info("y", CODES[dtype], None)], initializer=inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 19)], ir_version=9)


def run(tmp_path, m, x):
    want_shape = ReferenceEvaluator(m).run(None, {"x": x})[0].shape
    m.graph.output[0].CopyFrom(helper.make_tensor_value_info("y", m.graph.output[0].type.tensor_type.elem_type,
                                                             list(want_shape)))
    edgewasm.compile(m, tmp_path / "b")
    return edgewasm.load(tmp_path / "b").run({"x": x})["y"]


def data(dtype: str) -> np.ndarray:
    values = np.random.default_rng(0).uniform(0, 100, (1, 2, 4, 5))
    return values.astype(dtype) if dtype == "float64" else np.round(values).astype(dtype)


@pytest.mark.parametrize("dtype", list(CODES))
def test_nearest_is_exact(tmp_path, dtype):
    m = model(dtype, [1, 1, 2, 1.5], mode="nearest")
    x = data(dtype)
    got = run(tmp_path, m, x)
    want = ReferenceEvaluator(m).run(None, {"x": x})[0]
    assert got.dtype == x.dtype and np.array_equal(got, want)


@pytest.mark.parametrize("attrs", [{}, {"coordinate_transformation_mode": "align_corners"},
                                   {"coordinate_transformation_mode": "asymmetric"}])
def test_linear_float64(tmp_path, attrs):
    m = model("float64", [1, 1, 2, 1.6], mode="linear", **attrs)
    x = data("float64") * (1 + 1e-9)
    got = run(tmp_path, m, x)
    np.testing.assert_allclose(got, ReferenceEvaluator(m).run(None, {"x": x})[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype", ["int8", "uint8", "int32"])
def test_linear_integers_as_onnxruntime(tmp_path, dtype):
    m = model(dtype, [1, 1, 2, 1.6], mode="linear")
    x = data(dtype)
    want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    assert np.array_equal(run(tmp_path, m, x), want)


@pytest.mark.parametrize("attrs", [{"mode": "cubic"}, {"mode": "linear", "antialias": 1}])
def test_cubic_and_antialiased_integers_are_refused(tmp_path, attrs):
    with pytest.raises(UnsupportedModelError, match="int32 is not supported"):
        run(tmp_path, model("int32", [1, 1, 0.5, 0.6], **attrs), data("int32"))


@pytest.mark.parametrize("dtype", ["float64", "int32", "uint8"])
def test_linear_upsample(tmp_path, dtype):
    """Upsample-9 linear in float64 (against onnx's evaluator on the asymmetric Resize of the same arithmetic:
    onnxruntime has no float64 Upsample, the evaluator no linear one) and the integers (onnxruntime)."""
    node = helper.make_node("Upsample", ["x", "s"], ["y"], mode="linear")
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", CODES[dtype], [1, 2, 4, 5])],
                              [helper.make_tensor_value_info("y", CODES[dtype], [1, 2, 8, 10])],
                              initializer=[numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")])
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)], ir_version=8)
    x = data(dtype)
    if dtype == "float64":
        resize = helper.make_model(helper.make_graph(
            [helper.make_node("Resize", ["x", "", "s"], ["y"], mode="linear", coordinate_transformation_mode="asymmetric")],
            "g", list(graph.input), list(graph.output), initializer=list(graph.initializer)),
            opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
        want = ReferenceEvaluator(resize).run(None, {"x": x})[0]
    else:
        want = ort.InferenceSession(m.SerializeToString()).run(None, {"x": x})[0]
    edgewasm.compile(m, tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x})["y"]
    assert got.dtype == want.dtype
    if dtype == "float64":
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    else:
        assert np.array_equal(got, want)
