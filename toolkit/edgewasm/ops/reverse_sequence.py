"""ReverseSequence: along the time axis, the first sequence_lens[b] elements of every batch item b
reversed and the rest kept, in any dtype (time_axis and batch_axis are 0 and 1 either way round).

Constant lengths are a compile-time address map: the (time, batch) pairs form one x_copy_nd
dimension whose table says which input row each output row copies (the rows past the two axes
are one memory.copy each). Lengths computed at run time go to x_reverse_sequence
(wasm-kernels/x_reverse_sequence.wat), which checks every length against [0, time] first (as
onnxruntime does): one outside makes run() stop with a status naming the node.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.gather import Dim, emit_gather
from ..backend.program import Ptr
from ..dtypes import itemsize
from ..errors import ModelFormatError

IR_OP = "ReverseSequence"


def out_of_range(node_name: str) -> str:
    return f"ReverseSequence node {node_name!r}: a sequence length is out of range"


def import_reverse_sequence(im, node, at) -> None:
    x, lens, y = node.input[0], node.input[1], node.output[0]
    shape = im.shape(x)
    time_axis, batch_axis = int(at.get("time_axis", 0)), int(at.get("batch_axis", 1))
    if len(shape) < 2 or {time_axis, batch_axis} != {0, 1}:
        raise ModelFormatError(f"ReverseSequence node {node.name!r}: time_axis {time_axis} and batch_axis "
                               f"{batch_axis} must be 0 and 1 of an input of rank >= 2 (shape {shape})")
    time, batch = shape[time_axis], shape[batch_axis]
    if im.shape(lens) != (batch,) or im.dtype(lens) != "int64":
        raise ModelFormatError(f"ReverseSequence node {node.name!r}: sequence_lens must be int64 of shape "
                               f"({batch},), got {im.dtype(lens)} of shape {im.shape(lens)}")
    attrs = {"time_axis": time_axis, "batch_axis": batch_axis}
    if lens in im.constants:
        values = [int(v) for v in im.constants[lens]]
        if any(not 0 <= v <= time for v in values):
            raise ModelFormatError(f"ReverseSequence node {node.name!r}: sequence_lens {values} must lie in "
                                   f"[0, {time}]")
        im.emit(IR_OP, [x], y, shape, node.name, dtype=im.dtype(x), lens=tuple(values), **attrs)
        return
    im.emit(IR_OP, [x, lens], y, shape, node.name, dtype=im.dtype(x), **attrs)


IMPORTS = {"ReverseSequence": (import_reverse_sequence, 2, 2)}


def source_steps(lens, time: int) -> np.ndarray:
    """[batch, time]: the input time step each output time step copies."""
    t = np.arange(time)[None, :]
    lens = np.asarray(lens, np.int64)[:, None]
    return np.where(t < lens, lens - 1 - t, t)


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.shape_of(x)
    esize = itemsize(graph.info(y).dtype)
    row = esize * math.prod(shape[2:])
    t_axis, b_axis = node.attrs["time_axis"], node.attrs["batch_axis"]
    steps = (shape[1] * row, row)  # byte steps of axes 0 and 1
    time, batch, t_step, b_step = shape[t_axis], shape[b_axis], steps[t_axis], steps[b_axis]
    source = program.operand(graph, x)
    if len(node.inputs) == 2:
        if time * batch and row:
            program.call("x_reverse_sequence", [batch, time, b_step, t_step, row, program.operand(graph, node.inputs[1]),
                                                source, Ptr(y)], node.name, failure=out_of_range(node.name))
        return
    src = source_steps(node.attrs["lens"], time)  # [batch, time]
    offsets = src * t_step + np.arange(batch)[:, None] * b_step
    if t_axis == 0:
        offsets = offsets.T  # rows in the order of y: axis 0 outer
    dims = [Dim(time * batch, 0, row, tuple(int(v) for v in offsets.reshape(-1)))]
    dims += [Dim(n, s, s) for n, s in zip(shape[2:], [esize * math.prod(shape[d + 1:]) for d in range(2, len(shape))])]
    emit_gather(program, node.name, source, Ptr(y), dims, esize=esize)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    x = ex.graph_const(x) if ex.graph.is_constant(x) else x
    if len(node.inputs) == 2:
        lens = ex.graph_const(node.inputs[1]) if ex.graph.is_constant(node.inputs[1]) else node.inputs[1]
    else:
        lens = ex.const(f"{y}__lens", np.array(node.attrs["lens"], np.int64))
    ex.add("ReverseSequence", [x, lens], y, time_axis=node.attrs["time_axis"], batch_axis=node.attrs["batch_axis"])


def flops(graph, node) -> int:
    return 0
