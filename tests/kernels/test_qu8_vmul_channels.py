"""qu8_vmul_channels (a squeeze-excitation product between statically quantized tensors):
bit-exact against the float chain Dequantize(x) * s -> Quantize in numpy float32, over channel
counts with a c % 4 tail, zero points at both ends, saturation and in place."""

import numpy as np
import pytest

from . import reference_quant as ref
from .harness import KernelRunner

GUARD = 16
f32 = np.float32


def run(x, s, x_scale, x_zp, y_scale, y_zp, in_place=False):
    pixels, c = x.shape
    runner = KernelRunner("qu8_vmul_channels")
    x_off, s_off = runner.put(x, misalign=1), runner.put(s)
    region = runner.put_at_end(np.full(x.size + 2 * GUARD, 0xA5, np.uint8))
    y_off = x_off if in_place else region + GUARD
    runner.call("qu8_vmul_channels", pixels, c, x_off, s_off, y_off, float(x_scale), x_zp, float(y_scale), y_zp)
    if in_place:
        return np.frombuffer(runner.read_bytes(x_off, x.size), np.uint8).reshape(x.shape)
    raw = np.frombuffer(runner.read_bytes(region, x.size + 2 * GUARD), np.uint8)
    assert (raw[:GUARD] == 0xA5).all() and (raw[GUARD + x.size:] == 0xA5).all(), "wrote outside y"
    return raw[GUARD:GUARD + x.size].reshape(x.shape)


def reference(x, s, x_scale, x_zp, y_scale, y_zp):
    return ref.quantize_u8(ref.dequantize_u8(x, x_scale, x_zp) * s[None, :], y_scale, y_zp)


@pytest.mark.parametrize("c", [1, 3, 4, 5, 16, 23])
@pytest.mark.parametrize("pixels", [1, 7])
def test_matches_the_float_chain(c, pixels):
    rng = np.random.default_rng([c, pixels])
    for _ in range(4):
        x = rng.integers(0, 256, (pixels, c)).astype(np.uint8)
        s = rng.uniform(-1.5, 1.5, c).astype(f32)
        params = f32(rng.uniform(0.002, 0.2)), int(rng.integers(0, 256)), f32(rng.uniform(0.002, 0.2)), int(rng.integers(0, 256))
        np.testing.assert_array_equal(run(x, s, *params), reference(x, s, *params))


def test_saturation_and_in_place():
    x = np.arange(256, dtype=np.uint8).reshape(32, 8)
    s = np.array([0, 1, -1, 1e3, -1e3, 0.5, 2, 1e-30], f32)
    for params in [(f32(0.1), 0, f32(0.05), 255), (f32(0.1), 255, f32(0.05), 0), (f32(1), 128, f32(2), 128)]:
        np.testing.assert_array_equal(run(x, s, *params), reference(x, s, *params))
    np.testing.assert_array_equal(run(x, s, f32(0.1), 7, f32(0.3), 9, in_place=True), reference(x, s, f32(0.1), 7, f32(0.3), 9))
