"""Gather: y = np.take(x, indices, axis) in any dtype (negative indices count from the end).

Constant indices are a compile-time address map (one x_copy_nd call whose index table becomes a
plain step when the indices are a progression). Indices computed at run time (token ids into an
embedding table) go to x_gather (wasm-kernels/x_gather.wat), which checks every index first: one
out of range makes run() stop with a status naming the node.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.gather import emit_gather, take_dims
from ..backend.program import Ptr
from ..dtypes import itemsize, kernel_code
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis

IR_OP = "Gather"
INDEX_DTYPES = ("int32", "int64")


def out_of_range(op: str, node_name: str) -> str:
    """The failure a run-time index kernel reports, as the host raises it."""
    return f"{op} node {node_name!r}: an index is out of range"


def import_gather(im, node, at) -> None:
    x, indices_name = node.input
    shape = im.shape(x)
    if not shape:
        raise ModelFormatError(f"Gather node {node.name!r}: the data must have rank >= 1")
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    dim = shape[axis]
    out_shape = shape[:axis] + im.shape(indices_name) + shape[axis + 1:]
    if indices_name not in im.constants:
        if im.dtype(indices_name) not in INDEX_DTYPES:
            raise ModelFormatError(f"Gather node {node.name!r}: indices have dtype {im.dtype(indices_name)}, "
                                   "not int32 or int64")
        im.emit("Gather", [x, indices_name], node.output[0], out_shape, node.name, dtype=im.dtype(x), axis=axis)
        return
    indices = int_constant(im, node, indices_name, "indices")
    if ((indices < -dim) | (indices >= dim)).any():
        raise ModelFormatError(f"Gather node {node.name!r}: an index is out of range for axis {axis} of size {dim}")
    indices = np.where(indices < 0, indices + dim, indices)
    im.emit("Gather", [x], node.output[0], out_shape, node.name, dtype=im.dtype(x), axis=axis, indices=indices)


IMPORTS = {"Gather": (import_gather, 2, 2)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, axis = graph.shape_of(x), node.attrs["axis"]
    esize = itemsize(graph.info(y).dtype)
    if len(node.inputs) == 1:
        emit_gather(program, node.name, program.operand(graph, x), Ptr(y),
                    take_dims(shape, axis, node.attrs["indices"], esize), esize=esize)
        return
    indices = node.inputs[1]
    desc = [math.prod(shape[:axis]), shape[axis], esize * math.prod(shape[axis + 1:]),
            graph.info(indices).size, kernel_code(graph.info(indices).dtype)]
    program.call("x_gather", [program.table(f"{y}__gather", desc), program.operand(graph, x), Ptr(indices), Ptr(y)],
                 node.name, failure=out_of_range("Gather", node.name))


def export(ex, node) -> None:
    y = node.outputs[0]
    x = ex.graph_const(node.inputs[0]) if ex.graph.is_constant(node.inputs[0]) else node.inputs[0]
    if len(node.inputs) == 2:
        ex.add("Gather", [x, node.inputs[1]], y, axis=node.attrs["axis"])
        return
    indices = ex.const(f"{y}__indices", np.asarray(node.attrs["indices"], np.int64))
    ex.add("Gather", [x, indices], y, axis=node.attrs["axis"])


def flops(graph, node) -> int:
    return 0
