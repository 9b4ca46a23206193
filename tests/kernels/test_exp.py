"""f32_vexp (through f32_vexp_array): bit-exact reference, accuracy bound, special values."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import reference as ref
from .harness import PAGE_BYTES, KernelRunner, assert_same_bits

# Documented in wasm-kernels/f32_softmax.wat (measured over every f32 in range: 1.19 ulp, 9.9e-8).
MAX_ULP = 1.25
MAX_REL = 1.0e-7
CUTOFF = ref.EXP_LO  # -86.98997: exp below it is flushed to +0.0
OVERFLOW = np.float32(88.72284)  # first f32 above ln(FLT_MAX)


def vexp(x: np.ndarray, at_end: bool = False) -> np.ndarray:
    x = np.ascontiguousarray(x, np.float32)
    runner = KernelRunner("f32_vexp_array", pages=(2 * x.nbytes + 4096) // PAGE_BYTES + 1)
    x_off = runner.put_at_end(x) if at_end else runner.put(x)
    y_off = runner.alloc(x.nbytes)
    runner.call("f32_vexp_array", x.size, x_off, y_off)
    return runner.read(y_off, x.shape)


def dense_sweep() -> np.ndarray:
    """2M evenly spaced points plus 1M random f32 bit patterns over the finite, normal range."""
    lo, hi = float(CUTOFF), float(np.nextafter(OVERFLOW, np.float32(0)))
    grid = np.linspace(lo, hi, 2_000_001).astype(np.float32)
    rng = np.random.default_rng(5)
    signs = rng.integers(0, 2, 1_000_000).astype(np.uint32) << 31
    bits = rng.integers(0, np.float32(88.7).view(np.uint32), 1_000_000, dtype=np.uint32) | signs
    scattered = bits.view(np.float32)
    scattered = scattered[(scattered >= lo) & (scattered <= hi)]
    return np.concatenate([grid, scattered])


def test_dense_sweep_bit_exact_and_within_documented_error():
    x = dense_sweep()
    y = vexp(x)
    assert_same_bits(y, ref.vexp(x))
    exact = np.exp(x.astype(np.float64))
    ulp = np.spacing(exact.astype(np.float32)).astype(np.float64)
    err_ulp = np.abs(y - exact) / ulp
    err_rel = np.abs(y / exact - 1)
    assert err_ulp.max() <= MAX_ULP, f"max error {err_ulp.max():.3f} ulp at x={x[err_ulp.argmax()]!r}"
    assert err_rel.max() <= MAX_REL, f"max relative error {err_rel.max():.3g}"
    assert np.isfinite(y).all() and (y >= np.finfo(np.float32).tiny).all()  # never subnormal


def test_special_values():
    f32 = np.float32
    x = np.array([-np.inf, np.inf, np.nan, 0.0, -0.0, 1.0, -1.0, 88.0, OVERFLOW, 100.0, -100.0,
                  CUTOFF, np.nextafter(CUTOFF, f32(-np.inf)), -1e-45, 1e-45], f32)
    y = vexp(x)
    assert y[0] == 0 and not np.signbit(y[0])          # exp(-inf) = +0.0
    assert y[1] == np.inf                              # exp(+inf) = +inf
    assert np.isnan(y[2])                              # exp(NaN) = NaN
    assert y[3] == 1 and y[4] == 1                     # exp(+-0) = 1 exactly
    assert abs(y[5] - np.e) <= 2e-7 * np.e and abs(y[6] - 1 / np.e) <= 2e-7 / np.e
    assert np.isfinite(y[7]) and y[8] == np.inf and y[9] == np.inf and y[10] == 0
    assert y[11] >= np.finfo(f32).tiny                 # at the cutoff: smallest normal result
    assert y[12] == 0 and not np.signbit(y[12])        # just below: flushed to +0.0
    assert y[13] == 1 and y[14] == 1
    assert_same_bits(y, ref.vexp(x))


def test_largest_finite_result_is_close_to_flt_max():
    x = np.nextafter(OVERFLOW, np.float32(0))
    y = vexp(np.array([x], np.float32))[0]
    assert np.isfinite(y) and abs(y / np.exp(np.float64(x)) - 1) <= MAX_REL


@pytest.mark.parametrize("n", range(0, 11))
def test_tail_elements_get_the_vector_bits(n):
    rng = np.random.default_rng(n)
    x = (rng.standard_normal(n) * 30).astype(np.float32)
    y = vexp(x, at_end=True)  # an over-read past x would trap
    assert_same_bits(y, ref.vexp(x))
    padded = vexp(np.concatenate([x, np.zeros((-n) % 4, np.float32)]))[:n]  # all-vector path
    assert_same_bits(y, padded, "tail vs vector")


def test_in_place():
    x = np.linspace(-20, 20, 103).astype(np.float32)
    runner = KernelRunner("f32_vexp_array")
    off = runner.put(x)
    runner.call("f32_vexp_array", x.size, off, off)
    assert_same_bits(runner.read(off, x.shape), ref.vexp(x))


@settings(max_examples=50, deadline=None)
@given(hnp.arrays(np.float32, st.integers(0, 64), elements=st.floats(width=32)))
def test_property_any_f32_matches_reference(x):
    assert_same_bits(vexp(x), ref.vexp(x))


def test_all_bit_patterns_sample_matches_reference():
    bits = np.random.default_rng(3).integers(0, 2**32, 1_000_000, dtype=np.uint64).astype(np.uint32)
    x = bits.view(np.float32)
    assert_same_bits(vexp(x), ref.vexp(x))
