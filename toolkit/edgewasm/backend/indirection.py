"""Indirection buffers: for every output pixel and kernel tap, where its input pixel lives.

The convolution and pooling kernels (wasm-kernels/f32_igemm.wat, f32_dwconv.wat, f32_pool.wat)
read NHWC input through one of these instead of computing coordinates: shapes are static, so
strides, dilations, padding and the holes of a transposed convolution are resolved here, once,
at compile time. An entry is the byte offset of the input pixel's first channel relative to the
input tensor, or PADDING (-1) for a tap outside the input. Entries are pixel-major: row
p = (n, *out_spatial) flattened, column t = kernel position flattened row-major.
"""

from __future__ import annotations

import math

import numpy as np

from ..window import Window

PADDING = -1


def _per_dim_positions(window: Window, transposed: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """For each spatial dim: (input position, valid) as [out_d, kernel_d] arrays."""
    result = []
    for d, size in enumerate(window.in_spatial):
        out = np.arange(window.out_spatial[d], dtype=np.int64)[:, None]
        tap = np.arange(window.kernel[d], dtype=np.int64)[None, :]
        if transposed:
            # output o receives input i through tap k when i * stride + k * dilation = o + pad
            shifted = out + window.pads_begin[d] - tap * window.dilations[d]
            pos = shifted // window.strides[d]
            valid = (shifted % window.strides[d] == 0) & (pos >= 0) & (pos < size)
        else:
            pos = out * window.strides[d] - window.pads_begin[d] + tap * window.dilations[d]
            valid = (pos >= 0) & (pos < size)
        result.append((np.where(valid, pos, 0), valid))
    return result


def _spread(values: list[np.ndarray], combine) -> np.ndarray:
    """Combine per-dim [out_d, k_d] arrays into one [prod(out), prod(k)] array, dim 0 slowest."""
    dims = len(values)
    total = None
    for d, v in enumerate(values):
        shape = [1] * (2 * dims)
        shape[d], shape[dims + d] = v.shape
        v = v.reshape(shape)
        total = v if total is None else combine(total, v, d)
    if total is None:
        raise ValueError("a window needs at least one spatial dimension")
    out_pixels = math.prod(a.shape[0] for a in values)
    taps = math.prod(a.shape[1] for a in values)
    return np.broadcast_to(total, [a.shape[0] for a in values] + [a.shape[1] for a in values]).reshape(out_pixels, taps)


def indirection(window: Window, batch: int, pixel_bytes: int, transposed: bool = False) -> np.ndarray:
    """int32 [batch * out_pixels, taps]: byte offset of each tap's input pixel, or PADDING.

    pixel_bytes is the distance between neighbouring input pixels (4 * channels of the tensor).
    """
    per_dim = _per_dim_positions(window, transposed)
    flat = _spread([p for p, _ in per_dim], lambda acc, v, d: acc * window.in_spatial[d] + v)
    valid = _spread([ok for _, ok in per_dim], lambda acc, v, d: acc & v).astype(bool)
    images = np.arange(batch, dtype=np.int64)[:, None, None] * window.in_pixels
    offsets = (images + flat[None]) * pixel_bytes
    offsets = np.where(valid[None], offsets, PADDING).reshape(batch * window.out_pixels, window.taps)
    if offsets.size and offsets.max() >= 2**31:
        raise ValueError("indirection offsets exceed the 2 GiB a signed i32 can address")
    return offsets.astype(np.int32)


def window_counts(window: Window, include_pad: bool) -> np.ndarray:
    """float32 [out_pixels]: how many taps of each window an average divides by.

    include_pad counts taps inside the padded extent [-pads_begin, in + pads_end) (ONNX
    count_include_pad=1); otherwise only taps inside the input. Taps past the padded end (the
    overhang of a ceil_mode window) never count.
    """
    counts = np.ones(1, np.int64)
    for d, size in enumerate(window.in_spatial):
        out = np.arange(window.out_spatial[d])[:, None]
        tap = np.arange(window.kernel[d])[None, :]
        pos = out * window.strides[d] - window.pads_begin[d] + tap * window.dilations[d]
        lo, hi = (-window.pads_begin[d], size + window.pads_end[d]) if include_pad else (0, size)
        per_out = ((pos >= lo) & (pos < hi)).sum(axis=1)
        counts = (counts.reshape(-1, 1) * per_out[None, :]).reshape(-1)
    return counts.astype(np.float32)
