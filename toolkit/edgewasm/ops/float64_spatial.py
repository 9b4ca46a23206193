"""float64 Conv, ConvTranspose, AveragePool, GlobalAveragePool and GlobalMaxPool, computed in float64 (their kernels
are float32 only). Decomposed at import (spatial_graph.Builder) into ops that compute float64:
a compile-time table of every output pixel's window taps (max_pool_indices.window_tables: pads,
strides, dilations, ceil_mode resolved; a tap outside the input reads one appended zero), one
Gather through it (ConvTranspose: the input pixel each output pixel reads through each tap,
transposed_table), then a MatMul against the weights per group (Conv, ConvTranspose) or a sum divided by the
compile-time tap counts (AveragePool, count_include_pad as window_counts resolves it). Reached
from ops/conv.py, ops/conv_transpose.py and ops/pool.py on float64 inputs. No IR op of its own."""

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


def transposed_table(window) -> np.ndarray:
    """[O, T]: the input pixel each output pixel reads through each tap of a transposed convolution
    (o = i * stride + k * dilation - pad), in_pixels (the zero) where no input pixel lands."""
    dims = len(window.in_spatial)
    outs = np.indices(window.out_spatial).reshape(dims, -1)[:, :, None]  # [dims, O, 1]
    taps = np.indices(window.kernel).reshape(dims, -1)[:, None, :]  # [dims, 1, T]
    reach = (outs + np.array(window.pads_begin)[:, None, None] - taps * np.array(window.dilations)[:, None, None])
    strides = np.array(window.strides)[:, None, None]
    pos = reach // strides
    inside = np.all((reach % strides == 0) & (pos >= 0) & (pos < np.array(window.in_spatial)[:, None, None]), axis=0)
    rows = np.ravel_multi_index(tuple(np.where(inside, pos, 0)), window.in_spatial)
    return np.where(inside, rows, math.prod(window.in_spatial)).astype(np.int64)


def conv_transpose(im, node, window, group: int) -> None:
    """y [N, M, *out] = per group: gathered taps [N, g, O, Cg*T] @ W [g, Cg*T, M/g] (+ B), W in
    ONNX's [C, M/group, *kernel] layout."""
    b = Builder(im, node, F64)
    x, w = node.input[0], node.input[1]
    bias = node.input[2] if len(node.input) > 2 and node.input[2] else None
    n, c = im.shape(x)[:2]
    mg = im.shape(w)[1]
    m = mg * group
    taps, outs = math.prod(window.kernel), math.prod(window.out_spatial)
    cg = c // group
    flat = b.reshape(x, (n, c, math.prod(window.in_spatial)))
    padded = b.op("Concat", [flat, b.const(np.zeros((n, c, 1)))], axis=2)
    gathered = b.op("Gather", [padded, b.ints(transposed_table(window))], axis=2)  # [N, C, O, T]
    cols = b.reshape(gathered, (n, group, cg, outs, taps))
    cols = b.reshape(b.op("Transpose", [cols], perm=[0, 1, 3, 2, 4]), (n, group, outs, cg * taps))
    weights = b.op("Transpose", [b.reshape(w, (group, cg, mg, taps))], perm=[0, 1, 3, 2])  # [g, Cg, T, M/g]
    y = b.op("MatMul", [cols, b.reshape(weights, (group, cg * taps, mg))])  # [N, g, O, M/g]
    y = b.reshape(b.op("Transpose", [y], perm=[0, 1, 3, 2]), (n, m, outs))
    if bias is not None:
        if math.prod(im.shape(bias)) != m:
            raise ModelFormatError(f"ConvTranspose node {node.name!r}: bias of shape {im.shape(bias)} for {m} channels")
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
