"""Col2Im (opset 18): rearrange column blocks [N, C * prod(block_shape), L] back into an image
[N, C, *image_shape], summing the values that land on the same pixel (dilations, pads, strides; any
number of spatial axes; image_shape and block_shape constant).

Decomposed at import (ops/spatial_graph.py): a compile-time table lists, for every image pixel, the
column entries that land on it (padded to the largest count with the index of one appended zero),
so the op is a Pad of one zero, one Gather through the table and a ReduceSum over the contributors.
Any dtype the sum reads (float32, float64, integers: 8- and 16-bit ones summed in int64 and wrapped
back; float16/bfloat16 through the reduction's rules).
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import ModelFormatError
from .spatial_graph import Builder

IR_OP = None
NARROW_INTS = ("int8", "uint8", "int16", "uint16")


def _ints(at: dict, name: str, count: int, default: int) -> list[int]:
    values = [int(v) for v in at.get(name, [default] * count)]
    return values


def contributors(image, block, dilations, pads, strides) -> tuple[np.ndarray, int]:
    """int64 [pixels, T]: for each image pixel the flat (block entry * L + column) indices that land
    on it, in increasing order, padded with K * L (the appended zero); and L."""
    dims = len(image)
    counts = [(image[d] + pads[d] + pads[d + dims] - (dilations[d] * (block[d] - 1) + 1)) // strides[d] + 1
              for d in range(dims)]
    columns, k_total = math.prod(counts), math.prod(block)
    k_index = np.indices(block).reshape(dims, -1)  # [dims, K]
    l_index = np.indices(counts).reshape(dims, -1)  # [dims, L]
    pos = (l_index[:, None, :] * np.array(strides)[:, None, None] - np.array(pads[:dims])[:, None, None]
           + k_index[:, :, None] * np.array(dilations)[:, None, None])  # [dims, K, L]
    inside = np.all((pos >= 0) & (pos < np.array(image)[:, None, None]), axis=0)
    pixel = np.ravel_multi_index(tuple(np.where(inside, pos, 0)), image)[inside]
    source = np.arange(k_total * columns).reshape(k_total, columns)[inside]
    order = np.argsort(pixel, kind="stable")
    pixel, source = pixel[order], source[order]
    per_pixel = np.bincount(pixel, minlength=math.prod(image))
    width = max(1, int(per_pixel.max(initial=0)))
    first = np.concatenate([[0], np.cumsum(per_pixel)[:-1]])
    table = np.full((math.prod(image), width), k_total * columns, np.int64)
    table[pixel, np.arange(pixel.size) - first[pixel]] = source
    return table, columns


def import_col2im(im, node, at) -> None:
    x = node.input[0]
    where = f"Col2Im node {node.name!r}"
    image = [int(v) for v in im.const(node.input[1], node, "image_shape").reshape(-1)]
    block = [int(v) for v in im.const(node.input[2], node, "block_shape").reshape(-1)]
    dims = len(image)
    xs = im.shape(x)
    if len(block) != dims or dims < 1 or len(xs) != 3:
        raise ModelFormatError(f"{where}: image_shape {image}, block_shape {block} and input of shape {xs} do not "
                               "fit ([N, C * prod(block_shape), L] and one size per spatial axis)")
    dilations, strides = _ints(at, "dilations", dims, 1), _ints(at, "strides", dims, 1)
    pads = _ints(at, "pads", 2 * dims, 0)
    if len(dilations) != dims or len(strides) != dims or len(pads) != 2 * dims or min(dilations + strides) < 1 \
            or min(pads) < 0 or min(image + block) < 1:
        raise ModelFormatError(f"{where}: dilations {dilations}, strides {strides} or pads {pads} do not fit "
                               f"{dims} spatial axes")
    table, columns = contributors(image, block, dilations, pads, strides)
    n, kc, length = xs
    k = math.prod(block)
    if kc % k or length != columns:
        raise ModelFormatError(f"{where}: input of shape {xs} does not hold [N, C * {k}, {columns}] columns for "
                               f"image {image}, block {block}")
    c = kc // k
    b = Builder(im, node, im.dtype(x))
    flat = b.reshape(x, (n, c, k * columns))
    padded = b.op("Pad", [flat, b.ints([0, 0, 0, 0, 0, 1])])
    picked = b.op("Gather", [padded, b.ints(table)], axis=2)
    if table.shape[1] == 1:
        b.reshape(picked, (n, c, *image), node.output[0])
        return
    dtype = im.dtype(x)
    if dtype in NARROW_INTS:  # summed in int64, then wrapped back to the dtype (as numpy's += wraps)
        summed = b.cast(b.reduce_sum(b.cast(picked, "int64"), [3]), dtype)
    else:
        summed = b.reduce_sum(picked, [3])
    b.reshape(summed, (n, c, *image), node.output[0])


IMPORTS = {"Col2Im": (import_col2im, 3, 3)}
