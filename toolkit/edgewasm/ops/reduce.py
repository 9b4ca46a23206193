"""ReduceMean and ReduceSum over any axes (attribute before opset 18 for ReduceMean and 13 for
ReduceSum, constant input after), keepdims, noop_with_empty_axes.

Each run of adjacent reduced axes is one f32_rsum call over x viewed as [outer, r, inner] (no
transposes); non-adjacent runs chain (a mean of means is the mean). keepdims only changes the
output shape. Summation order is documented in wasm-kernels/f32_reduce.wat."""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..frontend.arguments import axes_argument

IR_OP = ("ReduceMean", "ReduceSum")
AXES_BECOME_INPUT = {"ReduceMean": 18, "ReduceSum": 13}


def import_reduce(im, node, at) -> None:
    x, y = node.input[0], node.output[0]
    im.require_float(node, x)
    shape = im.shape(x)
    axes = axes_argument(im, node, at, 1, len(shape), attribute_until_opset=AXES_BECOME_INPUT[node.op_type])
    keepdims = bool(at.get("keepdims", 1))
    if not axes:  # absent or empty: every axis, or none with noop_with_empty_axes (axes-as-input opsets)
        if at.get("noop_with_empty_axes", 0) and im.opset >= AXES_BECOME_INPUT[node.op_type]:
            im.emit("Reshape", [x], y, shape, node.name)
            return
        axes = list(range(len(shape)))
    runs = _adjacent_runs(sorted(axes))
    current, current_shape = x, list(shape)
    for i, (first, last) in enumerate(reversed(runs)):  # innermost run first: outer axes keep their index
        out_shape = current_shape[:first] + [1] * (last - first + 1) + current_shape[last + 1:]
        final = i == len(runs) - 1
        out = y if final and keepdims else im.fresh(f"{y}_reduced")
        im.emit(node.op_type, [current], out, tuple(out_shape), node.name, first=first, last=last)
        current, current_shape = out, out_shape
    if not keepdims:
        im.emit("Reshape", [current], y, tuple(d for i, d in enumerate(shape) if i not in axes), node.name)


def _adjacent_runs(axes: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for a in axes:
        if runs and runs[-1][1] == a - 1:
            runs[-1] = (runs[-1][0], a)
        else:
            runs.append((a, a))
    return runs


IMPORTS = {op: (import_reduce, 1, 2) for op in IR_OP}


def lower(graph, node, program) -> None:
    shape = graph.info(node.inputs[0]).shape
    first, last = node.attrs["first"], node.attrs["last"]
    outer, r, inner = math.prod(shape[:first]), math.prod(shape[first:last + 1]), math.prod(shape[last + 1:])
    divisor = float(r) if node.op == "ReduceMean" else 1.0
    program.call("f32_rsum", [outer, r, inner, Ptr(node.inputs[0]), Ptr(node.outputs[0]), divisor], node.name)


def export(ex, node) -> None:
    axes = list(range(node.attrs["first"], node.attrs["last"] + 1))
    if node.op == "ReduceSum":  # opset 13+: axes are an input
        ex.add(node.op, [node.inputs[0], ex.const(f"{node.outputs[0]}__axes", np.array(axes, np.int64))],
               node.outputs[0], keepdims=1)
    else:
        ex.add(node.op, node.inputs, node.outputs[0], axes=axes, keepdims=1)


def flops(graph, node) -> int:
    return graph.info(node.inputs[0]).size
