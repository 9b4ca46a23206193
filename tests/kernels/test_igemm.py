"""f32_igemm_4x8: bit-exact against the reference for odd sizes, padding taps, group offsets and
strided outputs; and the same bits as f32_gemm_4x8 when the indirection is a plain row walk."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.packing import pack_f32_gemm

from . import reference_cnn as cref
from .harness import KernelRunner, assert_same_bits, interesting_f32

INF = float("inf")
GUARD = 64


def random_indirection(rng, m, taps, pixels, pixel_bytes, pad_fraction=0.2):
    ind = rng.integers(0, pixels, (m, taps)).astype(np.int32) * pixel_bytes
    ind[rng.random((m, taps)) < pad_fraction] = -1
    return ind


def run_igemm(runner, x, ind, kc, w2d, bias, lo, hi, x_shift=0, y_pad=0, kernel="f32_igemm_4x8"):
    """Run the kernel; x_shift bytes are added to $x (a group's channel offset). Checks that no byte
    around Y's m x n values changed."""
    m, taps = ind.shape
    n = w2d.shape[1]
    x_off = runner.put(x)
    ind_off = runner.put(ind.view(np.float32))
    zero_off = runner.put_at_end(np.zeros(kc, np.float32))  # padding taps must read only kc floats
    w_off = runner.put(pack_f32_gemm(w2d, bias))
    y_stride = (n + y_pad) * 4
    y_bytes = (m - 1) * y_stride + n * 4
    guard = np.random.default_rng(m * 7 + n).integers(0, 256, y_bytes + 2 * GUARD, np.uint8)
    region = runner.put(guard)
    y_off = region + GUARD
    runner.call(kernel, m, n, taps, kc, ind_off, x_off + x_shift, zero_off, w_off, y_off, y_stride,
                float(lo), float(hi))
    after = np.frombuffer(runner.read_bytes(region, guard.size), np.uint8).copy()
    y = np.empty((m, n), np.float32)
    for i in range(m):
        row = slice(GUARD + i * y_stride, GUARD + i * y_stride + n * 4)
        y[i] = after[row].view(np.float32)
        after[row] = guard[row]
    np.testing.assert_array_equal(after, guard, err_msg="wrote outside Y's m x n values")
    return y


IGEMMS = ("f32_igemm_4x8", "f32_igemm_4x8_ldsplat", "f32_igemm_2x16")  # shuffle-splat, load-splat and Cranelift 2x16 loops, same bits


@pytest.mark.parametrize("kernel", IGEMMS)
@pytest.mark.parametrize("m", [1, 3, 4, 6, 9])
@pytest.mark.parametrize("n", [1, 5, 8, 13, 24, 32, 37])
def test_bit_exact_odd_sizes(kernel, m, n):
    rng = np.random.default_rng([m, n])
    for taps, kc in [(1, 1), (9, 3), (4, 8), (2, 17)]:
        channels = kc + 3  # the tensor is wider than what one group reads
        pixels = 11
        x = interesting_f32(rng, (pixels * channels,))
        ind = random_indirection(rng, m, taps, pixels, channels * 4)
        w2d = interesting_f32(rng, (taps * kc, n))
        bias = rng.standard_normal(n).astype(np.float32)
        shift = 4 * (taps % 3)  # read channels [shift, shift + kc) of each pixel
        y = run_igemm(KernelRunner(kernel), x, ind, kc, w2d, bias, -INF, INF, x_shift=shift, y_pad=3, kernel=kernel)
        expected = cref.igemm(x[shift // 4:], ind, kc, w2d, bias, -INF, INF)
        assert_same_bits(y, expected, f"{kernel} m={m} n={n} taps={taps} kc={kc}")


@pytest.mark.parametrize("lo, hi", [(0.0, INF), (0.0, 6.0), (-1.0, 1.0), (1.0, -1.0)])
def test_clamp_epilogue(lo, hi):
    rng = np.random.default_rng(3)
    x = rng.standard_normal(40 * 5).astype(np.float32) * 4
    ind = random_indirection(rng, 7, 3, 40, 20)
    w2d = rng.standard_normal((15, 11)).astype(np.float32)
    bias = rng.standard_normal(11).astype(np.float32)
    y = run_igemm(KernelRunner("f32_igemm_4x8"), x, ind, 5, w2d, bias, lo, hi)
    assert_same_bits(y, cref.igemm(x, ind, 5, w2d, bias, lo, hi))


def test_all_padding_gives_clamped_bias():
    ind = np.full((5, 4), -1, np.int32)
    bias = np.array([-2, -1, -0.0, 0, 1, 2, 7, 8, 9], np.float32)
    w2d = np.ones((8, 9), np.float32)
    y = run_igemm(KernelRunner("f32_igemm_4x8"), np.ones(8, np.float32), ind, 2, w2d, bias, 0.0, 6.0)
    assert_same_bits(y, np.tile(np.array([0, 0, 0, 0, 1, 2, 6, 6, 6], np.float32), (5, 1)))


def test_row_walk_matches_gemm_bits():
    """A 1x1 stride-1 convolution through the indirection buffer is exactly f32_gemm_4x8."""
    rng = np.random.default_rng(5)
    m, k, n = 10, 7, 19
    a = rng.standard_normal((m, k)).astype(np.float32)
    w2d = rng.standard_normal((k, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32)
    ind = (np.arange(m, dtype=np.int32) * k * 4)[:, None]
    y = run_igemm(KernelRunner("f32_igemm_4x8"), a.reshape(-1), ind, k, w2d, bias, 0.0, INF)
    runner = KernelRunner("f32_gemm_4x8")
    a_off, w_off, c_off = runner.put(a), runner.put(pack_f32_gemm(w2d, bias)), runner.alloc(m * n * 4)
    runner.call("f32_gemm_4x8", m, n, k, a_off, k * 4, w_off, c_off, n * 4, 0.0, INF)
    assert_same_bits(y, runner.read(c_off, (m, n)))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 13), n=st.integers(1, 21), taps=st.integers(1, 10), kc=st.integers(1, 9),
       extra=st.integers(0, 5), y_pad=st.integers(0, 3), seed=st.integers(0, 2**32 - 1),
       bound=st.sampled_from([(-INF, INF), (0.0, INF), (0.0, 6.0)]))
def test_property_matches_reference(m, n, taps, kc, extra, y_pad, seed, bound):  # both loops
    rng = np.random.default_rng(seed)
    channels, pixels = kc + extra, 9
    x = interesting_f32(rng, (pixels * channels,))
    ind = random_indirection(rng, m, taps, pixels, channels * 4, pad_fraction=rng.random() * 0.5)
    w2d = interesting_f32(rng, (taps * kc, n))
    bias = rng.standard_normal(n).astype(np.float32)
    shift = 4 * int(rng.integers(0, extra + 1))
    expected = cref.igemm(x[shift // 4:], ind, kc, w2d, bias, *bound)
    for kernel in IGEMMS:
        y = run_igemm(KernelRunner(kernel), x, ind, kc, w2d, bias, *bound, x_shift=shift, y_pad=y_pad, kernel=kernel)
        assert_same_bits(y, expected, kernel)
