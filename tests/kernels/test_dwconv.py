"""f32_dwconv_p4c and f32_dwconv_3x3p4c: bit-exact against the reference for channel counts that
are not multiples of 4 (lane-by-lane tails that read and write nothing past c), padding taps,
and identical bits between the generic and the 3x3 kernel."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.packing import pack_f32_gemm

from . import reference_cnn as cref
from .harness import KernelRunner, assert_same_bits, interesting_f32
from .test_igemm import random_indirection

INF = float("inf")
GUARD = 32


def run_dwconv(kernel, x, ind, channels, w, bias, lo, hi):
    """Runs one depthwise kernel with X and the zero row at the very end of memory (over-reads
    trap) and guard bytes around Y."""
    m, taps = ind.shape
    runner = KernelRunner(kernel)
    zero_off = runner.put_at_end(np.zeros(channels, np.float32))
    x_off = zero_off - x.nbytes
    runner.write(x_off, x)
    ind_off = runner.put(ind.view(np.float32))
    w_off = runner.put(pack_f32_gemm(w, bias, nr=4))
    guard = np.random.default_rng(m + channels).integers(0, 256, m * channels * 4 + 2 * GUARD, np.uint8)
    region = runner.put(guard)
    args = [m, channels] + ([] if kernel == "f32_dwconv_3x3p4c" else [taps])
    runner.call(kernel, *args, ind_off, x_off, zero_off, w_off, region + GUARD, float(lo), float(hi))
    after = np.frombuffer(runner.read_bytes(region, guard.size), np.uint8)
    np.testing.assert_array_equal(after[:GUARD], guard[:GUARD], err_msg="wrote before Y")
    np.testing.assert_array_equal(after[-GUARD:], guard[-GUARD:], err_msg="wrote after Y")
    return after[GUARD:-GUARD].copy().view(np.float32).reshape(m, channels)


def case(rng, m, taps, channels, pixels=7):
    x = interesting_f32(rng, (pixels * channels,))
    ind = random_indirection(rng, m, taps, pixels, channels * 4, pad_fraction=0.25)
    w = interesting_f32(rng, (taps, channels))
    bias = rng.standard_normal(channels).astype(np.float32)
    return x, ind, w, bias


@pytest.mark.parametrize("channels", [1, 2, 3, 4, 5, 7, 8, 13, 16, 32, 47, 48, 64, 83])
@pytest.mark.parametrize("m", [1, 2, 5])
def test_both_kernels_bit_exact(channels, m):
    rng = np.random.default_rng([channels, m])
    x, ind, w, bias = case(rng, m, 9, channels)
    expected = cref.dwconv(x, ind, channels, w, bias, -INF, INF)
    for kernel in ("f32_dwconv_p4c", "f32_dwconv_3x3p4c"):
        assert_same_bits(run_dwconv(kernel, x, ind, channels, w, bias, -INF, INF), expected, kernel)


@pytest.mark.parametrize("taps", [1, 2, 3, 4, 25, 49])
@pytest.mark.parametrize("channels", [11, 16, 24, 28, 31, 40, 45, 60])
def test_generic_taps(taps, channels):
    """Every channel group of the generic kernel (16, 8, 4 and the lane tail, alone and combined)
    with odd tap counts (a first tap alone) and even ones."""
    rng = np.random.default_rng([taps, channels])
    x, ind, w, bias = case(rng, 6, taps, channels)
    got = run_dwconv("f32_dwconv_p4c", x, ind, channels, w, bias, 0.0, 6.0)
    assert_same_bits(got, cref.dwconv(x, ind, channels, w, bias, 0.0, 6.0))


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 9), channels=st.integers(1, 75), taps=st.one_of(st.just(9), st.integers(1, 12)), seed=st.integers(0, 2**32 - 1),
       bound=st.sampled_from([(-INF, INF), (0.0, INF), (0.0, 6.0), (1.0, -1.0)]))
def test_property_matches_reference(m, channels, taps, seed, bound):
    rng = np.random.default_rng(seed)
    x, ind, w, bias = case(rng, m, taps, channels)
    expected = cref.dwconv(x, ind, channels, w, bias, *bound)
    assert_same_bits(run_dwconv("f32_dwconv_p4c", x, ind, channels, w, bias, *bound), expected)
    if taps == 9:
        assert_same_bits(run_dwconv("f32_dwconv_3x3p4c", x, ind, channels, w, bias, *bound), expected)


@pytest.mark.parametrize("kernel", ["f32_dwconv_p4c", "f32_dwconv_3x3p4c"])
@pytest.mark.parametrize("lo, hi", [(0.0, INF), (-0.0, INF), (-INF, -0.0), (-INF, 0.0), (0.0, -0.0), (-0.0, 0.0)])
def test_clamp_keeps_wasm_signed_zeros(kernel, lo, hi):
    """Zero weights: every output is its bias (+-0 among them) through the exact clamp."""
    channels = 37
    rng = np.random.default_rng(5)
    x, ind, _, _ = case(rng, 3, 9, channels)
    bias = np.where(np.arange(channels) % 2, 0.0, -0.0).astype(np.float32)
    w = np.full((9, channels), -0.0, np.float32)
    x = np.nan_to_num(np.abs(x), posinf=1.0)  # products -0 * x = -0 keep a -0 bias -0, a +0 one +0
    expected = cref.dwconv(x, ind, channels, w, bias, lo, hi)
    assert_same_bits(run_dwconv(kernel, x, ind, channels, w, bias, lo, hi), expected)
