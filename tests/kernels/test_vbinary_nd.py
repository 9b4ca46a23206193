"""f32_vbinary_nd with the compile-time broadcast collapse (edgewasm.backend.broadcast): every op
and every broadcast pattern bit-exact against numpy broadcasting; pow within its documented error."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from edgewasm.backend.broadcast import collapse

from . import reference_elementwise as ref
from .harness import PAGE_BYTES, KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
REVERSED = {0: 0, 1: 6, 2: 2, 3: 7, 4: 4, 5: 5, 6: 1, 7: 3, 8: 9, 9: 8}
OPS = sorted(REVERSED)


def values(rng, shape, scale):
    return np.asarray(interesting_f32(rng, max(1, int(np.prod(shape))), scale))[:int(np.prod(shape))].reshape(shape)


def broadcast_op(op: int, a: np.ndarray, b: np.ndarray, at_end: bool = False) -> np.ndarray:
    """Run y = a OP b the way the compiler lowers it: collapse, then one kernel call per outer index."""
    a, b = np.asarray(a, f32, order="C"), np.asarray(b, f32, order="C")
    out = np.broadcast_shapes(a.shape, b.shape)
    loops = collapse(a.shape, b.shape)
    size = int(np.prod(out))
    runner = KernelRunner("f32_vbinary_nd", pages=(4 * (a.size + b.size + size) + 8192) // PAGE_BYTES + 1)
    a_off = runner.put(a)
    b_off = runner.put_at_end(b) if at_end else runner.put(b)
    y_off = runner.alloc(4 * size)
    if loops is not None:
        if loops.swapped:
            op, a_off, b_off = REVERSED[op], b_off, a_off
        for da, db, dy in loops.calls:
            runner.call("f32_vbinary_nd", op, *loops.args, a_off + da, b_off + db, y_off + dy)
    return runner.read(y_off, out)


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("shape_a, shape_b", [
    ((7,), (7,)), ((3, 5), (5,)), ((3, 5), (3, 1)), ((3, 5), ()), ((), (3, 5)), ((1,), (9,)),
    ((2, 3, 4), (3, 1)), ((4, 1), (1, 6)), ((2, 1, 3, 1), (1, 4, 1, 5)), ((1, 1, 1), (1,)),
    ((2, 3, 2, 3, 2), (3, 1, 3, 1)), ((0, 3), (3,)), ((5, 13), (1, 13)), ((13, 1), (13,)),
])
def test_broadcast_patterns_match_numpy(op, shape_a, shape_b):
    rng = np.random.default_rng([op, len(shape_a), len(shape_b)])
    a = values(rng, shape_a, 3.0)
    b = values(rng, shape_b, 3.0)
    assert_same_bits(broadcast_op(op, a, b, at_end=True), ref.binary(op, a, b), f"op {op}")


def test_common_patterns_need_one_call():
    for shape_a, shape_b, n, b_run in [((4, 16, 64), (4, 16, 64), 4096, 1), ((16, 64), (64,), 64, 1),
                                       ((16, 64), (16, 1), 64, 0), ((16, 64), (), 1024, 0),
                                       ((1, 4, 16, 16), (1, 1, 1, 16), 16, 1)]:
        loops = collapse(shape_a, shape_b)
        assert len(loops.calls) == 1 and loops.n == n and loops.b_run == b_run, (shape_a, shape_b, loops)
    loops = collapse((2, 1, 3, 1), (1, 4, 1, 5))  # alternating: 4 merged dims, 2 loops, 2 calls
    assert len(loops.calls) == 2


def test_in_place_same_shape():
    rng = np.random.default_rng(3)
    a, b = interesting_f32(rng, 23), interesting_f32(rng, 23)
    runner = KernelRunner("f32_vbinary_nd")
    a_off, b_off = runner.put(a), runner.put(b)
    runner.call("f32_vbinary_nd", 2, 23, 1, 1, 0, 0, 1, 0, 0, a_off, b_off, a_off)
    assert_same_bits(runner.read(a_off, (23,)), a * b)


def test_zero_sizes_write_nothing():
    runner = KernelRunner("f32_vbinary_nd")
    y = runner.put(np.full(8, 7.0, f32))
    for n, d0, d1 in [(0, 1, 1), (4, 0, 1), (4, 1, 0)]:
        runner.call("f32_vbinary_nd", 0, n, 1, d0, 16, 16, d1, 16, 16, y, y, y)
    assert (runner.read(y, (8,)) == 7).all()


shapes = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=5, max_side=5)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(OPS), shapes, st.integers(0, 2**32 - 1))
def test_property_any_broadcast(op, shapes_, seed):
    shape_a, shape_b = shapes_.input_shapes
    rng = np.random.default_rng(seed)
    a, b = values(rng, shape_a, 2.0), values(rng, shape_b, 2.0)
    assert_same_bits(broadcast_op(op, a, b), ref.binary(op, a, b), f"op {op} {shape_a} {shape_b}")


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(f32, 9, elements=st.floats(width=32)), hnp.arrays(f32, 9, elements=st.floats(width=32)))
def test_property_pow_any_f32(x, y):
    assert_same_bits(broadcast_op(8, x, y), ref.power(x, y))


SPECIALS = np.array([0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.0, -3.0, np.inf, -np.inf, np.nan], f32)


def test_pow_special_values_follow_numpy():
    x, y = np.meshgrid(SPECIALS, SPECIALS)
    got = broadcast_op(8, x, y)
    assert_same_bits(got, ref.power(x, y))
    with np.errstate(all="ignore"):
        want = np.power(x, y)
    close = np.isclose(got, want, rtol=1e-6, atol=0) & (np.signbit(got) == np.signbit(want))
    agree = (np.isnan(got) & np.isnan(want)) | (got == want) & (np.signbit(got) == np.signbit(want)) | close
    assert agree.all(), list(zip(x[~agree], y[~agree], got[~agree], want[~agree]))


def test_pow_documented_accuracy():
    """relative error <= 3e-7 + |y ln|x|| * 1.2e-7 for normal, finite results (f32x4_pow's doc)."""
    rng = np.random.default_rng(4)
    x = np.exp(rng.uniform(-20, 20, 200_000)).astype(f32) * rng.choice([-1, 1], 200_000).astype(f32)
    y = rng.uniform(-4, 4, 200_000).astype(f32)
    y[::3] = np.rint(y[::3])  # integer exponents: negative bases allowed
    got = broadcast_op(8, x, y).astype(np.float64)
    exact = np.power(x.astype(np.float64), y.astype(np.float64))
    ok = np.isfinite(exact) & (np.abs(exact) > 1.2e-38) & (np.abs(exact) < 3e38)
    t = np.abs(y.astype(np.float64) * np.log(np.abs(x.astype(np.float64))))
    rel = np.abs(got[ok] / exact[ok] - 1)
    assert (rel <= 3e-7 + 1.2e-7 * t[ok]).all(), rel.max()
    assert np.isnan(got[~np.isfinite(exact) & ~np.isinf(exact)]).all()
