"""Softmax and LogSoftmax over a trailing block of n elements, with exp (and log) as polynomials
in wat.

From opset 13 the op normalizes one axis: a middle axis is moved last by compile-time
Transposes around the kernel (none when only size-1 axes follow it). Before opset 13 it
normalizes every axis from `axis` on, flattened: that block is already trailing and contiguous.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..frontend.arguments import normalize_axis
from . import float64_ops
from .permute import emit_transpose

IR_OP = ("Softmax", "LogSoftmax")
KERNELS = {"Softmax": "f32_softmax", "LogSoftmax": "f32_logsoftmax"}


def import_softmax(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    shape = im.shape(x)
    axis = normalize_axis(node, int(at.get("axis", -1 if im.opset >= 13 else 1)), len(shape))
    if im.dtype(x) == "float64":  # computed in float64 (float64_ops.py)
        axes = [axis] if im.opset >= 13 else list(range(axis, len(shape)))
        float64_ops.softmax(im, node, x, axes, log=node.op_type == "LogSoftmax")
        return
    im.require_float(node, x)
    if im.opset < 13 or math.prod(shape[axis + 1:]) == 1:
        im.emit(node.op_type, [x], y, shape, node.name, n=math.prod(shape[axis:]))
        return
    perm = [i for i in range(len(shape)) if i != axis] + [axis]
    moved, normalized = im.fresh(f"{y}_axis_last"), im.fresh(f"{y}_{node.op_type.lower()}")
    emit_transpose(im, x, moved, perm, node.name)
    im.emit(node.op_type, [moved], normalized, im.shape(moved), node.name, n=shape[axis])
    emit_transpose(im, normalized, y, [int(p) for p in np.argsort(perm)], node.name)


IMPORTS = {"Softmax": (import_softmax, 1, 1), "LogSoftmax": (import_softmax, 1, 1)}
COMPUTED = ("Softmax", "LogSoftmax")  # never folded: onnx's evaluator folds opsets < 13 per axis


def lower(graph, node, program) -> None:
    size, n = graph.info(node.outputs[0]).size, node.attrs["n"]
    if size:
        program.call(KERNELS[node.op], [size // n, n, Ptr(node.inputs[0]), Ptr(node.outputs[0])], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = ex.graph.info(x).shape
    n = node.attrs["n"]
    if shape[-1] == n:
        ex.add(node.op, [x], y, axis=-1)
        return
    flat, soft = ex.temp(y), ex.temp(y)
    ex.add("Reshape", [x, ex.const(f"{y}__2d", np.array([-1, n], np.int64))], flat)
    ex.add(node.op, [flat], soft, axis=-1)
    ex.add("Reshape", [soft, ex.const(f"{y}__shape", np.array(shape, np.int64))], y)


def flops(graph, node) -> int:
    return 5 * graph.info(node.outputs[0]).size
