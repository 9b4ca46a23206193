"""MaxRoiPool (opset 1): for every roi (batch_id, x1, y1, x2, y2) scaled by spatial_scale and rounded
(half away from zero, as onnxruntime's std::round), a pooled_shape grid of bins over the roi's
pixels, each the maximum of the image pixels it covers (0 for an empty bin), as onnxruntime computes
it: bin edges floor(i * roi / pooled) and ceil((i + 1) * roi / pooled), clamped to the image.

Decomposed at import (ops/spatial_graph.py) with run-time rois: a Gather of each roi's image (an
image index out of range stops run() with IndexOutOfRangeError), bin masks per axis from the roi
edges, then two separable masked ReduceMax passes (over the columns of each column bin, then over
the rows of each row bin), and a Where for empty bins. float32 and float64 in their own dtype.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from .spatial_graph import Builder

IR_OP = None


def _round(b: Builder, v: str) -> str:
    """Round half away from zero."""
    up = b.op("Floor", [b.op("Add", [v, 0.5])])
    down = b.op("Neg", [b.op("Floor", [b.op("Add", [b.op("Neg", [v]), 0.5])])])
    return b.where(b.op("GreaterOrEqual", [v, 0.0]), up, down)


def _bins(b: Builder, start: str, end: str, pooled: int, size: int, rois: int) -> tuple[str, str]:
    """(mask [R, pooled, size] of the pixels in each bin, empty [R, pooled])."""
    extent = b.op("Max", [b.op("Add", [b.op("Sub", [end, start]), 1.0]), 1.0])  # [R, 1]
    step = b.op("Div", [extent, float(pooled)])
    index = b.const(np.arange(pooled).reshape(1, pooled))
    lo = b.clamp(b.op("Add", [b.op("Floor", [b.op("Mul", [index, step])]), start]), 0, size)
    hi = b.clamp(b.op("Add", [b.op("Ceil", [b.op("Mul", [b.op("Add", [index, 1.0]), step])]), start]), 0, size)
    pixels = b.const(np.arange(size).reshape(1, 1, size))
    lo3, hi3 = b.reshape(lo, (rois, pooled, 1)), b.reshape(hi, (rois, pooled, 1))
    mask = b.op("And", [b.op("GreaterOrEqual", [pixels, lo3]), b.op("Less", [pixels, hi3])])
    return mask, b.op("LessOrEqual", [hi, lo])


def import_max_roi_pool(im, node, at) -> None:
    x, rois = node.input
    where = f"MaxRoiPool node {node.name!r}"
    dtype = im.dtype(x)
    if dtype in ("float16", "bfloat16"):
        raise Float32OnlyError(f"{where}: {dtype} is computed in float32")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; MaxRoiPool takes float inputs")
    if "pooled_shape" not in at:
        raise ModelFormatError(f"{where}: the pooled_shape attribute is required")
    ph, pw = (int(v) for v in at["pooled_shape"])
    scale = float(at.get("spatial_scale", 1.0))
    xs, rs = im.shape(x), im.shape(rois)
    if len(xs) != 4 or len(rs) != 2 or rs[1] != 5 or ph < 1 or pw < 1:
        raise ModelFormatError(f"{where}: X {xs}, rois {rs} and pooled_shape {[ph, pw]} must be [N, C, H, W], "
                               "[R, 5] and positive")
    n, c, h, w = xs
    r = rs[0]
    if r == 0:
        raise UnsupportedModelError(f"{where}: no rois")
    b = Builder(im, node, dtype)
    boxes = b.cast(rois, dtype) if im.dtype(rois) != dtype else rois
    column = [b.reshape(b.op("Gather", [boxes, b.ints(k)], axis=1), (r, 1)) for k in range(5)]
    images = b.cast(b.reshape(column[0], (r,)), "int64")
    x1, y1, x2, y2 = (_round(b, b.op("Mul", [v, scale])) for v in column[1:])
    rows, rows_empty = _bins(b, y1, y2, ph, h, r)
    cols, cols_empty = _bins(b, x1, x2, pw, w, r)
    planes = b.op("Gather", [x, images], axis=0)  # [R, C, H, W]
    lowest = b.const(np.array(-np.inf, dtypes.numpy_dtype(dtype)))
    across = b.where(b.reshape(cols, (r, 1, 1, pw, w)), b.reshape(planes, (r, c, h, 1, w)), lowest)
    across = b.reduce("ReduceMax", across, [4])  # [R, C, H, PW]
    down = b.where(b.reshape(rows, (r, 1, ph, h, 1)), b.reshape(across, (r, c, 1, h, pw)), lowest)
    pooled = b.reduce("ReduceMax", down, [3])  # [R, C, PH, PW]
    empty = b.op("Or", [b.reshape(rows_empty, (r, 1, ph, 1)), b.reshape(cols_empty, (r, 1, 1, pw))])
    b.op("Where", [empty, b.const(np.array(0, dtypes.numpy_dtype(dtype))), pooled], node.output[0])


IMPORTS = {"MaxRoiPool": (import_max_roi_pool, 2, 2)}
COMPUTED = ("MaxRoiPool",)  # never folded: onnx's evaluator has no MaxRoiPool
