"""f32_scaleshift_c4 (bit-exact, odd channel counts, in place) and f32_pad_rows (exact bit moves)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from . import reference_cnn as cref
from .harness import KernelRunner, assert_same_bits, interesting_f32


def scaleshift(x, scale, shift, in_place=False):
    runner = KernelRunner("f32_scaleshift_c4")
    rows, c = x.shape
    x_off = runner.put_at_end(x)
    s_off, b_off = runner.put(scale), runner.put(shift)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    runner.call("f32_scaleshift_c4", rows, c, x_off, s_off, b_off, y_off)
    return runner.read(y_off, x.shape)


@pytest.mark.parametrize("rows, c", [(1, 1), (3, 3), (2, 4), (5, 7), (4, 32), (1, 65)])
@pytest.mark.parametrize("in_place", [False, True])
def test_scaleshift_bit_exact(rows, c, in_place):
    rng = np.random.default_rng([rows, c])
    x = interesting_f32(rng, (rows, c))
    scale, shift = interesting_f32(rng, (c,)), interesting_f32(rng, (c,))
    assert_same_bits(scaleshift(x, scale, shift, in_place), cref.scaleshift(x, scale, shift))


@settings(max_examples=30, deadline=None)
@given(rows=st.integers(1, 6), c=st.integers(1, 30), seed=st.integers(0, 2**32 - 1))
def test_property_scaleshift(rows, c, seed):
    rng = np.random.default_rng(seed)
    x = interesting_f32(rng, (rows, c))
    scale, shift = interesting_f32(rng, (c,)), interesting_f32(rng, (c,))
    assert_same_bits(scaleshift(x, scale, shift), cref.scaleshift(x, scale, shift))


def pad_rows(x_bits, ind, width, value_bits):
    runner = KernelRunner("f32_pad_rows")
    x_off = runner.put_at_end(x_bits)
    ind_off = runner.put(ind)
    y_off = runner.alloc(ind.size * width * 4 + 8) + 4
    runner.write(y_off - 4, np.full(ind.size * width + 2, 0xA5A5A5A5, np.uint32))
    value = np.array([value_bits], np.uint32).view(np.float32)[0]
    runner.call("f32_pad_rows", ind.size, width, ind_off, x_off, y_off, float(value))
    guards = runner.read(y_off - 4, 1, np.uint32)[0], runner.read(y_off + ind.size * width * 4, 1, np.uint32)[0]
    assert guards == (0xA5A5A5A5, 0xA5A5A5A5), "wrote outside y"
    return runner.read(y_off, (ind.size, width), np.uint32)


@settings(max_examples=40, deadline=None)
@given(in_rows=st.integers(1, 6), width=st.integers(1, 13), out_rows=st.integers(0, 12), seed=st.integers(0, 2**32 - 1))
def test_pad_rows_moves_bits(in_rows, width, out_rows, seed):
    rng = np.random.default_rng(seed)
    x_bits = rng.integers(0, 2**32, in_rows * width, dtype=np.uint64).astype(np.uint32)  # NaN payloads too
    ind = (rng.integers(-1, in_rows, out_rows) * width * 4).astype(np.int32)
    ind[ind < 0] = -1
    value_bits = int(rng.choice([0x3F800000, 0x80000000, 0xFF800000, 0x00000001]))  # 1, -0, -inf, subnormal
    got = pad_rows(x_bits, ind, width, value_bits)
    np.testing.assert_array_equal(got, cref.pad_rows(x_bits, ind, width, value_bits))
