"""Scalar numpy references for the elementwise kernels (f32_vunary.wat, f32_vbinary_nd.wat,
f32_vpow.wat), op by op in the kernels' order: each step is one float32 numpy operation (one
IEEE rounding, no FMA) standing for one wasm instruction. Constants are typed in again here
rather than parsed from the .wat files, so a typo on either side fails the tests."""

from __future__ import annotations

import numpy as np

from .reference import vexp, wasm_max, wasm_min

f32, i32, u32 = np.float32, np.int32, np.uint32
SIGN = u32(0x80000000)


def _hex(*values: str) -> list[np.float32]:
    return [f32(float.fromhex(v)) for v in values]


def _horner(coefficients, v):
    p = coefficients[0] * v + coefficients[1]
    for c in coefficients[2:]:
        p = p * v + c
    return p


def _select(mask, a, b):
    """v128.bitselect with a compare mask: a where mask, else b."""
    return np.where(mask, a, b).astype(f32)


def _copysign_or(r, x):
    """v128.or(r, x & 0x80000000): r is non-negative (or NaN), x gives the sign bit."""
    return (r.view(u32) | (x.view(u32) & SIGN)).view(f32)


LOG_POLY = _hex("0x1.204376p-4", "-0x1.d7a370p-4", "0x1.de4a34p-4", "-0x1.fcba9ep-4", "0x1.23d37ep-3",
                "-0x1.555ca0p-3", "0x1.999d58p-3", "-0x1.fffff8p-3", "0x1.555554p-2")
LOG_L2LO, LOG_L2HI = _hex("-0x1.bd0106p-13", "0x1.63p-1")
SQRT_HALF = f32(float.fromhex("0x1.6a09e6p-1"))
TANH_POLY = _hex("-0x1.75e1d4p-8", "0x1.52269cp-6", "-0x1.b83c5ap-5", "0x1.110726p-3", "-0x1.555532p-2")
ERF_SMALL = _hex("0x1.496bf6p-14", "-0x1.a3f7bap-11", "0x1.5405cep-8", "-0x1.b7f912p-6", "0x1.ce2cf8p-4",
                 "-0x1.81273ep-2", "0x1.06eba8p-3")
ERF_BIG = _hex("0x1.f73826p-6", "-0x1.700d7ep-3", "0x1.c0c23ep-2", "-0x1.12eb06p-1", "0x1.e81bc2p-3",
               "0x1.d7d962p-3", "-0x1.80e242p-2", "0x1.507596p-6", "0x1.1fa00cp-1", "0x1.fbd6ccp-14")
GELU_C, SQRT_2_OVER_PI, SIXTH = _hex("0x1.6e4e26p-5", "0x1.988454p-1", "0x1.555556p-3")


def log(x) -> np.ndarray:
    """$f32x4_log."""
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        sub = x < f32(2.0 ** -126)
        xs = _select(sub, x * f32(2.0 ** 23), x)
        e = (xs.view(i32) >> 23) - i32(126) - np.where(sub, i32(23), i32(0))
        m = ((xs.view(u32) & u32(0x007FFFFF)) | u32(0x3F000000)).view(f32)
        mask = m < SQRT_HALF
        e = (e - mask.astype(i32)).astype(i32)
        f = _select(mask, m + m, m) - f32(1)
        ef = e.astype(f32)
        z = f * f
        p = _horner(LOG_POLY, f)
        r = (p * f) * z
        r = r + ef * LOG_L2LO
        r = r + z * f32(-0.5)
        r = f + r
        r = r + ef * LOG_L2HI
    r = _select(np.isnan(x), x, r)
    r = _select(x == 0, f32(-np.inf), r)
    r = _select(x == np.inf, f32(np.inf), r)
    return _select(x < 0, f32(np.nan), r)


def sigmoid(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return f32(1) / (f32(1) + vexp(-x))


def tanh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        z = a * a
        p = _horner(TANH_POLY, z)
        small = ((p * z) * a) + a
        big = f32(1) - f32(2) / (vexp(a + a) + f32(1))
    return _copysign_or(_select(a < f32(0.625), small, big), x)


def erf(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = wasm_min(np.abs(x), f32(4))
        z = a * a
        small = a + a * _horner(ERF_SMALL, z)
        u = f32(1) / a
        big = f32(1) - vexp(-z) * _horner(ERF_BIG, u)
    return _copysign_or(_select(a < f32(1), small, big), x)


def gelu(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return (x * f32(0.5)) * (erf(x * SQRT_HALF) + f32(1))


def gelu_tanh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        inner = ((((x * x) * x) * GELU_C) + x) * SQRT_2_OVER_PI
        return (x * f32(0.5)) * (tanh(inner) + f32(1))


def lrelu(x, alpha) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return _select(x < 0, x * f32(alpha), x)


def hsigmoid(x, alpha, beta) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return wasm_min(wasm_max(x * f32(alpha) + f32(beta), f32(0)), f32(1))


def hswish(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return x * hsigmoid(x, SIXTH, f32(0.5))


def sqrt(x) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.sqrt(np.asarray(x, f32))


def power(x, y) -> np.ndarray:
    """$f32x4_pow: exp(y * log|x|) and its special cases, by select in the kernel's order."""
    x, y = np.broadcast_arrays(np.asarray(x, f32), np.asarray(y, f32))
    with np.errstate(all="ignore"):
        r = vexp(y * log(np.abs(x)))
        is_int = np.rint(y) == y
        half = y * f32(0.5)
        odd = is_int & (np.rint(half) != half)
    r = (r.view(u32) | np.where(odd, x.view(u32) & SIGN, u32(0))).view(f32)
    r = _select((x < 0) & (x > -np.inf) & ~is_int, f32(np.nan), r)
    r = _select((np.abs(x) == 1) & (np.abs(y) == np.inf), f32(1), r)
    return _select((y == 0) | (x == 1), f32(1), r)


BINARY_OPS = {  # f32_vbinary_nd op code -> reference on broadcast float32 operands
    0: lambda a, b: a + b,
    1: lambda a, b: a - b,
    2: lambda a, b: a * b,
    3: lambda a, b: a / b,
    4: wasm_max,
    5: wasm_min,
    6: lambda a, b: b - a,
    7: lambda a, b: b / a,
    8: power,
    9: lambda a, b: power(b, a),
}


def binary(op: int, a, b) -> np.ndarray:
    """f32_vbinary_nd: each element is one independent op, so numpy broadcasting reproduces it."""
    a, b = np.broadcast_arrays(np.asarray(a, f32), np.asarray(b, f32))
    with np.errstate(all="ignore"):
        return np.asarray(BINARY_OPS[op](a, b), f32)
