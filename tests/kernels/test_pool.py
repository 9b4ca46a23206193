"""f32_maxpool_c4, f32_avgpool_c4, f32_gavgpool_c4: bit-exact against the reference for channel
counts that are not multiples of 4 (nothing read or written past c), padding taps, specials."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference_cnn as cref
from .harness import KernelRunner, assert_same_bits, interesting_f32
from .test_igemm import random_indirection

GUARD = 32


def guarded_output(runner, m, channels):
    guard = np.random.default_rng(m * 31 + channels).integers(0, 256, m * channels * 4 + 2 * GUARD, np.uint8)
    return runner.put(guard), guard


def read_guarded(runner, region, guard, shape):
    after = np.frombuffer(runner.read_bytes(region, guard.size), np.uint8)
    np.testing.assert_array_equal(after[:GUARD], guard[:GUARD], err_msg="wrote before Y")
    np.testing.assert_array_equal(after[-GUARD:], guard[-GUARD:], err_msg="wrote after Y")
    return after[GUARD:-GUARD].copy().view(np.float32).reshape(shape)


def run_pool(kind, x, ind, channels, divisors=None):
    m, taps = ind.shape
    runner = KernelRunner(f"f32_{kind}pool_c4")
    pad_value = -np.inf if kind == "max" else 0.0
    pad_off = runner.put_at_end(np.full(channels, pad_value, np.float32))
    x_off = pad_off - x.nbytes  # X ends where the pad row starts: an over-read of X hits the pad row,
    runner.write(x_off, x)      # an over-read of the pad row traps
    ind_off = runner.put(ind.view(np.float32))
    region, guard = guarded_output(runner, m, channels)
    if kind == "max":
        runner.call("f32_maxpool_c4", m, channels, taps, ind_off, x_off, pad_off, region + GUARD)
    else:
        div_off = runner.put(divisors.astype(np.float32))
        runner.call("f32_avgpool_c4", m, channels, taps, ind_off, x_off, pad_off, div_off, region + GUARD)
    return read_guarded(runner, region, guard, (m, channels))


def case(rng, m, taps, channels, pixels=6, pad_fraction=0.3):
    x = interesting_f32(rng, (pixels * channels,))
    x[rng.random(x.size) < 0.02] = np.nan
    ind = random_indirection(rng, m, taps, pixels, channels * 4, pad_fraction)
    return x, ind


@pytest.mark.parametrize("channels", [1, 3, 4, 6, 9, 16])
@pytest.mark.parametrize("taps", [1, 4, 9])
def test_maxpool_bit_exact(channels, taps):
    rng = np.random.default_rng([channels, taps])
    x, ind = case(rng, 5, taps, channels)
    assert_same_bits(run_pool("max", x, ind, channels), cref.maxpool(x, ind, channels))


def test_maxpool_padding_never_wins():
    x = np.full(8, -3e38, np.float32)
    ind = np.array([[-1, 0, -1], [-1, -1, 16]], np.int32)
    assert_same_bits(run_pool("max", x, ind, 4), np.full((2, 4), -3e38, np.float32))


@pytest.mark.parametrize("channels", [1, 2, 5, 8, 11])
@pytest.mark.parametrize("taps", [1, 3, 9])
def test_avgpool_bit_exact(channels, taps):
    rng = np.random.default_rng([channels, taps, 1])
    x, ind = case(rng, 7, taps, channels)
    divisors = rng.integers(1, taps + 1, 7).astype(np.float32)
    got = run_pool("avg", x, ind, channels, divisors)
    assert_same_bits(got, cref.avgpool(x, ind, channels, divisors))


@settings(max_examples=30, deadline=None)
@given(m=st.integers(1, 7), channels=st.integers(1, 19), taps=st.integers(1, 11), seed=st.integers(0, 2**32 - 1))
def test_property_pools_match_reference(m, channels, taps, seed):
    rng = np.random.default_rng(seed)
    x, ind = case(rng, m, taps, channels, pad_fraction=rng.random() * 0.6)
    assert_same_bits(run_pool("max", x, ind, channels), cref.maxpool(x, ind, channels))
    divisors = rng.integers(1, 30, m).astype(np.float32)
    assert_same_bits(run_pool("avg", x, ind, channels, divisors), cref.avgpool(x, ind, channels, divisors))


def run_gavgpool(x):
    n, s, c = x.shape
    runner = KernelRunner("f32_gavgpool_c4")
    x_off = runner.put_at_end(x)
    region, guard = guarded_output(runner, n, c)
    runner.call("f32_gavgpool_c4", n, s, c, x_off, region + GUARD)
    return read_guarded(runner, region, guard, (n, c))


@pytest.mark.parametrize("n, s, c", [(1, 1, 1), (1, 49, 7), (2, 9, 8), (3, 5, 13), (1, 196, 64)])
def test_gavgpool_bit_exact(n, s, c):
    x = interesting_f32(np.random.default_rng([n, s, c]), (n, s, c))
    assert_same_bits(run_gavgpool(x), cref.gavgpool(x))


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), s=st.integers(1, 40), c=st.integers(1, 21), seed=st.integers(0, 2**32 - 1))
def test_property_gavgpool(n, s, c, seed):
    x = interesting_f32(np.random.default_rng(seed), (n, s, c))
    assert_same_bits(run_gavgpool(x), cref.gavgpool(x))
