"""Scalar numpy references of the quantized kernels, step by step in the kernels' order.

Each float step is one float32 numpy op (one IEEE rounding), each integer step exact; np.rint is
round half to even like f32x4.nearest. These are also onnxruntime's formulas (see
/work/shared/notes/onnx-facts.md), which the tests against onnxruntime check separately.
"""

from __future__ import annotations

import numpy as np

from .reference import clamp

f32 = np.float32


def dynquant_u8(x: np.ndarray) -> tuple[np.ndarray, np.float32, np.uint8]:
    """qu8_dynquant / DynamicQuantizeLinear: (q, scale, zero point)."""
    x = np.asarray(x, f32).reshape(-1)
    lo = min(f32(0), x.min()) if x.size else f32(0)
    hi = max(f32(0), x.max()) if x.size else f32(0)
    scale = f32(1) if hi == lo else f32(f32(hi - lo) / f32(255))
    zp = np.rint(min(max(f32(f32(0) - f32(lo / scale)), f32(0)), f32(255)))
    q = np.clip(np.rint(x / scale) + f32(zp), 0, 255).astype(np.uint8)
    return q, scale, np.uint8(zp)


def qdu8_gemm(a: np.ndarray, a_scale, a_zp, w: np.ndarray, w_scale: np.ndarray,
              bias: np.ndarray | None, lo: float, hi: float, offset: np.ndarray | None = None) -> np.ndarray:
    """qdu8_f32_qc8w_gemm_*: exact int32 dot with the weights w + offset (int8 w, an int32 offset
    per column: qpacking.split_weight_offsets), then clamp(f32(acc) * f32(a_scale * w_scale) + bias)."""
    weights = w.astype(np.int64) + (0 if offset is None else np.asarray(offset, np.int64)[None, :])
    acc = (a.astype(np.int64) - int(a_zp)) @ weights
    acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)  # i32 wraps
    scale = f32(a_scale) * w_scale.astype(f32)
    neutral = np.full(w.shape[1], -0.0, f32)
    y = acc.astype(f32) * scale[None, :] + (neutral if bias is None else bias.astype(f32))[None, :]
    assert y.dtype == f32
    return clamp(y, lo, hi)


def quantize_u8(x: np.ndarray, scale, zp) -> np.ndarray:
    """f32_qu8_vcvt / QuantizeLinear: min(max(rint(x / scale) + zp, 0), 255)."""
    return np.clip(np.rint(np.asarray(x, f32) / f32(scale)) + f32(zp), 0, 255).astype(np.uint8)


def dequantize_u8(q: np.ndarray, scale, zp) -> np.ndarray:
    """qu8_f32_vcvt / DequantizeLinear: f32(q - zp) * scale."""
    return (q.astype(np.int32) - int(zp)).astype(f32) * f32(scale)


def qu8_gemm(a: np.ndarray, a_zp, w: np.ndarray, bias: np.ndarray, multiplier: np.ndarray,
             c_zp, qmin: int, qmax: int) -> np.ndarray:
    """qu8_qc8w_gemm_*: exact int32 acc + bias, f32 multiply, clamp in float, rint, + zero point."""
    acc = (a.astype(np.int64) - int(a_zp)) @ w.astype(np.int64) + bias.astype(np.int64)[None, :]
    acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)
    v = acc.astype(f32) * multiplier.astype(f32)[None, :]
    v = np.minimum(np.maximum(v, f32(qmin - int(c_zp))), f32(qmax - int(c_zp)))
    return (np.rint(v) + f32(c_zp)).astype(np.uint8)


def qlinear_conv_nhwc(x: np.ndarray, x_zp, w: np.ndarray, bias: np.ndarray, multiplier: np.ndarray, y_zp,
                      strides, pads, dilations, group: int) -> np.ndarray:
    """QLinearConv over one channels-last image x [*S, C] (2-D), w int8 [M, C/group, kh, kw] (zero
    point subtracted), by scalar loops: acc = sum (x - x_zp) * w + bias (padding adds 0), then
    sat(rint(f32(acc) * multiplier[m]) + y_zp), clamped in float first as qu8_gemm."""
    (h, wd, c), (m, cg, kh, kw) = x.shape, w.shape
    oh = (h + pads[0] + pads[2] - dilations[0] * (kh - 1) - 1) // strides[0] + 1
    ow = (wd + pads[1] + pads[3] - dilations[1] * (kw - 1) - 1) // strides[1] + 1
    mg = m // group
    acc = np.zeros((oh, ow, m), np.int64)
    for oy in range(oh):
        for ox in range(ow):
            for o in range(m):
                g = o // mg
                total = int(bias[o])
                for i in range(kh):
                    for j in range(kw):
                        iy, ix = oy * strides[0] - pads[0] + i * dilations[0], ox * strides[1] - pads[1] + j * dilations[1]
                        if 0 <= iy < h and 0 <= ix < wd:
                            for k in range(cg):
                                total += (int(x[iy, ix, g * cg + k]) - int(x_zp)) * int(w[o, k, i, j])
                acc[oy, ox, o] = total
    v = acc.astype(np.int32).astype(f32) * multiplier.astype(f32)
    v = np.minimum(np.maximum(v, f32(-int(y_zp))), f32(255 - int(y_zp)))
    return (np.rint(v) + f32(y_zp)).astype(np.uint8)
