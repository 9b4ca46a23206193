"""The integer Winograd F(2x2, 3x3) of static int8 convolutions (wasm-kernels/qu8_winograd.wat):
each kernel exact against an integer numpy reference, and the chain as ops/qlinear_conv.py runs it
byte for byte the direct QLinearConv (tests/kernels/reference_quant.py) over pads, channel tails,
odd outputs and extreme weights and zero points."""

import numpy as np
import pytest

from edgewasm.backend.qpacking import (QS16_WINOGRAD_GEMM, qs8_winograd_taps, qs16_winograd_plane_bytes,
                                       qu8_winograd_heads)

from . import reference_quant as ref
from .harness import KernelRunner
from .reference_winograd import input_tiles

KERNELS = ("qu8_winograd_input_2x2_3x3", QS16_WINOGRAD_GEMM, "qu8_winograd_output_2x2_3x3", "qs8_winograd_weights_3x3")


def ceil8(n):
    return -(-n // 8) * 8


def int_input_transform(d: np.ndarray) -> np.ndarray:
    """[tiles, 4, 4, c] int -> V [16, tiles, c] = B^T d B."""
    t = np.stack([d[:, 0] - d[:, 2], d[:, 1] + d[:, 2], d[:, 2] - d[:, 1], d[:, 1] - d[:, 3]], axis=1)
    v = np.stack([t[:, :, 0] - t[:, :, 2], t[:, :, 1] + t[:, :, 2], t[:, :, 2] - t[:, :, 1], t[:, :, 1] - t[:, :, 3]],
                 axis=2)
    return v.transpose(1, 2, 0, 3).reshape(16, d.shape[0], d.shape[3])


def int_weights(w: np.ndarray) -> np.ndarray:
    """w [K, C, 3, 3] -> U [16, C, K] = G' g G'^T with G' = 2G."""
    g2 = np.array([[2, 0, 0], [1, 1, 1], [1, -1, 1], [0, 0, 2]], np.int64)
    u = np.einsum("ir,kcrs,js->ijck", g2, w.astype(np.int64), g2)
    return u.reshape(16, w.shape[1], w.shape[0])


def unpack_u(packed: np.ndarray, c: int, k: int) -> np.ndarray:
    """The kernel's packed U [16 planes][panels][pairs][2 halves][4 columns][2 channels] -> [16, c8, k8]."""
    c8, k8 = ceil8(c), ceil8(k)
    u = packed.reshape(16, k8 // 8, c8 // 2, 2, 4, 2)  # xi, panel, pair, half, column, parity
    return u.transpose(0, 2, 5, 1, 3, 4).reshape(16, c8, k8)


@pytest.mark.parametrize("c, k", [(1, 1), (3, 5), (8, 8), (9, 17), (16, 24), (21, 3)])
def test_weight_transform_is_exact(c, k):
    rng = np.random.default_rng([c, k])
    w = rng.integers(-128, 128, (k, c, 3, 3)).astype(np.int8)
    w[0, 0] = -128  # the extreme taps: |U| reaches 9 * 128
    runner = KernelRunner("qs8_winograd_weights_3x3", pages=16)
    taps = runner.put(qs8_winograd_taps(w), misalign=3)
    plane = qs16_winograd_plane_bytes(c, k)
    u_off = runner.put(np.full(16 * plane, 0x5A, np.uint8))  # every byte must be written
    runner.call("qs8_winograd_weights_3x3", c, k, taps, u_off)
    got = unpack_u(np.frombuffer(runner.read_bytes(u_off, 16 * plane), "<i2"), c, k)
    want = np.zeros((16, ceil8(c), ceil8(k)), np.int64)
    want[:, :c, :k] = int_weights(w)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("h, w, c, pads", [(4, 4, 8, (0, 0)), (7, 6, 13, (1, 1)), (5, 9, 3, (2, 0)), (6, 5, 24, (1, 2))])
def test_input_transform_is_exact(h, w, c, pads):
    rng = np.random.default_rng([h, w, c])
    x = rng.integers(0, 256, (h, w, c)).astype(np.uint8)
    x_zp = 255 if c % 2 else 0  # |x - zp| reaches 255
    out_h, out_w = h + 2 * pads[0] - 2, w + 2 * pads[1] - 2
    tiles_h, tiles_w = -(-out_h // 2), -(-out_w // 2)
    tiles = tiles_h * tiles_w
    runner = KernelRunner("qu8_winograd_input_2x2_3x3", pages=16)
    pad = runner.put(np.full(ceil8(c), x_zp, np.uint8))
    v_stride, v_plane = 2 * ceil8(c) + 6, (2 * ceil8(c) + 6) * tiles + 10
    v = runner.put(np.full(16 * v_plane, 0x5A, np.uint8))
    x_off = runner.put_at_end(x.reshape(-1))  # nothing past the image is read
    runner.call("qu8_winograd_input_2x2_3x3", 0, tiles, tiles_w, c, x_off, h, w, pads[0], pads[1], pad, x_zp, v,
                v_stride, v_plane)
    raw = np.frombuffer(runner.read_bytes(v, 16 * v_plane), np.uint8)
    got = np.stack([np.stack([raw[xi * v_plane + n * v_stride:][:2 * ceil8(c)].view("<i2") for n in range(tiles)])
                    for xi in range(16)])
    d = input_tiles(x.astype(np.float32) - x_zp, pads[0], pads[1], tiles_h, tiles_w).astype(np.int64)
    want = np.zeros((16, tiles, ceil8(c)), np.int64)
    want[:, :, :c] = int_input_transform(d)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("m, n, k", [(1, 1, 8), (4, 8, 8), (5, 13, 16), (17, 40, 24), (3, 7, 64)])
def test_gemm_is_exact_int32(m, n, k):
    rng = np.random.default_rng([m, n, k])
    a = rng.integers(-1020, 1021, (m, k)).astype(np.int16)
    w = rng.integers(-1152, 1153, (k, n)).astype(np.int16)
    a[0, :2], w[:2, 0] = -1020, -1152  # the extremes of the transforms
    n8 = ceil8(n)
    padded = np.zeros((k, n8), np.int16)
    padded[:, :n] = w
    packed = padded.reshape(k // 2, 2, n8 // 8, 2, 4).transpose(2, 0, 3, 4, 1)  # panel, pair, half, column, 2
    runner = KernelRunner(QS16_WINOGRAD_GEMM, pages=16)
    a_stride, c_stride = 2 * k + 4, 4 * n8 + 8
    a_off = runner.put(np.concatenate([a, np.zeros((m, 2), np.int16)], axis=1))
    w_off = runner.put(np.ascontiguousarray(packed))
    c_off = runner.put(np.full(m * c_stride, 0x5A, np.uint8))
    runner.call(QS16_WINOGRAD_GEMM, m, n, k, a_off, a_stride, w_off, c_off, c_stride)
    raw = np.frombuffer(runner.read_bytes(c_off, m * c_stride), np.uint8).reshape(m, c_stride)
    got = raw[:, :4 * n].copy().view("<i4")
    np.testing.assert_array_equal(got, a.astype(np.int64) @ w.astype(np.int64))
    assert (raw[:, 4 * n8:] == 0x5A).all()  # nothing past a row's panels


def run_winograd_conv(x, x_zp, w, bias, mult, y_zp, pads, qmin=0, qmax=255, block=None):
    """The chain as ops/qlinear_conv.py lowers it: init's weight transform, then per block of tiles
    the input transform, 16 GEMMs and the output transform."""
    (h, wd, c), k = x.shape, w.shape[0]
    out_h, out_w = h + pads[0] + pads[2] - 2, wd + pads[1] + pads[3] - 2
    tiles_w = -(-out_w // 2)
    tiles = -(-out_h // 2) * tiles_w
    block = block or tiles
    c8, k8 = ceil8(c), ceil8(k)
    runner = KernelRunner(*KERNELS, pages=64)
    taps = runner.put(qs8_winograd_taps(w))
    plane = qs16_winograd_plane_bytes(c, k)
    u = runner.alloc(16 * plane)
    runner.call("qs8_winograd_weights_3x3", c, k, taps, u)
    heads = runner.put(qu8_winograd_heads(bias, mult))
    pad = runner.put(np.full(c8, x_zp, np.uint8))
    v_plane, m_plane = 2 * c8 * block + 64, 4 * k8 * block + 64
    v, m = runner.alloc(16 * v_plane), runner.alloc(16 * m_plane)
    y = runner.put(np.full((out_h, out_w, k), 0xA5, np.uint8))
    x_off = runner.put_at_end(x.reshape(-1))
    for first in range(0, tiles, block):
        count = min(block, tiles - first)
        runner.call("qu8_winograd_input_2x2_3x3", first, count, tiles_w, c, x_off, h, wd, pads[0], pads[1], pad, x_zp,
                    v, 2 * c8, v_plane)
        for xi in range(16):
            runner.call(QS16_WINOGRAD_GEMM, count, k, c8, v + xi * v_plane, 2 * c8, u + xi * plane, m + xi * m_plane,
                        4 * k8)
        runner.call("qu8_winograd_output_2x2_3x3", first, count, tiles_w, k, m, 4 * k8, m_plane, heads, y, out_h,
                    out_w, y_zp, qmin, qmax)
    return np.frombuffer(runner.read_bytes(y, out_h * out_w * k), np.uint8).reshape(out_h, out_w, k)


@pytest.mark.parametrize("h, w, c, k, pads, block", [
    (6, 6, 8, 8, (1, 1, 1, 1), None),
    (7, 5, 13, 6, (1, 1, 1, 1), 4),       # odd output: a tile's second row and column are not stored
    (5, 8, 3, 17, (0, 2, 1, 0), 3),       # asymmetric pads, channel tails on both sides
    (9, 9, 24, 33, (2, 2, 2, 2), 8),
    (4, 4, 40, 4, (0, 0, 0, 0), None),
])
def test_chain_is_the_direct_qlinear_conv(h, w, c, k, pads, block):
    rng = np.random.default_rng([h, w, c, k])
    x = rng.integers(0, 256, (h, w, c)).astype(np.uint8)
    wt = rng.integers(-128, 128, (k, c, 3, 3)).astype(np.int8)
    bias = rng.integers(-40000, 40000, k).astype(np.int32)
    x_zp, y_zp = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    mult = (rng.random(k) * 2e-4 + 1e-6).astype(np.float32)
    got = run_winograd_conv(x, x_zp, wt, bias, mult, y_zp, pads, block=block)
    want = ref.qlinear_conv_nhwc(x, x_zp, wt, bias, mult, y_zp, (1, 1), pads, (1, 1), 1)
    np.testing.assert_array_equal(got, want)


def test_chain_at_large_sums():
    """Every product at its extreme (x - zp = 255, w = -128 or 127) over 256 channels, with a
    saturating output bound."""
    c, k = 256, 8
    x = np.full((4, 4, c), 255, np.uint8)
    wt = np.full((k, c, 3, 3), -128, np.int8)
    wt[1] = 127
    bias = np.zeros(k, np.int32)
    mult = np.full(k, 1e-7, np.float32)
    got = run_winograd_conv(x, 0, wt, bias, mult, 100, (1, 1, 1, 1), qmin=20, qmax=230)
    want = ref.qlinear_conv_nhwc(x, 0, wt, bias, mult, 100, (1, 1), (1, 1, 1, 1), (1, 1), 1)
    want = np.clip(want, 20, 230)
    np.testing.assert_array_equal(got, want)
