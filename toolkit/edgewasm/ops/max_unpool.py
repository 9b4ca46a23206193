"""MaxUnpool (opsets 9, 11, 22): scatter X [N, C, *in] into zeros of shape [N, C, *out] at the flat
indices I (MaxPool's Indices: positions in the whole flattened output), out = (in - 1) * strides -
pads_begin - pads_end + kernel_shape; a larger constant output_shape input places that result at the
start of each spatial axis and fills the rest with zeros (onnx's reference: the indices address the
unpooled shape; onnxruntime reads them as positions in output_shape instead, and fails onnx's own case).

Decomposed at import (ops/spatial_graph.py) into one run-time ScatterElements of the flattened X
into a flat zero tensor (an index out of range stops run() with IndexOutOfRangeError; a repeated
index keeps the last value written), then a Reshape (and a Pad for output_shape). Any dtype.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import ModelFormatError
from .spatial_graph import Builder

IR_OP = None


def import_max_unpool(im, node, at) -> None:
    x, indices = node.input[0], node.input[1]
    where = f"MaxUnpool node {node.name!r}"
    xs = im.shape(x)
    dims = len(xs) - 2
    if dims < 1:
        raise ModelFormatError(f"{where}: input of shape {xs} has no spatial dims")
    if im.shape(indices) != xs:
        raise ModelFormatError(f"{where}: indices of shape {im.shape(indices)} for X of shape {xs}")
    if "kernel_shape" not in at:
        raise ModelFormatError(f"{where}: the kernel_shape attribute is required")
    kernel = [int(k) for k in at["kernel_shape"]]
    strides = [int(s) for s in at.get("strides", [1] * dims)]
    pads = [int(p) for p in at.get("pads", [0] * 2 * dims)]
    if len(kernel) != dims or len(strides) != dims or len(pads) != 2 * dims:
        raise ModelFormatError(f"{where}: kernel_shape, strides or pads do not fit {dims} spatial dims")
    out = [(i - 1) * s - pads[d] - pads[d + dims] + k for d, (i, s, k) in enumerate(zip(xs[2:], strides, kernel))]
    if min(out) < 1:
        raise ModelFormatError(f"{where}: output spatial shape {out} is empty")
    given = out
    if len(node.input) > 2 and node.input[2]:
        given = [int(v) for v in im.const(node.input[2], node, "output_shape").reshape(-1)]
        if len(given) != len(xs) or given[:2] != list(xs[:2]):
            raise ModelFormatError(f"{where}: output_shape {given} does not fit X of shape {xs}")
        given = given[2:]
        if any(g < o for g, o in zip(given, out)):
            raise ModelFormatError(f"{where}: output_shape {given} is smaller than the unpooled shape {out}")
    dtype = im.dtype(x)
    b = Builder(im, node, dtype)
    total = xs[0] * xs[1] * math.prod(out)
    zeros = b.const(np.zeros(total, dtypes.numpy_dtype(dtype)))
    scatter = "ScatterElements" if im.opset >= 11 else "Scatter"  # its name in opsets 9-10
    flat = b.op(scatter, [zeros, b.reshape(indices, (-1,)), b.reshape(x, (-1,))], axis=0)
    if given == out:
        b.reshape(flat, (xs[0], xs[1], *out), node.output[0])
        return
    unpooled = b.reshape(flat, (xs[0], xs[1], *out))
    b.op("Pad", [unpooled, b.ints([0] * (dims + 2) + [0, 0] + [g - o for g, o in zip(given, out)])], node.output[0])


IMPORTS = {"MaxUnpool": (import_max_unpool, 2, 3)}
