"""x_copy_nd with the compile-time address maps of edgewasm.backend.gather: transposes,
slices (negative steps too), takes and concatenation copy exact bits, descriptors simplify."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edgewasm.backend.gather import Dim, descriptor, simplify, slice_dims, take_dims, transpose_dims
from edgewasm.errors import UnsupportedModelError

from . import reference_movement as ref
from .harness import KernelRunner, assert_same_bits

f32 = np.float32


def payload(shape, seed=0) -> np.ndarray:
    """Random bit patterns (NaNs with payloads included): copies must keep every bit."""
    size = int(np.prod(shape))
    bits = np.random.default_rng(seed).integers(0, 2**32, size, dtype=np.uint64).astype(np.uint32)
    return bits.view(f32).reshape(shape)


def gather(x: np.ndarray, dims: list[Dim], out_shape, base: int = 0, check_reference: bool = True) -> np.ndarray:
    simple, extra = simplify(dims)
    desc = descriptor(simple)
    runner = KernelRunner("x_copy_nd")
    x_off = runner.put_at_end(x)  # any over-read traps
    y_size = int(np.prod(out_shape))
    fill = np.full(y_size, 7.5, f32)
    y_off = runner.put(fill)
    if y_size and not any(d.count == 0 for d in simple):
        runner.call("x_copy_nd", runner.put(desc), x_off + base + extra, y_off)
    y = runner.read(y_off, out_shape)
    if check_reference and y_size:
        want = ref.gather_nd(desc, x.tobytes(), base + extra, y_size, fill).reshape(out_shape)
        assert_same_bits(y, want, "reference")
    return y


def same_bits(a, b):
    assert a.shape == b.shape and np.array_equal(np.ascontiguousarray(a).view(np.uint32),
                                                 np.ascontiguousarray(b).view(np.uint32))


@pytest.mark.parametrize("shape", [(5,), (3, 4), (2, 3, 4), (2, 3, 4, 5), (1, 4, 1, 3), (2, 1, 3, 1, 2)])
def test_every_transpose(shape):
    x = payload(shape, seed=len(shape))
    for perm in itertools.permutations(range(len(shape))):
        out = np.ascontiguousarray(x.transpose(perm))
        same_bits(gather(x, transpose_dims(shape, perm), out.shape), out)


def test_head_split_is_one_copy_per_row():
    """[B, S, H, D] -> [B, H, S, D] keeps D contiguous: the innermost dim is a memory.copy of D."""
    dims, _ = simplify(transpose_dims((1, 16, 4, 16), (0, 2, 1, 3)))
    assert [(d.count, d.x_step, d.y_step) for d in dims] == [(4, 64, 1024), (16, 256, 64), (16, 4, 4)]
    dims, _ = simplify(transpose_dims((2, 3, 4), (0, 1, 2)))
    assert [(d.count, d.x_step, d.y_step) for d in dims] == [(24, 4, 4)]


@pytest.mark.parametrize("shape, starts, steps, counts", [
    ((10,), [2], [1], [5]), ((10,), [9], [-1], [10]), ((10,), [8], [-3], [3]), ((6, 7), [1, 2], [2, 1], [3, 4]),
    ((4, 5, 6), [3, 0, 5], [-1, 2, -2], [4, 3, 3]), ((3, 4), [0, 0], [1, 1], [0, 4]),
])
def test_slices(shape, starts, steps, counts):
    x = payload(shape, seed=1)
    dims, base = slice_dims(shape, starts, steps, counts)
    index = tuple(slice(s, s + c * st if s + c * st >= 0 else None, st) for s, st, c in zip(starts, steps, counts))
    want = np.ascontiguousarray(x[index])
    same_bits(gather(x, dims, tuple(counts), base), want)


@pytest.mark.parametrize("shape, axis, indices", [
    ((5, 4), 0, [3, 0, 4, 4]), ((5, 4), 1, [[1, 2], [3, 0]]), ((2, 3, 4), 1, 2), ((2, 3, 4), 2, [0, 1, 2]),
    ((2, 3, 4), 0, [1]), ((3,), 0, [[2, 2, 0]]),
])
def test_takes(shape, axis, indices):
    x = payload(shape, seed=2)
    indices = np.array(indices)
    want = np.ascontiguousarray(np.take(x, indices, axis=axis))
    same_bits(gather(x, take_dims(shape, axis, indices), want.shape), want)


def test_progressions_become_steps_and_tables_stay():
    dims, base = simplify([Dim(3, 0, 4, (8, 12, 16))])
    assert dims == [Dim(3, 4, 4)] and base == 8
    dims, base = simplify([Dim(3, 0, 4, (0, 8, 4))])
    assert dims == [Dim(3, 0, 4, (0, 8, 4))] and base == 0
    assert descriptor(dims).tolist() == [1, 4, 3, 0, 4, 24, 0, 8, 4]
    with pytest.raises(UnsupportedModelError, match="2 GiB"):
        descriptor([Dim(2, 2**31, 4)])


def test_concat_writes_strided_blocks():
    """Concat along axis 1 of [2, 3, 4] and [2, 5, 4]: each input is a 2-D block of the output."""
    a, b = payload((2, 3, 4), 3), payload((2, 5, 4), 4)
    runner = KernelRunner("x_copy_nd")
    y_off = runner.alloc(2 * 8 * 4 * 4)
    for x, offset in ((a, 0), (b, 3 * 4 * 4)):
        d, base = simplify([Dim(2, x.shape[1] * 16, 8 * 16), Dim(x.shape[1] * 4, 4, 4)])
        runner.call("x_copy_nd", runner.put(descriptor(d)), runner.put(x) + base, y_off + offset)
    same_bits(runner.read(y_off, (2, 8, 4)), np.concatenate([a, b], axis=1))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=5), st.randoms(use_true_random=False))
def test_property_transpose_then_slice(shape, random):
    shape = tuple(shape)
    perm = list(range(len(shape)))
    random.shuffle(perm)
    x = payload(shape, seed=random.randrange(1000))
    out = np.ascontiguousarray(x.transpose(perm))
    same_bits(gather(x, transpose_dims(shape, tuple(perm)), out.shape), out)
    starts = [random.randrange(d) for d in shape]
    steps = [random.choice([1, 2, -1]) for _ in shape]
    counts = [len(range(s, d if st > 0 else -1, st)) for s, st, d in zip(starts, steps, shape)]
    dims, base = slice_dims(shape, starts, steps, counts)
    index = tuple(slice(s, s + c * st if s + c * st >= 0 else None, st) for s, st, c in zip(starts, steps, counts))
    same_bits(gather(x, dims, tuple(counts), base), np.ascontiguousarray(x[index]))
