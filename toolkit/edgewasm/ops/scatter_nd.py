"""ScatterND (opsets 11, 13, 16, 18: reduction none, add, mul, max, min) in any dtype: y = data,
then y[indices[j]] (op)= updates[j] for every tuple j of k coordinates (a slice of data's
trailing dims per tuple); negative coordinates count from the end of their axis.

The data is copied into y (x_copy_nd, one memory.copy), then x_scatter_nd
(wasm-kernels/x_gather.wat) checks every tuple and applies the updates in order, so duplicate
tuples combine as the spec defines for a reduction (and the last one wins without one, as
onnxruntime applies them). Reductions compute in the elements' own dtype, as ScatterElements'.
The spec's indices are int64; int32 ones are read too. An index out of range at run time makes
run() stop with a status naming the node.
"""

from __future__ import annotations

import math

from ..backend.indexing import (REDUCTION_OPSET, check_constant_indices, check_index_dtype, check_value_dtype,
                                copy_into, nd_descriptor, reduction_of)
from ..backend.program import Ptr
from ..errors import ModelFormatError
from .gather import out_of_range
from .gather_nd import int64_indices, tuple_bounds

IR_OP = "ScatterND"


def import_scatter_nd(im, node, at) -> None:
    data, indices, updates = node.input
    shape, index_shape = im.shape(data), im.shape(indices)
    bounds = tuple_bounds(node, shape, index_shape, 0)
    want = index_shape[:-1] + shape[len(bounds):]
    if im.shape(updates) != want:
        raise ModelFormatError(f"ScatterND node {node.name!r}: updates of shape {im.shape(updates)}; indices of "
                               f"shape {index_shape} into data of shape {shape} take {want}")
    dtype = check_value_dtype(im, node, data)
    if im.dtype(updates) != dtype:
        raise ModelFormatError(f"ScatterND node {node.name!r}: updates have dtype {im.dtype(updates)}, the data {dtype}")
    check_index_dtype(im, node, indices)
    check_constant_indices(im, node, indices, bounds)
    im.emit("ScatterND", [data, indices, updates], node.output[0], shape, node.name, dtype=dtype,
            reduction=reduction_of(node, at, im.opset))


IMPORTS = {"ScatterND": (import_scatter_nd, 3, 3)}


def lower(graph, node, program) -> None:
    data, indices, updates = node.inputs
    y = graph.info(node.outputs[0])
    if y.size == 0:
        return
    copy_into(program, node.name, program.operand(graph, data), Ptr(y.name), y.size, y.dtype)
    if math.prod(graph.shape_of(indices)) == 0:
        return
    desc = nd_descriptor(y.shape, graph.shape_of(indices), 0, y.dtype, graph.dtype_of(indices), node.attrs["reduction"])
    program.call("x_scatter_nd", [program.table(f"{y.name}__scatter_nd", desc), Ptr(y.name),
                                  program.operand(graph, indices), program.operand(graph, updates)],
                 node.name, failure=out_of_range("ScatterND", node.name))


def export(ex, node) -> None:
    data, indices, updates = node.inputs
    data = ex.graph_const(data) if ex.graph.is_constant(data) else data
    updates = ex.graph_const(updates) if ex.graph.is_constant(updates) else updates
    reduction = node.attrs["reduction"]
    attrs = {}
    if reduction != "none":
        ex.opset = max(ex.opset, REDUCTION_OPSET[reduction])
        attrs["reduction"] = reduction
    ex.add("ScatterND", [data, int64_indices(ex, node, indices), updates], node.outputs[0], **attrs)


def flops(graph, node) -> int:
    return 0 if node.attrs["reduction"] == "none" else math.prod(graph.shape_of(node.inputs[2]))
