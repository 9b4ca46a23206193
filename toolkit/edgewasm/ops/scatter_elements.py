"""ScatterElements (opsets 11, 13, 16, 18: reduction none, add, mul, max, min) and Scatter (its
deprecated opset 9-10 spelling, no reduction): y = data, then y[i with its axis coordinate
replaced by indices[i]] (op)= updates[i], in any dtype, int32 or int64 indices (negative ones
count from the end).

The data is copied into y (x_copy_nd, one memory.copy), then x_scatter_elements
(wasm-kernels/x_gather.wat) checks every index and applies the updates in the indices' row-major
order, so duplicates combine as the spec defines for a reduction (and the last one wins without
one, as onnxruntime applies them). Reductions compute in the elements' own dtype (x_elementwise's
arithmetic: integers wrap, floats round once, bools add as `or` and multiply as `and`, as numpy).
An index out of range at run time makes run() stop with a status naming the node; y is then
the untouched copy.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.indexing import (REDUCTION_OPSET, check_constant_indices, check_index_dtype, check_value_dtype,
                                copy_into, elements_descriptor, reduction_of)
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import normalize_axis
from .gather import out_of_range
from .gather_elements import check_element_shapes

IR_OP = "ScatterElements"


def import_scatter_elements(im, node, at) -> None:
    data, indices, updates = node.input
    shape, index_shape = im.shape(data), im.shape(indices)
    if not shape:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: the data must have rank >= 1")
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    check_element_shapes(node, shape, index_shape, axis)
    if im.shape(updates) != index_shape:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: updates of shape {im.shape(updates)} for indices "
                               f"of shape {index_shape}; they must be equal")
    dtype = check_value_dtype(im, node, data)
    if im.dtype(updates) != dtype:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: updates have dtype {im.dtype(updates)}, the data "
                               f"{dtype}")
    check_index_dtype(im, node, indices)
    check_constant_indices(im, node, indices, shape[axis])
    reduction = reduction_of(node, at, im.opset) if node.op_type == "ScatterElements" else "none"
    im.emit("ScatterElements", [data, indices, updates], node.output[0], shape, node.name, dtype=dtype, axis=axis,
            reduction=reduction)


def fold_scatter(im, node, at) -> list:
    """onnx's evaluator has no Scatter (opsets 9-10): ScatterElements without a reduction, in numpy."""
    data, indices, updates = (im.constants[name] for name in node.input)
    axis = normalize_axis(node, int(at.get("axis", 0)), data.ndim)
    check_constant_indices(im, node, node.input[1], data.shape[axis])
    where = list(np.indices(indices.shape, sparse=True))  # each element's own position off the axis
    where[axis] = np.where(indices < 0, indices + data.shape[axis], indices).astype(np.int64)
    y = data.copy()
    y[tuple(where)] = updates  # a repeated index: the last one wins, as onnxruntime applies them
    return [y]


IMPORTS = {"ScatterElements": (import_scatter_elements, 3, 3), "Scatter": (import_scatter_elements, 3, 3)}
FOLDS = {"Scatter": fold_scatter}


def lower(graph, node, program) -> None:
    data, indices, updates = node.inputs
    y = graph.info(node.outputs[0])
    if y.size == 0:
        return
    copy_into(program, node.name, program.operand(graph, data), Ptr(y.name), y.size, y.dtype)
    if math.prod(graph.shape_of(indices)) == 0:
        return
    desc = elements_descriptor(y.shape, graph.shape_of(indices), node.attrs["axis"], y.dtype, graph.dtype_of(indices),
                               node.attrs["reduction"])
    program.call("x_scatter_elements", [program.table(f"{y.name}__scatter_elements", desc), Ptr(y.name),
                                        program.operand(graph, indices), program.operand(graph, updates)],
                 node.name, failure=out_of_range("ScatterElements", node.name))


def export(ex, node) -> None:
    inputs = [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs]
    reduction = node.attrs["reduction"]
    attrs = {"axis": node.attrs["axis"]}
    if reduction != "none":
        ex.opset = max(ex.opset, REDUCTION_OPSET[reduction])
        attrs["reduction"] = reduction
    ex.add("ScatterElements", inputs, node.outputs[0], **attrs)


def flops(graph, node) -> int:
    return 0 if node.attrs["reduction"] == "none" else math.prod(graph.shape_of(node.inputs[1]))
