"""qu8_qc7w_gemm_{4x8,1x8}c4_relaxed (wasm-kernels/qu8_gemm_relaxed.wat, the `--simd relaxed` tier):
bit-exact against the scalar requantizing GEMM reference (reference_quant.qu8_gemm, the same one the
baseline kernels meet) for weights in [-64, 63], over odd sizes, zero points at both ends,
saturation, strides and k tails; exact writes; A read only inside its rows."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.qpacking import (QC7W_KERNEL, QC7W_KERNELS, pack_qu8_qc7w_gemm_nr8c4, qu8_gemm_call,
                                       qu8_gemm_kernel)

from . import reference_quant as ref
from .harness import KernelRunner

GUARD = 32


def run_relaxed(a, a_zp, w, bias, mult, c_zp, qmin=0, qmax=255, a_pad=0, c_pad=0, kernel=QC7W_KERNEL):
    m, k = a.shape
    n = w.shape[1]
    runner = KernelRunner(kernel)
    a_stride, c_stride = k + a_pad, n + c_pad
    rows = np.full((m, a_stride), 0xEE, np.uint8)
    rows[:, :k] = a
    a_off = runner.put_at_end(rows.reshape(-1)[: (m - 1) * a_stride + k])  # any over-read of A traps
    w_off = runner.put(pack_qu8_qc7w_gemm_nr8c4(w, bias, mult, a_zp))
    c_bytes = (m - 1) * c_stride + n
    sentinel = np.random.default_rng(m * 100 + n).integers(0, 256, c_bytes + 2 * GUARD).astype(np.uint8)
    region = runner.put(sentinel, misalign=1)
    runner.call(kernel, *qu8_gemm_call(kernel, m, n, k, a_off, a_stride, a_zp, w_off, region + GUARD,
                                            c_stride, c_zp, qmin, qmax))
    after = np.frombuffer(runner.read_bytes(region, sentinel.size), np.uint8).copy()
    c = np.empty((m, n), np.uint8)
    for i in range(m):
        row = slice(GUARD + i * c_stride, GUARD + i * c_stride + n)
        c[i] = after[row]
        after[row] = sentinel[row]
    np.testing.assert_array_equal(after, sentinel, err_msg="the relaxed GEMM wrote outside C")
    return c


def random_case(rng, m, n, k, zp=None):
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    w = rng.integers(-64, 64, (k, n)).astype(np.int8)
    bias = rng.integers(-20000, 20000, n).astype(np.int32)
    mult = (rng.random(n) * 2e-4 + 1e-6).astype(np.float32)
    return a, int(rng.integers(0, 256)) if zp is None else zp, w, bias, mult, int(rng.integers(0, 256))


@pytest.mark.parametrize("kernel", QC7W_KERNELS)
@pytest.mark.parametrize("m", [1, 3, 4, 5, 9])
@pytest.mark.parametrize("n", [1, 5, 8, 9, 13, 16, 21])
def test_bit_exact_odd_sizes(kernel, m, n):
    rng = np.random.default_rng([m, n, 7])
    for k in [0, 1, 3, 4, 7, 15, 16, 17, 24, 31, 48, 70]:
        case = random_case(rng, m, n, k)
        got = run_relaxed(*case, a_pad=2, c_pad=3, kernel=kernel)
        np.testing.assert_array_equal(got, ref.qu8_gemm(*case, 0, 255), err_msg=f"m={m} n={n} k={k}")


@pytest.mark.parametrize("kernel", QC7W_KERNELS)
@pytest.mark.parametrize("zp", [0, 128, 255])
def test_extreme_operands(kernel, zp):
    """A at 0 and 255 against weights at -64 and 63: the largest |a * b| pairs a relaxed dot sees."""
    rng = np.random.default_rng(zp)
    a = rng.choice(np.array([0, 255], np.uint8), (6, 67))
    w = rng.choice(np.array([-64, 63], np.int8), (67, 11))
    bias = rng.integers(-1000, 1000, 11).astype(np.int32)
    mult = np.full(11, 1e-5, np.float32)
    np.testing.assert_array_equal(run_relaxed(a, zp, w, bias, mult, 128, kernel=kernel),
                                  ref.qu8_gemm(a, zp, w, bias, mult, 128, 0, 255))


@pytest.mark.parametrize("kernel", QC7W_KERNELS)
def test_saturates_and_narrows_to_bounds(kernel):
    rng = np.random.default_rng(5)
    a, a_zp, w, bias, _, _ = random_case(rng, 6, 9, 33)
    got = run_relaxed(a, a_zp, w, bias, np.full(9, 1e6, np.float32), 0, kernel=kernel)
    assert set(np.unique(got)) <= {0, 255} and got.min() == 0 and got.max() == 255
    mult = np.full(9, 1e-4, np.float32)
    got = run_relaxed(a, a_zp, w, bias, mult, 100, qmin=100, qmax=200, kernel=kernel)
    np.testing.assert_array_equal(got, ref.qu8_gemm(a, a_zp, w, bias, mult, 100, 100, 200))


def test_packing_refuses_8_bit_weights_and_selection_falls_back():
    w = np.full((8, 16), 64, np.int8)
    with pytest.raises(TypeError, match="qc7w"):
        pack_qu8_qc7w_gemm_nr8c4(w, np.zeros(16, np.int32), np.ones(16, np.float32), 0)
    assert qu8_gemm_kernel(16, 16, relaxed=True, w=w)[0] == "qu8_qc8w_gemm_4x8c2"
    assert qu8_gemm_kernel(16, 16, relaxed=True, w=w - 1)[0] == QC7W_KERNEL
    assert qu8_gemm_kernel(3, 16, relaxed=True, w=w - 1)[0] == "qu8_qc7w_gemm_1x8c4_relaxed"
    assert qu8_gemm_kernel(3, 16, relaxed=True, w=w)[0] == "qu8_qc8w_gemm_1x4c2"
    assert qu8_gemm_kernel(16, 4, relaxed=True, w=w - 1)[0] == "qu8_qc8w_gemm_4x4c2"
    assert qu8_gemm_kernel(16, 16, relaxed=False, w=w - 1)[0] == "qu8_qc8w_gemm_4x8c2"


@pytest.mark.parametrize("kernel", QC7W_KERNELS)
def test_pmin_pmax_clamp_keeps_the_bits_at_signed_zero_and_infinity(kernel):
    """The epilogue clamps with pmax/pmin: a product that underflows to -0 (a negative sum times a
    subnormal multiplier) and one that overflows to +-inf still give the reference's bytes."""
    rng = np.random.default_rng(11)
    a, a_zp, w, bias, _, _ = random_case(rng, 5, 12, 40)
    for mult, c_zp, qmin, qmax in ((1e-45, 0, 0, 255), (1e-45, 7, 7, 200), (3e38, 128, 0, 255), (3e38, 0, 0, 255)):
        m = np.full(12, mult, np.float32)
        with np.errstate(over="ignore"):  # the reference's products overflow to inf on purpose
            expected = ref.qu8_gemm(a, a_zp, w, bias, m, c_zp, qmin, qmax)
        np.testing.assert_array_equal(run_relaxed(a, a_zp, w, bias, m, c_zp, qmin, qmax, kernel=kernel), expected,
                                      err_msg=f"M={mult}")


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), n=st.integers(1, 20), k=st.integers(0, 80), seed=st.integers(0, 2**32 - 1))
def test_property_agrees_with_reference(m, n, k, seed):
    case = random_case(np.random.default_rng(seed), m, n, k)
    expected = ref.qu8_gemm(*case, 0, 255)
    for kernel in QC7W_KERNELS:
        np.testing.assert_array_equal(run_relaxed(*case, kernel=kernel), expected, err_msg=kernel)
