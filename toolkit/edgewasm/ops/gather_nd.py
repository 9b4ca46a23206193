"""GatherND (opsets 11, 12, 13: batch_dims) in any dtype: indices [batch..., n..., k] pick slices
data[batch..., i_0, ..., i_{k-1}, :, ...]; negative coordinates count from the end of their axis.

One x_gather_nd call (wasm-kernels/x_gather.wat), with the indices computed at run time or
constant (constant ones are checked at compile time as well). The spec's indices are int64;
int32 ones are read too (the reference graph casts them). Every tuple is checked before anything
is written: one out of range at run time makes run() stop with a status naming the node.
"""

from __future__ import annotations

import numpy as np

from ..backend.indexing import check_constant_indices, check_index_dtype, check_value_dtype, nd_descriptor
from ..backend.program import Ptr
from ..errors import ModelFormatError
from .gather import out_of_range

IR_OP = "GatherND"


def tuple_bounds(node, shape: tuple[int, ...], index_shape: tuple[int, ...], batch_dims: int) -> np.ndarray:
    """The axis sizes the k coordinates of a tuple index (k = the indices' last dimension)."""
    if not index_shape:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: indices must have rank >= 1")
    k = index_shape[-1]
    if not 1 <= k <= len(shape) - batch_dims:
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: tuples of {k} coordinates index data of rank "
                               f"{len(shape)}{f' after {batch_dims} batch dims' if batch_dims else ''}; "
                               f"1 to {len(shape) - batch_dims} fit")
    return np.array(shape[batch_dims:batch_dims + k], np.int64)


def import_gather_nd(im, node, at) -> None:
    data, indices = node.input
    shape, index_shape = im.shape(data), im.shape(indices)
    b = int(at.get("batch_dims", 0))
    if not 0 <= b < min(len(shape), max(len(index_shape), 1)):
        raise ModelFormatError(f"GatherND node {node.name!r}: batch_dims {b} must lie in [0, min(data rank "
                               f"{len(shape)}, indices rank {len(index_shape)}))")
    if shape[:b] != index_shape[:b]:
        raise ModelFormatError(f"GatherND node {node.name!r}: the batch dims of the data {shape[:b]} and of the "
                               f"indices {index_shape[:b]} differ")
    bounds = tuple_bounds(node, shape, index_shape, b)
    dtype = check_value_dtype(im, node, data)
    check_index_dtype(im, node, indices)
    check_constant_indices(im, node, indices, bounds)
    out_shape = index_shape[:-1] + shape[b + len(bounds):]
    im.emit("GatherND", [data, indices], node.output[0], out_shape, node.name, dtype=dtype, batch_dims=b)


IMPORTS = {"GatherND": (import_gather_nd, 2, 2)}


def lower(graph, node, program) -> None:
    data, indices = node.inputs
    y = graph.info(node.outputs[0])
    if y.size == 0:
        return
    desc = nd_descriptor(graph.shape_of(data), graph.shape_of(indices), node.attrs["batch_dims"], y.dtype,
                         graph.dtype_of(indices))
    program.call("x_gather_nd", [program.table(f"{y.name}__gather_nd", desc), program.operand(graph, data),
                                 program.operand(graph, indices), Ptr(y.name)],
                 node.name, failure=out_of_range("GatherND", node.name))


def int64_indices(ex, node, name: str) -> str:
    """The indices as the spec's int64 (a Cast in the reference graph when they are int32)."""
    if ex.graph.is_constant(name):
        return ex.const(f"{node.outputs[0]}__indices", ex.graph.constants[name].astype(np.int64))
    if ex.graph.dtype_of(name) == "int64":
        return name
    cast = ex.temp(f"{node.outputs[0]}__indices")
    ex.add("Cast", [name], cast, to=7)  # INT64
    return cast


def export(ex, node) -> None:
    data, indices = node.inputs
    data = ex.graph_const(data) if ex.graph.is_constant(data) else data
    ex.add("GatherND", [data, int64_indices(ex, node, indices)], node.outputs[0], batch_dims=node.attrs["batch_dims"])


def flops(graph, node) -> int:
    return 0
