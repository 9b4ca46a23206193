"""BitShift on signed integers (opset 28) through the public API: right shifts are arithmetic, a
negative or too-large shift gives the sign's extension alone (-1 or 0), left shifts discard what
passes the sign bit; against onnx's evaluator, exactly."""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

import edgewasm

CODES = {"int8": TensorProto.INT8, "int16": TensorProto.INT16, "int32": TensorProto.INT32, "int64": TensorProto.INT64}


@pytest.mark.parametrize("direction", ["LEFT", "RIGHT"])
@pytest.mark.parametrize("dtype", list(CODES))
def test_signed_shifts(tmp_path, dtype, direction):
    bits = np.iinfo(dtype).bits
    info = np.iinfo(dtype)
    x = np.array([[-1, 5, info.min, info.max, -7, 3, -128 % (bits * 4) - 64, 0]], dtype).repeat(4, 0)
    y = np.array([[0], [1], [bits - 1], [bits]], dtype) + np.array([[0, 0, 0, 0, 0, 0, 0, 0]], dtype)
    y[0, :3] = [-1, 70 % (int(info.max) + 1), bits + 3]
    node = helper.make_node("BitShift", ["x", "y"], ["z"], direction=direction)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info(n, CODES[dtype], [4, 8]) for n in "xy"],
                              [helper.make_tensor_value_info("z", CODES[dtype], [4, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 28)], ir_version=10)
    want = ReferenceEvaluator(model).run(None, {"x": x, "y": y})[0]
    edgewasm.compile(model, tmp_path / "b")
    got = edgewasm.load(tmp_path / "b").run({"x": x, "y": y})["z"]
    assert got.dtype == want.dtype and np.array_equal(got, want), (x, y, got, want)
