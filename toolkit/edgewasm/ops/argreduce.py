"""ArgMax and ArgMin over one axis (keepdims, select_last_index), int64 indices, in every numeric
dtype: one x_argreduce call over x viewed as [outer, r, inner] (wasm-kernels/x_reduce.wat).

Ties give the first index, or the last with select_last_index=1. NaN follows onnxruntime: the
running best starts at the first element and moves only on a comparison that holds, so a NaN in
first place is the answer and any later NaN is passed over."""

from __future__ import annotations

import math

from .. import dtypes
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import normalize_axis
from .reduce import check_dtype

IR_OP = "ArgReduce"
OP_CODES = {("max", 0): 0, ("min", 0): 1, ("max", 1): 2, ("min", 1): 3}  # x_argreduce


def import_argreduce(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    dtype = im.dtype(x)
    check_dtype(node, dtype)
    shape = im.shape(x)
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    keepdims = bool(at.get("keepdims", 1))
    last = int(at.get("select_last_index", 0))
    out_shape = tuple(1 if i == axis else d for i, d in enumerate(shape) if keepdims or i != axis)
    if shape[axis] == 0 and math.prod(out_shape):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: axis {axis} of {shape} is empty; there is no "
                               "index to return")
    im.emit("ArgReduce", [x], y, out_shape, node.name, dtype="int64", kind="max" if node.op_type == "ArgMax" else "min",
            axis=axis, last=last, keepdims=keepdims)


IMPORTS = {"ArgMax": (import_argreduce, 1, 1), "ArgMin": (import_argreduce, 1, 1)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if graph.info(y).size == 0:
        return
    shape, axis = graph.shape_of(x), node.attrs["axis"]
    outer, r, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    program.call("x_argreduce", [OP_CODES[node.attrs["kind"], node.attrs["last"]], dtypes.kernel_code(graph.dtype_of(x)),
                                 outer, r, inner, program.operand(graph, x), Ptr(y)], node.name)


def export(ex, node) -> None:
    x = ex.graph_const(node.inputs[0]) if ex.graph.is_constant(node.inputs[0]) else node.inputs[0]
    ex.add("ArgMax" if node.attrs["kind"] == "max" else "ArgMin", [x], node.outputs[0], axis=node.attrs["axis"],
           keepdims=int(node.attrs["keepdims"]), select_last_index=node.attrs["last"])


def flops(graph, node) -> int:
    return 0  # comparisons only
