"""float64 Conv, AveragePool, GlobalAveragePool and GlobalMaxPool, computed in float64 (their kernels
are float32 only). Decomposed at import (spatial_graph.Builder) into ops that compute float64:
a compile-time table of every output pixel's window taps (max_pool_indices.window_tables: pads,
strides, dilations, ceil_mode resolved; a tap outside the input reads one appended zero), one
Gather through it, then a MatMul against the weights per group (Conv) or a sum divided by the
compile-time tap counts (AveragePool, count_include_pad as window_counts resolves it). Reached
from ops/conv.py and ops/pool.py on float64 inputs. No IR op of its own."""

from __future__ import annotations

import math

import numpy as np

from ..backend.indirection import window_counts
from ..errors import ModelFormatError
from .max_pool_indices import window_tables
from .spatial_graph import Builder

IR_OP = None
IMPORTS: dict = {}
F64 = "float64"


def _windows(b: Builder, x: str, window) -> str:
    """[N, C, O, T]: every output pixel's taps, zero outside the input."""
    n, c = b.shape(x)[:2]
    gather, _ = window_tables(window, 0)
    flat = b.reshape(x, (n, c, math.prod(window.in_spatial)))
    padded = b.op("Concat", [flat, b.const(np.zeros((n, c, 1)))], axis=2)
    return b.op("Gather", [padded, b.ints(gather)], axis=2)


def conv(im, node, window, group: int) -> None:
    """y [N, M, *out] = per group: windows [N, g, O, Cg*T] @ W [g, Cg*T, M/g] (+ B)."""
    b = Builder(im, node, F64)
    x, w = node.input[0], node.input[1]
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    n, c = im.shape(x)[:2]
    m = im.shape(w)[0]
    taps, outs = math.prod(window.kernel), math.prod(window.out_spatial)
    cg, mg = c // group, m // group
    cols = b.reshape(_windows(b, x, window), (n, group, cg, outs, taps))
    cols = b.reshape(b.op("Transpose", [cols], perm=[0, 1, 3, 2, 4]), (n, group, outs, cg * taps))
    weights = b.op("Transpose", [b.reshape(w, (group, mg, cg * taps))], perm=[0, 2, 1])  # [g, Cg*T, M/g]
    y = b.op("MatMul", [cols, weights])  # [N, g, O, M/g]
    y = b.reshape(b.op("Transpose", [y], perm=[0, 1, 3, 2]), (n, m, outs))
    if bias is None:
        b.reshape(y, (n, m, *window.out_spatial), node.output[0])
        return
    if math.prod(im.shape(bias)) != m:
        raise ModelFormatError(f"Conv node {node.name!r}: bias of shape {im.shape(bias)} for {m} channels")
    y = b.op("Add", [y, b.reshape(bias, (1, m, 1))])
    b.reshape(y, (n, m, *window.out_spatial), node.output[0])


def average_pool(im, node, window, count_include_pad: bool) -> None:
    b = Builder(im, node, F64)
    x = node.input[0]
    n, c = im.shape(x)[:2]
    total = b.reduce_sum(_windows(b, x, window), [3])  # [N, C, O]
    counts = window_counts(window, count_include_pad).astype(np.float64)
    y = b.op("Div", [total, b.const(counts.reshape(1, 1, -1))])
    b.reshape(y, (n, c, *window.out_spatial), node.output[0])


def global_pool(im, node, kind: str) -> None:
    b = Builder(im, node, F64)
    x = node.input[0]
    axes = list(range(2, len(im.shape(x))))
    b.reduce("ReduceMean" if kind == "avg" else "ReduceMax", x, axes, keepdims=1, output=node.output[0])
