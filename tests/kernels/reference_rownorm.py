"""numpy references for wasm-kernels/f32_norm.wat (f32_rownorm, f32_lpnorm, f32_affine_rows),
repeating each kernel's float32 operations in its order."""

from __future__ import annotations

import numpy as np

from .reference import softmax_sum, wasm_max

f32 = np.float32


def rownorm(mode: int, x: np.ndarray, gamma: np.ndarray | None, eps: float) -> np.ndarray:
    """f32_rownorm on [rows, n]: 0 standardize, 1 mean-variance (eps outside the sqrt), 2 RMS."""
    x = x.astype(f32)
    n = f32(x.shape[1])
    with np.errstate(all="ignore"):
        if mode == 2:
            c = np.zeros(x.shape[0], f32)
            d = np.sqrt(softmax_sum(x * x) / n + f32(eps))
        else:
            c = softmax_sum(x) / n
            centred = x - c[:, None]
            var = softmax_sum(centred * centred) / n
            d = np.sqrt(var) + f32(eps) if mode == 1 else np.sqrt(var + f32(eps))
        y = (x - c[:, None]) / d[:, None]
        return y * gamma[None, :] if gamma is not None else y


def abs_max(x: np.ndarray) -> np.ndarray:
    """$f32_abs_max per row: 4 lane maxima from 0, (m0 max m1) max (m2 max m3), then the tail."""
    rows, n = x.shape
    vec = n - n % 4
    lanes = np.zeros((rows, 4), f32)
    for t in range(0, vec, 4):
        lanes = wasm_max(lanes, np.abs(x[:, t:t + 4]))
    m = wasm_max(wasm_max(lanes[:, 0], lanes[:, 1]), wasm_max(lanes[:, 2], lanes[:, 3]))
    for i in range(vec, n):
        m = wasm_max(m, np.abs(x[:, i]))
    return m


def lpnorm(p: int, x: np.ndarray) -> np.ndarray:
    """f32_lpnorm on [rows, n]: prescale by max |x| (1 for an inf or NaN row), norm, divide; 0 rows stay 0."""
    x = x.astype(f32)
    with np.errstate(all="ignore"):
        s = abs_max(x)
        k = np.where(s < np.inf, s, f32(1)).astype(f32)
        t = x / k[:, None]
        m = softmax_sum(np.abs(t)) if p == 1 else np.sqrt(softmax_sum(t * t))
        y = t / m[:, None]
    return np.where((s == 0)[:, None], f32(0), y).astype(f32)


def affine_rows(x: np.ndarray, scale: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """f32_affine_rows on [rows, n] with period = scale.size: x * scale[r % period] + bias (or + -0)."""
    x = x.astype(f32)
    rows = x.shape[0]
    index = np.arange(rows) % scale.size
    b = bias[index] if bias is not None else np.full(rows, -0.0, f32)
    with np.errstate(all="ignore"):
        return x * scale[index][:, None] + b[:, None]
