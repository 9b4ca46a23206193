"""MaxPool with its Indices output (opsets 8+; storage_order 0 row-major or 1 column-major), reached
from ops/pool.py when a node asks for Indices (or sets storage_order), or pools a dtype the pooling
kernels lack (float64 and the integers other than uint8), Y alone then.

Decomposed at import (ops/spatial_graph.py): a compile-time table lists every output pixel's window
taps (pads, strides, dilations, ceil_mode as MaxPool resolves them), a tap outside the input reading
one appended lowest value; one Gather through the table, a ReduceMax for Y and an ArgMax (the first
maximum in window order, as onnxruntime picks it) whose tap is mapped through a second table to the
flat index onnx defines: ((n * C + c) * H + h) * W + w, or with h and w swapped for storage_order 1.
Any dtype Gather, ReduceMax and ArgMax read.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError, UnsupportedModelError
from ..frontend.spatial import sliding_window
from .spatial_graph import Builder

IR_OP = None


def window_tables(window, storage_order: int) -> tuple[np.ndarray, np.ndarray]:
    """(gather [O, T]: row-major input pixel of each tap, in_pixels where outside; report [O, T]: the
    tap's pixel in the storage order's flat numbering, 0 where outside)."""
    dims = len(window.in_spatial)
    in_spatial = np.array(window.in_spatial)
    out_index = np.indices(window.out_spatial).reshape(dims, -1)  # [dims, O]
    taps = np.indices(window.kernel).reshape(dims, -1)  # [dims, T]
    pos = (out_index[:, :, None] * np.array(window.strides)[:, None, None]
           - np.array(window.pads_begin)[:, None, None] + taps[:, None, :] * np.array(window.dilations)[:, None, None])
    inside = np.all((pos >= 0) & (pos < in_spatial[:, None, None]), axis=0)  # [O, T]
    safe = tuple(np.where(inside, pos, 0))
    rows = np.ravel_multi_index(safe, window.in_spatial)
    if storage_order:  # column-major: the first spatial axis varies fastest
        report = np.ravel_multi_index(safe[::-1], window.in_spatial[::-1])
    else:
        report = rows
    gather = np.where(inside, rows, math.prod(window.in_spatial)).astype(np.int64)
    return gather, np.where(inside, report, 0).astype(np.int64)


def import_max_pool_with_indices(im, node, at) -> None:
    x = node.input[0]
    where = f"MaxPool node {node.name!r}"
    xs = im.shape(x)
    if len(xs) < 3:
        raise UnsupportedModelError(f"{where}: input of shape {xs} has no spatial dims")
    if "kernel_shape" not in at:
        raise ModelFormatError(f"{where}: the kernel_shape attribute is required")
    storage_order = int(at.get("storage_order", 0))
    if storage_order not in (0, 1):
        raise ModelFormatError(f"{where}: storage_order must be 0 or 1, not {storage_order}")
    dtype = im.dtype(x)
    ceil_mode = int(at.get("ceil_mode", 0))
    window = sliding_window(node, at, xs[2:], tuple(int(k) for k in at["kernel_shape"]), bool(ceil_mode))
    gather, report = window_tables(window, storage_order)
    n, c = xs[0], xs[1]
    pixels, outs, taps = math.prod(xs[2:]), gather.shape[0], gather.shape[1]
    b = Builder(im, node, dtype)
    npd = dtypes.numpy_dtype(dtype)
    lowest = -np.inf if dtypes.is_float(dtype) else np.iinfo(npd).min
    flat = b.reshape(x, (n, c, pixels))
    fill = b.const(np.full((n, c, 1), lowest, npd))
    padded = b.op("Concat", [flat, fill], axis=2)
    windows = b.op("Gather", [padded, b.ints(gather)], axis=2)  # [N, C, O, T]
    y, indices = node.output[0], node.output[1] if len(node.output) > 1 else ""
    if y:
        b.reshape(b.reduce("ReduceMax", windows, [3]), (n, c, *window.out_spatial), y)
    if not indices:
        return
    best = b.op("ArgMax", [windows], axis=3, keepdims=1)  # [N, C, O, 1]
    table = b.op("Expand", [b.ints(report.reshape(1, 1, outs, taps)), b.ints([n, c, outs, taps])])
    picked = b.op("GatherElements", [table, best], axis=3)
    base = b.ints((np.arange(n * c) * pixels).reshape(n, c, 1, 1))
    b.reshape(b.op("Add", [picked, base]), (n, c, *window.out_spatial), indices)


def fold_max_pool(im, node, at) -> list[np.ndarray]:
    """A constant MaxPool, through the same tables in numpy (onnx's evaluator gets some windows wrong:
    SAME_LOWER with strides, ceil_mode, storage_order 1)."""
    x = im.constants[node.input[0]]
    if x.ndim < 3 or "kernel_shape" not in at:
        raise ModelFormatError(f"MaxPool node {node.name!r}: a constant input of shape {x.shape} cannot be pooled")
    ceil_mode = int(at.get("ceil_mode", 0))
    window = sliding_window(node, at, x.shape[2:], tuple(int(k) for k in at["kernel_shape"]), bool(ceil_mode))
    gather, report = window_tables(window, int(at.get("storage_order", 0)))
    n, c = x.shape[:2]
    pixels = math.prod(x.shape[2:])
    lowest = -np.inf if np.issubdtype(x.dtype, np.floating) else np.iinfo(x.dtype).min
    flat = np.concatenate([x.reshape(n, c, pixels), np.full((n, c, 1), lowest, x.dtype)], axis=2)
    windows = flat[:, :, gather]  # [N, C, O, T]
    best = windows.argmax(axis=3)
    y = windows.max(axis=3).reshape(n, c, *window.out_spatial)
    picked = report[np.arange(gather.shape[0])[None, None, :], best]
    indices = (picked + (np.arange(n * c) * pixels).reshape(n, c, 1)).reshape(n, c, *window.out_spatial)
    return [y, indices.astype(np.int64)]  # the importer pairs them with the node's outputs


IMPORTS: dict = {}
FOLDS = {"MaxPool": fold_max_pool}
