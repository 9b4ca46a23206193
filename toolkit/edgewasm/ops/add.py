"""Add: y = a + b, where b is a (same shape) or broadcasts as a trailing row over a."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Add"


def import_add(im, node, at) -> None:
    a, b = node.input
    im.require_float(node, a)
    im.require_float(node, b)
    sa, sb = im.shape(a), im.shape(b)
    try:
        out_shape = np.broadcast_shapes(sa, sb)
    except ValueError:
        raise ModelFormatError(f"Add node {node.name!r}: shapes {sa} and {sb} do not broadcast") from None
    # Put the full-shaped operand first; the other must broadcast as a trailing row.
    if sa != out_shape:
        a, b, sa, sb = b, a, sb, sa
    trailing = tuple(sb[next((i for i, d in enumerate(sb) if d != 1), len(sb)):])
    if sa != out_shape or trailing != tuple(out_shape[len(out_shape) - len(trailing):]):
        raise UnsupportedModelError(
            f"Add node {node.name!r}: broadcast of {sa} with {sb} is not supported (only a trailing row)"
        )
    if b in im.constants:
        b = im.add_constant(b, im.constants[b].reshape(-1))
    im.emit("Add", [a, b], node.output[0], out_shape, node.name)


IMPORTS = {"Add": (import_add, 2, 2)}


def _operand(graph, program, name: str) -> Ptr:
    return program.weight(name, graph.constants[name]) if graph.is_constant(name) else Ptr(name)


def _size(graph, name: str) -> int:
    return math.prod(graph.constants[name].shape) if graph.is_constant(name) else graph.info(name).size


def lower(graph, node, program) -> None:
    a, b = (_operand(graph, program, name) for name in node.inputs)
    y = Ptr(node.outputs[0])
    size_a, size_b = (_size(graph, name) for name in node.inputs)
    if size_a == size_b:
        program.call("f32_vadd", [size_a, a, b, y], node.name)
    else:
        program.call("f32_vadd_rows", [size_a // size_b, size_b, a, b, y], node.name)


def export(ex, node) -> None:
    a, b = (ex.graph_const(i) if ex.graph.is_constant(i) else i for i in node.inputs)
    ex.add("Add", [a, b], node.outputs[0])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
