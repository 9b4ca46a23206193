"""qs16_dynquant and qds16_f32_qc16w_gemm_{1x4,4x4}c2 (qs16_gemm.wat) bit-exact against scalar numpy
references: odd sizes (k and n not multiples of the tile), zero tensors, tiny and huge ranges, ties,
accumulators far past int32, and no byte written outside the outputs."""

import numpy as np
import pytest

from edgewasm.backend.qpacking import pack_qc16w_gemm

from .harness import KernelRunner, assert_same_bits
from .reference import clamp

f32 = np.float32
GUARD = 16


def dynquant_s16(x: np.ndarray) -> tuple[np.ndarray, np.float32]:
    """q = clip(rint(x / scale), -32767, 32767), scale = max|x| / 32767 (1 where that is 0)."""
    x = np.asarray(x, f32).reshape(-1)
    scale = f32(np.abs(x).max(initial=f32(0)) / f32(32767))
    scale = f32(1) if scale == 0 else scale
    return np.clip(np.rint(x / scale), -32767, 32767).astype(np.int16), scale


def gemm_s16(a, a_scale, w, w_scale, bias, lo, hi):
    """exact sum of int16 products (int64), then clamp(f32(acc) * f32(a_scale * w_scale) + bias)."""
    acc = a.astype(np.int64) @ w.astype(np.int64)
    scale = f32(a_scale) * w_scale.astype(f32)
    neutral = np.full(w.shape[1], -0.0, f32)
    y = acc.astype(f32) * scale[None, :] + (neutral if bias is None else bias.astype(f32))[None, :]
    assert y.dtype == f32
    return clamp(y, lo, hi)


def run_dynquant(x: np.ndarray):
    runner = KernelRunner("qs16_dynquant", pages=8)
    x_off = runner.put_at_end(x.astype(np.float32))  # any over-read traps
    region = runner.put(np.full(2 * x.size + 2 * GUARD, 0xA5, np.uint8), misalign=3)
    params = runner.put(np.full(8, 0xA5, np.uint8))
    runner.call("qs16_dynquant", x.size, x_off, region + GUARD, params)
    raw = np.frombuffer(runner.read_bytes(region, 2 * x.size + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + 2 * x.size:] == 0xA5).all(), "wrote outside q"
    assert (np.frombuffer(runner.read_bytes(params + 4, 4), np.uint8) == 0xA5).all()
    return raw[GUARD:GUARD + 2 * x.size].view("<i2"), runner.read(params, (), np.float32)


def check_dynquant(x):
    q, scale = run_dynquant(x)
    q_ref, scale_ref = dynquant_s16(x)
    assert_same_bits(scale, np.float32(scale_ref), "scale")
    np.testing.assert_array_equal(q, q_ref)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 33, 100, 1001])
@pytest.mark.parametrize("kind", ["normal", "positive", "negative", "zeros", "tiny", "huge", "subnormal", "small"])
def test_dynquant_matches_reference(n, kind):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    x = {"normal": x, "positive": np.abs(x) + 0.5, "negative": -np.abs(x) - 0.5, "zeros": x * 0,
         "tiny": x * np.float32(1e-30), "huge": x * np.float32(1e30),
         "subnormal": (x * np.float32(1e-41)).astype(np.float32),  # max|x| / 32767 underflows to 0
         "small": x * np.float32(1e-36)}[kind]  # a subnormal scale
    check_dynquant(x)


def test_dynquant_ties_round_half_to_even_and_range_ends():
    x = np.array([32767, -32767, 0.5, 1.5, 2.5, -2.5, 3.5, -0.0, 32766.5], np.float32)
    q, scale = run_dynquant(x)
    assert scale == 1.0
    np.testing.assert_array_equal(q, [32767, -32767, 0, 2, 2, -2, 4, 0, 32766])
    check_dynquant(x)


def test_dynquant_random_many():
    rng = np.random.default_rng(0)
    for _ in range(60):
        n = int(rng.integers(1, 300))
        x = rng.standard_normal(n) * rng.choice([1e-3, 1, 1e3]) + rng.choice([-1, 0, 1])
        check_dynquant(x.astype(np.float32))


KERNELS = ["qds16_f32_qc16w_gemm_1x4c2", "qds16_f32_qc16w_gemm_4x4c2"]


def run_gemm(a, a_scale, w, w_scale, bias, lo=-np.inf, hi=np.inf, kernel=KERNELS[0]):
    m, k = a.shape
    n = w.shape[1]
    runner = KernelRunner(kernel, pages=64)
    a_off = runner.put_at_end(a.astype("<i2")) if k else runner.put(np.zeros(1, "<i2"))  # over-reads trap
    s_off = runner.put(np.float32(a_scale).reshape(1))
    w_off = runner.put(pack_qc16w_gemm(w, w_scale, bias))
    c_off = runner.put(np.full(m * n + GUARD, np.nan, np.float32))
    runner.call(kernel, m, n, k, a_off, 2 * k, s_off, w_off, c_off, 4 * n, float(lo), float(hi))
    c = runner.read(c_off, (m * n + GUARD,), np.float32)
    assert np.isnan(c[m * n:]).all(), "wrote past C"
    return c[:m * n].reshape(m, n)


@pytest.mark.parametrize("m,k,n", [(1, 1, 1), (1, 2, 4), (2, 3, 5), (3, 7, 3), (1, 8, 4), (5, 9, 7), (4, 16, 8),
                                   (3, 17, 13), (2, 64, 10), (7, 100, 33), (1, 0, 3), (8, 24, 8), (9, 5, 6)])
@pytest.mark.parametrize("kernel", KERNELS)
def test_gemm_matches_reference(m, k, n, kernel):
    rng = np.random.default_rng(m * 1000 + k * 10 + n)
    for extreme in (False, True):
        if extreme:  # every product at +-32767^2: the sum leaves int32 after 2 terms
            a = np.full((m, k), 32767, np.int16) * rng.choice([-1, 1], (m, k)).astype(np.int16)
            w = np.full((k, n), -32767, np.int16)
        else:
            a = rng.integers(-32767, 32768, (m, k)).astype(np.int16)
            w = rng.integers(-32767, 32768, (k, n)).astype(np.int16)
        w_scale = (rng.random(n) * 1e-4 + 1e-6).astype(np.float32)
        bias = rng.standard_normal(n).astype(np.float32) if n % 2 else None
        got = run_gemm(a, f32(3e-5), w, w_scale, bias, kernel=kernel)
        assert_same_bits(got, gemm_s16(a, f32(3e-5), w, w_scale, bias, -np.inf, np.inf), f"{m}x{k}x{n}")


@pytest.mark.parametrize("kernel", KERNELS)
def test_gemm_accumulates_past_int32_exactly(kernel):
    k = 4099
    a = np.full((5, k), 32767, np.int16)
    w = np.full((k, 4), 32767, np.int16)
    w[:, 1] = -32767
    got = run_gemm(a, f32(1), w, np.ones(4, np.float32), None, kernel=kernel)
    exact = k * 32767 * 32767
    assert (got[:, 0] == np.float32(exact)).all() and (got[:, 1] == np.float32(-exact)).all()


@pytest.mark.parametrize("kernel", KERNELS)
def test_gemm_clamp_and_relu(kernel):
    rng = np.random.default_rng(5)
    a = rng.integers(-32767, 32768, (6, 11)).astype(np.int16)
    w = rng.integers(-32767, 32768, (11, 9)).astype(np.int16)
    w_scale = np.full(9, 1e-7, np.float32)
    bias = rng.standard_normal(9).astype(np.float32)
    for lo, hi in ((0.0, np.inf), (-0.5, 0.5)):
        assert_same_bits(run_gemm(a, f32(1e-3), w, w_scale, bias, lo, hi, kernel),
                         gemm_s16(a, f32(1e-3), w, w_scale, bias, lo, hi))
