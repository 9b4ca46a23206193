"""DeformConv (opsets 19, 22) over 2-D images: a convolution whose every tap reads the input at its
regular position plus a learned (run-time) offset, bilinearly interpolated with zeros outside the
image, optionally scaled by a mask; attributes dilations, group, kernel_shape, offset_group, pads,
strides; optional bias B and mask.

Decomposed at import (ops/spatial_graph.py): per offset group, the sampling positions (a constant
base grid plus the offsets) go through the shared bilinear Sampler (one GatherND and a weighted
ReduceSum) into im2col columns [N, C, kH * kW, oH * oW], times the mask; then one batched MatMul with
the weights per convolution group, plus the bias. float32 and float64 compute in their own dtype;
float16/bfloat16 in float32 between casts.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from ..frontend.arguments import optional_input
from .spatial_graph import Builder, Sampler

IR_OP = None


def _ints(at: dict, name: str, default: list[int]) -> list[int]:
    return [int(v) for v in at.get(name, default)]


def import_deform_conv(im, node, at) -> None:
    x, w, offset = node.input[0], node.input[1], node.input[2]
    bias, mask = optional_input(node, 3), optional_input(node, 4)
    where = f"DeformConv node {node.name!r}"
    dtype = im.dtype(x)
    if dtype in ("float16", "bfloat16"):
        raise Float32OnlyError(f"{where}: {dtype} is computed in float32")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; DeformConv takes float inputs")
    xs, ws, os_ = im.shape(x), im.shape(w), im.shape(offset)
    if len(xs) != 4 or len(ws) != 4:
        raise UnsupportedModelError(f"{where}: only 2-D images ([N, C, H, W]) are supported, not input {xs}")
    n, c, h, wd = xs
    m, cg, kh, kw = ws
    if "kernel_shape" in at and _ints(at, "kernel_shape", []) != [kh, kw]:
        raise ModelFormatError(f"{where}: kernel_shape {list(at['kernel_shape'])} differs from W's {[kh, kw]}")
    group, offset_group = int(at.get("group", 1)), int(at.get("offset_group", 1))
    strides, dilations = _ints(at, "strides", [1, 1]), _ints(at, "dilations", [1, 1])
    pads = _ints(at, "pads", [0, 0, 0, 0])
    if len(strides) != 2 or len(dilations) != 2 or len(pads) != 4 or min(strides + dilations) < 1:
        raise ModelFormatError(f"{where}: strides {strides}, dilations {dilations} or pads {pads} do not fit 2-D")
    if group < 1 or offset_group < 1 or c % group or c % offset_group or m % group or cg * group != c:
        raise ModelFormatError(f"{where}: W of shape {ws} with group {group} and offset_group {offset_group} "
                               f"does not fit {c} input channels")
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    k, pixels = kh * kw, oh * ow
    if oh < 1 or ow < 1:
        raise ModelFormatError(f"{where}: empty output ({oh} x {ow})")
    if os_ != (n, offset_group * k * 2, oh, ow):
        raise ModelFormatError(f"{where}: offset of shape {os_}, expected {[n, offset_group * k * 2, oh, ow]}")
    if mask is not None and im.shape(mask) != (n, offset_group * k, oh, ow):
        raise ModelFormatError(f"{where}: mask of shape {im.shape(mask)}, expected {[n, offset_group * k, oh, ow]}")
    if bias is not None and im.shape(bias) != (m,):
        raise ModelFormatError(f"{where}: B of shape {im.shape(bias)}, expected {[m]}")
    b = Builder(im, node, dtype)
    npd = dtypes.numpy_dtype(dtype)
    taps_h = (np.arange(kh) * dilations[0])[:, None, None, None] + (np.arange(oh) * strides[0] - pads[0])[None, None, :,
                                                                                                          None]
    taps_w = (np.arange(kw) * dilations[1])[None, :, None, None] + (np.arange(ow) * strides[1] - pads[1])[None, None,
                                                                                                          None, :]
    base_h = np.broadcast_to(taps_h, (kh, kw, oh, ow)).reshape(1, k * pixels).astype(npd)
    base_w = np.broadcast_to(taps_w, (kh, kw, oh, ow)).reshape(1, k * pixels).astype(npd)
    offsets = b.reshape(offset, (n, offset_group, k, 2, pixels))
    masks = b.reshape(mask, (n, offset_group, k * pixels)) if mask is not None else None
    per_group = c // offset_group
    columns = []
    for g in range(offset_group):
        xg = x if offset_group == 1 else b.op("Slice", [x, b.ints([g * per_group]), b.ints([(g + 1) * per_group]),
                                                        b.ints([1])])
        og = b.op("Gather", [offsets, b.ints(g)], axis=1)  # [N, K, 2, pixels]
        sampler = Sampler(b, (h, wd))
        for axis, base in enumerate((base_h, base_w)):
            delta = b.reshape(b.op("Gather", [og, b.ints(axis)], axis=2), (n, k * pixels))
            pos = b.op("Add", [delta, b.const(base)])
            low = b.op("Floor", [pos])
            t = b.op("Sub", [pos, low])
            sampler.axis([low, b.op("Add", [low, 1.0])], [b.op("Sub", [1.0, t]), t], "zeros")
        sampled = sampler.gather(xg, n, per_group, k * pixels)  # [N, C/G, K * pixels]
        if masks is not None:
            mg = b.reshape(b.op("Gather", [masks, b.ints(g)], axis=1), (n, 1, k * pixels))
            sampled = b.op("Mul", [sampled, mg])
        columns.append(sampled)
    cols = columns[0] if len(columns) == 1 else b.op("Concat", columns, axis=1)  # [N, C, K * pixels]
    cols = b.reshape(cols, (n, group, cg * k, pixels))
    weights = b.reshape(w, (group, m // group, cg * k))
    y = b.reshape(b.op("MatMul", [weights, cols]), (n, m, oh, ow))
    if bias is None:
        b.op("Identity", [y], node.output[0])
    else:
        b.op("Add", [y, b.reshape(bias, (1, m, 1, 1))], node.output[0])


IMPORTS = {"DeformConv": (import_deform_conv, 3, 5)}
