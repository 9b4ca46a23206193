"""RoiAlign (opsets 10, 16, 22): for every region of interest rois[r] = (x1, y1, x2, y2) of image
batch_indices[r], an output_height x output_width grid of bins, each the average (mode avg) or the
maximum (mode max, onnxruntime's definition: the largest of the four weighted corner values of any
sample) of sampling_ratio x sampling_ratio bilinear samples; coordinate_transformation_mode
half_pixel (opset 16's default) or output_half_pixel (opset 10's arithmetic), spatial_scale.

Decomposed at import (ops/spatial_graph.py). The sample positions are separable: per roi, per axis,
per output row and sample, a low and a high tap with weights (zero for a sample outside
[-1, size]). Run-time rois compute those taps with elementwise ops; constant rois compute them at
compile time (which also allows sampling_ratio 0, the adaptive ceil(roi size / output size) samples
per bin, differing per roi). One GatherND reads every tap of the image (the batch index, checked
by a Gather, is a third axis), then a weighted ReduceSum divided by the sample count, or a ReduceMax.
float32 and float64 compute in their own dtype; float16/bfloat16 in float32 between casts.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from .spatial_graph import Builder, Sampler

IR_OP = None


def _text(at: dict, name: str, default: str) -> str:
    value = at.get(name, default)
    return value.decode() if isinstance(value, bytes) else str(value)


def constant_axis_taps(start: np.ndarray, length: np.ndarray, pooled: int, ratio: int, size: int,
                       mode: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compile-time taps of one axis for constant rois: (indices [R, pooled, 2G] int64, weights
    [R, pooled, 2G], samples per bin [R]); an roi with fewer than G samples repeats its first one
    (weight 0 for avg, so it adds nothing; the same weight for max, so it changes nothing)."""
    rois = start.shape[0]
    bins = length / pooled
    grids = np.full(rois, ratio) if ratio > 0 else np.ceil(length / pooled).astype(np.int64)
    grid = max(1, int(grids.max(initial=1)))
    indices = np.zeros((rois, pooled, grid, 2), np.int64)
    weights = np.zeros((rois, pooled, grid, 2))
    for r in range(rois):
        g = int(grids[r])
        for p in range(pooled):
            for i in range(grid):
                source = i if i < g else 0
                v = start[r] + p * bins[r] + (source + 0.5) * bins[r] / max(g, 1)
                if g == 0 or v < -1.0 or v > size:
                    continue  # no samples, or outside: weights 0
                v = max(v, 0.0)
                low = int(v)
                if low >= size - 1:
                    low = high = size - 1
                    v = float(low)
                else:
                    high = low + 1
                frac = v - low
                indices[r, p, i] = (low, high)
                if i < g or mode == "max":
                    weights[r, p, i] = (1 - frac, frac)
    return indices.reshape(rois, pooled, 2 * grid), weights.reshape(rois, pooled, 2 * grid), grids


def graph_axis_taps(b: Builder, start: str, length: str, pooled: int, ratio: int, size: int,
                    rois: int) -> tuple[str, str]:
    """Run-time taps of one axis: (indices [R, pooled, 2G] int64, weights [R, pooled, 2G])."""
    bins = b.op("Div", [length, float(pooled)])  # [R, 1, 1]
    rows = b.const(np.arange(pooled).reshape(1, pooled, 1))
    fractions = b.const((np.arange(ratio) + 0.5).reshape(1, 1, ratio))
    v = b.op("Add", [b.op("Add", [start, b.op("Mul", [rows, bins])]),
                     b.op("Div", [b.op("Mul", [fractions, bins]), float(ratio)])])  # [R, pooled, G]
    valid = b.cast(b.op("And", [b.op("GreaterOrEqual", [v, -1.0]), b.op("LessOrEqual", [v, float(size)])]), b.dtype)
    v = b.op("Max", [v, 0.0])
    low = b.op("Floor", [v])
    edge = b.op("GreaterOrEqual", [low, float(size - 1)])
    low = b.op("Min", [low, float(size - 1)])
    v = b.where(edge, low, v)
    high = b.op("Min", [b.op("Add", [low, 1.0]), float(size - 1)])
    frac = b.op("Sub", [v, low])
    shape = (rois, pooled, ratio, 1)
    indices = b.op("Concat", [b.reshape(low, shape), b.reshape(high, shape)], axis=3)
    weights = b.op("Concat", [b.reshape(b.op("Mul", [b.op("Sub", [1.0, frac]), valid]), shape),
                              b.reshape(b.op("Mul", [frac, valid]), shape)], axis=3)
    return (b.reshape(b.cast(indices, "int64"), (rois, pooled, 2 * ratio)),
            b.reshape(weights, (rois, pooled, 2 * ratio)))


def import_roi_align(im, node, at) -> None:
    x, rois, batch = node.input
    where = f"RoiAlign node {node.name!r}"
    dtype = im.dtype(x)
    if dtype in ("float16", "bfloat16"):
        raise Float32OnlyError(f"{where}: {dtype} is computed in float32")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{where}: input {x!r} has dtype {dtype}; RoiAlign takes float inputs")
    mode = _text(at, "mode", "avg")
    transform = _text(at, "coordinate_transformation_mode", "half_pixel" if im.opset >= 16 else "output_half_pixel")
    if mode not in ("avg", "max") or transform not in ("half_pixel", "output_half_pixel"):
        raise ModelFormatError(f"{where}: unknown mode {mode!r} or coordinate_transformation_mode {transform!r}")
    ph, pw = int(at.get("output_height", 1)), int(at.get("output_width", 1))
    ratio, scale = int(at.get("sampling_ratio", 0)), float(at.get("spatial_scale", 1.0))
    xs, rs, bs = im.shape(x), im.shape(rois), im.shape(batch)
    if len(xs) != 4 or len(rs) != 2 or rs[1] != 4 or bs != (rs[0],):
        raise ModelFormatError(f"{where}: X {xs}, rois {rs} and batch_indices {bs} must be [N, C, H, W], [R, 4], [R]")
    if ph < 1 or pw < 1 or ratio < 0:
        raise ModelFormatError(f"{where}: output {ph} x {pw} and sampling_ratio {ratio} must be positive")
    n, c, h, w = xs
    r = rs[0]
    if r == 0:
        raise UnsupportedModelError(f"{where}: no rois")
    offset = 0.5 if transform == "half_pixel" else 0.0
    b = Builder(im, node, dtype)
    counts = None
    if rois in im.constants:
        boxes = im.constants[rois].astype(np.float64) * scale - offset
        starts, lengths = boxes[:, :2], boxes[:, 2:] - boxes[:, :2]
        if transform == "output_half_pixel":
            lengths = np.maximum(lengths, 1.0)
        iy, wy, gy = constant_axis_taps(starts[:, 1], lengths[:, 1], ph, ratio, h, mode)
        ix, wx, gx = constant_axis_taps(starts[:, 0], lengths[:, 0], pw, ratio, w, mode)
        npd = dtypes.numpy_dtype(dtype)
        taps_y, weights_y, taps_x, weights_x = b.ints(iy), b.const(wy.astype(npd)), b.ints(ix), b.const(wx.astype(npd))
        counts = np.maximum(gy * gx, 1).astype(npd)
    else:
        if ratio == 0:
            raise UnsupportedModelError(f"{where}: sampling_ratio 0 (adaptive) needs constant rois; run-time rois "
                                        "need a fixed sampling_ratio")
        box = b.op("Sub", [b.op("Mul", [b.cast(rois, dtype) if im.dtype(rois) != dtype else rois, scale]), offset])
        corner = [b.reshape(b.op("Gather", [box, b.ints(i)], axis=1), (r, 1, 1)) for i in range(4)]
        width, height = b.op("Sub", [corner[2], corner[0]]), b.op("Sub", [corner[3], corner[1]])
        if transform == "output_half_pixel":
            width, height = b.op("Max", [width, 1.0]), b.op("Max", [height, 1.0])
        taps_y, weights_y = graph_axis_taps(b, corner[1], height, ph, ratio, h, r)
        taps_x, weights_x = graph_axis_taps(b, corner[0], width, pw, ratio, w, r)
    o = r * ph * pw

    def spread(t: str, rows: int, cols: int) -> str:  # [R, rows or cols, K] -> [1, O, K]
        k = b.shape(t)[2]
        shaped = b.reshape(t, (r, ph, 1, k) if rows else (r, 1, pw, k))
        return b.reshape(b.op("Expand", [shaped, b.ints([r, ph, pw, k])]), (1, o, k))

    # the image of each roi through a run-time Gather of 0..N-1: an index out of range stops run()
    # (IndexOutOfRangeError), a negative one counts from the end
    images = b.op("Gather", [b.ints(np.arange(n)), batch if im.dtype(batch) == "int64" else b.cast(batch, "int64")])
    sampler = Sampler(b, (n, h, w))
    sampler.stacked(b.reshape(b.op("Expand", [b.reshape(images, (r, 1, 1, 1)), b.ints([r, ph, pw, 1])]), (1, o, 1)),
                    None)
    sampler.stacked(spread(taps_y, 1, 0), spread(weights_y, 1, 0))
    sampler.stacked(spread(taps_x, 0, 1), spread(weights_x, 0, 1))
    planes = b.reshape(b.op("Transpose", [x], perm=[1, 0, 2, 3]), (1, c, n, h, w))
    pooled = b.reshape(sampler.gather(planes, 1, c, o, "sum" if mode == "avg" else "max"), (c, r, ph, pw))
    if mode == "avg":
        divisor = b.const(counts.reshape(1, r, 1, 1)) if counts is not None else \
            b.const(np.array(max(ratio * ratio, 1)))
        pooled = b.op("Div", [pooled, divisor])
    b.op("Transpose", [pooled], node.output[0], perm=[1, 0, 2, 3])


IMPORTS = {"RoiAlign": (import_roi_align, 3, 3)}
COMPUTED = ("RoiAlign",)  # never folded: onnx's evaluator folds RoiAlign-10 with opset 16's half_pixel
