"""Scalar numpy references for the Winograd F(2x2, 3x3) transforms (wasm-kernels/f32_winograd.wat),
in the kernels' float32 operation order: rows first, then columns, one rounding per add/sub."""

from __future__ import annotations

import numpy as np

from . import reference as ref

f32 = np.float32


def input_tiles(x: np.ndarray, pad_top: int, pad_left: int, tiles_h: int, tiles_w: int) -> np.ndarray:
    """[tiles, 4, 4, c]: the 4x4 input window of each tile (zeros outside x [h, w, c])."""
    h, w, c = x.shape
    big = np.zeros((pad_top + 2 * tiles_h + 2 + h, pad_left + 2 * tiles_w + 2 + w, c), f32)
    big[pad_top:pad_top + h, pad_left:pad_left + w] = x  # pads >= 0 here
    out = np.empty((tiles_h * tiles_w, 4, 4, c), f32)
    for ty in range(tiles_h):
        for tx in range(tiles_w):
            out[ty * tiles_w + tx] = big[2 * ty:2 * ty + 4, 2 * tx:2 * tx + 4]
    return out


def input_transform(d: np.ndarray) -> np.ndarray:
    """[tiles, 4, 4, c] -> V [16, tiles, c]: t = B^T d (rows), then V = t B (columns)."""
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.stack([d[:, 0] - d[:, 2], d[:, 1] + d[:, 2], d[:, 2] - d[:, 1], d[:, 1] - d[:, 3]], axis=1)
        v = np.stack([t[:, :, 0] - t[:, :, 2], t[:, :, 1] + t[:, :, 2], t[:, :, 2] - t[:, :, 1],
                      t[:, :, 1] - t[:, :, 3]], axis=2)  # [tiles, i, j, c]
    return np.ascontiguousarray(v.reshape(v.shape[0], 16, -1).transpose(1, 0, 2))


def output_transform(m: np.ndarray, bias: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """M [16, tiles, k] -> [tiles, 2, 2, k]: a = A^T m (rows), y = a A (columns) + bias, clamp."""
    m = m.reshape(4, 4, *m.shape[1:])  # [i, j, tiles, k]
    with np.errstate(over="ignore", invalid="ignore"):
        a = np.stack([(m[0] + m[1]) + m[2], (m[1] - m[2]) - m[3]])  # [r, j, tiles, k]
        y = np.stack([(a[:, 0] + a[:, 1]) + a[:, 2], (a[:, 1] - a[:, 2]) - a[:, 3]], axis=1)  # [r, col, tiles, k]
        y = y + bias.astype(f32)
    return ref.clamp(y, lo, hi).transpose(2, 0, 1, 3)


def conv3x3(x, u, bias, pad_top, pad_left, out_h, out_w, lo, hi) -> np.ndarray:
    """The whole Winograd convolution of one NHWC image as the module computes it: input
    transform, 16 GEMMs with U [16, c, k] in f32_gemm_4x8 order (zero bias), output transform;
    y [out_h, out_w, k]."""
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    v = input_transform(input_tiles(x, pad_top, pad_left, tiles_h, tiles_w))
    k = u.shape[2]
    m = np.stack([ref.gemm(v[xi], u[xi], np.zeros(k, f32), -np.inf, np.inf) for xi in range(16)])
    tiles = output_transform(m, bias, lo, hi).reshape(tiles_h, tiles_w, 2, 2, k)
    y = tiles.transpose(0, 2, 1, 3, 4).reshape(2 * tiles_h, 2 * tiles_w, k)
    return y[:out_h, :out_w]
