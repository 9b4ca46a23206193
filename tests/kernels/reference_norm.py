"""numpy references for the normalization and reduction kernels (f32_logsoftmax.wat,
f32_layernorm.wat, f32_reduce.wat), repeating each kernel's float32 operations in its order."""

from __future__ import annotations

import numpy as np

from .reference import softmax_sum, vexp, wasm_max
from .reference_elementwise import log

f32 = np.float32


def row_max(x: np.ndarray) -> np.ndarray:
    mx = np.full(x.shape[0], -np.inf, f32)
    for i in range(x.shape[1]):
        mx = wasm_max(mx, x[:, i])
    return mx


def logsoftmax(x: np.ndarray) -> np.ndarray:
    """f32_logsoftmax on [rows, n]: d = x - max; l = log(lane-ordered sum of exp(d)); d - l."""
    x = x.astype(f32)
    with np.errstate(all="ignore"):
        d = x - row_max(x)[:, None]
        total = softmax_sum(vexp(d))
        return d - log(total)[:, None]


def layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray | None, eps: float):
    """f32_layernorm on [rows, n]: (y, mean, inv_std) with the kernel's two lane-ordered passes."""
    x = x.astype(f32)
    n = f32(x.shape[1])
    with np.errstate(all="ignore"):
        mean = softmax_sum(x) / n
        d = x - mean[:, None]
        std = np.sqrt(softmax_sum(d * d) / n + f32(eps))
        y = (d / std[:, None]) * gamma[None, :]
        if beta is not None:
            y = y + beta[None, :]
        return y, mean, f32(1) / std


def rsum(x: np.ndarray, outer: int, r: int, inner: int, divisor: float) -> np.ndarray:
    """f32_rsum: [outer, r, inner] -> [outer, inner]."""
    x = x.astype(f32).reshape(outer, r, inner)
    with np.errstate(all="ignore"):
        if inner == 1:
            total = softmax_sum(x[:, :, 0])[:, None]
        else:
            total = np.zeros((outer, inner), f32)
            for j in range(r):
                total = total + x[:, j, :]
        return total / f32(divisor)
