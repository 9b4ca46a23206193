"""TopK (opsets 1, 10, 11+): the k largest or smallest elements along one axis, values and int64
indices, k an attribute (opset 1) or a constant input; one x_topk call over x viewed as
[outer, r, inner] (wasm-kernels/x_reduce.wat), every numeric dtype.

The output is always sorted (sorted=0 leaves the order open, so sorted order is a valid answer).
Order as onnxruntime's: equal values by lower index first, -0 equal to +0, NaN above +inf."""

from __future__ import annotations

import math

import numpy as np
from onnx import helper

from .. import dtypes
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis
from ..frontend.quantized import emit_typed
from .reduce import check_dtype

IR_OP = "TopK"


def import_topk(im, node, at) -> None:
    x = node.input[0]
    dtype = im.dtype(x)
    check_dtype(node, dtype)
    shape = im.shape(x)
    if im.opset < 10:
        if "k" not in at:
            raise ModelFormatError(f"TopK node {node.name!r}: opset {im.opset} needs the attribute k")
        k = int(at["k"])
    else:
        if len(node.input) < 2 or not node.input[1]:
            raise ModelFormatError(f"TopK node {node.name!r}: opset {im.opset} needs the input K")
        value = int_constant(im, node, node.input[1], "K").reshape(-1)
        if value.size != 1:
            raise ModelFormatError(f"TopK node {node.name!r}: K must hold one value, got {value.size}")
        k = int(value[0])
    axis = normalize_axis(node, int(at.get("axis", -1)), len(shape))
    if not 0 <= k <= shape[axis]:
        raise ModelFormatError(f"TopK node {node.name!r}: k = {k} is not in [0, {shape[axis]}] (axis {axis} of {shape})")
    out_shape = shape[:axis] + (k,) + shape[axis + 1:]
    values = node.output[0] or im.fresh(f"{node.name}_values")
    indices = node.output[1] if len(node.output) > 1 and node.output[1] else im.fresh(f"{node.name}_indices")
    emit_typed(im, "TopK", [x], [(values, out_shape, dtype), (indices, out_shape, "int64")], node.name,
               k=k, axis=axis, largest=int(at.get("largest", 1)))


IMPORTS = {"TopK": (import_topk, 1, 2)}


def lower(graph, node, program) -> None:
    x, (values, indices) = node.inputs[0], node.outputs
    shape, axis, k = graph.shape_of(x), node.attrs["axis"], node.attrs["k"]
    outer, r, inner = math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])
    if outer * k * inner == 0:
        return
    scratch = program.temp(f"{values}__topk", 16 * r)
    program.call("x_topk", [dtypes.kernel_code(graph.dtype_of(x)), outer, r, inner, k, node.attrs["largest"],
                            program.operand(graph, x), Ptr(values), Ptr(indices), scratch], node.name)


def export(ex, node) -> None:
    x, (values, indices) = node.inputs[0], node.outputs
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    k = ex.const(f"{values}__k", np.array([node.attrs["k"]], np.int64))
    ex.nodes.append(helper.make_node("TopK", [x, k], [values, indices], axis=node.attrs["axis"],
                                     largest=node.attrs["largest"], sorted=1))


def flops(graph, node) -> int:
    return 0  # comparisons only
