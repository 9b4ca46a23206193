"""Scalar numpy references for the convolution, pooling and layout kernels, in each kernel's
float32 operation order (one IEEE rounding per wasm instruction, no FMA).

Inputs are given as the kernels see them: a flat float32 "memory" x, an indirection buffer
`ind` [m, taps] of byte offsets into x (or -1 for padding), and the packed-weight logical
matrices. Padding taps read `pad_value` (0.0 for convolutions and average pooling, -inf for max
pooling), exactly what the kernel's pad row holds.
"""

from __future__ import annotations

import numpy as np

from . import reference as ref

f32 = np.float32


def gather_taps(x: np.ndarray, ind: np.ndarray, channels: int, pad_value: float = 0.0) -> np.ndarray:
    """[m, taps, channels]: the channels each indirection entry points at (pad_value for -1)."""
    assert (ind[ind >= 0] % 4 == 0).all()
    starts = np.where(ind >= 0, ind // 4, 0)[..., None] + np.arange(channels)
    return np.where((ind >= 0)[..., None], x[starts], f32(pad_value)).astype(f32)


def igemm(x, ind, kc, w2d, bias, lo, hi) -> np.ndarray:
    """f32_igemm_4x8: the GEMM of the gathered [m, taps*kc] rows: acc = bias, then taps x channels in order."""
    m, taps = ind.shape
    return ref.gemm(gather_taps(x, ind, kc).reshape(m, taps * kc), w2d, bias, lo, hi)


def dwconv(x, ind, channels, w, bias, lo, hi) -> np.ndarray:
    """f32_dwconv_*: acc = bias[c]; acc = acc + x_t[c] * w[t, c] for taps t in order; clamp."""
    taps_x = gather_taps(x, ind, channels)
    acc = np.broadcast_to(bias.astype(f32), (ind.shape[0], channels)).copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(ind.shape[1]):
            acc = acc + taps_x[:, t] * w[t][None, :]
    return ref.clamp(acc, lo, hi)
