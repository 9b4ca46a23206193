"""Old opsets: every op edgewasm imports, built at each opset from 7 up where its schema changed
(attributes that later became inputs, defaults and semantics that changed), compiled through the
public API and compared with onnxruntime on the original model.

One table row is (op, opset, attributes, inputs): `R(op, opset, attrs, *inputs)` where an input is
a run-time feed (an array), a compile-time constant (`K(array)`) or absent (""). Floats match within
the fp32 contract (atol 1e-5 + rtol 1e-4), ints and bools exactly, with the same dtype and shape."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

import edgewasm
from edgewasm.engines import within_contract


@dataclass
class K:
    """A compile-time constant input (an initializer)."""
    value: np.ndarray


@dataclass
class R:
    op: str
    opset: int
    attrs: dict
    inputs: tuple
    outputs: int = 1
    note: str = ""
    nodes: list = field(default_factory=list)

    def __init__(self, op, opset, attrs, *inputs, outputs=1, note="", outer=None):
        self.op, self.opset, self.attrs, self.inputs, self.outputs, self.note = op, opset, attrs, inputs, outputs, note
        self.outer = outer or {}  # graph inputs the node's subgraphs read from the outer scope

    @property
    def id(self):
        extra = ",".join(f"{k}={v}" for k, v in self.attrs.items()
                         if not isinstance(v, (list, tuple, onnx.GraphProto, onnx.TensorProto)) or (isinstance(v, (list, tuple)) and len(v) < 4))
        return f"{self.op}-{self.opset}" + (f"[{extra}]" if extra else "") + (f"({self.note})" if self.note else "")


def rnd(*shape, seed=0, lo=None):
    x = np.random.default_rng(seed + 7 * len(shape)).standard_normal(shape).astype(np.float32)
    return np.abs(x) + np.float32(lo) if lo is not None else x


def ints(values, dtype=np.int64):
    return np.asarray(values, dtype)


def _f32(name, shape):
    return helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, shape)


def _branch(op, value):
    """An If branch: `op`(outer_x, value), outer_x a (2, 3, 4) input of the outer graph."""
    c = numpy_helper.from_array(np.array(value, np.float32), f"c_{op}")
    return helper.make_graph([helper.make_node(op, ["outer_x", f"c_{op}"], [f"y_{op}"])], f"branch_{op}", [],
                             [_f32(f"y_{op}", [2, 3, 4])], initializer=[c])


def _loop_body():
    """(i, cond, v) -> (cond, v * 0.5 + i, the running v as a scan output)."""
    nodes = [helper.make_node("Cast", ["i"], ["i_f"], to=onnx.TensorProto.FLOAT),
             helper.make_node("Mul", ["v", "half"], ["v_half"]),
             helper.make_node("Add", ["v_half", "i_f"], ["v_next"]),
             helper.make_node("Identity", ["cond"], ["cond_next"]),
             helper.make_node("Identity", ["v_next"], ["scanned"])]
    return helper.make_graph(
        nodes, "loop_body",
        [helper.make_tensor_value_info("i", onnx.TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", onnx.TensorProto.BOOL, []), _f32("v", [2, 3])],
        [helper.make_tensor_value_info("cond_next", onnx.TensorProto.BOOL, []), _f32("v_next", [2, 3]),
         _f32("scanned", [2, 3])],
        initializer=[numpy_helper.from_array(np.array(0.5, np.float32), "half")])


def _scan_body():
    """(state [3], x_t [3]) -> (tanh(state + x_t), state * x_t)."""
    nodes = [helper.make_node("Add", ["state", "x_t"], ["sum"]), helper.make_node("Tanh", ["sum"], ["state_next"]),
             helper.make_node("Mul", ["state", "x_t"], ["y_t"])]
    return helper.make_graph(nodes, "scan_body", [_f32("state", [3]), _f32("x_t", [3])],
                             [_f32("state_next", [3]), _f32("y_t", [3])])


X3 = rnd(2, 3, 4)
X4 = rnd(2, 3, 5, 6, seed=1)
IMG = rnd(1, 2, 7, 6, seed=2)
W_CONV = rnd(3, 2, 3, 3, seed=3)
POS = rnd(2, 3, 4, seed=4, lo=0.1)

ROWS = [
    # -- Softmax family: coerced to 2-D at axis (default 1) before opset 13, one axis from 13 --------
    *[R(op, v, attrs, X4) for op in ("Softmax", "LogSoftmax") for v in (7, 11, 13)
      for attrs in ({}, {"axis": 0}, {"axis": 2}, {"axis": 3}, {"axis": -1})
      if not (v < 11 and attrs.get("axis", 0) < 0)],
    # -- Flatten --------------------------------------------------------------------------------------
    *[R("Flatten", v, attrs, X4) for v in (7, 9, 11, 13) for attrs in ({}, {"axis": 0}, {"axis": 3}, {"axis": -2})
      if not (v < 11 and attrs.get("axis", 0) < 0)],
    # -- attributes that became inputs -------------------------------------------------------------
    R("Pad", 7, {"pads": [0, 1, 2, 1, 0, 0]}, X3),
    R("Pad", 7, {"pads": [1, 0, 1, 0, 2, 0], "value": 2.5}, X3),
    R("Pad", 7, {"pads": [0, 0, 1, 2, 0, 0, 2, 1], "mode": "reflect"}, X4),
    R("Pad", 7, {"pads": [0, 1, 1, 2, 0, 0, 2, 1], "mode": "edge"}, X4),
    R("Pad", 11, {}, X3, K(ints([0, 1, 2, 1, 0, 0])), K(np.float32(1.5))),
    R("Pad", 11, {"mode": "reflect"}, X3, K(ints([0, 1, 2, 0, 1, 1]))),
    R("Pad", 13, {"mode": "edge"}, X3, K(ints([1, 1, 0, 0, 1, 3]))),
    R("Pad", 18, {}, X3, K(ints([1, 2])), K(np.float32(-1)), K(ints([-1]))),
    R("Pad", 19, {"mode": "wrap"}, X3, K(ints([0, 1, 2, 0, 1, 1]))),
    R("Slice", 7, {"starts": [0, 1], "ends": [2, 3]}, X3),
    R("Slice", 7, {"starts": [1, -3], "ends": [1000, -1], "axes": [2, 1]}, X3),
    R("Slice", 7, {"starts": [-1], "ends": [-1000000], "axes": [0]}, X3, note="empty"),
    R("Slice", 10, {}, X3, K(ints([3, 0])), K(ints([0, 3])), K(ints([2, 1])), K(ints([-1, 2]))),
    R("Slice", 11, {}, X3, K(ints([-1])), K(ints([-5])), K(ints([-1])), K(ints([-1]))),
    R("Slice", 13, {}, X3, K(ints([1], np.int32)), K(ints([3], np.int32))),
    R("Clip", 7, {"min": -0.5, "max": 0.25}, X3),
    R("Clip", 7, {"max": 0.25}, X3),
    R("Clip", 7, {"min": -0.1}, X3),
    R("Clip", 7, {}, X3),
    R("Clip", 11, {}, X3, K(np.float32(-0.5)), K(np.float32(0.25))),
    R("Clip", 11, {}, X3, "", K(np.float32(0.25))),
    R("Clip", 12, {}, ints([[-5, 0, 3, 9]], np.int32), K(ints(-2, np.int32)), K(ints(4, np.int32))),
    R("Clip", 13, {}, X3, K(np.float32(-0.5))),
    R("TopK", 7, {"k": 2}, X3, outputs=2),
    R("TopK", 7, {"k": 2, "axis": 1}, X3, outputs=2),
    R("TopK", 10, {"axis": 1}, X3, K(ints([2])), outputs=2),
    R("TopK", 11, {"axis": -1, "largest": 0}, X3, K(ints([3])), outputs=2),
    R("Split", 7, {"axis": 2, "split": [1, 3]}, X3, outputs=2),
    R("Split", 7, {"axis": 1}, X3, outputs=3),
    R("Split", 7, {}, rnd(4, 3), outputs=2),
    R("Split", 11, {"axis": -1, "split": [2, 2]}, X3, outputs=2),
    R("Split", 13, {"axis": 2}, X3, K(ints([3, 1])), outputs=2),
    R("Split", 13, {"axis": 1}, X3, outputs=3),
    R("Split", 18, {"axis": 1, "num_outputs": 2}, X3, outputs=2),
    R("Squeeze", 7, {"axes": [0, 2]}, rnd(1, 3, 1, 4)),
    R("Squeeze", 7, {}, rnd(1, 3, 1, 4)),
    R("Squeeze", 11, {"axes": [-2]}, rnd(1, 3, 1, 4)),
    R("Squeeze", 13, {}, rnd(1, 3, 1, 4), K(ints([0]))),
    R("Squeeze", 13, {}, rnd(1, 3, 1, 4)),
    R("Unsqueeze", 7, {"axes": [0, 3]}, X3),
    R("Unsqueeze", 11, {"axes": [-1, 1]}, X3),
    R("Unsqueeze", 13, {}, X3, K(ints([1, -1]))),
    *[R(op, v, attrs, X4) for op in ("ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
                                     "ReduceLogSumExp", "ReduceSumSquare")
      for v in (7, 11, 13) for attrs in ({"axes": [1, 3]}, {"axes": [2], "keepdims": 0}, {})],
    *[R(op, 18, attrs, X4, *inp) for op in ("ReduceMean", "ReduceMax", "ReduceL2", "ReduceLogSumExp")
      for attrs, inp in (({}, (K(ints([1, -1])),)), ({"keepdims": 0}, (K(ints([2])),)), ({}, ()),
                         ({"noop_with_empty_axes": 1}, ()))],
    *[R("ReduceLogSum", v, attrs, POS) for v in (7, 11, 13) for attrs in ({"axes": [1]}, {"keepdims": 0})],
    R("ReduceLogSum", 18, {}, POS, K(ints([2]))),
    *[R("ReduceSum", v, attrs, X4) for v in (7, 11) for attrs in ({"axes": [1, 3]}, {"axes": [0], "keepdims": 0}, {})],
    R("ReduceSum", 11, {"axes": [-1]}, X4),
    R("ReduceSum", 13, {}, X4, K(ints([1, 3]))),
    R("ReduceSum", 13, {"keepdims": 0}, X4),
    R("ReduceSum", 13, {"noop_with_empty_axes": 1}, X4),
    R("ReduceMax", 12, {"axes": [1]}, ints(np.arange(24).reshape(2, 3, 4) % 7, np.int8)),
    R("ReduceMin", 20, {}, ints(np.arange(24).reshape(2, 3, 4) % 5 == 0, np.bool_), K(ints([1]))),
    R("Dropout", 7, {"ratio": 0.3}, X3),
    R("Dropout", 7, {}, X3, outputs=2),
    R("Dropout", 10, {"ratio": 0.3}, X3, outputs=2),
    R("Dropout", 10, {}, X3),
    R("Dropout", 12, {}, X3, K(np.float32(0.4))),
    R("Dropout", 12, {}, X3, K(np.float32(0.4)), K(np.bool_(False)), outputs=2),
    R("Dropout", 13, {"seed": 3}, X3),
    R("Expand", 8, {}, rnd(3, 1), K(ints([2, 1, 4]))),
    R("Expand", 13, {}, rnd(3, 1), K(ints([3, 5]))),
    R("Tile", 7, {}, X3, K(ints([1, 2, 3]))),
    R("Tile", 13, {}, X3, K(ints([2, 1, 1]))),
    # -- Resize: opset 10 (scales only, asymmetric, nearest floors) vs 11+ (roi, coordinate modes) --
    R("Resize", 10, {"mode": "nearest"}, IMG, K(np.array([1, 1, 2, 1.5], np.float32))),
    R("Resize", 10, {"mode": "linear"}, IMG, K(np.array([1, 1, 2, 1.5], np.float32))),
    R("Resize", 10, {"mode": "nearest"}, IMG, K(np.array([1, 1, 0.5, 0.7], np.float32))),
    R("Resize", 10, {"mode": "nearest"}, IMG, K(np.array([1, 1, 0.6, 1.7], np.float32))),
    R("Resize", 10, {"mode": "linear"}, IMG, K(np.array([1, 1, 0.6, 0.5], np.float32))),
    R("Resize", 11, {"mode": "nearest"}, IMG, K(np.array([], np.float32)), K(np.array([1, 1, 2, 1.5], np.float32))),
    R("Resize", 11, {"mode": "linear", "coordinate_transformation_mode": "align_corners"}, IMG,
      K(np.array([], np.float32)), K(np.array([1, 1, 2, 2], np.float32))),
    R("Resize", 11, {"mode": "linear"}, IMG, K(np.array([], np.float32)), K(np.array([], np.float32)),
      K(ints([1, 2, 9, 4]))),
    R("Resize", 13, {"mode": "cubic"}, IMG, "", K(np.array([1, 1, 2, 2], np.float32))),
    R("Resize", 13, {"mode": "nearest", "nearest_mode": "floor"}, IMG, "", "", K(ints([1, 2, 3, 13]))),
    R("Resize", 18, {"mode": "linear", "axes": [2, 3]}, IMG, "", K(np.array([2, 0.5], np.float32))),
    R("Resize", 19, {"mode": "linear", "coordinate_transformation_mode": "half_pixel_symmetric"}, IMG, "",
      K(np.array([1, 1, 1.5, 2], np.float32))),
    # -- changed defaults / semantics ----------------------------------------------------------------
    R("BatchNormalization", 7, {}, IMG, K(rnd(2, seed=5)), K(rnd(2, seed=6)), K(rnd(2, seed=7)), K(rnd(2, seed=8, lo=0.5))),
    R("BatchNormalization", 7, {"epsilon": 1e-2, "momentum": 0.8, "spatial": 1}, IMG, K(rnd(2, seed=5)),
      K(rnd(2, seed=6)), K(rnd(2, seed=7)), K(rnd(2, seed=8, lo=0.5))),
    R("BatchNormalization", 9, {}, rnd(3, 2), K(rnd(2, seed=5)), K(rnd(2, seed=6)), K(rnd(2, seed=7)),
      K(rnd(2, seed=8, lo=0.5))),
    R("BatchNormalization", 14, {"epsilon": 1e-3}, IMG, K(rnd(2, seed=5)), K(rnd(2, seed=6)), K(rnd(2, seed=7)),
      K(rnd(2, seed=8, lo=0.5))),
    R("BatchNormalization", 15, {}, IMG, K(rnd(2, seed=5)), K(rnd(2, seed=6)), K(rnd(2, seed=7)),
      K(rnd(2, seed=8, lo=0.5))),
    R("Gemm", 7, {}, rnd(3, 4), K(rnd(4, 5, seed=1)), K(rnd(5, seed=2))),
    R("Gemm", 7, {"transA": 1, "transB": 1, "alpha": 0.5, "beta": 2.0}, rnd(4, 3), K(rnd(5, 4, seed=1)),
      K(rnd(3, 1, seed=2))),
    R("Gemm", 9, {"beta": 0.5}, rnd(3, 4), K(rnd(4, 5, seed=1)), K(rnd(1, 5, seed=2))),
    R("Gemm", 9, {}, rnd(3, 4), rnd(4, 5, seed=1), rnd(3, 5, seed=2), note="activations"),
    R("Gemm", 11, {}, rnd(3, 4), K(rnd(4, 5, seed=1))),
    R("Gemm", 13, {"transB": 1}, rnd(3, 4), K(rnd(5, 4, seed=1)), K(np.float32(0.5))),
    R("Concat", 7, {"axis": 1}, X3, rnd(2, 1, 4)),
    R("Concat", 11, {"axis": -1}, X3, K(rnd(2, 3, 2))),
    R("Concat", 13, {"axis": 0}, X3, X3),
    R("Gather", 7, {"axis": 1}, X3, K(ints([[2, 0], [1, 1]]))),
    R("Gather", 7, {}, X3, K(ints([1, -1], np.int32)), note="negative index"),
    R("Gather", 11, {"axis": -1}, X3, K(ints([-1, 0, 3]))),
    R("Gather", 13, {"axis": 2}, X3, ints([3, 0, -2])),
    *[R(op, v, attrs, X3) for op in ("ArgMax", "ArgMin") for v in (7, 11, 12, 13)
      for attrs in ({}, {"axis": 2, "keepdims": 0}, {"axis": -1}, {"axis": 1, "select_last_index": 1})
      if not (v < 11 and attrs.get("axis", 0) < 0) and not (v < 12 and "select_last_index" in attrs)],
    R("ArgMax", 12, {"axis": 1, "select_last_index": 1}, ints([[1, 3, 3], [2, 2, 0]], np.int32), note="ties"),
    R("ArgMin", 7, {"axis": 1}, ints([[1, 0, 0], [2, 2, 5]], np.int32), note="ties"),
    *[R("Cast", v, {"to": to}, X3 * 3) for v in (7, 9, 13, 19, 21) for to in (onnx.TensorProto.INT32, onnx.TensorProto.DOUBLE)],
    R("Cast", 9, {"to": onnx.TensorProto.FLOAT}, ints([[1, 0, 5]], np.int64)),
    R("Mod", 10, {}, ints([[-7, 7, 9, -9]], np.int32), K(ints([3, 3, -4, -4], np.int32))),
    R("Mod", 10, {"fmod": 1}, X3 * 5, K(np.float32(1.5))),
    R("Mod", 13, {"fmod": 1}, ints([[-7, 7, 9, -9]], np.int64), K(ints([3, -3, 4, -4]))),
    R("Pow", 7, {}, POS, K(np.float32(1.5))),
    R("Pow", 7, {}, POS, rnd(4, seed=9)),
    R("Pow", 12, {}, POS, K(ints(3))),
    R("Pow", 13, {}, ints([[1, 2, 3]], np.int32), K(ints([2], np.int64))),
    R("Pow", 15, {}, POS, K(np.float32(-0.5))),
    R("MaxPool", 7, {"kernel_shape": [3, 2]}, IMG),
    R("MaxPool", 7, {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 0, 1, 0]}, IMG),
    R("MaxPool", 7, {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER"}, IMG),
    R("MaxPool", 8, {"kernel_shape": [2, 2], "storage_order": 0}, IMG),
    R("MaxPool", 10, {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}, IMG),
    R("MaxPool", 10, {"kernel_shape": [2, 2], "dilations": [2, 1]}, IMG),
    R("MaxPool", 11, {"kernel_shape": [3, 3], "auto_pad": "SAME_LOWER", "strides": [2, 2]}, IMG),
    R("AveragePool", 7, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1]}, IMG),
    R("AveragePool", 7, {"kernel_shape": [3, 3], "pads": [1, 1, 1, 1], "count_include_pad": 1}, IMG),
    R("AveragePool", 7, {"kernel_shape": [3, 2], "auto_pad": "SAME_UPPER", "count_include_pad": 1}, IMG),
    R("AveragePool", 10, {"kernel_shape": [2, 2], "strides": [2, 2], "ceil_mode": 1}, IMG),
    R("AveragePool", 11, {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_LOWER"}, IMG),
    R("AveragePool", 19, {"kernel_shape": [2, 2], "dilations": [2, 2]}, IMG),
    R("GlobalAveragePool", 7, {}, IMG),
    R("GlobalMaxPool", 7, {}, IMG),
    R("Conv", 7, {}, IMG, K(W_CONV)),
    R("Conv", 7, {"auto_pad": "SAME_UPPER"}, IMG, K(W_CONV), K(rnd(3, seed=4))),
    R("Conv", 7, {"auto_pad": "SAME_LOWER", "strides": [2, 2]}, IMG, K(rnd(3, 2, 2, 2, seed=5))),
    R("Conv", 7, {"auto_pad": "VALID", "strides": [2, 1]}, IMG, K(W_CONV)),
    R("Conv", 7, {"kernel_shape": [3, 3], "pads": [1, 0, 1, 2], "dilations": [2, 1]}, IMG, K(W_CONV)),
    R("Conv", 11, {"group": 2}, IMG, K(rnd(4, 1, 3, 3, seed=6))),
    R("ConvTranspose", 7, {"strides": [2, 2]}, IMG, K(rnd(2, 3, 3, 3, seed=7))),
    R("ConvTranspose", 7, {"strides": [2, 2], "output_padding": [1, 0], "pads": [1, 1, 1, 1]}, IMG,
      K(rnd(2, 3, 3, 3, seed=7))),
    R("ConvTranspose", 7, {"strides": [2, 2], "output_shape": [15, 13]}, IMG, K(rnd(2, 3, 3, 3, seed=7))),
    R("ConvTranspose", 11, {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, IMG, K(rnd(2, 3, 3, 3, seed=7))),
    R("Scatter", 9, {"axis": 1}, X3, K(ints([[[0, 2, 1, 0]], [[2, 2, 0, 1]]])), rnd(2, 1, 4, seed=3)),
    R("Scatter", 10, {}, X3, K(ints([[[1, 0, 1, 0]]], np.int32)), K(rnd(1, 1, 4, seed=3))),
    R("ScatterElements", 11, {"axis": -1}, X3, K(ints([[[3], [0], [-1]], [[1], [2], [0]]])), rnd(2, 3, 1, seed=3)),
    R("ScatterElements", 13, {"axis": 0}, X3, K(ints([[[1, 0, 1, 0]]])), rnd(1, 1, 4, seed=3)),
    R("ScatterElements", 16, {"axis": 2, "reduction": "add"}, X3, K(ints([[[3, 3]]])), rnd(1, 1, 2, seed=3)),
    R("ScatterElements", 18, {"axis": 2, "reduction": "max"}, X3, K(ints([[[3, 3]]])), rnd(1, 1, 2, seed=3)),
    R("MaxPool", 8, {"kernel_shape": [2, 2], "storage_order": 1}, IMG, outputs=2),
    R("MaxPool", 8, {"kernel_shape": [3, 2], "strides": [2, 1]}, IMG, outputs=2),
    R("MaxPool", 12, {"kernel_shape": [2, 3], "pads": [1, 1, 0, 1]}, IMG, outputs=2),
    R("BatchNormalization", 7, {"spatial": 0}, IMG, K(rnd(2, 7, 6, seed=5)), K(rnd(2, 7, 6, seed=6)),
      K(rnd(2, 7, 6, seed=7)), K(rnd(2, 7, 6, seed=8, lo=0.5))),
    R("BatchNormalization", 7, {"spatial": 0, "epsilon": 1e-3}, rnd(3, 4), K(rnd(4, seed=5)), K(rnd(4, seed=6)),
      K(rnd(4, seed=7)), K(rnd(4, seed=8, lo=0.5))),
    R("Clip", 7, {"min": -0.5}, np.array([[np.inf, -np.inf, 1.0, np.nan]], np.float32), note="inf"),
    R("Clip", 7, {}, np.array([[np.inf, -np.inf, 1.0]], np.float32), note="inf"),
    R("Clip", 11, {}, np.array([[np.inf, -np.inf, 1.0]], np.float32), note="inf"),
    R("Clip", 13, {}, np.array([[np.inf, -np.inf, 1.0]], np.float16), K(np.float16(-2)), note="inf"),
    R("Clip", 12, {}, np.array([[np.inf, -np.inf, 1.0, -3.0]]), "", K(np.float64(0.5)), note="inf"),
    R("Clip", 7, {"min": -0.5, "max": 0.25}, X3.astype(np.float16)),
    R("Pad", 7, {"pads": [0, -1, 1, 0, 0, -2]}, X3, note="negative"),
    R("Pad", 11, {}, X3, K(ints([0, -1, 1, 0, 0, -2])), note="negative"),
    R("Unsqueeze", 7, {"axes": [3, 0]}, X3),
    R("Gather", 7, {"axis": 1}, X3, K(ints(2))),
    R("Gather", 7, {"axis": 0}, ints([5, 6, 7], np.int32), K(ints([[2, 0]]))),
    *[R(op, 7, {}, ints([[7, -7, 9], [-9, 8, 1]], np.int32), K(ints([2, 3, -4], np.int32))) for op in ("Add", "Sub", "Mul", "Div")],
    R("Resize", 11, {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn"}, IMG,
      K(np.array([], np.float32)), K(np.array([1, 1, 1.5, 0.5], np.float32))),
    R("Resize", 11, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
                     "extrapolation_value": 2.0}, IMG, K(np.array([0, 0, 0.1, -0.2, 1, 1, 0.8, 1.1], np.float32)),
      K(np.array([1, 1, 2, 1.5], np.float32))),
    R("Resize", 13, {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize"}, IMG,
      K(np.array([0, 0, 0.1, -0.2, 1, 1, 0.8, 1.1], np.float32)), "", K(ints([1, 2, 5, 8]))),
    R("Resize", 11, {"mode": "nearest", "coordinate_transformation_mode": "tf_half_pixel_for_nn"}, IMG,
      K(np.array([], np.float32)), K(np.array([1, 1, 0.5, 2.5], np.float32))),
    R("Resize", 11, {"mode": "nearest", "nearest_mode": "floor", "coordinate_transformation_mode": "tf_half_pixel_for_nn"},
      IMG, K(np.array([], np.float32)), K(np.array([], np.float32)), K(ints([1, 2, 4, 9]))),
    R("Resize", 11, {"mode": "nearest", "nearest_mode": "ceil", "coordinate_transformation_mode": "asymmetric"}, IMG,
      K(np.array([], np.float32)), K(np.array([1, 1, 0.6, 1.7], np.float32))),
    R("Constant", 7, {"value": numpy_helper.from_array(rnd(3, 2, seed=3))}),
    R("Flatten", 7, {"axis": 4}, X4),
    *[R("Cast", 7, {"to": to}, X3 * 3) for to in (onnx.TensorProto.BOOL, onnx.TensorProto.FLOAT16, onnx.TensorProto.INT8)],
    R("Softmax", 7, {}, rnd(3, 5)),
    R("LogSoftmax", 7, {}, rnd(3, 5)),
    R("Softmax", 11, {"axis": -2}, X3),
    R("TopK", 7, {"k": 3}, np.array([[3, 1, 3, 2], [0, 0, 5, 5]], np.float32), outputs=2, note="ties"),
    *[R(op, 13, {}, X3, rnd(3, 1, seed=2)) for op in ("Add", "Sub", "Mul", "Div")],
    R("ReduceMin", 12, {"axes": [1], "keepdims": 0}, ints(np.arange(24).reshape(2, 3, 4) % 7 - 3, np.int8)),
    R("ReduceMin", 18, {}, X4, K(ints([0, 2]))),
    R("Reshape", 13, {}, X3, K(ints([-1, 2]))),
    R("Shape", 13, {}, X3),
    R("ScatterND", 13, {}, X3, K(ints([[1], [0]])), rnd(2, 3, 4, seed=4)),
    R("RoiAlign", 10, {"output_height": 2, "output_width": 3, "sampling_ratio": 2, "spatial_scale": 0.5}, IMG,
      K(np.array([[1, 2, 9, 11], [0, 0, 5.5, 7]], np.float32)), K(ints([0, 0]))),
    R("RoiAlign", 10, {"output_height": 2, "output_width": 2, "mode": "max"}, IMG,
      K(np.array([[1, 2, 5, 6]], np.float32)), K(ints([0]))),
    R("RoiAlign", 16, {"output_height": 2, "output_width": 3, "sampling_ratio": 2, "spatial_scale": 0.5}, IMG,
      K(np.array([[1, 2, 9, 11], [0, 0, 5.5, 7]], np.float32)), K(ints([0, 0]))),
    R("RoiAlign", 16, {"output_height": 2, "output_width": 2, "coordinate_transformation_mode": "output_half_pixel"},
      IMG, K(np.array([[1, 2, 5, 6]], np.float32)), K(ints([0]))),
    R("LRN", 7, {"size": 3}, IMG),
    R("LRN", 13, {"size": 5, "alpha": 0.01, "beta": 0.5, "bias": 2.0}, IMG),
    R("LpPool", 7, {"kernel_shape": [2, 2]}, IMG),
    R("LpPool", 7, {"kernel_shape": [3, 2], "p": 1, "pads": [1, 0, 1, 1], "strides": [2, 1]}, IMG),
    R("LpPool", 11, {"kernel_shape": [3, 3], "auto_pad": "SAME_UPPER", "p": 3}, IMG),
    R("LpPool", 18, {"kernel_shape": [2, 2], "dilations": [2, 1], "ceil_mode": 1, "strides": [2, 2]}, IMG),
    R("GlobalLpPool", 7, {}, IMG),
    R("GlobalLpPool", 7, {"p": 1}, IMG),
    R("MaxUnpool", 9, {"kernel_shape": [2, 2], "strides": [2, 2]}, rnd(1, 2, 3, 3),
      K(ints(np.array([0, 7, 8, 15, 17, 22, 26, 29, 35]).reshape(1, 1, 3, 3) + np.array([0, 36]).reshape(1, 2, 1, 1)))),
    R("MaxUnpool", 11, {"kernel_shape": [2, 2], "strides": [2, 2]}, rnd(1, 2, 3, 3),
      K(ints(np.array([0, 7, 8, 15, 17, 22, 26, 29, 35]).reshape(1, 1, 3, 3) + np.array([0, 36]).reshape(1, 2, 1, 1)))),
    *[R(op, 7, {}, X3 * 0.5) for op in ("Acos", "Asin")],
    R("Acosh", 9, {}, POS + 1),
    R("Atanh", 9, {}, X3 * 0.3),
    R("GridSample", 16, {}, IMG, K(rnd(1, 3, 4, 2, seed=5) * 0.8)),
    R("GridSample", 16, {"mode": "bicubic", "padding_mode": "border", "align_corners": 1}, IMG,
      K(rnd(1, 3, 4, 2, seed=5) * 0.8)),
    R("GridSample", 16, {"mode": "nearest", "padding_mode": "reflection"}, IMG, K(rnd(1, 3, 4, 2, seed=5))),
    R("GridSample", 20, {"mode": "linear"}, IMG, K(rnd(1, 3, 4, 2, seed=5) * 0.8)),
    R("GridSample", 20, {"mode": "cubic", "align_corners": 1}, IMG, K(rnd(1, 3, 4, 2, seed=5) * 0.8)),
    R("GroupNormalization", 18, {"num_groups": 2, "epsilon": 1e-3}, rnd(2, 4, 3, 2), K(rnd(2, seed=6)), K(rnd(2, seed=7))),
    R("GroupNormalization", 21, {"num_groups": 2}, rnd(2, 4, 3, 2), K(rnd(4, seed=6)), K(rnd(4, seed=7))),
    R("LayerNormalization", 17, {"axis": -2}, X3, K(rnd(3, 4, seed=2)), K(rnd(3, 4, seed=3))),
    R("CastLike", 15, {}, X3 * 4, K(ints([0], np.int32))),
    R("Gelu", 20, {"approximate": "tanh"}, X3),
    R("Mish", 18, {}, X3),
    R("CenterCropPad", 18, {"axes": [1, 2]}, X3, K(ints([5, 2]))),
    R("BitShift", 11, {"direction": "RIGHT"}, ints([[16, 255, 7]], np.uint8), K(ints([1, 4, 0], np.uint8))),
    R("Det", 11, {}, rnd(2, 3, 3, seed=9)),
    R("MaxRoiPool", 7, {"pooled_shape": [2, 2], "spatial_scale": 0.5}, IMG,
      K(np.array([[0, 1, 2, 9, 11], [0, 0, 0, 5, 7]], np.float32))),
    R("ConvInteger", 10, {}, ints(np.arange(84).reshape(1, 2, 7, 6) % 13, np.uint8),
      K(ints(np.arange(54).reshape(3, 2, 3, 3) % 7 - 3, np.int8).astype(np.uint8)), K(np.uint8(3))),
    R("MatMulInteger", 10, {}, ints(np.arange(12).reshape(3, 4) % 9, np.uint8), K(ints(np.arange(8).reshape(4, 2) % 5, np.uint8)),
      K(np.uint8(2)), K(np.uint8(1))),
    R("ReduceSum", 13, {}, X4, K(ints([]))),
    R("ReduceMean", 18, {}, X4, K(ints([]))),
    R("ConvTranspose", 7, {"strides": [2, 2], "auto_pad": "SAME_UPPER"}, IMG, K(rnd(2, 3, 2, 2, seed=7))),
    R("ConvTranspose", 7, {"strides": [2, 2], "auto_pad": "SAME_LOWER"}, IMG, K(rnd(2, 3, 3, 3, seed=7))),
    R("Gemm", 7, {"beta": 0.5}, rnd(3, 4), K(rnd(4, 5, seed=1)), K(np.array([0.25], np.float32))),
    R("Greater", 9, {}, ints([[1, 5, -3]], np.int32), K(ints([2, 5, -4], np.int32))),
    R("Less", 9, {}, ints([[1, 5, -3]]), K(ints([2, 5, -4]))),
    R("Round", 11, {}, np.array([[0.5, 1.5, 2.5, -0.5, -1.5, 2.4999, -2.5001]], np.float32)),
    R("Range", 11, {}, K(ints(10, np.int32)), K(ints(-3, np.int32)), K(ints(-4, np.int32))),
    # -- control flow: If/Loop before opset 11 (typed subgraph inputs), Scan-8 (a batch axis first) ---
    R("If", 7, {"then_branch": _branch("Add", 1.0), "else_branch": _branch("Mul", -2.0)}, np.array(True),
      outer={"outer_x": X3}),
    R("If", 7, {"then_branch": _branch("Add", 1.0), "else_branch": _branch("Mul", -2.0)}, K(np.array(False)),
      outer={"outer_x": X3}),
    R("If", 11, {"then_branch": _branch("Add", 1.0), "else_branch": _branch("Mul", -2.0)}, np.array(False),
      outer={"outer_x": X3}),
    R("Loop", 7, {"body": _loop_body()}, K(ints(3)), K(np.array(True)), rnd(2, 3, seed=3), outputs=2),
    R("Loop", 11, {"body": _loop_body()}, K(ints(4)), "", rnd(2, 3, seed=3), outputs=2),
    R("Loop", 13, {"body": _loop_body()}, K(ints(2)), K(np.array(True)), rnd(2, 3, seed=3), outputs=2),
    R("Scan", 8, {"body": _scan_body(), "num_scan_inputs": 1}, "", rnd(2, 3, seed=3), rnd(2, 4, 3, seed=4), outputs=2),
    R("Scan", 8, {"body": _scan_body(), "num_scan_inputs": 1, "directions": [1]}, K(ints([4, 4])),
      rnd(2, 3, seed=3), rnd(2, 4, 3, seed=4), outputs=2),
    R("Scan", 9, {"body": _scan_body(), "num_scan_inputs": 1}, rnd(3, seed=3), rnd(4, 3, seed=4), outputs=2),
    R("Scan", 11, {"body": _scan_body(), "num_scan_inputs": 1, "scan_input_axes": [-1], "scan_output_axes": [-1]},
      rnd(3, seed=3), rnd(3, 5, seed=4), outputs=2),
    # -- other ops at their oldest supported opset ------------------------------------------------------
    *[R(op, 7, {}, X3, rnd(3, 1, seed=2)) for op in ("Add", "Sub", "Mul", "Div")],
    *[R(op, 14, {}, ints([[3, -4, 5]], np.int16), K(ints([2, 3, -2], np.int16))) for op in ("Add", "Sub", "Mul", "Div")],
    *[R(op, 7, {}, X3, rnd(2, 3, 4, seed=2)) for op in ("Max", "Min", "Sum", "Mean")],
    *[R(op, 8, {}, X3, rnd(3, 1, seed=2), rnd(4, seed=3)) for op in ("Max", "Min", "Sum", "Mean")],
    R("Max", 12, {}, ints([[3, -4, 5]], np.int32), K(ints([2, 3, 9], np.int32))),
    R("PRelu", 7, {}, X3, K(rnd(3, 1, seed=4))),
    R("PRelu", 9, {}, X3, K(rnd(4, seed=4))),
    R("PRelu", 16, {}, X3, K(rnd(3, 1, seed=4))),
    *[R(op, 7, {}, X3, rnd(3, 1, seed=2)) for op in ("Greater", "Less")],
    R("Equal", 7, {}, ints([[1, 2, 3]], np.int32), K(ints([1, 0, 3], np.int32))),
    R("Equal", 11, {}, X3, K(X3[0])),
    R("GreaterOrEqual", 12, {}, X3, K(np.float32(0))),
    R("LessOrEqual", 12, {}, X3, K(np.float32(0))),
    *[R(op, 7, {}, X3 > 0, X3 < 0.5) for op in ("And", "Or", "Xor")],
    R("Not", 7, {}, X3 > 0),
    R("Where", 9, {}, X3 > 0, X3, K(np.float32(-1))),
    R("Where", 16, {}, X3 > 0, ints([[1, 2, 3, 4]]), K(ints(-1))),
    R("MatMul", 7, {}, X3, K(rnd(4, 5, seed=5))),
    R("MatMul", 9, {}, rnd(2, 1, 3, 4), rnd(3, 4, 2, seed=5)),
    R("MatMul", 13, {}, X3, K(rnd(4, 2, seed=5))),
    R("Reshape", 7, {}, X3, K(ints([0, -1]))),
    R("Reshape", 14, {"allowzero": 0}, X3, K(ints([4, 0, -1]))),
    R("Transpose", 7, {}, X3),
    R("Transpose", 7, {"perm": [1, 0, 2]}, X3),
    R("Shape", 7, {}, X3),
    R("Shape", 15, {"start": -2}, X3),
    R("Size", 7, {}, X3),
    R("Identity", 7, {}, X3),
    R("Constant", 9, {"value": numpy_helper.from_array(rnd(3, 2, seed=3))}),
    R("ConstantOfShape", 9, {"value": numpy_helper.from_array(np.array([2], np.int32))}, K(ints([2, 3]))),
    R("OneHot", 9, {}, K(ints([1, 0, 3])), K(ints(4)), K(np.array([0, 1], np.float32))),
    R("OneHot", 9, {"axis": 0}, ints([1, 0, 2]), K(np.float32(3)), K(np.array([-1, 2], np.float32))),
    R("OneHot", 11, {"axis": -2}, ints([[1, -1], [0, 2]]), K(ints(3)), K(np.array([0, 5], np.float32))),
    R("Compress", 9, {"axis": 1}, X3, K(np.array([True, False, True]))),
    R("Compress", 9, {}, X3, K(np.array([True, False, True, True]))),
    R("Compress", 11, {"axis": -1}, X3, K(np.array([False, True, True]))),
    R("DepthToSpace", 7, {"blocksize": 2}, rnd(1, 8, 2, 3)),
    R("DepthToSpace", 11, {"blocksize": 2, "mode": "CRD"}, rnd(1, 8, 2, 3)),
    R("DepthToSpace", 13, {"blocksize": 2}, rnd(1, 8, 2, 3)),
    R("SpaceToDepth", 7, {"blocksize": 2}, rnd(1, 2, 4, 6)),
    R("SpaceToDepth", 13, {"blocksize": 2}, rnd(1, 2, 4, 6)),
    R("InstanceNormalization", 7, {"epsilon": 1e-3}, IMG, K(rnd(2, seed=4)), K(rnd(2, seed=5))),
    R("LpNormalization", 7, {}, X3),
    R("LpNormalization", 7, {"axis": 1, "p": 1}, X3),
    R("MeanVarianceNormalization", 9, {}, IMG),
    R("MeanVarianceNormalization", 9, {}, rnd(2, 3, 4, 5, seed=3), note="batch 2"),
    R("MeanVarianceNormalization", 13, {"axes": [1, 2, 3]}, IMG),
    *[R(op, 7, {}, X3) for op in ("Abs", "Neg", "Exp", "Tanh", "Sigmoid", "Relu", "Floor", "Ceil", "Sin", "Cos",
                                 "Tan", "Atan", "Softsign", "Softplus")],
    *[R(op, 7, {}, POS) for op in ("Log", "Sqrt", "Reciprocal")],
    *[R(op, 9, {}, X3) for op in ("Sign", "Erf", "Sinh", "Cosh", "Asinh", "IsNaN")],
    R("IsInf", 10, {"detect_negative": 0}, X3 / 0),
    R("Round", 11, {}, X3 * 3),
    R("Elu", 7, {"alpha": 0.5}, X3),
    R("Selu", 7, {}, X3),
    R("LeakyRelu", 7, {}, X3),
    R("LeakyRelu", 7, {"alpha": 0.2}, X3),
    R("HardSigmoid", 7, {}, X3),
    R("ThresholdedRelu", 10, {}, X3 * 2),
    R("Shrink", 9, {"lambd": 0.3, "bias": 0.1}, X3),
    R("Celu", 12, {}, X3),
    R("HardSwish", 14, {}, X3 * 4),
    R("ReverseSequence", 10, {}, rnd(4, 2, 3), K(ints([4, 2]))),
    R("ReverseSequence", 10, {"batch_axis": 0, "time_axis": 1}, rnd(2, 4, 3), K(ints([1, 3]))),
    R("CumSum", 11, {}, X3, K(ints(1))),
    R("CumSum", 11, {"exclusive": 1, "reverse": 1}, X3, K(ints(-1, np.int32))),
    R("CumSum", 14, {}, ints([[1, 2, 3]], np.int32), K(ints(1))),
    R("Range", 11, {}, K(np.float32(1)), K(np.float32(5)), K(np.float32(1.5))),
    R("Einsum", 12, {"equation": "bij,bjk->bik"}, X3, rnd(2, 4, 5, seed=2)),
    R("GatherElements", 11, {"axis": 1}, X3, K(ints([[[0, 2, 1, -1]], [[2, 2, 0, 1]]]))),
    R("GatherND", 11, {}, X3, K(ints([[1, 2], [0, 0]]))),
    R("GatherND", 12, {"batch_dims": 1}, X3, K(ints([[1], [2]]))),
    R("ScatterND", 11, {}, X3, K(ints([[1, 2], [0, 0]])), rnd(2, 4, seed=4)),
    R("ScatterND", 16, {"reduction": "mul"}, X3, K(ints([[1, 2], [0, 0]])), rnd(2, 4, seed=4)),
    R("EyeLike", 9, {"k": 1}, rnd(3, 4)),
    R("Trilu", 14, {"upper": 0}, X3, K(ints(1))),
    R("Mean", 13, {}, X3, K(np.float32(2))),
    R("Sum", 13, {}, X3, K(np.float32(2)), X3),
]

RNN_X = rnd(3, 2, 4, seed=11)
RECURRENT = [
    R("RNN", 7, {"hidden_size": 3}, RNN_X, K(rnd(1, 3, 4, seed=1) * 0.5), K(rnd(1, 3, 3, seed=2) * 0.5),
      K(rnd(1, 6, seed=3)), outputs=2),
    R("RNN", 14, {"hidden_size": 3, "direction": "bidirectional"}, RNN_X,
      K(rnd(2, 3, 4, seed=1) * 0.5), K(rnd(2, 3, 3, seed=2) * 0.5), outputs=2),
    R("GRU", 7, {"hidden_size": 3}, RNN_X, K(rnd(1, 9, 4, seed=1) * 0.5), K(rnd(1, 9, 3, seed=2) * 0.5),
      K(rnd(1, 18, seed=3)), outputs=2),
    R("GRU", 7, {"hidden_size": 3, "linear_before_reset": 1, "direction": "reverse"}, RNN_X,
      K(rnd(1, 9, 4, seed=1) * 0.5), K(rnd(1, 9, 3, seed=2) * 0.5), K(rnd(1, 18, seed=3)), outputs=2),
    R("GRU", 14, {"hidden_size": 3}, RNN_X, K(rnd(1, 9, 4, seed=1) * 0.5),
      K(rnd(1, 9, 3, seed=2) * 0.5), outputs=2),
    R("LSTM", 7, {"hidden_size": 3}, RNN_X, K(rnd(1, 12, 4, seed=1) * 0.5), K(rnd(1, 12, 3, seed=2) * 0.5),
      K(rnd(1, 24, seed=3)), outputs=3),
    R("LSTM", 14, {"hidden_size": 3, "direction": "bidirectional"}, RNN_X,
      K(rnd(2, 12, 4, seed=1) * 0.5), K(rnd(2, 12, 3, seed=2) * 0.5), outputs=3),
]

RECURRENT += [
    R("LSTM", 7, {"hidden_size": 3, "input_forget": 1, "clip": 0.8}, RNN_X, K(rnd(1, 12, 4, seed=1) * 0.5),
      K(rnd(1, 12, 3, seed=2) * 0.5), K(rnd(1, 24, seed=3)), "", K(rnd(1, 2, 3, seed=4)), K(rnd(1, 2, 3, seed=5)),
      K(rnd(1, 9, seed=6)), outputs=3),
    R("RNN", 7, {"hidden_size": 3, "activations": ["Relu"]}, RNN_X, K(rnd(1, 3, 4, seed=1) * 0.5),
      K(rnd(1, 3, 3, seed=2) * 0.5), outputs=2),
    R("GRU", 7, {"hidden_size": 3, "direction": "bidirectional"}, RNN_X, K(rnd(2, 9, 4, seed=1) * 0.5),
      K(rnd(2, 9, 3, seed=2) * 0.5), K(rnd(2, 18, seed=3)), K(ints([3, 2], np.int32)), K(rnd(2, 2, 3, seed=4)),
      outputs=2),
]

ROWS += RECURRENT


def build(row: R):
    """The one-node model of a row at its opset, its run-time feeds, and onnxruntime's outputs."""
    names, inputs, inits, feeds = [], [], [], {}
    for i, value in enumerate(row.inputs):
        if isinstance(value, str):
            names.append(value)
            continue
        name = f"in{i}"
        names.append(name)
        if isinstance(value, K):
            inits.append(numpy_helper.from_array(np.asarray(value.value), name))
        else:
            array = np.asarray(value)
            feeds[name] = array
            inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
    for name, array in row.outer.items():
        feeds[name] = array
        inputs.append(helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(array.dtype), array.shape))
    outputs = [f"out{i}" for i in range(row.outputs)]
    node = helper.make_node(row.op, names, outputs, name=f"{row.op.lower()}_node", **row.attrs)
    graph = helper.make_graph([node], "old_opset", inputs,
                              [helper.make_tensor_value_info(o, onnx.TensorProto.UNDEFINED, None) for o in outputs],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", row.opset)],
                              ir_version=7 if row.opset <= 12 else 8 if row.opset <= 14 else 10)
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True).graph
    known = {v.name: v for v in (*inferred.value_info, *inferred.output)}
    for output in model.graph.output:
        output.type.CopyFrom(known[output.name].type)
        if not output.type.tensor_type.elem_type:  # no inference function at this opset: the type of X
            first = row.inputs[0]
            output.type.tensor_type.elem_type = helper.np_dtype_to_tensor_dtype(
                np.asarray(first.value if isinstance(first, K) else first).dtype)
    if any(not o.type.tensor_type.HasField("shape") for o in model.graph.output):
        # data-dependent shapes (Compress) or ones onnx leaves open: onnxruntime says what they are
        for output, value in zip(model.graph.output, ort_outputs(model, feeds).values()):
            if not output.type.tensor_type.HasField("shape"):
                output.type.tensor_type.shape.SetInParent()
                for size in value.shape:
                    output.type.tensor_type.shape.dim.add().dim_value = size
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as e:  # GroupNormalization-18: deprecated, still exported and run
        if "deprecated" not in str(e):
            raise
    return model, feeds


def ort_outputs(model, feeds):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))


def check_row(tmp_path, row: R):
    model, feeds = build(row)
    assert onnx.defs.get_schema(row.op, max_inclusive_version=row.opset).since_version <= row.opset
    want = ort_outputs(model, feeds)
    path = tmp_path / "m.onnx"
    path.write_bytes(model.SerializeToString())
    edgewasm.compile(path, tmp_path / "bundle")
    got = edgewasm.load(tmp_path / "bundle").run(feeds)
    assert set(got) == set(want)
    for name, expected in want.items():
        actual = got[name]
        assert actual.dtype == expected.dtype, (name, actual.dtype, expected.dtype)
        assert actual.shape == expected.shape, (name, actual.shape, expected.shape)
        if expected.dtype.kind == "f":
            assert within_contract(actual, expected), (name, np.nanmax(np.abs(actual - expected)))
        else:
            np.testing.assert_array_equal(actual, expected)


def test_table_covers_every_schema_change():
    """Every op of the table appears at each schema version it has from opset 7 on (up to the newest
    version the table goes to for it), so an op whose form changed cannot be left out."""
    by_op = {}
    for row in ROWS:
        by_op.setdefault(row.op, set()).add(onnx.defs.get_schema(row.op, max_inclusive_version=row.opset).since_version)
    missing = {}
    for op, seen in by_op.items():
        top = max(seen)
        versions = {onnx.defs.get_schema(op, max_inclusive_version=v).since_version
                    for v in range(7, top + 1) if _has(op, v)}
        if versions - seen:
            missing[op] = sorted(versions - seen)
    assert not missing, missing


def _has(op, version):
    try:
        onnx.defs.get_schema(op, max_inclusive_version=version)
        return True
    except onnx.defs.SchemaError:
        return False


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_old_opset(tmp_path, row):
    check_row(tmp_path, row)


def _folded(row: R) -> R:
    """The same node with every input a constant: the importer folds it at the model's opset."""
    folded = R(row.op, row.opset, row.attrs, *(v if isinstance(v, (str, K)) else K(v) for v in row.inputs),
               outputs=row.outputs, note=row.note)
    folded.outer = row.outer
    return folded


FOLDABLE = [r for r in ROWS if any(not isinstance(v, (str, K)) for v in r.inputs) and not r.outer]


@pytest.mark.parametrize("row", FOLDABLE, ids=[r.id for r in FOLDABLE])
def test_old_opset_folded(tmp_path, row):
    check_row(tmp_path, _folded(row))
