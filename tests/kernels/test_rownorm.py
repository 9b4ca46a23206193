"""f32_rownorm, f32_lpnorm and f32_affine_rows (wasm-kernels/f32_norm.wat), and
f32_vprelu_select (f32_vunary.wat): bit-exact against their numpy references over odd sizes,
special values, aliasing and every mode; accuracy of the normalizations against float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import reference_rownorm as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
SIZES = [(1, 1), (1, 3), (2, 4), (3, 5), (4, 8), (2, 17), (5, 33), (1, 64), (3, 2)]


def rownorm(mode, x, gamma, eps, in_place=False):
    rows, n = x.shape
    runner = KernelRunner("f32_rownorm")
    x_off = runner.put(x) if in_place else runner.put_at_end(x)
    g_off = runner.put(gamma) if gamma is not None else 0
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call("f32_rownorm", mode, rows, n, x_off, g_off, y_off, float(eps))
    return runner.read(y_off, x.shape)


def lpnorm(p, x, in_place=False):
    rows, n = x.shape
    runner = KernelRunner("f32_lpnorm")
    x_off = runner.put(x) if in_place else runner.put_at_end(x)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.write(y_off, np.full(x.shape, 7, f32)) if not in_place else None  # zero rows must be written
    runner.call("f32_lpnorm", p, rows, n, x_off, y_off)
    return runner.read(y_off, x.shape)


def affine(x, scale, bias, in_place=False):
    rows, n = x.shape
    runner = KernelRunner("f32_affine_rows")
    x_off = runner.put(x) if in_place else runner.put_at_end(x)
    s_off = runner.put(scale)
    b_off = runner.put(bias) if bias is not None else 0
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call("f32_affine_rows", rows, n, scale.size, x_off, s_off, b_off, y_off)
    return runner.read(y_off, x.shape)


@pytest.mark.parametrize("mode", [0, 1, 2])
@pytest.mark.parametrize("rows, n", SIZES)
def test_rownorm_matches_reference(mode, rows, n):
    rng = np.random.default_rng([mode, rows, n])
    x = (rng.standard_normal((rows, n)) * 3 + 1).astype(f32)
    gamma = rng.standard_normal(n).astype(f32)
    eps = 1e-9 if mode == 1 else 1e-5
    for g in (None, gamma):
        want = ref.rownorm(mode, x, g, eps)
        assert_same_bits(rownorm(mode, x, g, eps), want, f"mode {mode}")
        assert_same_bits(rownorm(mode, x, g, eps, in_place=True), want, f"mode {mode} in place")


def test_rownorm_specials_and_constant_rows():
    x = np.array([[1, 1, 1, 1, 1], [0, 0, 0, 0, 0], [1, np.nan, 0, 0, 2], [np.inf, 0, 1, 2, 3],
                  [1e-30, -1e-30, 3e38, -3e38, 0]], f32)
    for mode, eps in ((0, 1e-5), (1, 1e-9), (2, 1e-5), (0, 0.0)):
        assert_same_bits(rownorm(mode, x, None, eps), ref.rownorm(mode, x, None, eps), f"mode {mode}")
    mvn = rownorm(1, x[:2], None, 1e-9)
    assert (mvn == 0).all()  # (x - mean) / (0 + eps): a constant row is 0, not NaN
    assert (rownorm(2, x[1:2], None, 1e-5) == 0).all()


def test_rownorm_unknown_mode_standardizes_and_empty_is_a_no_op():
    x = np.random.default_rng(0).standard_normal((3, 7)).astype(f32)
    assert_same_bits(rownorm(9, x, None, 1e-5), ref.rownorm(0, x, None, 1e-5))
    runner = KernelRunner("f32_rownorm")
    y = runner.put(np.full(4, 5, f32))
    runner.call("f32_rownorm", 0, 0, 4, y, 0, y, 1e-5)
    runner.call("f32_rownorm", 0, 1, 0, y, 0, y, 1e-5)
    assert (runner.read(y, (4,)) == 5).all()


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2), hnp.arrays(f32, st.tuples(st.integers(1, 4), st.integers(1, 19)),
                                     elements=st.floats(-1e6, 1e6, width=32)))
def test_rownorm_property(mode, x):
    assert_same_bits(rownorm(mode, x, None, 1e-5), ref.rownorm(mode, x, None, 1e-5))


@pytest.mark.parametrize("n, bound", [(64, 5e-7), (301, 6.5e-7), (4096, 2e-6)])
def test_rownorm_and_lpnorm_accuracy_against_float64(n, bound):
    """The bounds documented in wasm-kernels/f32_norm.wat."""
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((16, n)) * 10 + 5).astype(f32)
    xd = x.astype(np.float64)
    mean, var = xd.mean(1, keepdims=True), xd.var(1, keepdims=True)
    exact = {0: (xd - mean) / np.sqrt(var + 1e-5), 1: (xd - mean) / (np.sqrt(var) + 1e-9),
             2: xd / np.sqrt((xd * xd).mean(1, keepdims=True) + 1e-5)}
    for mode, want in exact.items():
        got = rownorm(mode, x, None, 1e-9 if mode == 1 else 1e-5)
        assert np.abs(got - want).max() <= bound, mode
    for p in (1, 2):
        want = xd / np.linalg.norm(xd, ord=p, axis=1, keepdims=True)
        assert (np.abs(lpnorm(p, x) - want) / np.abs(want).max(1, keepdims=True)).max() <= 6e-7, p


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("rows, n", SIZES)
def test_lpnorm_matches_reference(p, rows, n):
    x = interesting_f32(np.random.default_rng([p, rows, n]), (rows, n), scale=3.0)
    want = ref.lpnorm(p, x)
    assert_same_bits(lpnorm(p, x), want, f"p={p}")
    assert_same_bits(lpnorm(p, x, in_place=True), want, f"p={p} in place")


@pytest.mark.parametrize("p", [1, 2])
def test_lpnorm_zero_tiny_huge_and_nonfinite_rows(p):
    x = np.array([[0, -0.0, 0, 0, 0], [1e-30, -2e-30, 0, 0, 3e-30], [3e38, 3e38, -3e38, 0, 1],
                  [np.inf, 1, 0, 0, 0], [np.nan, 0, 0, 0, 0], [3, 4, 0, 0, 0]], f32)
    got = lpnorm(p, x)
    assert_same_bits(got, ref.lpnorm(p, x))
    assert (got[0] == 0).all() and not np.signbit(got[0]).any()
    xd = x[1:3].astype(np.float64)
    exact = xd / np.linalg.norm(xd, ord=p, axis=1, keepdims=True)
    assert np.allclose(got[1:3], exact, rtol=1e-6, atol=0)  # no underflow or overflow in the norm
    assert np.isnan(got[4]).all()
    assert np.allclose(got[5], [3 / 7, 4 / 7, 0, 0, 0] if p == 1 else [0.6, 0.8, 0, 0, 0], rtol=1e-7)


def test_lpnorm_unknown_p_is_2():
    x = np.random.default_rng(2).standard_normal((3, 9)).astype(f32)
    assert_same_bits(lpnorm(3, x), ref.lpnorm(2, x))


@pytest.mark.parametrize("rows, n, period", [(1, 1, 1), (6, 5, 3), (8, 16, 4), (7, 33, 7), (4, 3, 2), (3, 0, 3)])
def test_affine_rows_matches_reference(rows, n, period):
    rng = np.random.default_rng([rows, n, period])
    x = interesting_f32(rng, (rows, n))
    scale, bias = (rng.standard_normal(period).astype(f32) for _ in range(2))
    for b in (bias, None):
        want = ref.affine_rows(x, scale, b)
        assert_same_bits(affine(x, scale, b), want)
        assert_same_bits(affine(x, scale, b, in_place=True), want)
    assert_same_bits(affine(x, np.ones(period, f32), None), x)  # no bias: + -0 keeps every value's bits


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 8, 13, 37])
def test_prelu_select(n):
    rng = np.random.default_rng(n)
    x = interesting_f32(rng, n)
    x[: min(n, 2)] = [np.nan, -0.0][: min(n, 2)]
    t = rng.standard_normal(n).astype(f32)
    runner = KernelRunner("f32_vprelu_select")
    x_off, t_off = runner.put_at_end(x), runner.put(t)
    y_off = runner.alloc(x.nbytes)
    runner.call("f32_vprelu_select", n, x_off, t_off, y_off)
    want = np.where(x < 0, t, x).astype(f32)
    assert_same_bits(runner.read(y_off, (n,)), want)
    runner.call("f32_vprelu_select", n, x_off, t_off, t_off)  # in place over t
    assert_same_bits(runner.read(t_off, (n,)), want)
