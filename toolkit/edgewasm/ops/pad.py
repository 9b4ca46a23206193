"""Pad and CenterCropPad: constant, reflect, edge or wrap padding (negative pads crop) of a tensor of any dtype, in
whatever layout it has; passes/layout.py moves a Pad next to channels-last convolutions into their
layout (permuting its pads) and folds zero padding into a following Conv's own pads.

Every opset spelling: `paddings` (opset 1) or `pads` (2-10) and `value` as attributes; from opset 11
the pads as a constant input and the fill as an optional scalar input, a constant or computed at
run time; from opset 18 an optional constant `axes` input; wrap from opset 19.

Lowering only moves bytes (bit patterns are copied exactly, never converted):
  - constant: x_fill writes the fill over y (x_fill.wat; the value is read from memory, so a fill
    computed at run time works the same), then one x_copy_nd copies the kept part of x into the
    interior; a float32 constant fill of long rows (the unpadded trailing dims) keeps f32_pad_rows
    (f32_pad.wat: each output row a copy of an input row or a fill, every byte written once);
  - edge, reflect, wrap: compile-time source tables per axis; the output is cut into the interior
    box (contiguous runs: one memory.copy each) and at most two border slabs per padded axis, each
    one x_copy_nd call whose per-axis tables say which input index every output index copies.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..backend.gather import Dim, emit_gather, row_major_steps
from ..backend.program import Ptr
from ..errors import ModelFormatError
from ..frontend.arguments import int_constant, optional_input

IR_OP = "Pad"
MODES = ("constant", "reflect", "edge", "wrap")
WRAP_OPSET = 19
F32_ROW_MIN = 64  # float32 constant padding of rows at least this long keeps f32_pad_rows


def _mode(node, at) -> str:
    mode = at.get("mode", b"constant")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    if mode not in MODES:
        raise ModelFormatError(f"Pad node {node.name!r}: mode {mode!r} is not one of {', '.join(MODES)}")
    return mode


def scalar_of(dtype: str, value) -> float | int | bool:
    """A fill value as the Python number that stores it exactly in `dtype` (the IR's `value`)."""
    array = np.asarray(value).astype(dtypes.numpy_dtype(dtype)).reshape(())
    if dtype == "bool":
        return bool(array)
    return float(array) if dtypes.is_float(dtype) else int(array)


def import_pad(im, node, at) -> None:
    inputs, out, attrs = pad_arguments(im, node, at)
    im.emit(IR_OP, inputs, node.output[0], out, node.name, **attrs)


def fold_pad(im, node, at) -> list:
    """onnx's evaluator fails on negative pads (a crop); numpy pads what the unit reads."""
    _, _, attrs = pad_arguments(im, node, at)
    x = im.constants[node.input[0]]
    kept = x[tuple(slice(max(-b, 0), s - max(-e, 0)) for s, b, e in zip(x.shape, attrs["begin"], attrs["end"]))]
    widths = [(max(b, 0), max(e, 0)) for b, e in zip(attrs["begin"], attrs["end"])]
    if attrs["mode"] == "constant":
        return [np.pad(kept, widths, constant_values=np.asarray(attrs["value"], x.dtype))]
    return [np.pad(kept, widths, mode=attrs["mode"])]


def pad_arguments(im, node, at) -> tuple[list[str], tuple[int, ...], dict]:
    """Pad's inputs, output shape and IR attributes, from every opset spelling."""
    x = node.input[0]
    shape, dtype = im.shape(x), im.dtype(x)
    rank = len(shape)
    mode = _mode(node, at)
    fill_input = None
    if im.opset < 11:
        pads = [int(p) for p in at.get("pads", at.get("paddings", []))]
        value = scalar_of(dtype, float(at.get("value", 0.0)))
        axes = list(range(rank))
    else:
        pads = int_constant(im, node, node.input[1], "pads").reshape(-1).tolist()
        value = scalar_of(dtype, 0)
        name = optional_input(node, 2)
        if name is not None:
            if im.shape(name) not in ((), (1,)):
                raise ModelFormatError(f"Pad node {node.name!r}: constant_value must be a scalar, "
                                       f"got shape {im.shape(name)}")
            if im.dtype(name) != dtype:
                raise ModelFormatError(f"Pad node {node.name!r}: constant_value has dtype {im.dtype(name)}, "
                                       f"the data {dtype}")
            if name in im.constants:
                value = scalar_of(dtype, im.constants[name])
            elif mode == "constant":
                fill_input, value = name, None
        axes_name = optional_input(node, 3)
        axes = (list(range(rank)) if axes_name is None
                else int_constant(im, node, axes_name, "axes").reshape(-1).tolist())
    if mode == "wrap" and im.opset < WRAP_OPSET:
        raise ModelFormatError(f"Pad node {node.name!r}: mode 'wrap' needs opset {WRAP_OPSET} (model: {im.opset})")
    if any(not -rank <= a < rank for a in axes) or len(set(a % rank for a in axes)) != len(axes):
        raise ModelFormatError(f"Pad node {node.name!r}: axes {axes} are invalid for rank {rank}")
    if len(pads) != 2 * len(axes):
        raise ModelFormatError(f"Pad node {node.name!r}: {len(pads)} pads for {len(axes)} axes")
    begin, end = [0] * rank, [0] * rank
    for i, axis in enumerate(axes):
        begin[axis % rank], end[axis % rank] = int(pads[i]), int(pads[len(axes) + i])
    out = tuple(s + b + e for s, b, e in zip(shape, begin, end))
    if min(out, default=1) < 0:
        raise ModelFormatError(f"Pad node {node.name!r}: pads {pads} crop more than {shape} holds")
    for axis, (s, b, e) in enumerate(zip(shape, begin, end)):
        kept = s + min(b, 0) + min(e, 0)
        if mode != "constant" and (b > 0 or e > 0) and kept < 1:
            raise ModelFormatError(f"Pad node {node.name!r}: {mode} padding of an empty axis ({axis})")
        if mode == "reflect" and (b > 0 or e > 0) and max(b, e) > kept - 1:
            raise ModelFormatError(f"Pad node {node.name!r}: reflect pads {b}, {e} of axis {axis} exceed its "
                                   f"{kept} kept elements less one")
    inputs = [x] if fill_input is None else [x, fill_input]
    return inputs, out, dict(dtype=dtype, mode=mode, begin=tuple(begin), end=tuple(end), value=value)


def import_center_crop_pad(im, node, at) -> None:
    """CenterCropPad: each listed axis cropped or zero-padded to its target length about its centre
    (the extra element of an odd difference goes after, as the spec's reference says): a Pad of
    negative (crop) or positive pads."""
    x = node.input[0]
    shape, dtype = im.shape(x), im.dtype(x)
    target = int_constant(im, node, node.input[1], "shape").reshape(-1).tolist()
    axes = [int(a) for a in at.get("axes", range(len(shape)))]
    if any(not -len(shape) <= a < len(shape) for a in axes) or len({a % len(shape) for a in axes}) != len(axes):
        raise ModelFormatError(f"CenterCropPad node {node.name!r}: axes {axes} are invalid for rank {len(shape)}")
    if len(target) != len(axes) or any(t < 0 for t in target):
        raise ModelFormatError(f"CenterCropPad node {node.name!r}: shape {target} for axes {axes}")
    begin, end = [0] * len(shape), [0] * len(shape)
    for axis, size in zip((a % len(shape) for a in axes), target):
        diff = size - shape[axis]
        first = diff // 2 if diff > 0 else -((-diff) // 2)
        begin[axis], end[axis] = first, diff - first
    out = tuple(s + b + e for s, b, e in zip(shape, begin, end))
    im.emit(IR_OP, [x], node.output[0], out, node.name, dtype=dtype, mode="constant", begin=tuple(begin),
            end=tuple(end), value=scalar_of(dtype, 0))


IMPORTS = {"Pad": (import_pad, 1, 4), "CenterCropPad": (import_center_crop_pad, 2, 2)}
FOLDS = {"Pad": fold_pad}


def source_indices(size: int, begin: int, end: int, mode: str) -> np.ndarray:
    """For each output index along one axis, the input index it copies (-1: the fill value)."""
    kept = np.arange(size)[max(0, -begin):max(0, size - max(0, -end))]
    widths = (max(0, begin), max(0, end))
    if mode == "constant" or kept.size == 0:
        return np.pad(kept, widths, constant_values=-1)
    return np.pad(kept, widths, mode={"reflect": "reflect", "edge": "edge", "wrap": "wrap"}[mode])


def _interior(shape, begin, end) -> tuple[list[int], list[int], list[int]]:
    """Per axis: (elements of x kept, first kept x index, where they land in y)."""
    kept = [s - max(0, -b) - max(0, -e) for s, b, e in zip(shape, begin, end)]
    return kept, [max(0, -b) for b in begin], [max(0, b) for b in begin]


def _f32_rows(shape, begin, end) -> tuple[int, np.ndarray] | None:
    """f32_pad_rows' row map when the rows (the trailing unpadded dims) are long enough that
    writing each output byte once beats x_fill + x_copy_nd (measured: 3-5% on rows of >= 64
    floats; on short rows the row loop is several times slower): (row width, byte offset of the
    input row or -1 for a fill, per output row)."""
    padded = [d for d in range(len(shape)) if begin[d] or end[d]]
    width = math.prod(shape[padded[-1] + 1:])
    if width < F32_ROW_MIN:
        return None
    rows, valid = np.zeros(1, np.int64), np.ones(1, bool)
    for d in range(padded[-1] + 1):
        src = source_indices(shape[d], begin[d], end[d], "constant")
        rows = (rows[:, None] * shape[d] + np.maximum(src, 0)[None, :]).reshape(-1)
        valid = (valid[:, None] & (src >= 0)[None, :]).reshape(-1)
    return width, np.where(valid, rows * width * 4, -1).astype(np.int32)


def lower(graph, node, program) -> None:
    x, y = node.inputs[0], node.outputs[0]
    shape, out = graph.shape_of(x), graph.info(y).shape
    begin, end, mode = node.attrs["begin"], node.attrs["end"], node.attrs["mode"]
    if not any(begin) and not any(end) and not graph.is_constant(x):
        program.views[y] = x
        return
    if math.prod(out) == 0:
        return
    dtype = graph.info(y).dtype
    esize = dtypes.itemsize(dtype)
    source = program.operand(graph, x)
    x_steps, y_steps = row_major_steps(shape, esize), row_major_steps(out, esize)
    kept, x_first, y_first = _interior(shape, begin, end)
    if mode == "constant" and dtype == "float32" and len(node.inputs) == 1 and not graph.is_constant(x):
        rows = _f32_rows(shape, begin, end)
        if rows is not None:
            width, entries = rows
            program.call("f32_pad_rows", [entries.size, width, program.table(f"{y}__rows", entries), Ptr(x), Ptr(y),
                                          float(node.attrs["value"])], node.name)
            return
    if mode == "constant":
        if len(node.inputs) > 1:
            fill = program.operand(graph, node.inputs[1])
        else:
            value = np.asarray(node.attrs["value"]).astype(dtypes.numpy_dtype(dtype)).reshape(1)
            fill = program.constant(f"{y}__fill", value)
        program.call("x_fill", [Ptr(y), math.prod(out), esize, fill], node.name)
        if min(kept, default=1) > 0:
            base = sum(f * s for f, s in zip(x_first, x_steps))
            emit_gather(program, node.name, Ptr(source.tensor, source.offset + base),
                        Ptr(y, sum(f * s for f, s in zip(y_first, y_steps))),
                        [Dim(k, xs, ys) for k, xs, ys in zip(kept, x_steps, y_steps)], esize=esize)
        return
    tables = [source_indices(s, b, e, mode) * xs for s, b, e, xs in zip(shape, begin, end, x_steps)]
    interior = [range(f, f + k) for f, k in zip(y_first, kept)]
    boxes = [interior]
    for d in range(len(out)):  # border slabs: axes before d inside, axis d in its pads, axes after d whole
        for part in (range(0, y_first[d]), range(y_first[d] + kept[d], out[d])):
            if len(part):
                boxes.append(interior[:d] + [part] + [range(n) for n in out[d + 1:]])
    for i, box in enumerate(boxes):
        dims = [Dim(len(r), 0, ys, tuple(int(v) for v in table[r.start:r.stop]))
                for r, table, ys in zip(box, tables, y_steps)]
        emit_gather(program, node.name, source, Ptr(y, sum(r.start * ys for r, ys in zip(box, y_steps))), dims,
                    tag=str(i), esize=esize)


def export(ex, node) -> None:
    x, y = node.inputs[0], node.outputs[0]
    if ex.graph.is_constant(x):
        x = ex.graph_const(x)
    begin, end, mode = node.attrs["begin"], node.attrs["end"], node.attrs["mode"]
    dtype = ex.graph.info(y).dtype
    if mode != "wrap":
        pads = ex.const(f"{y}__pads", np.array(begin + end, np.int64))
        if len(node.inputs) > 1:
            value = ex.graph_const(node.inputs[1]) if ex.graph.is_constant(node.inputs[1]) else node.inputs[1]
        else:
            value = ex.const(f"{y}__value", np.asarray(node.attrs["value"]).astype(dtypes.numpy_dtype(dtype)))
        ex.add("Pad", [x, pads, value], y, mode=mode)
        return
    # wrap needs opset 19: the same gather, one axis at a time
    shape = ex.graph.shape_of(node.inputs[0])
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
