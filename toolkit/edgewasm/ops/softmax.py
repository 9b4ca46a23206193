"""Softmax over a trailing block of n elements (the last axis; before opset 13, every axis
from `axis` on, flattened), with exp as a polynomial in wat."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Softmax"


def import_softmax(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    rank = len(shape)
    axis = int(at.get("axis", -1 if im.opset >= 13 else 1))
    if not -rank <= axis < rank:
        raise ModelFormatError(f"Softmax node {node.name!r}: axis {axis} out of range for rank {rank}")
    axis %= rank
    if im.opset >= 13 and axis != rank - 1:
        raise UnsupportedModelError(f"Softmax node {node.name!r}: only the last axis is supported (axis={axis})")
    im.emit("Softmax", [x], node.output[0], shape, node.name, n=math.prod(shape[axis:]))


IMPORTS = {"Softmax": (import_softmax, 1, 1)}


def lower(graph, node, program) -> None:
    size, n = graph.info(node.outputs[0]).size, node.attrs["n"]
    program.call("f32_softmax", [size // n, n, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ex.graph.info(x).shape
    n = node.attrs["n"]
    if shape[-1] == n:
        ex.add("Softmax", [x], y, axis=-1)
        return
    flat, soft = ex.temp(y), ex.temp(y)
    ex.add("Reshape", [x, ex.const(f"{y}__2d", np.array([-1, n], np.int64))], flat)
    ex.add("Softmax", [flat], soft, axis=-1)
    ex.add("Reshape", [soft, ex.const(f"{y}__shape", np.array(shape, np.int64))], y)


def flops(graph, node) -> int:
    return 5 * graph.info(node.outputs[0]).size
