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


def maxpool(x, ind, channels) -> np.ndarray:
    """f32_maxpool_c4: acc = x_0; acc = wasm_max(acc, x_t) in tap order; padding reads -inf."""
    taps_x = gather_taps(x, ind, channels, pad_value=-np.inf)
    acc = taps_x[:, 0]
    for t in range(1, ind.shape[1]):
        acc = ref.wasm_max(acc, taps_x[:, t])
    return acc


def avgpool(x, ind, channels, divisors) -> np.ndarray:
    """f32_avgpool_c4: acc = x_0; acc = acc + x_t in tap order (padding reads 0.0); acc / divisor."""
    taps_x = gather_taps(x, ind, channels)
    acc = taps_x[:, 0]
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for t in range(1, ind.shape[1]):
            acc = acc + taps_x[:, t]
        return acc / divisors.astype(f32)[:, None]


def gavgpool(x: np.ndarray) -> np.ndarray:
    """f32_gavgpool_c4 on [n, s, c]: acc = x[:, 0]; acc = acc + x[:, p] in pixel order; acc / s."""
    acc = x[:, 0].astype(f32)
    with np.errstate(over="ignore", invalid="ignore"):
        for p in range(1, x.shape[1]):
            acc = acc + x[:, p]
        return acc / f32(x.shape[1])


def scaleshift(x: np.ndarray, scale: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """f32_scaleshift_c4 on [rows, c]: x * scale then + shift, two roundings."""
    with np.errstate(over="ignore", invalid="ignore"):
        return (x.astype(f32) * scale.astype(f32)) + shift.astype(f32)


def pad_rows(x_bits: np.ndarray, ind: np.ndarray, width: int, value_bits: int) -> np.ndarray:
    """f32_pad_rows on uint32 bit patterns: row r = x_bits[ind[r]/4 : +width], or the fill."""
    out = np.empty((ind.size, width), np.uint32)
    for r, e in enumerate(ind):
        out[r] = x_bits[e // 4:e // 4 + width] if e >= 0 else value_bits
    return out
