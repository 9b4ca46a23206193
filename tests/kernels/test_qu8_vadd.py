"""qu8_vadd (a residual Add between statically quantized tensors): bit-exact against the float chain
Dequantize(a) + Dequantize(b) [-> Relu] -> Quantize computed in numpy float32, over odd lengths
(the scalar tail), zero points at both ends, saturation, a Relu's bounds and in place."""

import numpy as np
import pytest

from . import reference_quant as ref
from .harness import KernelRunner

GUARD = 16
f32 = np.float32


def reference(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp, relu=False):
    """The float chain, one op at a time in float32."""
    s = ref.dequantize_u8(a, a_scale, a_zp) + ref.dequantize_u8(b, b_scale, b_zp)
    if relu:
        s = np.maximum(s, f32(0))
    return ref.quantize_u8(s, y_scale, y_zp)


def run_vadd(a, b, params, qmin=0, qmax=255, in_place=False):
    a_scale, a_zp, b_scale, b_zp, y_scale, y_zp = params
    n = a.size
    runner = KernelRunner("qu8_vadd")
    a_off, b_off = runner.put(a, misalign=1), runner.put_at_end(b)  # a read past b traps
    region = runner.put(np.full(n + 2 * GUARD, 0xA5, np.uint8), misalign=3)
    y_off = a_off if in_place else region + GUARD
    runner.call("qu8_vadd", n, a_off, b_off, y_off, float(a_scale), a_zp, float(b_scale), b_zp, float(y_scale), y_zp,
                qmin, qmax)
    if in_place:
        return np.frombuffer(runner.read_bytes(a_off, n), np.uint8)
    raw = np.frombuffer(runner.read_bytes(region, n + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + n:] == 0xA5).all(), "wrote outside y"
    return raw[GUARD:GUARD + n]


def random_params(rng):
    return (f32(rng.uniform(0.002, 0.2)), int(rng.integers(0, 256)), f32(rng.uniform(0.002, 0.2)),
            int(rng.integers(0, 256)), f32(rng.uniform(0.004, 0.3)), int(rng.integers(0, 256)))


@pytest.mark.parametrize("n", [1, 7, 15, 16, 17, 33, 250])
@pytest.mark.parametrize("seed", range(4))
def test_vadd_is_the_float_chain(n, seed):
    rng = np.random.default_rng([n, seed])
    a, b = rng.integers(0, 256, n).astype(np.uint8), rng.integers(0, 256, n).astype(np.uint8)
    params = random_params(rng)
    np.testing.assert_array_equal(run_vadd(a, b, params), reference(a, *params[:2], b, *params[2:]))


@pytest.mark.parametrize("seed", range(4))
def test_relu_is_the_lower_bound(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = rng.integers(0, 256, 61).astype(np.uint8), rng.integers(0, 256, 61).astype(np.uint8)
    params = random_params(rng)
    got = run_vadd(a, b, params, qmin=params[5])
    np.testing.assert_array_equal(got, reference(a, *params[:2], b, *params[2:], relu=True))


def test_saturation_zero_points_and_ties():
    """Ranges that overflow both ends; zero points 0 and 255; exact halves (scale 2, odd sums)."""
    a = np.arange(256, dtype=np.uint8)
    b = np.arange(255, -1, -1).astype(np.uint8)
    for params in [(f32(1), 0, f32(1), 255, f32(0.5), 128), (f32(1), 0, f32(1), 0, f32(2), 0),
                   (f32(3), 255, f32(0.01), 0, f32(1), 255)]:
        np.testing.assert_array_equal(run_vadd(a, b, params), reference(a, *params[:2], b, *params[2:]))


def test_in_place():
    rng = np.random.default_rng(9)
    a, b = rng.integers(0, 256, 45).astype(np.uint8), rng.integers(0, 256, 45).astype(np.uint8)
    params = random_params(rng)
    np.testing.assert_array_equal(run_vadd(a, b, params, in_place=True), reference(a, *params[:2], b, *params[2:]))
