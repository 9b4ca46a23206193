"""f64_vunary_op (wasm-kernels/f64_vunary.wat): float64 unary ops computed in float64, against a
scalar numpy float64 reference (libm: a few ulp apart from our polynomials), odd sizes, specials,
small arguments where expm1/log1p forms keep relative accuracy, and the canonical NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest

from .harness import KernelRunner

A, B = 0.75, 1.25  # p0, p1 (exact in f32)


def sigmoid(x):
    return 1 / (1 + math.exp(-x)) if x >= 0 else math.exp(x) / (1 + math.exp(x))


def softplus(x):
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def reference(op: str, x: float) -> float:
    if math.isnan(x):
        return math.nan
    try:
        return {
            "exp": lambda: math.exp(x) if x < 709.78 else math.inf,
            "log": lambda: math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan),
            "sqrt": lambda: math.sqrt(x) if x >= 0 else math.nan,
            "sigmoid": lambda: sigmoid(x),
            "tanh": lambda: math.tanh(x),
            "softplus": lambda: softplus(x),
            "softsign": lambda: x / (1 + abs(x)),
            "elu": lambda: A * math.expm1(x) if x < 0 else x,
            "selu": lambda: B * (A * math.expm1(x) if x <= 0 else x),
            "celu": lambda: x if x > 0 else A * math.expm1(x / A),
            "leaky_relu": lambda: A * x if x < 0 else x,
            "hard_sigmoid": lambda: max(0.0, min(1.0, A * x + B)),
            "hard_swish": lambda: x * max(0.0, min(1.0, x * float(np.float32(1 / 6)) + 0.5)),
            "thresholded_relu": lambda: x if x > A else 0.0,
            "shrink": lambda: x + B if x < -A else (x - B if x > A else 0.0),
            "swish": lambda: x * sigmoid(A * x),
            "mish": lambda: x * math.tanh(softplus(x)),
            "gelu_tanh": lambda: x * sigmoid(2 * math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)),  # 0.5x(1 + tanh t)
            "sinh": lambda: math.sinh(x),
            "cosh": lambda: math.cosh(x),
            "asinh": lambda: math.asinh(x),
            "acosh": lambda: math.acosh(x) if x >= 1 else math.nan,
            "atanh": lambda: math.atanh(x) if abs(x) < 1 else (math.copysign(math.inf, x) if abs(x) == 1 else math.nan),
            "sin": lambda: math.sin(x) if abs(x) < 8.4e8 else math.nan,
            "cos": lambda: math.cos(x) if abs(x) < 8.4e8 else math.nan,
            "tan": lambda: math.tan(x) if abs(x) < 8.4e8 else math.nan,
            "asin": lambda: math.asin(x) if abs(x) <= 1 else math.nan,
            "acos": lambda: math.acos(x) if abs(x) <= 1 else math.nan,
            "atan": lambda: math.atan(x),
            "erf": lambda: math.erf(x),
            "gelu": lambda: 0.5 * x * math.erfc(-x / math.sqrt(2)),
        }[op]()
    except OverflowError:
        return math.copysign(math.inf, x) if op in ("sinh",) else math.inf


OPS = ["exp", "log", "sqrt", "sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "celu", "leaky_relu",
       "hard_sigmoid", "hard_swish", "thresholded_relu", "shrink", "swish", "mish", "gelu_tanh", "sinh", "cosh",
       "asinh", "acosh", "atanh", "sin", "cos", "tan", "asin", "acos", "atan", "erf", "gelu"]


def values(rng, n):
    x = rng.standard_normal(n) * 3
    specials = [0.0, -0.0, 1e-300, -1e-300, 1e-12, -1e-12, 1e-6, -3e-9, 0.3, -0.3, 0.99, -0.999999, 1.0, -1.0,
                1.0000001, 2.5, 30.0, -30.0, 700.0, -700.0, 710.2, -710.2, 1e20, -1e20, 5e-324, math.inf, -math.inf,
                math.nan, 1.5707963267948966, 3.141592653589793, -4.71238898038469, 355.0, 6.0, -5.9, 2.0, -1.99,
                12345.678, 8e8, -2.7, 0.75]
    return np.concatenate([x, np.array(specials)])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("n", [1, 7, 61])
def test_f64_vunary_op_matches_float64_reference(op, n):
    x = values(np.random.default_rng(n), n)
    runner = KernelRunner("f64_vunary_op")
    px = runner.put(x, misalign=8)
    py = runner.alloc(x.nbytes, misalign=8)
    runner.call("f64_vunary_op", OPS.index(op), x.size, px, py, A, B)
    got = runner.read(py, x.shape, np.float64)
    want = np.array([reference(op, float(v)) for v in x])
    rtol = 1e-13 if op == "gelu" else 2e-14  # gelu: 1 + erf(x/sqrt 2) cancels for -2.8 < x < 0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=0, equal_nan=True, err_msg=op)
    assert np.array_equal(np.signbit(got[want == 0]), np.signbit(want[want == 0])) or op in (
        "thresholded_relu", "shrink", "hard_sigmoid", "hard_swish", "softplus", "celu", "swish", "mish",
        "gelu_tanh", "sigmoid"), op
    nan = got[np.isnan(got)]
    assert (nan.view(np.uint64) == np.uint64(0x7FF8000000000000)).all(), "NaN results must be canonical"


def test_f64_vunary_op_in_place_and_empty():
    x = np.linspace(-3, 3, 9)
    runner = KernelRunner("f64_vunary_op")
    px = runner.put(x, misalign=0)
    runner.call("f64_vunary_op", OPS.index("tanh"), x.size, px, px, 0.0, 0.0)
    np.testing.assert_allclose(runner.read(px, x.shape, np.float64), np.tanh(x), rtol=2e-15)
    runner.call("f64_vunary_op", OPS.index("exp"), 0, px, px, 0.0, 0.0)  # n = 0 writes nothing
    np.testing.assert_allclose(runner.read(px, x.shape, np.float64), np.tanh(x), rtol=2e-15)


@pytest.mark.parametrize("op", ["sin", "cos", "tan", "atan", "erf", "asin", "acos"])
def test_f64_trigonometric_and_erf_dense(op):
    """Dense grids, and the doubles nearest multiples of pi/2 (where the argument reduction cancels)."""
    grid = np.linspace(-1, 1, 4001) if op in ("asin", "acos") else np.linspace(-7, 7, 4001)
    if op in ("sin", "cos", "tan"):
        near = np.array([k * (math.pi / 2) for k in (1, 2, 3, 7, 100, 1001, 123457, 5000001, 300000001)])
        grid = np.concatenate([grid, near, -near, np.linspace(-8e8, 8e8, 1001)])
    runner = KernelRunner("f64_vunary_op", pages=4)
    px = runner.put(grid, misalign=8)
    py = runner.alloc(grid.nbytes, misalign=8)
    runner.call("f64_vunary_op", OPS.index(op), grid.size, px, py, 0.0, 0.0)
    got = runner.read(py, grid.shape, np.float64)
    want = np.array([reference(op, float(v)) for v in grid])
    np.testing.assert_allclose(got, want, rtol=2e-14, atol=1e-300, err_msg=op)


def _c_pow(a: float, b: float) -> float:
    if a == 0 and b < 0:  # pow(+-0, b < 0): +-inf, the sign kept for an odd integer b (Python raises)
        odd = not math.isinf(b) and b == int(b) and int(b) % 2 == 1
        return math.copysign(math.inf, a) if odd else math.inf
    try:
        return math.pow(a, b)
    except ValueError:  # a negative base with a non-integer exponent
        return math.nan
    except (OverflowError, ZeroDivisionError):
        if a == 0:  # pow(+-0, b < 0): +-inf, the sign kept for an odd integer b
            odd = b == int(b) and int(b) % 2 == 1
            return math.copysign(math.inf, a) if odd else math.inf
        odd = not math.isinf(b) and b == int(b) and int(b) % 2
        return -math.inf if a < 0 and odd else math.inf


def test_f64_pow_matches_c_pow():
    """$f64_pow (x_elementwise's float64 Pow) against C's pow: specials exactly, others within 3 ulp
    (integer exponents up to 4) or the documented exp/log bound."""
    bases = [0.0, -0.0, 1.0, -1.0, 2.0, -2.0, 0.5, -0.5, 3.7, -3.7, 1e-300, 1e300, math.inf, -math.inf, math.nan,
             10.0, 0.999, 1.001, 7.25]
    exponents = [0.0, -0.0, 1.0, -1.0, 2.0, 3.0, -3.0, 0.5, -0.5, 2.5, 10.0, 63.0, -64.0, 65.0, 100.0, 1e10, -1e10,
                 math.inf, -math.inf, math.nan, 1 / 3, 7.0, -7.0]
    runner = KernelRunner("f64_pow")
    for a in bases:
        for b in exponents:
            got, want = runner.call("f64_pow", a, b), _c_pow(a, b)
            exact = math.isnan(want) or math.isinf(want) or want == 0 or not math.isfinite(b) or abs(b) in (0.0, 1.0)
            if exact:
                assert (math.isnan(got) and math.isnan(want)) or (got == want and math.copysign(1, got) == math.copysign(1, want)), (a, b, got, want)
            else:
                bound = 3 * 2 ** -52 if b == int(b) and abs(b) <= 4 else abs(b * math.log(abs(a))) * 2 ** -50 + 2 ** -51
                assert abs(got - want) <= bound * abs(want), (a, b, got, want)
