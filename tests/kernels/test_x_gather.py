"""x_gather.wat: the run-time index kernels (x_gather, x_gather_elements, x_scatter_elements,
x_gather_nd, x_scatter_nd, x_onehot) against scalar numpy references, with the descriptors
edgewasm.backend.indexing writes: odd shapes, int32 and int64 indices (negative ones too), element
dtypes of every size (int64, bool, float16, ...) whose bits must move exactly, scatter reductions
with duplicate indices, and out-of-range indices that return 1 without touching a byte outside
the kernel's own tensors (the data ends at the end of memory, so any over-read traps)."""

from __future__ import annotations

import itertools
import math

import ml_dtypes
import numpy as np
import pytest

from edgewasm.backend.indexing import REDUCTIONS, elements_descriptor, nd_descriptor, onehot_descriptor
from edgewasm.dtypes import kernel_code

from .harness import KernelRunner

GUARD = 24  # bytes of sentinel on each side of every output
SENTINEL = 0xA5
ELEMENT_DTYPES = ["float32", "int64", "bool", "float16", "int8", "uint16", "float64", "bfloat16", "uint64", "int32"]
INDEX_DTYPES = ["int32", "int64"]


def np_dtype(name: str) -> np.dtype:
    return np.dtype(ml_dtypes.bfloat16) if name == "bfloat16" else np.dtype(name)


def payload(shape, dtype: str, rng) -> np.ndarray:
    """Random bit patterns (NaN payloads and all) for element moves; bools are 0/1."""
    dt = np_dtype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    raw = rng.integers(0, 256, math.prod(shape) * dt.itemsize, dtype=np.uint8)
    return raw.view(dt).reshape(shape)


def values(shape, dtype: str, rng) -> np.ndarray:
    """Ordinary values for reductions (small integers, so products stay exact in floats)."""
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    dt = np_dtype(dtype)
    if np.issubdtype(dt, np.unsignedinteger):
        return rng.integers(0, 6, shape).astype(dt)
    return rng.integers(-5, 6, shape).astype(dt) if dt.kind in "iu" else (rng.integers(-8, 9, shape) / 4).astype(dt)


def indices(shape, dim: int, dtype: str, rng) -> np.ndarray:
    """Indices in [-dim, dim): negative ones count from the end."""
    return rng.integers(-dim, dim, shape).astype(dtype) if dim else np.zeros(shape, dtype)


def bits(a: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(a).view(np.uint8)


def combine(reduction: str, a, b):
    """One step of a scatter reduction in the elements' own dtype (numpy's arithmetic)."""
    a, b = np.array(a), np.array(b)
    if reduction == "none":
        return b
    with np.errstate(over="ignore"):
        op = {"add": np.add, "mul": np.multiply, "max": np.maximum, "min": np.minimum}[reduction]
        return op(a, b).astype(a.dtype)


class Output:
    """An output buffer with sentinels on both sides, in a runner."""

    def __init__(self, runner: KernelRunner, shape, dtype: str, initial: np.ndarray | None = None):
        self.runner, self.shape, self.dtype = runner, tuple(shape), np_dtype(dtype)
        self.nbytes = math.prod(self.shape) * self.dtype.itemsize
        body = (np.full(self.nbytes, SENTINEL, np.uint8) if initial is None
                else bits(np.asarray(initial, self.dtype)).reshape(-1))
        fill = np.concatenate([np.full(GUARD, SENTINEL, np.uint8), body, np.full(GUARD, SENTINEL, np.uint8)])
        self.base = runner.put(fill)
        self.offset = self.base + GUARD
        self.initial = fill

    def read(self) -> np.ndarray:
        raw = np.frombuffer(self.runner.read_bytes(self.base, self.nbytes + 2 * GUARD), np.uint8)
        assert (raw[:GUARD] == SENTINEL).all() and (raw[GUARD + self.nbytes:] == SENTINEL).all(), "wrote outside y"
        return raw[GUARD:GUARD + self.nbytes].copy().view(self.dtype).reshape(self.shape)

    def unchanged(self) -> bool:
        raw = np.frombuffer(self.runner.read_bytes(self.base, self.nbytes + 2 * GUARD), np.uint8)
        return bool((raw == self.initial).all())


# -- x_gather -------------------------------------------------------------------------------------

def gather_ref(x, idx, axis):
    dim = x.shape[axis]
    out = np.empty(x.shape[:axis] + idx.shape + x.shape[axis + 1:], x.dtype)
    for o in np.ndindex(x.shape[:axis]):
        for j in np.ndindex(idx.shape):
            i = int(idx[j])
            out[o + j] = x[o + (i + dim if i < 0 else i,)]
    return out


def run_gather(x, idx, axis, runner=None):
    runner = runner or KernelRunner("x_gather")
    shape = x.shape
    desc = [math.prod(shape[:axis]), shape[axis], x.dtype.itemsize * math.prod(shape[axis + 1:]), idx.size,
            kernel_code(idx.dtype.name)]
    y = Output(runner, shape[:axis] + idx.shape + shape[axis + 1:], x.dtype.name)
    status = runner.call("x_gather", runner.put(np.array(desc, np.int32)), runner.put_at_end(x), runner.put(idx), y.offset)
    return status, y


@pytest.mark.parametrize("dtype", ELEMENT_DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("shape, axis, idx_shape", [((7,), 0, (5,)), ((5, 3), 0, (2, 3)), ((3, 5, 2), 1, (4,)),
                                                    ((2, 3, 7), 2, (3, 1)), ((4, 1, 3), 1, ()), ((3, 4), 1, (0,))])
def test_x_gather_is_np_take(dtype, index_dtype, shape, axis, idx_shape):
    rng = np.random.default_rng(len(shape) * 7 + axis)
    x = payload(shape, dtype, rng)
    idx = indices(idx_shape, shape[axis], index_dtype, rng)
    status, y = run_gather(x, idx, axis)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(gather_ref(x, idx, axis)))


@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("bad", [5, -6, 2**31, -2**31 - 1, 2**40])
def test_x_gather_out_of_range_returns_1_and_writes_nothing(index_dtype, bad):
    if index_dtype == "int32" and not -2**31 <= bad < 2**31:
        pytest.skip("not an int32")
    x = payload((3, 5, 2), "int64", np.random.default_rng(0))
    idx = np.array([0, 4, -5, bad, 1], index_dtype)
    status, y = run_gather(x, idx, 1)
    assert status == 1 and y.unchanged()


# -- x_gather_elements / x_scatter_elements -----------------------------------------------------

def elements_ref(data, idx, axis, updates=None, reduction="none"):
    """GatherElements (updates None) or ScatterElements, one element at a time in index order."""
    dim = data.shape[axis]
    out = np.empty(idx.shape, data.dtype) if updates is None else data.copy()
    for j in np.ndindex(idx.shape):
        i = int(idx[j])
        at = j[:axis] + (i + dim if i < 0 else i,) + j[axis + 1:]
        if updates is None:
            out[j] = data[at]
        else:
            out[at] = combine(reduction, out[at], updates[j])
    return out


ELEMENT_CASES = [((7,), 0, (4,)), ((7,), 0, (9,)), ((3, 5), 0, (2, 5)), ((3, 5), 1, (3, 7)), ((3, 5), 1, (2, 3)),
                 ((2, 3, 4), 2, (2, 3, 4)), ((2, 3, 4), 1, (1, 5, 3)), ((2, 3, 4), 0, (4, 2, 1)),
                 ((1, 3, 1, 5), 3, (1, 2, 1, 6)), ((2, 1, 3, 2, 3), 2, (2, 1, 4, 1, 3)), ((3, 4), 0, (0, 4))]


def run_elements(kernel, data, idx, axis, dtype, updates=None, reduction="none", runner=None):
    runner = runner or KernelRunner(kernel)
    desc = runner.put(elements_descriptor(data.shape, idx.shape, axis, dtype, idx.dtype.name, reduction))
    if kernel == "x_gather_elements":
        y = Output(runner, idx.shape, dtype)
        status = runner.call(kernel, desc, runner.put_at_end(data), runner.put(idx), y.offset)
    else:
        y = Output(runner, data.shape, dtype, initial=data)
        status = runner.call(kernel, desc, y.offset, runner.put(idx), runner.put_at_end(updates))
    return status, y


@pytest.mark.parametrize("dtype", ELEMENT_DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("shape, axis, idx_shape", ELEMENT_CASES)
def test_x_gather_elements(dtype, index_dtype, shape, axis, idx_shape):
    rng = np.random.default_rng(sum(shape) + axis)
    data = payload(shape, dtype, rng)
    idx = indices(idx_shape, shape[axis], index_dtype, rng)
    status, y = run_elements("x_gather_elements", data, idx, axis, dtype)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(elements_ref(data, idx, axis)))


@pytest.mark.parametrize("dtype", ELEMENT_DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("shape, axis, idx_shape", ELEMENT_CASES)
def test_x_scatter_elements_without_reduction(dtype, index_dtype, shape, axis, idx_shape):
    """Distinct targets (the spec leaves duplicates without a reduction open): exact bits move."""
    rng = np.random.default_rng(sum(shape) * 3 + axis)
    data = payload(shape, dtype, rng)
    idx_shape = idx_shape[:axis] + (min(idx_shape[axis], shape[axis]),) + idx_shape[axis + 1:]
    idx_shape = tuple(min(i, d) for i, d in zip(idx_shape, shape))
    # a permutation of the axis per line, shifted to negative for half of them
    idx = np.zeros(idx_shape, np.int64)
    for j in np.ndindex(idx_shape[:axis] + idx_shape[axis + 1:]):
        line = rng.permutation(shape[axis])[:idx_shape[axis]]
        line = line - shape[axis] * rng.integers(0, 2, line.shape)
        idx[j[:axis] + (slice(None),) + j[axis:]] = line
    idx = idx.astype(index_dtype)
    updates = payload(idx_shape, dtype, rng)
    status, y = run_elements("x_scatter_elements", data, idx, axis, dtype, updates)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(elements_ref(data, idx, axis, updates)))


@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16", "float64", "int8", "uint8", "int32", "int64",
                                   "uint64", "bool", "uint16"])
@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_x_scatter_elements_reductions_with_duplicates(dtype, reduction):
    rng = np.random.default_rng(REDUCTIONS[reduction])
    data = values((3, 4, 5), dtype, rng)
    idx = rng.integers(-4, 4, (3, 6, 5)).astype(np.int64)  # 6 updates onto 4 targets per line: duplicates
    updates = values((3, 6, 5), dtype, rng)
    status, y = run_elements("x_scatter_elements", data, idx, 1, dtype, updates, reduction)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(elements_ref(data, idx, 1, updates, reduction)))


def test_x_scatter_elements_reductions_wrap_and_round_in_the_dtype():
    data = np.array([120, -128, 7], np.int8)
    updates = np.array([10, -1, 100, 3], np.int8)
    idx = np.array([0, 1, 2, 2], np.int32)
    for reduction in ("add", "mul"):
        status, y = run_elements("x_scatter_elements", data, idx, 0, "int8", updates, reduction)
        assert status == 0
        np.testing.assert_array_equal(y.read(), elements_ref(data, idx, 0, updates, reduction))
    big = np.array([2**63 + 5, 3, 2**64 - 2], np.uint64)  # compared as unsigned, not as i64 bits
    big_updates = np.array([1, 2**64 - 1, 2**63, 7], np.uint64)
    for reduction in ("max", "min", "add"):
        status, y = run_elements("x_scatter_elements", big, np.array([0, 1, 2, 2]), 0, "uint64", big_updates, reduction)
        assert status == 0
        np.testing.assert_array_equal(y.read(), elements_ref(big, np.array([0, 1, 2, 2]), 0, big_updates, reduction))
    h = np.array([1.0, 2049.0, 0.1], np.float16)
    hu = np.array([2 ** -11, 1.0, 0.2, 65504], np.float16)
    status, y = run_elements("x_scatter_elements", h, np.array([0, 1, 2, 2]), 0, "float16", hu, "add")
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(elements_ref(h, np.array([0, 1, 2, 2]), 0, hu, "add")))


@pytest.mark.parametrize("kernel", ["x_gather_elements", "x_scatter_elements"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_x_elements_out_of_range_returns_1(kernel, index_dtype):
    rng = np.random.default_rng(5)
    data = payload((3, 4, 5), "float16", rng)
    for bad in (4, -5, 1000, -2**31):
        idx = indices((3, 2, 5), 4, index_dtype, rng)
        idx[2, 1, 4] = bad  # the very last index: a scatter must not have written the others
        updates = payload((3, 2, 5), "float16", rng)
        status, y = run_elements(kernel, data, idx, 1, "float16", updates, "add" if bad == 4 else "none")
        assert status == 1
        if kernel == "x_scatter_elements":
            assert y.unchanged()
        else:
            y.read()  # only y's own bytes may have been written


# -- x_gather_nd / x_scatter_nd -----------------------------------------------------------------

def nd_ref(data, idx, batch_dims, updates=None, reduction="none"):
    b, k = batch_dims, idx.shape[-1]
    if updates is None:
        out = np.empty(idx.shape[:-1] + data.shape[b + k:], data.dtype)
    else:
        out = data.copy()
    for j in np.ndindex(idx.shape[:-1]):
        tup = tuple(int(c) + (d if int(c) < 0 else 0) for c, d in zip(idx[j], data.shape[b:b + k]))
        at = j[:b] + tup
        if updates is None:
            out[j] = data[at]
        else:
            for e in np.ndindex(data.shape[k:]):
                out[at + e] = combine(reduction, out[at + e], updates[j + e])
    return out


ND_CASES = [((5,), (3, 1), 0), ((4, 3), (2, 2), 0), ((4, 3), (5, 1), 0), ((2, 3, 4), (3, 2, 2), 0),
            ((2, 3, 4), (2, 3), 0), ((3, 2, 5), (3, 1), 1), ((3, 2, 5), (3, 4, 2), 1), ((2, 3, 4, 3), (2, 3, 1, 1), 2),
            ((2, 3, 2, 5), (2, 3, 2, 2), 2), ((2, 3), (2, 0, 1), 1), ((3, 4), (2, 1), 0)]


def run_nd(kernel, data, idx, batch_dims, dtype, updates=None, reduction="none", runner=None):
    runner = runner or KernelRunner(kernel)
    desc = runner.put(nd_descriptor(data.shape, idx.shape, batch_dims, dtype, idx.dtype.name, reduction))
    if kernel == "x_gather_nd":
        y = Output(runner, idx.shape[:-1] + data.shape[batch_dims + idx.shape[-1]:], dtype)
        status = runner.call(kernel, desc, runner.put_at_end(data), runner.put(idx), y.offset)
    else:
        y = Output(runner, data.shape, dtype, initial=data)
        status = runner.call(kernel, desc, y.offset, runner.put(idx), runner.put_at_end(updates))
    return status, y


def nd_indices(data_shape, idx_shape, batch_dims, index_dtype, rng):
    k = idx_shape[-1]
    columns = [indices(idx_shape[:-1] + (1,), d, "int64", rng) for d in data_shape[batch_dims:batch_dims + k]]
    return (np.concatenate(columns, -1) if columns else np.zeros(idx_shape, np.int64)).astype(index_dtype)


@pytest.mark.parametrize("dtype", ELEMENT_DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("shape, idx_shape, batch_dims", ND_CASES)
def test_x_gather_nd(dtype, index_dtype, shape, idx_shape, batch_dims):
    rng = np.random.default_rng(sum(shape) + len(idx_shape))
    data = payload(shape, dtype, rng)
    idx = nd_indices(shape, idx_shape, batch_dims, index_dtype, rng)
    status, y = run_nd("x_gather_nd", data, idx, batch_dims, dtype)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(nd_ref(data, idx, batch_dims)))


SCATTER_ND_CASES = [((5,), (3, 1)), ((4, 3), (2, 2)), ((4, 3), (3, 1)), ((2, 3, 4), (3, 2, 2)), ((2, 3, 4), (2, 3)),
                    ((4, 2, 5), (2, 2, 1)), ((2, 3, 2, 5), (1, 2, 3)), ((3, 4), (0, 1))]


@pytest.mark.parametrize("dtype", ELEMENT_DTYPES)
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
@pytest.mark.parametrize("shape, idx_shape", SCATTER_ND_CASES)
def test_x_scatter_nd_without_reduction(dtype, index_dtype, shape, idx_shape):
    rng = np.random.default_rng(sum(shape) * 5 + len(idx_shape))
    data = payload(shape, dtype, rng)
    k, n = idx_shape[-1], math.prod(idx_shape[:-1])
    targets = list(itertools.product(*[range(d) for d in shape[:k]]))
    chosen = [targets[i] for i in rng.permutation(len(targets))[:n]]  # distinct tuples
    idx = np.array([[c - d * rng.integers(0, 2) for c, d in zip(t, shape)] for t in chosen], np.int64)
    idx = idx.reshape(idx_shape).astype(index_dtype)
    updates = payload(idx_shape[:-1] + shape[k:], dtype, rng)
    status, y = run_nd("x_scatter_nd", data, idx, 0, dtype, updates)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(nd_ref(data, idx, 0, updates)))


@pytest.mark.parametrize("dtype", ["float32", "float16", "float64", "bfloat16", "int8", "int64", "uint32", "uint64",
                                   "bool"])
@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_x_scatter_nd_reductions_with_duplicates(dtype, reduction):
    rng = np.random.default_rng(REDUCTIONS[reduction] + 1)
    data = values((3, 4, 5), dtype, rng)
    idx = np.concatenate([rng.integers(-3, 3, (7, 1)), rng.integers(-4, 4, (7, 1))], -1)  # 7 tuples, 12 targets
    idx[3] = idx[0]  # surely a duplicate
    updates = values((7, 5), dtype, rng)
    status, y = run_nd("x_scatter_nd", data, idx, 0, dtype, updates, reduction)
    assert status == 0
    np.testing.assert_array_equal(bits(y.read()), bits(nd_ref(data, idx, 0, updates, reduction)))


@pytest.mark.parametrize("kernel", ["x_gather_nd", "x_scatter_nd"])
@pytest.mark.parametrize("index_dtype", INDEX_DTYPES)
def test_x_nd_out_of_range_returns_1_and_writes_nothing(kernel, index_dtype):
    rng = np.random.default_rng(9)
    data = payload((3, 4, 5), "int64", rng)
    for bad in ((0, 4), (3, 0), (-4, 0), (0, -5), (2**31 - 1, 0)):
        idx = nd_indices((3, 4, 5), (6, 2), 0, index_dtype, rng)
        idx[-1] = bad
        status, y = run_nd(kernel, data, idx, 0, "int64", payload((6, 5), "int64", rng), "max")
        assert status == 1 and y.unchanged()


def test_x_gather_nd_batch_out_of_range_in_a_later_batch():
    data = payload((2, 3, 4), "float32", np.random.default_rng(3))
    idx = np.array([[[0], [2]], [[1], [3]]], np.int64)  # batch 1 indexes axis 1 (size 3) with 3
    status, y = run_nd("x_gather_nd", data, idx, 1, "float32")
    assert status == 1 and y.unchanged()


# -- x_onehot ------------------------------------------------------------------------------------

def onehot_ref(idx, depth, axis, vals):
    out_shape = idx.shape[:axis] + (depth,) + idx.shape[axis:]
    out = np.empty(out_shape, vals.dtype)
    for j in np.ndindex(out_shape):
        i = j[:axis] + j[axis + 1:]
        v = idx[i]
        k = int(np.trunc(v)) if v.dtype.kind == "f" else int(v)
        k = k + depth if k < 0 else k
        out[j] = vals[1] if k == j[axis] else vals[0]
    return out


def run_onehot(idx, depth, axis, vals, runner=None):
    runner = runner or KernelRunner("x_onehot")
    dtype = "bool" if vals.dtype == bool else vals.dtype.name
    desc = runner.put(onehot_descriptor(idx.shape, axis, depth, dtype, idx.dtype.name))
    y = Output(runner, idx.shape[:axis] + (depth,) + idx.shape[axis:], dtype)
    runner.call("x_onehot", desc, runner.put(idx), runner.put_at_end(vals), y.offset)
    return y


@pytest.mark.parametrize("index_dtype", ["int32", "int64", "float32", "uint8", "int8", "float64", "uint64"])
@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "float16", "int8", "uint16"])
@pytest.mark.parametrize("shape, axis, depth", [((5,), 1, 7), ((5,), 0, 4), ((2, 3), 2, 5), ((2, 3), 1, 3),
                                                ((2, 3), 0, 1), ((3, 1, 2), 1, 6), ((0, 3), 1, 4)])
def test_x_onehot(index_dtype, dtype, shape, axis, depth):
    rng = np.random.default_rng(depth * 11 + axis)
    dt = np_dtype(index_dtype)
    lo = 0 if dt.kind == "u" else -depth - 2
    idx = rng.integers(lo, depth + 3, shape)  # out of range both ways: all-off rows
    if dt.kind == "f":
        idx = idx + rng.choice([0.0, 0.25, 0.75], shape) * np.sign(idx)
    idx = idx.astype(dt)
    vals = payload((2,), dtype, rng)
    if dtype == "bool":
        vals = np.array([False, True])
    y = run_onehot(idx, depth, axis, vals)
    np.testing.assert_array_equal(bits(y.read()), bits(onehot_ref(idx, depth, axis, vals)))


def test_x_onehot_huge_and_unsigned_indices_match_nothing():
    vals = np.array([0, 1], np.int32)
    idx = np.array([2**63, 2**64 - 1, 2, 5], np.uint64)  # u64 above 2^63 is not a negative index
    y = run_onehot(idx, 5, 1, vals)
    np.testing.assert_array_equal(y.read(), [[0] * 5, [0] * 5, [0, 0, 1, 0, 0], [0] * 5])
    idx = np.array([-2**63, 2**62, -5, -6], np.int64)
    y = run_onehot(idx, 5, 1, vals)
    np.testing.assert_array_equal(y.read(), [[0] * 5, [0] * 5, [1, 0, 0, 0, 0], [0] * 5])
