"""$f32_vunary_op (wasm-kernels/f32_vunary.wat): every op code bit-exact against its numpy
reference (vector body, tails, in place, any f32, parameters), and within the accuracy the kernel
file documents over dense sweeps against float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from . import reference_math as ref
from .harness import PAGE_BYTES, KernelRunner, assert_same_bits, interesting_f32

f32 = np.float32
KERNEL = "f32_vunary_op"
NAMES = {0: "sin", 1: "cos", 2: "tan", 3: "asin", 4: "acos", 5: "atan", 6: "sinh", 7: "cosh", 8: "asinh",
         9: "acosh", 10: "atanh", 11: "softplus", 12: "softsign", 13: "elu", 14: "selu", 15: "celu", 16: "mish",
         17: "thresholded_relu", 18: "shrink", 19: "swish"}
CODES = {name: op for op, name in NAMES.items()}
PARAMS = {13: (0.7,), 14: (1.67326, 1.0507), 15: (0.5,), 17: (0.25,), 18: (0.5, 0.125), 19: (0.75,)}  # non-default values
SPECIALS = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, -1e-38, 3e38, -3e38, 1.0, -1.0,
                     0.5, -0.5, 0.4142135, 2.4142137, 1.5707964, -1.5707964, 3.1415927, 4096.0, 4097.0, 88.0,
                     -88.0, 89.5, 100.0, -100.0, 1e5, -1e5, 1.06e6, 1e7, 1e30], f32)


def run(op: int, x: np.ndarray, params=(), at_end: bool = False, in_place: bool = False) -> np.ndarray:
    x = np.ascontiguousarray(x, f32)
    runner = KernelRunner(KERNEL, pages=(2 * x.nbytes + 4096) // PAGE_BYTES + 1)
    x_off = runner.put_at_end(x) if at_end else runner.put(x)
    y_off = x_off if in_place else runner.alloc(x.nbytes)
    p = [float(v) for v in params] + [0.0] * (2 - len(params))
    runner.call(KERNEL, op, x.size, x_off, y_off, *p)
    return runner.read(y_off, x.shape)


def expected(op: int, x: np.ndarray, params=()) -> np.ndarray:
    reference, count = ref.OPS[op]
    assert len(params) == count
    return reference(x, *params)


def params_of(op: int) -> tuple:
    return PARAMS.get(op, ())


@pytest.mark.parametrize("op", NAMES, ids=NAMES.values())
@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 9, 37])
def test_every_tail_length_matches_reference(op, n):
    x = interesting_f32(np.random.default_rng([op, n]), n, scale=3.0)
    y = run(op, x, params_of(op), at_end=True)  # an over-read past x would trap
    assert_same_bits(y, expected(op, x, params_of(op)), NAMES[op])
    padded = run(op, np.concatenate([x, np.zeros((-n) % 4, f32)]), params_of(op))[:n]  # all-vector path
    assert_same_bits(y, padded, f"{NAMES[op]} tail vs vector")


@pytest.mark.parametrize("op", NAMES, ids=NAMES.values())
def test_special_values_and_in_place(op):
    p = params_of(op)
    want = expected(op, SPECIALS, p)
    assert_same_bits(run(op, SPECIALS, p), want, NAMES[op])
    assert_same_bits(run(op, SPECIALS, p, in_place=True), want, NAMES[op])


@pytest.mark.parametrize("op", NAMES, ids=NAMES.values())
def test_random_bit_patterns_match_reference(op):
    bits = np.random.default_rng(op).integers(0, 2**32, 100_003, dtype=np.uint64).astype(np.uint32)
    x = bits.view(f32)
    assert_same_bits(run(op, x, params_of(op)), expected(op, x, params_of(op)), NAMES[op])


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(NAMES)), hnp.arrays(f32, st.integers(0, 23), elements=st.floats(width=32)),
       st.floats(0.0625, 4.0, width=32), st.floats(-2.0, 2.0, width=32))
def test_property_any_f32_and_parameters(op, x, p0, p1):
    params = (p0, p1)[:ref.OPS[op][1]]
    assert_same_bits(run(op, x, params), expected(op, x, params), NAMES[op])


def test_unknown_op_code_computes_sin():
    x = np.linspace(-4, 4, 11, dtype=f32)
    assert_same_bits(run(99, x), ref.sin(x))


def test_special_results():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan], f32)
    for name in ("sin", "tan", "asin", "atan", "sinh", "asinh", "atanh"):
        y = run(CODES[name], x[:2])
        assert y[0] == 0 and not np.signbit(y[0]) and y[1] == 0 and np.signbit(y[1]), name
    for name in ("sin", "cos", "tan"):
        assert np.isnan(run(CODES[name], x[2:])).all(), name
    assert np.array_equal(run(CODES["cos"], x[:2]), [1, 1])
    assert np.array_equal(run(CODES["atan"], x[2:4]), [f32(np.pi / 2), -f32(np.pi / 2)])
    assert np.array_equal(run(CODES["atanh"], np.array([1, -1], f32)), [np.inf, -np.inf])
    outside = np.array([1.0000001, -1.0000001, 2, -np.inf], f32)
    for name in ("asin", "acos", "atanh"):
        assert np.isnan(run(CODES[name], outside)).all(), name
    assert np.isnan(run(CODES["acosh"], np.array([0.9999999, 0, -1, -np.inf], f32))).all()
    assert run(CODES["acosh"], np.array([1.0], f32))[0] == 0
    assert np.array_equal(run(CODES["cosh"], np.array([89.5, -np.inf, 0], f32)), [np.inf, np.inf, 1])
    assert np.array_equal(run(CODES["sinh"], np.array([89.5, -np.inf], f32)), [np.inf, -np.inf])
    assert np.array_equal(run(CODES["asinh"], np.array([np.inf, -np.inf], f32)), [np.inf, -np.inf])
    assert np.array_equal(run(CODES["softplus"], np.array([np.inf, -np.inf, 0], f32)), [np.inf, 0, f32(np.log(2))])
    assert np.array_equal(run(CODES["elu"], np.array([-np.inf, 2], f32), (0.5,)), [-0.5, 2])
    assert np.array_equal(run(CODES["thresholded_relu"], np.array([np.nan, 1, 2], f32), (1.0,)), [0, 0, 2])
    assert np.array_equal(run(CODES["shrink"], np.array([np.nan, -2, 2, 0.3], f32), (0.5, 1.0)), [0, -1, 1, 0])
    for name in ("sin", "cos", "tan"):  # past the exact reduction: NaN, not a wrong number
        assert np.isnan(run(CODES[name], np.array([1.0542e6, -1.0542e6, 1e7, 3e38], f32))).all(), name
        assert not np.isnan(run(CODES[name], np.array([1.0541e6, -1.0541e6], f32))).any(), name


# -- accuracy against float64 (the bounds documented in wasm-kernels/f32_vunary.wat) ----------

def _sweep(lo: float, hi: float, n: int = 200_001, seed: int = 0) -> np.ndarray:
    """A dense grid plus random bit patterns, both inside [lo, hi]."""
    grid = np.linspace(lo, hi, n).astype(f32)
    bits = np.random.default_rng(seed).integers(0, 2**32, 4 * n, dtype=np.uint64).astype(np.uint32)
    scattered = bits.view(f32)
    return np.concatenate([grid, scattered[(scattered >= lo) & (scattered <= hi)]])


def _errors(op, x, exact_fn, params=()):
    y = run(op, x, params)
    assert_same_bits(y, expected(op, x, params), NAMES[op])
    with np.errstate(all="ignore"):
        exact = exact_fn(x.astype(np.float64))
    with np.errstate(over="ignore"):
        finite = np.isfinite(exact.astype(f32))  # the exact result rounded to float32 is finite
    assert np.array_equal(np.isfinite(y), finite), f"{NAMES[op]}: overflow where the exact result does not"
    y, exact = y[finite].astype(np.float64), exact[finite]
    err = np.abs(y - exact)
    ulp = err / np.spacing(np.maximum(np.abs(exact), np.finfo(f32).tiny).astype(f32)).astype(np.float64)
    return err, ulp, exact


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _expm1_where_negative(alpha):
    return lambda x: np.where(x < 0, alpha * np.expm1(x / alpha), x)


ULP_BOUNDS = {  # name: (exact function, sweep range, max ulp)
    "sin": (np.sin, (-10.0, 10.0), 1.5), "cos": (np.cos, (-10.0, 10.0), 1.5),
    "tan": (np.tan, (-100.0, 100.0), 3.1),
    "asin": (np.arcsin, (-1.0, 1.0), 2.35), "acos": (np.arccos, (-1.0, 1.0), 1.3),
    "atan": (np.arctan, (-3e38, 3e38), 2.85), "atanh": (np.arctanh, (-1.0, 1.0), 1.35),
    "sinh": (np.sinh, (-89.5, 89.5), 3.9), "cosh": (np.cosh, (-89.5, 89.5), 3.2),
    "asinh": (np.arcsinh, (-3e38, 3e38), 3.3), "acosh": (np.arccosh, (1.0, 3e38), 2.3),
    "softsign": (lambda x: x / (1 + np.abs(x)), (-1e4, 1e4), 1.5),
    "elu": (_expm1_where_negative(1.0), (-100.0, 10.0), 2.4),
    "celu": (_expm1_where_negative(0.5), (-100.0, 10.0), 2.4),
    "mish": (lambda x: x * np.tanh(np.logaddexp(0, x)), (-20.0, 20.0), 3.9),
    "swish": (lambda x: x / (1 + np.exp(-x)), (-80.0, 80.0), 2.7),
}


@pytest.mark.parametrize("name", ULP_BOUNDS)
def test_documented_ulp_accuracy(name):
    exact_fn, (lo, hi), bound = ULP_BOUNDS[name]
    op = CODES[name]
    params = {"elu": (1.0,), "celu": (0.5,), "swish": (1.0,)}.get(name, ())
    _, ulp, _ = _errors(op, _sweep(lo, hi), exact_fn, params)
    assert ulp.max() <= bound, f"{name}: {ulp.max():.3f} ulp"


@pytest.mark.parametrize("name, bound_1e5, bound_1e6", [("sin", 7.7e-8, 1.6e-7), ("cos", 7.7e-8, 1.6e-7)])
def test_sin_cos_absolute_error_over_large_arguments(name, bound_1e5, bound_1e6):
    """Rotary embeddings take sin/cos of position * frequency: positions up to 1e5 and more."""
    exact_fn = np.sin if name == "sin" else np.cos
    err, _, _ = _errors(CODES[name], _sweep(-1e5, 1e5), exact_fn)
    assert err.max() <= bound_1e5, f"{name}: {err.max():.3g} for |x| <= 1e5"
    err, _, _ = _errors(CODES[name], _sweep(-1.05e6, 1.05e6, seed=1), exact_fn)
    assert err.max() <= bound_1e6, f"{name}: {err.max():.3g} for |x| <= 1.05e6"
    # the floats nearest multiples of pi/2 (the zeros and extremes) up to 1e5
    k = np.random.default_rng(3).integers(0, 63_000, 50_000)
    centres = (k * (np.pi / 2)).astype(f32)
    x = np.concatenate([centres, np.nextafter(centres, f32(np.inf)), np.nextafter(centres, f32(-np.inf))])
    err, _, _ = _errors(CODES[name], x, exact_fn)
    assert err.max() <= bound_1e5


def test_tan_relative_error_near_poles():
    """tan is within rtol 1e-4 of the exact value even at the floats nearest a pole, up to 1.5e4."""
    k = np.arange(1, 9600, 2)
    centres = (k * (np.pi / 2)).astype(f32)
    x = np.concatenate([centres, np.nextafter(centres, f32(np.inf)), np.nextafter(centres, f32(-np.inf))])
    y = run(CODES["tan"], x).astype(np.float64)
    exact = np.tan(x.astype(np.float64))
    assert (np.abs(y / exact - 1)).max() <= 1e-4


def test_softplus_absolute_and_relative_error():
    x = _sweep(-87.0, 100.0)
    err, _, exact = _errors(CODES["softplus"], x, lambda v: np.logaddexp(0, v))
    assert err.max() <= 4.8e-7
    normal = exact >= 1.7e-38  # exp flushes results below ~1.66e-38 to 0
    assert (err[normal] / exact[normal]).max() <= 2.1e-7


def test_selu_accuracy():
    alpha, gamma = 1.6732632423543772, 1.0507009873554805
    _, ulp, _ = _errors(CODES["selu"], _sweep(-100.0, 10.0), lambda v: gamma * np.where(v > 0, v, alpha * np.expm1(v)),
                        (alpha, gamma))
    assert ulp.max() <= 3.2


@pytest.mark.parametrize("name, exact_fn, lo, hi", [
    ("sin", np.sin, -1e5, 1e5), ("cos", np.cos, -1e5, 1e5), ("tan", np.tan, -1e4, 1e4),
    ("asin", np.arcsin, -1, 1), ("acos", np.arccos, -1, 1), ("atan", np.arctan, -1e6, 1e6),
    ("sinh", np.sinh, -80, 80), ("cosh", np.cosh, -80, 80), ("asinh", np.arcsinh, -1e6, 1e6),
    ("acosh", np.arccosh, 1, 1e6), ("atanh", np.arctanh, -0.999, 0.999),
    ("softplus", lambda v: np.logaddexp(0, v), -80, 80), ("mish", lambda v: v * np.tanh(np.logaddexp(0, v)), -80, 80),
])
def test_within_the_fp32_contract(name, exact_fn, lo, hi):
    """atol 1e-5 + rtol 1e-4 against the exact result (onnxruntime is within an ulp or two of it)."""
    x = _sweep(lo, hi, 100_001, seed=5)
    err, _, exact = _errors(CODES[name], x, exact_fn)
    assert (err <= 1e-5 + 1e-4 * np.abs(exact)).all()
