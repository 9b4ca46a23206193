"""Gather: y = np.take(x, indices, axis) with constant indices (negative ones count from the end);
one f32_gather_nd call whose index table becomes a plain step when the indices are a progression."""

from __future__ import annotations

import numpy as np

from ..backend.gather import emit_gather, take_dims
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis

IR_OP = "Gather"


def import_gather(im, node, at) -> None:
    x, indices_name = node.input
    im.require_float(node, x)
    shape = im.shape(x)
    if not shape:
        raise ModelFormatError(f"Gather node {node.name!r}: the data must have rank >= 1")
    axis = normalize_axis(node, int(at.get("axis", 0)), len(shape))
    indices = int_constant(im, node, indices_name, "indices")
    dim = shape[axis]
    if ((indices < -dim) | (indices >= dim)).any():
        raise ModelFormatError(f"Gather node {node.name!r}: an index is out of range for axis {axis} of size {dim}")
    indices = np.where(indices < 0, indices + dim, indices)
    out_shape = shape[:axis] + tuple(indices.shape) + shape[axis + 1:]
    im.emit("Gather", [x], node.output[0], out_shape, node.name, axis=axis, indices=indices)


IMPORTS = {"Gather": (import_gather, 2, 2)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    emit_gather(program, node.name, Ptr(x), Ptr(y),
                take_dims(graph.info(x).shape, node.attrs["axis"], node.attrs["indices"]))


def export(ex, node) -> None:
    y = node.outputs[0]
    indices = ex.const(f"{y}__indices", np.asarray(node.attrs["indices"], np.int64))
    ex.add("Gather", [node.inputs[0], indices], y, axis=node.attrs["axis"])


def flops(graph, node) -> int:
    return 0
