"""x_reduce, x_argreduce, x_cumsum, x_topk (wasm-kernels/x_reduce.wat) in every dtype against the
scalar references of reference_reduce.py: odd sizes, empty sets, wrapping integers, NaN, signed
zeros and infinities; and $f64_exp / $f64_log against the C library."""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest

from edgewasm.dtypes import KERNEL_CODES

from . import reference_reduce as ref
from .harness import KernelRunner

DTYPES = list(KERNEL_CODES)
NUMERIC = [d for d in DTYPES if d != "bool"]
FLOATS = ref.FLOATS
OPS = ref.OPS
CODES = {op: i for i, op in enumerate(OPS)}
SIZES = [(1, 1, 1), (2, 5, 1), (3, 7, 2), (1, 0, 3), (2, 17, 3), (1, 33, 1), (4, 1, 5)]


def random_values(rng, dtype: str, shape, op: str = "sum", specials: bool = False) -> np.ndarray:
    target = ref.np_dtype(dtype)
    if dtype == "bool":
        return rng.random(shape) < 0.5
    if dtype in FLOATS:
        scale = {"prod": 1.0, "logsumexp": 4.0}.get(op, 3.0)
        values = rng.standard_normal(shape) * scale
        if op == "logsum":
            values = np.abs(values) + 0.1
        values = values.astype(target)
        if specials:
            flat = values.reshape(-1)
            picks = rng.random(flat.size) < 0.15
            flat[picks] = rng.choice(np.array([0.0, -0.0, np.inf, -np.inf, np.nan]), picks.sum()).astype(target)
        return values
    info = np.iinfo(target)
    if op in ("l2", "logsum", "logsumexp"):
        lo, hi = (0 if op == "logsum" or info.min == 0 else -20), 20
    else:
        lo, hi = int(info.min), int(info.max)
    return rng.integers(lo, hi, shape, dtype=target, endpoint=True)


def run_reduce(x: np.ndarray, op: str, outer: int, r: int, inner: int) -> np.ndarray:
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    runner = KernelRunner("x_reduce")
    x_off = runner.put_at_end(x) if x.nbytes else runner.alloc(0)
    y_off = runner.alloc(outer * inner * x.dtype.itemsize)
    runner.call("x_reduce", CODES[op], KERNEL_CODES[dtype], outer, r, inner, x_off, y_off)
    return runner.read(y_off, (outer, inner), x.dtype)


def assert_same(actual: np.ndarray, expected: np.ndarray, what: str, ulps: int = 0) -> None:
    """Bit-identical (any NaN equals any NaN; -0 and +0 differ), or within `ulps` units in the last place."""
    assert actual.dtype == expected.dtype and actual.shape == expected.shape, what
    if actual.dtype.kind == "f" or actual.dtype == ref.np_dtype("bfloat16"):
        a, e = actual.astype(np.float64), expected.astype(np.float64)
        nan = np.isnan(a) | np.isnan(e)
        assert (np.isnan(a) == np.isnan(e)).all(), f"{what}: NaN where the reference has none (or the reverse)"
        if ulps:  # relative: ulps * machine epsilon of the dtype
            eps = float(ml_dtypes.finfo(actual.dtype).eps)
            with np.errstate(invalid="ignore"):
                close = (a == e) | (np.abs(a - e) <= ulps * eps * np.abs(e))
            assert close[~nan].all(), f"{what}: {actual[~close & ~nan]} != {expected[~close & ~nan]}"
            return
        bits = actual.view(f"u{actual.dtype.itemsize}") == expected.view(f"u{actual.dtype.itemsize}")
        assert (bits | nan).all(), f"{what}: {actual[~(bits | nan)]} != {expected[~(bits | nan)]}"
    else:
        np.testing.assert_array_equal(actual, expected, err_msg=what)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", OPS)
def test_x_reduce_matches_reference(dtype, op):
    if dtype == "bool" and op not in ("max", "min"):
        pytest.skip("ONNX defines only ReduceMax and ReduceMin on bool")
    rng = np.random.default_rng([DTYPES.index(dtype), CODES[op]])
    for outer, r, inner in SIZES:
        x = random_values(rng, dtype, (outer, r, inner), op)
        want = ref.x_reduce(x, op, outer, r, inner)
        got = run_reduce(x, op, outer, r, inner)
        # f64 exp/log are within 2 ulp of numpy's: their results match after rounding into a narrower float
        ulps = 4 if op in ("logsum", "logsumexp") and dtype == "float64" else 0
        ulps = 1 if op in ("logsum", "logsumexp") and dtype in FLOATS and dtype != "float64" else ulps
        assert_same(got, want, f"{op} {dtype} {(outer, r, inner)}", ulps)


@pytest.mark.parametrize("dtype", FLOATS)
@pytest.mark.parametrize("op", OPS)
def test_x_reduce_float_specials(dtype, op):
    """NaN, +-inf and signed zeros among the terms."""
    rng = np.random.default_rng([7, FLOATS.index(dtype), CODES[op]])
    x = random_values(rng, dtype, (5, 9, 3), op, specials=True)
    ulps = 4 if op in ("logsum", "logsumexp") else 0
    assert_same(run_reduce(x, op, 5, 9, 3), ref.x_reduce(x, op, 5, 9, 3), f"{op} {dtype}", ulps)


def test_x_reduce_nan_and_zero_rules():
    x = np.array([1, np.nan, 3, -0.0, 0.0, -0.0], np.float64).reshape(2, 3, 1)
    assert np.isnan(run_reduce(x, "max", 2, 3, 1)[0, 0]) and np.isnan(run_reduce(x, "min", 2, 3, 1)[0, 0])
    zeros = run_reduce(x, "max", 2, 3, 1)[1, 0], run_reduce(x, "min", 2, 3, 1)[1, 0]
    assert zeros[0] == 0 and not np.signbit(zeros[0]) and zeros[1] == 0 and np.signbit(zeros[1])
    lse = run_reduce(np.array([np.inf, 1, -np.inf, -np.inf, np.inf, -np.inf], np.float16), "logsumexp", 3, 2, 1)
    assert lse.reshape(-1).tolist() == [np.inf, -np.inf, np.inf]


@pytest.mark.parametrize("dtype", DTYPES)
def test_x_reduce_empty_set_is_the_identity(dtype):
    x = np.zeros((2, 0, 3), ref.np_dtype(dtype))
    lo, hi = (-np.inf, np.inf) if dtype in FLOATS else ref.LIMITS[dtype]
    ops = ("max", "min") if dtype == "bool" else OPS
    expected = {"max": lo, "min": hi, "sum": 0, "mean": 0, "prod": 1, "l1": 0, "l2": 0, "sumsquare": 0,
                "logsum": lo, "logsumexp": lo}
    for op in ops:
        got = run_reduce(x, op, 2, 0, 3)
        want = np.full((2, 3), expected[op]).astype(np.float64 if dtype in FLOATS else object)
        assert (got.astype(want.dtype) == want).all(), (op, dtype, got)
        if dtype == "uint64" and op == "min":
            assert got.view(np.uint64).max() == 2**64 - 1


def test_x_reduce_integers_saturate_like_onnxruntime():
    """Sums and products are exact in 64 bits and saturate to the dtype (onnxruntime's answer); past
    64 bits a column is computed in f64."""
    x = np.array([2**31 - 1, 1, 5, -2**31, -1, 7], np.int32).reshape(2, 3, 1)
    assert run_reduce(x, "sum", 2, 3, 1).reshape(-1).tolist() == [2**31 - 1, -2**31 + 6]
    assert run_reduce(-x[:1], "sum", 1, 3, 1).reshape(-1).tolist() == [-2**31]
    assert run_reduce(x, "mean", 2, 3, 1).reshape(-1).tolist() == [(2**31 + 5) // 3, -((2**31 - 6) // 3)]
    u8 = np.array([200, 3, 2], np.uint8).reshape(1, 3, 1)
    assert run_reduce(u8, "prod", 1, 3, 1)[0, 0] == 255 and run_reduce(u8, "sumsquare", 1, 3, 1)[0, 0] == 255
    assert run_reduce(np.array([-128, -128], np.int8).reshape(1, 2, 1), "l1", 1, 2, 1)[0, 0] == 127
    # past 64 bits the column is computed in f64 and saturates, as onnxruntime's
    i64 = np.array([2**62, 2**62, 2**62, 2**62, -2**62, -2**62, 2**53 + 1, 1, 1], np.int64).reshape(3, 3, 1)
    assert run_reduce(i64, "sum", 3, 3, 1).reshape(-1).tolist() == [2**63 - 1, -2**62, 2**53 + 3]
    assert run_reduce(i64, "prod", 3, 3, 1).reshape(-1).tolist() == [2**63 - 1, 2**63 - 1, 2**53 + 1]
    i32 = np.array([2**30, 2**30, 2**30, -2**30, -2**16, 2**16, 1, 1], np.int32).reshape(2, 4, 1)
    assert run_reduce(i32, "prod", 2, 4, 1).reshape(-1).tolist() == [-2**31, -2**31]
    assert run_reduce(np.array([-2**63, 1], np.int64).reshape(1, 2, 1), "l1", 1, 2, 1)[0, 0] == 2**63 - 1
    u64 = np.array([2**63, 2**63, 3, 2**32, 2**32, 0], np.uint64).reshape(2, 3, 1)
    assert run_reduce(u64, "sum", 2, 3, 1).reshape(-1).tolist() == [2**64 - 1, 2**33]
    assert run_reduce(u64, "sumsquare", 2, 3, 1).reshape(-1).tolist() == [2**64 - 1, 2**64 - 1]
    u64 = np.array([2**64 - 1, 2**63], np.uint64).reshape(1, 2, 1)
    assert run_reduce(u64, "max", 1, 2, 1)[0, 0] == 2**64 - 1 and run_reduce(u64, "min", 1, 2, 1)[0, 0] == 2**63
    assert run_reduce(u64, "mean", 1, 2, 1)[0, 0] == 3 * 2**62  # the sum leaves u64: computed in f64
    # L2 and the log of integers truncate: sqrt(147) = 12.12, log(20) = 2.99
    i64 = np.array([7, 7, 7, 5, 5, 10], np.int64).reshape(2, 3, 1)
    assert run_reduce(i64, "l2", 2, 3, 1).reshape(-1).tolist() == [12, 12]
    assert run_reduce(i64, "logsum", 2, 3, 1).reshape(-1).tolist() == [3, 2]


def test_f64_exp_and_log_within_two_ulp():
    runner = KernelRunner("f64_exp", "f64_log")
    rng = np.random.default_rng(5)
    xs = np.concatenate([rng.uniform(-745, 709.78, 4000), rng.uniform(-1, 1, 2000), rng.uniform(-1e-8, 1e-8, 200),
                         np.arange(-745, 710, 0.5)])
    for x in xs:
        got, want = runner.call("f64_exp", float(x)), math.exp(x)
        assert abs(got - want) <= 2 * math.ulp(want), (x, got, want)
    ys = np.concatenate([np.exp(rng.uniform(-700, 700, 4000)), rng.uniform(0.5, 2, 2000), 1 + rng.uniform(-1e-6, 1e-6, 300),
                         [5e-324, 2.2e-308, 1e-310, 1.7e308]])
    for y in ys:
        got, want = runner.call("f64_log", float(y)), math.log(y)
        assert abs(got - want) <= 2 * math.ulp(want), (y, got, want)
    assert runner.call("f64_exp", 0.0) == 1.0 and runner.call("f64_log", 1.0) == 0.0
    assert runner.call("f64_exp", 710.0) == math.inf and runner.call("f64_exp", -746.0) == 0.0
    assert runner.call("f64_exp", -math.inf) == 0.0 and runner.call("f64_exp", math.inf) == math.inf
    assert math.isnan(runner.call("f64_exp", math.nan)) and math.isnan(runner.call("f64_log", -1.0))
    assert runner.call("f64_log", 0.0) == -math.inf and runner.call("f64_log", -0.0) == -math.inf
    assert runner.call("f64_log", math.inf) == math.inf and math.isnan(runner.call("f64_log", math.nan))


# -- ArgMax / ArgMin ------------------------------------------------------------------------------

def run_arg(x, outer, r, inner, minimum, last):
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    runner = KernelRunner("x_argreduce")
    x_off = runner.put_at_end(x)
    y_off = runner.alloc(8 * outer * inner)
    runner.call("x_argreduce", int(minimum) + 2 * int(last), KERNEL_CODES[dtype], outer, r, inner, x_off, y_off)
    return runner.read(y_off, (outer, inner), np.int64)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("minimum, last", [(False, False), (True, False), (False, True), (True, True)])
def test_x_argreduce_matches_reference(dtype, minimum, last):
    rng = np.random.default_rng([DTYPES.index(dtype), minimum, last])
    for outer, r, inner in [s for s in SIZES if s[1] > 0]:
        x = random_values(rng, dtype, (outer, r, inner), specials=True)
        if dtype not in FLOATS:  # ties are the interesting part
            x = (x % 4).astype(x.dtype)
        np.testing.assert_array_equal(run_arg(x, outer, r, inner, minimum, last),
                                      ref.argreduce(x, outer, r, inner, minimum, last), err_msg=str((outer, r, inner)))


def test_x_argreduce_follows_onnxruntime_on_nan_and_ties():
    x = np.array([[1, np.nan, 3, 2], [np.nan, 1, 2, 0], [5, 4, np.nan, np.nan], [3, 1, 3, 1], [-0.0, 0.0, 0.0, -0.0]],
                 np.float32).reshape(5, 4, 1)
    assert run_arg(x, 5, 4, 1, False, False).reshape(-1).tolist() == [2, 0, 0, 0, 0]
    assert run_arg(x, 5, 4, 1, True, False).reshape(-1).tolist() == [0, 0, 1, 1, 0]
    assert run_arg(x, 5, 4, 1, False, True).reshape(-1).tolist() == [2, 0, 0, 2, 3]
    assert run_arg(x, 5, 4, 1, True, True).reshape(-1).tolist() == [0, 0, 1, 3, 3]
    assert run_arg(x.astype(np.float16), 5, 4, 1, True, True).reshape(-1).tolist() == [0, 0, 1, 3, 3]
    u64 = np.array([2**63, 2**64 - 1, 5], np.uint64).reshape(1, 3, 1)
    assert run_arg(u64, 1, 3, 1, False, False)[0, 0] == 1 and run_arg(u64, 1, 3, 1, True, False)[0, 0] == 2


# -- CumSum ---------------------------------------------------------------------------------------

def run_cumsum(x, outer, r, inner, exclusive, reverse):
    runner = KernelRunner("x_cumsum")
    x_off = runner.put_at_end(x)
    y_off = runner.alloc(x.nbytes)
    runner.call("x_cumsum", KERNEL_CODES[x.dtype.name], outer, r, inner, x_off, y_off, int(exclusive), int(reverse))
    return runner.read(y_off, (outer, r, inner), x.dtype)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_x_cumsum_matches_reference(dtype, exclusive, reverse):
    rng = np.random.default_rng([DTYPES.index(dtype), exclusive, reverse])
    for outer, r, inner in [s for s in SIZES if s[1] > 0]:
        x = random_values(rng, dtype, (outer, r, inner))
        assert_same(run_cumsum(x, outer, r, inner, exclusive, reverse), ref.cumsum(x, outer, r, inner, exclusive, reverse),
                    f"{dtype} {(outer, r, inner)}")


def test_x_cumsum_precision_and_wrapping():
    # float32 adds in float32: 2^24 + 1 rounds back to 2^24 every time
    assert run_cumsum(np.array([2**24, 1, 1, 1], np.float32), 1, 4, 1, 0, 0).reshape(-1).tolist() == [2**24] * 4
    # float16 accumulates in f32 and rounds each output (onnxruntime's answer)
    got = run_cumsum(np.array([2048, 1, 1, 1, 1, 1], np.float16), 1, 6, 1, 0, 0).reshape(-1)
    assert got.tolist() == [2048, 2048, 2050, 2052, 2052, 2052]
    # float64 in float64
    assert run_cumsum(np.array([2**53, 1, 1], np.float64), 1, 3, 1, 0, 0).reshape(-1).tolist() == [2**53] * 3
    assert run_cumsum(np.array([1, 2, 3, 0.5], np.float64), 1, 4, 1, 1, 1).reshape(-1).tolist() == [5.5, 3.5, 0.5, 0]
    got = run_cumsum(np.array([2**31 - 1, 1, 1], np.int32), 1, 3, 1, 0, 0).reshape(-1)
    assert got.tolist() == [2**31 - 1, -2**31, -2**31 + 1]
    got = run_cumsum(np.array([1, 2, 3], np.int32), 1, 3, 1, 1, 1).reshape(-1)
    assert got.tolist() == [5, 3, 0]


# -- TopK -----------------------------------------------------------------------------------------

def run_topk(x, outer, r, inner, k, largest):
    dtype = "bool" if x.dtype == np.bool_ else x.dtype.name
    runner = KernelRunner("x_topk")
    x_off = runner.put_at_end(x)
    v_off = runner.alloc(outer * k * inner * x.dtype.itemsize)
    i_off = runner.alloc(8 * outer * k * inner)
    scratch = runner.alloc(16 * r, misalign=0)
    runner.call("x_topk", KERNEL_CODES[dtype], outer, r, inner, k, int(largest), x_off, v_off, i_off, scratch)
    return runner.read(v_off, (outer, k, inner), x.dtype), runner.read(i_off, (outer, k, inner), np.int64)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("largest", [True, False])
def test_x_topk_matches_reference(dtype, largest):
    rng = np.random.default_rng([DTYPES.index(dtype), largest])
    for (outer, r, inner), k in [((1, 1, 1), 1), ((2, 5, 1), 3), ((3, 7, 2), 7), ((2, 17, 3), 16), ((2, 40, 2), 17),
                                 ((1, 33, 1), 33), ((2, 100, 1), 5), ((1, 64, 3), 64)]:
        x = random_values(rng, dtype, (outer, r, inner), specials=True)
        if dtype not in FLOATS:
            x = (x % 9).astype(x.dtype)  # many ties
        values, indices = run_topk(x, outer, r, inner, k, largest)
        want_values, want_indices = ref.topk(x, outer, r, inner, k, largest)
        np.testing.assert_array_equal(indices, want_indices, err_msg=f"{(outer, r, inner)} k={k}")
        assert values.tobytes() == want_values.tobytes()  # the elements' bits, copied


def test_x_topk_order_of_nan_ties_and_zeros():
    x = np.array([np.nan, 1, 3, 2, 3, np.nan, -0.0, 0.0], np.float32).reshape(1, 8, 1)
    _, largest = run_topk(x, 1, 8, 1, 8, True)
    _, smallest = run_topk(x, 1, 8, 1, 8, False)
    assert largest.reshape(-1).tolist() == [0, 5, 2, 4, 3, 1, 6, 7]
    assert smallest.reshape(-1).tolist() == [6, 7, 1, 3, 2, 4, 0, 5]
    # the merge sort path (k > 16) gives the same order as insertion (k <= 16)
    big = np.random.default_rng(3).integers(0, 5, (1, 50, 1)).astype(np.float64)
    big[0, ::7, 0] = np.nan
    _, first16 = run_topk(big, 1, 50, 1, 16, True)
    _, all50 = run_topk(big, 1, 50, 1, 50, True)
    assert first16.reshape(-1).tolist() == all50.reshape(-1)[:16].tolist()
