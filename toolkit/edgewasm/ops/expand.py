"""Expand: y = x broadcast to a constant shape (numpy rules, both ways), any dtype; one x_copy_nd call
with step 0 along the broadcast axes."""

from __future__ import annotations

import numpy as np

from ..backend.gather import Dim, emit_gather, row_major_steps
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant

IR_OP = "Expand"


def import_expand(im, node, at) -> None:
    x = node.input[0]
    target = tuple(int(d) for d in int_constant(im, node, node.input[1], "the shape").reshape(-1))
    try:
        out = tuple(int(d) for d in np.broadcast_shapes(im.shape(x), target))
    except ValueError:
        raise ModelFormatError(f"Expand node {node.name!r}: {im.shape(x)} does not broadcast to {target}") from None
    im.emit("Expand", [x], node.output[0], out, node.name, dtype=im.dtype(x))


IMPORTS = {"Expand": (import_expand, 2, 2)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, out = graph.info(x).shape, graph.info(y).shape
    esize = itemsize(graph.info(x).dtype)
    padded = (1,) * (len(out) - len(shape)) + shape
    x_steps = row_major_steps(padded, esize)
    dims = [Dim(d, xs if p != 1 else 0, ys) for d, p, xs, ys in zip(out, padded, x_steps, row_major_steps(out, esize))]
    emit_gather(program, node.name, Ptr(x), Ptr(y), dims, esize=esize)


def export(ex, node) -> None:
    y = node.outputs[0]
    ex.add("Expand", [node.inputs[0], ex.const(f"{y}__shape", np.array(ex.graph.info(y).shape, np.int64))], y)


def flops(graph, node) -> int:
    return 0
