"""Transpose2D: y[c, r] = x[r, c] (Gemm's transA)."""

from __future__ import annotations

from ..backend.program import Ptr

IR_OP = "Transpose2D"
IMPORTS: dict = {}


def lower(graph, node, program) -> None:
    rows, cols = graph.info(node.inputs[0]).shape
    program.call("f32_transpose", [rows, cols, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name)


def export(ex, node) -> None:
    ex.add("Transpose", node.inputs, node.outputs[0], perm=[1, 0])


def flops(graph, node) -> int:
    return 0
