"""x_cumprod (wasm-kernels/x_scan.wat) in every numeric dtype against a scalar reference: odd sizes,
exclusive/reverse, wrapping integers, f32-precision products, NaN, signed zeros and infinities."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from edgewasm.dtypes import KERNEL_CODES

from .harness import KernelRunner

FLOATS = ("float32", "float64", "float16", "bfloat16")
NUMERIC = [d for d in KERNEL_CODES if d != "bool"]
SIZES = [(1, 1, 1), (2, 5, 1), (3, 7, 2), (2, 17, 3), (1, 33, 1), (4, 1, 5)]


def np_dtype(name: str):
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def reference(x: np.ndarray, outer: int, r: int, inner: int, exclusive: bool, reverse: bool) -> np.ndarray:
    """Scalar loop: float64 in f64, other floats with each partial product rounded to f32, integers
    wrapping modulo 2^64 then to the dtype's width."""
    name = "bfloat16" if x.dtype == ml_dtypes.bfloat16 else x.dtype.name
    x = x.reshape(outer, r, inner)
    out = np.zeros_like(x)
    order = list(range(r - 1, -1, -1)) if reverse else list(range(r))
    bits = x.dtype.itemsize * 8
    for o in range(outer):
        for i in range(inner):
            if name in FLOATS:
                acc = 1.0
                for j in order:
                    if exclusive:
                        out[o, j, i] = acc
                    with np.errstate(all="ignore"):
                        acc = acc * float(x[o, j, i])
                        if name != "float64":
                            acc = float(np.float32(acc))
                    if not exclusive:
                        out[o, j, i] = acc
            else:
                acc = 1
                for j in order:
                    if exclusive:
                        out[o, j, i] = _wrap(acc, bits, name)
                    acc = (acc * int(x[o, j, i])) % (1 << 64)
                    if not exclusive:
                        out[o, j, i] = _wrap(acc, bits, name)
    return out


def _wrap(value: int, bits: int, name: str) -> int:
    value %= 1 << bits
    if not name.startswith("u") and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def run_cumprod(x, outer, r, inner, exclusive, reverse):
    runner = KernelRunner("x_cumprod")
    name = "bfloat16" if x.dtype == ml_dtypes.bfloat16 else x.dtype.name
    x_off = runner.put_at_end(x)
    y_off = runner.alloc(x.nbytes)
    runner.call("x_cumprod", KERNEL_CODES[name], outer, r, inner, x_off, y_off, int(exclusive), int(reverse))
    return runner.read(y_off, (outer, r, inner), x.dtype)


def values(rng, name: str, shape) -> np.ndarray:
    target = np_dtype(name)
    if name in FLOATS:
        v = (rng.standard_normal(shape) * 1.5).astype(target)
        flat = v.reshape(-1)
        picks = rng.random(flat.size) < 0.05
        flat[picks] = rng.choice(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]), picks.sum()).astype(target)
        return v
    info = np.iinfo(target)
    lo, hi = (0, 9) if info.min == 0 else (-9, 9)
    v = rng.integers(lo, hi, shape, dtype=target, endpoint=True)
    v.reshape(-1)[::7] = rng.integers(info.min, info.max, v.size, dtype=target, endpoint=True)[::7]
    return v


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind == "f" or a.dtype == ml_dtypes.bfloat16:
        fa, fb = a.astype(np.float64), b.astype(np.float64)
        nan = np.isnan(fa) & np.isnan(fb)
        return bool(np.all(nan | ((fa == fb) & (np.signbit(fa) == np.signbit(fb)))))
    return bool(np.array_equal(a, b))


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_x_cumprod_matches_reference(dtype, exclusive, reverse):
    rng = np.random.default_rng([NUMERIC.index(dtype), exclusive, reverse])
    for outer, r, inner in SIZES:
        x = values(rng, dtype, (outer, r, inner))
        got = run_cumprod(x, outer, r, inner, exclusive, reverse)
        want = reference(x, outer, r, inner, exclusive, reverse)
        assert same_bits(got, want), f"{dtype} {(outer, r, inner)}\n{got}\n{want}"


def test_x_cumprod_precision_and_wrapping():
    # float32 multiplies in float32: (1 + 2^-23)^2 rounds to 1 + 2^-22
    e = np.float32(1 + 2**-23)
    got = run_cumprod(np.array([e, e], np.float32), 1, 2, 1, 0, 0).reshape(-1)
    assert got.tolist() == [float(e), float(np.float32(e * e))]
    # float64 in float64
    assert run_cumprod(np.array([1, 2, 3, 0.5], np.float64), 1, 4, 1, 1, 1).reshape(-1).tolist() == [3, 1.5, 0.5, 1]
    got = run_cumprod(np.array([2**16, 2**15, 2], np.int32), 1, 3, 1, 0, 0).reshape(-1)
    assert got.tolist() == [2**16, -2**31, 0]
    got = run_cumprod(np.array([2**32, 2**32 - 1], np.uint64), 1, 2, 1, 0, 0).reshape(-1)
    assert got.tolist() == [2**32, (2**64 - 2**32) % 2**64]
    got = run_cumprod(np.array([1, 2, 3], np.int32), 1, 3, 1, 1, 0).reshape(-1)
    assert got.tolist() == [1, 1, 2]


@pytest.mark.parametrize("dtype, bits", [(np.float32, 0x7fc00000), (np.float64, 0x7ff8000000000000)])
def test_x_cumprod_nan_is_canonical(dtype, bits):
    got = run_cumprod(np.array([np.inf, 0, 2, -np.nan], dtype), 1, 4, 1, 0, 0).reshape(-1)
    raw = got.view(np.uint32 if dtype == np.float32 else np.uint64)
    assert got[0] == np.inf and [int(v) for v in raw[1:]] == [bits] * 3
