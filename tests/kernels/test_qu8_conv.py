"""The static int8 convolution as ops/qlinear_conv.py lowers it: u8_im2col (padding = x_zp) then
qu8_qc8w_gemm per group, bit-exact against a scalar QLinearConv reference over strides, pads,
dilations, groups (depthwise included) and random scales and zero points."""

import numpy as np
import pytest

from edgewasm.backend.convolution import group_matrices
from edgewasm.backend.indirection import indirection
from edgewasm.backend.qpacking import qu8_gemm_call, qu8_gemm_kernel, qu8_gemm_scratch_bytes
from edgewasm.window import Window

from . import reference_quant as ref
from .harness import KernelRunner

CASES = [  # (h, w, c, m, kh, kw, strides, pads, dilations, group)
    (5, 6, 3, 5, 3, 3, (1, 1), (1, 1, 1, 1), (1, 1), 1),
    (7, 5, 4, 6, 3, 2, (2, 1), (0, 1, 2, 0), (1, 2), 2),
    (6, 6, 6, 6, 3, 3, (2, 2), (1, 1, 1, 1), (1, 1), 6),
    (4, 5, 5, 10, 2, 2, (1, 1), (0, 1, 1, 0), (1, 1), 5),
    (9, 8, 17, 9, 3, 3, (1, 2), (2, 2, 2, 2), (2, 2), 1),
    (3, 3, 2, 7, 1, 1, (1, 1), (0, 0, 0, 0), (1, 1), 1),
]


@pytest.mark.parametrize("case", range(len(CASES)))
@pytest.mark.parametrize("per_channel", [False, True])
def test_im2col_gemm_is_qlinear_conv(case, per_channel):
    h, wd, c, m, kh, kw, strides, pads, dilations, group = CASES[case]
    rng = np.random.default_rng([case, per_channel])
    x = rng.integers(0, 256, (h, wd, c)).astype(np.uint8)
    w = rng.integers(-128, 128, (m, c // group, kh, kw)).astype(np.int8)
    bias = rng.integers(-40000, 40000, m).astype(np.int32)
    x_zp, y_zp = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    w_scale = (rng.random(m if per_channel else 1) * 0.02 + 1e-4).astype(np.float32) * np.ones(m, np.float32)
    multiplier = (np.float32(rng.random() * 0.05 + 1e-3) * w_scale) / np.float32(rng.random() * 0.3 + 0.01)
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    window = Window((h, wd), (oh, ow), (kh, kw), strides, dilations, pads[:2], pads[2:])
    ind = indirection(window, 1, c)
    cg, mg, taps, pixels = c // group, m // group, kh * kw, oh * ow
    runner = KernelRunner("u8_im2col", "qu8_qc8w_gemm_4x8c2", "qu8_qc8w_gemm_4x4c2", "qu8_qc8w_gemm_1x4c2", pages=32)
    x_off, ind_off, zp_off = runner.put(x.reshape(-1), misalign=1), runner.put(ind), runner.put(np.array([x_zp], np.uint8))
    k = taps * cg
    k_pad = -(-k // 8) * 8  # as the compiler: rows padded with x_zp against zero weights
    rows_off = runner.alloc(pixels * k_pad)
    y_off = runner.put(np.full(pixels * m, 0xA5, np.uint8))
    gemm, pack = qu8_gemm_kernel(pixels, mg)  # the compiler's choice: 4x8c2, 4x4c2 or 1x4c2
    scratch = runner.alloc(qu8_gemm_scratch_bytes(gemm, k_pad))
    for g, mat in enumerate(group_matrices(w.astype(np.float32), group, False)):
        packed = runner.put(pack(np.pad(mat.astype(np.int8), ((0, k_pad - k), (0, 0))), bias[g * mg:(g + 1) * mg],
                                 multiplier[g * mg:(g + 1) * mg].astype(np.float32)))
        runner.call("u8_im2col", pixels, taps, cg, ind_off, x_off + g * cg, zp_off, rows_off, k_pad - k)
        runner.call(gemm, *qu8_gemm_call(gemm, pixels, mg, k_pad, rows_off, k_pad, x_zp, packed, y_off + g * mg, m, y_zp,
                                         scratch=scratch))
    got = np.frombuffer(runner.read_bytes(y_off, pixels * m), np.uint8).reshape(oh, ow, m)
    want = ref.qlinear_conv_nhwc(x, x_zp, w, bias, multiplier, y_zp, strides, pads, dilations, group)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("channels", [1, 7, 8, 9, 16, 21, 24, 31, 40])
@pytest.mark.parametrize("geometry", [((5, 6), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
                                      ((7, 7), (3, 3), (2, 2), (0, 1, 1, 0), (1, 1)),
                                      ((6, 5), (2, 3), (1, 2), (2, 1, 1, 2), (2, 1)),
                                      ((6, 6), (1, 1), (2, 2), (0, 0, 0, 0), (1, 1)),
                                      ((9, 8), (5, 5), (1, 1), (2, 2, 2, 2), (1, 1))])
def test_depthwise_is_qlinear_conv(channels, geometry):
    """qu8_qc8w_dwconv_c16x2 (16-channel blocks, an 8-channel step, scalar tail; taps in pairs, odd
    counts included; the zero point folded into the bias) against the scalar reference, with guard
    bytes around Y and X placed at the end of memory's used region."""
    from edgewasm.ops.qlinear_conv import pack_qu8_dwconv16x2

    (h, wd), (kh, kw), strides, pads, dilations = geometry
    rng = np.random.default_rng([channels, kh, strides[0]])
    x = rng.integers(0, 256, (h, wd, channels)).astype(np.uint8)
    w = rng.integers(-128, 128, (channels, 1, kh, kw)).astype(np.int8)
    bias = rng.integers(-40000, 40000, channels).astype(np.int32)
    x_zp, y_zp = int(rng.integers(0, 256)), int(rng.integers(0, 256))
    multiplier = ((rng.random(channels) * 0.002 + 1e-5) * 0.7).astype(np.float32)
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    window = Window((h, wd), (oh, ow), (kh, kw), strides, dilations, pads[:2], pads[2:])
    ind = indirection(window, 1, channels)
    runner = KernelRunner("qu8_qc8w_dwconv_c16x2")
    pad_off = runner.put_at_end(np.full(channels, x_zp, np.uint8))
    x_off = pad_off - x.size
    runner.write(x_off, x.reshape(-1))
    ind_off, w_off = runner.put(ind), runner.put(pack_qu8_dwconv16x2(w, bias, multiplier, x_zp))
    ptrs = runner.alloc(4 * (kh * kw + 1))
    n = oh * ow * channels
    y_off = runner.put(np.full(n + 32, 0xA5, np.uint8), misalign=1)
    runner.call("qu8_qc8w_dwconv_c16x2", oh * ow, channels, kh * kw, ind_off, x_off, pad_off, w_off, y_off + 16,
                y_zp, 0, 255, ptrs)
    raw = np.frombuffer(runner.read_bytes(y_off, n + 32), np.uint8)
    assert (raw[:16] == 0xA5).all() and (raw[16 + n:] == 0xA5).all(), "wrote outside Y"
    want = ref.qlinear_conv_nhwc(x, x_zp, w, bias, multiplier, y_zp, strides, pads, dilations, channels)
    np.testing.assert_array_equal(raw[16:16 + n].reshape(oh, ow, channels), want)
