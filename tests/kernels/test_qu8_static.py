"""f32_qu8_vcvt, qu8_f32_vcvt and qu8_qc8w_gemm_{4x8,4x4,1x4}c2 (the static int8 path; 4x8c2 in both its
loops, shuffle and load splats): bit-exact against the references over odd sizes, zero points at both
ends, saturation, strides; exact writes (its scratch block included)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.qpacking import (QU8_SCRATCH_KERNEL, pack_qu8_qc8w_gemm, pack_qu8_qc8w_gemm_nr8,
                                       qu8_gemm_scratch_bytes)

from . import reference_quant as ref
from .harness import KernelRunner, assert_same_bits

GEMMS = ("qu8_qc8w_gemm_4x8c2", "qu8_qc8w_gemm_4x8c2_ldsplat", "qu8_qc8w_gemm_4x4c2", "qu8_qc8w_gemm_1x4c2")
GUARD = 32


@pytest.mark.parametrize("n", [1, 3, 15, 16, 17, 40, 333])
@pytest.mark.parametrize("zp", [0, 3, 128, 255])
def test_quantize_and_dequantize(n, zp):
    rng = np.random.default_rng([n, zp])
    x = (rng.standard_normal(n) * 40).astype(np.float32)
    x[: min(n, 3)] = [1e30, -1e30, 0.5][: min(n, 3)]
    scale = np.float32(0.37)
    runner = KernelRunner("f32_qu8_vcvt", "qu8_f32_vcvt")
    x_off = runner.put_at_end(x)
    region = runner.put(np.full(n + 2 * GUARD, 0xA5, np.uint8), misalign=1)
    runner.call("f32_qu8_vcvt", n, x_off, region + GUARD, float(scale), zp)
    raw = np.frombuffer(runner.read_bytes(region, n + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + n:] == 0xA5).all()
    q = raw[GUARD:GUARD + n]
    np.testing.assert_array_equal(q, ref.quantize_u8(x, scale, zp))
    q_off = runner.put(q, misalign=3)
    y_region = runner.put(np.full(4 * n + 2 * GUARD, 0xA5, np.uint8))
    runner.call("qu8_f32_vcvt", n, q_off, y_region + GUARD, float(scale), zp)
    raw = np.frombuffer(runner.read_bytes(y_region, 4 * n + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + 4 * n:] == 0xA5).all()
    assert_same_bits(raw[GUARD:GUARD + 4 * n].view(np.float32), ref.dequantize_u8(q, scale, zp))


def run_gemm(kernel, a, a_zp, w, bias, mult, c_zp, qmin=0, qmax=255, a_pad=0, c_pad=0):
    m, k = a.shape
    n = w.shape[1]
    runner = KernelRunner(kernel)
    a_stride, c_stride = k + a_pad, n + c_pad
    rows = np.full((m, a_stride), 0xEE, np.uint8)
    rows[:, :k] = a
    a_off = runner.put_at_end(rows.reshape(-1)[: (m - 1) * a_stride + k])
    pack = pack_qu8_qc8w_gemm_nr8 if kernel.startswith(QU8_SCRATCH_KERNEL) else pack_qu8_qc8w_gemm
    w_off = runner.put(pack(w, bias, mult))
    scratch = []
    if kernel.startswith(QU8_SCRATCH_KERNEL):
        nbytes = qu8_gemm_scratch_bytes(QU8_SCRATCH_KERNEL, k)
        scratch_region = runner.put(np.full(nbytes + 2 * GUARD, 0x5A, np.uint8), misalign=3)
        scratch = [scratch_region + GUARD]
    c_bytes = (m - 1) * c_stride + n
    sentinel = np.random.default_rng(m * 100 + n).integers(0, 256, c_bytes + 2 * GUARD).astype(np.uint8)
    region = runner.put(sentinel, misalign=1)
    runner.call(kernel, m, n, k, a_off, a_stride, a_zp, w_off, region + GUARD, c_stride, c_zp, qmin, qmax, *scratch)
    if scratch:
        raw = np.frombuffer(runner.read_bytes(scratch_region, nbytes + 2 * GUARD), np.uint8)
        assert (raw[:GUARD] == 0x5A).all() and (raw[GUARD + nbytes:] == 0x5A).all(), f"{kernel} wrote past its scratch"
    after = np.frombuffer(runner.read_bytes(region, sentinel.size), np.uint8).copy()
    c = np.empty((m, n), np.uint8)
    for i in range(m):
        row = slice(GUARD + i * c_stride, GUARD + i * c_stride + n)
        c[i] = after[row]
        after[row] = sentinel[row]
    np.testing.assert_array_equal(after, sentinel, err_msg=f"{kernel} wrote outside C")
    return c


def random_case(rng, m, n, k):
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    w = rng.integers(-127, 128, (k, n)).astype(np.int8)
    bias = rng.integers(-20000, 20000, n).astype(np.int32)
    mult = (rng.random(n) * 2e-4 + 1e-6).astype(np.float32)
    return a, int(rng.integers(0, 256)), w, bias, mult, int(rng.integers(0, 256))


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 9])
@pytest.mark.parametrize("n", [1, 3, 4, 5, 8, 9, 13, 16, 21])
def test_gemm_bit_exact_odd_sizes(kernel, m, n):
    rng = np.random.default_rng([m, n, 1])
    for k in [1, 2, 7, 8, 9, 16, 31, 64]:
        case = random_case(rng, m, n, k)
        got = run_gemm(kernel, *case, a_pad=2, c_pad=3)
        np.testing.assert_array_equal(got, ref.qu8_gemm(*case, 0, 255), err_msg=f"{kernel} m={m} n={n} k={k}")


@pytest.mark.parametrize("kernel", GEMMS)
def test_gemm_saturates_and_narrows_to_bounds(kernel):
    """Huge multipliers push every output to a bound; a Relu-like [zp, 255] clips below zp."""
    rng = np.random.default_rng(5)
    a, a_zp, w, bias, _, _ = random_case(rng, 6, 7, 33)
    big = np.full(7, 1e6, np.float32)
    got = run_gemm(kernel, a, a_zp, w, bias, big, 0)
    assert set(np.unique(got)) <= {0, 255} and got.min() == 0 and got.max() == 255
    mult = np.full(7, 1e-4, np.float32)
    got = run_gemm(kernel, a, a_zp, w, bias, mult, 100, qmin=100, qmax=200)
    np.testing.assert_array_equal(got, ref.qu8_gemm(a, a_zp, w, bias, mult, 100, 100, 200))
    assert got.min() >= 100 and got.max() <= 200


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), n=st.integers(1, 20), k=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_property_gemms_agree_with_reference(m, n, k, seed):
    case = random_case(np.random.default_rng(seed), m, n, k)
    expected = ref.qu8_gemm(*case, 0, 255)
    for kernel in GEMMS:
        np.testing.assert_array_equal(run_gemm(kernel, *case), expected, err_msg=kernel)
