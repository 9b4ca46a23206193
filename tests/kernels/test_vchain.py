"""f32_vchain.wat: a chain of steps bit-exact against the numpy references of its steps applied one
after another (every step kind, every operand kind, block boundaries, tails, in place, NaN/inf/-0),
i.e. against the standalone kernels' bits."""

from __future__ import annotations

import numpy as np
import pytest

from . import reference_elementwise as ref
from . import reference_math as refmath
from .harness import PAGE_BYTES, KernelRunner, assert_same_bits, interesting_f32
from .reference import clamp, vexp

f32 = np.float32
KERNEL = "f32_vchain"
CONSTANT, X, A, B, SELF = 0, 1, 2, 3, 4
SCRATCH = 8256
KEEP = 0x100

# unary kind: (reference, its parameters p0, p1)
UNARY = {
    8: (lambda t, lo, hi: clamp(t, lo, hi), (-1.5, 6.0)),
    9: (lambda t: ref.sigmoid(t), ()), 10: (lambda t: ref.tanh(t), ()), 11: (lambda t: ref.erf(t), ()),
    12: (lambda t: ref.gelu(t), ()), 13: (lambda t: ref.gelu_tanh(t), ()),
    14: (lambda t, alpha: ref.lrelu(t, alpha), (0.01,)),
    15: (lambda t, alpha, beta: ref.hsigmoid(t, alpha, beta), (0.2, 0.5)),
    16: (lambda t: ref.hswish(t), ()), 17: (lambda t: ref.sqrt(t), ()), 18: (lambda t: vexp(t), ()),
    19: (lambda t: ref.log(t), ()), 21: (lambda t, alpha: refmath.swish(t, alpha), (0.75,)),
}
UNARY_OP_PARAMS = {13: (0.7,), 14: (1.67326, 1.0507), 15: (0.5,), 17: (0.25,), 18: (0.5, 0.125), 19: (0.75,)}


def _bits(value) -> int:
    return int(np.array(value, f32).view(np.int32))


def descriptor(steps) -> np.ndarray:
    """steps: (kind, operand or unary-op code, p0, p1, constant)."""
    words = [len(steps), 0, 0, 0]
    for kind, which, p0, p1, constant in steps:
        words += [kind, which, _bits(p0), _bits(p1), *[_bits(constant)] * 4]
    return np.array(words, np.int64).astype(np.int32)


def reference(steps, x, a, b) -> np.ndarray:
    t = kept = x
    with np.errstate(all="ignore"):
        for flagged, which, p0, p1, constant in steps:
            kind = flagged & 0xFF
            if kind < 8:
                o = {CONSTANT: np.full_like(t, f32(constant)), X: kept, A: a, B: b, SELF: t}[which]
                t = ref.binary(kind, t, o)
            elif kind == 20:
                function, count = refmath.OPS[which]
                t = np.asarray(function(t, *(p0, p1)[:count]), f32)
            else:
                function, params = UNARY[kind]
                t = np.asarray(function(t, *(p0, p1)[:len(params)]), f32)
            if flagged & KEEP:
                kept = t
    return t


def run(steps, x, a, b, alias: str | None = None, at_end: bool = False) -> np.ndarray:
    n = x.size
    runner = KernelRunner(KERNEL, pages=(4 * x.nbytes + 2 * SCRATCH + 4096) // PAGE_BYTES + 1)
    desc = runner.put(descriptor(steps), misalign=0)
    s = runner.alloc(SCRATCH, misalign=0)
    a_off, b_off = runner.put(a), runner.put(b)
    x_off = runner.put_at_end(x) if at_end else runner.put(x)  # an over-read past x traps
    y_off = {"x": x_off, "a": a_off, None: None}[alias]
    if y_off is None:
        y_off = runner.alloc(x.nbytes)
    runner.call(KERNEL, desc, n, x_off, a_off, b_off, y_off, s)
    return runner.read(y_off, x.shape)


def _step(kind, rng):
    if kind < 8:
        which = int(rng.integers(0, 5))
        return (kind, which, 0.0, 0.0, float(rng.choice([3.0, -0.0, 0.5, 6.0, np.inf, np.nan, -7.25])))
    if kind == 20:
        code = int(rng.integers(0, 20))
        params = UNARY_OP_PARAMS.get(code, ()) + (0.0, 0.0)
        return (20, code, params[0], params[1], 0.0)
    params = UNARY[kind][1] + (0.0, 0.0)
    return (kind, 0, params[0], params[1], 0.0)


def _operands(n, seed):
    rng = np.random.default_rng(seed)
    x, a, b = (interesting_f32(rng, n, scale=3.0) for _ in range(3))
    specials = np.array([np.nan, np.inf, -np.inf, -0.0, 0.0, 1.0, -1.0], f32)
    for v in (x, a, b):
        v[: min(n, 7)] = rng.permutation(specials)[: min(n, 7)]
    return x, a, b


@pytest.mark.parametrize("kind", list(range(22)))
def test_every_step_kind_in_a_chain(kind):
    """Each kind between two other steps, over every operand kind, at sizes with every tail."""
    rng = np.random.default_rng(kind)
    for n in (1, 2, 3, 4, 7, 37):
        steps = [_step(int(rng.integers(0, 8)), rng), _step(kind, rng), _step(int(rng.integers(8, 22)), rng)]
        if kind < 8:
            steps[1] = (kind, int(n % 5), 0.0, 0.0, float(rng.choice([3.0, -0.0, np.nan])))
        x, a, b = _operands(n, n + 100 * kind)
        assert_same_bits(run(steps, x, a, b, at_end=True), reference(steps, x, a, b), f"kind {kind}, n {n}")


@pytest.mark.parametrize("n", [0, 1, 1023, 1024, 1025, 2048, 4099])
def test_blocks_and_tails(n):
    """Across block boundaries (1024 f32) and with every tail; y aliasing x or an operand exactly."""
    rng = np.random.default_rng(n)
    steps = [_step(int(k), rng) for k in rng.integers(0, 22, size=6)]
    steps.append((2, A, 0.0, 0.0, 0.0))  # reads a in the last step, also when y is a
    x, a, b = _operands(n, n)
    want = reference(steps, x, a, b)
    assert_same_bits(run(steps, x, a, b), want, "separate y")
    assert_same_bits(run(steps, x.copy(), a, b, alias="x"), want, "y is x")
    assert_same_bits(run(steps, x, a.copy(), b, alias="a"), want, "y is a")


@pytest.mark.parametrize("n", [5, 1024, 2051])
def test_kept_values_are_the_operand_x_after_them(n):
    """An affine step kept, hard-swish of it (reading it again), another kept value read by a later
    step; and a kept value that is also the last step's operand while y aliases x."""
    steps = [(2, CONSTANT, 0, 0, 1.5), (0 | KEEP, CONSTANT, 0, 0, -0.25), (0, CONSTANT, 0, 0, 3.0),
             (8, 0, 0.0, 6.0, 0.0), (2, X, 0, 0, 0.0), (3, CONSTANT, 0, 0, 6.0), (9 | KEEP, 0, 0, 0, 0.0),
             (10, 0, 0, 0, 0.0), (1, X, 0, 0, 0.0), (7 | KEEP, X, 0, 0, 0.0), (2, X, 0, 0, 0.0)]
    x, a, b = _operands(n, n)
    want = reference(steps, x, a, b)
    assert_same_bits(run(steps, x, a, b), want, "kept")
    assert_same_bits(run(steps, x.copy(), a, b, alias="x"), want, "kept, y is x")


def test_hard_swish_and_gelu_as_exporters_write_them():
    """Add(3) -> Clip(0, 6) -> Mul(x) -> Div(6), and Div(sqrt 2) -> Erf -> Add(1) -> Mul(x) -> Mul(0.5)."""
    x, a, b = _operands(3001, 7)
    hard_swish = [(0, CONSTANT, 0, 0, 3.0), (8, 0, 0.0, 6.0, 0.0), (2, X, 0, 0, 0.0), (3, CONSTANT, 0, 0, 6.0)]
    gelu = [(3, CONSTANT, 0, 0, np.sqrt(2.0)), (11, 0, 0, 0, 0.0), (0, CONSTANT, 0, 0, 1.0), (2, X, 0, 0, 0.0),
            (2, CONSTANT, 0, 0, 0.5)]
    for steps in (hard_swish, gelu):
        assert_same_bits(run(steps, x, a, b), reference(steps, x, a, b))
    with np.errstate(all="ignore"):
        plain = x * np.minimum(np.maximum(x + f32(3), f32(0)), f32(6)) / f32(6)
    finite = np.isfinite(x)
    assert_same_bits(run(hard_swish, x, a, b)[finite], plain[finite], "hard-swish in float32")
