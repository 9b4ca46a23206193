"""Scalar numpy references for the op-coded kernel $f32_vunary_op of wasm-kernels/f32_vunary.wat
(trigonometric, hyperbolic and their inverses, and the exp-based activations), op by op in the
kernel's order: each step is one float32 numpy operation (one IEEE rounding, no FMA) standing for
one wasm instruction. Constants are typed in again here, not parsed from the .wat file."""

from __future__ import annotations

import numpy as np

from .reference import vexp, wasm_max, wasm_min
from .reference_elementwise import _copysign_or, _hex, _horner, _select, log, sigmoid, tanh

f32, i32, u32 = np.float32, np.int32, np.uint32
SIGN = u32(0x80000000)

# Cody-Waite: pi/2 = P1 + P2 + P3 + P4; P1 and P2 have 5 significant bits, so n * P1 and n * P2 are exact
# for the quadrant numbers n <= N_MAX (|x| <= 1.05e6); past N_MAX sin, cos and tan are NaN.
TWO_OVER_PI = f32(float.fromhex("0x1.45f306p-1"))
N_MAX = f32(671088)
PIO2_PARTS = _hex("0x1.9p+0", "0x1.1p-7", "-0x1.28p-18", "-0x1.777a5cp-25")
SIN_POLY = _hex("-0x1.9943f2p-13", "0x1.11073cp-7", "-0x1.555546p-3")
COS_POLY = _hex("0x1.99eb9cp-16", "-0x1.6c0c34p-10", "0x1.55554ap-5")
ASIN_POLY = _hex("0x1.5966a4p-5", "0x1.8c2fc6p-6", "0x1.747d8ep-5", "0x1.3301ecp-4", "0x1.5555c8p-3")
ATAN_POLY = _hex("0x1.49e1a2p-4", "-0x1.1c370ap-3", "0x1.9924bep-3", "-0x1.555454p-2")
SINH_POLY = _hex("0x1.ab3c5ep-13", "0x1.10f77cp-7", "0x1.555598p-3")
ASINH_POLY = _hex("0x1.49adccp-6", "-0x1.5dcb02p-5", "0x1.329362p-4", "-0x1.55535ap-3")
ACOSH_POLY = _hex("0x1.cd4aacp-10", "-0x1.ed4ef2p-8", "0x1.b16feap-6", "-0x1.e2b3fap-4", "0x1.6a09e6p+0")
ATANH_POLY = _hex("0x1.743424p-3", "0x1.51a97ep-4", "0x1.2c6c8ep-3", "0x1.992764p-3", "0x1.55566p-2")
PIO2, PIO4, PI, LN2 = _hex("0x1.921fb6p+0", "0x1.921fb6p-1", "0x1.921fb6p+1", "0x1.62e43p-1")
TAN_3PI_8, TAN_PI_8 = _hex("0x1.3504f4p+1", "0x1.a8279ap-2")
BIG = f32(4096.0)  # asinh / acosh: log(2|x|) from here on (x*x would overflow past 1.8e19)


def _i32(v) -> np.ndarray:
    """i32x4.trunc_sat_f32x4_s: NaN -> 0, out of range saturates."""
    v = np.asarray(v, f32)
    with np.errstate(invalid="ignore"):
        out = np.where(np.isnan(v), 0.0, np.clip(v.astype(np.float64), -2.0**31, 2.0**31 - 1))
    return out.astype(np.int64).astype(i32)


def _reduce(a):
    """$f32x4_pio2_reduce on a = |x|: (n as f32, r = a - n*pi/2, z = r*r)."""
    n = np.rint(a * TWO_OVER_PI)
    r = a
    for p in PIO2_PARTS:
        r = r - n * p
    return n, r, r * r


def _sin_poly(r, z):
    return ((_horner(SIN_POLY, z) * z) * r) + r


def _cos_poly(z):
    return (((_horner(COS_POLY, z) * z) * z) - (z * f32(0.5))) + f32(1)


def sin_cos(x, cos: bool) -> np.ndarray:
    """$f32x4_sincos: quadrant q = n (+1 for cos); sin(r) for even q, cos(r) for odd; negated for
    q & 2 (and for sin, by the sign of x); NaN where n > N_MAX."""
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        n, r, z = _reduce(a)
        q = _i32(n) + i32(1 if cos else 0)
        res = _select((q & 1) != 0, _cos_poly(z), _sin_poly(r, z))
        sign = (q.astype(u32) << u32(30)) & SIGN
        if not cos:
            sign = sign ^ (x.view(u32) & SIGN)
        res = (res.view(u32) ^ sign).view(f32)
        return _select(n > N_MAX, f32(np.nan), res)


def sin(x):
    return sin_cos(x, False)


def cos(x):
    return sin_cos(x, True)


def tan(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        n, r, z = _reduce(a)
        s, c = _sin_poly(r, z), _cos_poly(z)
        odd = (_i32(n) & 1) != 0
        res = _select(odd, -(c / s), s / c)
        res = (res.view(u32) ^ (x.view(u32) & SIGN)).view(f32)
        return _select(n > N_MAX, f32(np.nan), res)


def _asin_core(a):
    """(t, big): t = asin(a) for a <= 0.5, else asin(sqrt((1 - a) / 2)) (NaN for a > 1)."""
    big = a > f32(0.5)
    z = _select(big, (f32(1) - a) * f32(0.5), a * a)
    w = _select(big, np.sqrt(z), a)
    return ((_horner(ASIN_POLY, z) * z) * w) + w, big


def asin(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        t, big = _asin_core(a)
        return _copysign_or(_select(big, PIO2 - (t + t), t), x)


def acos(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        t, big = _asin_core(a)
        two_t = t + t
        res = PIO2 - _copysign_or(t, x)
        res = _select(x > f32(0.5), two_t, res)
        return _select(x < f32(-0.5), PI - two_t, res)


def atan(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        far, mid = a > TAN_3PI_8, a > TAN_PI_8
        u = _select(far, f32(-1) / a, _select(mid, (a - f32(1)) / (a + f32(1)), a))
        y0 = _select(far, PIO2, _select(mid, PIO4, f32(0)))
        z = u * u
        res = y0 + (((_horner(ATAN_POLY, z) * z) * u) + u)
        return _copysign_or(res, x)


def _exp_halves(a):
    """(t * 0.5) * t and (0.5 / t) / t with t = exp(a / 2): e^a / 2 and e^-a / 2 without overflow
    before the result does."""
    t = vexp(a * f32(0.5))
    return (t * f32(0.5)) * t, (f32(0.5) / t) / t


def sinh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        z = a * a
        small = ((_horner(SINH_POLY, z) * z) * a) + a
        up, down = _exp_halves(a)
        return _copysign_or(_select(a < f32(1), small, up - down), x)


def cosh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        up, down = _exp_halves(np.abs(x))
        return up + down


def asinh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        z = a * a
        small = ((_horner(ASINH_POLY, z) * z) * a) + a
        huge = a > BIG
        w = _select(huge, a, a + np.sqrt(z + f32(1)))
        mid = log(w)
        mid = _select(huge, mid + LN2, mid)
        return _copysign_or(_select(a < f32(0.5), small, mid), x)


def acosh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        d = x - f32(1)
        near = _horner(ACOSH_POLY, d) * np.sqrt(d)
        huge = x > BIG
        w = _select(huge, x, x + np.sqrt(d * (x + f32(1))))
        mid = log(w)
        mid = _select(huge, mid + LN2, mid)
        return _select(d < f32(0.5), near, mid)


def atanh(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        a = np.abs(x)
        z = a * a
        small = ((_horner(ATANH_POLY, z) * z) * a) + a
        big = log((f32(1) + a) / (f32(1) - a)) * f32(0.5)
        return _copysign_or(_select(a < f32(0.5), small, big), x)


def log1p_exp_neg_abs(x):
    """log(1 + exp(-|x|)) by Goldberg's log1p: u = exp(-|x|), v = 1 + u,
    log(v) * (u / (v - 1)), or u where v == 1."""
    u = vexp(-np.abs(x))
    v = f32(1) + u
    return _select(v == f32(1), u, log(v) * (u / (v - f32(1))))


def softplus(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return wasm_max(x, f32(0)) + log1p_exp_neg_abs(x)


def softsign(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return x / (f32(1) + np.abs(x))


def expm1(x) -> np.ndarray:
    """Kahan's expm1: u = exp(x); ((u - 1) * x) / log(u), x where u == 1, -1 where u == 0."""
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        u = vexp(x)
        r = ((u - f32(1)) * x) / log(u)
        r = _select(u == f32(1), x, r)
        return _select(u == f32(0), f32(-1), r)


def elu(x, alpha) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return _select(x < 0, expm1(x) * f32(alpha), x)


def selu(x, alpha, gamma) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return _select(x > 0, x, expm1(x) * f32(alpha)) * f32(gamma)


def celu(x, alpha) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return _select(x < 0, expm1(x / f32(alpha)) * f32(alpha), x)


def mish(x) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return x * tanh(softplus(x))


def thresholded_relu(x, alpha) -> np.ndarray:
    x = np.asarray(x, f32)
    return _select(x > f32(alpha), x, f32(0))


def shrink(x, lambd, bias) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        res = _select(x > f32(lambd), x - f32(bias), f32(0))
        return _select(x < -f32(lambd), x + f32(bias), res)


def swish(x, alpha) -> np.ndarray:
    x = np.asarray(x, f32)
    with np.errstate(all="ignore"):
        return x * sigmoid(f32(alpha) * x)


# op code of $f32_vunary_op -> (reference, number of f32 parameters)
OPS = {
    0: (sin, 0), 1: (cos, 0), 2: (tan, 0), 3: (asin, 0), 4: (acos, 0), 5: (atan, 0),
    6: (sinh, 0), 7: (cosh, 0), 8: (asinh, 0), 9: (acosh, 0), 10: (atanh, 0),
    11: (softplus, 0), 12: (softsign, 0), 13: (elu, 1), 14: (selu, 2), 15: (celu, 1), 16: (mish, 0),
    17: (thresholded_relu, 1), 18: (shrink, 2), 19: (swish, 1),
}
