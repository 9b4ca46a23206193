"""f32_logsoftmax, f32_layernorm and f32_rsum: bit-exact against their references for odd sizes,
special values, aliasing, and the optional outputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference_norm as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
SIZES = [(1, 1), (1, 3), (2, 4), (3, 5), (4, 8), (2, 17), (5, 33), (1, 64)]


def logsoftmax(x: np.ndarray, in_place: bool = False) -> np.ndarray:
    runner = KernelRunner("f32_logsoftmax")
    x_off = runner.put_at_end(x) if not in_place else runner.put(x)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call("f32_logsoftmax", x.shape[0], x.shape[1], x_off, y_off)
    return runner.read(y_off, x.shape)


@pytest.mark.parametrize("rows, n", SIZES)
def test_logsoftmax_matches_reference(rows, n):
    x = interesting_f32(np.random.default_rng([rows, n]), (rows, n), scale=5.0)
    x[np.abs(x) > 1e30] = 0  # huge magnitudes are tested below
    assert_same_bits(logsoftmax(x), ref.logsoftmax(x))
    assert_same_bits(logsoftmax(x, in_place=True), ref.logsoftmax(x))


def test_logsoftmax_accuracy_and_specials():
    x = np.random.default_rng(0).standard_normal((50, 37)).astype(f32) * 10
    y = logsoftmax(x).astype(np.float64)
    xd = x.astype(np.float64)
    exact = xd - xd.max(1, keepdims=True) - np.log(np.exp(xd - xd.max(1, keepdims=True)).sum(1, keepdims=True))
    assert np.abs(y - exact).max() <= 1e-5
    special = np.array([[0, -np.inf, 1, 2], [-np.inf] * 4, [1, np.nan, 0, 0], [1e30, -1e30, 3e38, 0]], f32)
    got = logsoftmax(special)
    assert_same_bits(got, ref.logsoftmax(special))
    assert got[0, 1] == -np.inf and np.isfinite(got[0, [0, 2, 3]]).all()
    assert np.isnan(got[1]).all() and np.isnan(got[2]).all()


def layernorm(x, gamma, beta, eps, stats=True):
    rows, n = x.shape
    runner = KernelRunner("f32_layernorm")
    x_off, g_off = runner.put_at_end(x), runner.put(gamma)
    b_off = runner.put(beta) if beta is not None else 0
    y_off = runner.alloc(x.nbytes)
    m_off, s_off = (runner.alloc(4 * rows), runner.alloc(4 * rows)) if stats else (0, 0)
    runner.call("f32_layernorm", rows, n, x_off, g_off, b_off, y_off, m_off, s_off, float(eps))
    y = runner.read(y_off, x.shape)
    return (y, runner.read(m_off, (rows,)), runner.read(s_off, (rows,))) if stats else y


@pytest.mark.parametrize("rows, n", SIZES)
@pytest.mark.parametrize("with_beta", [True, False])
def test_layernorm_matches_reference(rows, n, with_beta):
    rng = np.random.default_rng([rows, n])
    x = (rng.standard_normal((rows, n)) * 3 + 1).astype(f32)
    gamma, beta = rng.standard_normal(n).astype(f32), rng.standard_normal(n).astype(f32)
    beta = beta if with_beta else None
    y, mean, inv_std = layernorm(x, gamma, beta, 1e-5)
    want_y, want_mean, want_inv = ref.layernorm(x, gamma, beta, 1e-5)
    assert_same_bits(y, want_y)
    assert_same_bits(mean, want_mean)
    assert_same_bits(inv_std, want_inv)
    assert_same_bits(layernorm(x, gamma, beta, 1e-5, stats=False), want_y)


def test_layernorm_in_place_and_specials():
    x = np.array([[1, 2, 3, 4, 5], [0, 0, 0, 0, 0], [1, np.nan, 0, 0, 0], [np.inf, 0, 0, 0, 0]], f32)
    gamma, beta = np.ones(5, f32), np.zeros(5, f32)
    runner = KernelRunner("f32_layernorm")
    x_off, g_off, b_off = runner.put(x), runner.put(gamma), runner.put(beta)
    runner.call("f32_layernorm", 4, 5, x_off, g_off, b_off, x_off, 0, 0, 1e-5)
    got = runner.read(x_off, x.shape)
    assert_same_bits(got, ref.layernorm(x, gamma, beta, 1e-5)[0])
    assert (got[1] == 0).all() and np.isnan(got[2]).all() and np.isnan(got[3]).all()


def rsum(x, outer, r, inner, divisor):
    runner = KernelRunner("f32_rsum")
    x_off, y_off = runner.put_at_end(x), runner.alloc(4 * outer * inner)
    runner.call("f32_rsum", outer, r, inner, x_off, y_off, float(divisor))
    return runner.read(y_off, (outer, inner))


@pytest.mark.parametrize("outer, r, inner", [(1, 1, 1), (3, 5, 1), (2, 8, 1), (2, 33, 1), (1, 3, 4), (3, 4, 7),
                                             (2, 1, 9), (4, 6, 16), (1, 0, 5), (2, 0, 1), (2, 7, 16 + 4 + 3),
                                             (1, 9, 64 + 16 + 5), (3, 5, 48)])
@pytest.mark.parametrize("mean", [True, False])
def test_rsum_matches_reference(outer, r, inner, mean):
    x = interesting_f32(np.random.default_rng([outer, r, inner]), max(1, outer * r * inner))[:outer * r * inner]
    divisor = r if mean else 1
    assert_same_bits(rsum(x, outer, r, inner, divisor), ref.rsum(x, outer, r, inner, divisor))


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 4), st.integers(1, 13), st.integers(1, 11), st.integers(0, 2**32 - 1))
def test_property_rsum_and_layernorm(outer, r, inner, seed):
    rng = np.random.default_rng(seed)
    x = interesting_f32(rng, outer * r * inner, scale=4.0)
    assert_same_bits(rsum(x, outer, r, inner, r), ref.rsum(x, outer, r, inner, r))
    rows = x.reshape(outer, r * inner)
    gamma = rng.standard_normal(r * inner).astype(f32)
    assert_same_bits(layernorm(rows, gamma, None, 1e-3, stats=False), ref.layernorm(rows, gamma, None, 1e-3)[0])
    assert_same_bits(logsoftmax(rows), ref.logsoftmax(rows))
