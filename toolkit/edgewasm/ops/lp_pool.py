"""LpPool (opsets 1-18: p, kernel_shape, strides, pads, auto_pad, dilations, ceil_mode) and
GlobalLpPool: y = (sum over the window of |x|^p) ^ (1/p), padding contributing nothing.

Decomposed at import (ops/spatial_graph.py): |x|^p (Abs, then Mul for p=2 or Pow), an AveragePool
with the node's own window that averages the taps inside the input, times the compile-time count of
those taps per output pixel (the window sum), then the 1/p power (Sqrt for p=2, nothing for p=1).
float32 (the pooling kernel's dtype); float16/bfloat16 in float32 between casts; float64 in float64,
its window sums through a compile-time tap table (Gather and ReduceSum) instead of the pooling kernel.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.indirection import window_counts
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from ..frontend.spatial import sliding_window
from .spatial_graph import Builder

IR_OP = None


def _p(node, at) -> float:
    p = float(at.get("p", 2))
    if not p > 0 or not np.isfinite(p):
        raise ModelFormatError(f"{node.op_type} node {node.name!r}: p must be a positive number, not {p}")
    return p


def _check(im, node) -> tuple[int, ...]:
    x = node.input[0]
    dtype = im.dtype(x)
    if dtype not in ("float32", "float64"):
        raise Float32OnlyError(f"{node.op_type} node {node.name!r}: input {x!r} has dtype {dtype}; "
                               f"{node.op_type} is computed in float32 or float64 only")
    xs = im.shape(x)
    if len(xs) < 3:
        raise UnsupportedModelError(f"{node.op_type} node {node.name!r}: input of shape {xs} has no spatial dims")
    return xs


def _powered(b: Builder, x: str, p: float) -> str:
    if p == 2:
        return b.op("Mul", [x, x])
    magnitude = b.op("Abs", [x])
    return magnitude if p == 1 else b.power(magnitude, p)


def _root(b: Builder, s: str, p: float, output: str) -> None:
    if p == 1:
        b.op("Identity", [s], output)
    elif p == 2:
        b.op("Sqrt", [s], output)
    else:
        b.power(s, 1.0 / p, output)


def import_lp_pool(im, node, at) -> None:
    xs = _check(im, node)
    p = _p(node, at)
    if "kernel_shape" not in at:
        raise ModelFormatError(f"LpPool node {node.name!r}: the kernel_shape attribute is required")
    kernel = tuple(int(k) for k in at["kernel_shape"])
    ceil_mode = int(at.get("ceil_mode", 0))
    window = sliding_window(node, at, xs[2:], kernel, bool(ceil_mode))
    counts = window_counts(window, False)
    if not counts.all():
        raise UnsupportedModelError(f"LpPool node {node.name!r}: a window lies wholly in the padding")
    if im.dtype(node.input[0]) == "float64":
        _window_sum_float64(im, node, window, p, xs)
        return
    b = Builder(im, node, "float32")
    attrs = {k: v for k, v in at.items() if k in ("kernel_shape", "strides", "pads", "dilations", "ceil_mode")}
    if "auto_pad" in at:
        attrs["auto_pad"] = at["auto_pad"].decode() if isinstance(at["auto_pad"], bytes) else at["auto_pad"]
    averaged = b.op("AveragePool", [_powered(b, node.input[0], p)], count_include_pad=0, **attrs)
    summed = b.op("Mul", [averaged, b.const(counts.reshape(1, 1, *window.out_spatial))])
    _root(b, summed, p, node.output[0])


def import_global_lp_pool(im, node, at) -> None:
    xs = _check(im, node)
    p = _p(node, at)
    b = Builder(im, node, im.dtype(node.input[0]))
    summed = b.reduce_sum(_powered(b, node.input[0], p), list(range(2, len(xs))), keepdims=1)
    _root(b, summed, p, node.output[0])


def _window_sum_float64(im, node, window, p: float, xs: tuple[int, ...]) -> None:
    """float64: the window sums through a compile-time tap table (one appended zero for the taps
    outside the input), a Gather and a ReduceSum, all in float64."""
    from .max_pool_indices import window_tables

    table, _ = window_tables(window, 0)
    n, c = xs[0], xs[1]
    b = Builder(im, node, "float64")
    flat = b.reshape(_powered(b, node.input[0], p), (n, c, math.prod(xs[2:])))
    padded = b.op("Concat", [flat, b.const(np.zeros((n, c, 1)))], axis=2)
    summed = b.reduce_sum(b.op("Gather", [padded, b.ints(table)], axis=2), [3])
    _root(b, b.reshape(summed, (n, c, *window.out_spatial)), p, node.output[0])


IMPORTS = {"LpPool": (import_lp_pool, 1, 1), "GlobalLpPool": (import_global_lp_pool, 1, 1)}
COMPUTED = ("GlobalLpPool",)  # never folded: onnx's evaluator has no GlobalLpPool
