"""qdu8_f32_qc8w_gemm_4x4c2, _1x4c2 and _4x8c2 (both its loops, shuffle and load splats): bit-exact against the reference over odd m, n, k (k tails
of every length), strides, zero points at both ends, per-column weight offsets (uint8 weights minus
any zero point), clamps; A placed at the end of memory so an over-read traps; no byte of C outside
its m x n values written, nor of the scratch block outside its bytes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.qpacking import pack_qc8w_gemm, pack_qc8w_gemm_nr8, packed_qc8w_gemm_size, split_weight_offsets

from . import reference_quant as ref
from .harness import KernelRunner, assert_same_bits

WIDE = ("qdu8_f32_qc8w_gemm_4x8c2", "qdu8_f32_qc8w_gemm_4x8c2_ldsplat")  # packed in panels of 8, with scratch
GEMMS = ("qdu8_f32_qc8w_gemm_4x4c2", "qdu8_f32_qc8w_gemm_1x4c2", *WIDE)
INF = float("inf")
GUARD = 32


def run_gemm(kernel, a, a_scale, a_zp, w, w_scale, bias, lo=-INF, hi=INF, a_pad=0, c_pad=0, offset=None):
    m, k = a.shape
    n = w.shape[1]
    runner = KernelRunner(kernel, pages=16)
    a_stride, c_stride = k + a_pad, (n + c_pad) * 4
    rows = np.full((m, a_stride), 0xEE, np.uint8)  # padding must never change the result
    rows[:, :k] = a
    a_off = runner.put_at_end(rows.reshape(-1)[: (m - 1) * a_stride + k])
    params = runner.put(np.array([a_scale], np.float32))
    zp_off = runner.put(np.array([a_zp, 0xEE, 0xEE, 0xEE], np.uint8), misalign=1)
    packed = (pack_qc8w_gemm_nr8 if kernel in WIDE else pack_qc8w_gemm)(w, w_scale, bias, offset)
    if kernel not in WIDE:
        assert packed.size == packed_qc8w_gemm_size(k, n)
    w_off = runner.put(packed, misalign=0)
    scratch, nbytes = [], 16 * -(-k // 2)
    if kernel in WIDE:
        scratch_region = runner.put(np.full(nbytes + 2 * GUARD, 0x5A, np.uint8), misalign=3)
        scratch = [scratch_region + GUARD]
    c_bytes = (m - 1) * c_stride + n * 4
    sentinel = np.random.default_rng(m * 100 + n).integers(0, 256, c_bytes + 2 * GUARD).astype(np.uint8)
    region = runner.put(sentinel)
    runner.call(kernel, m, n, k, a_off, a_stride, params, zp_off, w_off, region + GUARD, c_stride, float(lo), float(hi),
                *scratch)
    if scratch:
        raw = np.frombuffer(runner.read_bytes(scratch_region, nbytes + 2 * GUARD), np.uint8)
        assert (raw[:GUARD] == 0x5A).all() and (raw[GUARD + nbytes:] == 0x5A).all(), f"{kernel} wrote past its scratch"
    after = np.frombuffer(runner.read_bytes(region, sentinel.size), np.uint8).copy()
    c = np.empty((m, n), np.float32)
    for i in range(m):
        row = slice(GUARD + i * c_stride, GUARD + i * c_stride + n * 4)
        c[i] = after[row].view(np.float32)
        after[row] = sentinel[row]
    np.testing.assert_array_equal(after, sentinel, err_msg=f"{kernel} wrote outside C")
    return c


def random_case(rng, m, n, k, zp=None):
    a = rng.integers(0, 256, (m, k)).astype(np.uint8)
    w = rng.integers(-127, 128, (k, n)).astype(np.int8)
    w_scale = (rng.random(n) * 0.02 + 1e-4).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    a_zp = int(rng.integers(0, 256)) if zp is None else zp
    return a, np.float32(rng.random() * 0.1 + 1e-3), a_zp, w, w_scale, bias


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 7, 9])
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 13])
def test_bit_exact_odd_sizes(kernel, m, n):
    rng = np.random.default_rng([m, n])
    for k in [1, 2, 3, 7, 8, 9, 15, 16, 17, 64, 67]:
        case = random_case(rng, m, n, k)
        c = run_gemm(kernel, *case, a_pad=3, c_pad=2)
        assert_same_bits(c, ref.qdu8_gemm(*case, -INF, INF), f"{kernel} m={m} n={n} k={k}")


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("zp", [0, 255])
def test_extreme_zero_points_and_weights(kernel, zp):
    """|a - zp| = 255 against w = -128 / 127 everywhere: the largest products the i16 dot sees."""
    m, n, k = 5, 6, 37
    a = np.full((m, k), 255 - zp, np.uint8)
    w = np.where(np.arange(k * n).reshape(k, n) % 2, 127, -128).astype(np.int8)
    w_scale = np.full(n, 1e-3, np.float32)
    c = run_gemm(kernel, a, np.float32(0.5), zp, w, w_scale, None)
    assert_same_bits(c, ref.qdu8_gemm(a, 0.5, zp, w, w_scale, None, -INF, INF))


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("m, n, k", [(1, 5, 7), (3, 8, 16), (5, 13, 37), (9, 4, 67), (4, 9, 200)])
def test_weight_offsets(kernel, m, n, k):
    """uint8 weights minus zero points anywhere in 0..255 (transformers.js's q8): int8 weights plus
    a per-column offset, each row's sum of A - a_zp times the offset added to the exact dot."""
    rng = np.random.default_rng([m, n, k])
    a, a_scale, a_zp, _, w_scale, bias = random_case(rng, m, n, k)
    zero_points = rng.integers(0, 256, n)
    zero_points[:2] = (0, 255)[: min(n, 2)]
    centred = rng.integers(0, 256, (k, n)) - zero_points[None, :]
    w8, offset = split_weight_offsets(centred)
    assert (w8.astype(np.int64) + offset[None, :] == centred).all() and offset.any()
    c = run_gemm(kernel, a, a_scale, a_zp, w8, w_scale, bias, a_pad=2, c_pad=1, offset=offset)
    assert_same_bits(c, ref.qdu8_gemm(a, a_scale, a_zp, centred.astype(np.int64), w_scale, bias, -INF, INF),
                     f"{kernel} m={m} n={n} k={k}")


@pytest.mark.parametrize("kernel", GEMMS)
@pytest.mark.parametrize("lo, hi", [(0.0, INF), (0.0, 6.0), (-1.0, 1.0), (1.0, -1.0)])
def test_clamp(kernel, lo, hi):
    case = random_case(np.random.default_rng(3), 6, 11, 21)
    c = run_gemm(kernel, *case, lo=lo, hi=hi)
    assert_same_bits(c, ref.qdu8_gemm(*case, lo, hi))


@pytest.mark.parametrize("kernel", GEMMS)
def test_k_zero_gives_clamped_bias(kernel):
    bias = np.array([-2, -1, 0, 1, 2], np.float32)
    c = run_gemm(kernel, np.zeros((3, 0), np.uint8), np.float32(1), 7, np.zeros((0, 5), np.int8),
                 np.ones(5, np.float32), bias, lo=-1.5, hi=1.5)
    assert_same_bits(c, np.tile(np.array([-1.5, -1, 0, 1, 1.5], np.float32), (3, 1)))


@pytest.mark.parametrize("kernel", GEMMS)
def test_missing_bias_keeps_negative_zero(kernel):
    """Without a bias, f32(acc) * scale is the output, -0.0 included (the neutral bias is -0.0)."""
    a = np.full((2, 3), 9, np.uint8)
    w = np.array([[-1, 1], [0, 0], [0, 0]], np.int8)
    c = run_gemm(kernel, a, np.float32(1e-30), 0, w, np.full(2, 1e-20, np.float32), None)
    assert np.signbit(c[:, 0]).all() and c[0, 0] == 0  # -9 * 1e-50 underflows to -0.0


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), n=st.integers(1, 14), k=st.integers(0, 40), seed=st.integers(0, 2**32 - 1))
def test_property_both_kernels_agree_with_reference(m, n, k, seed):
    case = random_case(np.random.default_rng(seed), m, n, k)
    expected = ref.qdu8_gemm(*case, 0.0, INF)
    for kernel in GEMMS:
        assert_same_bits(run_gemm(kernel, *case, lo=0.0, hi=INF), expected, kernel)
