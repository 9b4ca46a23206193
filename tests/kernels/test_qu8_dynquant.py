"""qu8_dynquant: bytes, scale and zero point bit-exact against the reference for odd sizes and
awkward ranges (all positive, all negative, all zero, ties at .5), writing exactly n bytes."""

import numpy as np
import pytest

from . import reference_quant as ref
from .harness import KernelRunner, assert_same_bits

GUARD = 16


def run(x: np.ndarray):
    runner = KernelRunner("qu8_dynquant", pages=8)
    x_off = runner.put_at_end(x.astype(np.float32))  # any over-read traps
    region = runner.put(np.full(x.size + 2 * GUARD, 0xA5, np.uint8), misalign=3)
    params = runner.put(np.full(8, 0xA5, np.uint8))
    runner.call("qu8_dynquant", x.size, x_off, region + GUARD, params, params + 4)
    raw = np.frombuffer(runner.read_bytes(region, x.size + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + x.size:] == 0xA5).all(), "wrote outside q"
    scale = runner.read(params, (), np.float32)
    zp = np.frombuffer(runner.read_bytes(params + 4, 4), np.uint8)
    assert (zp[1:] == 0xA5).all(), "wrote more than one zero-point byte"
    return raw[GUARD:GUARD + x.size], scale, zp[0]


def check(x: np.ndarray):
    q, scale, zp = run(x)
    q_ref, scale_ref, zp_ref = ref.dynquant_u8(x)
    assert_same_bits(scale, np.float32(scale_ref), "scale")
    assert zp == zp_ref, (zp, zp_ref)
    np.testing.assert_array_equal(q, q_ref)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 15, 16, 17, 33, 100, 1001])
@pytest.mark.parametrize("kind", ["normal", "positive", "negative", "zeros", "tiny", "huge"])
def test_matches_reference(n, kind):
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    x = {"normal": x, "positive": np.abs(x) + 0.5, "negative": -np.abs(x) - 0.5, "zeros": x * 0,
         "tiny": x * np.float32(1e-30), "huge": x * np.float32(1e30)}[kind]
    check(x)


def test_ties_round_half_to_even():
    """x / scale landing on k + 0.5 exactly: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2 (scale 1 from range 255)."""
    x = np.array([0.0, 255.0, 0.5, 1.5, 2.5, 3.5, 254.5], np.float32)
    q, scale, zp = run(x)
    assert scale == 1.0 and zp == 0
    np.testing.assert_array_equal(q, [0, 255, 0, 2, 2, 4, 254])
    check(x)


def test_random_many():
    rng = np.random.default_rng(0)
    for _ in range(50):
        n = int(rng.integers(1, 300))
        check((rng.standard_normal(n) * rng.choice([1e-3, 1, 1e3]) + rng.choice([-1, 0, 1])).astype(np.float32))


def test_nans_are_skipped_by_the_range_and_quantize_to_zero():
    """As MLAS's max_ps(x, lo) does: a NaN becomes the lower bound, i.e. q = 0."""
    x = np.array([1.0, np.nan, -2.0, 3.0, np.nan] * 5, np.float32)
    q, scale, zp = run(x)
    finite = x[~np.isnan(x)]
    q_ref, scale_ref, zp_ref = ref.dynquant_u8(finite)
    assert scale == scale_ref and zp == zp_ref
    np.testing.assert_array_equal(q[~np.isnan(x)], q_ref)
    assert (q[np.isnan(x)] == 0).all()
