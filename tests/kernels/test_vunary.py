"""f32_vunary.wat: every kernel bit-exact against its numpy reference (vector body, tails, in
place, any f32), and every transcendental within its documented error over a dense sweep."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import reference_elementwise as ref
from . import reference_math as refmath
from .harness import PAGE_BYTES, KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, -1e-38, 3e38, -3e38,
                     1.0, -1.0, 0.5, -0.5, 0.625, -0.625, 4.0, -4.0, 88.0, -88.0, 100.0, -100.0], f32)

# kernel: (reference, extra f32 parameters)
KERNELS = {
    "f32_vsqrt": (ref.sqrt, ()),
    "f32_vlog": (ref.log, ()),
    "f32_vsigmoid": (ref.sigmoid, ()),
    "f32_vtanh": (ref.tanh, ()),
    "f32_verf": (ref.erf, ()),
    "f32_vgelu": (ref.gelu, ()),
    "f32_vgelu_tanh": (ref.gelu_tanh, ()),
    "f32_vlrelu": (ref.lrelu, (0.01,)),
    "f32_vhsigmoid": (ref.hsigmoid, (0.2, 0.5)),
    "f32_vhswish": (ref.hswish, ()),
    "f32_vswish": (refmath.swish, (0.75,)),
}


def run(kernel: str, x: np.ndarray, *params, at_end: bool = False, in_place: bool = False) -> np.ndarray:
    x = np.ascontiguousarray(x, f32)
    runner = KernelRunner(kernel, pages=(2 * x.nbytes + 4096) // PAGE_BYTES + 1)
    x_off = runner.put_at_end(x) if at_end else runner.put(x)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call(kernel, x.size, x_off, y_off, *(float(p) for p in params))
    return runner.read(y_off, x.shape)


def expected(kernel: str, x: np.ndarray) -> np.ndarray:
    reference, params = KERNELS[kernel]
    return reference(x, *params)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 37])
def test_every_tail_length_matches_reference(kernel, n):
    x = interesting_f32(np.random.default_rng(n), n, scale=4.0)
    params = KERNELS[kernel][1]
    y = run(kernel, x, *params, at_end=True)  # an over-read past x would trap
    assert_same_bits(y, expected(kernel, x), kernel)
    padded = run(kernel, np.concatenate([x, np.zeros((-n) % 4, f32)]), *params)[:n]  # all-vector path
    assert_same_bits(y, padded, f"{kernel} tail vs vector")


@pytest.mark.parametrize("kernel", KERNELS)
def test_special_values_and_in_place(kernel):
    params = KERNELS[kernel][1]
    assert_same_bits(run(kernel, SPECIALS, *params), expected(kernel, SPECIALS), kernel)
    assert_same_bits(run(kernel, SPECIALS, *params, in_place=True), expected(kernel, SPECIALS), kernel)


@pytest.mark.parametrize("kernel", KERNELS)
def test_random_bit_patterns_match_reference(kernel):
    bits = np.random.default_rng(11).integers(0, 2**32, 200_003, dtype=np.uint64).astype(np.uint32)
    x = bits.view(f32)
    assert_same_bits(run(kernel, x, *KERNELS[kernel][1]), expected(kernel, x), kernel)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(KERNELS)), hnp.arrays(f32, st.integers(0, 41), elements=st.floats(width=32)))
def test_property_any_f32(kernel, x):
    assert_same_bits(run(kernel, x, *KERNELS[kernel][1]), expected(kernel, x), kernel)


def test_ieee_special_results():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0], f32)
    log = run("f32_vlog", x)
    assert log[0] == -np.inf and log[1] == -np.inf and log[2] == np.inf and np.isnan(log[3:6]).all()
    assert log[6] == 0 and not np.signbit(log[6])
    for kernel in ("f32_vtanh", "f32_verf"):
        y = run(kernel, x)
        assert y[0] == 0 and not np.signbit(y[0]) and y[1] == 0 and np.signbit(y[1]), kernel
        assert y[2] == 1 and y[3] == -1 and np.isnan(y[4]), kernel
    sig = run("f32_vsigmoid", x)
    assert sig[0] == 0.5 and sig[2] == 1 and sig[3] == 0 and np.isnan(sig[4])
    assert np.array_equal(run("f32_vsqrt", np.array([4.0, 2.0], f32)), np.sqrt(np.array([4.0, 2.0], f32)))
    assert run("f32_vlrelu", np.array([-2.0], f32), 0.5)[0] == -1.0



def test_hsigmoid_keeps_max_and_min_bits_at_signed_zero_and_nan():
    """x * alpha + beta = -0 gives +0 (wasm max(-0, 0)), as its reference; NaN stays NaN."""
    x = np.array([-0.0, 0.0, np.nan, 1e-45, -1e-45, 7.0, -7.0], f32)
    for alpha, beta in ((0.2, -0.0), (-1.0, -0.0), (0.2, 0.5)):
        y = run("f32_vhsigmoid", x, alpha, beta)
        assert_same_bits(y, ref.hsigmoid(x, alpha, beta), f"alpha {alpha}, beta {beta}")
        assert not np.signbit(y[:2]).any() and np.isnan(y[2])

# -- accuracy against float64 (the bounds documented in wasm-kernels/f32_vunary.wat) ----------

def _sweep(lo: float, hi: float, n: int = 600_001, seed: int = 0) -> np.ndarray:
    """A dense grid plus random bit patterns, both inside [lo, hi]."""
    grid = np.linspace(lo, hi, n).astype(f32)
    bits = np.random.default_rng(seed).integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
    scattered = bits.view(f32)
    return np.concatenate([grid, scattered[(scattered >= lo) & (scattered <= hi)]])


def _ulp_error(y: np.ndarray, exact: np.ndarray) -> np.ndarray:
    return np.abs(y.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(f32)).astype(np.float64)


_erf64 = np.vectorize(math.erf, otypes=[np.float64])

ACCURACY = {  # kernel: (exact float64 function, sweep range, max ulp, max relative error)
    "f32_vsigmoid": (lambda x: 1 / (1 + np.exp(-x)), (-87.0, 30.0), 2.45, 1.5e-7),
    "f32_vtanh": (np.tanh, (-12.0, 12.0), 1.31, 1.4e-7),
    "f32_verf": (_erf64, (-5.0, 5.0), 1.60, 1.2e-7),
}


@pytest.mark.parametrize("kernel", ACCURACY)
def test_documented_accuracy(kernel):
    exact_fn, (lo, hi), max_ulp, max_rel = ACCURACY[kernel]
    x = _sweep(lo, hi)
    y = run(kernel, x)
    assert_same_bits(y, expected(kernel, x))
    exact = exact_fn(x.astype(np.float64))
    ulp = _ulp_error(y, exact)
    normal = np.abs(exact) >= np.finfo(f32).tiny
    rel = np.abs(y[normal] / exact[normal] - 1)
    assert ulp.max() <= max_ulp, f"{kernel}: {ulp.max():.3f} ulp at x={x[ulp.argmax()]!r}"
    assert rel.max() <= max_rel, f"{kernel}: relative error {rel.max():.3g}"


def test_log_accuracy_over_all_positive_floats():
    rng = np.random.default_rng(2)
    bits = np.concatenate([rng.integers(1, 0x7F800000, 1_000_000, dtype=np.int64).astype(np.uint32),
                           np.arange(0x3F000000, 0x3FC00000, 17, dtype=np.uint32)])  # densely around 1
    x = bits.view(f32)
    y = run("f32_vlog", x)
    assert_same_bits(y, ref.log(x))
    exact = np.log(x.astype(np.float64))
    assert _ulp_error(y, exact).max() <= 0.83
    nonzero = exact != 0
    assert (np.abs(y[nonzero] / exact[nonzero] - 1)).max() <= 7.9e-8


@pytest.mark.parametrize("kernel, exact_fn, bound", [
    ("f32_vgelu", lambda x: 0.5 * x * (1 + _erf64(x / np.sqrt(2))), 1.1e-7),
    ("f32_vgelu_tanh", lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))), 1.2e-7),
])
def test_gelu_absolute_error(kernel, exact_fn, bound):
    x = _sweep(-10.0, 10.0, 300_001)
    y = run(kernel, x)
    assert_same_bits(y, expected(kernel, x))
    xd = x.astype(np.float64)
    err = np.abs(y - exact_fn(xd)) / np.maximum(1.0, np.abs(xd))
    assert err.max() <= bound, f"{kernel}: {err.max():.3g} at x={x[err.argmax()]!r}"


@pytest.mark.parametrize("kernel", ["f32_verf", "f32_vgelu"])
def test_erf_vectors_all_small_mixed_and_special(kernel):
    """$f32x4_erf skips its |x| >= 1 branch when all four lanes are below 1 and not NaN: vectors of
    every mix (all small, one lane at or just past 1, NaN or inf among small lanes, signed zeros)
    give the reference's bits."""
    scale = 1.0 if kernel == "f32_verf" else np.sqrt(2.0)  # gelu's erf sees x * sqrt(1/2)
    small = np.float32(0.999999) * scale
    vectors = [
        [0.1, -0.2, 0.3, -0.999], [0.0, -0.0, 1e-30, -1e-30], [small, -small, 0.5, 0.25],
        [0.1, 1.0 * scale, 0.2, 0.3], [0.1, 0.2, np.nan, 0.3], [np.inf, 0.1, 0.2, 0.3],
        [-np.inf, 0.1, 0.2, 0.3], [3.0, -2.0, 0.5, 10.0], [np.nextafter(np.float32(1.0) * scale, 2, dtype=np.float32), 0, 0, 0],
    ]
    x = np.array(vectors, f32).reshape(-1)
    rng = np.random.default_rng(3)
    x = np.concatenate([x, rng.standard_normal(4096).astype(f32) * 0.3, rng.standard_normal(4096).astype(f32) * 2])
    assert_same_bits(run(kernel, x), expected(kernel, x), kernel)
