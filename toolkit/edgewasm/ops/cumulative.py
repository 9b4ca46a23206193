"""CumSum (opsets 11 and 14) and CumProd (opset 26): the running sum / product along one axis (a
constant input, int32 or int64), exclusive and reverse, in float32, float64, float16, bfloat16 and the
integer dtypes: one x_cumsum (wasm-kernels/x_reduce.wat) or x_cumprod (wasm-kernels/x_scan.wat) call
over x viewed as [outer, r, inner]. Values combine in order along the scan, float32 (and
float16/bfloat16, through float32 as onnxruntime does) in f32 precision, float64 in f64, integers
wrapping like their dtype."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis
from .reduce import check_dtype

IR_OP = ("CumSum", "CumProd")
KERNELS = {"CumSum": "x_cumsum", "CumProd": "x_cumprod"}
EXPORT_OPSET = {"CumSum": 11, "CumProd": 26}


def import_cumulative(im, node, at) -> None:
    op = node.op_type
    x, y = node.input[0], node.output[0]
    dtype = im.dtype(x)
    check_dtype(node, dtype)
    shape = im.shape(x)
    axis_value = int_constant(im, node, node.input[1], "axis")
    if axis_value.size != 1 or axis_value.ndim > 1:
        raise ModelFormatError(f"{op} node {node.name!r}: axis must be a scalar, got shape {axis_value.shape}")
    if op == "CumProd" and not shape:
        raise ModelFormatError(f"CumProd node {node.name!r}: input {x!r} is a scalar; CumProd needs rank >= 1")
    axis = normalize_axis(node, int(axis_value.reshape(-1)[0]), len(shape))
    im.emit(op, [x], y, shape, node.name, dtype=dtype, axis=axis, exclusive=int(at.get("exclusive", 0)),
            reverse=int(at.get("reverse", 0)))


IMPORTS = {op: (import_cumulative, 2, 2) for op in IR_OP}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, axis = graph.shape_of(x), node.attrs["axis"]
    outer, r, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    if outer * r * inner == 0:
        return
    program.call(KERNELS[node.op], [dtypes.kernel_code(graph.dtype_of(x)), outer, r, inner, program.operand(graph, x),
                                    Ptr(y), node.attrs["exclusive"], node.attrs["reverse"]], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    ex.opset = max(ex.opset, EXPORT_OPSET[node.op])
    ex.add(node.op, [x, ex.const(f"{y}__axis", np.array(node.attrs["axis"], np.int64))], y,
           exclusive=node.attrs["exclusive"], reverse=node.attrs["reverse"])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size if dtypes.is_float(graph.dtype_of(node.outputs[0])) else 0
