"""CumProd (opset 26): the running product along one axis (a constant input, int32 or int64),
exclusive and reverse, in float32, float64, float16, bfloat16 and the integer dtypes: one
x_cumprod call over x viewed as [outer, r, inner] (wasm-kernels/x_scan.wat). Products multiply in
order along the scan, float32 (and float16/bfloat16, through float32) in f32 precision, float64 in
f64, integers wrapping like their dtype."""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis
from .reduce import check_dtype

IR_OP = "CumProd"


def import_cumprod(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype = im.dtype(x)
    check_dtype(node, dtype)
    shape = im.shape(x)
    axis_value = int_constant(im, node, node.input[1], "axis")
    if axis_value.size != 1 or axis_value.ndim > 1:
        raise ModelFormatError(f"CumProd node {node.name!r}: axis must be a scalar, got shape {axis_value.shape}")
    if not shape:
        raise ModelFormatError(f"CumProd node {node.name!r}: input {x!r} is a scalar; CumProd needs rank >= 1")
    axis = normalize_axis(node, int(axis_value.reshape(-1)[0]), len(shape))
    im.emit("CumProd", [x], y, shape, node.name, dtype=dtype, axis=axis, exclusive=int(at.get("exclusive", 0)),
            reverse=int(at.get("reverse", 0)))


IMPORTS = {"CumProd": (import_cumprod, 2, 2)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, axis = graph.shape_of(x), node.attrs["axis"]
    outer, r, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    if outer * r * inner == 0:
        return
    program.call("x_cumprod", [dtypes.kernel_code(graph.dtype_of(x)), outer, r, inner, program.operand(graph, x),
                               Ptr(y), node.attrs["exclusive"], node.attrs["reverse"]], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    ex.opset = max(ex.opset, 26)
    ex.add("CumProd", [x, ex.const(f"{y}__axis", np.array(node.attrs["axis"], np.int64))], y,
           exclusive=node.attrs["exclusive"], reverse=node.attrs["reverse"])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size if dtypes.is_float(graph.dtype_of(node.outputs[0])) else 0
