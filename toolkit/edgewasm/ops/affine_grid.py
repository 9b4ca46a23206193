"""AffineGrid (opset 20): the sampling grid [N, H, W, 2] (or [N, D, H, W, 3]) of the affine matrices
theta [N, 2, 3] (or [N, 3, 4]) over an output of constant size [N, C, H, W] (or [N, C, D, H, W]),
align_corners 0 or 1 (a one-pixel axis with align_corners sits at 1, as onnxruntime places it;
onnx's reference puts it at -1).

Decomposed at import (ops/spatial_graph.py): the base grid of normalized coordinates (x, y[, z], 1),
computed at compile time in float64 and stored in theta's dtype, times theta as a broadcast Mul and a
ReduceSum over the homogeneous coordinate, so float32 and float64 compute in their own dtype.
"""

from __future__ import annotations

import math

import numpy as np

from .. import dtypes
from ..errors import Float32OnlyError, ModelFormatError, UnsupportedModelError
from .spatial_graph import Builder

IR_OP = None


def axis_coordinates(size: int, align: bool) -> np.ndarray:
    """The normalized coordinates of `size` pixel centres in [-1, 1]."""
    i = np.arange(size, dtype=np.float64)
    if align:
        return -1.0 + 2.0 * i / (size - 1) if size > 1 else np.ones(size)  # onnxruntime's (reference: -1)
    return -1.0 + (2.0 * i + 1.0) / size


def base_grid(spatial: list[int], align: bool) -> np.ndarray:
    """float64 [prod(spatial), rank + 1]: (x, y[, z], 1) per output pixel, x along the last axis."""
    axes = [axis_coordinates(d, align) for d in spatial]
    mesh = np.meshgrid(*axes, indexing="ij")
    columns = [m.reshape(-1) for m in reversed(mesh)] + [np.ones(math.prod(spatial))]
    return np.stack(columns, axis=1)


def import_affine_grid(im, node, at) -> None:
    theta = node.input[0]
    where = f"AffineGrid node {node.name!r}"
    dtype = im.dtype(theta)
    if dtype in ("float16", "bfloat16"):
        raise Float32OnlyError(f"{where}: {dtype} is computed in float32")
    if dtype not in ("float32", "float64"):
        raise UnsupportedModelError(f"{where}: theta has dtype {dtype}; AffineGrid takes float inputs")
    size = [int(v) for v in im.const(node.input[1], node, "size").reshape(-1)]
    ts = im.shape(theta)
    rank = len(size) - 2
    if rank not in (2, 3) or ts != (size[0], rank, rank + 1):
        raise ModelFormatError(f"{where}: theta of shape {ts} does not fit size {size} (2-D: [N, 2, 3] for "
                               "[N, C, H, W]; 3-D: [N, 3, 4] for [N, C, D, H, W])")
    spatial = size[2:]
    if min(spatial + size[:1]) < 1:
        raise UnsupportedModelError(f"{where}: empty output of size {size}")
    base = base_grid(spatial, bool(int(at.get("align_corners", 0))))
    b = Builder(im, node, dtype)
    pixels, n = base.shape[0], size[0]
    grid = b.const(base.reshape(1, pixels, 1, rank + 1).astype(dtypes.numpy_dtype(dtype)))
    products = b.op("Mul", [grid, b.reshape(theta, (n, 1, rank, rank + 1))])
    b.reshape(b.reduce_sum(products, [3]), (n, *spatial, rank), node.output[0])


IMPORTS = {"AffineGrid": (import_affine_grid, 2, 2)}
