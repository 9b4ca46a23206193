"""f32_rmax, f32_rnorm and f32_rlogsumexp (wasm-kernels/f32_reduce.wat): bit-exact against their
references for rows (inner == 1) and columns (inner > 1) of odd sizes, empty sets and special
values; log-sum-exp also against float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference_reduce as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
SIZES = [(1, 1, 1), (3, 5, 1), (2, 8, 1), (2, 19, 1), (1, 64, 1), (2, 3, 4), (3, 5, 7), (2, 9, 9), (1, 1, 13),
         (2, 0, 1), (2, 0, 6), (4, 33, 2), (2, 6, 37), (3, 70, 1), (1, 3, 16), (2, 0, 20)]


def run(kernel: str, x: np.ndarray, outer: int, r: int, inner: int, *extra) -> np.ndarray:
    runner = KernelRunner(kernel)
    x_off = runner.put_at_end(x.astype(f32)) if x.size else runner.alloc(0)
    y_off = runner.alloc(4 * outer * inner)
    runner.call(kernel, outer, r, inner, x_off, y_off, *extra)
    return runner.read(y_off, (outer, inner))


@pytest.mark.parametrize("outer, r, inner", SIZES)
@pytest.mark.parametrize("minimum", [False, True])
def test_rmax_matches_reference(outer, r, inner, minimum):
    x = interesting_f32(np.random.default_rng([outer, r, inner]), (outer, r, inner), scale=3)
    assert_same_bits(run("f32_rmax", x, outer, r, inner, int(minimum)), ref.rmax(x, outer, r, inner, minimum))


def test_rmax_nan_zeros_and_empty():
    x = np.array([1, np.nan, 3, 2, -0.0, 0.0, -0.0, -0.0, 5, 4, 3, 2], f32).reshape(3, 4, 1)
    got_max, got_min = run("f32_rmax", x, 3, 4, 1, 0), run("f32_rmax", x, 3, 4, 1, 1)
    assert np.isnan(got_max[0, 0]) and np.isnan(got_min[0, 0])
    assert got_max[1, 0] == 0 and not np.signbit(got_max[1, 0]) and np.signbit(got_min[1, 0])
    assert got_max[2, 0] == 5 and got_min[2, 0] == 2
    columns = np.array([[np.nan, 1, -np.inf, 2, 3], [0, 2, -np.inf, np.nan, 1]], f32).reshape(1, 2, 5)
    assert_same_bits(run("f32_rmax", columns, 1, 2, 5, 0), np.array([[np.nan, 2, -np.inf, np.nan, 3]], f32))
    empty = np.zeros((2, 0, 3), f32)
    assert (run("f32_rmax", empty, 2, 0, 3, 0) == -np.inf).all() and (run("f32_rmax", empty, 2, 0, 3, 1) == np.inf).all()


@pytest.mark.parametrize("outer, r, inner", SIZES)
@pytest.mark.parametrize("mode", [0, 1, 2])
def test_rnorm_matches_reference(outer, r, inner, mode):
    x = interesting_f32(np.random.default_rng([outer, r, inner, mode]), (outer, r, inner), scale=3)
    x[np.abs(x) > 1e30] = 7  # huge values are tested below
    assert_same_bits(run("f32_rnorm", x, outer, r, inner, mode), ref.rnorm(x, outer, r, inner, mode))


def test_rnorm_overflow_and_specials():
    x = np.array([3e38, 3e38, -3e38, 1, np.nan, 2, -np.inf, 1, 1], f32).reshape(3, 3, 1)
    for mode in (0, 1, 2):
        got = run("f32_rnorm", x, 3, 3, 1, mode)
        assert_same_bits(got, ref.rnorm(x, 3, 3, 1, mode))
        assert np.isnan(got[1, 0]) and got[2, 0] == np.inf
    assert run("f32_rnorm", x, 3, 3, 1, 1)[0, 0] == np.inf and run("f32_rnorm", x, 3, 3, 1, 0)[0, 0] == np.inf
    assert run("f32_rnorm", np.array([3.0, -4.0], f32), 1, 2, 1, 2)[0, 0] == 5


@pytest.mark.parametrize("outer, r, inner", SIZES)
def test_rlogsumexp_matches_reference(outer, r, inner):
    x = interesting_f32(np.random.default_rng([outer, r, inner, 9]), (outer, r, inner), scale=5)
    x[np.abs(x) > 1e30] = -2  # infinite and huge values are tested below
    assert_same_bits(run("f32_rlogsumexp", x, outer, r, inner), ref.rlogsumexp(x, outer, r, inner))


def test_rlogsumexp_accuracy_and_specials():
    rng = np.random.default_rng(4)
    for inner in (1, 6):
        x = (rng.standard_normal((20, 37, inner)) * 20).astype(f32)
        got = run("f32_rlogsumexp", x, 20, 37, inner).astype(np.float64)
        xd = x.astype(np.float64)
        m = xd.max(axis=1)
        exact = m + np.log(np.exp(xd - m[:, None, :]).sum(axis=1))
        assert np.abs(got - exact).max() <= 4e-6 * np.abs(exact).max()
    rows = np.array([[np.inf, 1], [-np.inf, -np.inf], [np.inf, -np.inf], [np.nan, 1], [1000, 1000], [-1000, -1000]], f32)
    got = run("f32_rlogsumexp", rows.reshape(6, 2, 1), 6, 2, 1).reshape(-1)
    assert got[0] == np.inf and got[1] == -np.inf and got[2] == np.inf and np.isnan(got[3])
    assert abs(got[4] - (1000 + np.log(2))) < 1e-3 and abs(got[5] - (-1000 + np.log(2))) < 1e-3
    columns = run("f32_rlogsumexp", rows.T.reshape(1, 2, 6), 1, 2, 6).reshape(-1)
    assert_same_bits(columns, got)  # a column's bits do not depend on its position or on rows vs columns here
    assert (run("f32_rlogsumexp", np.zeros((2, 0, 5), f32), 2, 0, 5) == -np.inf).all()


@settings(max_examples=25, deadline=None)
@given(outer=st.integers(1, 3), r=st.integers(0, 40), inner=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_property_reductions_match_references(outer, r, inner, seed):
    x = interesting_f32(np.random.default_rng(seed), (outer, r, inner), scale=4)
    x[np.abs(x) > 1e30] = 1
    assert_same_bits(run("f32_rmax", x, outer, r, inner, 1), ref.rmax(x, outer, r, inner, True))
    assert_same_bits(run("f32_rnorm", x, outer, r, inner, 2), ref.rnorm(x, outer, r, inner, 2))
    assert_same_bits(run("f32_rlogsumexp", x, outer, r, inner), ref.rlogsumexp(x, outer, r, inner))
