"""LRN (opsets 1, 13): y = x / (bias + alpha / size * square_sum) ^ beta, square_sum[n, c, ...] the sum
of x^2 over the channels c - floor((size - 1) / 2) .. c + ceil((size - 1) / 2) that exist.

Decomposed at import (ops/spatial_graph.py): x*x viewed as [N, 1, C, pixels], an AveragePool with
kernel (size, 1) and pads (floor, ceil) along the channel axis that counts the pads (so it is the
channel-window sum divided by size, exactly the term LRN scales by alpha), then Mul, Add, Pow and Div.
float32; float16/bfloat16 in float32 between casts; float64 in float64, its channel windows through
a compile-time table (Gather and ReduceSum) instead of the pooling kernel.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import Float32OnlyError, ModelFormatError
from .spatial_graph import Builder

IR_OP = None


def import_lrn(im, node, at) -> None:
    x = node.input[0]
    where = f"LRN node {node.name!r}"
    dtype = im.dtype(x)
    if dtype not in ("float32", "float64"):
        raise Float32OnlyError(f"{where}: input {x!r} has dtype {dtype}; LRN is computed in float32 or float64 only")
    if "size" not in at:
        raise ModelFormatError(f"{where}: the size attribute is required")
    size = int(at["size"])
    if size < 1:
        raise ModelFormatError(f"{where}: size must be positive, not {size}")
    alpha, beta, bias = float(at.get("alpha", 1e-4)), float(at.get("beta", 0.75)), float(at.get("bias", 1.0))
    xs = im.shape(x)
    if len(xs) < 2:
        raise ModelFormatError(f"{where}: input of shape {xs} has no channel axis")
    n, c, pixels = xs[0], xs[1], math.prod(xs[2:])
    b = Builder(im, node, dtype)
    lo, hi = (size - 1) // 2, size - 1 - (size - 1) // 2
    if dtype == "float32":
        squares = b.reshape(b.op("Mul", [x, x]), (n, 1, c, pixels))
        mean = b.op("AveragePool", [squares], kernel_shape=[size, 1], pads=[lo, 0, hi, 0], count_include_pad=1)
    else:  # float64: the channel windows through a table (one appended zero channel), Gather, ReduceSum
        squares = b.reshape(b.op("Mul", [x, x]), (n, c, pixels))
        padded = b.op("Concat", [squares, b.const(np.zeros((n, 1, pixels)))], axis=1)
        taps = np.arange(c)[:, None] - lo + np.arange(size)[None, :]
        table = np.where((taps >= 0) & (taps < c), taps, c)
        summed = b.reduce_sum(b.op("Gather", [padded, b.ints(table)], axis=1), [2])
        mean = b.op("Div", [summed, float(size)])
    scale = b.op("Add", [b.op("Mul", [b.reshape(mean, xs), alpha]), bias])
    b.op("Div", [x, b.power(scale, beta)], node.output[0])


IMPORTS = {"LRN": (import_lrn, 1, 1)}
COMPUTED = ("LRN",)  # never folded: onnx's evaluator gets some forms wrong
