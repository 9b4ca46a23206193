"""Clamp: y = min(max(x, lo), hi); ONNX Relu is Clamp(0, inf), Clip is Clamp(min, max) (ReLU6 is
Clip(0, 6)). Conv and Gemm absorb a following Clamp into their epilogue (passes)."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..errors import UnsupportedModelError

IR_OP = "Clamp"


def import_relu(im, node, at) -> None:
    x = node.input[0]
    im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=0.0, max=math.inf)


def import_clip(im, node, at) -> None:
    """Bounds are attributes before opset 11 and optional constant inputs from opset 11 on."""
    x = node.input[0]
    im.require_float(node, x)
    if im.opset < 11:
        lo, hi = float(at.get("min", -math.inf)), float(at.get("max", math.inf))
    else:
        lo, hi = (_bound(im, node, i, default) for i, default in ((1, -math.inf), (2, math.inf)))
    im.emit("Clamp", [x], node.output[0], im.shape(x), node.name, min=lo, max=hi)


def _bound(im, node, index: int, default: float) -> float:
    if len(node.input) <= index or not node.input[index]:
        return default
    value = im.const(node.input[index], node, "min" if index == 1 else "max")
    if value.size != 1 or value.dtype != np.float32:
        raise UnsupportedModelError(f"Clip node {node.name!r}: {'min' if index == 1 else 'max'} must be "
                                    f"a float32 scalar, got {value.dtype} of shape {value.shape}")
    return float(value.reshape(()))


IMPORTS = {"Relu": (import_relu, 1, 1), "Clip": (import_clip, 1, 3)}


def lower(graph, node, program) -> None:
    n = graph.info(node.outputs[0]).size
    program.call("f32_vclamp", [n, Ptr(node.inputs[0]), Ptr(node.outputs[0]),
                                float(node.attrs["min"]), float(node.attrs["max"])], node.name)


def export(ex, node) -> None:
    ex.clamp(node.inputs[0], node.outputs[0], node.attrs["min"], node.attrs["max"])


def flops(graph, node) -> int:
    return graph.info(node.outputs[0]).size
