"""Pad: constant, reflect, edge or wrap padding (negative pads crop) of a tensor in whatever
layout it has; passes/layout.py moves a Pad next to channels-last convolutions into their layout
(permuting its pads) and folds zero padding into a following Conv's own pads.

Lowered as a row gather: the trailing dims that are not padded form contiguous rows, and a
compile-time map says which input row (or the fill) each output row is, so every mode is the
same data-movement kernel (bits copied exactly).
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.program import Ptr
from ..errors import ModelFormatError, UnsupportedModelError

IR_OP = "Pad"
MODES = ("constant", "reflect", "edge", "wrap")


def import_pad(im, node, at) -> None:
    x = node.input[0]
    im.require_float(node, x)
    shape = im.shape(x)
    rank = len(shape)
    mode = at.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in MODES:
        raise UnsupportedModelError(f"Pad node {node.name!r}: mode {mode!r} is not supported ({', '.join(MODES)})")
    if im.opset < 11:
        pads = [int(p) for p in at.get("pads", at.get("paddings", []))]
        value = float(at.get("value", 0.0))
        axes = list(range(rank))
    else:
        pads = [int(p) for p in im.const(node.input[1], node, "pads").reshape(-1)]
        value = 0.0
        if len(node.input) > 2 and node.input[2]:
            constant = im.const(node.input[2], node, "constant_value")
            if constant.size != 1:
                raise ModelFormatError(f"Pad node {node.name!r}: constant_value must be a scalar")
            value = float(constant.reshape(()))
        axes = list(range(rank))
        if len(node.input) > 3 and node.input[3]:
            axes = [int(a) for a in im.const(node.input[3], node, "axes").reshape(-1)]
    if any(not -rank <= a < rank for a in axes) or len(set(a % rank for a in axes)) != len(axes):
        raise ModelFormatError(f"Pad node {node.name!r}: axes {axes} are invalid for rank {rank}")
    if len(pads) != 2 * len(axes):
        raise ModelFormatError(f"Pad node {node.name!r}: {len(pads)} pads for {len(axes)} axes")
    begin, end = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begin[axis % rank], end[axis % rank] = pads[i], pads[len(axes) + i]
    out = tuple(s + b + e for s, b, e in zip(shape, begin, end))
    if min(out) < 1:
        raise ModelFormatError(f"Pad node {node.name!r}: pads {pads} leave an empty tensor from {shape}")
    if mode != "constant" and any((b > 0 or e > 0) and s + min(b, 0) + min(e, 0) < 1
                                  for s, b, e in zip(shape, begin, end)):
        raise ModelFormatError(f"Pad node {node.name!r}: {mode} padding of an empty axis")
    im.emit(IR_OP, [x], node.output[0], out, node.name, mode=mode, begin=tuple(begin), end=tuple(end), value=value)


IMPORTS = {"Pad": (import_pad, 1, 4)}


def source_indices(size: int, begin: int, end: int, mode: str) -> np.ndarray:
    """For each output index along one axis, the input index it copies (-1: the fill value)."""
    kept = np.arange(size)[max(0, -begin):size - max(0, -end)]
    widths = (max(0, begin), max(0, end))
    if mode == "constant":
        return np.pad(kept, widths, constant_values=-1)
    return np.pad(kept, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape = graph.info(x).shape
    begin, end = node.attrs["begin"], node.attrs["end"]
    padded = [d for d in range(len(shape)) if begin[d] or end[d]]
    if not padded:
        program.views[y] = x
        return
    last = padded[-1]
    width = math.prod(shape[last + 1:])
    rows = np.zeros(1, np.int64)
    valid = np.ones(1, bool)
    for d in range(last + 1):
        src = source_indices(shape[d], begin[d], end[d], node.attrs["mode"])
        rows = (rows[:, None] * shape[d] + np.maximum(src, 0)[None, :]).reshape(-1)
        valid = (valid[:, None] & (src >= 0)[None, :]).reshape(-1)
    entries = np.where(valid, rows * width * 4, -1).astype(np.int32)
    ind = program.table(f"{y}__rows", entries)
    program.call("f32_pad_rows", [entries.size, width, ind, Ptr(x), Ptr(y), float(node.attrs["value"])], node.name)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    begin, end, mode = node.attrs["begin"], node.attrs["end"], node.attrs["mode"]
    if mode != "wrap":
        pads = ex.const(f"{y}__pads", np.array(begin + end, np.int64))
        value = ex.const(f"{y}__value", np.float32(node.attrs["value"]))
        ex.add("Pad", [x, pads, value], y, mode=mode)
        return
    # wrap needs opset 19: the same gather, one axis at a time
    shape = ex.graph.info(x).shape
    current = x
    padded = [d for d in range(len(shape)) if begin[d] or end[d]]
    for i, d in enumerate(padded):
        out = y if i == len(padded) - 1 else ex.temp(y)
        indices = ex.const(f"{y}__wrap{d}", source_indices(shape[d], begin[d], end[d], "wrap").astype(np.int64))
        ex.add("Gather", [current, indices], out, axis=d)
        current = out
    if not padded:
        ex.add("Identity", [x], y)


def flops(graph, node) -> int:
    return 0
