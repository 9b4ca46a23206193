"""Concat: y = np.concatenate(inputs, axis); activations and constants alike, each input copied
into its block of y by one x_copy_nd call (a contiguous block is one memory.copy per row)."""

from __future__ import annotations

import math

from ..backend.gather import Dim, emit_gather
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import ModelFormatError
from ..frontend.arguments import normalize_axis

IR_OP = "Concat"


def import_concat(im, node, at) -> None:
    inputs = list(node.input)
    if any(not name for name in inputs):
        raise ModelFormatError(f"Concat node {node.name!r} has an empty input")
    kinds = {im.dtype(name) for name in inputs}
    if len(kinds) != 1:
        raise ModelFormatError(f"Concat node {node.name!r}: inputs have different dtypes ({', '.join(sorted(kinds))})")
    shapes = [im.shape(name) for name in inputs]
    if "axis" not in at:
        raise ModelFormatError(f"Concat node {node.name!r}: the axis attribute is required")
    rank = len(shapes[0])
    if rank == 0:
        raise ModelFormatError(f"Concat node {node.name!r}: inputs must have rank >= 1")
    axis = normalize_axis(node, int(at["axis"]), rank)
    for shape in shapes:
        if len(shape) != rank or any(a != b for i, (a, b) in enumerate(zip(shape, shapes[0])) if i != axis):
            raise ModelFormatError(f"Concat node {node.name!r}: shapes {shapes} differ outside axis {axis}")
    out = list(shapes[0])
    out[axis] = sum(shape[axis] for shape in shapes)
    im.emit("Concat", inputs, node.output[0], tuple(out), node.name, dtype=kinds.pop(), axis=axis)


IMPORTS = {"Concat": (import_concat, 1, 2**31)}


def _operand(graph, program, name: str) -> tuple[Ptr, tuple[int, ...]]:
    if graph.is_constant(name):
        return program.constant(name, graph.constants[name]), tuple(graph.constants[name].shape)
    return Ptr(name), graph.info(name).shape


def lower(graph, node, program) -> None:
    y = node.outputs[0]
    axis = node.attrs["axis"]
    out_shape = graph.info(y).shape
    esize = itemsize(graph.info(y).dtype)
    outer, inner = math.prod(out_shape[:axis]), math.prod(out_shape[axis + 1:])
    row = out_shape[axis] * inner * esize  # bytes of y per outer index
    offset = 0
    for i, name in enumerate(node.inputs):
        x, shape = _operand(graph, program, name)
        block = shape[axis] * inner * esize
        emit_gather(program, node.name, x, Ptr(y, offset), [Dim(outer, block, row), Dim(block // esize, esize, esize)],
                    tag=str(i), esize=esize)
        offset += block


def export(ex, node) -> None:
    inputs = [ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs]
    ex.add("Concat", inputs, node.outputs[0], axis=node.attrs["axis"])


def flops(graph, node) -> int:
    return 0
