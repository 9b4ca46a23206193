"""numpy references for the data movement kernels (x_copy.wat), read straight from the
descriptors the kernels read, so the compile-time encoders are checked too."""

from __future__ import annotations

import itertools

import numpy as np


def gather_nd(desc: np.ndarray, x_bytes: bytes, x_base: int, y_size: int, y_base_fill: np.ndarray) -> np.ndarray:
    """Interpret an x_copy_nd descriptor element by element over x's raw bytes (offset x_base
    inside them); y starts as y_base_fill (elements not written keep their values)."""
    rank, esize = int(desc[0]), int(desc[1])
    assert esize == 4, "this reference reads 4-byte elements"
    dims = [tuple(int(v) for v in desc[2 + 4 * d: 6 + 4 * d]) for d in range(rank)]
    x_words = np.frombuffer(x_bytes, np.uint32)
    y = y_base_fill.view(np.uint32).copy()
    assert y.size == y_size
    for index in itertools.product(*(range(count) for count, _, _, _ in dims)):
        x_off, y_off = x_base, 0
        for i, (_, x_step, y_step, table) in zip(index, dims):
            x_off += int(desc[table // 4 + i]) if table else i * x_step
            y_off += i * y_step
        y[y_off // 4] = x_words[x_off // 4]
    return y.view(np.float32)


def resize_axis(x: np.ndarray, indices: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """f32_resize_axis on x [outer, n_in, inner] with taps [n_out, taps]: products summed in tap
    order, starting from the first product, each step one float32 rounding."""
    w = weights.astype(np.float32)
    with np.errstate(all="ignore"):
        acc = x[:, indices[:, 0], :] * w[None, :, 0, None]
        for t in range(1, indices.shape[1]):
            acc = acc + x[:, indices[:, t], :] * w[None, :, t, None]
    return acc.astype(np.float32)
