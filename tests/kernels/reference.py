"""Scalar numpy references that repeat each kernel's float32 operations in the kernel's order.

Every function here must produce the kernel's exact bits, so each step is a float32 numpy op
(one IEEE rounding, no FMA) matching one wasm instruction. The constants are typed in again
here rather than parsed from the .wat files, so a typo on either side fails the tests.
"""

from __future__ import annotations

import numpy as np

f32 = np.float32
u32 = np.uint32


def wasm_max(a, b) -> np.ndarray:
    """f32.max / f32x4.max: NaN if either is NaN, and +0.0 beats -0.0 in either order."""
    a, b = np.broadcast_arrays(np.asarray(a, f32), np.asarray(b, f32))
    both_zero = (a == 0) & (b == 0)
    return np.where(both_zero, (a.view(u32) & b.view(u32)).view(f32), np.maximum(a, b))


def wasm_min(a, b) -> np.ndarray:
    """f32.min / f32x4.min: NaN if either is NaN, and -0.0 beats +0.0 in either order."""
    a, b = np.broadcast_arrays(np.asarray(a, f32), np.asarray(b, f32))
    both_zero = (a == 0) & (b == 0)
    return np.where(both_zero, (a.view(u32) | b.view(u32)).view(f32), np.minimum(a, b))


def clamp(x, lo, hi) -> np.ndarray:
    return wasm_min(wasm_max(x, f32(lo)), f32(hi))


def gemm(a: np.ndarray, w: np.ndarray, bias: np.ndarray | None, lo: float, hi: float) -> np.ndarray:
    """f32_gemm_*: acc = bias[j]; acc = acc + a[i, kk] * w[kk, j] for kk ascending; clamp."""
    m, k = a.shape
    n = w.shape[1]
    acc = np.zeros((m, n), f32) if bias is None else np.repeat(bias[None, :].astype(f32), m, axis=0)
    with np.errstate(over="ignore", invalid="ignore"):
        for kk in range(k):
            acc = acc + a[:, kk, None] * w[kk][None, :]
    assert acc.dtype == f32
    return clamp(acc, lo, hi)


# f32_vexp constants (see wasm-kernels/f32_softmax.wat)
EXP_LO = f32(float.fromhex("-0x1.5BF5BAp+6"))  # -86.98997: below -> +0.0
EXP_HI = f32(89.0)
LOG2E = f32(float.fromhex("0x1.715476p+0"))
LN2_HI = f32(float.fromhex("0x1.62E400p-1"))
LN2_LO = f32(float.fromhex("0x1.7F7D1Cp-20"))
# coefficients of 2*exp(r), highest degree first
EXP_POLY = [f32(float.fromhex(h)) for h in
            ("0x1.6C026Ap-9", "0x1.125D80p-6", "0x1.555710p-4", "0x1.555456p-2", "0x1.FFFFFCp-1",
             "0x1p+1", "0x1p+1")]


def vexp(x) -> np.ndarray:
    """f32_vexp, op by op."""
    x = np.asarray(x, f32)
    with np.errstate(over="ignore", invalid="ignore"):
        xc = wasm_min(wasm_max(x, EXP_LO), EXP_HI)
        n = np.rint(xc * LOG2E)  # f32x4.nearest: round half to even
        r = (xc - n * LN2_HI) - n * LN2_LO
        p = EXP_POLY[0] * r + EXP_POLY[1]
        for c in EXP_POLY[2:]:
            p = p * r + c
        n_i32 = np.where(np.isnan(n), f32(0), n).astype(np.int32)  # i32x4.trunc_sat_f32x4_s
        scale = ((n_i32 + 126) << 23).view(f32)
        y = p * scale
    assert y.dtype == f32
    return np.where(x < EXP_LO, f32(0), y)


def softmax(x: np.ndarray) -> np.ndarray:
    """f32_softmax on a [rows, n] array: exact max, exp, 4 lane partial sums, tail, divide."""
    rows, n = x.shape
    x = x.astype(f32)
    mx = np.full(rows, -np.inf, f32)
    for i in range(n):
        mx = wasm_max(mx, x[:, i])
    with np.errstate(invalid="ignore"):
        e = vexp(x - mx[:, None])
    with np.errstate(invalid="ignore", divide="ignore"):
        return e / softmax_sum(e)[:, None]


def softmax_sum(e: np.ndarray) -> np.ndarray:
    """f32_softmax's row sums: 4 lane partial sums, (s0 + s1) + (s2 + s3), then the tail in order."""
    rows, n = e.shape
    vec = n - n % 4
    lanes = np.zeros((rows, 4), f32)
    with np.errstate(invalid="ignore", over="ignore"):
        for t in range(0, vec, 4):
            lanes = lanes + e[:, t:t + 4]
        total = (lanes[:, 0] + lanes[:, 1]) + (lanes[:, 2] + lanes[:, 3])
        for i in range(vec, n):
            total = total + e[:, i]
    return total


def vadd(a, b) -> np.ndarray:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.asarray(a, f32) + np.asarray(b, f32)


def transpose(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.T)
