"""x_elementwise (wasm-kernels/x_elementwise.wat) against scalar Python references: every op in
every dtype it computes, numpy broadcasting through the compile-time descriptors, and every cast
between two dtypes (one rounding, ties to even; float -> integer truncating and saturating to
64 bits, then wrapping)."""

from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest

from edgewasm.backend.elementwise import (FLOAT_CLASS, INTEGER_CLASS, UINT64_CLASS, broadcast_dims, compute_class,
                                          descriptor, supports)
from edgewasm.dtypes import COMPUTED, INTEGERS, numpy_dtype

from .harness import KernelRunner

FLOATS = ("float32", "float64", "float16", "bfloat16")
UNARY = ("copy", "neg", "abs", "sign", "not", "bitnot", "isnan", "isinf", "isposinf", "isneginf", "floor", "ceil",
         "round", "reciprocal")
BINARY = ("add", "sub", "mul", "div", "mod", "fmod", "max", "min", "pow", "equal", "less", "less_equal", "greater",
          "greater_equal", "and", "or", "xor", "bitand", "bitor", "bitxor", "shl", "shr")
BOOL_RESULT = {"not", "isnan", "isinf", "isposinf", "isneginf", "equal", "less", "less_equal", "greater",
               "greater_equal", "and", "or", "xor"}


def run(op: str, arrays: list[np.ndarray], out_dtype: str, out_shape, cls: int | None = None) -> np.ndarray:
    runner = KernelRunner("x_elementwise")
    names = [("bool" if a.dtype == np.bool_ else a.dtype.name) for a in arrays]
    if cls is None:
        cls = compute_class(op, names[1] if op == "where" else names[0])
    dims = broadcast_dims(tuple(out_shape), [(a.shape, a.dtype.itemsize) for a in arrays], numpy_dtype(out_dtype).itemsize)
    desc = runner.put(descriptor(op, cls, names, out_dtype, dims))
    pointers = [runner.put(a, misalign=1) for a in arrays]
    pointers += [pointers[0]] * (3 - len(pointers))
    y = runner.alloc(int(np.prod(out_shape)) * numpy_dtype(out_dtype).itemsize, misalign=3)
    runner.call("x_elementwise", desc, *pointers, y)
    return runner.read(y, tuple(out_shape), numpy_dtype(out_dtype))


def values(dtype: str, shape, rng, small: bool = False) -> np.ndarray:
    kind = numpy_dtype(dtype)
    if dtype == "bool":
        return rng.integers(0, 2, shape).astype(bool)
    if dtype in INTEGERS:
        info = np.iinfo(kind)
        low, high = (max(info.min, -9), min(info.max, 9)) if small else (info.min, info.max)
        out = rng.integers(low, high, shape, dtype=kind, endpoint=True)
        flat = out.reshape(-1)
        flat[: min(3, flat.size)] = [v for v in (0, info.min, info.max)][: min(3, flat.size)] if not small else flat[:3]
        return out
    out = (rng.standard_normal(shape) * (4 if small else 50)).astype(np.float64)
    specials = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -2.5, 0.5]
    flat = out.reshape(-1)
    flat[: min(len(specials), flat.size)] = specials[: flat.size]
    return rng.permutation(flat).reshape(shape).astype(kind)


def wrap(value: int, dtype: str) -> int:
    if dtype == "bool":
        return int(value != 0)
    info = np.iinfo(numpy_dtype(dtype))
    span = int(info.max) - int(info.min) + 1
    return (value - int(info.min)) % span + int(info.min)


def int_reference(op: str, a: int, b: int, c: int, dtype: str) -> int:
    """Integer semantics of x_elementwise.wat (u64 as unsigned, others through signed i64)."""
    if op in ("div", "mod", "fmod") and b == 0:
        return 0
    q = abs(a) // abs(b) * (1 if (a < 0) == (b < 0) else -1) if op in ("div", "fmod") else 0
    result = {
        "copy": lambda: a, "neg": lambda: -a, "abs": lambda: abs(a), "sign": lambda: (a > 0) - (a < 0),
        "not": lambda: int(a == 0), "bitnot": lambda: ~a, "reciprocal": lambda: {1: 1, -1: -1}.get(a, 0),
        "add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b, "div": lambda: q,
        "mod": lambda: a % b, "fmod": lambda: a - q * b, "max": lambda: max(a, b), "min": lambda: min(a, b),
        "pow": lambda: (a ** b if b >= 0 else {1: 1, -1: (-1) ** (-b)}.get(a, 0)),
        "clip": lambda: min(max(a, b), c),
        "equal": lambda: int(a == b), "less": lambda: int(a < b), "less_equal": lambda: int(a <= b),
        "greater": lambda: int(a > b), "greater_equal": lambda: int(a >= b),
        "and": lambda: int(bool(a) and bool(b)), "or": lambda: int(bool(a) or bool(b)), "xor": lambda: int(bool(a) != bool(b)),
        "bitand": lambda: a & b, "bitor": lambda: a | b, "bitxor": lambda: a ^ b,
        "shl": lambda: a << (b % 64) if dtype == "uint64" else (0 if not 0 <= b < 64 else a << b),
        "shr": lambda: (a % 2**64) >> (b % 64) if dtype == "uint64" else a >> (b if 0 <= b < 64 else 63),
    }[op]()
    return result


def float_reference(op: str, a: float, b: float, c: float) -> float:
    """Float semantics: the exact result of the f64 operation (rounded once into the destination)."""
    def fmod(x, y):
        if math.isnan(x) or math.isnan(y) or y == 0 or math.isinf(x):
            return math.nan
        return math.fmod(x, y)

    def nan_max(x, y, pick):
        return math.nan if math.isnan(x) or math.isnan(y) else pick(x, y)

    def mod(x, y):
        r = fmod(x, y)
        return r + y if r != 0 and not math.isnan(r) and (r < 0) != (y < 0) else r

    def sign(x):
        return x if math.isnan(x) else float((x > 0) - (x < 0))

    def ordered(x):  # wasm's f64.max / f64.min order -0 below +0
        return (x, math.copysign(1, x))

    def clip(x, lo, hi):
        if math.isnan(x) or math.isnan(lo) or math.isnan(hi):
            return math.nan
        return min(max(x, lo, key=ordered), hi, key=ordered)

    with np.errstate(all="ignore"):
        return {
            "copy": lambda: a, "neg": lambda: -a, "abs": lambda: abs(a), "sign": lambda: sign(a),
            "not": lambda: float(a == 0), "isnan": lambda: float(math.isnan(a)), "isinf": lambda: float(math.isinf(a)),
            "isposinf": lambda: float(a == math.inf), "isneginf": lambda: float(a == -math.inf),
            "floor": lambda: float(np.floor(a)), "ceil": lambda: float(np.ceil(a)), "round": lambda: float(np.rint(a)),
            "reciprocal": lambda: float(np.float64(1) / np.float64(a)),
            "add": lambda: float(np.float64(a) + b), "sub": lambda: float(np.float64(a) - b),
            "mul": lambda: float(np.float64(a) * b), "div": lambda: float(np.float64(a) / np.float64(b)),
            "mod": lambda: mod(a, b), "fmod": lambda: fmod(a, b),
            "max": lambda: nan_max(a, b, lambda x, y: max(x, y, key=ordered)),
            "min": lambda: nan_max(a, b, lambda x, y: min(x, y, key=ordered)), "clip": lambda: clip(a, b, c),
            "equal": lambda: float(a == b), "less": lambda: float(a < b), "less_equal": lambda: float(a <= b),
            "greater": lambda: float(a > b), "greater_equal": lambda: float(a >= b),
            "and": lambda: float(a != 0 and b != 0), "or": lambda: float(a != 0 or b != 0),
            "xor": lambda: float((a != 0) != (b != 0)),
        }[op]()


def round_to(value: float, dtype: str) -> float:
    """value rounded once to a float format (ties to even), exactly, through fractions."""
    if math.isnan(value) or math.isinf(value) or dtype == "float64":
        return value
    mantissa, min_exp, max_value = {"float32": (24, -126, float(np.finfo(np.float32).max)),
                                    "float16": (11, -14, 65504.0), "bfloat16": (8, -126, float(ml_dtypes.finfo(ml_dtypes.bfloat16).max))}[dtype]
    if value == 0:
        return value
    x = Fraction(abs(value))
    exp = max(math.floor(math.log2(x)), min_exp)
    while Fraction(2) ** exp > x:
        exp -= 1
    while Fraction(2) ** (exp + 1) <= x:
        exp += 1
    exp = max(exp, min_exp)
    ulp = Fraction(2) ** (exp - mantissa + 1)
    q, r = divmod(x, ulp)
    if r > ulp / 2 or (r == ulp / 2 and q % 2):
        q += 1
    result = float(q * ulp)
    halfway = max_value + float(Fraction(2) ** (math.floor(math.log2(max_value)) - mantissa + 1)) / 2
    if abs(value) >= halfway or result > max_value:
        result = math.inf
    return math.copysign(result, value)


def store(value, source_class: str, dtype: str):
    """Convert a class result to `dtype` as x_store_i64 / x_store_f64 do."""
    if dtype == "bool":
        return bool(value != 0) if not (isinstance(value, float) and math.isnan(value)) else True
    if dtype in FLOATS:
        return round_to(float(value) if source_class == "float" else float(Fraction(value)), dtype) \
            if source_class == "float" else round_to(float(Fraction(value)) if abs(value) < 2**53 else float(value), dtype)
    if source_class == "float":
        if math.isnan(value):
            value = 0
        elif dtype == "uint64":
            value = 0 if value <= 0 else min(int(value), 2**64 - 1) if not math.isinf(value) else 2**64 - 1
        else:
            value = max(-(2**63), min(2**63 - 1, int(value) if not math.isinf(value) else (2**63 if value > 0 else -(2**63))))
    return wrap(int(value), dtype)


def element(array: np.ndarray, index) -> int | float:
    value = array[index]
    if array.dtype == np.bool_:
        return int(value)
    return int(value) if array.dtype.kind in "iu" else float(value)


def assert_equal(got: np.ndarray, want: list, dtype: str, what: str) -> None:
    want = np.array(want, dtype=np.float64 if dtype in FLOATS else object).reshape(got.shape)
    for index in np.ndindex(got.shape):
        g, w = element(got, index), want[index]
        if dtype in FLOATS:
            ok = (math.isnan(g) and math.isnan(w)) or (g == w and math.copysign(1, g) == math.copysign(1, w))
        else:
            ok = g == w
        assert ok, f"{what}: at {index} got {g!r}, want {w!r}"


def _defined(op: str, dtype: str) -> bool:
    """The (op, dtype) pairs ONNX defines and x_elementwise computes."""
    if not supports(op, dtype) or (op in ("shl", "shr") and dtype not in INTEGERS):
        return False
    if op == "pow" and dtype in FLOATS:  # float64 Pow is $f64_pow: tests/kernels/test_f64_vunary.py
        return False
    if op in ("and", "or", "xor", "not"):
        return dtype == "bool" or dtype in FLOATS
    return dtype != "bool" or op in ("copy", "equal", "max", "min")


@pytest.mark.parametrize("op, dtype", [(op, dtype) for op in UNARY + BINARY + ("clip",) for dtype in COMPUTED
                                       if _defined(op, dtype)])
def test_every_op_in_every_dtype(op, dtype):
    rng = np.random.default_rng(abs(hash((op, dtype))) % 2**32)
    arity = 3 if op == "clip" else 2 if op in BINARY else 1
    shapes = [(3, 1, 5), (4, 1), (1, 5)][:arity]
    small = op in ("pow", "shl", "shr", "mul")
    arrays = [values(dtype, shape, rng, small) for shape in shapes]
    out_shape = np.broadcast_shapes(*shapes)
    out_dtype = "bool" if op in BOOL_RESULT else dtype
    got = run(op, arrays, out_dtype, out_shape)
    cls = compute_class(op, dtype)
    want = []
    for index in np.ndindex(out_shape):
        operands = [element(a, tuple(i if d > 1 else 0 for i, d in zip(index[-a.ndim:], a.shape))) for a in arrays]
        operands += [0] * (3 - len(operands))
        if op == "copy" and out_dtype == dtype:  # a raw copy: the value itself
            want.append(operands[0] if dtype != "bool" else bool(operands[0]))
        elif cls == FLOAT_CLASS:
            want.append(store(float_reference(op, *operands), "float", out_dtype))
        else:
            if cls == UINT64_CLASS:
                operands = [v % 2**64 for v in operands]
            result = int_reference(op, *operands, dtype)
            want.append(store(result % 2**64 if cls == UINT64_CLASS else result, "int", out_dtype))
    assert_equal(got, want, out_dtype, f"{op} on {dtype}")


@pytest.mark.parametrize("source", COMPUTED)
@pytest.mark.parametrize("target", COMPUTED)
def test_every_cast(source, target):
    rng = np.random.default_rng(COMPUTED.index(source) * 16 + COMPUTED.index(target))
    x = values(source, (37,), rng)
    if source in FLOATS:
        x = np.concatenate([x, np.array([1e10, -1e10, 2.5, -2.5, 3.5, 65519.0, 65520.0, 1e-8, 2.0**70], np.float64)
                            .astype(numpy_dtype(source))])
    cls = FLOAT_CLASS if source in FLOATS else UINT64_CLASS if source == "uint64" else INTEGER_CLASS
    got = run("copy", [x], target, x.shape, cls)
    want = [store(element(x, (i,)), "float" if source in FLOATS else "int", target) for i in range(x.size)]
    assert_equal(got, want, target, f"cast {source} -> {target}")


def test_where_moves_bits_and_broadcasts():
    rng = np.random.default_rng(3)
    condition = rng.integers(0, 2, (4, 1, 6)).astype(bool)
    x = np.frombuffer(rng.integers(0, 2**32, 5 * 6, dtype=np.uint64).astype(np.uint32).tobytes(), np.float32).reshape(5, 6)
    y = np.float32(-7.25).reshape(())
    got = run("where", [condition, x, y], "float32", (4, 5, 6))
    want = np.where(condition, x, y)
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()  # NaN payloads too
    ints = run("where", [condition, np.arange(30, dtype=np.int64).reshape(5, 6), np.int64(-1).reshape(())], "int64", (4, 5, 6))
    np.testing.assert_array_equal(ints, np.where(condition, np.arange(30).reshape(5, 6), -1))


def test_an_empty_dimension_writes_nothing():
    runner = KernelRunner("x_elementwise")
    dims = [(0, [4, 4])]
    desc = runner.put(descriptor("neg", INTEGER_CLASS, ["int32"], "int32", dims))
    y = runner.put(np.full(4, 99, np.int32))
    runner.call("x_elementwise", desc, y, y, y, y)
    np.testing.assert_array_equal(runner.read(y, (4,), np.int32), 99)


@pytest.mark.parametrize("op, shapes", [("isnan", [(3, 53)]), ("isnan", [(70,)])] + [
    (op, shapes) for op in ("equal", "less", "less_equal", "greater", "greater_equal")
    for shapes in ([(3, 53), (3, 53)], [(2, 37), (1,)], [(50,), (2, 1, 50)], [(1,), (2, 37)])])
def test_f32_tests_on_long_runs(op, shapes):
    """Long contiguous runs take the SIMD prefix ($x_ew_simd; its tail and the broadcast cases the
    scalar loop): the same answers as numpy, NaNs and signed zeros included."""
    rng = np.random.default_rng(len(op) * 7 + len(shapes[-1]))
    arrays = [values("float32", shape, rng, small=True) for shape in shapes]
    arrays[-1].reshape(-1)[::5] = arrays[0].reshape(-1)[0]  # some equal pairs
    out_shape = np.broadcast_shapes(*shapes)
    want = {"isnan": np.isnan, "equal": np.equal, "less": np.less, "less_equal": np.less_equal,
            "greater": np.greater, "greater_equal": np.greater_equal}[op](*arrays)
    got = run(op, arrays, "bool", out_shape)
    assert got.view(np.uint8).tolist() == np.broadcast_to(want, out_shape).view(np.uint8).tolist()


@pytest.mark.parametrize("op, shapes", [("not", [(4, 45)])] + [
    (op, shapes) for op in ("and", "or", "xor")
    for shapes in ([(4, 45), (4, 45)], [(4, 1), (1, 45)], [(1, 45), (4, 1)], [(4, 45), ()])])
def test_bool_logic_on_long_runs(op, shapes):
    """Bool masks, contiguous or broadcast (an attention mask's row and column), as numpy gives them."""
    rng = np.random.default_rng(11)
    arrays = [values("bool", shape, rng) for shape in shapes]
    out_shape = np.broadcast_shapes(*shapes)
    want = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor, "not": np.logical_not}[op](*arrays)
    assert run(op, arrays, "bool", out_shape).view(np.uint8).tolist() == want.view(np.uint8).tolist()


@pytest.mark.parametrize("dtype", ["float32", "int32", "uint32"])
@pytest.mark.parametrize("value_shapes", [[(3, 41), (3, 41)], [(), (3, 41)], [(3, 41), ()], [(41,), (3, 1, 41)]])
def test_where_of_4_byte_values_on_long_runs(dtype, value_shapes):
    rng = np.random.default_rng(5)
    condition = rng.integers(0, 2, (3, 41)).astype(bool)
    x, y = (np.frombuffer(rng.integers(0, 2**32, max(1, int(np.prod(s))), dtype=np.uint64).astype(np.uint32).tobytes(),
                          numpy_dtype(dtype)).reshape(s) for s in value_shapes)
    out_shape = np.broadcast_shapes(condition.shape, *value_shapes)
    got = run("where", [condition, x, y], dtype, out_shape)
    want = np.where(condition, x, y)
    assert got.view(np.uint32).tolist() == want.view(np.uint32).tolist()  # NaN payloads too
