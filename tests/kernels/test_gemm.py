"""f32_gemm_4x8 (both loops), f32_gemm_2x16 and f32_gemm_2x16_u4 (its Cranelift loops), f32_gemm_1x8, f32_gemm_1x32 and f32_gemm_1x32_u4 (its unrolled loop): bit-exact against the reference, odd sizes, strides, guards."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgewasm.backend.packing import pack_f32_gemm

from . import reference as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

GEMMS = ("f32_gemm_4x8", "f32_gemm_4x8_ldsplat", "f32_gemm_2x16", "f32_gemm_2x16_u4", "f32_gemm_1x8", "f32_gemm_1x32", "f32_gemm_1x32_u4")
INF = float("inf")
GUARD = 64  # bytes checked untouched before and after C


def run_gemm(runner, kernel, a, w, bias, lo, hi, a_pad=0, c_pad=0, a_at_end=False):
    """Run one gemm; returns C and asserts no byte of C's buffer outside the m x n values changed."""
    m, k = a.shape
    n = w.shape[1]
    a_stride, c_stride = (k + a_pad) * 4, (n + c_pad) * 4
    a_rows = np.zeros((m, k + a_pad), np.float32)
    a_rows[:, :k] = a
    a_rows[:, k:] = np.nan  # padding must never be read
    a_flat = a_rows.reshape(-1)[: max(0, (m - 1) * (k + a_pad) + k)]
    a_off = runner.put_at_end(a_flat) if a_at_end else runner.put(a_flat)
    w_off = runner.put(pack_f32_gemm(w, bias))
    c_bytes = (m - 1) * c_stride + n * 4
    guard_region = np.random.default_rng(m * 1000 + n).integers(0, 256, c_bytes + 2 * GUARD, np.uint8)
    region_off = runner.put(guard_region)
    c_off = region_off + GUARD
    runner.call(kernel, m, n, k, a_off, a_stride, w_off, c_off, c_stride, float(lo), float(hi))
    after = np.frombuffer(runner.read_bytes(region_off, guard_region.size), np.uint8).copy()
    c = np.empty((m, n), np.float32)
    for i in range(m):
        row = slice(GUARD + i * c_stride, GUARD + i * c_stride + n * 4)
        c[i] = after[row].view(np.float32)
        after[row] = guard_region[row]
    np.testing.assert_array_equal(after, guard_region, err_msg=f"{kernel} wrote outside C's m x n values")
    return c


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 9])
@pytest.mark.parametrize("n", [1, 3, 7, 8, 9, 15, 16, 17, 31, 33, 48, 64, 71, 100])
def test_bit_exact_odd_sizes_strided(kernel, m, n):
    rng = np.random.default_rng([m, n])
    for k in [1, 2, 3, 5, 8, 17, 64]:
        runner = KernelRunner(kernel)
        a = interesting_f32(rng, (m, k))
        w = interesting_f32(rng, (k, n))
        bias = rng.standard_normal(n).astype(np.float32)
        c = run_gemm(runner, kernel, a, w, bias, -INF, INF, a_pad=3, c_pad=5, a_at_end=(k % 2 == 1))
        assert_same_bits(c, ref.gemm(a, w, bias, -INF, INF), f"{kernel} m={m} n={n} k={k}")


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("lo, hi", [(0.0, INF), (-1.0, 1.0), (0.0, 6.0), (-INF, -0.5), (0.0, -0.0), (1.0, -1.0)])
def test_clamp(kernel, lo, hi):
    """max with min first, then min with max: with lo > hi every output is hi."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((6, 13)).astype(np.float32)
    w = rng.standard_normal((13, 19)).astype(np.float32)
    bias = rng.standard_normal(19).astype(np.float32)
    c = run_gemm(KernelRunner(kernel), kernel, a, w, bias, lo, hi)
    assert_same_bits(c, ref.gemm(a, w, bias, lo, hi))
    assert c.min() >= min(lo, hi) and c.max() <= hi


@pytest.mark.parametrize("kernel", GEMMS)
def test_k_zero_gives_clamped_bias(kernel):
    bias = np.array([-2, -1, -0.0, 0, 1, 2, 3, 4, 5], np.float32)
    c = run_gemm(KernelRunner(kernel), kernel, np.zeros((3, 0), np.float32),
                 np.zeros((0, 9), np.float32), bias, 0.0, 4.0)
    assert_same_bits(c, np.tile(np.array([0, 0, 0, 0, 1, 2, 3, 4, 4], np.float32), (3, 1)))


@pytest.mark.parametrize("kernel", GEMMS)
def test_nan_propagates_through_clamp(kernel):
    a = np.ones((5, 2), np.float32)
    a[2, 1] = np.nan
    w = np.ones((2, 3), np.float32)
    c = run_gemm(KernelRunner(kernel), kernel, a, w, None, 0.0, INF)
    assert np.isnan(c[2]).all() and not np.isnan(np.delete(c, 2, axis=0)).any()


@pytest.mark.parametrize("kernel", GEMMS)
def test_accuracy_against_float64(kernel):
    rng = np.random.default_rng(11)
    a = rng.standard_normal((9, 200)).astype(np.float32)
    w = rng.standard_normal((200, 37)).astype(np.float32)
    bias = rng.standard_normal(37).astype(np.float32)
    c = run_gemm(KernelRunner(kernel, pages=8), kernel, a, w, bias, -INF, INF)
    exact = a.astype(np.float64) @ w.astype(np.float64) + bias
    magnitude = np.abs(a).astype(np.float64) @ np.abs(w) + np.abs(bias)
    assert (np.abs(c - exact) <= 1e-5 * magnitude).all()


f32_values = st.floats(width=32, allow_nan=True, allow_infinity=True)
bounds = st.sampled_from([(-INF, INF), (0.0, INF), (0.0, 6.0), (-1.0, 1.0), (-0.0, 0.0), (0.0, -0.0),
                          (1.0, -1.0), (-0.0, -0.0), (-INF, -0.0)])


@settings(max_examples=50, deadline=None)
@given(m=st.integers(1, 11), n=st.integers(1, 75), k=st.integers(0, 24), pads=st.tuples(st.integers(0, 3), st.integers(0, 3)),
       bound=bounds, data=st.data())
def test_property_all_kernels_match_reference(m, n, k, pads, bound, data):
    a = data.draw(hnp.arrays(np.float32, (m, k), elements=f32_values))
    w = data.draw(hnp.arrays(np.float32, (k, n), elements=f32_values))
    bias = data.draw(hnp.arrays(np.float32, (n,), elements=f32_values))
    expected = ref.gemm(a, w, bias, *bound)
    results = []
    for kernel in GEMMS:
        c = run_gemm(KernelRunner(kernel), kernel, a, w, bias, *bound, a_pad=pads[0], c_pad=pads[1])
        assert_same_bits(c, expected, kernel)
        results.append(c)
    for kernel, c in zip(GEMMS[1:], results[1:]):
        assert_same_bits(c, results[0], f"{kernel} vs {GEMMS[0]}")


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("lo, hi", [(0.0, INF), (-0.0, INF), (-INF, -0.0), (-INF, 0.0), (-0.0, -0.0), (0.0, 0.0),
                                    (-0.0, 0.0), (0.0, -0.0), (-INF, INF)])
def test_clamp_keeps_wasm_signed_zeros(kernel, lo, hi):
    """The epilogue's clamp (f32_clamp.wat: pmax/pmin and two fix-ups) gives f32x4.max/min's signed
    zeros for every pairing of a +-0 output with a +-0 bound (k = 0: each output is its bias)."""
    bias = np.array([-0.0, 0.0, -0.0, 0.0, -1.0, 1.0, -0.0, 0.0, 2.0], np.float32)
    c = run_gemm(KernelRunner(kernel), kernel, np.zeros((5, 0), np.float32), np.zeros((0, 9), np.float32), bias, lo, hi)
    assert_same_bits(c, ref.gemm(np.zeros((5, 0), np.float32), np.zeros((0, 9), np.float32), bias, lo, hi))
