"""f32_vadd, f32_vadd_rows, f32_vclamp: bit-exact for every length (vector body + scalar tail)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import reference as ref
from .harness import KernelRunner, assert_same_bits, interesting_f32

INF = float("inf")
SIGNED_ZEROS_AND_NANS = np.array([-0.0, 0.0, np.nan, -np.nan, -np.inf, np.inf, -1.0, 1.0, -0.0], np.float32)


def vadd(a, b, alias=None, at_end=False):
    runner = KernelRunner("f32_vadd")
    a_off = runner.put_at_end(a) if at_end else runner.put(a)
    b_off = runner.put(b)
    y_off = {"a": a_off, "b": b_off}[alias] if alias else runner.alloc(a.nbytes)
    runner.call("f32_vadd", a.size, a_off, b_off, y_off)
    return runner.read(y_off, a.shape)


def vadd_rows(a, b, in_place=False):
    runner = KernelRunner("f32_vadd_rows")
    a_off, b_off = runner.put(a), runner.put_at_end(b)
    y_off = a_off if in_place else runner.alloc(a.nbytes)
    runner.call("f32_vadd_rows", a.shape[0], a.shape[1], a_off, b_off, y_off)
    return runner.read(y_off, a.shape)


def vclamp(x, lo, hi, in_place=False, at_end=False):
    runner = KernelRunner("f32_vclamp")
    x_off = runner.put_at_end(x) if at_end else runner.put(x)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call("f32_vclamp", x.size, x_off, y_off, float(lo), float(hi))
    return runner.read(y_off, x.shape)


@pytest.mark.parametrize("n", [*range(0, 10), 15, 16, 17, 33, 1000])
def test_vadd_every_tail_length(n):
    rng = np.random.default_rng(n)
    a, b = interesting_f32(rng, n), interesting_f32(rng, n)
    assert_same_bits(vadd(a, b, at_end=True), ref.vadd(a, b))


@pytest.mark.parametrize("alias", ["a", "b"])
def test_vadd_in_place(alias):
    rng = np.random.default_rng(1)
    a, b = interesting_f32(rng, 23), interesting_f32(rng, 23)
    assert_same_bits(vadd(a, b, alias=alias), ref.vadd(a, b))


@pytest.mark.parametrize("rows, n", [(1, 1), (5, 1), (3, 3), (4, 4), (2, 7), (3, 17), (1, 33)])
def test_vadd_rows_broadcasts_b(rows, n):
    rng = np.random.default_rng([rows, n])
    a, b = interesting_f32(rng, (rows, n)), interesting_f32(rng, n)
    assert_same_bits(vadd_rows(a, b), ref.vadd(a, b[None, :]))
    assert_same_bits(vadd_rows(a, b, in_place=True), ref.vadd(a, b[None, :]))


@pytest.mark.parametrize("lo, hi", [(0.0, INF), (0.0, 6.0), (-1.0, 1.0), (-0.0, 0.0), (0.0, -0.0), (-INF, INF)])
@pytest.mark.parametrize("n", [1, 3, 4, 9, 18])
def test_vclamp_zeros_and_nans_same_bits_in_vector_and_tail(lo, hi, n):
    x = np.resize(SIGNED_ZEROS_AND_NANS, n)
    expected = ref.clamp(x, lo, hi)
    y = vclamp(x, lo, hi, at_end=True)
    assert_same_bits(y, expected)
    assert_same_bits(vclamp(x, lo, hi, in_place=True), expected)


def test_relu_of_negative_zero_is_positive_zero():
    y = vclamp(np.full(7, -0.0, np.float32), 0.0, INF)  # 4 vector lanes + 3 tail elements
    assert not np.signbit(y).any()


def test_nan_bound_gives_nan():
    assert np.isnan(vclamp(np.arange(6, dtype=np.float32), np.nan, INF)).all()


f32_values = st.floats(width=32)


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 40).flatmap(lambda n: st.tuples(
    hnp.arrays(np.float32, n, elements=f32_values), hnp.arrays(np.float32, n, elements=f32_values))),
    st.tuples(f32_values, f32_values))
def test_property_vadd_and_vclamp(ab, bounds):
    a, b = ab
    assert_same_bits(vadd(a, b), ref.vadd(a, b))
    assert_same_bits(vclamp(a, *bounds), ref.clamp(a, *bounds))
