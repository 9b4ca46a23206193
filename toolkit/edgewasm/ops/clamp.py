"""Clamp: y = min(max(x, lo), hi); ONNX Relu is Clamp(0, inf)."""

from __future__ import annotations

import math

from ..backend.program import Ptr

IR_OP = "Clamp"


def import_relu(im, node, at) -> None:
    x = node.input[0]
    im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=0.0, max=math.inf)


IMPORTS = {"Relu": (import_relu, 1, 1)}


def lower(graph, node, program) -> None:
    n = graph.info(node.outputs[0]).size
    program.call("f32_vclamp", [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def export(ex, node) -> None:
    ex.clamp(node.inputs[0], node.outputs[0], node.attrs["min"], node.attrs["max"])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
