"""Slice: y = x[start:end:step] per axis (numpy/ONNX clamping, negative steps), with the bounds
constant (attributes before opset 10, constant inputs after), in any dtype; one x_copy_nd call."""

from __future__ import annotations

import numpy as np

from ..backend.gather import emit_gather, slice_dims
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, normalize_axis, optional_input

IR_OP = "Slice"
INT64_MIN = np.iinfo(np.int64).min


def import_slice(im, node, at) -> None:
    x = node.input[0]
    shape = im.shape(x)
    if im.opset < 10:
        starts, ends, axes, steps = at.get("starts"), at.get("ends"), at.get("axes"), None
        if starts is None or ends is None:
            raise ModelFormatError(f"Slice node {node.name!r}: the starts and ends attributes are required")
    else:
        starts = int_constant(im, node, node.input[1], "starts").reshape(-1).tolist()
        ends = int_constant(im, node, node.input[2], "ends").reshape(-1).tolist()
        axes_name, steps_name = optional_input(node, 3), optional_input(node, 4)
        axes = None if axes_name is None else int_constant(im, node, axes_name, "axes").reshape(-1).tolist()
        steps = None if steps_name is None else int_constant(im, node, steps_name, "steps").reshape(-1).tolist()
    axes = list(range(len(starts))) if axes is None else [normalize_axis(node, int(a), len(shape)) for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    if not len(starts) == len(ends) == len(axes) == len(steps) or len(set(axes)) != len(axes):
        raise ModelFormatError(f"Slice node {node.name!r}: starts {starts}, ends {ends}, axes {axes} and "
                               f"steps {steps} must have one entry per distinct axis")
    first, step, count = [0] * len(shape), [1] * len(shape), list(shape)
    for axis, start, end, st in zip(axes, starts, ends, steps):
        if st == 0:
            raise ModelFormatError(f"Slice node {node.name!r}: step 0 on axis {axis}")
        r = range(*slice(int(start), int(end), int(st)).indices(shape[axis]))
        first[axis], step[axis], count[axis] = (r.start, r.step, len(r)) if len(r) else (0, 1, 0)
    im.emit("Slice", [x], node.output[0], tuple(count), node.name, dtype=im.dtype(x), starts=first, steps=step)


IMPORTS = {"Slice": (import_slice, 1, 5)}


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    counts = graph.info(y).shape
    esize = itemsize(graph.info(x).dtype)
    dims, base = slice_dims(graph.info(x).shape, node.attrs["starts"], node.attrs["steps"], counts, esize)
    emit_gather(program, node.name, Ptr(x, base), Ptr(y), dims, esize=esize)


def export(ex, node) -> None:
    y = node.outputs[0]
    starts, steps = node.attrs["starts"], node.attrs["steps"]
    counts = ex.graph.info(y).shape
    ends = [s + c * st if s + c * st >= 0 else INT64_MIN for s, c, st in zip(starts, counts, steps)]
    args = [("starts", starts), ("ends", ends), ("axes", list(range(len(starts)))), ("steps", steps)]
    ex.add("Slice", [node.inputs[0]] + [ex.const(f"{y}__{k}", np.array(v, np.int64)) for k, v in args], y)


def flops(graph, node) -> int:
    return 0
